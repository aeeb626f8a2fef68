"""The design points of a sweep: axes from the command line, the sweep's definition, point ``i``.

A sweep is a list of *axes* (a spec parameter, one element of a list parameter, or a compound-scaling
setting) and a mode: a **grid** (the Cartesian product of the axes' values, point ``i`` decoded from
``i`` in mixed radix, last axis fastest) or a **sample** (``N`` points, point ``i`` drawn by a
random generator seeded with the sweep's seed *and* ``i``). Either way a point is a pure function
of the definition and its index: nothing is materialized, any chunk can be computed anywhere, and
an interrupted sweep resumes by index.

Axis syntax (``--grid`` / ``--range``; every value is read as a YAML scalar, never evaluated):

* ``NAME=V1,V2,...``: listed values (``bn=true,false``, ``widths=[32,64],[48,96]``);
* ``NAME=LO..HI:STEP``: ``LO, LO+STEP, ...`` up to ``HI`` inclusive (``:STEP`` may be left out for
  integers: step 1);
* ``--range NAME=LO..HI`` (sampling only): integers uniformly from ``LO..HI`` inclusive, or floats
  uniformly from ``[LO, HI]`` when either bound is written with a decimal point; ``LO..HI:STEP``
  draws from the stepped values.

``NAME`` is a spec parameter (``stride_on_3x3``), one element of a list parameter (``depths[2]``) or a
compound-scaling setting (``scale_width``, ``scale_depth``, ``scale_resolution``; ``--scale-grid``
is a shorthand for these).
"""

from __future__ import annotations

__all__ = ["Axis", "SweepDefinition", "parse_grid", "parse_range", "parse_scale_grid", "split_values",
           "SCALE_AXES", "MAX_POINTS", "MAX_AXIS_VALUES"]

import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, SpecError, UsageError
from ..fileio import content_hash
from ..yamlio import loads_yaml

SCALE_AXES = {"scale_width": "width", "scale_depth": "depth", "scale_resolution": "resolution"}
"""Axis name -> the compound-scaling setting it varies (``load_spec(scale={...})``)."""
MAX_POINTS = 10**9
"""A grid larger than this is refused (sample it instead)."""
MAX_AXIS_VALUES = 1_000_000
"""An axis with more values than this is refused (a typo in a step, most likely)."""

_NAME = re.compile(r"(?P<param>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>[0-9]+)\])?")
_RANGE = re.compile(r"\s*(?P<lo>[^.:,\s][^:,]*?)\s*\.\.\s*(?P<hi>[^:,]+?)\s*(?::\s*(?P<step>[^:,]+?)\s*)?")
_TYPE_OF = {bool: "bool", int: "int", float: "float", str: "str"}


def _usage(message: str, option: str, hint: str | None = None) -> UsageError:
    return UsageError(message, Location(file=option), hint=hint)


@dataclass(frozen=True)
class Axis:
    """One dimension of the design space.

    ``values`` for a listed or stepped axis (grid and sample); ``low``/``high`` for a continuous
    ``--range`` (sample only; integers when ``kind`` is ``"int"``). ``kind`` is the column type:
    ``bool``, ``int``, ``float``, ``str`` or ``json`` (lists and mixed values, stored as JSON text).
    """

    name: str
    values: tuple[Any, ...] | None = None
    low: float | int | None = None
    high: float | int | None = None
    kind: str = "int"

    @property
    def param(self) -> str:
        """The spec parameter (or ``scale_*`` setting) this axis varies."""
        return _NAME.fullmatch(self.name).group("param")  # type: ignore[union-attr]

    @property
    def index(self) -> int | None:
        """The list element this axis varies (``depths[2]`` -> 2), else None."""
        found = _NAME.fullmatch(self.name).group("index")  # type: ignore[union-attr]
        return None if found is None else int(found)

    @property
    def scale(self) -> str | None:
        """``width``/``depth``/``resolution`` for a compound-scaling axis, else None."""
        return SCALE_AXES.get(self.name)

    @property
    def size(self) -> int | None:
        return None if self.values is None else len(self.values)

    def draw(self, rng: random.Random) -> Any:
        """One value at random (sampling)."""
        if self.values is not None:
            return self.values[rng.randrange(len(self.values))]
        if self.kind == "int":
            return rng.randint(int(self.low), int(self.high))  # type: ignore[arg-type]
        return rng.uniform(float(self.low), float(self.high))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.values is not None:
            out["values"] = list(self.values)
        else:
            out["low"], out["high"] = self.low, self.high
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Axis":
        values = data.get("values")
        return cls(name=data["name"], values=None if values is None else tuple(values), low=data.get("low"),
                   high=data.get("high"), kind=data["kind"])


@dataclass(frozen=True)
class SweepDefinition:
    """Everything that decides a sweep's rows; two runs with equal definitions write equal files.

    ``spec_sha256`` is the hash of the spec file's bytes (a resume refuses a changed spec);
    ``samples`` is None for a grid. ``where`` is the ``--where`` condition as written.
    """

    spec_sha256: str
    axes: tuple[Axis, ...]
    samples: int | None = None
    seed: int = 0
    where: str | None = None
    batch_size: int = 1
    dtype: str = "float32"
    spec: str = field(default="", compare=False)  # the path as given: shown, not compared

    @property
    def mode(self) -> str:
        return "grid" if self.samples is None else "sample"

    @property
    def size(self) -> int:
        """The number of points."""
        if self.samples is not None:
            return self.samples
        return math.prod(a.size or 0 for a in self.axes)

    def point(self, index: int) -> dict[str, Any]:
        """Point ``index``: axis name -> value. A grid decodes ``index`` (the last axis varies
        fastest); a sample draws each axis in order from a generator seeded by (seed, index)."""
        if not 0 <= index < self.size:
            raise IndexError(f"point {index} is outside the sweep's {self.size} points")
        if self.samples is None:
            out: dict[str, Any] = {}
            rest = index
            for axis in reversed(self.axes):
                rest, k = divmod(rest, axis.size)  # type: ignore[arg-type]
                out[axis.name] = axis.values[k]  # type: ignore[index]
            return {a.name: out[a.name] for a in self.axes}
        rng = random.Random(f"archcalc-sweep:{self.seed}:{index}")  # str seeds hash with sha512: stable anywhere
        return {axis.name: axis.draw(rng) for axis in self.axes}

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "spec_sha256": self.spec_sha256, "mode": self.mode,
                "axes": [a.to_dict() for a in self.axes], "samples": self.samples, "seed": self.seed,
                "where": self.where, "batch_size": self.batch_size, "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SweepDefinition":
        return cls(spec_sha256=data["spec_sha256"], axes=tuple(Axis.from_dict(a) for a in data["axes"]),
                   samples=data.get("samples"), seed=data.get("seed", 0), where=data.get("where"),
                   batch_size=data.get("batch_size", 1), dtype=data.get("dtype", "float32"),
                   spec=data.get("spec", ""))

    @property
    def fingerprint(self) -> str:
        """sha256 of everything that decides the rows (not the spec's path, which may move)."""
        data = self.to_dict()
        del data["spec"]
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return content_hash(text)

    def differences(self, other: "SweepDefinition") -> list[str]:
        """The settings in which two definitions differ, in the user's words."""
        mine, theirs = self.to_dict(), other.to_dict()
        words = {"spec_sha256": "the spec file's content", "axes": "the axes (--grid/--range/--scale-grid)",
                 "samples": "--sample", "seed": "--seed", "where": "--where", "batch_size": "--batch",
                 "dtype": "--dtype", "mode": "grid or sample"}
        return [words[k] for k in words if mine.get(k) != theirs.get(k)]


# --------------------------------------------------------------------------- parsing


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets and quotes: ``"[1,2],[3,4]"`` -> ``["[1,2]", "[3,4]"]``."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _name(text: str, option: str) -> str:
    name = text.strip()
    if not _NAME.fullmatch(name):
        raise _usage(f"{name!r} is not a parameter name (NAME, NAME[INDEX] for one element of a list "
                     f"parameter, or {', '.join(SCALE_AXES)})", option)
    if name.startswith("scale_") and name not in SCALE_AXES:
        raise _usage(f"unknown scaling axis {name!r}; the scaling axes are {', '.join(SCALE_AXES)}", option)
    return name


def _scalar(text: str, option: str, name: str) -> Any:
    try:
        value = loads_yaml(text, option)
    except SpecError as exc:
        raise _usage(f"cannot read the value {text!r} of {name}: {exc.message}", option) from None
    if value is None or text == "":
        raise _usage(f"{name}: an empty value (two commas in a row, or a trailing comma?)", option)
    return value


def _number(text: str, option: str, name: str) -> int | float:
    value = _scalar(text, option, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _usage(f"{name}: {text!r} is not a number (LO..HI:STEP takes numbers)", option)
    return value


def _stepped(name: str, lo: int | float, hi: int | float, step: int | float, option: str) -> tuple[Any, ...]:
    if step == 0:
        raise _usage(f"{name}={lo}..{hi}:{step}: the step must not be 0", option)
    if (hi - lo) / step < 0:
        raise _usage(f"{name}={lo}..{hi}:{step}: no values (the step goes away from {hi})", option)
    count = math.floor((hi - lo) / step + 1e-9) + 1
    if count > MAX_AXIS_VALUES:
        raise _usage(f"{name}={lo}..{hi}:{step}: {count:,} values, more than the {MAX_AXIS_VALUES:,} an axis may hold",
                     option)
    if all(isinstance(v, int) for v in (lo, hi, step)):
        return tuple(lo + k * step for k in range(count))
    digits = max(_decimals(v) for v in (lo, step))
    return tuple(round(lo + k * step, digits) for k in range(count))  # 0.1 * 3 is 0.30000000000000004


def _decimals(value: int | float) -> int:
    text = repr(float(value))
    if "e" in text:
        return 15
    return len(text.partition(".")[2])


def _kind(values: tuple[Any, ...]) -> str:
    kinds = {_TYPE_OF.get(type(v), "json") for v in values}
    if kinds == {"int", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else "json"


def _split_assignment(text: str, option: str) -> tuple[str, str]:
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise _usage(f"expected NAME=VALUES, got {text!r}", option,
                     hint="e.g. --grid depth=1,2,3 or --grid width=16..64:16")
    if not rest.strip():
        raise _usage(f"{name.strip()}: no values after '='", option)
    return _name(name, option), rest.strip()


def _values(name: str, text: str, option: str) -> tuple[Any, ...]:
    ranged = _RANGE.fullmatch(text)
    if ranged and not text.lstrip().startswith(("[", "{", "'", '"')):
        lo = _number(ranged["lo"], option, name)
        hi = _number(ranged["hi"], option, name)
        if ranged["step"] is None:
            if not (isinstance(lo, int) and isinstance(hi, int)):
                raise _usage(f"{name}={text}: a range of decimal numbers needs a step (LO..HI:STEP)", option)
            step: int | float = 1 if hi >= lo else -1
        else:
            step = _number(ranged["step"], option, name)
        return _stepped(name, lo, hi, step, option)
    values = tuple(_scalar(part, option, name) for part in split_values(text))
    if len(values) > MAX_AXIS_VALUES:
        raise _usage(f"{name}: more than {MAX_AXIS_VALUES:,} values", option)
    return values


def parse_grid(text: str, *, option: str = "--grid") -> Axis:
    """``NAME=V1,V2,...`` or ``NAME=LO..HI[:STEP]`` -> an :class:`Axis` (a :class:`UsageError` otherwise)."""
    name, rest = _split_assignment(text, option)
    values = _values(name, rest, option)
    return Axis(name=name, values=values, kind=_kind(values))


def parse_range(text: str, *, option: str = "--range") -> Axis:
    """``NAME=LO..HI`` (continuous: integers, or floats when a bound has a decimal point) or
    ``NAME=LO..HI:STEP`` (the stepped values) -> an :class:`Axis` to sample."""
    name, rest = _split_assignment(text, option)
    ranged = _RANGE.fullmatch(rest)
    if not ranged:
        raise _usage(f"{name}={rest}: expected LO..HI or LO..HI:STEP", option)
    if ranged["step"] is not None:
        values = _values(name, rest, option)
        return Axis(name=name, values=values, kind=_kind(values))
    lo = _number(ranged["lo"], option, name)
    hi = _number(ranged["hi"], option, name)
    if hi < lo:
        raise _usage(f"{name}={rest}: HI must not be below LO", option)
    kind = "int" if isinstance(lo, int) and isinstance(hi, int) else "float"
    return Axis(name=name, low=lo, high=hi, kind=kind)


def parse_scale_grid(text: str, *, option: str = "--scale-grid") -> list[Axis]:
    """``width=1.0,1.1,depth=1.0,1.2,resolution=224..288:32`` -> the ``scale_*`` axes."""
    groups: list[tuple[str, list[str]]] = []
    for part in split_values(text):
        key, sep, value = part.partition("=")
        if sep:
            if key.strip() not in ("width", "depth", "resolution"):
                raise _usage(f"unknown scaling setting {key.strip()!r}; choose width, depth or resolution", option)
            groups.append((key.strip(), [value]))
        elif groups:
            groups[-1][1].append(part)
        else:
            raise _usage(f"expected width=..., depth=... or resolution=..., got {part!r}", option)
    axes = [parse_grid(f"scale_{key}=" + ",".join(values), option=option) for key, values in groups]
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise _usage("a scaling setting is given twice", option)
    return axes
