"""Moved to :mod:`archcalc.report` (renderers) and :mod:`archcalc.site` (the reports tree); this
package re-exports the old names until every caller has switched."""

from ..report.table import FORMATS, STYLES, render_report, report_json

__all__ = ["FORMATS", "STYLES", "render_report", "report_json"]
