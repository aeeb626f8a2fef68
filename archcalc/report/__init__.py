"""Pure renderers: data in, text out. Nothing here loads a spec, analyzes, measures, prints or
writes a file.

:mod:`.table` (the layer table of an analysis in every format, its columns), :mod:`.html`
(self-contained HTML: tables and pages), :mod:`.check` (``archcalc check`` records),
:mod:`.bench` (``archcalc bench`` runs and their summary). The reports tree that composes them
with the charts is built by :mod:`archcalc.site`.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_attributes

if TYPE_CHECKING:  # pragma: no cover
    from .table import FORMATS, STYLES, Column, render_report, report_json

__all__ = ["FORMATS", "STYLES", "Column", "render_report", "report_json"]

# The layer table's names import :mod:`.table` (and the analyzer) on first use, so that a renderer of
# other records (:mod:`.bench`, :mod:`.check`) does not load the spec language.
__getattr__ = lazy_attributes(__name__, globals(), {".table": __all__})
