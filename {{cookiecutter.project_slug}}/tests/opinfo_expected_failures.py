"""The OpInfo cases that do not yet give the CPU's answer on the device, and why.

One table, read by test_opinfo_conformance.py: OpInfo full name (its name,
plus ``.variant`` for a variant) -> entries. A case is one direction
("forward", "inplace", "out", "backward") in one dtype; an entry without
``directions`` or ``dtypes`` covers them all. An entry with ``from_sample``
fails only at that sample index or later, so only runs that take that many
samples (``..._OPINFO_SAMPLES``) expect it. Entries with ``crashes=True``
kill the interpreter: their cases run in a subprocess each.

The listed cases are strict expected failures on the torch releases the
table was measured on (MEASURED_ON): a fix shows as XPASS and fails the run
until its entry goes. On other releases they are expected failures that may
pass.
"""

from __future__ import annotations

from typing import NamedTuple

MEASURED_ON = ((2, 13), (2, 14))


class Expected(NamedTuple):
    reason: str
    directions: tuple[str, ...] | None = None  # None: every direction
    dtypes: tuple[str, ...] | None = None  # None: every dtype ("float32", "int64", ...)
    from_sample: int = 0  # the first sample that fails
    crashes: bool = False  # the case kills its interpreter
    releases: tuple[tuple[int, int], ...] | None = None  # None: every torch release

    def covers(
        self, direction: str, dtype: str, samples: int | None, release: tuple[int, int]
    ) -> bool:
        """Whether a case runs into this failure (``samples`` None: every sample)."""
        return (
            (self.directions is None or direction in self.directions)
            and (self.dtypes is None or dtype in self.dtypes)
            and (samples is None or samples > self.from_sample)
            and self.applies_to(release)
        )

    def applies_to(self, release: tuple[int, int]) -> bool:
        """Whether this failure is expected on torch ``release`` at all."""
        return self.releases is None or release in self.releases


# The reasons, one per root cause.
SPARSE = (
    "sparse layouts: the device has no sparse tensors; to_sparse and sparse operators raise "
    "NotImplementedError ('Cannot access storage of SparseTensorImpl')"
)
COMPOSITE_NOT_CPU_KERNEL = (
    "the device runs torch's CompositeExplicitAutograd decomposition of native_layer_norm, "
    "native_group_norm and addr, not the CPU kernel, which rounds differently"
)
TORCH_REFUSES_DEVICE = (
    "torch refuses the device itself: mode's out= form (CompositeExplicitAutograd) accepts "
    "only CPU, CUDA and XPU tensors, as it would on real MTIA hardware"
)
TORCH_DEVICE_POLICY = (
    "torch picks linear_cross_entropy's chunking and accumulation per device type "
    "(nn/modules/linear_cross_entropy_options.py has CPU defaults, none for MTIA): bfloat16 "
    "results round differently"
)
ISTFT_WINDOW_GRADIENT = (
    "istft with a window shorter than n_fft: the device gives the window a gradient where "
    "the CPU gives None"
)

OPINFO_INDICES_ON_THE_DEVICE = (
    "this release's OpInfo makes tensor_split's indices on the device, which tensor_split "
    "refuses there as it does on CUDA (later releases make them on the CPU)"
)
OPINFO_ASKS_CUDA = (
    "this release's OpInfo for _scaled_mm_v2 asks the CUDA driver for its float8 samples, "
    "which a CUDA build of torch without a GPU refuses"
)

EXPECTED_FAILURES: dict[str, tuple[Expected, ...]] = {
    "tensor_split": (Expected(OPINFO_INDICES_ON_THE_DEVICE, releases=((2, 9), (2, 10))),),
    "torch._scaled_mm_v2": (
        Expected(OPINFO_ASKS_CUDA, dtypes=("float8_e4m3fn",), releases=((2, 10),)),
    ),
    "to_sparse": (Expected(SPARSE),),
    "sparse.sampled_addmm": (Expected(SPARSE),),
    "sparse.mm.reduce": (Expected(SPARSE),),
    "mode": (Expected(TORCH_REFUSES_DEVICE, directions=("out",)),),
    "native_layer_norm": (
        Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("bfloat16",)),
        Expected(COMPOSITE_NOT_CPU_KERNEL, ("backward",), ("float32",), from_sample=8),
        Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("float32",), from_sample=9),
    ),
    "nn.functional.layer_norm": (
        Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("bfloat16",)),
        Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("float32",), from_sample=2),
    ),
    "native_group_norm": (Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("bfloat16",)),),
    "nn.functional.group_norm": (Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("bfloat16",)),),
    "addr": (Expected(COMPOSITE_NOT_CPU_KERNEL, ("forward",), ("bfloat16",), from_sample=2),),
    "nn.functional.linear_cross_entropy.chunked": (
        Expected(TORCH_DEVICE_POLICY, ("forward",), ("bfloat16",), from_sample=28),
    ),
    "nn.functional.linear_cross_entropy.chunked_none": (
        Expected(TORCH_DEVICE_POLICY, ("forward",), ("bfloat16",), from_sample=4),
    ),
    "istft": (Expected(ISTFT_WINDOW_GRADIENT, ("backward",), ("complex64",), from_sample=8),),
}
