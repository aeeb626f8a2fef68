"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

__all__ = ["add_spec_options", "add_param_option", "load_from_args", "param_overrides", "scale_overrides",
           "parse_assignments", "emit", "spec_paths", "positive_int", "int_at_least"]

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import SpecError
from ..fileio import write_output

if TYPE_CHECKING:  # pragma: no cover - the spec language is imported by the commands that load specs
    from ..spec import Spec


def parse_assignments(text: str, what: str) -> dict[str, Any]:
    """``"width=1.1,depth=1.2"`` -> ``{"width": 1.1, "depth": 1.2}``; ``"depths=[1,2,4,1]"`` -> a list.

    Values are read by the spec loader's YAML reader: plain data only, bounded nesting. Commas inside
    brackets, braces or quotes belong to the value.
    """
    from ..yamlio import loads_yaml

    out: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in _top_level_split(text))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"{what}: expected NAME=VALUE pairs separated by commas, got {item!r}")
        try:
            out[key.strip()] = loads_yaml(value, what)
        except SpecError as exc:
            shown = value if len(value) <= 60 else value[:40] + f"... ({len(value):,} characters)"
            raise SpecError(f"{what}: cannot read the value of {key.strip()!r}: {shown!r} ({exc.message})") from None
    return out


def _top_level_split(text: str) -> list[str]:
    """``text`` split at the commas outside ``[]``, ``{}`` and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def int_at_least(minimum: int) -> Callable[[str], int]:
    """argparse type: an integer >= ``minimum``."""
    def parse(text: str) -> int:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value
    return parse


positive_int = int_at_least(1)


def add_param_option(parser: argparse.ArgumentParser) -> None:
    """``--param NAME=VALUE[,...]`` (repeatable); read it with :func:`param_overrides`."""
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE[,...]",
                        help="override a spec parameter (its `params:`), e.g. --param bn=true")


def add_spec_options(parser: argparse.ArgumentParser) -> None:
    """``--param`` and ``--scale``; :func:`load_from_args` applies both."""
    add_param_option(parser)
    parser.add_argument("--scale", metavar="width=W,depth=D,resolution=R",
                        help="compound scaling on top of the spec's own: width and depth multipliers "
                             "(channels rounded to multiples of 8), input resolution")


def param_overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--param`` assignments of ``args``, merged in order (None when there are none)."""
    params: dict[str, Any] = {}
    for item in getattr(args, "param", []) or []:
        params.update(parse_assignments(item, "--param"))
    return params or None


def scale_overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--scale`` settings of ``args`` (None when not given)."""
    return parse_assignments(args.scale, "--scale") if getattr(args, "scale", None) else None


def load_from_args(path: str | Path, args: argparse.Namespace) -> Spec:
    from ..spec import load_spec

    return load_spec(path, params=param_overrides(args), scale=scale_overrides(args))


def spec_paths(items: list[str]) -> list[Path]:
    """Expand directories into their ``*.yaml`` files (sorted); keep files as given."""
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.glob("*.yaml") if q.is_file())
            if not found:
                raise SpecError(f"{p}: directory holds no *.yaml specs")
            paths.extend(found)
        else:
            paths.append(p)
    return paths


def emit(text: str | bytes, output: str | None, *, force: bool = False,
         inputs: Iterable[str | Path] = ()) -> None:
    """Write a command's complete output: to stdout (``output`` None or ``"-"``) or to the file ``output``.

    Call it once, after everything has been computed: when the command fails before, nothing
    is written. A regular file is replaced atomically (keeping its mode), a symlink is written
    through, a device or FIFO is written directly; a write-protected file is refused unless
    ``force`` (the command's ``--force``); ``inputs`` (the specs the command read) are never
    written over. Any problem, a full disk included, raises :class:`~archcalc.errors.OutputError`
    (exit 2) and leaves the old file as it was. See :mod:`archcalc.fileio`.
    """
    write_output("-" if output is None else output, text, force=force, inputs=inputs)
