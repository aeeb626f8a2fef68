"""Safe YAML loading that remembers where every mapping and list came from.

* Only plain data: PyYAML's safe constructors, so no tag can build an object.
* Duplicate keys are an error (PyYAML silently keeps the last one).
* Aliases are shared, not copied, by PyYAML; before anything walks the tree we compute the size
  it *would* have once expanded (memoised per node, so bounded time) and refuse trees beyond
  ``MAX_EXPANDED_NODES`` -- the "billion laughs" document is refused without being expanded.
* Mappings load as :class:`Node` and lists as :class:`Seq`: ``dict`` / ``list`` subclasses that
  carry the file, the line of each key or item, and their path in the document
  (``layers[3].kernel``), so errors found much later can still point at the user's text.
"""

from __future__ import annotations

__all__ = ["Node", "Seq", "load_yaml", "MAX_EXPANDED_NODES", "MAX_FILE_BYTES", "mark_of"]

from pathlib import Path
from typing import Any

import yaml

from .errors import Location, SpecError

MAX_EXPANDED_NODES = 1_000_000
MAX_FILE_BYTES = 8 * 1024 * 1024

try:  # libyaml's parser is much faster; the constructor stays the safe Python one
    _BaseLoader = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class Node(dict):
    """A YAML mapping that knows where it came from."""

    __slots__ = ("file", "line", "key_lines", "src_path", "via", "auto_base")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auto_base: str | None = None  # base of the automatic name (a block's name)
        self.file: str | None = None
        self.line: int | None = None
        self.key_lines: dict[Any, int] = {}
        self.src_path: str = ""
        self.via: str | None = None

    def copy_marks(self, other: "Node | Seq") -> "Node":
        self.file, self.line, self.src_path, self.via = other.file, other.line, other.src_path, other.via
        if isinstance(other, Node):
            self.key_lines = dict(other.key_lines)
        return self

    def location(self, key: Any = None, *, layer: str | None = None) -> Location:
        line = self.key_lines.get(key, self.line) if key is not None else self.line
        path = join_path(self.src_path, key) if key is not None else self.src_path
        return Location(self.file, line, path or None, layer, self.via)


class Seq(list):
    """A YAML sequence that knows where it and each of its items came from."""

    __slots__ = ("file", "line", "item_lines", "src_path", "via")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.file: str | None = None
        self.line: int | None = None
        self.item_lines: list[int] = []
        self.src_path: str = ""
        self.via: str | None = None

    def location(self, index: int | None = None, *, layer: str | None = None) -> Location:
        line = self.line
        if index is not None and 0 <= index < len(self.item_lines):
            line = self.item_lines[index]
        path = join_path(self.src_path, index) if index is not None else self.src_path
        return Location(self.file, line, path or None, layer, self.via)


def join_path(base: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else str(key)


def mark_of(obj: Any) -> Location:
    if isinstance(obj, (Node, Seq)):
        return obj.location()
    return Location()


class _Loader(_BaseLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode):
    mapping = Node()
    mapping.line = node.start_mark.line + 1
    yield mapping
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise SpecError("mapping keys must be plain scalars",
                            Location(None, key_node.start_mark.line + 1)) from None
        if key in mapping:
            raise SpecError(f"duplicate key {key!r} (first on line {mapping.key_lines[key]})",
                            Location(None, key_node.start_mark.line + 1))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode):
    seq = Seq()
    seq.line = node.start_mark.line + 1
    yield seq
    seq.extend(loader.construct_object(child, deep=True) for child in node.value)
    seq.item_lines = [child.start_mark.line + 1 for child in node.value]


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:omap", _construct_mapping)


def _annotate(root: Any, file: str | None) -> None:
    """Give every container its file and document path, and bound the expanded size.

    Shared (aliased) containers are visited once; their expanded size is memoised, so both the
    time and the memory of this walk are linear in the size of the *document*, not the expansion.
    """
    sizes: dict[int, int] = {}
    on_stack: set[int] = set()

    def visit(obj: Any, path: str) -> int:
        if not isinstance(obj, (Node, Seq)):
            return 1
        key = id(obj)
        if key in sizes:
            return sizes[key]
        if key in on_stack:
            raise SpecError("recursive YAML alias (a node that contains itself)", obj.location())
        on_stack.add(key)
        obj.file, obj.src_path = file, path
        children = obj.items() if isinstance(obj, Node) else enumerate(obj)
        total = 1
        for k, child in children:
            total += visit(child, join_path(path, k))
            if total > MAX_EXPANDED_NODES:
                raise SpecError(
                    f"the document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(aliases nested inside aliases?); refusing to load it", obj.location())
        on_stack.discard(key)
        sizes[key] = total
        return total

    visit(root, "")


def load_yaml(path: str | Path) -> Any:
    """Load one YAML document safely, with locations; raise :class:`SpecError` on any problem."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(f"file is {size:,} bytes; specs are limited to {MAX_FILE_BYTES:,}",
                            Location(name))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", Location(name)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, expected a YAML spec file", Location(name)) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text ({exc.reason})", Location(name)) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", Location(name)) from None
    return loads_yaml(text, name)


def loads_yaml(text: str, name: str | None = None) -> Any:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except SpecError as exc:
        raise SpecError(exc.message, Location(name, exc.location.line)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            what = f"YAML tags that construct objects are not allowed ({exc.problem})"
        raise SpecError(f"YAML syntax: {what}", Location(name, line)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", Location(name)) from None
    except RecursionError:
        raise SpecError("YAML nesting is too deep", Location(name)) from None
    _annotate(data, name)
    return data
