"""The folding passes: runs of one block into ``repeat``, equal structures into blocks, single uses inlined.

:class:`Folder` works bottom-up on an :class:`~archcalc.importer.fnode.FNode` tree (see
:mod:`archcalc.importer.fold` for what each pass does and why); its :attr:`Folder.blocks` are the blocks
found, each a template with its arguments and their defaults.
"""

from __future__ import annotations

__all__ = ["Folder", "Block"]

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .arguments import arg_type, default_of, linear_in_index, relation, same
from .fnode import FNode, all_nodes, become, composites, get_value, node_paths, own_keys, parallel, set_value, sig
from .fold_args import arg_names, rename_args, substitute

_GENERIC_CLASSES = {"Sequential", "ModuleList", "ModuleDict", "Block", "SideBlock", "ResidualBlock", "ConcatBlock",
                    "SpecModel", "Module"}
_NUMBERED = re.compile(r"_\d+|block\d+")
_WORD = re.compile(r"(?!block\d|branch\d)[A-Za-z][A-Za-z0-9_]*")
_SHORT = {"batchnorm": "bn", "layernorm": "ln", "global_avgpool": "pool"}
_MAX_ARGS = 8


class _NotABlock(Exception):
    """The instances differ in a way a block's arguments cannot say."""


@dataclass
class Block:
    """A block found by folding: its template, and its arguments with their defaults."""

    name: str
    template: FNode  # the composite the block is (its name is the use site's)
    args: dict[str, tuple[bool, Any]]  # argument -> (has a default, the default or the type name)


class Folder:
    """The folding passes over one tree; :attr:`blocks` collects the blocks they make."""

    def __init__(self) -> None:
        self.blocks: dict[str, Block] = {}

    def run(self, top: list[FNode]) -> list[FNode]:
        root = FNode("sequential", "<root>", lists=[("layers", top)])
        while True:
            ready = [n for n in composites(root) if not n.done and n is not root and all(
                c.done for _, lst in n.lists for c in lst if c.composite)]
            if not ready:
                break
            for n in ready:
                self.fold_runs(n)
            ready = [n for n in ready if n.type != "use"]
            self.unify_optional(ready)
            groups: dict[tuple, list[FNode]] = {}
            for n in ready:
                groups.setdefault(sig(n, with_name=False), []).append(n)
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
                become(parent, run)
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
                by_body.setdefault(tuple(sig(c) for c in n.lists[0][1]), []).append(n)
            elif n.type == "sequential" and n.in_shape != n.out_shape:
                by_body.setdefault(tuple(sig(c) for c in n.lists[0][1]), []).append(n)
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
        if len(children) < 2 or any(n.type == "use" and n.repeat is not None for n in all_nodes([node])):
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
        for nodes in parallel([template, *members]):
            tnode, inst = nodes[0], nodes[1:]
            for key in own_keys(tnode):
                vals = [get_value(m, key) for m in inst]
                # in a repeat, $in_channels is each copy's own input, not the use's
                chans = [m.in_shape[0] if m.in_shape and m.repeat is None else None for m in inst]
                set_value(tnode, key, self.express(key, vals, chans, arg_vals, tnode))
        if len(arg_vals) > _MAX_ARGS:
            return  # too many differences to read as one block: leave them written out
        paths = {id(t): p for p, t in node_paths(template)}
        names = arg_names([(paths.get(id(owner), ()), key, owner) for key, _, owner in arg_vals], template)
        args: dict[str, tuple[bool, Any]] = {}
        for name, (key, vals, _) in zip(names, arg_vals):
            has_default, default = default_of(vals)
            args[name] = (True, default) if has_default else (False, arg_type(key, vals))
        rename_args(template, names)
        bname = self.block_name(members)
        self.blocks[bname] = Block(bname, template, args)
        for i, m in enumerate(members):
            per = {name: vals[i] for name, (_, vals, _) in zip(names, arg_vals)}
            use = FNode("use", m.name, per, in_shape=m.in_shape, out_shape=m.out_shape, block=bname, done=True)
            become(m, use)

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
        for n in all_nodes(top):
            if n.type == "use":
                counts[n.block] += 1  # type: ignore[index]
        for b in self.blocks.values():
            for n in all_nodes([b.template]):
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
            for n in all_nodes(nodes):
                if n.type == "use" and n.block == bname and n.repeat is None:
                    values = {k: n.fields[k] if k in n.fields else block.args[k][1] for k in block.args}
                    if any(isinstance(v, str) and "$in_" in v for v in values.values()):
                        break  # $in_channels at the use is the block's input, inside it each layer's own

                    body = block.template.copy()
                    substitute(body, values)
                    body.name = n.name
                    become(n, body)
                    return
        self.blocks[bname] = block  # only used with repeat: keep it


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
