"""tools/plot_trace.py: a profiler trace drawn as an SVG timeline.

The demo profiles a training step in a fresh interpreter and draws it, as
the README's docs/profiler_trace.svg was made; the picture is read back as
XML.
"""

import json
import xml.etree.ElementTree as ElementTree

import pytest
from checkout_python import PROJECT_ROOT, run_python

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
TOOL = str(PROJECT_ROOT / "tools" / "plot_trace.py")
SVG = "{http://www.w3.org/2000/svg}"


def parse(path) -> ElementTree.Element:
    root = ElementTree.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ElementTree.Element, kind: str) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text") if e.get("class") == kind]


def slices(root: ElementTree.Element, kind: str) -> list[str]:
    """The tooltips of the slices of one kind ("host" for host operators)."""
    return [
        e.findtext(f"{SVG}title")
        for e in root.iter(f"{SVG}g")
        if e.get("class") == "slice" and e.get("data-kind") == kind
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's trace (as JSON) and picture (as XML)."""
    folder = tmp_path_factory.mktemp("plot_trace")
    picture, trace = folder / "picture.svg", folder / "trace.json"
    result = run_python(TOOL, "--demo", str(picture), "--trace", str(trace), timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(trace.read_text()), parse(picture)


def test_the_demo_draws_a_row_for_each_stream_that_ran_work_and_for_the_host_thread(demo):
    trace, picture = demo
    metadata = [e for e in trace["traceEvents"] if e.get("ph") == "M"]
    devices = {
        e["pid"]: e["args"]["name"]
        for e in metadata
        if e["name"] == "process_name" and str(e["args"]["name"]).startswith(f"{DEVICE}:")
    }
    threads = {
        (e["pid"], e["tid"]): e["args"]["name"] for e in metadata if e["name"] == "thread_name"
    }
    work = [e for e in trace["traceEvents"] if e.get("ph") == "X" and e["pid"] in devices]
    streams = {f"{devices[e['pid']]} {threads[(e['pid'], e['tid'])]}" for e in work}
    operators = [e for e in trace["traceEvents"] if e.get("ph") == "X" and e.get("cat") == "cpu_op"]
    host_threads = {threads[(e["pid"], e["tid"])] for e in operators}

    rows = texts(picture, "row-label")
    assert len(streams) >= 2  # the default stream and the copies' side stream
    assert streams <= set(rows)
    assert host_threads <= set(rows)
    assert len(rows) == len(streams) + len(host_threads)


def test_the_demo_draws_the_copies_both_ways_and_a_kernel(demo):
    _, picture = demo
    copies = slices(picture, "memcpy")
    assert any(title.startswith("memcpy host to device") for title in copies)
    assert any(title.startswith("memcpy device to host") for title in copies)
    assert slices(picture, "kernel")
    assert slices(picture, "event wait")  # the default stream waiting for the copies
    assert slices(picture, "host")
    assert "memcpy device to host" in texts(picture, "device-label")
    legend = texts(picture, "legend")
    assert {"host operator", "memcpy", "kernel", "event wait"} <= set(legend)


def test_names_with_markup_characters_are_escaped(tmp_path):
    device_name, kernel = f"{DEVICE}:0", {"kind": "kernel"}
    events = [
        {"ph": "M", "name": "process_name", "pid": 0, "tid": 0, "args": {"name": device_name}},
        {"ph": "M", "name": "thread_name", "pid": 0, "tid": 3, "args": {"name": "stream <3>"}},
        {"ph": "M", "name": "thread_name", "pid": 9, "tid": 9, "args": {"name": "main & co"}},
        {"ph": "X", "cat": "cpu_op", "name": "ns::a<b>&c", "pid": 9, "tid": 9, "ts": 0, "dur": 900},
        {"ph": "X", "name": "k<&>", "pid": 0, "tid": 3, "ts": 50, "dur": 800, "args": kernel},
    ]
    trace, picture = tmp_path / "trace.json", tmp_path / "picture.svg"
    trace.write_text(json.dumps({"traceEvents": events}))
    result = run_python(TOOL, str(trace), str(picture), "--title", "a < b & c", timeout=60)
    assert result.returncode == 0, result.stderr
    root = parse(picture)
    assert root.findtext(f"{SVG}title") == "a < b & c"
    assert set(texts(root, "row-label")) == {"main & co", f"{device_name} stream <3>"}
    assert slices(root, "host") == ["ns::a<b>&c: 900.0 µs"]
    assert slices(root, "kernel") == ["k<&> (kernel): 800.0 µs"]
    assert "k<&>" in texts(root, "device-label")


@pytest.mark.parametrize("arguments", [["--demo", "picture.png"], ["trace.json", "picture.PNG"]])
def test_a_picture_that_is_not_svg_is_refused(tmp_path, arguments):
    result = run_python(TOOL, *(str(tmp_path / a) if "." in a else a for a in arguments))
    assert result.returncode == 2  # argparse's usage error, before anything is profiled
    assert "svg" in result.stderr.lower()
    assert not list(tmp_path.iterdir())
