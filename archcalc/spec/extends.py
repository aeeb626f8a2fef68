"""``extends:``: a spec that starts from another one (a variant of a base network).

The child's keys replace the base's; ``params``, ``blocks`` and ``set`` are merged key by key;
``references`` and ``accuracy`` are never inherited (a variant's figures are its own). Every
merged key remembers the file and line it came from, so errors name the right file.
"""

from __future__ import annotations

__all__ = ["MAX_EXTENDS", "extends_root", "extends_files", "load_with_extends", "merge_extends"]

import os
import stat
from pathlib import Path

from ..errors import Location, SpecError
from ..yamlio import Node, load_yaml

MAX_EXTENDS = 16


def extends_root(root: str | Path | None) -> Path | None:
    if root is None:
        return None
    try:
        resolved = Path(root).resolve()
    except (OSError, ValueError, TypeError) as exc:
        raise SpecError(f"extends_root {str(root)[:80]!r} is not a usable folder ({exc})") from None
    if not resolved.is_dir():
        raise SpecError(f"extends_root {str(root)[:80]!r} is not a folder")
    return resolved


def load_with_extends(path: Path, chain: list[str], root: Path | None) -> Node:
    raw = load_yaml(path)
    if not isinstance(raw, Node):
        raise SpecError("a spec is a YAML mapping with at least 'name', 'input' and 'layers'", Location(str(path), 1))
    if "extends" in raw:
        raw = merge_extends(raw, path.parent, chain + [str(path.resolve())], root)
    return raw


def extends_files(path: Path, root: Path | None = None) -> list[Path]:
    """The files the spec at ``path`` is made of: itself, then each ``extends:`` target in turn
    (what a cache of its results must watch). Raises :class:`SpecError` as loading would."""
    files = [path]
    raw = load_yaml(path)
    while isinstance(raw, Node) and "extends" in raw:
        if len(files) > MAX_EXTENDS + 1:
            raise SpecError("'extends' chain is too long", raw.location("extends"))
        target = _resolve_extends(raw, files[-1].parent, root)
        if any(target.resolve() == f.resolve() for f in files):
            raise SpecError(f"'extends' cycle: {' -> '.join(str(f) for f in files + [target])}",
                            raw.location("extends"))
        files.append(target)
        raw = load_yaml(target)
    return files


def _shown(target: str) -> str:
    return repr(target) if len(target) <= 200 else f"{target[:60]!r}... ({len(target):,} characters)"


def _resolve_extends(child: Node, base_dir: Path, root: Path | None) -> Path:
    """The file ``child``'s ``extends:`` names: a regular file, inside ``root`` when one is given."""
    target = child["extends"]
    where = child.location("extends")
    if not isinstance(target, str) or not target.strip():
        raise SpecError("'extends' must be the path of another spec, relative to this one", where)
    if "\0" in target:
        raise SpecError(f"'extends' names {_shown(target)}, which contains a NUL character", where)
    if root is not None and Path(target).is_absolute():
        raise SpecError(f"'extends' names the absolute path {_shown(target)}; only paths inside {root} are allowed "
                        "here", where)
    base_path = base_dir / target
    try:
        resolved = base_path.resolve()
        if root is not None and not resolved.is_relative_to(root):
            raise SpecError(f"'extends' names {_shown(target)}, which leads outside {root}", where)
        info = os.stat(base_path)
    except FileNotFoundError:
        raise SpecError(f"'extends' names {_shown(target)}, which does not exist (looked in {base_dir})",
                        where) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SpecError(f"'extends' names {_shown(target)}, which cannot be opened ({reason})", where) from None
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(f"'extends' names {_shown(target)}, which is not a regular file", where)
    return base_path


def merge_extends(child: Node, base_dir: Path, chain: list[str], root: Path | None) -> Node:
    base_path = _resolve_extends(child, base_dir, root)
    if str(base_path.resolve()) in chain:
        raise SpecError(f"'extends' cycle: {' -> '.join(chain + [str(base_path)])}", child.location("extends"))
    if len(chain) > MAX_EXTENDS:
        raise SpecError("'extends' chain is too long", child.location("extends"))
    base = load_with_extends(base_path, chain, root)
    # the merged document is the child's; each key remembers the file its line belongs to
    merged = Node().copy_marks(child)
    merged.key_lines, merged.key_files = {}, {}
    for key, value in base.items():
        if key in ("references", "accuracy"):
            continue  # a variant's figures are its own
        merged[key] = value
        merged.key_lines[key] = base.key_lines.get(key, base.line)
        merged.key_files[key] = base.key_files.get(key, base.file)
    for key, value in child.items():
        if key == "extends":
            continue
        if key in ("params", "blocks", "set") and isinstance(value, Node) and isinstance(merged.get(key), Node):
            combined = Node().copy_marks(merged[key])
            combined.update(merged[key])
            combined.update(value)
            for inner in value:
                combined.key_lines[inner] = value.key_lines.get(inner, value.line)
                combined.key_files[inner] = value.key_files.get(inner, value.file)
            merged[key] = combined
        else:
            merged[key] = value
        merged.key_lines[key] = child.key_lines.get(key, child.line)
        merged.key_files[key] = child.key_files.get(key, child.file)
    return merged
