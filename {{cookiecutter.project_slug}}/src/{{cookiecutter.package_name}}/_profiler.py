"""What torch.profiler's post-processing leaves out for the {{ cookiecutter.device_type }} device.

The C++ extension's kineto child profiler (csrc/backend/profiler.cpp) puts the
device's work into the trace: one lane per stream in export_chrome_trace(),
each piece of work linked to the operator that queued it, and torch counts it
as device time (key_averages()'s "Self {{ cookiecutter.device_type | upper }}" column). Two
steps of torch's own parsing (``torch.autograd.profiler.profile.
_parse_kineto_results``, unchanged from torch 2.9 to 2.15) handle CUDA,
PrivateUse1 and XPU but not this device type:

- device work is not added to the operator that queued it, so an operator's
  "{{ cookiecutter.device_type | upper }} total" stays 0 (CUDA kernels are added as the operator's
  kernels);
- device memory of profile_memory=True is not counted: the allocations and
  frees reach the profiler (the "[memory]" events of the trace, with their
  device), but the tables' "{{ cookiecutter.device_type | upper }} Mem" columns stay 0.

install() wraps that method to do both for this device type, the way torch
does them for CUDA, and only where the installed torch does not already:
each step is skipped when torch's own source handles the device type.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import warnings

import torch
from torch.autograd import DeviceType
from torch.autograd.profiler_util import MEMORY_EVENT_NAME, OUT_OF_MEMORY_EVENT_NAME

# The device type as the profiler's events report it.
DEVICE = DeviceType.{{ cookiecutter.device_type | upper }}
DEVICE_TYPE = "{{ cookiecutter.device_type }}"
# Marks the wrapper, so that installing twice wraps once.
_WRAPPED = "_fake_device_profiler_completion"


def _torch_source() -> str:
    try:
        return inspect.getsource(torch.autograd.profiler.profile._parse_kineto_results)
    except (OSError, TypeError):
        return ""


def _mentions_device(source: str, start: str, end: str) -> bool:
    """Whether the part of ``source`` from ``start`` to ``end`` names the device type."""
    _, found, rest = source.partition(start)
    return bool(found) and f"DeviceType.{DEVICE.name}" in rest.partition(end)[0]


def torch_adds_device_time() -> bool:
    """Whether torch itself adds this device's work to the operators that queued it."""
    return _mentions_device(_torch_source(), "for f_evt in device_corr_map", "append_kernel")


def torch_counts_device_memory() -> bool:
    """Whether torch itself counts this device's memory in profile_memory tables."""
    return _mentions_device(_torch_source(), "def _device_memory_usage", "else 0")


def install() -> None:
    """Complete torch.profiler's parsing for this device type (idempotent)."""
    profile = torch.autograd.profiler.profile
    original = profile._parse_kineto_results
    if getattr(original, _WRAPPED, False):
        return
    add_time = not torch_adds_device_time()
    add_memory = not torch_counts_device_memory()
    if not (add_time or add_memory):
        return

    @functools.wraps(original)
    def parse_kineto_results(self, result, *args, **kwargs):
        events = original(self, result, *args, **kwargs)
        if self.use_device == DEVICE_TYPE and result is not None:
            try:
                complete(events, result, add_time=add_time, add_memory=add_memory)
            except Exception as error:  # never lose the profile over the completion
                warnings.warn(
                    f"could not add {DEVICE_TYPE} device time and memory to the profile: {error!r}",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return events

    setattr(parse_kineto_results, _WRAPPED, True)
    profile._parse_kineto_results = parse_kineto_results


def complete(events, result, *, add_time: bool = True, add_memory: bool = True) -> None:
    """Add this device's work and memory to the parsed ``events`` of a kineto ``result``."""
    kineto_events = result.events()
    if add_time:
        _add_device_time(events, kineto_events)
    if add_memory:
        _add_device_memory(events, kineto_events, result.trace_start_ns())


def _add_device_time(events, kineto_events) -> None:
    # What torch does for a CUDA kernel: the operator whose correlation id the
    # device work is linked to gets it as one of its kernels.
    launched: dict[int, list[tuple[str, int, float]]] = {}
    for event in kineto_events:
        if event.device_type() == DEVICE and event.name() != MEMORY_EVENT_NAME:
            linked = event.linked_correlation_id()
            if linked > 0:
                launched.setdefault(linked, []).append(
                    (event.name(), event.device_index(), event.duration_ns() / 1000)
                )
    if not launched:
        return
    for event in events:
        if event.device_type == DeviceType.CPU and not event.is_async and event.id in launched:
            for name, index, duration_us in launched.pop(event.id):
                event.append_kernel(name, index, duration_us)


def _add_device_memory(events, kineto_events, trace_start_ns: int) -> None:
    # What torch does for CUDA memory: every host-side event counts the
    # allocations and frees made while it ran (its children's included); one
    # made outside any event is a top-level "[memory]" event of its own.
    records = sorted(
        (event.start_ns(), event.nbytes())
        for event in kineto_events
        if event.name() == MEMORY_EVENT_NAME and event.device_type() == DEVICE
    )
    if not records:
        return
    times = [time for time, _ in records]
    counted = [False] * len(records)
    top_level = {}
    for event in events:
        if event.device_type != DeviceType.CPU:
            continue
        start = round(event.time_range.start * 1000) + trace_start_ns
        if event.name == MEMORY_EVENT_NAME:
            if event.cpu_memory_usage == 0 and event.device_memory_usage == 0:
                top_level.setdefault(start, []).append(event)
            continue
        if event.name == OUT_OF_MEMORY_EVENT_NAME:
            continue
        end = round(event.time_range.end * 1000) + trace_start_ns
        first, last = bisect.bisect_left(times, start), bisect.bisect_right(times, end)
        for i in range(first, last):
            event.device_memory_usage += records[i][1]
            counted[i] = True
    for (time, nbytes), was_counted in zip(records, counted, strict=True):
        if not was_counted and top_level.get(time):
            top_level[time].pop(0).device_memory_usage = nbytes


install()
