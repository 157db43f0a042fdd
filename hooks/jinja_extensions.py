"""Jinja extensions the template loads (cookiecutter.json ``_extensions``).

* ``AnswerChecks``: the ``check_answers`` filter, applied to the answers as
  soon as cookiecutter has collected them (see answer_rules).
* ``StringLiterals``: the ``quoted`` filter, the one way a free-text answer
  enters generated code.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2
import jinja2.ext

from .answer_rules import InvalidAnswer, check_answers


def check_answers_filter(answers: Mapping[str, object]) -> str:
    """Refuse bad answers with cookiecutter's FailedHookException.

    The cookiecutter command line reports that exception as one line, as it
    does for a refusing hook.
    """
    try:
        check_answers(answers)
    except InvalidAnswer as error:
        from cookiecutter.exceptions import FailedHookException

        raise FailedHookException(f"Invalid answer: {error}") from None
    return ""


def quoted(text: str) -> str:
    """``text`` as a double-quoted string literal.

    Escaping backslashes and double quotes is all that a TOML basic string, a
    Python string and a C++ string literal need, because the answer rules have
    refused control characters; other characters, non-ASCII included, stand
    for themselves in these UTF-8 files.
    """
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


class AnswerChecks(jinja2.ext.Extension):
    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters["check_answers"] = check_answers_filter


class StringLiterals(jinja2.ext.Extension):
    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters["quoted"] = quoted
