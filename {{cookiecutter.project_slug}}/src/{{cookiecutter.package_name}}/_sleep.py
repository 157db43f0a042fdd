"""``sleep``: a busy period on a stream, for testing synchronization.

The analogue of ``torch.cuda._sleep``: it queues work that keeps the stream
busy and returns at once, so code that forgets to synchronize sees unfinished
work, as it would on real hardware.
"""

from __future__ import annotations

import numbers

import torch

from ._device import DEVICE_TYPE, stream_device_index
from ._loader import load

# A bound that catches a unit mix-up (seconds in nanoseconds) before it hangs a test.
MAX_SLEEP_MS = 3_600_000


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def sleep(milliseconds: float, stream: torch.Stream | None = None) -> None:
    """Queue ``milliseconds`` of busy time on ``stream`` and return at once.

    ``milliseconds`` is a real number (int, float, or a NumPy scalar) from 0
    to MAX_SLEEP_MS. ``stream`` defaults to the current stream of the
    current device; a stream made with device index -1 is on the current
    device. Later work on the stream starts after the busy period;
    ``stream.query()`` is False until it ends and ``stream.synchronize()``
    waits for it.
    """
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, numbers.Real):
        raise TypeError(
            f"sleep() takes milliseconds as an int or float, got {type(milliseconds).__name__}"
        )
    # Compared exactly: no float conversion to overflow (2**1024), and NaN fails.
    if not 0 <= milliseconds <= MAX_SLEEP_MS:
        raise ValueError(
            f"sleep() takes from 0 to {MAX_SLEEP_MS} milliseconds, got {_shown(milliseconds)}"
        )
    if stream is None:
        stream = torch.get_device_module(DEVICE_TYPE).current_stream()
    elif not isinstance(stream, torch.Stream):
        raise TypeError(f"sleep() takes a torch.Stream, got {type(stream).__name__}")
    if stream.device.type != DEVICE_TYPE:
        raise ValueError(
            f"sleep() needs a stream of the {DEVICE_TYPE} device, got one on {stream.device}"
        )
    load().sleep(float(milliseconds), stream_device_index(stream), stream.stream_id)
