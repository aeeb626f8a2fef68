"""Safe YAML loading that remembers where every mapping and list came from.

* Only plain data: mappings, lists, strings, numbers, booleans and null. Any other tag (``!!python/...``,
  ``!!omap``, ``!!set``, ``!!binary``, ``!!timestamp``, local ``!tags``) is refused; dates stay strings.
  A value its tag cannot read (``!!float x``) is an error at its line.
* Mapping keys are strings (``7:`` or ``true:`` as a key is refused: quote it) and unique (PyYAML
  silently keeps the last duplicate).
* Nesting is bounded (``MAX_NESTING`` levels), so nothing later recurses without bound.
* Files: only regular files are read (a FIFO, ``/dev/zero`` or ``/dev/stdin`` is refused before it is
  opened), and at most ``MAX_FILE_BYTES`` bytes are read whatever the file claims its size is.
* Aliases are shared, not copied, by PyYAML; before anything walks the tree we compute the size
  it *would* have once expanded (memoised per node, so bounded time) and refuse trees beyond
  ``MAX_EXPANDED_NODES`` -- the "billion laughs" document is refused without being expanded.
* Mappings load as :class:`Node` and lists as :class:`Seq`: ``dict`` / ``list`` subclasses that
  carry the file, the line of each key or item, and their path in the document
  (``layers[3].kernel``), so errors found much later can still point at the user's text. A
  mapping also keeps the text of each number it holds as written (``0.60``, ``1.2e+3``): the
  printed digits a float value loses.
"""

from __future__ import annotations

__all__ = ["Node", "Seq", "load_yaml", "loads_yaml", "MAX_EXPANDED_NODES", "MAX_FILE_BYTES", "MAX_NESTING"]

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, SpecError

MAX_EXPANDED_NODES = 1_000_000
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NESTING = 100  # mappings and lists inside each other; the zoo's deepest spec nests 19

try:  # libyaml's parser is much faster; the constructor stays the safe Python one
    _BaseLoader = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class Node(dict):
    """A YAML mapping that knows where it came from."""

    __slots__ = ("file", "line", "key_lines", "key_files", "key_texts", "src_path", "via")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file: str | None = None
        self.line: int | None = None
        self.key_lines: dict[Any, int] = {}
        self.key_files: dict[Any, str | None] = {}  # keys merged in from another file (extends)
        self.key_texts: dict[Any, str] = {}  # numbers as written in the file ("0.60", "1.2e+3"), by key
        self.src_path: str = ""
        self.via: str | None = None

    def copy_marks(self, other: "Node | Seq") -> "Node":
        self.file, self.line, self.src_path, self.via = other.file, other.line, other.src_path, other.via
        if isinstance(other, Node):
            self.key_lines = dict(other.key_lines)
            self.key_files = dict(other.key_files)
        return self

    def location(self, key: Any = None, *, layer: str | None = None) -> Location:
        if key is not None and key in self.key_lines:
            file, line = self.key_files.get(key, self.file), self.key_lines[key]
        else:
            file, line = self.file, self.line
        path = join_path(self.src_path, key) if key is not None else self.src_path
        return Location(file, line, path or None, layer, self.via)


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


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map")}
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_TAG_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "null": "null"}


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Loader(_BaseLoader):
    """SafeLoader restricted to plain data, with a nesting bound and located value errors."""

    yaml_implicit_resolvers = {  # no implicit timestamps: 2012-01-01 stays the string it reads as
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.depth = 0

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.tag not in _PLAIN_TAGS:
            raise SpecError(f"YAML tag {_short_tag(node.tag)!r} is not allowed: a spec holds only mappings, "
                            "lists, strings, numbers, booleans and null", Location(None, _line(node)))
        try:
            return super().construct_object(node, deep)
        except (SpecError, RecursionError):
            raise
        except Exception:  # noqa: BLE001 - a scalar its tag cannot read: !!float x, !!bool maybe, !!int 0x
            word = _TAG_WORDS.get(node.tag.rsplit(":", 1)[-1], "a value of that type")
            value = node.value if isinstance(node, yaml.ScalarNode) else None
            shown = f"{value!r}" if value is not None else "this node"
            raise SpecError(f"{_short_tag(node.tag)} {shown} cannot be read as {word}",
                            Location(None, _line(node))) from None


def _enter(loader: _Loader, node: yaml.Node) -> None:
    loader.depth += 1
    if loader.depth > MAX_NESTING:
        raise SpecError(f"YAML nesting is deeper than {MAX_NESTING} levels", Location(None, _line(node)))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode):
    mapping = Node()
    mapping.line = _line(node)
    yield mapping
    _enter(loader, node)
    try:
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                shown = "null" if key is None else str(key).lower() if isinstance(key, bool) else repr(key)
                hint = f"; quote it: '{shown}'" if not isinstance(key, (Node, Seq)) else ""
                raise SpecError(f"mapping keys must be strings, got {shown}{hint}", Location(None, _line(key_node)))
            if key in mapping:
                raise SpecError(f"duplicate key {key!r} (first on line {mapping.key_lines[key]})",
                                Location(None, _line(key_node)))
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.key_lines[key] = _line(key_node)
            if value_node.tag in _NUMBER_TAGS:  # the printed digits, which the float value loses
                mapping.key_texts[key] = value_node.value
    finally:
        loader.depth -= 1


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode):
    seq = Seq()
    seq.line = _line(node)
    yield seq
    _enter(loader, node)
    try:
        seq.extend(loader.construct_object(child, deep=True) for child in node.value)
        seq.item_lines = [_line(child) for child in node.value]
    finally:
        loader.depth -= 1


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _annotate(root: Any, file: str | None) -> None:
    """Give every container its file and document path; bound the expanded size and depth.

    Shared (aliased) containers are visited once; their expanded size and height are memoised, so
    both the time and the memory of this walk are linear in the size of the *document*, not the
    expansion. Aliases can nest a node deeper than it is written, so the depth is checked here too.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id -> (expanded nodes, height)
    on_stack: set[int] = set()

    def too_deep(obj: Node | Seq) -> SpecError:
        return SpecError(f"YAML nesting is deeper than {MAX_NESTING} levels (counting what aliases repeat)",
                         obj.location())

    def visit(obj: Any, path: str, depth: int) -> tuple[int, int]:
        if not isinstance(obj, (Node, Seq)):
            return 1, 0
        key = id(obj)
        if key in sizes:
            if depth + sizes[key][1] > MAX_NESTING:
                raise too_deep(obj)
            return sizes[key]
        if key in on_stack:
            raise SpecError("recursive YAML alias (a node that contains itself)", obj.location())
        if depth > MAX_NESTING:
            raise too_deep(obj)
        on_stack.add(key)
        obj.file, obj.src_path = file, path
        children = obj.items() if isinstance(obj, Node) else enumerate(obj)
        total, height = 1, 1
        for k, child in children:
            size, child_height = visit(child, join_path(path, k), depth + 1)
            total += size
            height = max(height, child_height + 1)
            if total > MAX_EXPANDED_NODES:
                raise SpecError(
                    f"the document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(aliases nested inside aliases?); refusing to load it", obj.location())
        on_stack.discard(key)
        sizes[key] = (total, height)
        return total, height

    visit(root, "", 1)


def read_spec_text(path: str | Path) -> str:
    """The text of the spec file at ``path``: a regular file of at most ``MAX_FILE_BYTES`` UTF-8 bytes.

    The file is examined before it is opened (a FIFO or a device is refused, never read), opened
    without blocking, examined again (it may have been replaced meanwhile) and read up to
    ``MAX_FILE_BYTES + 1`` bytes, whatever size it reports.
    """
    name = str(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError("is a directory, expected a YAML spec file", Location(name))
        if not stat.S_ISREG(info.st_mode):
            raise SpecError("not a regular file (a FIFO, device or socket); specs are read from regular files",
                            Location(name))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb", closefd=True) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise SpecError("not a regular file (it changed while being opened)", Location(name))
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError("no such file", Location(name)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, expected a YAML spec file", Location(name)) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SpecError(f"cannot read: {reason}", Location(name)) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(f"file is larger than {MAX_FILE_BYTES:,} bytes, the limit for a spec", Location(name, 1))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"not UTF-8 text ({exc.reason} at byte {exc.start:,})", Location(name, line)) from None


def load_yaml(path: str | Path) -> Any:
    """Load one YAML document safely, with locations; raise :class:`SpecError` on any problem."""
    return loads_yaml(read_spec_text(path), str(path))


def loads_yaml(text: str, name: str | None = None) -> Any:
    """Like :func:`load_yaml` for YAML text; ``name`` is the file name the errors show."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except SpecError as exc:
        raise SpecError(exc.message, Location(name, exc.location.line)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"YAML syntax: {what}", Location(name, line)) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, most C0 controls)
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise SpecError(f"YAML: character U+{code:04X} is not allowed in YAML text ({exc.reason})",
                        Location(name, line)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", Location(name, 1)) from None
    except RecursionError:  # the pure-Python parser recurses while composing, before our bound applies
        raise SpecError(f"YAML nesting is deeper than {MAX_NESTING} levels", Location(name, 1)) from None
    _annotate(data, name)
    return data
