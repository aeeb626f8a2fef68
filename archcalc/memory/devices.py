"""How much memory a device has: a size (``80GiB``, ``24GB``, ``40960MiB``) or a GPU's name (``h100``).

Named GPUs carry their datasheet capacity, counted in GiB because HBM and GDDR are sized in powers of
two (an "80GB" H100 has five 16 GiB stacks). What CUDA lets a program allocate is a little less (the
driver's and ECC's reservations, then the CUDA context, which :func:`torch.cuda.max_memory_allocated`
never counts); the prediction keeps ``context_bytes`` free for it (:data:`CONTEXT_ALLOWANCE_BYTES`, an
allowance the GPU check measures, not a datasheet figure). Sizes: ``B``, ``KB``/``MB``/``GB``/``TB``
(powers of 1000) and ``KiB``/``MiB``/``GiB``/``TiB`` (powers of 1024), case-insensitive.
"""

from __future__ import annotations

__all__ = ["DeviceMemory", "GPUS", "device_memory", "parse_size", "CONTEXT_ALLOWANCE_BYTES"]

import re
from dataclasses import dataclass

from ..errors import UsageError

GIB = 1024 ** 3

CONTEXT_ALLOWANCE_BYTES = 512 * 1024 ** 2
"""Room left for the CUDA context and the caching allocator's slack (512 MiB): an allowance, to be replaced
by what ``benchmarks/gpu_check.py`` measures (the device's total memory minus what is free after
``torch.cuda.init()``)."""


@dataclass(frozen=True)
class DeviceMemory:
    """A device's memory: ``total_bytes`` and what the name stood for."""

    name: str
    total_bytes: int
    source: str = ""

    @property
    def total_gib(self) -> float:
        return self.total_bytes / GIB


GPUS: dict[str, DeviceMemory] = {
    key: DeviceMemory(name, gib * GIB, source)
    for key, name, gib, source in (
        ("h100", "NVIDIA H100 SXM5/PCIe 80GB", 80, "NVIDIA H100 datasheet: 80GB HBM3 (SXM) / HBM2e (PCIe)"),
        ("h100-80gb", "NVIDIA H100 80GB", 80, "NVIDIA H100 datasheet: 80GB"),
        ("h200", "NVIDIA H200 141GB", 141, "NVIDIA H200 datasheet: 141GB HBM3e"),
        ("a100-40gb", "NVIDIA A100 40GB", 40, "NVIDIA A100 datasheet: 40GB HBM2"),
        ("a100-80gb", "NVIDIA A100 80GB", 80, "NVIDIA A100 datasheet: 80GB HBM2e"),
        ("l4", "NVIDIA L4", 24, "NVIDIA L4 datasheet: 24GB GDDR6"),
        ("t4", "NVIDIA T4", 16, "NVIDIA T4 datasheet: 16GB GDDR6"),
        ("rtx4090", "NVIDIA GeForce RTX 4090", 24, "NVIDIA GeForce RTX 4090 specifications: 24GB GDDR6X"),
    )
}
"""Named GPUs and their datasheet memory (GiB)."""

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """``"80GiB"`` -> 85899345920; ``"24GB"`` -> 24000000000; None when ``text`` is not a size."""
    match = _SIZE.match(text)
    if match is None or match.group(2).lower() not in _UNITS:
        return None
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    return int(value)


def device_memory(text: str) -> DeviceMemory:
    """A size or a GPU name (see :data:`GPUS`) as a :class:`DeviceMemory`; a :class:`UsageError` otherwise."""
    key = text.strip().lower()
    if key in GPUS:
        return GPUS[key]
    size = parse_size(text)
    if size is None or size <= 0:
        raise UsageError(f"--device-memory: {text!r} is neither a size (80GiB, 24GB, 40960MiB) nor a GPU "
                         f"({', '.join(GPUS)})")
    return DeviceMemory(text.strip(), size, "given size")
