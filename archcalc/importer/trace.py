"""Trace a model into a :class:`~archcalc.importer.graph.Graph`: torch.fx first, torch.export where fx fails.

**torch.fx** (:mod:`.trace_fx`) symbolic tracing runs the model's Python forward once on proxies and
records every call, with the shapes from one run of the traced graph on the meta device.
**torch.export** (:mod:`.trace_export`, where fx fails: control flow on sizes, ``len(x)``...) traces
at the level of ATen operators with the shapes fixed by the example input, folded back into calls
of leaf modules, so both tracers give the same graph for the same model.

The model is traced in eval mode (inference: dropout and stochastic depth are identities, batch
norm uses its statistics); every module's training flag is restored afterwards. When neither tracer
can trace it, the error names both reasons and the line of the model's code each one stopped at.
"""

from __future__ import annotations

__all__ = ["trace"]

from contextlib import contextmanager
from typing import Any, Iterator

from ..errors import ArchcalcError
from .callsite import not_model_code, show_path, source
from .errors import ImportModelError
from .graph import Graph
from .live import eval_mode
from .trace_export import trace_export
from .trace_fx import trace_fx


def trace(model: Any, input_shape: tuple[int, ...], *, method: str = "auto") -> Graph:
    """The model's forward pass on one input of per-sample shape ``input_shape``, as a :class:`Graph`.

    ``method``: ``auto`` (torch.fx, then torch.export where fx fails), ``fx`` or ``export``.
    Raises :class:`ImportModelError` when neither can trace it, naming both reasons.
    """
    with eval_mode(model):
        failures = []
        if method in ("auto", "fx"):
            try:
                return trace_fx(model, input_shape)
            except ArchcalcError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the tracer is reported, then export is tried
                failures.append(f"torch.fx: {_first_line(exc)}{_raised_at(exc)}")
        if method in ("auto", "export"):
            try:
                with _quiet():
                    graph = trace_export(model, input_shape)
                if failures:
                    graph.notes.append(f"torch.fx could not trace it ({failures[0][len('torch.fx: '):]})")
                return graph
            except ArchcalcError:
                raise
            except Exception as exc:  # noqa: BLE001
                failures.append(f"torch.export: {_first_line(exc)}{_export_where(exc)}")
    raise ImportModelError(f"cannot trace the model: {'; '.join(failures)}",
                           hint="the forward must not branch on tensor values; sizes are fine for torch.export")


@contextmanager
def _quiet() -> Iterator[None]:
    """torch.export logs (and prints) graphs and guards while it fails; the error says what matters."""
    import logging
    import warnings

    import io
    from contextlib import redirect_stderr

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _raised_at(exc: BaseException) -> str:
    """' (at file.py:12: code)': the last line of the model's own code the exception passed through."""
    skip = not_model_code()
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith(skip):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    src, text = source(found)
    return f" (at {src}: {text})" if src else ""


def _export_where(exc: BaseException) -> str:
    """' at file.py:12: code' for the model line an export error names, if it names one."""
    import re

    text = str(exc)
    found = list(re.finditer(r'File "([^"]+)", line (\d+), in \w+\n\s*(.+)', text))
    if not found:
        return ""
    m = found[-1]
    return f" (at {show_path(m.group(1))}:{m.group(2)}: {m.group(3).strip()})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__
