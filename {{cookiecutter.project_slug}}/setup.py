"""Builds the C++ extension ahead of time, for an installed package.

    pip install --no-build-isolation .

torch's BuildExtension compiles csrc/ into {{ cookiecutter.package_name }}._C with the
same flags the JIT build (torch.utils.cpp_extension.load) uses, against the
torch that is installed. --no-build-isolation is what makes it that torch:
in an isolated build environment pip would install a second torch (a CUDA
build of several GB, and maybe another release) and the extension would be
built against it instead of the one that imports it. The metadata lives in
pyproject.toml.
"""

import importlib.util
from pathlib import Path

from setuptools import setup

try:
    import torch
    from torch.utils.cpp_extension import BuildExtension, CppExtension
except ImportError:
    raise SystemExit(
        "building {{ cookiecutter.project_slug }} needs the torch it will run with: install "
        "torch first (pip install torch=={{ cookiecutter._torch_default_release }}), then "
        "pip install --no-build-isolation ."
    ) from None

ROOT = Path(__file__).resolve().parent
(ROOT / "build").mkdir(exist_ok=True)


def load_loader():
    """The package's loader module, from its file: importing the package would load it."""
    path = ROOT / "src" / "{{ cookiecutter.package_name }}" / "_loader.py"
    spec = importlib.util.spec_from_file_location("_loader", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The same sources, and flags, as the just-in-time build; and the same refusal
# of a torch release the backend is not tested with.
loader = load_loader()
try:
    loader.check_torch_version(torch.__version__)
except loader.UnsupportedTorchError as refusal:
    raise SystemExit(f"building {loader.PACKAGE}: {refusal}") from None
SOURCES = [str(path.relative_to(ROOT)) for path in loader.sources()]

setup(
    # Build metadata goes under build/, not into src/, where a checkout's
    # entry point would make `import torch` autoload the checkout.
    options={"egg_info": {"egg_base": "build"}},
    ext_modules=[
        CppExtension(
            f"{loader.PACKAGE}._C",
            SOURCES,
            include_dirs=[str(loader.CSRC)],
            extra_compile_args=loader.EXTRA_CFLAGS,
        )
    ],
    cmdclass={"build_ext": BuildExtension},
)
