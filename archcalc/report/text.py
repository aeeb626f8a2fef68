"""Plain-text and Markdown tables: the two layouts ``archcalc report`` prints most, without tabulate.

They write what ``tabulate(rows, headers, tablefmt="simple" | "pipe", colalign=...,
disable_numparse=True)`` writes, byte for byte (the test-suite compares the two over the zoo), for
one-line cells aligned left or right: a column is as wide as its widest cell and at least two wider
than its header; cells are stripped, ``None`` is empty; a "simple" table's lines are stripped on the
right, and a ``None`` row in its body is a rule (tabulate's ``SEPARATING_LINE``).

tabulate measures every cell for number formats it then does not use (``disable_numparse``); for a
ResNet-50 report that was more than half of the time the whole command took after its imports.
"""

from __future__ import annotations

__all__ = ["simple_table", "pipe_table"]

from typing import Any, Sequence

GAP = "  "  # between the columns of a "simple" table
MIN_PADDING = 2  # a column is at least this much wider than its header


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str] | None]) -> list[int]:
    widths = [len(h) + MIN_PADDING for h in headers]
    for row in rows:
        if row is not None:
            for i, cell in enumerate(row):
                if len(cell) > widths[i]:
                    widths[i] = len(cell)
    return widths


def _pad(cell: str, width: int, align: str) -> str:
    if align == "right":
        return cell.rjust(width)
    if align == "left":
        return cell.ljust(width)
    raise ValueError(f"column alignment must be 'left' or 'right', got {align!r}")


def _cells(headers: Sequence[Any], rows: Sequence[Sequence[Any] | None],
           colalign: Sequence[str]) -> tuple[list[str], list[list[str] | None]]:
    heads = [_text(h) for h in headers]
    if len(colalign) != len(heads):
        raise ValueError(f"{len(colalign)} alignments for {len(heads)} columns")
    body: list[list[str] | None] = []
    for row in rows:
        if row is None:
            body.append(None)
            continue
        if len(row) != len(heads):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(heads)} columns")
        cells = [_text(v) for v in row]
        if any("\n" in c for c in cells):
            raise ValueError("cells are single lines")
        body.append(cells)
    return heads, body


def simple_table(headers: Sequence[Any], rows: Sequence[Sequence[Any] | None], colalign: Sequence[str]) -> str:
    """Columns separated by two spaces, a rule of dashes under the header; a ``None`` row is a rule."""
    heads, body = _cells(headers, rows, colalign)
    widths = _widths(heads, body)
    rule = GAP.join("-" * w for w in widths)
    lines = [GAP.join(_pad(h, w, a) for h, w, a in zip(heads, widths, colalign)).rstrip(), rule]
    for row in body:
        lines.append(rule if row is None else GAP.join(_pad(c, w, a) for c, w, a in zip(row, widths, colalign)).rstrip())
    return "\n".join(lines)


def pipe_table(headers: Sequence[Any], rows: Sequence[Sequence[Any]], colalign: Sequence[str]) -> str:
    """A Markdown (GitHub "pipe") table: ``| a | b |``, alignment colons in the rule under the header."""
    heads, body = _cells(headers, rows, colalign)
    if any(row is None for row in body):
        raise ValueError("a Markdown table has no rules between its rows")
    widths = _widths(heads, body)
    marks = [":" + "-" * (w + 1) if a == "left" else "-" * (w + 1) + ":" for w, a in zip(widths, colalign)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_pad(c, w, a) for c, w, a in zip(cells, widths, colalign)) + " |"

    return "\n".join([line(heads), "|" + "|".join(marks) + "|", *(line(row) for row in body if row is not None)])
