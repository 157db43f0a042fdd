"""Every OpInfo operator gives the CPU's answer on the device.

For each OpInfo in torch's ``op_db`` (PyTorch's own operator test database),
the first samples of its sample inputs run on the CPU and on
``{{ cookiecutter.device_type }}`` and must give the same result: outputs (values, dtypes,
shapes, strides, device), the inputs afterwards (what an operator wrote to
them), and, where the CPU raises, an error of the same type. Each case is one
test, ``<op>-<direction>-<dtype>``, so ``pytest -k`` selects them:

- ``forward``: the function, in float32, int64, complex64 and bfloat16, each
  that the OpInfo supports on the CPU (an OpInfo that supports none of them:
  its first dtype). float32 is what models run; int64, complex64 and bfloat16
  each take paths of their own through the backend (integer scalars,
  conjugate and negative views, 2-byte elements);
- ``inplace`` and ``out``: the in-place variant and the ``out=`` form (into
  empty outputs, which the operator resizes), in float32;
- ``backward``: the gradients of the inputs, in float32 and complex64, where
  the OpInfo supports autograd.

Random operators see the same seed on both (``torch.manual_seed`` also seeds
the device's generators). Where torch cannot seed them (before
``torch.{{ cookiecutter.device_type }}.manual_seed`` existed), a result that depends on the
seed, on the host or on the device, is compared by shape, dtype and strides
only, as are the results of the ``empty`` family.

The cases that do not pass yet are listed, with a reason, in
opinfo_expected_failures.py. ``{{ cookiecutter.package_name | upper }}_OPINFO_SAMPLES`` sets the
samples per case (default 2; ``all`` for every sample, a few minutes longer).
``python tests/test_opinfo_conformance.py --summary`` prints the counts the
README reports; ``python tests/test_opinfo_conformance.py CASE`` runs one case.
"""

from __future__ import annotations

import itertools
import os
import sys
import traceback
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.utils._pytree as pytree
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.opinfo.core import SampleInput

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }} import _loader

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: find the helpers
from checkout_python import run_python  # noqa: E402
from opinfo_expected_failures import EXPECTED_FAILURES, MEASURED_ON, Expected  # noqa: E402

DEVICE = {{ cookiecutter.package_name }}.DEVICE_TYPE
SAMPLES_VARIABLE = "{{ cookiecutter.package_name | upper }}_OPINFO_SAMPLES"
DEFAULT_SAMPLES = 2

FORWARD_DTYPES = (torch.float32, torch.int64, torch.complex64, torch.bfloat16)
# For an OpInfo with none of FORWARD_DTYPES: its first of these.
OTHER_DTYPES = (
    torch.float64,
    torch.complex128,
    torch.bool,
    torch.int32,
    torch.int16,
    torch.int8,
    torch.uint8,
    torch.float16,
    torch.float8_e4m3fn,
    torch.float8_e5m2,
)
BACKWARD_DTYPES = (torch.float32, torch.complex64)
VARIANT_DTYPE = torch.float32
# Operators whose results are uninitialized memory: compared by metadata.
UNINITIALIZED = {
    "empty",
    "empty_like",
    "empty_permuted",
    "empty_strided",
    "new_empty",
    "new_empty_strided",
}

TORCH_RELEASE = _loader.torch_release(torch.__version__)
DEVICE_SEEDING = hasattr(torch.get_device_module(DEVICE), "manual_seed")


def sample_count() -> int | None:
    """How many samples each case runs (None: all)."""
    value = os.environ.get(SAMPLES_VARIABLE, str(DEFAULT_SAMPLES))
    return None if value == "all" else int(value)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def forward_dtypes(op) -> list[torch.dtype]:
    supported = op.supported_dtypes("cpu")
    chosen = [dtype for dtype in FORWARD_DTYPES if dtype in supported]
    return chosen or [dtype for dtype in OTHER_DTYPES if dtype in supported][:1]


def cases():
    """(op, direction, dtype) for every case, in op_db's order."""
    for op in op_db:
        for dtype in forward_dtypes(op):
            yield op, "forward", dtype
        supported = op.supported_dtypes("cpu")
        if op.inplace_variant is not None and VARIANT_DTYPE in supported:
            yield op, "inplace", VARIANT_DTYPE
        if op.supports_out and VARIANT_DTYPE in supported:
            yield op, "out", VARIANT_DTYPE
        if op.supports_autograd:
            backward = op.supported_backward_dtypes("cpu")
            for dtype in BACKWARD_DTYPES:
                if dtype in backward:
                    yield op, "backward", dtype


def case_id(op, direction: str, dtype: torch.dtype) -> str:
    return f"{op.full_name}-{direction}-{dtype_name(dtype)}"


def expected_failure(op, direction: str, dtype: torch.dtype) -> Expected | None:
    for entry in EXPECTED_FAILURES.get(op.full_name, ()):
        if entry.covers(direction, dtype_name(dtype), sample_count(), TORCH_RELEASE):
            return entry
    return None


# Moving samples to the device.


def mirror(tensor: torch.Tensor, device: str = DEVICE) -> torch.Tensor:
    """A copy of a host tensor on ``device`` with its storage, sizes, strides and offset.

    A sample's non-contiguous or overlapping (expanded) inputs stay so on the
    device; the conjugate and negative bits are kept.
    """
    if tensor.layout != torch.strided:
        return tensor.detach().to(device)
    host = tensor.detach()
    conjugate, negative = host.is_conj(), host.is_neg()
    if conjugate:
        host = host.conj()
    if negative:
        host = host._neg_view()
    storage = host.untyped_storage()
    elements = storage.nbytes() // host.element_size()
    flat = torch.empty(0, dtype=host.dtype).set_(storage, 0, (elements,), (1,))
    device_storage = flat.to(device, copy=True).untyped_storage()
    result = torch.empty(0, dtype=host.dtype, device=device).set_(
        device_storage, host.storage_offset(), host.size(), host.stride()
    )
    if negative:
        result = result._neg_view()
    if conjugate:
        result = result.conj()
    return result.requires_grad_(tensor.requires_grad)


def on_device(sample: SampleInput, template: SampleInput | None) -> SampleInput:
    """The device form of a host sample.

    ``template`` is the same sample generated for the device: its host
    tensors (an operator's CPU-only arguments, as tensor_split's indices)
    stay on the host, and its device arguments (``device="{{ cookiecutter.device_type }}"``) replace
    the host sample's. Without one (or with one of another shape), every
    tensor moves.
    """
    leaves, spec = pytree.tree_flatten((sample.input, sample.args, sample.kwargs))
    template_leaves = [None] * len(leaves)
    if template is not None:
        flat, template_spec = pytree.tree_flatten((template.input, template.args, template.kwargs))
        if template_spec == spec:
            template_leaves = flat
    moved = []
    for leaf, template_leaf in zip(leaves, template_leaves, strict=True):
        if isinstance(leaf, torch.Tensor):
            stays = isinstance(template_leaf, torch.Tensor) and template_leaf.device.type == "cpu"
            moved.append(mirror(leaf, "cpu" if stays else DEVICE))
        elif isinstance(template_leaf, (str, torch.device)) and str(template_leaf).startswith(
            DEVICE
        ):
            moved.append(template_leaf)
        else:
            moved.append(leaf)
    first, args, kwargs = pytree.tree_unflatten(moved, spec)
    return SampleInput(
        first,
        args=args,
        kwargs=kwargs,
        output_process_fn_grad=sample.output_process_fn_grad,
        broadcasts_input=sample.broadcasts_input,
        name=sample.name,
    )


def samples(op, device: str, dtype: torch.dtype, requires_grad: bool):
    """The OpInfo's samples on ``device``.

    op.sample_inputs without its tracking of the running test, which inspects
    the stack for every sample (slow under pytest).
    """
    return iter(op.sample_inputs_func(op, device, dtype, requires_grad))


def sample_pairs(op, dtype: torch.dtype, requires_grad: bool):
    """(host sample, device sample) pairs of the case's first samples.

    Each device sample is made just before it runs: samples may share
    tensors that earlier samples' calls changed (running statistics).
    """
    seed(0)
    host = samples(op, "cpu", dtype, requires_grad)
    device = samples(op, DEVICE, dtype, requires_grad)
    for sample, template in itertools.islice(itertools.zip_longest(host, device), sample_count()):
        if sample is None:
            return
        yield sample, on_device(sample, template)


# Running and comparing.


def seed(value: int) -> None:
    torch.manual_seed(value)  # also the device's generators, where DEVICE_SEEDING
    if DEVICE_SEEDING:
        torch.get_device_module(DEVICE).manual_seed_all(value)


def call(function, sample: SampleInput, seed_value: int, **kwargs):
    seed(seed_value)
    return function(sample.input, *sample.args, **sample.kwargs, **kwargs)


def tensors(value) -> list[torch.Tensor]:
    return [leaf for leaf in pytree.tree_leaves(value) if isinstance(leaf, torch.Tensor)]


def result_device(sample: SampleInput) -> str:
    """Where an operator puts its results: a device it is given, else its tensors' device.

    A factory given no device and no device tensor (``arange(2)``) makes host tensors.
    """
    leaves = pytree.tree_leaves((sample.input, sample.args, sample.kwargs))
    for leaf in leaves:
        if isinstance(leaf, torch.device):
            return leaf.type
        if isinstance(leaf, str) and leaf.split(":")[0] in ("cpu", DEVICE):
            return leaf.split(":")[0]
    tensor_devices = {leaf.device.type for leaf in leaves if isinstance(leaf, torch.Tensor)}
    return DEVICE if DEVICE in tensor_devices else "cpu"


def assert_same(actual, expected, what: str, device: str | None = DEVICE) -> None:
    """Results ``actual`` equal host results ``expected``, leaf by leaf, and are on ``device``.

    ``device`` None: wherever they are.
    """
    actual_leaves, actual_spec = pytree.tree_flatten(actual)
    expected_leaves, expected_spec = pytree.tree_flatten(expected)
    assert actual_spec == expected_spec, f"{what}: {actual_spec} is not {expected_spec}"
    for index, (got, want) in enumerate(zip(actual_leaves, expected_leaves, strict=True)):
        where = f"{what}, leaf {index}"
        if not isinstance(want, torch.Tensor):
            torch.testing.assert_close(
                got, want, equal_nan=True, msg=lambda m, w=where: f"{w}: {m}"
            )
            continue
        assert isinstance(got, torch.Tensor), f"{where}: a {type(got).__name__}, not a tensor"
        if device is not None:
            assert got.device.type == device, f"{where}: on {got.device}, not on {device}"
        if want.layout == torch.strided:
            assert got.stride() == want.stride(), (
                f"{where}: strides {got.stride()}, not {want.stride()}"
            )
        torch.testing.assert_close(
            got.cpu(), want, equal_nan=True, msg=lambda m, w=where: f"{w}: {m}"
        )


def assert_same_metadata(actual, expected, what: str, device: str) -> None:
    for got, want in zip(tensors(actual), tensors(expected), strict=True):
        assert got.device.type == device, f"{what}: on {got.device}, not on {device}"
        assert (got.shape, got.dtype, got.stride()) == (want.shape, want.dtype, want.stride()), what


def host_copy(sample: SampleInput) -> SampleInput:
    """A copy of a host sample whose tensors share no memory with it."""
    return sample.transform(
        lambda value: mirror(value, "cpu") if isinstance(value, torch.Tensor) else value
    )


def check_call(op, function, sample, device_sample, index, host_out=None, device_out=None):
    """Run one sample on both; the device's results and errors must be the host's.

    With ``host_out``/``device_out``, the call writes them (``out=``) and
    they are the results. Results of the ``empty`` family, and of random
    operators where the device cannot be seeded, are compared by metadata.
    """
    host_kwargs = {} if host_out is None else {"out": host_out}
    device_kwargs = {} if device_out is None else {"out": device_out}
    untouched = None if DEVICE_SEEDING else host_copy(sample)
    device_again = None if DEVICE_SEEDING else device_copy(sample)
    try:
        expected = call(function, sample, index, **host_kwargs)
    except Exception as error:
        try:
            call(function, device_sample, index, **device_kwargs)
        except type(error):
            return
        raise AssertionError(
            f"sample {index}: the CPU raised {error!r}; the device did not"
        ) from None
    actual = call(function, device_sample, index, **device_kwargs)
    if host_out is not None:
        expected, actual = host_out, device_out
    device = DEVICE if device_out is not None else result_device(device_sample)
    random = untouched is not None and (
        depends_on_seed(function, untouched, expected, index)
        or differs_when_run_again(function, device_again, actual, index)
    )
    if op.name in UNINITIALIZED or random:
        assert_same_metadata(actual, expected, f"sample {index}: result", device)
    else:
        assert_same(actual, expected, f"sample {index}: result", device)
    inputs_afterwards = (
        tensors((device_sample.input, device_sample.args, device_sample.kwargs)),
        tensors((sample.input, sample.args, sample.kwargs)),
        f"sample {index}: the inputs afterwards",
    )
    if random:  # an in-place random operator wrote its draws into them
        for got, want in zip(*inputs_afterwards[:2], strict=True):
            assert_same_metadata(got, want, inputs_afterwards[2], got.device.type)
    else:
        assert_same(*inputs_afterwards, device=None)


def device_copy(sample: SampleInput) -> SampleInput:
    """A device copy of a host sample, to run an operator on again."""
    return sample.transform(
        lambda value: mirror(value) if isinstance(value, torch.Tensor) else value
    )


def differs_when_run_again(function, again: SampleInput, actual, index: int) -> bool:
    """Whether the device gives another result a second time: a random operator
    that seeds only the host (OpInfo's wrapper_set_seed calls torch.manual_seed)."""
    result = again.output_process_fn_grad(call(function, again, index))
    try:
        assert_same(result, actual, "", device=None)
    except AssertionError:
        return True
    return False


def depends_on_seed(function, untouched: SampleInput, expected, index: int) -> bool:
    """Whether another seed gives the host another result (a random operator).

    ``expected`` is the result of ``function`` on ``untouched`` with the seed ``index``,
    passed through the sample's output_process_fn_grad.
    """
    again = untouched.output_process_fn_grad(call(function, untouched, index + 1000))
    try:
        assert_same(again, expected, "", device=None)
    except AssertionError:
        return True
    return False


# Each check returns how many samples it compared.


def check_forward(op, dtype: torch.dtype) -> int:
    compared = 0
    for index, (sample, device_sample) in enumerate(sample_pairs(op, dtype, False)):
        check_call(op, op, sample, device_sample, index)
        compared += 1
    return compared


def check_inplace(op, dtype: torch.dtype) -> int:
    compared = 0
    for index, (sample, device_sample) in enumerate(sample_pairs(op, dtype, False)):
        if sample.broadcasts_input:
            continue  # the in-place form refuses it, on either device
        check_call(op, op.inplace_variant, sample, device_sample, index)
        compared += 1
    return compared


def check_out(op, dtype: torch.dtype) -> int:
    """The out= form, into empty tensors of the result's dtypes, which it resizes."""
    compared = 0
    for index, (sample, device_sample) in enumerate(sample_pairs(op, dtype, False)):
        try:
            result = call(op, host_copy(sample), index)
        except Exception:
            continue  # the function's own error is the forward case's to check
        if not tensors(result):
            continue
        compared += 1
        check_call(
            op,
            op,
            sample,
            device_sample,
            index,
            host_out=pytree.tree_map(lambda t: empty_like(t, "cpu"), result),
            device_out=pytree.tree_map(lambda t: empty_like(t, DEVICE), result),
        )
    return compared


def empty_like(value, device: str):
    """An empty tensor of value's dtype on device (other values as they are)."""
    if isinstance(value, torch.Tensor):
        return torch.empty(0, dtype=value.dtype, device=device)
    return value


def check_backward(op, dtype: torch.dtype) -> int:
    """The gradients of every input that requires one, for random output gradients."""
    compared = 0
    for index, (sample, device_sample) in enumerate(sample_pairs(op, dtype, True)):
        untouched = None if DEVICE_SEEDING else host_copy(sample)
        device_again = None if DEVICE_SEEDING else device_copy(sample)
        expected = sample.output_process_fn_grad(call(op, sample, index))
        outputs = [t for t in tensors(expected) if t.requires_grad]
        inputs = [t for t in tensors((sample.input, sample.args, sample.kwargs)) if t.requires_grad]
        if not outputs or not inputs:
            continue
        seed(1000 + index)
        grad_outputs = [torch.randn_like(t) for t in outputs]
        expected_grads = torch.autograd.grad(outputs, inputs, grad_outputs, allow_unused=True)
        actual = device_sample.output_process_fn_grad(call(op, device_sample, index))
        device_outputs = [t for t in tensors(actual) if t.requires_grad]
        device_inputs = [
            t
            for t in tensors((device_sample.input, device_sample.args, device_sample.kwargs))
            if t.requires_grad
        ]
        assert len(device_outputs) == len(outputs), f"sample {index}: differentiable outputs"
        device_grad_outputs = [
            mirror(grad, output.device.type)
            for grad, output in zip(grad_outputs, device_outputs, strict=True)
        ]
        actual_grads = torch.autograd.grad(
            device_outputs, device_inputs, device_grad_outputs, allow_unused=True
        )
        what = f"sample {index}: gradients"
        if untouched is not None and (
            depends_on_seed(op, untouched, expected, index)
            or differs_when_run_again(op, device_again, actual, index)
        ):
            assert_same_metadata(list(actual_grads), list(expected_grads), what, DEVICE)
        else:
            assert_same(list(actual_grads), list(expected_grads), what)
        compared += 1
    return compared


CHECKS = {
    "forward": check_forward,
    "inplace": check_inplace,
    "out": check_out,
    "backward": check_backward,
}


# The tests.

# The table's entries are strict on the releases it was measured on.
STRICT = TORCH_RELEASE in MEASURED_ON


class CrashedInSubprocess(Exception):
    """A case's interpreter died of a signal."""


def conformance_params() -> list:
    params = []
    for op, direction, dtype in cases():
        entry = expected_failure(op, direction, dtype)
        marks = ()
        if entry is not None:
            raises = CrashedInSubprocess if entry.crashes and STRICT else None
            marks = pytest.mark.xfail(reason=entry.reason, strict=STRICT, raises=raises)
        params.append(
            pytest.param(op, direction, dtype, entry, id=case_id(op, direction, dtype), marks=marks)
        )
    return params


def run_in_subprocess(case: str) -> None:
    """Run one case in a fresh interpreter (for a case that kills its interpreter)."""
    completed = run_python(__file__, case, timeout=600)
    output = (completed.stdout + completed.stderr)[-3000:]
    if completed.returncode < 0:
        raise CrashedInSubprocess(f"{case} died of signal {-completed.returncode}:\n{output}")
    assert completed.returncode == 0, (
        f"{case} failed without crashing: correct its entry in opinfo_expected_failures.py\n"
        f"{output}"
    )


@pytest.mark.parametrize(("op", "direction", "dtype", "entry"), conformance_params())
def test_device_gives_the_cpus_answer(op, direction, dtype, entry):
    if entry is not None and entry.crashes:
        run_in_subprocess(case_id(op, direction, dtype))
    elif CHECKS[direction](op, dtype) == 0:
        pytest.skip(f"none of the OpInfo's first samples has a {direction} form to compare")


def test_every_opinfo_with_a_cpu_dtype_has_cases():
    covered = {op.full_name for op, _, _ in cases()}
    missing = [
        op.full_name for op in op_db if op.supported_dtypes("cpu") and op.full_name not in covered
    ]
    assert not missing


@pytest.mark.skipif(not STRICT, reason="the table was measured on other torch releases")
def test_every_expected_failure_names_an_opinfo_case():
    all_cases = [(op.full_name, direction, dtype_name(dtype)) for op, direction, dtype in cases()]
    unused = [
        (name, entry)
        for name, entries in EXPECTED_FAILURES.items()
        for entry in entries
        if entry.applies_to(TORCH_RELEASE)
        if not any(
            case_name == name and entry.covers(direction, dtype, None, TORCH_RELEASE)
            for case_name, direction, dtype in all_cases
        )
    ]
    assert not unused, "entries that cover no case (misspelt, or the OpInfo changed)"


def test_every_expected_failure_gives_a_reason():
    assert all(entry.reason.strip() for entries in EXPECTED_FAILURES.values() for entry in entries)


# Running as a script.


def summary() -> str:
    """The counts the README reports."""
    by_reason: Counter = Counter()
    passing: Counter = Counter()
    failing_ops = set()
    passing_samples = 0
    all_cases = list(cases())
    for op, direction, dtype in all_cases:
        entry = expected_failure(op, direction, dtype)
        if entry is not None:
            by_reason[entry.reason] += 1
            failing_ops.add(op.full_name)
            continue
        passing[direction] += 1
        requires_grad = direction == "backward"
        all_samples = samples(op, "cpu", dtype, requires_grad)
        passing_samples += sum(1 for _ in itertools.islice(all_samples, sample_count()))
    ops = {op.full_name for op, _, _ in all_cases}
    per_direction = ", ".join(f"{count} {direction}" for direction, count in passing.items())
    lines = [
        f"torch {torch.__version__}, {sample_count() or 'all'} samples a case: "
        f"{len(op_db)} OpInfos, {len(ops)} with a CPU dtype, {len(all_cases)} cases",
        f"passing: {sum(passing.values())} cases ({per_direction}) of {passing_samples} samples; "
        f"{len(ops - failing_ops)} OpInfos pass every case",
        f"expected failures: {sum(by_reason.values())} cases of {len(failing_ops)} OpInfos:",
    ]
    lines += [f"  {count:4d}  {reason}" for reason, count in by_reason.most_common()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv == ["--summary"]:
        print(summary())
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    found = [case for case in cases() if case_id(*case) == argv[0]]
    if not found:
        print(f"no case {argv[0]!r}", file=sys.stderr)
        return 2
    op, direction, dtype = found[0]
    try:
        compared = CHECKS[direction](op, dtype)
    except Exception:
        traceback.print_exc()
        return 1
    print(f"{argv[0]}: {compared} samples gave the CPU's answer")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
