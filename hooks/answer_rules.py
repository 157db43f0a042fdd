"""The rules every answer to the template must satisfy.

Two places enforce them, so that a bad answer is refused before anything is
written to disk:

* ``jinja_extensions.AnswerChecks`` (listed in cookiecutter.json's
  ``_extensions``) runs them while cookiecutter collects the answers, before
  it creates the project folder. That matters for a slug such as ``a/b``: the
  pre-gen hook only runs after cookiecutter has created ``a/b``, and its
  clean-up would leave ``a``.
* ``hooks/pre_gen_project.py`` runs them again for ``--replay``, which skips
  the prompts.

Each rule raises ``InvalidAnswer`` with one line that names the variable and
the rule.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Mapping

# Must equal kMaxDevices in csrc/runtime/runtime.h: the runtime keeps
# fixed-size per-device tables. tests/test_answer_rules.py checks the two agree.
MAX_DEVICE_COUNT = 16

# 1 TiB: far above any real device, low enough that a typo in the unit shows.
MAX_DEVICE_MEMORY_MIB = 1024 * 1024

SUPPORTED_DEVICE_TYPES = ("mtia",)
LICENSES = ("BSD-3-Clause", "MIT", "Proprietary")

# Modules the generated project imports, directly or through torch and its
# build tooling. A package of the same name would shadow them.
_THIRD_PARTY_MODULES = frozenset(
    {
        "torch",
        "torchgen",
        "functorch",
        "pytest",
        "ninja",
        "setuptools",
        "pkg_resources",
        "pybind11",
        "numpy",
        "sympy",
        "mpmath",
        "networkx",
        "jinja2",
        "markupsafe",
        "fsspec",
        "filelock",
        "typing_extensions",
    }
)
SHADOWED_MODULES = frozenset(sys.stdlib_module_names) | _THIRD_PARTY_MODULES

_PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A folder name that is also a valid distribution name (PEP 508).
_PROJECT_SLUG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# What starts a Jinja expression, statement or comment.
JINJA_MARKUP = re.compile(r"\{\{|\{%|\{#")


class InvalidAnswer(ValueError):
    """An answer to the template that breaks one of the rules."""


def check_answers(answers: Mapping[str, object]) -> None:
    """Raise InvalidAnswer for the first answer that breaks a rule."""
    for name in ("project_name", "description", "author_name", "author_email", "device_name"):
        _check_one_line_text(name, answers.get(name, ""))
    for name in ("project_name", "device_name"):
        if not str(answers.get(name, "")).strip():
            raise InvalidAnswer(f"{name} must not be empty")
    _check_project_slug(answers.get("project_slug"))
    _check_package_name(answers.get("package_name"))
    _check_author_email(answers.get("author_email", ""))
    _check_choice("license", answers.get("license"), LICENSES)
    _check_choice("device_type", answers.get("device_type"), SUPPORTED_DEVICE_TYPES)
    _check_integer(
        "device_count",
        answers.get("device_count"),
        MAX_DEVICE_COUNT,
        "the most the emulated runtime supports",
    )
    _check_integer(
        "device_memory_mib", answers.get("device_memory_mib"), MAX_DEVICE_MEMORY_MIB, "1 TiB"
    )


def _check_one_line_text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidAnswer(f"{name} must be text, got {value!r}")
    for char in value:
        # Control characters (newlines included) would end the string literals
        # the answer is written into; lone surrogates cannot be written at all.
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidAnswer(
                f"{name} {value!r} must be one line of printable text (it contains {char!r})"
            )
    if JINJA_MARKUP.search(value):
        raise InvalidAnswer(
            f"{name} {value!r} must not contain Jinja markup ('{{{{', '{{%' or '{{#')"
        )


def _check_project_slug(slug: object) -> None:
    if not isinstance(slug, str) or not _PROJECT_SLUG.fullmatch(slug):
        raise InvalidAnswer(
            f"project_slug {slug!r} must be a plain folder name that is also a "
            "distribution name: ASCII letters, digits, '.', '_' and '-', starting "
            "and ending with a letter or digit (no '/', no '..')"
        )


def _check_package_name(name: object) -> None:
    if not isinstance(name, str) or not _PACKAGE_NAME.fullmatch(name):
        raise InvalidAnswer(
            f"package_name {name!r} must be a Python identifier made of ASCII "
            "letters, digits and '_', not starting with a digit"
        )
    if keyword.iskeyword(name):
        raise InvalidAnswer(f"package_name {name!r} is a Python keyword")
    if name in SHADOWED_MODULES:
        raise InvalidAnswer(
            f"package_name {name!r} would shadow the module {name!r}, which the "
            "generated project imports (directly or through torch)"
        )


def _check_author_email(email: object) -> None:
    if email and not _EMAIL.fullmatch(str(email)):
        raise InvalidAnswer(f"author_email {email!r} must be empty or look like name@domain")


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidAnswer(
            f"{name} {value!r} is not supported; choose one of: {', '.join(allowed)}"
        )


def _check_integer(name: str, value: object, most: int, why: str) -> None:
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
        number = None
    else:
        number = int(text)
    if number is None or not 1 <= number <= most:
        raise InvalidAnswer(f"{name} {value!r} must be an integer from 1 to {most} ({why})")
