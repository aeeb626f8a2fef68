"""``--where``: which points a sweep keeps, in the spec language's whitelisted expressions.

``"macs < 400e6 and params < 5e6"`` is evaluated by :func:`archcalc.expr.evaluate` -- parsed, never
passed to ``eval`` -- with the row's columns bound as variables. Columns may be written bare
(``macs``) or as in specs (``$macs``); a list parameter swept by element is bound whole, so
``depths[2] >= 4`` reads the point's ``depths`` list. Anything outside the language (attribute
access, other calls, unknown names) is a :class:`UsageError` before the sweep starts.
"""

from __future__ import annotations

__all__ = ["Where", "compile_where", "KEYWORDS"]

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import Location, UsageError
from ..expr import FUNCTIONS, ExprError, evaluate

KEYWORDS = frozenset({"and", "or", "not", "if", "else", "true", "false", "True", "False"})
_QUOTED = re.compile(r"""('[^']*'|"[^"]*")""")
_BARE = re.compile(r"(?<![\w$.])([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Where:
    """A compiled condition: ``text`` as the user wrote it, ``source`` with every column as ``$name``."""

    text: str
    source: str

    def keeps(self, env: Mapping[str, Any]) -> bool:
        """Whether the row bound in ``env`` passes; :class:`ExprError` when it cannot be evaluated."""
        value = evaluate(self.source, env)
        if not isinstance(value, bool):
            raise ExprError(f"must be a condition (true or false), got {value!r}")
        return value


def _rewrite(text: str, names: frozenset[str]) -> tuple[str, list[str]]:
    """``text`` with bare column names as ``$name``, and the bare names that are not columns."""
    unknown: list[str] = []

    def bare(match: re.Match[str]) -> str:
        word = match.group(1)
        if word in names:
            return "$" + word
        if word not in KEYWORDS and word not in FUNCTIONS:
            unknown.append(word)
        return word

    parts = _QUOTED.split(text)
    out = [part if i % 2 else _BARE.sub(bare, part) for i, part in enumerate(parts)]
    return "".join(out), unknown


def compile_where(text: str, *, columns: Mapping[str, Any]) -> Where:
    """Check ``text`` against ``columns`` (name -> an example value of the column's type) and
    compile it. Unknown names, code outside the expression language, and a result that is not a
    condition are each a :class:`UsageError` naming ``--where``."""
    where = Location(file="--where")
    names = frozenset(columns)
    source, unknown = _rewrite(text, names)
    if unknown:  # code outside the language is named as such first ("a comprehension", not "unknown name 'c'")
        trial, _ = _rewrite(text, names | frozenset(unknown))
        try:
            Where(text=text, source=trial).keeps({**columns, **{name: 1 for name in unknown}})
        except ExprError as exc:
            if "must be a condition" not in str(exc):
                raise UsageError(str(exc).replace(repr(trial), repr(text)), where) from None
        shown = ", ".join(sorted(names))
        raise UsageError(f"unknown name {unknown[0]!r} in {text!r}", where,
                         hint=f"the columns are {shown}; functions: {', '.join(sorted(FUNCTIONS))}")
    compiled = Where(text=text, source=source)
    try:
        compiled.keeps(columns)
    except ExprError as exc:
        raise UsageError(str(exc).replace(repr(source), repr(text)), where) from None
    return compiled
