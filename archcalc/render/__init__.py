"""Rendering: analyses in, strings out. Nothing here computes a cost or prints."""

from .table import FORMATS, STYLES, render_report, report_json

__all__ = ["FORMATS", "STYLES", "render_report", "report_json"]
