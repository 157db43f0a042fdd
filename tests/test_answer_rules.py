"""Every bad answer is refused with one line naming the variable and the rule,
and nothing is left on disk."""

from __future__ import annotations

import json
import re

import answer_rules
import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from render import PROJECT_TEMPLATE, TEMPLATE_DIR

BAD_ANSWERS = [
    # (variable, bad value, words the message must contain)
    ("package_name", "3d_device", "Python identifier"),
    ("package_name", "my-device", "Python identifier"),
    ("package_name", "appareil_é", "ASCII"),
    ("package_name", "class", "keyword"),
    ("package_name", "torch", "shadow"),
    ("package_name", "threading", "shadow"),
    ("package_name", "numpy", "shadow"),
    ("project_slug", "a/b", "plain folder name"),
    ("project_slug", "../escape", "plain folder name"),
    ("project_slug", "..", "plain folder name"),
    ("project_slug", "/tmp/absolute", "plain folder name"),
    ("project_slug", "", "plain folder name"),
    ("project_slug", "with space", "plain folder name"),
    ("device_count", "0", "from 1 to 16"),
    ("device_count", "17", "from 1 to 16"),
    ("device_count", "-1", "from 1 to 16"),
    ("device_count", "two", "from 1 to 16"),
    ("device_count", "1.5", "from 1 to 16"),
    ("device_memory_mib", "0", "from 1 to 1048576"),
    ("device_memory_mib", "16GB", "from 1 to 1048576"),
    ("device_memory_mib", "2000000", "from 1 to 1048576"),
    ("device_name", "", "must not be empty"),
    ("device_name", "line\nbreak", "one line"),
    ("project_name", "", "must not be empty"),
    ("project_name", "two\nlines", "one line"),
    ("description", "tab\there", "one line"),
    ("author_name", "bell\a", "one line"),
    ("author_email", "not an address", "name@domain"),
]

JINJA_IN_ANSWERS = [
    ("project_name", "{{ 7 * 7 }}"),
    ("description", "{% for x in range(3) %}x{% endfor %}"),
    ("author_name", "{# comment #}"),
    ("device_name", "{{ cookiecutter.__class__.__mro__ }}"),
]


def assert_nothing_written(output_dir):
    assert list(output_dir.iterdir()) == []
    assert not (output_dir.parent / "escape").exists()


def refusal_message(output_dir, answers):
    """Render with `answers`, which must be refused; return the one-line message."""
    with pytest.raises(FailedHookException) as refusal:
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, extra_context=answers, output_dir=str(output_dir)
        )
    message = str(refusal.value)
    assert "\n" not in message
    assert_nothing_written(output_dir)
    return message


@pytest.mark.parametrize(("variable", "value", "rule"), BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(output_dir, variable, value, rule):
    message = refusal_message(output_dir, {variable: value})
    assert message.startswith(f"Invalid answer: {variable} ")
    assert rule in message


@pytest.mark.parametrize(("variable", "value"), JINJA_IN_ANSWERS)
def test_jinja_in_an_answer_is_refused_before_it_is_evaluated(output_dir, variable, value):
    message = refusal_message(output_dir, {variable: value})
    assert message.startswith("Invalid answer: ")
    assert "contains Jinja markup" in message
    assert repr(value) in message  # evaluated, it would have shown the result instead


def replay_file(tmp_path, **changes):
    """The replay file of a real run with default answers, with some answers changed,
    as a user editing it by hand would."""
    scratch = tmp_path / "scratch"
    cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(scratch))
    recorded = tmp_path / "replay" / f"{TEMPLATE_DIR.name}.json"
    replay = json.loads(recorded.read_text(encoding="utf-8"))
    replay["cookiecutter"].update(changes)
    path = tmp_path / "edited-answers.json"
    path.write_text(json.dumps(replay), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("device_type", "xpu", "choose one of: mtia"),
        ("license", "GPL-3.0", "choose one of"),
        ("package_name", "import", "keyword"),
        ("device_count", "99", "from 1 to 16"),
        ("description", "{{ 7 * 7 }}", "must not contain Jinja markup"),
    ],
)
def test_pre_gen_hook_refuses_replayed_answers(tmp_path, output_dir, capfd, variable, value, rule):
    # --replay skips the prompts, so the pre-gen hook is what refuses here.
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE_DIR),
            replay=str(replay_file(tmp_path, **{variable: value})),
            output_dir=str(output_dir),
        )
    hook_output = capfd.readouterr().err.strip().splitlines()
    assert hook_output[-1].startswith(f"Invalid answer: {variable} ")
    assert rule in hook_output[-1]
    assert_nothing_written(output_dir)


def test_replayed_good_answers_render(tmp_path, output_dir):
    project = cookiecutter(
        str(TEMPLATE_DIR), replay=str(replay_file(tmp_path)), output_dir=str(output_dir)
    )
    assert (output_dir / "fake-mtia-backend").samefile(project)


def test_unoffered_device_type_is_refused_by_cookiecutter(output_dir):
    with pytest.raises(ValueError, match="xpu provided for choice variable device_type"):
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context={"device_type": "xpu"},
            output_dir=str(output_dir),
        )
    assert_nothing_written(output_dir)


def test_good_answers_pass_every_rule():
    answer_rules.check_answers(
        {
            "project_name": 'Ünïcode «Device» "quoted" O\'Brien \\ back',
            "project_slug": "my.device-2",
            "package_name": "_my_device2",
            "description": "",
            "author_name": "",
            "author_email": "",
            "license": "Proprietary",
            "device_type": "mtia",
            "device_count": 16,
            "device_name": 'Zoë\'s "Fake" \\ Device',
            "device_memory_mib": "1048576",
        }
    )


def test_device_count_limit_matches_the_runtime():
    header = (PROJECT_TEMPLATE / "csrc" / "runtime" / "runtime.h").read_text(encoding="utf-8")
    limit = re.search(r"kMaxDevices = (\d+);", header)
    assert limit is not None
    assert int(limit.group(1)) == answer_rules.MAX_DEVICE_COUNT


def test_offered_choices_are_the_ones_the_rules_accept():
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    assert tuple(context["device_type"]) == answer_rules.SUPPORTED_DEVICE_TYPES
    assert context["device_type"][0] == "mtia"
    assert tuple(context["license"]) == answer_rules.LICENSES


def test_every_answer_has_a_prompt_label():
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    answers = {key for key in context if not key.startswith("_")}
    assert answers == set(context["__prompts__"])
