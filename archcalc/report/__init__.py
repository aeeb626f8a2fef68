"""Pure renderers: data in, text out. Nothing here loads a spec, analyzes, measures, prints or
writes a file.

:mod:`.table` (the layer table of an analysis in every format, its columns), :mod:`.html`
(self-contained HTML: tables and pages), :mod:`.check` (``archcalc check`` records),
:mod:`.bench` (``archcalc bench`` runs and their summary). The reports tree that composes them
with the charts is built by :mod:`archcalc.site`.
"""

from .table import FORMATS, STYLES, Column, render_report, report_json

__all__ = ["FORMATS", "STYLES", "Column", "render_report", "report_json"]
