"""Text widths without a renderer: DejaVu Sans advance widths, so boxes are sized before drawing.

The diagram names DejaVu Sans (bundled with matplotlib, which draws the PNG and PDF) and falls
back to narrower faces only (see :data:`FONT_FAMILY`), so a width measured here is an upper bound
wherever the SVG is shown. Widths are per 1000 units of the em, read from the font files'
``hmtx`` tables (``tests/test_diagram.py`` compares them with matplotlib's own measurement);
kerning only ever narrows these pairs, and a character outside the table counts as the widest.
"""

from __future__ import annotations

__all__ = ["text_width", "FONT_FAMILY"]

FONT_FAMILY = "'DejaVu Sans', 'Bitstream Vera Sans', Arial, Helvetica, sans-serif"
"""The SVG font stack: DejaVu Sans (whose metrics are below), then only narrower faces."""

_CHARS = "".join(chr(c) for c in range(32, 127)) + "\u00b7\u00d7\u2212\u2026\u25b8\u25be\u2295\u2296"

_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838, 318,
    838, 838, 1000, 502, 502, 838, 838,
)
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365,
    696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580,
    1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850,
    733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 500,
    500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838, 380,
    838, 838, 1000, 502, 502, 838, 838,
)
_WIDTHS = {False: dict(zip(_CHARS, _REGULAR)), True: dict(zip(_CHARS, _BOLD))}
_WIDEST = {False: max(_REGULAR), True: max(_BOLD)}


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The advance width of ``text`` set in DejaVu Sans at ``size`` (the same unit as ``size``)."""
    table, widest = _WIDTHS[bold], _WIDEST[bold]
    return sum(table.get(ch, widest) for ch in text) * size / 1000
