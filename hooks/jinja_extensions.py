"""Jinja extensions the template loads (cookiecutter.json ``_extensions``).

* ``AnswerChecks``: the ``check_answers`` filter, applied to the answers as
  soon as cookiecutter has collected them (see answer_rules), and a guard
  that refuses Jinja markup in an answer before cookiecutter evaluates it.
* ``TemplateFilters``: ``quoted``, the one way a free-text answer enters
  generated code, and ``replay_answers``, the answers saved in the project.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path

import jinja2
import jinja2.ext

from .answer_rules import JINJA_MARKUP, InvalidAnswer, check_answers

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"

# Context entries that describe one run on one machine (absolute paths, the
# checkout), not the answers: left out of the saved answers.
_RUN_ENTRIES = frozenset({"_output_dir", "_repo_dir", "_checkout", "_template"})


def _refuse(message: str) -> None:
    from cookiecutter.exceptions import FailedHookException

    raise FailedHookException(f"Invalid answer: {message}")


def check_answers_filter(answers: Mapping[str, object]) -> str:
    """Refuse bad answers with cookiecutter's FailedHookException.

    The cookiecutter command line reports that exception as one line, as it
    does for a refusing hook.
    """
    try:
        check_answers(answers)
    except InvalidAnswer as error:
        _refuse(str(error))
    return ""


@functools.cache
def _template_strings() -> frozenset[str]:
    """Every string the template itself hands to Jinja outside its files."""
    strings: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, str):
            strings.add(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8")))
    for hook in (TEMPLATE_DIR / "hooks").glob("*_project.py"):
        strings.add(hook.read_text(encoding="utf-8"))
    return frozenset(strings)


@functools.cache
def _path_templates() -> frozenset[str]:
    """The Jinja expressions in the template's own file and folder names."""
    found: set[str] = set()
    for path in [PROJECT_TEMPLATE, *PROJECT_TEMPLATE.rglob("*")]:
        found.update(re.findall(r"\{\{.*?\}\}", path.name))
    return frozenset(found)


class AnswerChecks(jinja2.ext.Extension):
    """Checks answers, and keeps them from being evaluated as templates.

    cookiecutter renders every answer through Jinja (so that a default can
    refer to another answer). An answer holding Jinja markup would be
    evaluated, with access to Python objects: code injection. Template files
    reach Jinja by name; everything else reaching it from a string must be the
    template's own (cookiecutter.json values, hook scripts, paths), or it is
    an answer, and markup in it is refused before evaluation.
    """

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters["check_answers"] = check_answers_filter
        # For hooks/pre_gen_project.py, which imports answer_rules from here.
        environment.globals["template_hooks_dir"] = str(Path(__file__).resolve().parent)
        self._template_strings = _template_strings()
        self._path_templates = _path_templates()

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name is None and JINJA_MARKUP.search(source) and not self._is_template_own(source):
            _refuse(
                f"{source!r} contains Jinja markup ('{{{{', '{{%' or '{{#'); "
                "answers are used as text and cannot hold template code"
            )
        return source

    def _is_template_own(self, source: str) -> bool:
        if source in self._template_strings:
            return True
        # A file or folder path of the template, as cookiecutter renders it.
        stripped = source
        for expression in self._path_templates:
            stripped = stripped.replace(expression, "")
        return JINJA_MARKUP.search(stripped) is None and (
            "/" in source or source in self._path_templates
        )


def quoted(text: str) -> str:
    """``text`` as a double-quoted string literal.

    Escaping backslashes and double quotes is all that a TOML basic string, a
    Python string and a C++ string literal need, because the answer rules have
    refused control characters; other characters, non-ASCII included, stand
    for themselves in these UTF-8 files.
    """
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def replay_answers(context: Mapping[str, object]) -> str:
    """The answers as a cookiecutter replay file (``cookiecutter --replay-file``)."""
    answers = {key: value for key, value in context.items() if key not in _RUN_ENTRIES}
    return json.dumps({"cookiecutter": answers}, indent=2, sort_keys=True, ensure_ascii=False)


class TemplateFilters(jinja2.ext.Extension):
    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters["quoted"] = quoted
        environment.filters["replay_answers"] = replay_answers
