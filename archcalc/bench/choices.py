"""The choices of ``archcalc bench``: devices, precisions, compile modes, statuses and output formats.

Plain literals, no pydantic: the command line's parser (and ``archcalc --help``) reads them without
importing the result records of :mod:`.records`, which use them as field types.
"""

from __future__ import annotations

__all__ = ["Device", "Precision", "CompileMode", "Status", "DEVICES", "PRECISIONS", "COMPILE_MODES", "STATUSES",
           "BENCH_FORMATS"]

from typing import Literal, get_args

Device = Literal["cuda", "cpu"]
Precision = Literal["float32", "tf32", "bfloat16", "float16"]
"""The precisions a bench runs: element types of :data:`archcalc.analysis.DTYPE_BYTES` that torch computes in."""
CompileMode = Literal["none", "default", "max-autotune"]
Status = Literal["ok", "oom", "skipped", "error"]

DEVICES: tuple[str, ...] = get_args(Device)
PRECISIONS: tuple[str, ...] = get_args(Precision)
COMPILE_MODES: tuple[str, ...] = get_args(CompileMode)
STATUSES: tuple[str, ...] = get_args(Status)

BENCH_FORMATS = ("table", "markdown", "csv", "json")
"""Output formats of ``archcalc bench`` (rendered by :mod:`archcalc.report.bench`)."""
