"""Random numbers on the device come from the device's generators.

The device module's seeding API (manual_seed, seed, default_generators, rng
state) is new in torch 2.11; torch.Generator on the device works on every release.
"""

import pytest
import torch

import {{ cookiecutter.package_name }} as backend
from {{ cookiecutter.package_name }} import _loader

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
TORCH_RELEASE = _loader.torch_release(torch.__version__)
needs_seeding_api = pytest.mark.skipif(
    TORCH_RELEASE < (2, 11),
    reason=f"torch.{DEVICE}'s seeding API is new in torch 2.11; "
    "test_seeding_api_from_2_11_absent_before checks its absence",
)


def draw(generator=None):
    """One sample of several random operators on the first device, as host tensors."""
    kwargs = {"device": f"{DEVICE}:0", "generator": generator}
    return [
        torch.randn(5, **kwargs).cpu(),
        torch.rand(5, **kwargs).cpu(),
        torch.randint(0, 1000, (5,), **kwargs).cpu(),
        torch.empty(5, device=f"{DEVICE}:0").normal_(2.0, 3.0, generator=generator).cpu(),
        torch.bernoulli(torch.full((5,), 0.5, device=f"{DEVICE}:0"), generator=generator).cpu(),
        torch.randperm(7, **kwargs).cpu(),
    ]


def same(first, second):
    return all(torch.equal(a, b) for a, b in zip(first, second, strict=False))


def test_device_generator_with_the_same_seed_gives_the_same_numbers():
    generator = torch.Generator(device=f"{DEVICE}:0")
    assert generator.device == torch.device(f"{DEVICE}:0")
    generator.manual_seed(42)
    first = draw(generator)
    generator.manual_seed(42)
    assert same(draw(generator), first)
    generator.manual_seed(43)
    assert not same(draw(generator), first)


def test_device_generator_state_round_trip():
    generator = torch.Generator(device=f"{DEVICE}:0").manual_seed(7)
    state = generator.get_state()
    first = draw(generator)
    generator.set_state(state)
    assert same(draw(generator), first)


def test_generator_of_another_device_type_is_refused():
    with pytest.raises(RuntimeError, match=f"expected a generator of the {DEVICE} device"):
        torch.randn(3, device=f"{DEVICE}:0", generator=torch.Generator())


def test_random_values_look_random():
    generator = torch.Generator(device=f"{DEVICE}:0").manual_seed(0)
    sample = torch.randn(100_000, device=f"{DEVICE}:0", generator=generator).cpu()
    assert abs(sample.mean().item()) < 0.02
    assert abs(sample.std().item() - 1) < 0.02


def test_seeding_api_from_2_11_absent_before():
    if TORCH_RELEASE >= (2, 11):
        assert callable(device_module.manual_seed)
    else:  # torch 2.9 and 2.10: a clear error, no crash
        with pytest.raises(AttributeError):
            device_module.manual_seed(0)


@needs_seeding_api
def test_same_seed_gives_the_same_numbers():
    device_module.manual_seed(1234)
    first = draw()
    device_module.manual_seed(1234)
    assert same(draw(), first)
    device_module.manual_seed(4321)
    assert not same(draw(), first)


@needs_seeding_api
def test_torch_manual_seed_seeds_the_device_too():
    torch.manual_seed(99)
    first = draw()
    torch.manual_seed(99)
    assert same(draw(), first)


@needs_seeding_api
def test_each_device_has_its_own_default_generator(other_device):
    device_module.manual_seed_all(7)
    on_zero = torch.randn(5, device=f"{DEVICE}:0").cpu()
    on_other = torch.randn(5, device=f"{DEVICE}:{other_device}").cpu()
    assert torch.equal(on_zero, on_other)  # same seed, separate generators
    with device_module.device(other_device):
        device_module.manual_seed(99)  # reseeds only the current device
    on_zero = torch.randn(5, device=f"{DEVICE}:0").cpu()
    on_other = torch.randn(5, device=f"{DEVICE}:{other_device}").cpu()
    assert not torch.equal(on_zero, on_other)


@needs_seeding_api
def test_default_generators_belong_to_their_devices():
    device_module.init()
    generators = device_module.default_generators
    assert [g.device for g in generators] == [
        torch.device(DEVICE, i) for i in range(device_module.device_count())
    ]


@needs_seeding_api
def test_rng_state_round_trip_reproduces_numbers():
    state = device_module.get_rng_state(f"{DEVICE}:0")
    first = draw()
    device_module.set_rng_state(state, f"{DEVICE}:0")
    assert same(draw(), first)


@needs_seeding_api
def test_seed_and_initial_seed():
    seed = device_module.seed()
    assert isinstance(seed, int)
    assert device_module.initial_seed() == seed
    device_module.manual_seed(5)
    assert device_module.initial_seed() == 5


@needs_seeding_api
def test_explicit_generator_is_separate_from_the_default():
    generator = torch.Generator(device=f"{DEVICE}:0").manual_seed(42)
    first = draw(generator)
    device_module.manual_seed(0)
    draw()  # the default generator moving on does not affect it
    generator.manual_seed(42)
    assert same(draw(generator), first)
