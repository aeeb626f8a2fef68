"""Where each figure under ``references:`` was written: its text (the digits as printed, which
set the default tolerance) and its line, read from the spec's YAML."""

from __future__ import annotations

__all__ = ["Written", "written_figures"]

from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import Location


@dataclass(frozen=True, slots=True)
class Written:
    """The text and line of each scalar under ``references:``, keyed by its path."""

    file: str | None
    texts: dict[tuple[Any, ...], str]
    lines: dict[tuple[Any, ...], int]

    def line(self, *path: Any) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def loc(self, *path: Any) -> Location:
        field_path = f"references[{path[0]}]" + "".join(f".{p}" for p in path[1:]) if path else "references"
        return Location(self.file, self.line(*path), field_path)


def written_figures(text: str | None, file: str | None) -> Written:
    """Compose (never construct) the YAML and record each figure's text and line.

    A spec's figures are its own (``references`` is not inherited through ``extends``), so the
    spec's own file holds every one of them.
    """
    texts: dict[tuple[Any, ...], str] = {}
    lines: dict[tuple[Any, ...], int] = {}
    if text is None:
        return Written(file, texts, lines)
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:  # load_spec already accepted this text; be lenient
        return Written(file, texts, lines)

    def items(node: Any) -> list[tuple[str, Any, int]]:
        if not isinstance(node, yaml.MappingNode):
            return []
        return [(k.value, v, k.start_mark.line + 1) for k, v in node.value if isinstance(k, yaml.ScalarNode)]

    refs = next((v for k, v, _ in items(root) if k == "references"), None)
    if not isinstance(refs, yaml.SequenceNode):
        return Written(file, texts, lines)
    lines[()] = refs.start_mark.line + 1
    for i, ref in enumerate(refs.value):
        lines[(i,)] = ref.start_mark.line + 1
        for section, node, line in items(ref):
            lines[(i, section)] = line
            for key, value, key_line in items(node):
                lines[(i, section, key)] = key_line
                if isinstance(value, yaml.ScalarNode):
                    texts[(i, section, key)] = value.value
                for q, figure, q_line in items(value):  # rows.<row>.<quantity>
                    lines[(i, section, key, q)] = q_line
                    if isinstance(figure, yaml.ScalarNode):
                        texts[(i, section, key, q)] = figure.value
    return Written(file, texts, lines)
