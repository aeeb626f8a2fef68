"""archcalc: static architecture analysis and cost calculation for convolutional networks.

>>> import archcalc
>>> spec = archcalc.load_spec("specs/alexnet.yaml")
>>> result = archcalc.analyze(spec, batch_size=1, dtype="float32")
>>> result.totals.macs

The static path (load, analyze, render tables) never imports torch or matplotlib;
:func:`build_model` imports torch when called.

:func:`load_spec` and :func:`parse_spec` raise only :class:`SpecError` /
:class:`AnalysisError` (both :class:`ArchcalcError`), whose ``location`` names the file and,
where the problem is in the text, the line and field path. ``extends:`` in text given to
:func:`parse_spec` resolves against the current directory; pass ``extends_root=`` to confine it.
"""

from __future__ import annotations

from typing import Any

from .analysis import Analysis, analyze
from .conventions import Convention
from .errors import AnalysisError, ArchcalcError, SpecError
from .spec import Spec, load_spec, parse_spec

__all__ = ["load_spec", "parse_spec", "analyze", "build_model", "Spec", "Analysis", "Convention",
           "ArchcalcError", "SpecError", "AnalysisError", "__version__"]

__version__ = "0.1.0"


def build_model(spec: Spec, **kwargs: Any) -> Any:
    """The ``torch.nn.Module`` a spec describes (needs the ``torch`` extra)."""
    from .torch.build import build_model as _build  # lazy: torch is optional

    return _build(spec, **kwargs)
