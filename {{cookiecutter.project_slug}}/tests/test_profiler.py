"""torch.profiler with the device: its streams in the trace, device time, device memory.

csrc/backend/profiler.cpp is a kineto child profiler over the driver's
activity tracing; the package's _profiler.py completes torch's tables.
"""

import json

import pytest
import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _profiler

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
DEVICE_ACTIVITY = getattr(ProfilerActivity, DEVICE.upper())
DEVICE_KIND = getattr(DeviceType, DEVICE.upper())
ACTIVITIES = [ProfilerActivity.CPU, DEVICE_ACTIVITY]
# What the driver calls each piece of work (the slices' names).
TO_DEVICE = "memcpy host to device"
TO_HOST = "memcpy device to host"


@pytest.fixture(autouse=True)
def settled():
    device_module.init()
    torch.accelerator.synchronize(0)
    yield
    torch.accelerator.synchronize(0)


def export(prof, tmp_path) -> dict:
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    return json.loads(path.read_text())


class Trace:
    """The parts of a chrome trace the tests read."""

    def __init__(self, data: dict) -> None:
        self.events = data["traceEvents"]
        metadata = [e for e in self.events if e.get("ph") == "M"]
        self.device_pids = {
            e["pid"]: e["args"]["name"]
            for e in metadata
            if e["name"] == "process_name" and str(e["args"]["name"]).startswith(f"{DEVICE}:")
        }
        self.stream_names = {
            (e["pid"], e["tid"]): e["args"]["name"]
            for e in metadata
            if e["name"] == "thread_name" and e["pid"] in self.device_pids
        }
        self.work = [e for e in self.events if e.get("ph") == "X" and e["pid"] in self.device_pids]
        self.host = [
            e for e in self.events if e.get("ph") == "X" and e["pid"] not in self.device_pids
        ]

    def named(self, name: str) -> list:
        return [e for e in self.work if e["name"] == name]

    def operator(self, external_id: int) -> dict:
        """The host-side operator with this External id (its correlation id)."""
        found = [
            e
            for e in self.host
            if e.get("cat") == "cpu_op" and e.get("args", {}).get("External id") == external_id
        ]
        assert found, f"no operator with External id {external_id}"
        return found[0]

    def flows(self, phase: str) -> dict:
        return {e["id"]: e for e in self.events if e.get("ph") == phase and e.get("cat") == "ac2g"}


def test_the_device_activity_is_supported():
    assert DEVICE_ACTIVITY in torch.profiler.supported_activities()


def test_copies_and_kernels_appear_on_the_device_lane(tmp_path):
    host = torch.arange(4096, dtype=torch.float32)
    with profile(activities=ACTIVITIES) as prof:
        on_device = host.to(DEVICE)
        on_device.fill_(2.5)  # not a byte pattern: a kernel
        back = on_device.cpu()
    assert torch.equal(back, torch.full_like(host, 2.5))
    trace = Trace(export(prof, tmp_path))
    assert trace.device_pids == {0: f"{DEVICE}:0"}
    assert trace.stream_names[(0, 0)] == "stream 0 (default)"
    names = [e["name"] for e in sorted(trace.work, key=lambda e: e["ts"])]
    assert names == [TO_DEVICE, "fill_", TO_HOST]
    copy = trace.named(TO_DEVICE)[0]
    assert copy["args"]["bytes"] == host.numel() * host.element_size()
    assert copy["args"]["kind"] == "memcpy"
    assert copy["tid"] == 0 and copy["args"]["stream"] == 0
    assert trace.named("fill_")[0]["args"]["kind"] == "kernel"
    for work in trace.work:
        assert work["dur"] >= 0


def test_each_stream_gets_its_own_lane(tmp_path):
    side = torch.Stream(device=f"{DEVICE}:0")
    with profile(activities=ACTIVITIES) as prof:
        a = torch.ones(256, device=DEVICE)
        with side:
            b = torch.zeros(256, device=DEVICE)
            b.fill_(3.0)
        torch.accelerator.current_stream().wait_stream(side)
        c = (a + b).cpu()
    assert c[0].item() == 4.0
    trace = Trace(export(prof, tmp_path))
    lanes = {(e["pid"], e["tid"]) for e in trace.work}
    assert {(0, 0), (0, side.stream_id)} <= lanes
    assert trace.stream_names[(0, side.stream_id)] == f"stream {side.stream_id}"
    on_side = [e["name"] for e in trace.work if e["tid"] == side.stream_id]
    assert "memset" in on_side and "fill_" in on_side


def test_busy_periods_and_waits_are_shown_where_they_ran(tmp_path):
    side = torch.Stream(device=f"{DEVICE}:0")
    with profile(activities=ACTIVITIES) as prof:
        backend.sleep(20, side)
        torch.accelerator.current_stream().wait_stream(side)
        torch.ones(16).to(DEVICE)
    trace = Trace(export(prof, tmp_path))
    (busy,) = trace.named("sleep")
    assert busy["tid"] == side.stream_id
    assert busy["dur"] >= 19_000  # microseconds
    (wait,) = [e for e in trace.named("wait") if e["tid"] == 0]
    # The default stream waited for the busy period: its wait ends when it does.
    assert wait["ts"] + wait["dur"] >= busy["ts"] + busy["dur"] - 1000
    (copy,) = trace.named(TO_DEVICE)
    assert copy["ts"] >= busy["ts"] + busy["dur"] - 1000


def test_device_work_is_linked_to_the_operator_that_queued_it(tmp_path):
    host = torch.ones(1024)
    with profile(activities=ACTIVITIES) as prof:
        host.to(DEVICE)
    trace = Trace(export(prof, tmp_path))
    (copy,) = trace.named(TO_DEVICE)
    operator = trace.operator(copy["args"]["External id"])
    assert operator["name"] == "aten::_copy_from"
    assert operator["ts"] <= copy["ts"]
    # A flow arrow from the operator's thread to the copy.
    starts, ends = trace.flows("s"), trace.flows("f")
    ((flow_id, end),) = [(i, e) for i, e in ends.items() if e["ts"] == copy["ts"]]
    start = starts[flow_id]
    assert (end["pid"], end["tid"]) == (copy["pid"], copy["tid"])
    assert (start["pid"], start["tid"]) == (operator["pid"], operator["tid"])
    assert operator["ts"] <= start["ts"] <= operator["ts"] + operator["dur"]


def test_key_averages_report_device_time():
    host = torch.ones(1 << 16)
    with profile(activities=ACTIVITIES) as prof:
        host.to(DEVICE).cpu()
    averages = {evt.key: evt for evt in prof.key_averages()}
    copy = averages[TO_DEVICE]
    assert copy.device_type == DEVICE_KIND
    assert copy.self_device_time_total > 0
    # The operator that queued it counts it too, once.
    operator = averages["aten::_copy_from"]
    copies = averages[TO_DEVICE].device_time_total + averages[TO_HOST].device_time_total
    assert operator.device_time_total == pytest.approx(copies)
    assert f"Self {DEVICE.upper()}" in prof.key_averages().table()


def test_device_events_carry_their_device_and_link():
    with profile(activities=ACTIVITIES) as prof:
        torch.ones(64).to(DEVICE)
    (copy,) = [e for e in prof.events() if e.name == TO_DEVICE]
    assert copy.device_type == DEVICE_KIND
    assert copy.device_index == 0
    operator = [e for e in prof.events() if e.name == "aten::_copy_from"][0]
    assert any(k.name == TO_DEVICE for k in operator.kernels)


def test_work_on_a_second_device_gets_its_own_process(tmp_path, other_device):
    with profile(activities=ACTIVITIES) as prof:
        torch.ones(128, device=f"{DEVICE}:{other_device}").cpu()
    trace = Trace(export(prof, tmp_path))
    assert trace.device_pids[other_device] == f"{DEVICE}:{other_device}"
    assert {e["pid"] for e in trace.work} == {other_device}


def test_profile_memory_reports_device_allocations_and_frees(tmp_path):
    nbytes = 1 << 20
    with profile(activities=ACTIVITIES, profile_memory=True) as prof:
        tensor = torch.empty(nbytes, dtype=torch.uint8, device=DEVICE)
        del tensor
    averages = {evt.key: evt for evt in prof.key_averages()}
    assert averages["aten::empty"].device_memory_usage == nbytes
    assert averages["[memory]"].device_memory_usage == -nbytes
    assert f"{DEVICE.upper()} Mem" in prof.key_averages().table()
    memory = [
        e
        for e in export(prof, tmp_path)["traceEvents"]
        if e.get("name") == "[memory]" and e["args"].get("Device Type") == int(DEVICE_KIND)
    ]
    assert sorted(e["args"]["Bytes"] for e in memory) == [-nbytes, nbytes]


def test_a_cpu_only_profile_records_no_device_work(tmp_path):
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        torch.ones(64).to(DEVICE).cpu()
    assert Trace(export(prof, tmp_path)).work == []
    assert not [e for e in prof.events() if e.device_type == DEVICE_KIND]


def test_each_profile_has_only_its_own_work(tmp_path):
    with profile(activities=ACTIVITIES):
        torch.ones(64).to(DEVICE)
    torch.ones(32).to(DEVICE)  # between the two: not profiled
    with profile(activities=ACTIVITIES) as second:
        torch.ones(16, device=DEVICE).cpu()
    trace = Trace(export(second, tmp_path))
    assert [e["name"] for e in trace.work if e["name"].startswith("memcpy")] == [TO_HOST]


def test_work_of_a_backward_pass_is_linked_to_its_operators(tmp_path):
    weight = torch.ones(8, device=DEVICE, requires_grad=True)
    with profile(activities=ACTIVITIES) as prof:
        loss = (weight * 2).sum()
        loss.backward()
        weight.grad.cpu()
    trace = Trace(export(prof, tmp_path))
    linked = [e for e in trace.work if "External id" in e.get("args", {})]
    assert linked
    for work in linked:
        trace.operator(work["args"]["External id"])


def test_torch_post_processing_is_completed_once():
    # Installing twice wraps torch's parser once: device time is not doubled.
    _profiler.install()
    with profile(activities=ACTIVITIES) as prof:
        torch.ones(1 << 12).to(DEVICE)
    operator = [e for e in prof.events() if e.name == "aten::_copy_from"][0]
    assert [k.name for k in operator.kernels] == [TO_DEVICE]
    assert _profiler.torch_adds_device_time() in (True, False)
