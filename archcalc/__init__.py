"""archcalc: static architecture analysis and cost calculation for convolutional networks.

>>> import archcalc
>>> spec = archcalc.load_spec("specs/alexnet.yaml")
>>> result = archcalc.analyze(spec, batch_size=1, dtype="float32")
>>> result.totals.macs

The static path (load, analyze, render tables) never imports torch or matplotlib;
:func:`build_model` imports torch when called.

:func:`check_spec` compares the figures a spec's ``references:`` print with the computed ones;
:func:`crosscheck` (imported on first use: it needs torch) compares the analysis with the
``torch.nn.Module`` the spec builds.

:func:`load_spec` and :func:`parse_spec` raise only :class:`SpecError` /
:class:`AnalysisError` (both :class:`ArchcalcError`), whose ``location`` names the file and,
where the problem is in the text, the line and field path. ``extends:`` in text given to
:func:`parse_spec` resolves against the current directory; pass ``extends_root=`` to confine it.
An argument a function does not take (``batch_size=0``, an unknown format) is a
:class:`UsageError`, an :class:`ArchcalcError` that is also a ``ValueError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ._version import __version__
from .errors import AnalysisError, ArchcalcError, SpecError, UsageError
from .lazy import lazy_attributes

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import Analysis, analyze
    from .check import check_spec
    from .conventions import Convention
    from .options import ReportFormat, ReportStyle
    from .spec import Spec, load_spec, parse_spec
    from .torch.modules import SpecModel

# Imported on first use, so that ``import archcalc.cli`` (every command) does not build the spec
# language's models before it knows it needs them. ``crosscheck`` is kept out of the namespace (a
# submodule import could shadow it) and imported on each read.
__getattr__ = lazy_attributes(__name__, globals(), {
    ".analysis": ("analyze", "Analysis"), ".check": ("check_spec",), ".conventions": ("Convention",),
    ".options": ("ReportFormat", "ReportStyle"), ".spec": ("Spec", "load_spec", "parse_spec"),
    ".torch.crosscheck": ("crosscheck",),
}, uncached=("crosscheck",))

__all__ = ["load_spec", "parse_spec", "analyze", "check_spec", "crosscheck", "build_model", "import_model", "Spec",
           "Analysis", "Convention", "ReportFormat", "ReportStyle", "ArchcalcError", "SpecError", "AnalysisError",
           "UsageError", "__version__"]



def build_model(spec: Spec, *, analysis: Analysis | None = None, device: Any = None) -> "SpecModel":
    """The ``torch.nn.Module`` a spec describes, one module per analyzer row (needs the ``torch`` extra).

    ``analysis`` reuses an existing :func:`analyze` result; ``device="meta"`` builds without
    allocating weights. See :func:`archcalc.torch.build.build_model`.
    """
    from .torch.build import build_model as _build  # lazy: torch is optional

    return _build(spec, analysis=analysis, device=device)


def import_model(module: Any, *, input_shape: Sequence[int], name: str | None = None) -> str:
    """The YAML text of a spec describing the ``torch.nn.Module`` ``module`` (needs the ``torch`` extra).

    Traced with torch.fx (torch.export where fx fails), folded into blocks, and verified against the
    module before it is returned: parameters, output shape, every module's MACs against fvcore. An
    operation the spec language cannot express, or any disagreement, raises an :class:`ArchcalcError`.
    ``archcalc.importer.write_spec(text, path)`` writes it safely. See :mod:`archcalc.importer`.
    """
    from .importer import import_model as _import  # lazy: torch is optional

    return _import(module, input_shape=input_shape, name=name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | __getattr__.names)
