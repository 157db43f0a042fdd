"""Every bad answer is refused with one line naming the answer and the rule,
and nothing is left on disk."""

from __future__ import annotations

import json
import re

import answer_rules
import jinja2
import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from render import PROJECT_TEMPLATE, TEMPLATE_DIR

BAD_ANSWERS = [
    # (answer, bad value, words the message must contain)
    ("package_name", "3d_device", "Python identifier"),
    ("package_name", "my-device", "Python identifier"),
    ("package_name", "appareil_é", "ASCII"),
    ("package_name", "class", "keyword"),
    ("package_name", "torch", "shadow"),
    ("package_name", "threading", "shadow"),
    ("package_name", "numpy", "shadow"),
    ("package_name", "__main__", "Python reserves"),
    ("package_name", "nul", "Windows reserves"),
    ("package_name", "COM1", "Windows reserves"),
    ("package_name", "a" * 300, "at most 100 characters"),
    ("project_slug", "a/b", "plain folder name"),
    ("project_slug", "../escape", "plain folder name"),
    ("project_slug", "..", "plain folder name"),
    ("project_slug", "/tmp/absolute", "plain folder name"),
    ("project_slug", "", "plain folder name"),
    ("project_slug", "with space", "plain folder name"),
    ("project_slug", "CON", "Windows reserves"),
    ("project_slug", "nul.d", "Windows reserves"),
    ("project_slug", "a" * 300, "at most 100 characters"),
    ("project_slug", "a" * 101, "at most 100 characters"),
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
    ("device_name", "\u202adevice", "bidirectional control characters"),
    ("project_name", "", "must not be empty"),
    ("project_name", "two\nlines", "one line"),
    ("project_name", "admin\u202e \u2066// comment\u2069\u2066", "U+202E"),
    ("description", "tab\there", "one line"),
    ("description", "isAdmin\u2067", "bidirectional control characters"),
    ("author_name", "bell\a", "one line"),
    ("author_name", "\u202dname", "bidirectional control characters"),
    ("author_email", "not an address", "name@domain"),
    ("license", "GPL-3.0", "choose one of: BSD-3-Clause, MIT, Proprietary"),
    ("device_type", "cuda", "choose one of: mtia"),
]

JINJA_IN_ANSWERS = [
    ("project_name", "{{ 7 * 7 }}"),
    ("description", "{% for x in range(3) %}x{% endfor %}"),
    ("author_name", "{# comment #}"),
    ("device_name", "{{ cookiecutter.__class__.__mro__ }}"),
    # A path-like answer ending in one of the template's own file-name
    # expressions is still an answer.
    ("project_name", "a/{{cookiecutter.project_slug}}"),
    ("description", "/x/src/{{cookiecutter.package_name}}"),
]

# Evaluated, this would create the marker file.
PAYLOAD = "{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}"


def assert_nothing_written(output_dir):
    assert list(output_dir.iterdir()) == []
    for outside in ("escape", "outside"):
        assert not (output_dir.parent / outside).exists()


def refusal(output_dir, **options):
    """Render, which must be refused; return the refusal after checking it is one
    line and that nothing was written."""
    with pytest.raises(FailedHookException) as refused:
        cookiecutter(str(TEMPLATE_DIR), output_dir=str(output_dir), **options)
    message = str(refused.value)
    assert message.startswith("Invalid answer: ")
    assert "\n" not in message
    assert_nothing_written(output_dir)
    return refused.value


def refusal_message(output_dir, answers):
    return str(refusal(output_dir, no_input=True, extra_context=answers))


@pytest.mark.parametrize(("answer", "value", "rule"), BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(output_dir, answer, value, rule):
    message = refusal_message(output_dir, {answer: value})
    assert message.startswith(f"Invalid answer: {answer} ")
    assert rule in message
    assert len(message) < 300


@pytest.mark.parametrize(("answer", "value"), JINJA_IN_ANSWERS)
def test_jinja_in_an_answer_is_refused_by_name_and_never_evaluated(output_dir, answer, value):
    message = refusal_message(output_dir, {answer: value})
    assert message.startswith(f"Invalid answer: {answer} {value!r} ")
    assert "must not contain Jinja markup" in message


@pytest.mark.parametrize("value", [True, None, {"a": "b"}])
def test_an_answer_that_is_not_text_is_refused_by_name(output_dir, value):
    message = refusal_message(output_dir, {"project_name": value})
    assert message.startswith("Invalid answer: project_name ")


def test_the_extension_and_the_tests_share_one_answer_rules_module(output_dir):
    # The extension, the pre-gen hook and these tests import one answer_rules.
    refused = refusal(output_dir, no_input=True, extra_context={"device_count": "99"})
    assert isinstance(refused.__cause__, answer_rules.InvalidAnswer)


def write_config(tmp_path, default_context):
    config = tmp_path / "config.yaml"
    # JSON is YAML.
    config.write_text(
        json.dumps({"replay_dir": str(tmp_path / "replay"), "default_context": default_context}),
        encoding="utf-8",
    )
    return str(config)


@pytest.mark.filterwarnings("ignore:Invalid default received")
def test_a_config_file_cannot_drop_the_guard_for_its_answers(tmp_path, output_dir):
    # The _extensions override from the bug report: cookiecutter ignores a
    # default that is not among the template's, and the answer is refused.
    marker = tmp_path / "marker"
    config = write_config(
        tmp_path,
        {
            "project_name": PAYLOAD.format(marker=marker),
            "_extensions": ["hooks.jinja_extensions.TemplateFilters"],
        },
    )
    refusal(output_dir, no_input=True, config_file=config)
    assert not marker.exists()


def test_without_the_template_extension_rendering_stops_before_any_answer(tmp_path, output_dir):
    # An empty _extensions is a subset of the template's, which cookiecutter
    # accepts; __answers_checked, rendered first, then needs a filter that is
    # not there.
    marker = tmp_path / "marker"
    config = write_config(
        tmp_path, {"project_name": PAYLOAD.format(marker=marker), "_extensions": []}
    )
    with pytest.raises(jinja2.TemplateAssertionError, match="No filter named 'check_answers'"):
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, config_file=config, output_dir=str(output_dir)
        )
    assert not marker.exists()
    assert_nothing_written(output_dir)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("__answers_checked", "skipped"), ("_copy_without_render", [])],
)
def test_settings_are_not_answers(output_dir, setting, value):
    message = refusal_message(output_dir, {setting: value})
    assert message.startswith(f"Invalid answer: {setting} ")
    assert "differs from the template's own setting" in message


@pytest.fixture
def saved_answers(default_project):
    """The answers a generated project saves, as a replay file holds them."""
    return json.loads((default_project / ".cookiecutter.json").read_text(encoding="utf-8"))


def replay_file(tmp_path, replayed):
    path = tmp_path / "replayed-answers.json"
    path.write_text(json.dumps(replayed), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("answer", "value", "rule"),
    [
        ("device_type", "xpu", "choose one of: mtia"),
        ("license", "GPL-3.0", "choose one of"),
        ("package_name", "import", "keyword"),
        ("device_count", "99", "from 1 to 16"),
        ("description", "{{ 7 * 7 }}", "must not contain Jinja markup"),
        ("project_slug", "../outside/sub", "plain folder name"),
        ("project_name", True, "must be text"),
    ],
)
def test_replayed_answers_are_refused_before_the_project_folder_exists(
    tmp_path, output_dir, saved_answers, answer, value, rule
):
    saved_answers["cookiecutter"][answer] = value
    message = str(refusal(output_dir, replay=replay_file(tmp_path, saved_answers)))
    assert message.startswith(f"Invalid answer: {answer} ")
    assert rule in message


def test_a_refusal_leaves_no_output_folder_behind(tmp_path, output_dir, saved_answers):
    saved_answers["cookiecutter"]["device_count"] = "0"
    with pytest.raises(FailedHookException, match="^Invalid answer: device_count "):
        cookiecutter(
            str(TEMPLATE_DIR),
            replay=replay_file(tmp_path, saved_answers),
            output_dir=str(output_dir / ".." / "outside" / "sub"),
        )
    assert_nothing_written(output_dir)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        # Copied without rendering: a project full of unrendered Jinja.
        ("_copy_without_render", ["*"]),
        # Without csrc/: Jinja would read the C++'s brace-init as markup.
        ("_copy_without_render", [".github/workflows/*"]),
        ("_extensions", ["hooks.template_jinja.TemplateExtension", "jinja2.ext.do"]),
        ("_jinja2_env_vars", {"trim_blocks": True}),
        ("_new_lines", "\r\n"),
        ("__answers_checked", "skipped"),
    ],
)
def test_replayed_settings_are_refused(tmp_path, output_dir, saved_answers, setting, value):
    # As cookiecutter records a run: with the settings rendered.
    saved_answers["cookiecutter"]["__answers_checked"] = ""
    saved_answers["cookiecutter"][setting] = value
    message = str(refusal(output_dir, replay=replay_file(tmp_path, saved_answers)))
    assert message.startswith(f"Invalid answer: {setting} ")


def test_replayed_good_answers_render(tmp_path, output_dir, saved_answers):
    project = cookiecutter(
        str(TEMPLATE_DIR), replay=replay_file(tmp_path, saved_answers), output_dir=str(output_dir)
    )
    assert (output_dir / "fake-mtia-backend").samefile(project)


def test_an_output_folder_holding_jinja_is_a_plain_path(output_dir):
    # cookiecutter renders the paths it creates, output folder included.
    output_in = output_dir / "{{ 7 * 7 }} {% if %}"
    project = cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(output_in))
    assert (output_in / "fake-mtia-backend").samefile(project)
    assert (output_in / "fake-mtia-backend" / "src" / "fake_mtia_backend" / "_loader.py").is_file()
    assert list(output_dir.iterdir()) == [output_in]


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
    limits = {
        int(limit)
        for header in (PROJECT_TEMPLATE / "csrc").rglob("*.h")
        for limit in re.findall(r"kMaxDevices = (\d+);", header.read_text(encoding="utf-8"))
    }
    assert limits == {answer_rules.MAX_DEVICE_COUNT}


def test_the_answers_are_the_ones_the_rules_know_in_order():
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    assert [key for key in context if not key.startswith("_")] == list(answer_rules.RULES)


def test_offered_choices_are_the_ones_the_rules_accept():
    # Choices are free text checked by the rules, so that a value outside them
    # is refused in one line: cookiecutter raises a bare ValueError for a
    # value outside a list of choices.
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    for answer, allowed in (
        ("device_type", answer_rules.SUPPORTED_DEVICE_TYPES),
        ("license", answer_rules.LICENSES),
    ):
        assert context[answer] == allowed[0]
        prompt = context["__prompts__"][answer]
        assert all(choice in prompt for choice in allowed)


def test_every_answer_has_a_prompt_label():
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    answers = {key for key in context if not key.startswith("_")}
    assert answers == set(context["__prompts__"])
