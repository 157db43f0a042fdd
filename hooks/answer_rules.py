"""The rules every answer to the template must satisfy.

Each rule raises ``InvalidAnswer`` with one line that names the answer and
the rule. ``jinja_extensions`` applies them while cookiecutter collects the
answers and again, to the whole context, before cookiecutter creates the
project folder; ``pre_gen_project.py`` applies them once more. This module
knows nothing of cookiecutter, so the three import it under one name
(``answer_rules``, from this folder).
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping

# Must equal kMaxDevices in the C++ (csrc/): the emulated runtime keeps
# fixed-size per-device tables. tests/test_answer_rules.py checks they agree.
MAX_DEVICE_COUNT = 16

# 1 TiB: far above any real device, low enough that a typo in the unit shows.
MAX_DEVICE_MEMORY_MIB = 1024 * 1024

# File names built from the slug and the package name add up to 60 bytes
# (a wheel's version and platform tags) and must stay within the 255 bytes
# most file systems allow.
MAX_NAME_LENGTH = 100

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

# Names Windows reserves for devices, with or without an extension: a folder
# called CON or nul.d cannot be created or checked out there.
WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789"}
)

# Characters that reorder how text is displayed ("Trojan Source",
# CVE-2021-42574): in a string literal they make code read differently from
# how it runs.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A folder name that is also a valid distribution name (PEP 508).
_PROJECT_SLUG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# What starts a Jinja expression, statement or comment.
JINJA_MARKUP = re.compile(r"\{\{|\{%|\{#")


class InvalidAnswer(ValueError):
    """An answer to the template that breaks one of the rules."""


def check_answers(answers: Mapping[str, object]) -> None:
    """Raise InvalidAnswer unless every answer is given and keeps its rule."""
    for name in RULES:
        if name not in answers:
            raise InvalidAnswer(f"{name} is missing")
    check_given_answers(answers)


def check_given_answers(answers: Mapping[str, object]) -> None:
    """Raise InvalidAnswer for the first given answer that breaks its rule.

    cookiecutter collects the answers one at a time; those not given yet are
    skipped.
    """
    for name, rule in RULES.items():
        if name in answers:
            rule(name, answers[name])


def shown(value: object) -> str:
    """``value`` for a one-line message: its repr, shortened if long."""
    text = repr(value)
    if len(text) <= 60:
        return text
    size = f", {len(value)} characters" if isinstance(value, str) else ""
    return f"{text[:50]}...{text[-1]} ({type(value).__name__}{size})"


def _text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidAnswer(f"{name} must be text, got {shown(value)}")
    for char in value:
        # Control characters (newlines included) would end the string literals
        # the answer is written into; lone surrogates cannot be written at all.
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidAnswer(
                f"{name} {shown(value)} must be one line of printable text (it contains {char!r})"
            )
        if char in BIDI_CONTROLS:
            raise InvalidAnswer(
                f"{name} {shown(value)} must not contain bidirectional control characters "
                f"(it contains U+{ord(char):04X}), which make code read differently from "
                "how it runs"
            )
    if JINJA_MARKUP.search(value):
        raise InvalidAnswer(
            f"{name} {shown(value)} must not contain Jinja markup ('{{{{', '{{%' or '{{#')"
        )


def _required_text(name: str, value: object) -> None:
    _text(name, value)
    if not str(value).strip():
        raise InvalidAnswer(f"{name} must not be empty")


def _email(name: str, value: object) -> None:
    _text(name, value)
    if value and not _EMAIL.fullmatch(str(value)):
        raise InvalidAnswer(f"{name} {shown(value)} must be empty or look like name@domain")


def _file_name(name: str, value: str) -> None:
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidAnswer(
            f"{name} {shown(value)} must be at most {MAX_NAME_LENGTH} characters "
            "(file names are built from it)"
        )
    if value.split(".")[0].upper() in WINDOWS_RESERVED_NAMES:
        raise InvalidAnswer(f"{name} {shown(value)} is a device name that Windows reserves")


def _project_slug(name: str, value: object) -> None:
    if not isinstance(value, str) or not _PROJECT_SLUG.fullmatch(value):
        raise InvalidAnswer(
            f"{name} {shown(value)} must be a plain folder name that is also a "
            "distribution name: ASCII letters, digits, '.', '_' and '-', starting "
            "and ending with a letter or digit (no '/', no '..')"
        )
    _file_name(name, value)


def _package_name(name: str, value: object) -> None:
    if not isinstance(value, str) or not _PACKAGE_NAME.fullmatch(value):
        raise InvalidAnswer(
            f"{name} {shown(value)} must be a Python identifier made of ASCII "
            "letters, digits and '_', not starting with a digit"
        )
    _file_name(name, value)
    if keyword.iskeyword(value):
        raise InvalidAnswer(f"{name} {value!r} is a Python keyword")
    if value.startswith("__") and value.endswith("__"):
        raise InvalidAnswer(f"{name} {value!r} is a name Python reserves (such as __main__)")
    if value in SHADOWED_MODULES:
        raise InvalidAnswer(
            f"{name} {value!r} would shadow the module {value!r}, which the "
            "generated project imports (directly or through torch)"
        )


def _choice(allowed: tuple[str, ...]) -> Callable[[str, object], None]:
    def rule(name: str, value: object) -> None:
        if value not in allowed:
            raise InvalidAnswer(
                f"{name} {shown(value)} is not supported; choose one of: {', '.join(allowed)}"
            )

    return rule


def _integer(most: int, why: str) -> Callable[[str, object], None]:
    def rule(name: str, value: object) -> None:
        text = str(value).strip()
        whole = not isinstance(value, bool) and text.isascii() and text.isdigit()
        if not whole or not 1 <= int(text) <= most:
            raise InvalidAnswer(
                f"{name} {shown(value)} must be an integer from 1 to {most} ({why})"
            )

    return rule


# Every answer, in cookiecutter.json's order, with its rule.
RULES: dict[str, Callable[[str, object], None]] = {
    "project_name": _required_text,
    "project_slug": _project_slug,
    "package_name": _package_name,
    "device_type": _choice(SUPPORTED_DEVICE_TYPES),
    "device_count": _integer(MAX_DEVICE_COUNT, "the most the emulated runtime supports"),
    "device_name": _required_text,
    "device_memory_mib": _integer(MAX_DEVICE_MEMORY_MIB, "1 TiB"),
    "description": _text,
    "author_name": _text,
    "author_email": _email,
    "license": _choice(LICENSES),
}
