"""Moved to :mod:`archcalc.report.table`; re-exported until every caller has switched."""

from ..report.table import *  # noqa: F401,F403
from ..report.table import __all__  # noqa: F401
