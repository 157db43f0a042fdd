"""No answer can inject code: random free-text answers are either refused with
a clear message, or generate a project whose Python, TOML and C++ still parse
and give the answers back unchanged."""

from __future__ import annotations

import ast
import json
import subprocess
import tempfile
import tomllib
from pathlib import Path

from answer_rules import BIDI_CONTROLS, JINJA_MARKUP
from cookiecutter.exceptions import FailedHookException
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from render import c_string_value, render

# Pieces that break naive templating or quoting, mixed with ordinary text.
TRICKY = [
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\n",
    "\\\\",
    "{",
    "}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "${{ x }}",
    "*/",
    "/*",
    "//",
    "#",
    "??=",
    "\t",
    "\n",
    "\x00",
    "é",
    "ü",
    "中文",
    "🚀",
    "e\u0301",
    "\u202e",
    " ",
    "-",
    "_",
    ".",
]
free_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=6)), max_size=8).map(
    "".join
)
FIELDS = ("project_name", "description", "author_name", "device_name")

# Text the answer rules accept: printable, not blank, with no Jinja markup and no
# bidirectional controls.
printable_text = (
    st.lists(
        st.one_of(
            st.sampled_from([piece for piece in TRICKY if piece.isprintable()]),
            st.text(
                st.characters(
                    blacklist_categories=("Cc", "Cs"), blacklist_characters=BIDI_CONTROLS
                ),
                max_size=6,
            ),
        ),
        max_size=8,
    )
    .map("".join)
    .filter(lambda text: text.strip() and not JINJA_MARKUP.search(text))
)


def check_project(project: Path, answers: dict[str, str]) -> None:
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"][0]["name"] == answers["author_name"]
    for source in project.rglob("*.py"):
        ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    header_file = project / "csrc" / "device_config.h"
    assert (
        c_string_value(header_file.read_text(encoding="utf-8"), "kDeviceName")
        == (answers["device_name"])
    )
    subprocess.run(
        ["c++", "-std=c++17", "-fsyntax-only", "-x", "c++", str(header_file)],
        check=True,
        capture_output=True,
    )
    saved = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    for field in FIELDS:
        assert saved["cookiecutter"][field] == answers[field]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert answers["project_name"] in readme
    assert answers["description"] in readme


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.fixed_dictionaries({field: free_text for field in FIELDS}))
def test_any_free_text_is_refused_clearly_or_comes_back_unchanged(answers):
    # A fixed slug keeps every example on the text fields rather than on slugify.
    with tempfile.TemporaryDirectory() as output:
        try:
            project = render(Path(output), {**answers, "project_slug": "fuzzed"})
        except FailedHookException as refusal:
            message = str(refusal)
            assert message.startswith("Invalid answer: ")
            assert "\n" not in message
            assert list(Path(output).iterdir()) == []
            event("refused")
            return
        event("rendered")
        check_project(project, answers)


@SETTINGS
@given(st.fixed_dictionaries({field: printable_text for field in FIELDS}))
def test_printable_text_with_quotes_and_non_ascii_renders_unchanged(answers):
    with tempfile.TemporaryDirectory() as output:
        check_project(render(Path(output), {**answers, "project_slug": "fuzzed"}), answers)
