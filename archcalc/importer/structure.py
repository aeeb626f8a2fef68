"""Rebuild the series-parallel structure of a mapped graph: chains, residuals, concatenations, side heads.

Every op is placed by walking back from the model's output. A layer's input is the previous entry of
the same chain. A join (``add``, ``mul``, ``cat``) closes a fork: its operands are followed back to
the join's *immediate dominator* (the last node every path from the input to the join passes
through), which is where the fork opened; each operand's path from there is one branch. So

* ``x + f(x)`` or ``f(x) + g(x)`` is a ``residual``: the shortcut is the empty branch (identity), or
  the lighter one (a list of layers, later recognised as ``projection`` where it is one);
* ``x * g(x)`` is a ``residual`` with ``join: multiply`` whose body is the gate (squeeze-excite);
* ``torch.cat([...], 1)`` is a ``concat`` with its branches in order; DenseNet's growing lists
  (``cat([x0, y1])``, ``cat([x0, y1, y2])``, ...) are rewritten first into nested pairs
  (``cat([cat([x0, y1]), y2])``), which is what DenseNet computes;
* an activation right after a residual's join, in the same module, is the residual's ``activation``;
* a returned tensor other than the first is a ``side`` head placed where it leaves the main path.

A node the walk would place twice (a value used by two branches that never rejoin in a
series-parallel way) cannot be written as a spec and is an error naming it. Names come from module
paths (:mod:`archcalc.importer.naming`).
"""

from __future__ import annotations

__all__ = ["build_tree"]

from typing import Any

from ..kinds import ACTIVATION_KINDS
from .errors import ImportModelError
from .graph import TNode
from .mapping import Mapping, Op
from .tree import Branch, Entry, common_prefix


class _Builder:
    def __init__(self, mapping: Mapping):
        self.m = mapping
        self.ops = mapping.ops
        self.consumers: dict[int, list[int]] = {i: [] for i in self.ops}
        for op in self.ops.values():
            for u in dict.fromkeys(op.inputs):
                self.consumers[u].append(op.id)
        self.idom: dict[int, int] = {}
        self.depth: dict[int, int] = {mapping.input: 0}
        self.claimed: dict[int, str] = {}
        self._rewrite_dense_cats()
        self._dominators()

    # -- preparation
    def _rewrite_dense_cats(self) -> None:
        """``cat([a, b, c])`` where ``cat([a, b])`` exists -> ``cat([cat([a, b]), c])`` (DenseNet)."""
        seen: dict[tuple[int, ...], int] = {}
        for op in self.ops.values():
            if op.kind != "join" or op.join != "cat":
                continue
            ins = tuple(op.inputs)
            for k in range(len(ins) - 1, 1, -1):
                prefix = seen.get(ins[:k])
                if prefix is not None:
                    for u in dict.fromkeys(op.inputs):
                        self.consumers[u].remove(op.id)
                    op.inputs = [prefix, *ins[k:]]
                    op.in_shapes = [self.ops[prefix].out_shape, *op.in_shapes[k:]]
                    for u in dict.fromkeys(op.inputs):
                        self.consumers[u].append(op.id)
                    break
            seen.setdefault(ins, op.id)

    def _dominators(self) -> None:
        reach = {self.m.input}
        for op in self.ops.values():  # execution order: inputs come first
            if op.kind == "input":
                continue
            preds = [u for u in dict.fromkeys(op.inputs) if u in reach]
            if not preds or len(preds) != len(set(op.inputs)):
                continue  # not computed from the input (constants only): left out
            d = preds[0]
            for p in preds[1:]:
                d = self._lca(d, p)
            self.idom[op.id] = d
            self.depth[op.id] = self.depth[d] + 1
            reach.add(op.id)

    def _lca(self, a: int, b: int) -> int:
        while a != b:
            if self.depth[a] >= self.depth[b]:
                a = self.idom[a]
            else:
                b = self.idom[b]
        return a

    # -- placing
    def claim(self, op: Op, what: str) -> None:
        if op.id in self.claimed:
            raise ImportModelError(
                f"the model is not series-parallel at {op.node.where()}: its output is used by two branches that do "
                "not rejoin as a residual or a concatenation, which a spec cannot write")
        self.claimed[op.id] = what

    def seq(self, start: int, stop: int) -> list[Entry]:
        """The entries that turn the output of ``start`` into the output of ``stop`` (start dominates stop)."""
        out: list[Entry] = []
        cur = stop
        while cur != start:
            if cur == self.m.input:
                raise ImportModelError(f"cannot place {self.ops[stop].node.where()} on a path from "
                                       f"{self.ops[start].node.where()}")
            op = self.ops[cur]
            if op.kind == "layer":
                join = self._absorbed_join(op)
                if join is not None:
                    entry, cur = self.join_entry(join, activation=op)
                    out.append(entry)
                    continue
                self.claim(op, "layer")
                out.extend(reversed(self.leaf_entries(op)))
                cur = op.inputs[0]
            else:
                entry, cur = self.join_entry(op)
                out.append(entry)
        out.reverse()
        return out

    def _absorbed_join(self, op: Op) -> Op | None:
        """The residual join whose activation ``op`` is (an activation right after it, in its module)."""
        if len(op.entries) != 1 or op.entries[0]["type"] not in ACTIVATION_KINDS:
            return None
        src = self.ops.get(op.inputs[0])
        if src is None or src.kind != "join" or src.join == "cat" or self.consumers[src.id] != [op.id]:
            return None
        # in the join's module, or in the module around it (a module whose forward is only the addition)
        scope = src.node.scope.rpartition(".")[0] if "." in src.node.scope else src.node.scope
        where = op.node.target if op.node.op == "module" else op.node.scope
        if scope and not (where == scope or where.startswith(scope + ".")):
            return None
        return src

    def leaf_entries(self, op: Op) -> list[Entry]:
        entries = []
        shape = op.in_shapes[0]
        for i, fields in enumerate(op.entries):
            last = i == len(op.entries) - 1
            out_shape = op.out_shape if last else _after(fields, shape)
            entries.append(Entry(fields["type"], dict(fields), rows=[(op.id, fields["type"])], in_shape=shape,
                                 out_shape=out_shape, path=_leaf_path(op.node, fields["type"])))
            shape = out_shape
        return entries

    def join_entry(self, op: Op, activation: Op | None = None) -> tuple[Entry, int]:
        self.claim(op, "join")
        d = self.idom[op.id]
        branches = [self.seq(d, u) for u in op.inputs]
        in_shape = self.ops[d].out_shape
        scope = tuple(op.node.scope.split(".")) if op.node.scope else ()
        if op.join == "cat":
            entry = Entry("concat", {}, branches=[Branch(b) for b in branches], rows=[(op.id, "concat")],
                          in_shape=in_shape, out_shape=op.out_shape, path=scope, join_scope=scope)
        else:
            body_i, short_i = self._roles(op, branches)
            fields: dict[str, Any] = {"join": "multiply" if op.join == "mul" else "add", "activation": None,
                                      "shortcut": "identity"}
            rows = [(op.id, "mul" if op.join == "mul" else "add")]
            if activation is not None:
                self.claim(activation, "activation")
                fields["activation"] = activation.entries[0]["type"]
                rows.append((activation.id, fields["activation"]))
                scope = scope or ()
            shortcut = branches[short_i] if branches[short_i] else None
            entry = Entry("residual", fields, body=branches[body_i], shortcut=shortcut, rows=rows, in_shape=in_shape,
                          out_shape=activation.out_shape if activation is not None else op.out_shape, path=scope,
                          join_scope=scope)
            if shortcut is not None:
                entry.fields["shortcut"] = "list"
        return entry, d

    def _roles(self, op: Op, branches: list[list[Entry]]) -> tuple[int, int]:
        """(body, shortcut) operand indices of a residual join."""
        a, b = branches
        if op.join == "mul":
            # the shortcut keeps the output's shape; the body is the gate (its size-1 axes broadcast)
            full = [i for i, s in enumerate(op.in_shapes) if s == op.out_shape]
            if len(full) == 1:
                return 1 - full[0], full[0]
            if not b:
                return 0, 1
            return 1, 0
        if not a and b:
            return 1, 0
        return 0, 1  # `body + shortcut`, as the code adds them (`out += identity`: out is the body)

    def build(self) -> list[Entry]:
        outs = self.m.outputs
        main = outs[0]
        top = self.seq(self.m.input, main)
        for side in outs[1:]:
            self._side(top, side)
        placed = set(self.claimed) | {self.m.input}
        needed = self._needed()
        missing = [self.ops[i] for i in needed if i not in placed]
        if missing:
            raise ImportModelError(f"cannot place {missing[0].node.where()} in a series-parallel structure")
        return top

    def _needed(self) -> set[int]:
        need: set[int] = set()
        stack = list(self.m.outputs)
        while stack:
            i = stack.pop()
            if i in need:
                continue
            need.add(i)
            stack.extend(self.ops[i].inputs)
        return need

    def _side(self, top: list[Entry], side: int) -> None:
        if side in self.claimed or side == self.m.input:
            raise ImportModelError(f"the model returns {self.ops[side].node.where()}, a tensor on the main path, as "
                                   "an extra output; only heads that branch off the main path can be side outputs")
        cur, entries = side, []
        while cur not in self.claimed and cur != self.m.input:
            op = self.ops[cur]
            if op.kind == "layer":
                join = self._absorbed_join(op)
                if join is not None:
                    entry, cur = self.join_entry(join, activation=op)
                    entries.append(entry)
                    continue
                self.claim(op, "layer")
                entries.extend(reversed(self.leaf_entries(op)))
                cur = op.inputs[0]
            else:
                entry, cur = self.join_entry(op)
                entries.append(entry)
        entries.reverse()
        paths = [e.path for e in entries]
        entry = Entry("side", {}, layers=entries, in_shape=self.ops[cur].out_shape,
                      out_shape=self.ops[side].out_shape, path=common_prefix(paths))
        if cur == self.m.input:
            top.insert(0, entry)
        elif not _insert_after(top, cur, entry):
            raise ImportModelError(f"cannot place the side output {self.ops[side].node.where()}")


def _insert_after(entries: list[Entry], node: int, side: Entry) -> bool:
    for i, e in enumerate(entries):
        if _output_node(e) == node:
            entries.insert(i + 1, side)
            return True
        for _, lst in e.child_lists():
            if _insert_after(lst, node, side):
                return True
    return False


def _output_node(e: Entry) -> int | None:
    if e.type in ("residual", "concat") and e.rows:
        return e.rows[-1][0]
    if not e.composite and e.rows:
        return e.rows[0][0]
    return None


def _after(fields: dict[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape after an entry that is not the last of its op (global pooling before a flatten)."""
    if fields["type"] == "global_avgpool":
        return (shape[0], *(1,) * (len(shape) - 1))
    return shape


def _leaf_path(node: TNode, kind: str) -> tuple[str, ...]:
    if node.op == "module":
        return tuple(node.target.split("."))
    return (*(node.scope.split(".") if node.scope else ()), kind)


def build_tree(mapping: Mapping) -> list[Entry]:
    """The spec tree of a mapped graph (see the module docstring), not yet named."""
    builder = _Builder(mapping)
    top = builder.build()
    _set_prefixes(top)
    return top


def _set_prefixes(entries: list[Entry]) -> None:
    """A composite's path: the module scope common to all it holds (and its own join's scope)."""
    for e in entries:
        if not e.composite:
            continue
        for _, lst in e.child_lists():
            _set_prefixes(lst)
        scopes = [_npath(c) for _, lst in e.child_lists() for c in lst]
        if e.type in ("residual", "concat"):
            scopes.append(e.path)
        e.path = common_prefix(scopes) if scopes else e.path


def _npath(e: Entry) -> tuple[str, ...]:
    """Where an entry lives: a leaf's module scope (its path without its own name), a composite's path."""
    return e.path[:-1] if not e.composite else e.path
