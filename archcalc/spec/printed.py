"""The reference figures as they are written in the spec file: the digits and the line of each.

A printed figure's digits carry meaning the number does not: ``0.60`` promises two decimals, so
``archcalc check`` derives its tolerance from the text, and reports point at the line of each
figure. The loader reads them here, from the YAML it has already parsed, so nothing downstream
reads YAML again.
"""

from __future__ import annotations

__all__ = ["PrintedFigures", "printed_figures"]

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import Location
from ..yamlio import Node, Seq

Path = tuple[Any, ...]
"""A place under ``references:``: ``(i,)``, ``(i, section)``, ``(i, section, key)`` or
``(i, "rows", row, quantity)``, where ``i`` indexes the reference sets and ``section`` is
``units``, ``tolerance``, ``rows``, ``totals``, ``errata``..."""


@dataclass(frozen=True, slots=True)
class PrintedFigures:
    """Where each key under ``references:`` was written and, for numbers, their text as written.

    ``texts`` holds the numbers (figures, tolerances) exactly as printed (``"0.60"``, ``"1.2e+3"``);
    ``lines`` the line of every key, ``()`` being the ``references:`` list itself. A spec's figures
    are its own (``references`` is not inherited through ``extends``), so ``file`` holds all of them.
    """

    file: str | None = None
    texts: Mapping[Path, str] = field(default_factory=lambda: MappingProxyType({}))
    lines: Mapping[Path, int] = field(default_factory=lambda: MappingProxyType({}))

    def text(self, *path: Any) -> str | None:
        """The number at ``path`` as written, or None (not a number, or not written in a file)."""
        return self.texts.get(path)

    def line(self, *path: Any) -> int | None:
        """The line of ``path``, else of the nearest enclosing key that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def loc(self, *path: Any) -> Location:
        """A location for errors about ``path``: file, line and ``references[i].section.key``."""
        field_path = f"references[{path[0]}]" + "".join(f".{p}" for p in path[1:]) if path else "references"
        return Location(self.file, self.line(*path), field_path)


def printed_figures(references: Any) -> PrintedFigures:
    """Collect the lines and number texts under the loaded ``references:`` list (a :class:`Seq`)."""
    texts: dict[Path, str] = {}
    lines: dict[Path, int] = {}
    if not isinstance(references, Seq):
        return PrintedFigures()
    if references.line is not None:
        lines[()] = references.line
    for i, ref in enumerate(references):
        if i < len(references.item_lines):
            lines[(i,)] = references.item_lines[i]
        if not isinstance(ref, Node):
            continue
        for section, node in ref.items():
            _mark(lines, (i, section), ref.key_lines.get(section))
            if not isinstance(node, Node):
                continue
            for key, value in node.items():
                _mark(lines, (i, section, key), node.key_lines.get(key))
                if key in node.key_texts:
                    texts[(i, section, key)] = node.key_texts[key]
                if isinstance(value, Node):  # rows.<row>.<quantity>
                    for quantity in value:
                        _mark(lines, (i, section, key, quantity), value.key_lines.get(quantity))
                        if quantity in value.key_texts:
                            texts[(i, section, key, quantity)] = value.key_texts[quantity]
    return PrintedFigures(references.file, MappingProxyType(texts), MappingProxyType(lines))


def _mark(lines: dict[Path, int], path: Path, line: int | None) -> None:
    if line is not None:
        lines[path] = line
