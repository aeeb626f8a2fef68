"""The ``archcalc`` command line: a thin shell over the library.

Each subcommand lives in :mod:`archcalc.commands` as a module with ``add_parser(subparsers)``
and ``run(args) -> int``; heavy imports (torch, matplotlib) happen inside ``run`` only.
Errors the user can fix are printed as one message with exit status 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

__all__ = ["main", "COMMANDS"]

import argparse
import importlib
import importlib.util
import sys
from typing import Sequence

from ._version import __version__
from .errors import ArchcalcError

COMMANDS = ("report", "validate", "schema", "check", "crosscheck", "bench", "plot", "memory", "import_", "sweep")

DESCRIPTION = """\
Static architecture analyzer and cost calculator for convolutional networks.

Declare a network as a YAML spec (specs/*.yaml), then:
  archcalc report specs/alexnet.yaml            per-layer shapes, params, MACs, memory
  archcalc report specs/alexnet.yaml --style seed   the lecture's AlexNet columns
  archcalc validate specs/*.yaml                load and analyze specs, report the first problem of each
  archcalc check specs/                         compare the figures papers print with the computed ones
  archcalc memory specs/resnet50.yaml --mode training   will it fit? memory per batch, the largest batch
  archcalc schema > specs/schema.json           JSON Schema for editor autocompletion

Counting conventions (MACs vs FLOPs, pooling, batch norm) are described in the README and in
`python -m pydoc archcalc.conventions`.
"""


def _available() -> list[str]:
    """The subcommands whose module is present (optional areas may not be installed)."""
    return [name for name in COMMANDS if importlib.util.find_spec(f"archcalc.commands.{name}") is not None]


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (None before -h;
    ``"--version"`` when that comes first: no subcommand is parsed then)."""
    for arg in argv:
        if arg in ("-h", "--help", "--"):
            return None
        if arg == "--version" or not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand; given the ``argv`` to parse, only the subcommand it names
    is imported and built in full (the others are placeholders: each command's module, and what
    it imports, is loaded only when that command runs or help lists every command)."""
    parser = argparse.ArgumentParser(prog="archcalc", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"archcalc {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = _available()
    only = _named_command(argv) if argv is not None else None
    if only not in {name.rstrip("_") for name in names} and only != "--version":
        only = None
    for name in names:
        if only is not None and name.rstrip("_") != only:
            sub.add_parser(name.rstrip("_"))  # not parsed in this run
            continue
        module = importlib.import_module(f"archcalc.commands.{name}")
        module.add_parser(sub)
        sub.choices[name.rstrip("_")].add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                       help="show Python tracebacks for errors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except ArchcalcError as exc:
        if args.debug:
            raise
        print(f"archcalc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("archcalc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
