"""Fold a flat spec tree into blocks with arguments and ``repeat``: what makes an import readable.

Bottom-up, the way the model's code is written:

1. A composite whose nested composites are all settled is *ready*. Runs of consecutive uses of one
   block in its lists become one ``repeat`` entry (``first:`` for what only the first copy changes,
   ``$repeat_index`` for a value that grows by a constant step, such as ConvNeXt's stochastic-depth
   rate); a sequential that is nothing but such a run becomes the run itself (ResNet's ``layer1``).
2. Ready composites with the same structure (kinds, names, nesting; values may differ) are one
   block. Each field that differs between them is written as an expression of arguments already
   found (``$conv1_out``, ``4 * $conv1_out``, ``($kernel - 1) // 2``) or of the layer's own input
   width (``$in_channels``, ``$in_channels * 6``, ``$in_channels // 4``), else it becomes a new argument
   whose default is the value most uses share. A plain chain that changes the shape folds with
   residuals of the same body as ``shortcut: optional`` (MobileNetV2's ``use_res_connect``); an
   identity residual folds with projection ones as ``shortcut: projection`` (the projection exists
   only where the shape changes).
3. A block used once in the end is written inline again.

Blocks are named after the module class (``Bottleneck`` -> ``bottleneck``); for plain containers, after
the name every instance shares, or the composite's kind. The result is a list of spec mappings and the
``blocks:`` mapping; folding never changes an analyzer row (:mod:`archcalc.importer.verify` checks).
"""

from __future__ import annotations

__all__ = ["fold"]

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .arguments import arg_type, default_of, identifier, linear_in_index, relation, same
from .canonical import leaf_fields, residual_fields
from .tree import Entry

_GENERIC_CLASSES = {"Sequential", "ModuleList", "ModuleDict", "Block", "SideBlock", "ResidualBlock", "ConcatBlock",
                    "SpecModel", "Module"}
_USE_KEYS = {"use", "name", "repeat", "first", "when"}
_RESERVED_ARGS = {"in_channels", "in_height", "in_width", "in_depth", "repeat_index"}
_NUMBERED = re.compile(r"_\d+|block\d+")
_WORD = re.compile(r"(?!block\d|branch\d)[A-Za-z][A-Za-z0-9_]*")
_SHORT = {"batchnorm": "bn", "layernorm": "ln", "global_avgpool": "pool"}
_MAX_ARGS = 8


@dataclass(eq=False)
class FNode:
    """One spec entry while folding: a leaf, a composite, or a use of a block."""

    type: str  # a kind tag, or 'use'
    name: str
    fields: dict[str, Any] = field(default_factory=dict)  # leaf/residual fields; a use: its arguments
    lists: list[tuple[str, list["FNode"]]] = field(default_factory=list)  # ('layers'|'body'|'shortcut'|'branch:<name>')
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    module_class: str | None = None
    block: str | None = None  # a use: the block
    repeat: int | None = None
    first: dict[str, Any] | None = None
    done: bool = False

    @property
    def composite(self) -> bool:
        return self.type in ("sequential", "side", "residual", "concat")

    def copy(self) -> "FNode":
        return FNode(self.type, self.name, dict(self.fields), [(s, [c.copy() for c in lst]) for s, lst in self.lists],
                     self.in_shape, self.out_shape, self.module_class, self.block, self.repeat,
                     dict(self.first) if self.first is not None else None, self.done)


class _NotABlock(Exception):
    """The instances differ in a way a block's arguments cannot say."""


@dataclass
class Block:
    name: str
    template: FNode  # the composite the block is (its name is the use site's)
    args: dict[str, tuple[bool, Any]]  # argument -> (has a default, the default or the type name)


# --------------------------------------------------------------------------- from entries


def _from_entry(e: Entry) -> FNode:
    node = FNode(e.type, e.name or e.type, in_shape=e.in_shape, out_shape=e.out_shape, module_class=e.module_class)
    if e.type == "residual":
        node.fields = {k: e.fields.get(k) for k in ("shortcut", "join", "activation", "projection_bn")}
        node.lists.append(("body", [_from_entry(c) for c in e.body or []]))
        if e.shortcut is not None:
            node.lists.append(("shortcut", [_from_entry(c) for c in e.shortcut]))
    elif e.type == "concat":
        for b in e.branches or []:
            node.lists.append((f"branch:{b.name or ''}", [_from_entry(c) for c in b.layers]))
    elif e.type in ("sequential", "side"):
        node.lists.append(("layers", [_from_entry(c) for c in e.layers or []]))
    else:
        node.fields = {k: v for k, v in e.fields.items() if k != "type"}
    return node


# --------------------------------------------------------------------------- structure and values


def _sig(n: FNode, *, with_name: bool = True) -> tuple:
    head: tuple = (n.type, n.name) if with_name else (n.type,)
    if n.type == "use":
        return (*head, n.block, n.repeat is not None, tuple(sorted(n.first or {})))
    if n.type == "residual":
        short = n.fields.get("shortcut")
        short = "id_or_proj" if short in ("identity", "projection") else short
        head = (*head, short, n.fields.get("join"), n.fields.get("activation"))
    return (*head, tuple((slot, tuple(_sig(c) for c in lst)) for slot, lst in n.lists))


def _get(n: FNode, key: str) -> Any:
    if key == "#repeat":
        return n.repeat
    if key.startswith("#first."):
        return (n.first or {})[key[len("#first."):]]
    return n.fields.get(key)


def _set(n: FNode, key: str, value: Any) -> None:
    if key == "#repeat":
        n.repeat = value
    elif key.startswith("#first."):
        assert n.first is not None
        n.first[key[len("#first."):]] = value
    else:
        n.fields[key] = value


def _parallel(nodes: list[FNode]) -> list[list[FNode]]:
    """Every node of the first tree with its counterparts in the others (same structure), pre-order."""
    out = [nodes]
    for i, (_, lst) in enumerate(nodes[0].lists):
        for j in range(len(lst)):
            out.extend(_parallel([n.lists[i][1][j] for n in nodes]))
    return out


def _arg_names(found: list[tuple[tuple[str, ...], str, FNode]], template: FNode) -> list[str]:
    """Readable, unique argument names: the field (``stride``) where it is unambiguous (its key is no other
    argument's, and its layer the template's only one of that kind), else qualified by the layer
    (``conv1_out``, ``branch2_1_out``), else by the whole path."""
    def kind(n: FNode) -> str:
        return n.type if n.type != "use" else f"use:{n.block}"

    def parts(path: tuple[str, ...]) -> list[str]:
        names = [p[len("branch:"):] if p.startswith("branch:") else p for p in path
                 if p not in ("body", "layers", "shortcut")]
        return [n.lstrip("_") or n for n in names if n]

    kinds = Counter(kind(n) for n in _all_nodes([template]))
    keys = Counter(key for _, key, _ in found)
    names: list[str] = []
    for path, key, owner in found:
        key_text = key.replace("#first.", "first_").lstrip("#")
        p = parts(path)
        candidates = [key_text] if keys[key] == 1 and kinds[kind(owner)] == 1 else []
        if p:
            last = f"{p[-2]}_{p[-1]}" if p[-1].isdigit() and len(p) > 1 else p[-1]
            candidates += [f"{last}_{key_text}", "_".join(p) + f"_{key_text}"]
        candidates.append(key_text)
        chosen = None
        for c in candidates:
            c = identifier(c)
            if c in _RESERVED_ARGS or c in _USE_KEYS:
                c += "_"
            if c not in names:
                chosen = c
                break
        if chosen is None:
            base = identifier(candidates[-1])
            k = 2
            while f"{base}{k}" in names:
                k += 1
            chosen = f"{base}{k}"
        names.append(chosen)
    return names


# --------------------------------------------------------------------------- the folding


class _Folder:
    def __init__(self) -> None:
        self.blocks: dict[str, Block] = {}

    def run(self, top: list[FNode]) -> list[FNode]:
        root = FNode("sequential", "<root>", lists=[("layers", top)])
        while True:
            ready = [n for n in _composites(root) if not n.done and n is not root and all(
                c.done for _, lst in n.lists for c in lst if c.composite)]
            if not ready:
                break
            for n in ready:
                self.fold_runs(n)
            ready = [n for n in ready if n.type != "use"]
            self.unify_optional(ready)
            groups: dict[tuple, list[FNode]] = {}
            for n in ready:
                groups.setdefault(_sig(n, with_name=False), []).append(n)
            for members in groups.values():
                if len(members) >= 2 and self.worth(members):
                    self.make_block(members)
            for n in ready:
                n.done = True
        self.fold_list(root.lists[0][1], parent=None)
        top = root.lists[0][1]
        self.inline_single_uses(top)
        return top

    # -- runs
    def fold_runs(self, n: FNode) -> None:
        for slot, lst in n.lists:
            self.fold_list(lst, parent=n if slot == "layers" and n.type == "sequential" else None)

    def fold_list(self, lst: list[FNode], parent: FNode | None) -> None:
        if parent is not None and len(lst) > 1:
            run = self.try_run(lst, whole=True)
            if run is not None:  # the sequential is nothing but copies of one block: it becomes the run
                run.name = parent.name
                _become(parent, run)
                return
        out: list[FNode] = []
        i = 0
        while i < len(lst):
            j = i + 1
            best = None
            while j < len(lst):
                folded = self.try_run(lst[i:j + 1])
                if folded is None:
                    break
                best, j = folded, j + 1
            if best is not None:
                out.append(best)
                i = j
            else:
                out.append(lst[i])
                i += 1
        lst[:] = out

    def try_run(self, run: list[FNode], whole: bool = False) -> FNode | None:
        head = run[0]
        if any(n.type != "use" or n.block != head.block or n.repeat is not None for n in run):
            return None
        args: dict[str, Any] = {}
        first: dict[str, Any] = {}
        for key in head.fields:
            vals = [n.fields[key] for n in run]
            if same(vals[1:]):
                args[key] = vals[1]
                if not same([vals[0], vals[1]]):
                    first[key] = vals[0]
                continue
            step = linear_in_index(vals)
            if step is None:
                return None
            args[key] = step
        if len(first) > (1 if len(run) < 3 else 2):
            return None  # copies that differ in more than their stride are not a repeat
        if not all(_NUMBERED.fullmatch(n.name) for n in run) and not whole:
            return None  # named modules (stage1, stage2) stay apart unless they are a container's whole content
        names = [n.name for n in run]
        use = FNode("use", _run_name(names), args, in_shape=head.in_shape, out_shape=run[-1].out_shape,
                    block=head.block, repeat=len(run), first=first or None, done=True)
        return use

    # -- blocks
    def unify_optional(self, ready: list[FNode]) -> None:
        """Plain chains that change the shape and identity residuals (no activation) with the same body
        are one kind of thing: a residual whose shortcut is ``optional``."""
        by_body: dict[tuple, list[FNode]] = {}
        for n in ready:
            if n.type == "residual" and n.fields.get("shortcut") == "identity" and n.fields.get("join") == "add" \
                    and not n.fields.get("activation") and len(n.lists) == 1:
                by_body.setdefault(tuple(_sig(c) for c in n.lists[0][1]), []).append(n)
            elif n.type == "sequential" and n.in_shape != n.out_shape:
                by_body.setdefault(tuple(_sig(c) for c in n.lists[0][1]), []).append(n)
        for members in by_body.values():
            kinds = {m.type for m in members}
            if kinds != {"residual", "sequential"}:
                continue
            for m in members:
                if m.type == "sequential":
                    m.type = "residual"
                    m.lists = [("body", m.lists[0][1])]
                    m.fields = {"shortcut": "optional", "join": "add", "activation": None, "projection_bn": None}
                else:
                    m.fields["shortcut"] = "optional"

    def worth(self, members: list[FNode]) -> bool:
        """Blocks are what the code names: a module class (Bottleneck, MBConv), a plain container of layers
        (conv, batch norm, activation), or a container every instance gives the same name (MBConv's
        ``block``). A one-layer group reads worse as a block than as the layer; a plain container of
        blocks (a stage) or of repeats would hide the structure its lines show."""
        node = members[0]
        if node.type != "sequential":
            return True
        children = node.lists[0][1]
        if len(children) < 2 or any(n.type == "use" and n.repeat is not None for n in _all_nodes([node])):
            return False
        if node.module_class is not None and node.module_class not in _GENERIC_CLASSES:
            return True
        if any(not c.composite and c.type != "use" for c in children):
            return True
        names = {m.name for m in members}
        return len(names) == 1 and bool(_WORD.fullmatch(names.pop()))

    def make_block(self, members: list[FNode]) -> None:
        try:
            self._make_block(members)
        except _NotABlock:
            return  # written out instead

    def _make_block(self, members: list[FNode]) -> None:
        template = members[0].copy()
        template.done = True
        arg_vals: list[tuple[str, list[Any], FNode]] = []  # (field, values per member, owner in the template)
        for nodes in _parallel([template, *members]):
            tnode, inst = nodes[0], nodes[1:]
            for key in _own_keys(tnode):
                vals = [_get(m, key) for m in inst]
                # in a repeat, $in_channels is each copy's own input, not the use's
                chans = [m.in_shape[0] if m.in_shape and m.repeat is None else None for m in inst]
                _set(tnode, key, self.express(key, vals, chans, arg_vals, tnode))
        if len(arg_vals) > _MAX_ARGS:
            return  # too many differences to read as one block: leave them written out
        paths = {id(t): p for p, t in _paths(template)}
        names = _arg_names([(paths.get(id(owner), ()), key, owner) for key, _, owner in arg_vals], template)
        args: dict[str, tuple[bool, Any]] = {}
        for name, (key, vals, _) in zip(names, arg_vals):
            has_default, default = default_of(vals)
            args[name] = (True, default) if has_default else (False, arg_type(key, vals))
        _rename_args(template, names)
        bname = self.block_name(members)
        self.blocks[bname] = Block(bname, template, args)
        for i, m in enumerate(members):
            per = {name: vals[i] for name, (_, vals, _) in zip(names, arg_vals)}
            use = FNode("use", m.name, per, in_shape=m.in_shape, out_shape=m.out_shape, block=bname, done=True)
            _become(m, use)

    @staticmethod
    def express(key: str, vals: list[Any], chans: list[Any], arg_vals: list[tuple[str, list[Any], FNode]],
                owner: FNode) -> Any:
        """A literal (all members agree), an expression of earlier arguments or of ``$in_channels``, or a
        new argument (a numbered placeholder, renamed once every argument is known)."""
        if key == "shortcut" and set(vals) <= {"identity", "projection"}:
            return "projection" if "projection" in vals else "identity"
        if key == "projection_bn":
            known = [v for v in vals if v is not None]
            if known and same(known):
                return known[0]
        if same(vals):
            return vals[0]
        if any(isinstance(v, str) and "$" in v for v in vals):
            raise _NotABlock(key)  # an expression of the use site's own names cannot become an argument
        for idx, (akey, avals, _) in enumerate(arg_vals):
            expr = relation(vals, avals, f"\0{idx}", key=key, ref_key=akey)
            if expr is not None:
                return expr
        if None not in chans:
            expr = relation(vals, chans, "in_channels")
            if expr is not None:
                return expr
        arg_vals.append((key, vals, owner))
        return f"$\0{len(arg_vals) - 1}"

    def block_name(self, members: list[FNode]) -> str:
        classes = Counter(m.module_class for m in members if m.module_class)
        base = None
        if classes:
            cls = classes.most_common(1)[0][0]
            if cls not in _GENERIC_CLASSES:
                base = _snake(cls)
        if base is None:
            names = {m.name for m in members}
            name = names.pop() if len(names) == 1 else None
            if name and re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name) and not re.match(r"^(block|branch)\d*$", name):
                base = _snake(name)
        if base is None and members[0].type == "sequential":
            kinds = [c.type if c.type != "use" else c.block for c in members[0].lists[0][1]]
            if len(kinds) <= 3:
                base = "_".join(_SHORT.get(k, k) for k in kinds)  # type: ignore[arg-type]
        if base is None:
            base = members[0].type if members[0].type != "sequential" else "block"
        name, k = base, 2
        while name in self.blocks:
            name, k = f"{base}{k}", k + 1
        return name

    # -- blocks used once are written out
    def inline_single_uses(self, top: list[FNode]) -> None:
        counts: Counter[str] = Counter()
        for n in _all_nodes(top):
            if n.type == "use":
                counts[n.block] += 1  # type: ignore[index]
        for b in self.blocks.values():
            for n in _all_nodes([b.template]):
                if n.type == "use":
                    counts[n.block] += 1  # type: ignore[index]
        for bname in list(self.blocks):
            if counts[bname] == 1:
                self._inline(bname, top)

    def _inline(self, bname: str, top: list[FNode]) -> None:
        block = self.blocks.pop(bname)
        holders = [top] + [b.template for b in self.blocks.values()]
        for holder in holders:
            nodes = holder if isinstance(holder, list) else [holder]
            for n in _all_nodes(nodes):
                if n.type == "use" and n.block == bname and n.repeat is None:
                    values = {k: n.fields[k] if k in n.fields else block.args[k][1] for k in block.args}
                    if any(isinstance(v, str) and "$in_" in v for v in values.values()):
                        break  # $in_channels at the use is the block's input, inside it each layer's own

                    body = block.template.copy()
                    _substitute(body, values)
                    body.name = n.name
                    _become(n, body)
                    return
        self.blocks[bname] = block  # only used with repeat: keep it


def _own_keys(n: FNode) -> list[str]:
    """The keys of ``n``'s own values (not its children's), in a fixed order."""
    keys = list(n.fields)
    if n.type == "use":
        if n.repeat is not None:
            keys.append("#repeat")
        keys.extend(f"#first.{k}" for k in sorted(n.first or {}))
    return keys


def _paths(n: FNode, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], FNode]]:
    out = [(path, n)]
    for slot, lst in n.lists:
        for c in lst:
            out.extend(_paths(c, (*path, slot, c.name)))
    return out


def _rename_args(template: FNode, names: list[str]) -> None:
    for n in _all_nodes([template]):
        for key in list(n.fields):
            n.fields[key] = _rename_value(n.fields[key], names)
        if n.first:
            for key in list(n.first):
                n.first[key] = _rename_value(n.first[key], names)
        if isinstance(n.repeat, str):
            n.repeat = _rename_value(n.repeat, names)  # type: ignore[assignment]


def _rename_value(value: Any, names: list[str]) -> Any:
    if isinstance(value, str) and "\0" in value:
        return re.sub(r"\x00(\d+)", lambda m: names[int(m.group(1))], value)
    return value


def _substitute(template: FNode, values: dict[str, Any]) -> None:
    """Arguments replaced by their values (a lone ``$arg`` becomes the value itself)."""
    def sub(value: Any) -> Any:
        if not isinstance(value, str) or "$" not in value:
            return value
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in values:
                return m.group(0)
            v = values[name]
            if isinstance(v, str):
                return v if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", v) else f"({v})"
            return repr(v)
        return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", repl, value)

    for n in _all_nodes([template]):
        for key in list(n.fields):
            n.fields[key] = sub(n.fields[key])
        if n.first:
            for key in list(n.first):
                n.first[key] = sub(n.first[key])


def _become(target: FNode, source: FNode) -> None:
    """Replace ``target`` in place (its parent's list keeps the same object) by ``source``."""
    target.__dict__.update(source.__dict__)


def _composites(root: FNode) -> list[FNode]:
    out = []
    for n in _all_nodes([root]):
        if n.composite:
            out.append(n)
    return out


def _all_nodes(nodes: list[FNode]) -> list[FNode]:
    out: list[FNode] = []
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        out.append(n)
        for _, lst in reversed(n.lists):
            stack.extend(reversed(lst))
    return out


def _run_name(names: list[str]) -> str:
    first, last = names[0], names[-1]
    m1, m2 = re.fullmatch(r"(.*?)(\d+)", first), re.fullmatch(r"(.*?)(\d+)", last)
    if m1 and m2 and m1.group(1) == m2.group(1):
        return f"{first}-{m2.group(2)}"
    return f"{first}-{last}"


def _snake(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip("_"))
    text = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", text)
    return re.sub(r"[^a-z0-9_]", "_", text.lower()).strip("_") or "block"


# --------------------------------------------------------------------------- to spec mappings


def _doc(n: FNode, blocks: dict[str, Block]) -> dict[str, Any]:
    """The spec mapping of a folded node (arguments equal to the block's defaults left out)."""
    if n.type == "use":
        block = blocks[n.block]  # type: ignore[index]
        doc: dict[str, Any] = {"name": n.name, "use": n.block}
        for key, value in n.fields.items():
            has_default, default = block.args[key]
            if not (has_default and _equal(value, default)):
                doc[key] = value
        if n.repeat is not None:
            doc["repeat"] = n.repeat
        if n.first:
            doc["first"] = dict(n.first)
        return doc
    doc = {"name": n.name, "type": n.type}
    if n.type == "residual":
        doc.update(residual_fields(n.fields))
        for slot, lst in n.lists:
            doc[slot] = [_doc(c, blocks) for c in lst]
    elif n.type == "concat":
        doc["branches"] = [{"name": slot[len("branch:"):], "layers": [_doc(c, blocks) for c in lst]} if lst else []
                           for slot, lst in n.lists]
    elif n.type in ("sequential", "side"):
        doc["layers"] = [_doc(c, blocks) for c in n.lists[0][1]]
    else:
        doc.update(leaf_fields(n.type, n.fields))
    return doc


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def fold(top: list[Entry]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The folded spec: its ``layers`` and its ``blocks`` (see the module docstring)."""
    folder = _Folder()
    nodes = folder.run([_from_entry(e) for e in top])
    blocks = folder.blocks
    block_docs: dict[str, dict[str, Any]] = {}
    for name, b in blocks.items():
        t = b.template
        if t.type == "sequential":
            body = [_doc(c, blocks) for c in t.lists[0][1]]
        else:
            one = _doc(t, blocks)
            one.pop("name", None)
            body = [one]
        args = {k: v for k, (_, v) in b.args.items()}
        block_docs[name] = {"args": args, "layers": body}
    return [_doc(n, blocks) for n in nodes], block_docs


def _children(n: FNode, slot: str) -> list[FNode]:
    for s, lst in n.lists:
        if s == slot:
            return lst
    return []

