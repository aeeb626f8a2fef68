"""Datasheet ceilings of the GPUs the roofline chart knows: peak arithmetic and memory bandwidth.

Every figure is NVIDIA's datasheet number for *dense* arithmetic (the datasheets' headline
tensor-core figures assume 2:4 structured sparsity; dense is half of that). Datasheets count
FLOP/s with one multiply-add = 2 FLOPs; archcalc counts multiply-accumulates, so a ceiling of
989.4 TFLOP/s is 494.7 TMAC/s. Bandwidths are decimal (1 TB/s = 10**12 bytes/s).

``float32`` means plain FP32 on the CUDA cores. PyTorch runs convolutions in TF32 on the tensor
cores by default (``torch.backends.cudnn.allow_tf32``), so a float32 model can exceed the
``float32`` ceiling: compare it with ``tf32`` as well.
"""

from __future__ import annotations

__all__ = ["Device", "DEVICES", "get_device"]

from dataclasses import dataclass, field

from ..errors import ArchcalcError, Location


@dataclass(frozen=True)
class Device:
    key: str
    name: str
    memory_bandwidth_bytes_per_s: float
    peak_flops_per_s: dict[str, float] = field(repr=False)  # dtype -> dense FLOP/s (1 MAC = 2 FLOPs)
    source: str = ""

    def peak_macs_per_s(self, dtype: str) -> float:
        """The compute ceiling in multiply-accumulates per second for ``dtype``."""
        try:
            return self.peak_flops_per_s[dtype] / 2
        except KeyError:
            raise ArchcalcError(f"no {dtype} ceiling for {self.name} (known: {', '.join(self.peak_flops_per_s)})",
                                Location(file="--dtype")) from None

    def ridge_macs_per_byte(self, dtype: str) -> float:
        """Arithmetic intensity where the memory roof meets the compute roof."""
        return self.peak_macs_per_s(dtype) / self.memory_bandwidth_bytes_per_s


T = 1e12

DEVICES: dict[str, Device] = {
    "h100": Device(
        key="h100", name="NVIDIA H100 SXM5 80GB", memory_bandwidth_bytes_per_s=3.35 * T,
        peak_flops_per_s={"float64": 67 * T, "float32": 67 * T, "tf32": 494.7 * T, "bfloat16": 989.4 * T,
                          "float16": 989.4 * T, "float8": 1978.9 * T, "int8": 1978.9 * T},
        source="NVIDIA H100 Tensor Core GPU datasheet, SXM column: FP64 Tensor 67 TF, FP32 67 TF, TF32 989 TF*, "
               "BF16/FP16 1,979 TF*, FP8/INT8 3,958* (*with sparsity; dense = half), HBM3 3.35 TB/s"),
    "h200": Device(
        key="h200", name="NVIDIA H200 SXM 141GB", memory_bandwidth_bytes_per_s=4.8 * T,
        peak_flops_per_s={"float64": 67 * T, "float32": 67 * T, "tf32": 494.7 * T, "bfloat16": 989.4 * T,
                          "float16": 989.4 * T, "float8": 1978.9 * T, "int8": 1978.9 * T},
        source="NVIDIA H200 Tensor Core GPU datasheet, SXM column: same compute as H100 SXM "
               "(TF32 989 TF*, BF16/FP16 1,979 TF*, FP8/INT8 3,958*; *with sparsity), HBM3e 4.8 TB/s"),
    "a100": Device(
        key="a100", name="NVIDIA A100 SXM4 80GB", memory_bandwidth_bytes_per_s=2.039 * T,
        peak_flops_per_s={"float64": 19.5 * T, "float32": 19.5 * T, "tf32": 156 * T, "bfloat16": 312 * T,
                          "float16": 312 * T, "int8": 624 * T},
        source="NVIDIA A100 Tensor Core GPU datasheet, 80GB SXM column: FP64 Tensor 19.5 TF, FP32 19.5 TF, "
               "TF32 156 TF, BF16/FP16 312 TF, INT8 624 TOPS (dense), HBM2e 2,039 GB/s"),
}


def get_device(key: str) -> Device:
    try:
        return DEVICES[key.lower()]
    except KeyError:
        raise ArchcalcError(f"unknown device {key!r}; choose one of {', '.join(DEVICES)}",
                            Location(file="--device")) from None

