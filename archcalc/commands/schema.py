"""``archcalc schema``: the JSON Schema of the spec format (for editor autocompletion)."""

from __future__ import annotations

import argparse

from .common import emit

HELP = "print the JSON Schema of the spec format (specs/schema.json is a committed copy)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help=HELP, description=HELP.capitalize() + ".")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..spec.schema import schema_json

    emit(schema_json(), args.output)
    return 0
