"""Random numbers on the device come from the device's generators.

torch.mtia's seeding API (manual_seed, seed, default_generators, rng state)
is new in torch 2.13; torch.Generator(device="mtia") works on every release.
"""

import pytest
import torch

from {{ cookiecutter.package_name }} import _loader

TORCH_RELEASE = _loader.torch_release(torch.__version__)
needs_mtia_seeding_api = pytest.mark.skipif(
    TORCH_RELEASE < (2, 13),
    reason="torch.mtia's seeding API is new in torch 2.13; "
    "test_seeding_api_from_2_13_absent_before checks its absence",
)


def draw(generator=None):
    """One sample of several random operators on mtia:0, as host tensors."""
    kwargs = {"device": "mtia:0", "generator": generator}
    return [
        torch.randn(5, **kwargs).cpu(),
        torch.rand(5, **kwargs).cpu(),
        torch.randint(0, 1000, (5,), **kwargs).cpu(),
        torch.empty(5, device="mtia:0").normal_(2.0, 3.0, generator=generator).cpu(),
        torch.bernoulli(torch.full((5,), 0.5, device="mtia:0"), generator=generator).cpu(),
        torch.randperm(7, **kwargs).cpu(),
    ]


def same(first, second):
    return all(torch.equal(a, b) for a, b in zip(first, second, strict=False))


def test_device_generator_with_the_same_seed_gives_the_same_numbers():
    generator = torch.Generator(device="mtia:0")
    assert generator.device == torch.device("mtia:0")
    generator.manual_seed(42)
    first = draw(generator)
    generator.manual_seed(42)
    assert same(draw(generator), first)
    generator.manual_seed(43)
    assert not same(draw(generator), first)


def test_device_generator_state_round_trip():
    generator = torch.Generator(device="mtia:0").manual_seed(7)
    state = generator.get_state()
    first = draw(generator)
    generator.set_state(state)
    assert same(draw(generator), first)


def test_generator_of_another_device_type_is_refused():
    with pytest.raises(RuntimeError, match="expected a generator of the mtia device"):
        torch.randn(3, device="mtia:0", generator=torch.Generator())


def test_random_values_look_random():
    generator = torch.Generator(device="mtia:0").manual_seed(0)
    sample = torch.randn(100_000, device="mtia:0", generator=generator).cpu()
    assert abs(sample.mean().item()) < 0.02
    assert abs(sample.std().item() - 1) < 0.02


def test_seeding_api_from_2_13_absent_before():
    if TORCH_RELEASE >= (2, 13):
        assert callable(torch.mtia.manual_seed)
    else:  # torch 2.9: a clear error, no crash
        with pytest.raises(AttributeError):
            torch.mtia.manual_seed(0)


@needs_mtia_seeding_api
def test_same_seed_gives_the_same_numbers():
    torch.mtia.manual_seed(1234)
    first = draw()
    torch.mtia.manual_seed(1234)
    assert same(draw(), first)
    torch.mtia.manual_seed(4321)
    assert not same(draw(), first)


@needs_mtia_seeding_api
def test_torch_manual_seed_seeds_the_device_too():
    torch.manual_seed(99)
    first = draw()
    torch.manual_seed(99)
    assert same(draw(), first)


@needs_mtia_seeding_api
def test_each_device_has_its_own_default_generator(other_device):
    torch.mtia.manual_seed_all(7)
    on_zero = torch.randn(5, device="mtia:0").cpu()
    on_other = torch.randn(5, device=f"mtia:{other_device}").cpu()
    assert torch.equal(on_zero, on_other)  # same seed, separate generators
    with torch.mtia.device(other_device):
        torch.mtia.manual_seed(99)  # reseeds only the current device
    assert not torch.equal(
        torch.randn(5, device="mtia:0").cpu(), torch.randn(5, device=f"mtia:{other_device}").cpu()
    )


@needs_mtia_seeding_api
def test_default_generators_belong_to_their_devices():
    torch.mtia.init()
    generators = torch.mtia.default_generators
    assert [g.device for g in generators] == [
        torch.device("mtia", i) for i in range(torch.mtia.device_count())
    ]


@needs_mtia_seeding_api
def test_rng_state_round_trip_reproduces_numbers():
    state = torch.mtia.get_rng_state("mtia:0")
    first = draw()
    torch.mtia.set_rng_state(state, "mtia:0")
    assert same(draw(), first)


@needs_mtia_seeding_api
def test_seed_and_initial_seed():
    seed = torch.mtia.seed()
    assert isinstance(seed, int)
    assert torch.mtia.initial_seed() == seed
    torch.mtia.manual_seed(5)
    assert torch.mtia.initial_seed() == 5


@needs_mtia_seeding_api
def test_explicit_generator_is_separate_from_the_default():
    generator = torch.Generator(device="mtia:0").manual_seed(42)
    first = draw(generator)
    torch.mtia.manual_seed(0)
    draw()  # the default generator moving on does not affect it
    generator.manual_seed(42)
    assert same(draw(generator), first)
