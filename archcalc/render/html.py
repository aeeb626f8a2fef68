"""Moved to :mod:`archcalc.report.html`; re-exported until every caller has switched."""

from ..report.html import *  # noqa: F401,F403
from ..report.html import __all__  # noqa: F401
