"""The copying paths, for devices whose memory the host cannot address.

The emulator's memory is host memory, so the glue normally computes on it in
place. A real device's memory is not, and the glue then moves data only
through the driver's memcpy (csrc/backend/staging.h). Setting
<PACKAGE>_SEPARATE_MEMORY=1 makes the emulator report its memory as separate
(and refuse host kernels), so that these paths run and are checked here.

The switch is the emulator's: a device whose memory is separate takes these
paths in every test, so they are the emulator's own tests.
"""

import pytest
from checkout_python import run_python

from {{ cookiecutter.package_name }} import _loader

pytestmark = pytest.mark.emulator

SEPARATE_MEMORY = _loader.PACKAGE.upper() + "_SEPARATE_MEMORY"

SCRIPT = f"""
import torch
from torch import nn
import {_loader.PACKAGE} as backend

DEVICE = backend.DEVICE_TYPE
torch.manual_seed(0)
host = torch.randn(4, 6)
device = host.to(DEVICE)

def same(got, expected):
    torch.testing.assert_close(got.cpu(), expected)

same(device + 1, host + 1)
same(device.t().contiguous(), host.t().contiguous())      # a strided view read
same(device[:, 1::2] * 2, host[:, 1::2] * 2)
target = torch.zeros(6, 4, device=DEVICE)
target.copy_(device.t())                                   # a strided copy on the device
same(target, host.t())
target[1:3].fill_(2.5)                                     # a fill of part of a tensor
expected = host.t().clone()
expected[1:3] = 2.5
same(target, expected)
same(device.double(), host.double())                       # a converting copy
strided_host = torch.randn(6, 4).t()
same(strided_host.to(DEVICE), strided_host)                # from a strided host tensor
layer = nn.Conv2d(3, 4, 3)
device_layer = nn.Conv2d(3, 4, 3).to(DEVICE)
device_layer.load_state_dict(layer.state_dict())
images = torch.randn(2, 3, 8, 8)
same(device_layer(images.to(DEVICE)), layer(images))
library = torch.library.Library("separate_memory_test", "DEF")
library.define("my_view(Tensor(a) x) -> Tensor(a)")
library.impl("my_view", lambda x: x[1:], "CPU")
try:
    torch.ops.separate_memory_test.my_view(device)  # a copy cannot be a view
except NotImplementedError as error:
    assert "view operator" in str(error), error
else:
    raise AssertionError("a view operator ran on a copy")
print("copying paths ok")
"""


def test_every_path_works_when_device_memory_is_separate_from_the_host():
    result = run_python("-c", SCRIPT, timeout=300, **{SEPARATE_MEMORY: "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "copying paths ok" in result.stdout
