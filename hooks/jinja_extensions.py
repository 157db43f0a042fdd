"""The template's Jinja extension: answers stay data, are checked, and are quoted.

``template_jinja.py`` (cookiecutter.json's ``_extensions``) loads this module
from the template being rendered and builds a ``TemplateExtension`` for each
Jinja environment cookiecutter makes. The extension

* renders every string that is not the template's own as plain text.
  cookiecutter renders each answer through Jinja (so that a default can refer
  to another answer); an answer holding ``{{`` would otherwise run, with
  access to Python objects;
* checks the answers each time cookiecutter renders anything: while it
  collects them, the answers so far; before it creates the project folder,
  the whole context, which may come from a replay file or from cruft, and
  must then also carry the template's own settings (keys starting with
  ``_``) unchanged;
* gives the template its filters: ``quoted``, the one way a free-text answer
  enters generated code, and ``replay_answers``, the answers saved in the
  project.

A refusal is one line, ``Invalid answer: <answer> <value> <rule>``.

cookiecutter.json's first key, ``__answers_checked``, uses this extension's
``check_answers`` filter: in a run that has dropped the extension (an
``_extensions`` override), it fails to compile before any answer is rendered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.runtime
from cookiecutter.exceptions import FailedHookException
from jinja2.utils import missing

try:
    import answer_rules
except ModuleNotFoundError:
    # Imported as hooks.jinja_extensions: the _extensions of answers saved by
    # an older version of the template. cookiecutter prints this message.
    raise ImportError(
        "the answers name the Jinja extension of an older version of the template: "
        "remove the keys that start with '_' from them"
    ) from None

# Entries cookiecutter (and cruft) add to the context for one run: not
# settings of the template, and not answers to save.
RUN_ENTRIES = frozenset({"_template", "_output_dir", "_repo_dir", "_checkout", "_commit"})

# The settings a context carries once cookiecutter has rendered them: the
# check filter renders to an empty string.
RENDERED_SETTINGS = {"__answers_checked": ""}


class AnswerRefused(FailedHookException, SystemExit):
    """A refused answer, reported as one line by any command line.

    cookiecutter's command line prints a FailedHookException's message alone.
    cruft's prints a traceback for any Exception, but Python prints an
    uncaught SystemExit's message alone, with exit status 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = message


def refuse(error: answer_rules.InvalidAnswer) -> AnswerRefused:
    refusal = AnswerRefused(f"Invalid answer: {error}")
    refusal.__cause__ = error
    return refusal


class Template:
    """What the template hands to Jinja besides its files, read from its folder.

    Read again for each environment: cruft update renders two versions of
    the template from one folder.
    """

    def __init__(self, folder: Path) -> None:
        context = json.loads((folder / "cookiecutter.json").read_text(encoding="utf-8"))
        project = next(folder.glob("{{*cookiecutter*}}"))
        hooks = [
            hook.read_text(encoding="utf-8") for hook in (folder / "hooks").glob("*_project.py")
        ]
        # What cookiecutter compiles besides the files: cookiecutter.json's
        # values, the hook scripts, the project folder's name. (An answer
        # equal to one of them renders as the template's own would.)
        self.strings = frozenset([*_strings_in(context), *hooks, project.name])
        # The paths under the project folder that hold Jinja, relative and
        # longest first: cookiecutter renders them after the output folder.
        relative = (str(path.relative_to(project)) for path in project.rglob("*"))
        self.templated_paths = sorted((p for p in relative if "{{" in p), key=len, reverse=True)
        # The settings a context must carry unchanged, as rendered.
        self.settings = {
            key: value for key, value in context.items() if key.startswith("_")
        } | RENDERED_SETTINGS


def _strings_in(value: object):
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def check_settings(context: Mapping[str, object], settings: Mapping[str, object]) -> None:
    """Refuse a context whose settings (keys starting with '_') are not the template's."""
    for key, value in context.items():
        if not key.startswith("_") or key in RUN_ENTRIES:
            continue
        if key not in settings:
            raise answer_rules.InvalidAnswer(
                f"{key} is not a setting of this template; remove it from the answers or config"
            )
        if value != settings[key]:
            raise answer_rules.InvalidAnswer(
                f"{key} {answer_rules.shown(value)} differs from the template's own setting; "
                "settings (keys starting with '_') are not answers: remove it from the answers "
                "or config"
            )


class TemplateExtension(jinja2.ext.Extension):
    """The extension for one Jinja environment of cookiecutter's (see the module's doc)."""

    def __init__(self, environment: jinja2.Environment, template_dir: Path) -> None:
        super().__init__(environment)
        self.template = Template(template_dir)
        # Set once the whole context has passed: cookiecutter is generating.
        self.generating = False
        self._texts: list[str] = []
        environment.filters["check_answers"] = self.check_answers_filter
        environment.filters["quoted"] = quoted
        environment.filters["replay_answers"] = replay_answers
        environment.globals["answer_text"] = self._texts.__getitem__
        # For hooks/pre_gen_project.py, which imports answer_rules from there.
        environment.globals["template_hooks_dir"] = str(template_dir / "hooks")
        environment.context_class = _checking_context(self.check)
        environment.undefined = MissingAnswer

    def check(self, answers: Mapping[str, object]) -> None:
        """Check what cookiecutter renders with; refuse with one line."""
        try:
            check_settings(answers, self.template.settings)
            if "_template" in answers:
                # Added after the last answer: about to generate the project.
                answer_rules.check_answers(answers)
                self.generating = True
            else:
                answer_rules.check_given_answers(answers)
        except answer_rules.InvalidAnswer as error:
            raise refuse(error) from error

    def check_answers_filter(self, answers: Mapping[str, object]) -> str:
        self.check(answers)
        return ""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        """The template to compile for ``source``; only the template's own is Jinja.

        Files come by name. Any other string is an answer (cookiecutter
        renders each one to fill in defaults) or, while generating, a path
        under the output folder: these are rendered as the text they are,
        except for the path of a templated file or folder at their end.
        """
        if name is not None or source in self.template.strings:
            return source
        if self.generating:
            for path in self.template.templated_paths:
                if source == path or source.endswith(os.sep + path):
                    return self._as_text(source[: -len(path)]) + path
        return self._as_text(source)

    def _as_text(self, text: str) -> str:
        if not text:
            return ""
        self._texts.append(text)
        return f"{{{{ answer_text({len(self._texts) - 1}) }}}}"


def _checking_context(check):
    class CheckingContext(jinja2.runtime.Context):
        """A render's variables: the answers among them are checked first."""

        def __init__(self, environment, parent, name, blocks, globals=None):
            super().__init__(environment, parent, name, blocks, globals)
            answers = parent.get("cookiecutter")
            if isinstance(answers, Mapping):
                check(answers)

    return CheckingContext


class MissingAnswer(jinja2.StrictUndefined):
    """An answer that a default is made from, but cookiecutter has no value for.

    cookiecutter leaves an answer given as a dict for last, and renders the
    defaults a replay file lacks without the answers it holds. The default
    would fail on the missing value (slugify with a TypeError traceback).
    """

    def __init__(self, hint=None, obj=missing, name=None, exc=jinja2.UndefinedError) -> None:
        if isinstance(obj, Mapping) and name in answer_rules.RULES:
            raise refuse(
                answer_rules.InvalidAnswer(
                    f"{name} has no text to make a later answer's default from: give it as "
                    "text (a replay file must give every answer)"
                )
            )
        super().__init__(hint, obj, name, exc)


def quoted(text: str) -> str:
    """``text`` as a double-quoted string literal.

    Escaping backslashes and double quotes is all that a TOML basic string, a
    Python string and a C++ string literal need, because the answer rules have
    refused control characters; other characters, non-ASCII included, stand
    for themselves in these UTF-8 files.
    """
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def replay_answers(context: Mapping[str, object]) -> str:
    """The answers as a cookiecutter replay file (``cookiecutter --replay-file``).

    Answers only: replayed settings would override the template's current
    ones (the files it copies without rendering, its Jinja extension).
    """
    answers = {name: context[name] for name in answer_rules.RULES if name in context}
    return json.dumps({"cookiecutter": answers}, indent=2, sort_keys=True, ensure_ascii=False)
