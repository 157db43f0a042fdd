"""torch.compile with its default backend, inductor, on the device (src/.../_inductor.py).

Each compile runs the host C++ compiler, so the tests are few and small, and
each compiles once. Compiled code goes to a temporary inductor cache for the
session (a cache from an earlier run would hide what this session compiles).
"""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from checkout_python import run_python
from torch import nn

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }} import _inductor, _loader

DEVICE_TYPE = {{ cookiecutter.package_name }}.DEVICE_TYPE
TORCH_RELEASE = _loader.torch_release(torch.__version__)
device_module = torch.get_device_module(DEVICE_TYPE)

# float32 forward and backward through different kernels than eager's (fused C++ loops).
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture(scope="module", autouse=True)
def fresh_inductor_cache(tmp_path_factory):
    """One inductor cache for the module, empty at the start, with fresh dynamo state."""
    from torch._inductor.utils import fresh_cache

    torch._dynamo.reset()
    with fresh_cache(dir=str(tmp_path_factory.mktemp("inductor-cache"))):
        yield
    torch._dynamo.reset()


@pytest.fixture
def last_device() -> torch.device:
    """The last device: :1 when there are two, so that "not the current device" is covered."""
    return torch.device(DEVICE_TYPE, device_module.device_count() - 1)


def assert_close(actual, expected):
    torch.testing.assert_close(actual.cpu(), expected.cpu(), **TOLERANCE)


def test_inductor_is_adapted_for_this_device_only():
    import torch._inductor.compile_fx  # noqa: F401  (what adapts inductor, on its first import)
    from torch._inductor import utils
    from torch._inductor.codegen.common import get_scheduling_for_device
    from torch._inductor.codegen.cpp import CppScheduling

    assert _inductor.unsupported_reason is None
    assert get_scheduling_for_device(DEVICE_TYPE) is CppScheduling
    assert DEVICE_TYPE not in utils.GPU_TYPES and "cuda" in utils.GPU_TYPES
    assert utils.device_need_guard(DEVICE_TYPE) and not utils.device_need_guard("cpu")
    if TORCH_RELEASE >= (2, 10):  # 2.9's get_current_backend() reads the graph's device only
        assert utils.get_current_backend(DEVICE_TYPE) == "cpp"
        assert utils.get_current_backend("cpu") == utils.config.cpu_backend


def test_training_steps_match_eager_and_stay_on_the_device(last_device):
    """torch.compile(model) forward and backward, and a compiled Adam step, on the last device."""
    torch.manual_seed(0)
    eager_model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
    model.load_state_dict(eager_model.state_dict())
    eager_model.to(last_device)
    model.to(last_device)
    inputs = torch.randn(8, 16).to(last_device)
    targets = torch.randn(8, 4).to(last_device)
    eager_optimizer = torch.optim.Adam(eager_model.parameters(), lr=0.01)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    compiled_model = torch.compile(model)
    compiled_optimizer_step = torch.compile(optimizer.step)

    for _ in range(2):
        expected = eager_model(inputs)
        eager_optimizer.zero_grad()
        nn.functional.mse_loss(expected, targets).backward()
        eager_optimizer.step()

        outputs = compiled_model(inputs)
        assert outputs.device == last_device
        assert_close(outputs, expected)
        optimizer.zero_grad()
        nn.functional.mse_loss(outputs, targets).backward()
        compiled_optimizer_step()

    for parameter, expected in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert parameter.device == last_device and parameter.grad.device == last_device
        assert_close(parameter.grad, expected.grad)
        assert_close(parameter, expected)
    assert device_module.current_device() == 0


def test_compiled_kernels_wait_for_work_queued_on_the_current_stream():
    device = torch.device(DEVICE_TYPE, 0)
    compiled = torch.compile(lambda x: x * 2 + 1)
    x = torch.ones(1000, device=device)
    assert torch.equal(compiled(x).cpu(), torch.full((1000,), 3.0))  # compiles

    {{ cookiecutter.package_name }}.sleep(50)  # the current stream is busy...
    x.fill_(11)  # ...so this fill is queued behind the sleep
    assert torch.equal(compiled(x).cpu(), torch.full((1000,), 23.0))

    stream = torch.Stream(device=device)
    with stream:  # a user stream is the current stream: the compiled code waits for it
        {{ cookiecutter.package_name }}.sleep(50, stream)
        x.fill_(5)
        result = compiled(x)
    stream.synchronize()
    assert torch.equal(result.cpu(), torch.full((1000,), 11.0))


def test_dynamic_shapes_match_eager():
    def fn(x, y):
        return torch.softmax(x @ y, dim=-1) * x.shape[0]

    compiled = torch.compile(fn, dynamic=True)
    for rows in (3, 7):
        x = torch.randn(rows, 5)
        y = torch.randn(5, rows + 1)
        result = compiled(x.to(DEVICE_TYPE), y.to(DEVICE_TYPE))
        assert result.device.type == DEVICE_TYPE
        assert_close(result, fn(x, y))


@pytest.mark.skipif(
    TORCH_RELEASE < (2, 11),
    reason="seeding the device's default generator (torch.manual_seed) is new in torch 2.11",
)
def test_random_operators_are_reproducible_under_a_seed():
    def fn(x):
        return nn.functional.dropout(x, p=0.5, training=True) + torch.rand_like(x)

    compiled = torch.compile(fn)
    x = torch.ones(4096, device=DEVICE_TYPE)
    torch.manual_seed(1)
    first = compiled(x).cpu()
    torch.manual_seed(1)
    again = compiled(x).cpu()
    torch.manual_seed(2)
    other = compiled(x).cpu()
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    kept = first >= 2  # dropout keeps x * 2, then adds [0, 1)
    assert 0.4 < kept.float().mean() < 0.6
    assert bool(((first >= 0) & (first < 3)).all())


def test_graph_breaks_in_place_inputs_and_cpu_tensors(last_device):
    """Two graphs (a graph break), each mixing CPU and device tensors, one mutating its input."""

    def fn(on_device, on_cpu):
        on_device.mul_(2)  # an input changed in place
        product = (on_device * on_cpu.to(on_device.device)).relu()
        torch._dynamo.graph_break()
        return product + 1, on_cpu.sin() + 1, (on_device.cpu() - on_cpu).abs()

    compiled = torch.compile(fn)
    a = torch.randn(64)
    b = torch.randn(64)
    on_device = a.to(last_device)
    results = compiled(on_device, b)
    expected_input = a.clone()
    expected = fn(expected_input, b)
    assert_close(on_device, expected_input)
    assert [r.device for r in results] == [last_device, torch.device("cpu"), torch.device("cpu")]
    for result, wanted in zip(results, expected, strict=True):
        assert_close(result, wanted)


def test_cpp_wrapper_is_refused_with_a_clear_error():
    compiled = torch.compile(lambda x: x + 1, options={"cpp_wrapper": True})
    with pytest.raises(Exception, match="cpp_wrapper=True, AOTInductor .* not supported"):
        compiled(torch.ones(3, device=DEVICE_TYPE))


def test_changing_the_code_generation_changes_the_cache_keys(monkeypatch):
    """The FX graph and AOT autograd caches never serve code from another version of _inductor."""
    from torch._dynamo.utils import counters
    from torch._inductor import config
    from torch._inductor.codegen.common import custom_backend_passes

    cache_key_pass = custom_backend_passes[DEVICE_TYPE]
    assert cache_key_pass.uuid() == _inductor._source_fingerprint()
    x = torch.randn(32, device=DEVICE_TYPE)

    def compile_and_run():
        torch._dynamo.reset()
        return torch.compile(lambda t: t.cos() * 3)(x)

    with config.patch(fx_graph_cache=True, fx_graph_remote_cache=False):
        counters.clear()
        expected = compile_and_run()
        assert counters["inductor"]["fxgraph_cache_miss"] == 1
        compile_and_run()  # the same code generation: served from the cache
        assert counters["inductor"]["fxgraph_cache_hit"] == 1
        monkeypatch.setattr(type(cache_key_pass), "uuid", lambda self: "another version")
        assert_close(compile_and_run(), expected)
        assert counters["inductor"]["fxgraph_cache_miss"] == 2
        assert counters["inductor"]["fxgraph_cache_hit"] == 1
        if counters["aot_autograd"]["autograd_cache_miss"]:  # when the AOT autograd cache is on
            assert counters["aot_autograd"]["autograd_cache_miss"] == 2
            assert counters["aot_autograd"]["autograd_cache_hit"] == 1


# Run in a fresh interpreter: torch._dynamo is imported before the backend, and
# then the backend finds a feature of inductor missing, as on a torch release it
# cannot adapt.
UNSUPPORTED_RELEASE_SCRIPT = textwrap.dedent(
    """
    import json
    import torch
    import torch._dynamo.device_interface as device_interface
    import {package}
    from {package} import _inductor

    getter = getattr(device_interface, "{device_type}".capitalize() + "Interface").get_raw_stream
    _inductor.REQUIRED.append(("torch._inductor.utils", "a_feature_this_release_lacks"))
    try:
        torch.compile(lambda x: x + 1)(torch.ones(2, device="{device_type}"))
        error = None
    except Exception as raised:
        error = str(raised)
    print(json.dumps(dict(getter=getter is not None, error=error)))
    """
)


@pytest.fixture(scope="module")
def unsupported_release_run(tmp_path_factory):
    script = UNSUPPORTED_RELEASE_SCRIPT.format(package=_loader.PACKAGE, device_type=DEVICE_TYPE)
    result = run_python(
        "-c",
        script,
        timeout=600,
        TORCH_DEVICE_BACKEND_AUTOLOAD="0",  # dynamo first, then the backend
        TORCHINDUCTOR_CACHE_DIR=str(tmp_path_factory.mktemp("cache")),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_release_inductor_cannot_be_adapted_for_raises_naming_it(unsupported_release_run):
    error = unsupported_release_run["error"]
    assert error is not None
    release = torch.__version__.split("+")[0]
    assert f"cannot run on the {DEVICE_TYPE} device with torch {release}" in error
    assert "a_feature_this_release_lacks" in error and 'backend="aot_eager"' in error


def test_dynamo_stream_getter_is_set_when_dynamo_was_imported_first(unsupported_release_run):
    assert unsupported_release_run["getter"]
