"""Loads the C++ extension: built ahead of time, or just in time from csrc/.

Loading the extension is what registers the backend: its static initialisers
install the device guard and the MTIA hooks.

- In a source checkout (csrc/ beside src/), the extension is built with
  torch.utils.cpp_extension and ninja on first use. Builds go to torch's
  extension cache (``TORCH_EXTENSIONS_DIR`` when set, else
  ``~/.cache/torch_extensions``), one folder per Python and torch release;
  ninja rebuilds only what changed.
- Installed (``pip install --no-build-isolation .``), the package holds the
  extension prebuilt as ``<package>._C`` and needs no compiler.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

PACKAGE = "{{ cookiecutter.package_name }}"
EXTENSION_NAME = f"{PACKAGE}_C"
# Set to 1 to see the compiler and ninja output of the build on import.
VERBOSE_BUILD_VARIABLE = "{{ cookiecutter.package_name | upper }}_VERBOSE_BUILD"
# Set to 1 to build against a torch release the backend is not tested with.
ALLOW_UNTESTED_TORCH_VARIABLE = "{{ cookiecutter.package_name | upper }}_ALLOW_UNTESTED_TORCH"

# The (major, minor) torch releases the C++ is built and tested against.
# Releases 2.10 to 2.12 are untested: the C++ places each API change at the
# first tested release that has it (see csrc/backend/torch_version.h).
SUPPORTED_TORCH = ((2, 9), (2, 13), (2, 14))

# src/<package>/_loader.py -> the project root, which holds csrc/.
CSRC = Path(__file__).resolve().parents[2] / "csrc"
# Compiler flags of both builds (setup.py uses them too).
EXTRA_CFLAGS = ["-O2"]

_lock = threading.Lock()
_extension: ModuleType | None = None


def runtime_sources() -> list[Path]:
    """The emulated device runtime's C++ files (not its tests)."""
    return sorted(CSRC.glob("runtime/*.cpp"))


def backend_sources() -> list[Path]:
    """The PyTorch glue's C++ files."""
    return sorted(CSRC.glob("backend/*.cpp"))


def sources() -> list[Path]:
    """The C++ files compiled into the extension, in a stable order."""
    files = runtime_sources() + backend_sources()
    if not files:
        raise FileNotFoundError(f"no C++ sources under {CSRC}")
    return files


class UnsupportedTorchError(ImportError):
    """The installed torch is not a release this backend supports."""


def torch_release(version: str) -> tuple[int, int]:
    """(major, minor) of a torch version string such as ``2.13.0+cpu``."""
    try:
        major, minor = (int(part) for part in version.split("+")[0].split(".")[:2])
    except ValueError:
        raise UnsupportedTorchError(f"cannot read the torch version {version!r}") from None
    return major, minor


def check_torch_version(version: str) -> None:
    """Refuse a torch release outside SUPPORTED_TORCH, before any compiler runs."""
    if torch_release(version) in SUPPORTED_TORCH:
        return
    if os.environ.get(ALLOW_UNTESTED_TORCH_VARIABLE, "") not in ("", "0"):
        return
    supported = ", ".join(f"{a}.{b}" for a, b in SUPPORTED_TORCH)
    raise UnsupportedTorchError(
        f"{PACKAGE} supports torch {supported}; this is torch "
        f"{version}. Install a supported release (for example pip install torch==2.13.0), "
        f"or set {ALLOW_UNTESTED_TORCH_VARIABLE}=1 to try this one anyway."
    )


def build_directory(name: str = EXTENSION_NAME) -> Path:
    """Where an extension is built: torch's extension cache, per Python and torch."""
    import torch
    from torch.utils import cpp_extension

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or cpp_extension.get_default_build_root()
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return Path(root, name, f"{python}-torch{torch.__version__}")


def _source_alias(build_dir: Path) -> Path:
    """A symlink in the build folder to csrc/, through which the sources are compiled.

    ninja cannot read a dependency file that names a path with a quote in it,
    and would then rebuild everything on every import. Compiling through this
    link keeps the project's own path, whatever it holds, out of the build.
    """
    alias = build_dir / "csrc"
    if not (alias.is_symlink() and alias.resolve() == CSRC):
        staged = build_dir / f".csrc-{os.getpid()}-{threading.get_ident()}"
        staged.unlink(missing_ok=True)
        staged.symlink_to(CSRC, target_is_directory=True)
        staged.replace(alias)  # atomic: concurrent imports never see a half-made link
    return alias


def build(name: str, files: Iterable[Path], verbose: bool = False) -> ModuleType:
    """Compile the given C++ files into the extension module ``name`` and import it."""
    import torch
    from torch.utils import cpp_extension

    check_torch_version(torch.__version__)
    build_dir = build_directory(name)
    build_dir.mkdir(parents=True, exist_ok=True)
    alias = _source_alias(build_dir)
    return cpp_extension.load(
        name=name,
        sources=[str(alias / p.relative_to(CSRC)) if CSRC in p.parents else str(p) for p in files],
        extra_include_paths=[str(alias)],
        extra_cflags=EXTRA_CFLAGS,
        build_directory=str(build_dir),
        is_python_module=True,
        verbose=verbose,
    )


def is_source_checkout() -> bool:
    """Whether the package runs from a checkout that holds the C++ sources."""
    return CSRC.is_dir()


def _import_prebuilt() -> ModuleType:
    import torch

    check_torch_version(torch.__version__)
    try:
        return importlib.import_module(f"{PACKAGE}._C")
    except ImportError as error:
        raise ImportError(
            f"{PACKAGE} has neither its C++ sources (csrc/) nor a prebuilt extension: "
            "install it with pip install --no-build-isolation ."
        ) from error


def load(verbose: bool | None = None) -> ModuleType:
    """Load the extension (building it first in a source checkout) and return it.

    Safe to call any number of times and from any thread: only the first call
    builds and loads; later calls return the same module. ``verbose`` defaults
    to the ``<PACKAGE>_VERBOSE_BUILD`` environment variable.
    """
    global _extension
    if verbose is None:
        verbose = os.environ.get(VERBOSE_BUILD_VARIABLE, "") not in ("", "0")
    with _lock:
        if _extension is None:
            if is_source_checkout():
                _extension = build(EXTENSION_NAME, sources(), verbose)
            else:
                _extension = _import_prebuilt()
        return _extension
