"""What machine and software a benchmark ran on (imports torch when called)."""

from __future__ import annotations

__all__ = ["resolve_device", "environment", "device_slug", "cpu_model_name", "CPU_NOTICE"]

import os
import platform
import re
import subprocess
from pathlib import Path

from .records import Environment

CPU_NOTICE = "CPU run: no CUDA device was used, so these are CPU figures, not GPU figures"


def resolve_device(requested: str | None) -> tuple[str, str | None]:
    """``(device, notice)``: ``cuda`` when asked for (or by default) and available, else ``cpu``.

    Without CUDA the run falls back to the CPU and ``notice`` says so; every output repeats it.
    """
    import torch

    if requested not in (None, "cuda", "cpu"):
        raise ValueError(f"unknown device {requested!r}; choose cuda or cpu")
    if requested == "cpu":
        return "cpu", CPU_NOTICE
    if torch.cuda.is_available():
        return "cuda", None
    why = "CUDA is not available (torch.cuda.is_available() is False)"
    if requested == "cuda":
        return "cpu", f"{why}; --device cuda fell back to the CPU. {CPU_NOTICE}"
    return "cpu", f"{why}. {CPU_NOTICE}"


def device_slug(name: str) -> str:
    """``'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'`` (a directory name)."""
    slug = re.sub(r"\(r\)|\(tm\)|\bcpu\b|@.*$", " ", name.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")
    return slug or "unknown-device"


def cpu_model_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _driver_version(index: int) -> str | None:
    text = _run(["nvidia-smi", f"--id={index}", "--query-gpu=driver_version", "--format=csv,noheader"])
    if text:
        return text.splitlines()[0].strip()
    try:  # the CUDA driver API version (e.g. 12040), when nvidia-smi is missing
        import torch

        v = torch._C._cuda_getDriverVersion()  # noqa: SLF001 - no public accessor
        return f"CUDA driver API {v // 1000}.{(v % 1000) // 10}"
    except Exception:  # pragma: no cover - depends on the build
        return None


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    return _run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"])


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):  # pragma: no cover - not on every platform
        return None


def environment(*, device: str, notice: str | None) -> Environment:
    """Versions and hardware of this process's ``device``."""
    import torch

    from .._version import __version__

    cpu = cpu_model_name()
    common = dict(
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
        cudnn_version=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        cpu_model=cpu, cpu_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
        load_average=_load_average(), python_version=platform.python_version(), platform=platform.platform(),
        archcalc_version=__version__, git_commit=_git_commit(),
    )
    if device == "cuda":
        index = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return Environment(
            device="cuda", device_name=props.name, device_slug=device_slug(props.name), on_cpu=False,
            notice=notice, driver_version=_driver_version(index),
            compute_capability=f"{props.major}.{props.minor}", device_memory_bytes=int(props.total_memory),
            multiprocessor_count=int(props.multi_processor_count), **common,
        )
    return Environment(device="cpu", device_name=cpu, device_slug="cpu-" + device_slug(cpu), on_cpu=True,
                       notice=notice, **common)
