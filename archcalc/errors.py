"""Errors a user can act on: each names the file, the YAML line and the field path.

The CLI turns any :class:`ArchcalcError` into one readable message and exit status 2;
nothing else in the library prints.

Text that came from the user (field names, values, layer names, file names) can hold terminal
control characters; every message, hint and location is passed through :func:`escape_controls`,
so an error can neither colour the terminal nor forge a line of output. Messages never contain
a raw newline; ``__str__`` adds the hint's own line.
"""

from __future__ import annotations

__all__ = ["ArchcalcError", "SpecError", "AnalysisError", "OutputError", "UsageError", "Location", "escape_controls"]

import re
from dataclasses import dataclass

# C0 and C1 controls (newline and tab included), DEL, Unicode line/paragraph separators and the
# bidirectional overrides/isolates (text that displays in another order than it reads)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def escape_controls(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\n``, ``\\u2028``).

    Idempotent (an escape is plain printable text), so messages can be re-wrapped safely.
    """
    return _CONTROLS.sub(_escape_one, text)


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the user's files something came from."""

    file: str | None = None
    line: int | None = None
    path: str | None = None  # field path in the user's terms, e.g. ``layers[3].kernel``
    layer: str | None = None  # dotted layer name after expansion, e.g. ``conv3_x.block2.conv1``
    via: str | None = None  # how an expanded node got there, e.g. "block 'bottleneck' used at line 37"

    def prefix(self) -> str:
        where = escape_controls(self.file or "<spec>")
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.path:
            parts.append(escape_controls(self.path))
        return ": ".join(parts)

    def suffix(self) -> str:
        bits = []
        if self.layer:
            bits.append(f"layer {self.layer}")
        if self.via:
            bits.append(self.via)
        return escape_controls(f" ({'; '.join(bits)})") if bits else ""


class ArchcalcError(Exception):
    """Base class of every error archcalc reports to users."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None, *, hint: str | None = None):
        message = escape_controls(str(message))
        super().__init__(message)
        self.message = message
        self.location = location or Location()
        self.hint = escape_controls(hint) if hint is not None else None

    def __str__(self) -> str:
        loc = self.location
        if loc.file is None and loc.line is None and loc.path is None:
            text = f"{self.message}{loc.suffix()}"
        else:
            text = f"{loc.prefix()}: {self.message}{loc.suffix()}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(ArchcalcError):
    """The spec file is not valid: YAML syntax, unknown field, wrong type, bad block use."""


class AnalysisError(ArchcalcError):
    """The spec is well-formed but describes an impossible network (shapes do not fit)."""


class OutputError(ArchcalcError):
    """An output cannot be written safely: missing or read-only folder, write-protected file,
    an input spec as the target, a full device. Nothing has been written when it is raised."""


class UsageError(ArchcalcError, ValueError):
    """A library function was given an argument it does not take: ``batch_size=0``, an unknown
    dtype, format, style or convention. Also a :class:`ValueError`, which such arguments raised
    before; the message names the argument and the values it takes."""
