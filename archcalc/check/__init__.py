"""Compare the figures a spec's ``references:`` record with what the analyzer computes.

Every recorded figure (a row's or the totals' ``output_shape``, ``activation_bytes``, ``params``,
``macs``, ``ops``, ``seed_flops`` or ``flops``) becomes one :class:`FigureCheck` record:

``ok``
    ``|printed - computed| <= tolerance``, both in the printed unit;
``erratum``
    outside the tolerance, and ``errata:`` explains why (key ``<row>.<quantity>`` or
    ``totals.<quantity>``) -- the *source* is wrong and the record says how;
``convention``
    outside the tolerance, but right under another counting convention that the ``errata:``
    entry names (``{status: convention, convention: ..., value: ...}``): archcalc recomputes the
    figure under it (the spec with other ``params``, some layer kinds left out, batch-norm running
    statistics added, truncated instead of rounded), requires the result to equal the entry's
    ``value`` and to give the printed figure -- the source is not wrong, it counts differently;
``mismatch``
    outside the tolerance and unexplained -- the spec or the reference is wrong;
``stale``
    an erratum (or convention) is recorded for a figure that actually matches, or an erratum key
    names no recorded figure: the errata no longer describe the figures;
``note``
    an erratum about a field that is not a figure (``conv1.padding``): listed, not compared.

The default tolerance is half a unit of the last digit *as written in the YAML* (``105`` ->
0.5, ``0.60`` -> 0.005, ``4.09`` -> 0.005, ``1.2e3`` -> 50): the figure was rounded once, by
its source, and a correct number rounds to it. An explicit ``tolerance:`` per quantity
(in printed units) replaces it. Comparisons are exact (decimal and rational arithmetic).

Everything here returns data; rendering lives in :mod:`archcalc.report.check`. Modules:
:mod:`.run` (:func:`check_spec`), :mod:`.records` (records, statuses, summary), :mod:`.figures`
(printed figures, tolerances, units; the digits and lines come from the loader, ``spec.printed_figures``),
:mod:`.rows` (the computed side), :mod:`.recount` (recounts under another convention).
"""

from .recount import convention_count
from .figures import MAX_EXPONENT, derive_tolerance, matches_printed, parse_printed, to_unit
from .records import EXPLAINED, FAILING, FigureCheck, Status, Summary, figure_status, summarize
from .run import check_spec

__all__ = ["Status", "FigureCheck", "Summary", "FAILING", "EXPLAINED", "check_spec", "derive_tolerance",
           "parse_printed", "to_unit", "figure_status", "summarize", "convention_count", "matches_printed",
           "MAX_EXPONENT"]
