"""The template's Jinja extension, as cookiecutter.json's ``_extensions`` names it.

cookiecutter and cruft import an extension by module name while the
template's folder is the last entry of ``sys.path``; this module is
``hooks.template_jinja`` there (``hooks`` has no ``__init__.py``: a namespace
package). A module is imported once per process, so a second version of the
template (``cruft update`` renders the old and the new commit in one process)
would run the first version's code if this module held the extension itself.

So this module does one thing: find the template being rendered (the last
``sys.path`` entry holding ``hooks/template_jinja.py``) and run that
template's ``hooks/jinja_extensions.py``, loaded once per source text, so
that each version runs its own. Whichever template's copy of this file Python
imported first serves every later render in the process, so its behaviour
must not change between versions.

A regular ``hooks`` package found earlier on ``sys.path`` (the current folder,
under ``python -m cookiecutter``) stands in for the template's: cookiecutter
then fails to import this module, before any of the template's code runs,
with its own one line, ``Unable to load extension: No module named
'hooks.template_jinja'`` (see the README). A ``hooks`` folder without
``__init__.py`` there is harmless: Python merges it with the template's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import jinja2
import jinja2.ext

# Imported under these names, from the template's hooks folder, by the
# extension, the pre-gen hook and the template's tests; in this order, since
# jinja_extensions imports answer_rules.
HOOK_MODULES = ("answer_rules", "jinja_extensions")

# Where this file lies in a template's folder.
THIS_FILE = Path("hooks", Path(__file__).name)


def template_being_rendered() -> Path:
    """The folder of the template cookiecutter or cruft is rendering.

    The last sys.path entry holding this file, not this file's own folder:
    the copy Python imported may belong to another version (see above).
    """
    for entry in reversed(sys.path):
        folder = Path(entry or ".").resolve()
        if (folder / THIS_FILE).is_file():
            return folder
    raise ImportError(f"no folder on sys.path holds {THIS_FILE.as_posix()}")


# Each module once per source text (and the sources of those it imports), so
# that a version rendered again gets the very objects it had before.
_LOADED: dict[tuple[str, tuple[bytes, ...]], ModuleType] = {}


def load_hooks(template: Path) -> ModuleType:
    """The template's hooks/jinja_extensions.py, with the modules it imports."""
    sources: tuple[bytes, ...] = ()
    for name in HOOK_MODULES:
        path = template / "hooks" / f"{name}.py"
        sources += (path.read_bytes(),)
        module = _LOADED.get((name, sources))
        if module is None:
            module = _imported(name, sources[-1]) or _load(name, path, sources[-1])
            _LOADED[name, sources] = module
        sys.modules[name] = module
    return module


def _imported(name: str, source: bytes) -> ModuleType | None:
    """The module ``name`` if it was imported the ordinary way from ``source``.

    The template's tests import answer_rules by name; the extension must then
    use that module, not a copy, or there would be two InvalidAnswer classes.
    """
    module = sys.modules.get(name)
    # Modules this file loads have no spec: they may come from a file that
    # has changed since (cruft checks out each commit in one folder).
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin is None or Path(origin).read_bytes() != source:
        return None
    # It must also have imported the modules chosen before it.
    earlier = HOOK_MODULES[: HOOK_MODULES.index(name)]
    if any(vars(module).get(other) is not sys.modules[other] for other in earlier):
        return None
    return module


def _load(name: str, path: Path, source: bytes) -> ModuleType:
    # Compiled from the bytes just read, not through a cached .pyc: git gives
    # both commits' files one mtime when cruft checks them out in turn.
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        exec(compile(source, path, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class TemplateExtension(jinja2.ext.Extension):
    """Hands the environment to the extension of the template being rendered."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        template = template_being_rendered()
        self._extension = load_hooks(template).TemplateExtension(environment, template)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return self._extension.preprocess(source, name, filename)
