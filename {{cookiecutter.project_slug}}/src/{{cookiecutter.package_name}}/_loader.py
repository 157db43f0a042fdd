"""Loads the C++ extension: built ahead of time, or just in time from csrc/.

Loading the extension is what registers the backend: its static initialisers
install the device guard and the MTIA hooks.

- In a source checkout (csrc/ beside src/), the extension is built with
  torch.utils.cpp_extension and ninja on first use. Builds go to torch's
  extension cache (``TORCH_EXTENSIONS_DIR`` when set, else
  ``~/.cache/torch_extensions``), one folder per checkout, Python and torch
  release; ninja rebuilds only what changed.
- Installed (``pip install --no-build-isolation .``), the package holds the
  extension prebuilt as ``<package>._C`` and needs no compiler.

One process holds one backend per in-tree device slot: torch aborts the
interpreter when a second extension registers kernels for the same dispatch
key. So before anything is loaded, the loader asks torch's dispatcher whether
the slot is taken, and refuses with an ImportError that names the owner.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib
import importlib.util
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

PACKAGE = "{{ cookiecutter.package_name }}"
EXTENSION_NAME = f"{PACKAGE}_C"
# The in-tree device slot the backend fills: torch's module name and dispatch key.
DEVICE_TYPE = "{{ cookiecutter.device_type }}"
DISPATCH_KEY = "{{ cookiecutter.device_type | upper }}"
# Set to 1 to see the compiler and ninja output of the build on import.
VERBOSE_BUILD_VARIABLE = "{{ cookiecutter.package_name | upper }}_VERBOSE_BUILD"
# Set to 1 to build against a torch release the backend is not tested with.
ALLOW_UNTESTED_TORCH_VARIABLE = "{{ cookiecutter.package_name | upper }}_ALLOW_UNTESTED_TORCH"
# Seconds to wait for another process's build of the same folder.
BUILD_WAIT_VARIABLE = "{{ cookiecutter.package_name | upper }}_BUILD_WAIT_SECONDS"
# A cold build takes about a minute on two cores: ten leaves room for a slow machine.
DEFAULT_BUILD_WAIT_SECONDS = 600.0

# The torch releases the C++ is built and tested against, one per minor
# release, each the patch release the tests run on: every minor release from
# the oldest to the newest, with no gap (pyproject.toml declares that range).
# Rendered from the template's list (cookiecutter.json, _torch_releases);
# tests/test_torch_versions.py checks that tox.ini, the CI workflow,
# pyproject.toml, csrc/device_config.h, setup.py and the README agree with it.
TESTED_TORCH = (
{%- for release in cookiecutter._torch_releases %}
    "{{ release }}",
{%- endfor %}
)
# The (major, minor) releases the backend loads on; any other is refused.
SUPPORTED_TORCH = tuple(
    (int(major), int(minor)) for major, minor, _ in (v.split(".") for v in TESTED_TORCH)
)
# The release the README's quick start and `tox -e tests` install: a CPU wheel.
DEFAULT_TORCH = "{{ cookiecutter._torch_default_release }}"

# src/<package>/_loader.py -> the package folder, and the project root, which holds csrc/.
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parents[1]
CSRC = PROJECT_ROOT / "csrc"
# Compiler flags of both builds (setup.py uses them too).
EXTRA_CFLAGS = ["-O2"]

# The attribute of torch.<device_type> in which a backend made from this
# template records itself once loaded, so that a second one can name it.
OWNER_ATTRIBUTE = "_fake_device_backend"
# An operator every tensor backend implements, and the dispatch key's fallback:
# a second registration of either aborts the interpreter.
PROBE_OPERATOR = "aten::empty.memory_format"

# Characters ninja reads back from a compiler's dependency file. Measured:
# ninja 1.11 splits a path there at a quote, `&`, `;`, `*`, `?`, `|`, `<`,
# `^` or a backquote, ninja 1.13 still at `;`, `*`, `|`, `<`, `^` and a
# backquote, and then rebuilds everything on every import. torch writes a `$`
# unescaped into build.ninja. Spaces are escaped by both.
NINJA_SAFE_PATH = re.compile(r"[A-Za-z0-9/._+ -]+")
# torch's lock of a build folder. Up to torch 2.13 a FileBaton: it makes this
# file and waits, with no timeout, while it exists, so a killed build leaves
# every later one waiting forever. From 2.14 an flock on it, which the OS
# drops when its holder dies: the file then stays, harmless.
TORCH_LOCK_NAME = "lock"
# Our lock in the build folder: an flock, which the OS drops when its process dies.
BUILD_LOCK_NAME = "build.lock"
# The link to the project, in the build folder, through which the sources are compiled.
SOURCE_LINK_NAME = "project"
# Seconds of compiling per C++ file, on one core (measured: 13 files, 45 s on 2 cores).
SECONDS_PER_FILE = 7

_lock = threading.Lock()
_extension: ModuleType | None = None


# --- Sources ---------------------------------------------------------------


# The implementation of csrc/driver/driver.h the extension is built with: a
# folder of csrc/. The emulated device by default; a port to real hardware
# copies csrc/skeleton/ to a folder of its own, fills it in and names that
# folder here (see the README's porting checklist).
DEFAULT_DRIVER = "emulator"
# Set to another driver's folder (`skeleton`) to load the glue on it instead,
# linked against the default build's glue objects (see build_with_driver).
DRIVER_VARIABLE = "{{ cookiecutter.package_name | upper }}_DRIVER"
DRIVER = os.environ.get(DRIVER_VARIABLE) or DEFAULT_DRIVER


def driver_sources(driver: str = DEFAULT_DRIVER) -> list[Path]:
    """The driver's C++ files (not its tests)."""
    return sorted(CSRC.glob(f"{driver}/*.cpp"))


def backend_sources() -> list[Path]:
    """The PyTorch glue's C++ files."""
    return sorted(CSRC.glob("backend/*.cpp"))


def sources(driver: str = DEFAULT_DRIVER) -> list[Path]:
    """The C++ files compiled into the extension, in a stable order."""
    return _checked_driver_sources(driver) + backend_sources()


def _checked_driver_sources(driver: str) -> list[Path]:
    if not re.fullmatch(r"[A-Za-z0-9_]+", driver):
        raise ValueError(
            f"{DRIVER_VARIABLE} names a folder of {CSRC} (letters, digits and _), got {driver!r}"
        )
    driver_files = driver_sources(driver)
    if not driver_files:
        raise FileNotFoundError(
            f"no C++ sources of the driver {driver!r} under {CSRC} "
            f"(a folder of csrc/ such as {DEFAULT_DRIVER!r} or 'skeleton'; {DRIVER_VARIABLE})"
        )
    return driver_files


def is_source_checkout() -> bool:
    """Whether the package runs from a checkout that holds the C++ sources."""
    return CSRC.is_dir()


# --- torch release -----------------------------------------------------------


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
        f"{PACKAGE} supports torch {supported}; this is torch {version}. "
        f"Install a supported release (for example pip install torch=={DEFAULT_TORCH}), "
        f"or set {ALLOW_UNTESTED_TORCH_VARIABLE}=1 to try this one anyway."
    )


# --- One backend per device slot ---------------------------------------------


class DeviceSlotTakenError(ImportError):
    """Another backend already fills this device slot in this process."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        super().__init__(
            f"{PACKAGE} cannot load: the {DEVICE_TYPE} device slot of this process is "
            f"already filled by {owner}, and one process can hold only one {DEVICE_TYPE} "
            f"backend. Import only one of them (TORCH_DEVICE_BACKEND_AUTOLOAD=0 stops "
            f"`import torch` from loading installed backends)."
        )


def this_backend() -> str:
    """How this backend names itself to another one: package and folder."""
    return f"{PACKAGE} ({PACKAGE_DIR})"


def _device_module() -> ModuleType:
    import torch

    return getattr(torch, DEVICE_TYPE)


def slot_owner() -> str | None:
    """Who fills the device slot in this process, or None when it is free.

    Only read-only questions to the dispatcher and the hooks registry: asking
    torch.mtia for devices would make torch look up and cache the hooks.
    """
    import torch

    recorded = getattr(_device_module(), OWNER_ATTRIBUTE, None)
    if recorded is not None:
        return str(recorded)
    key = getattr(torch._C.DispatchKey, DISPATCH_KEY)
    taken = (
        torch._C._dispatch_has_kernel_for_dispatch_key(PROBE_OPERATOR, DISPATCH_KEY)
        or torch._C._dispatch_has_backend_fallback(key)
        or getattr(torch._C, f"_{DEVICE_TYPE}_isBuilt", lambda: False)()
    )
    return _foreign_owner() if taken else None


def _foreign_owner() -> str:
    """A backend that did not record itself, named by where its kernel was registered."""
    import torch

    dump = torch._C._dispatch_dump(PROBE_OPERATOR)
    found = re.search(rf"^{DISPATCH_KEY}: registered at (.*?)(?: :: .*)?$", dump, re.MULTILINE)
    if found is None:
        return "another extension loaded earlier (torch does not say which)"
    return f"an extension whose {PROBE_OPERATOR} kernel is registered at {found.group(1)}"


def refuse_if_slot_taken() -> None:
    """Raise DeviceSlotTakenError unless the slot is free or already ours."""
    owner = slot_owner()
    if owner is not None and owner != this_backend():
        raise DeviceSlotTakenError(owner)


def _claim_slot() -> None:
    setattr(_device_module(), OWNER_ATTRIBUTE, this_backend())


# --- The build folder ----------------------------------------------------------


def checkout_key() -> str:
    """A folder name for this checkout: its folder's name to read, a hash of its path to be unique.

    Two checkouts of one package (rendered with different answers, say) must
    never share objects: each gets its own build folder.
    """
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", PROJECT_ROOT.name)[:40] or "checkout"
    digest = hashlib.sha256(os.fsencode(PROJECT_ROOT)).hexdigest()[:12]
    return f"{readable}-{digest}"


def build_directory(name: str = EXTENSION_NAME) -> Path:
    """Where an extension is built: torch's extension cache, per checkout, Python and torch."""
    import torch
    from torch.utils import cpp_extension

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or cpp_extension.get_default_build_root()
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return Path(root, name, checkout_key(), f"{python}-torch{torch.__version__}")


def is_ninja_safe(path: Path) -> bool:
    """Whether ninja reads ``path`` back correctly from a compiler's dependency file."""
    return NINJA_SAFE_PATH.fullmatch(str(path)) is not None


def source_link(build_dir: Path) -> Path:
    """A symlink to the project root, through which the sources are compiled.

    The compiler writes each source's and header's path into a dependency
    file, and ninja cannot read one back that holds a quote (or `&`, `;`,
    ...): it would rebuild everything on every import. The link sits in the
    build folder when that path is safe, else in a private folder under the
    temporary folder, so neither the project's path nor the build folder's
    reaches the dependency files.
    """
    if is_ninja_safe(build_dir):
        link = build_dir / SOURCE_LINK_NAME
    else:
        link = _private_link_folder() / checkout_key()
    _point_link(link, PROJECT_ROOT)
    return link


def _point_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically: a concurrent import never sees half a link."""
    if link.is_symlink() and link.resolve() == target:
        return
    staged = link.with_name(f".{link.name}-{os.getpid()}-{threading.get_ident()}")
    staged.unlink(missing_ok=True)
    staged.symlink_to(target, target_is_directory=True)
    staged.replace(link)


def _private_link_folder() -> Path:
    """A folder only this user can write to, on a path ninja can read back."""
    candidates = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")]
    for base in candidates:
        folder = base / f"{PACKAGE}-sources-{os.getuid()}"
        if is_ninja_safe(folder) and _is_private_folder(folder):
            return folder
    raise RuntimeError(
        f"{PACKAGE} needs a folder whose path holds only letters, digits, spaces and / . _ + - "
        f"to compile its sources through, and none of {', '.join(map(str, candidates))} "
        "is usable: set TMPDIR or TORCH_EXTENSIONS_DIR to such a folder."
    )


def _is_private_folder(folder: Path) -> bool:
    """Make ``folder`` if needed; whether it is ours alone (no one else can swap the link)."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError:
        return False
    return folder.is_dir() and status.st_uid == os.getuid() and status.st_mode & 0o022 == 0


# --- One build at a time, never a silent wait ------------------------------------


def build_wait_seconds() -> float:
    """How long to wait for another process's build: BUILD_WAIT_VARIABLE, or the default."""
    value = os.environ.get(BUILD_WAIT_VARIABLE, "")
    if not value:
        return DEFAULT_BUILD_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"{BUILD_WAIT_VARIABLE} must be a number of seconds > 0, got {value!r}")
    return seconds


@contextlib.contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Hold this build folder for one process: an flock, which the OS drops if we die.

    Every build of this folder runs under it, so while we hold it any torch
    ``lock`` file there was left by a build that was killed (SIGKILL,
    SIGTERM): torch would wait for it forever, so it is removed.
    """
    import fcntl

    path = build_dir / BUILD_LOCK_NAME
    with open(path, "a+") as handle:
        if not _try_flock(handle, fcntl):
            _wait_for_flock(handle, fcntl, build_dir)
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")  # who holds it, for a waiting process's message
        handle.flush()
        _remove_stale_torch_lock(build_dir)
        yield


def _try_flock(handle, fcntl) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_for_flock(handle, fcntl, build_dir: Path) -> None:
    """Wait, having said so, for the process that builds ``build_dir``; give up after a limit."""
    limit = build_wait_seconds()
    holder = _lock_holder(build_dir)
    print(
        f"{PACKAGE}: waiting for process {holder} to finish building {build_dir} "
        f"(up to {limit:.0f} s; {BUILD_WAIT_VARIABLE} changes that)",
        file=sys.stderr,
        flush=True,
    )
    deadline = time.monotonic() + limit
    while not _try_flock(handle, fcntl):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{PACKAGE}: gave up after {limit:.0f} s waiting for process {holder} to "
                f"finish building {build_dir}. Wait for it or stop it, then import again, "
                f"or set {BUILD_WAIT_VARIABLE} to wait longer."
            )
        time.sleep(0.1)


def _lock_holder(build_dir: Path) -> str:
    try:
        return (build_dir / BUILD_LOCK_NAME).read_text().strip() or "?"
    except OSError:
        return "?"


def torch_lock_is_a_baton() -> bool:
    """Whether torch locks a build folder with a FileBaton (up to 2.13), not an flock."""
    from torch.utils import cpp_extension

    return hasattr(cpp_extension, "FileBaton")


def _remove_stale_torch_lock(build_dir: Path) -> None:
    baton = build_dir / TORCH_LOCK_NAME
    if torch_lock_is_a_baton() and baton.exists():
        baton.unlink(missing_ok=True)
        print(
            f"{PACKAGE}: removed {baton}, left by a build that was killed; building again",
            file=sys.stderr,
            flush=True,
        )


# --- Saying what the build does ------------------------------------------------


def files_to_compile(build_dir: Path, file_count: int) -> int | None:
    """How many C++ files ninja would compile now: 0 when the build is cached.

    None when ninja cannot tell (no ninja: torch then says so itself).
    """
    if not (build_dir / "build.ninja").exists():
        return file_count
    try:
        dry_run = subprocess.run(
            ["ninja", "-n", "-C", str(build_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if dry_run.returncode != 0:
        return None
    steps = [line for line in dry_run.stdout.splitlines() if line.startswith("[")]
    compiles = sum(1 for line in steps if re.search(r" -o \S+\.o\s*$", line))
    # Relinking alone is quick, but still work: count it as one step.
    return compiles or (1 if steps else 0)


def announce_build(build_dir: Path, file_count: int) -> None:
    """One line on stderr before a build, so a first import is not taken for a hang."""
    count = files_to_compile(build_dir, file_count)
    if count == 0:
        return
    what = "the C++ extension" if count is None else f"{count} C++ file(s)"
    seconds = SECONDS_PER_FILE * (count or file_count) / (os.cpu_count() or 1)
    print(
        f"{PACKAGE}: compiling {what} into {build_dir} (about {_duration(seconds)}; "
        f"again only when they change; {VERBOSE_BUILD_VARIABLE}=1 shows the compiler)",
        file=sys.stderr,
        flush=True,
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(5, round(seconds / 5) * 5)} s"
    return f"{round(seconds / 60)} min"


# --- Building and loading --------------------------------------------------------


def build(name: str, files: Iterable[Path], verbose: bool = False) -> ModuleType:
    """Compile the given C++ files into the extension module ``name`` and import it."""
    import torch
    from torch.utils import cpp_extension

    check_torch_version(torch.__version__)
    refuse_if_slot_taken()
    files = list(files)
    build_dir = build_directory(name)
    build_dir.mkdir(parents=True, exist_ok=True)
    link = source_link(build_dir)
    linked = [
        str(link / path.relative_to(PROJECT_ROOT)) if PROJECT_ROOT in path.parents else str(path)
        for path in files
    ]
    with build_lock(build_dir):
        announce_build(build_dir, len(files))
        extension = cpp_extension.load(
            name=name,
            sources=linked,
            extra_include_paths=[str(link / "csrc")],
            extra_cflags=EXTRA_CFLAGS,
            build_directory=str(build_dir),
            is_python_module=True,
            verbose=verbose,
        )
    _claim_slot()
    return extension


def build_with_driver(driver: str, verbose: bool = False) -> ModuleType:
    """This checkout's glue linked against another implementation of the driver API.

    For csrc/skeleton/, the driver a port starts from: its test builds the
    glue against it, and the stream/event benchmark uses it as a backend whose
    calls do nothing. Only the driver's own files are compiled; the glue's
    objects are the main build's, brought up to date first. That the glue
    links against any driver proves what the porting guide promises: it uses
    nothing but csrc/driver/driver.h. Loads the result as the extension
    module, which registers the backend: call it in a process of its own,
    without the package imported.
    """
    import torch
    from torch.utils import cpp_extension

    check_torch_version(torch.__version__)
    refuse_if_slot_taken()
    driver_files = _checked_driver_sources(driver)
    glue = glue_objects()
    name = f"{PACKAGE}_{driver}_C"
    build_dir = build_directory(name)
    build_dir.mkdir(parents=True, exist_ok=True)
    link = source_link(build_dir)
    objects = _link_without_spaces(build_dir, "glue", glue[0].parent)
    with build_lock(build_dir):
        library = build_dir / f"{name}.so"
        # ninja relinks only when the driver's objects change: a glue object
        # newer than the library must relink it too.
        if library.exists() and max(o.stat().st_mtime for o in glue) > library.stat().st_mtime:
            library.unlink()
        announce_build(build_dir, len(driver_files))
        path = cpp_extension.load(
            name=name,
            sources=[str(link / p.relative_to(PROJECT_ROOT)) for p in driver_files],
            extra_include_paths=[str(link / "csrc")],
            extra_cflags=EXTRA_CFLAGS,
            extra_ldflags=[str(objects / o.name) for o in glue],
            build_directory=str(build_dir),
            is_python_module=False,  # it defines the main extension's module: imported below
            verbose=verbose,
        )
    spec = importlib.util.spec_from_file_location(EXTENSION_NAME, path)
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    _claim_slot()
    return extension


def glue_objects() -> list[Path]:
    """The main build's objects of the glue (csrc/backend/), up to date, without loading it."""
    build_dir = build_directory(EXTENSION_NAME)
    if not (build_dir / "build.ninja").exists():
        # Never built: build it in a process of its own (loading it here would
        # fill the device slot).
        environment = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR.parent)}
        environment.pop(DRIVER_VARIABLE, None)
        subprocess.run([sys.executable, "-c", f"import {PACKAGE}"], env=environment, check=True)
    else:
        with build_lock(build_dir):
            announce_build(build_dir, len(sources()))
            subprocess.run(["ninja", "-C", str(build_dir)], check=True, capture_output=True)
    objects = [build_dir / f"{source.stem}.o" for source in backend_sources()]
    missing = [str(o) for o in objects if not o.exists()]
    if missing:
        raise FileNotFoundError(f"the main build has no objects {', '.join(missing)}")
    return objects


def _link_without_spaces(build_dir: Path, name: str, target: Path) -> Path:
    """A link to ``target`` on a path without spaces: torch writes linker flags unquoted."""
    if is_ninja_safe(build_dir) and " " not in str(build_dir):
        link = build_dir / name
    else:
        link = _private_link_folder() / f"{checkout_key()}-{name}"
        if " " in str(link):
            raise RuntimeError(f"{PACKAGE} needs TMPDIR without spaces to link {target}")
    _point_link(link, target)
    return link


def _import_prebuilt() -> ModuleType:
    import torch

    check_torch_version(torch.__version__)
    refuse_if_slot_taken()
    try:
        extension = importlib.import_module(f"{PACKAGE}._C")
    except ImportError as error:
        raise ImportError(
            f"{PACKAGE} has neither its C++ sources (csrc/) nor a prebuilt extension: "
            "install it with pip install --no-build-isolation ."
        ) from error
    _claim_slot()
    return extension


def load(verbose: bool | None = None) -> ModuleType:
    """Load the extension (building it first in a source checkout) and return it.

    Safe to call any number of times and from any thread: only the first call
    builds and loads; later calls return the same module. ``verbose`` defaults
    to the ``<PACKAGE>_VERBOSE_BUILD`` environment variable. Raises
    DeviceSlotTakenError, before building or loading anything, when another
    backend fills the device slot.
    """
    global _extension
    if verbose is None:
        verbose = os.environ.get(VERBOSE_BUILD_VARIABLE, "") not in ("", "0")
    with _lock:
        if _extension is None:
            if not is_source_checkout():
                extension = _import_prebuilt()
            elif DRIVER == DEFAULT_DRIVER:
                extension = build(EXTENSION_NAME, sources(DRIVER), verbose)
            else:
                extension = build_with_driver(DRIVER, verbose)
            # A driver with threads of its own (the emulator's) stops them before
            # the interpreter tears down, whatever is still queued. Handlers
            # registered later (by code using the device) run first.
            atexit.register(_at_exit, extension)
            _extension = extension
        return _extension


def _at_exit(extension: ModuleType) -> None:
    """Stop the driver at interpreter exit; threads it wakes never return to Python (gil.h)."""
    extension.mark_process_exiting()
    shutdown = getattr(extension, "shutdown", None)
    if shutdown is not None:
        shutdown()


# --- torch's backend autoload ------------------------------------------------------


def torch_is_importing() -> bool:
    """Whether ``import torch`` is still running: then this package is being autoloaded."""
    torch = sys.modules.get("torch")
    return bool(getattr(getattr(torch, "__spec__", None), "_initializing", False))


def autoload() -> None:
    """Load for torch's ``torch.backends`` entry point: ``import torch`` must not fail.

    When another backend fills the slot, warn and keep it. The package is then
    forgotten, so that importing it by name later raises the ImportError.
    """
    try:
        load()
    except DeviceSlotTakenError as refusal:
        warnings.warn(
            f"{this_backend()} was not loaded: the {DEVICE_TYPE} slot is filled by "
            f"{refusal.owner}, which stays.",
            RuntimeWarning,
            stacklevel=3,
        )
        _forget_package()


def _forget_package() -> None:
    """Drop the package from sys.modules, unless it is still being imported (it then fails)."""
    package = sys.modules.get(PACKAGE)
    if getattr(getattr(package, "__spec__", None), "_initializing", False):
        return
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[module]
