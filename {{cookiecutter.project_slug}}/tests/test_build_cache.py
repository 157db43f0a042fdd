"""The build cache: one build folder per checkout, reused while nothing
changes, whatever the folder's path holds, and a first build that says what
it does.

That a second checkout of the package with other answers loads its own build,
not this one's, needs a second full build: the template's own tests do that
(two rendered projects with one package name and one extensions folder), and
tests/test_loader.py checks that each checkout gets its own folder.
"""

import os

import pytest
from checkout_python import copy_checkout, run_python

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

PACKAGE = backend.__name__


def test_cached_import_says_nothing():
    result = run_python("-c", f"import {PACKAGE}", timeout=600)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith(f"{PACKAGE}:")]


# A C++ file that includes a header through the include path, as the extension's
# files do, and makes a Python module: it builds in about a second.
PROBE_SOURCE = """#include <Python.h>

#include "probe/probe.h"

static PyModuleDef probe_module = {PyModuleDef_HEAD_INIT, "quote_probe", nullptr, -1, nullptr};

PyMODINIT_FUNC PyInit_quote_probe() { return PyModule_Create(&probe_module); }
"""
# ninja 1.11 misreads the quotes, 1.13 the semicolon (see NINJA_SAFE_PATH).
QUOTED_FOLDER = 'it\'s "quoted"; & more'
PROBE_BUILD = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('probe_loader', sys.argv[1])\n"
    "loader = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(loader)\n"
    "loader.build('quote_probe', [loader.CSRC / 'probe' / 'probe.cpp'], verbose=True)\n"
)


@pytest.fixture(scope="module")
def probe_builds(tmp_path_factory):
    """Build a small source twice through the loader's build(), into a folder ninja misreads.

    Returns the output of each build.
    """
    tmp_path = tmp_path_factory.mktemp("probe")
    checkout = copy_checkout(tmp_path / "checkout")
    (checkout / "csrc" / "probe").mkdir()
    (checkout / "csrc" / "probe" / "probe.h").write_text("#pragma once\n")
    (checkout / "csrc" / "probe" / "probe.cpp").write_text(PROBE_SOURCE)
    loader_file = next((checkout / "src").glob("*/_loader.py"))
    environment = {
        "TORCH_EXTENSIONS_DIR": str(tmp_path / QUOTED_FOLDER),
        "TMPDIR": str(tmp_path),  # where the loader may put its link to the sources
    }
    outputs = []
    for _ in range(2):
        result = run_python("-c", PROBE_BUILD, str(loader_file), timeout=300, **environment)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    return outputs


def test_first_build_says_what_it_compiles_where_and_how_to_watch(probe_builds):
    (announcement,) = [
        line for line in probe_builds[0].splitlines() if line.startswith(f"{PACKAGE}:")
    ]
    assert "compiling 1 C++ file(s) into " in announcement
    assert f"{QUOTED_FOLDER}{os.sep}quote_probe{os.sep}" in announcement  # where
    assert "(about " in announcement
    assert f"{_loader.VERBOSE_BUILD_VARIABLE}=1" in announcement
    assert "probe.cpp" in probe_builds[0]  # the verbose build shows the compiler


def test_extensions_folder_with_quotes_or_semicolons_compiles_nothing_the_second_time(
    probe_builds,
):
    assert "ninja: no work to do" in probe_builds[1], probe_builds[1]
    assert "compiling" not in probe_builds[1]


def test_sources_are_compiled_through_a_path_ninja_can_read(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() reads TMPDIR again
    quoted = tmp_path / "it's" / "build"
    quoted.mkdir(parents=True)
    link = _loader.source_link(quoted)
    assert _loader.is_ninja_safe(link)
    assert link.resolve() == _loader.PROJECT_ROOT
    if _loader.is_ninja_safe(tmp_path):  # a safe build folder holds the link itself
        assert _loader.source_link(tmp_path) == tmp_path / _loader.SOURCE_LINK_NAME
