"""Resolve block uses, ``repeat``, ``when``, ``$`` expressions, names and ``set:`` patches.

Input: the raw layer entries of a :class:`~archcalc.spec.document.SpecDocument`. Output: a tree of
plain mappings (:class:`~archcalc.yamlio.Node`, still carrying their YAML lines) that validates
against :data:`archcalc.spec.layers.LayerList`.

Rules, in the order they apply to one entry:

* ``when: <bool or $expr>`` -- the entry is dropped when false (optional layers: BN, aux heads).
* ``$`` strings are evaluated with :mod:`archcalc.expr` in the current environment
  (spec ``params``, shadowed by block arguments, and the entry's input shape ``$in_channels``,
  ``$in_height``, ``$in_width``, ``$in_depth``: see :mod:`archcalc.spec.scope`).
* ``use: <block>`` inlines a block with the entry's other keys as arguments. A block of one
  layer becomes that layer, named by the use site; a longer block becomes a ``sequential``.
* ``repeat: N`` makes a ``sequential`` named by the entry whose children are ``block1..blockN``;
  ``first: {...}`` overrides arguments (block use) or fields (plain layer) of the first copy;
  ``$repeat_index`` is each copy's index from 0 (ConvNeXt's stochastic-depth rate grows with it).
* Unnamed layers get ``<type><k>`` (``relu1``, ``relu2``...) within their parent, or the block's
  name for a block use; names must be unique among siblings (:mod:`archcalc.spec.names`, which
  also applies ``set:`` patches after expansion).
* Compound scaling (when asked): literal ``out`` of convolutions and literal ``channels``
  arguments become ``make_divisible(width * c)``; literal ``repeat`` becomes ``ceil(depth * n)``.
"""

from __future__ import annotations

__all__ = ["expand_layers", "RESERVED_NAMES"]

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, SpecError
from ..expr import ExprError, is_expression, make_divisible
from ..yamlio import Node, Seq
from .document import BlockDef, Scale
from .names import RESERVED_NAMES, AutoBases, _assign_names, apply_patches
from .scope import SHAPE_NAMES, Cursor, Scope
from .nodes import describe as _describe
from .nodes import loc as _loc
from .nodes import node_like as _node_like
from .nodes import seq_from as _seq_from
from .nodes import seq_like as _seq_like
from .nodes import string_keys as _string_keys
from .nodes import with_via as _with_via

ENTRY_KEYS = ("repeat", "first", "when")
"""Keys of a layer entry that expansion consumes, besides the layer's own fields."""
ARG_TYPES = {"int", "float", "bool", "str", "list", "any", "channels"}
REPEAT_INDEX = "repeat_index"
"""Bound in each copy of a ``repeat``: its index from 0 (the innermost ``repeat`` wins)."""
_BOUND_NAMES = {*SHAPE_NAMES, REPEAT_INDEX}


def _bound_meaning(name: str) -> str:
    return "the copy's index in a repeat" if name == REPEAT_INDEX else "the input shape of the layer that reads it"


MAX_LAYERS = 1_000_000
MAX_DEPTH = 64
MAX_NESTING = 100
"""Layer lists nested inside layer lists (sequential in residual in block in ...), all causes together."""


@dataclass
class _Ctx:
    blocks: dict[str, BlockDef]
    block_nodes: dict[str, Node]
    scale: Scale | None
    stack: list[str] = field(default_factory=list)
    count: int = 0  # entries produced so far, at every level
    nesting: int = 0  # layer lists open right now
    bases: AutoBases = field(default_factory=AutoBases)  # automatic-name bases of the nodes built
    reads: set[str] = field(default_factory=set)  # the input-shape names expressions read ($in_channels, ...)


def expand_layers(raw: Seq, *, params: dict[str, Any], blocks: dict[str, BlockDef],
                  block_nodes: dict[str, Node], scale: Scale | None, input_shape: tuple[int, ...],
                  patches: dict[str, dict[str, Any]] | None = None, patches_node: Node | None = None,
                  params_node: Node | None = None) -> tuple[Seq, frozenset[str]]:
    """Expand ``raw`` on a network input of ``input_shape`` (what ``$in_channels`` reads first).

    Returns the layers and the input-shape names their expressions read (``in_channels``, ``in_height``...).
    """
    ctx = _Ctx(blocks, block_nodes, scale)
    taken = sorted(set(params) & _BOUND_NAMES)
    if taken:
        raise SpecError(f"the parameter name(s) {', '.join(taken)} are reserved: ${taken[0]} is {_bound_meaning(taken[0])}",
                        params_node.location(taken[0]) if params_node else raw.location())
    top = Cursor(lambda: tuple(input_shape))
    layers = _expand_list(raw, Scope(dict(params), top, ctx.reads), ctx, via=None)
    if not layers:
        raise SpecError("the network has no layers (every entry was dropped by 'when')", raw.location())
    _assign_names(layers, scope="", bases=ctx.bases)
    if patches:
        if ctx.reads:
            raise SpecError("'set:' patches cannot be combined with expressions that read the input shape "
                            "($in_channels, $in_height, ...): the shapes they read would no longer be the "
                            "patched network's", patches_node.location() if patches_node else raw.location(),
                            hint="pass the value as a spec parameter or block argument instead of patching it")
        apply_patches(layers, patches, patches_node)
    return layers, frozenset(ctx.reads)


# --------------------------------------------------------------------------- expansion


def _expand_list(raw: Any, env: Scope, ctx: _Ctx, via: str | None, where: Location | None = None) -> Seq:
    """Expand a list of layer entries whose input is that of ``env``'s entry; ``where`` locates ``raw``
    when it is a scalar (no marks of its own)."""
    if not isinstance(raw, list):
        loc = raw.location() if isinstance(raw, (Node, Seq)) else (where or Location())
        raise SpecError(f"expected a list of layers, got {_describe(raw)}", _with_via(loc, via))
    if len(ctx.stack) > MAX_DEPTH:
        raise SpecError(f"blocks nested more than {MAX_DEPTH} deep", _with_via(_loc(raw), via))
    if ctx.nesting >= MAX_NESTING:
        raise SpecError(f"layers nested more than {MAX_NESTING} deep (groups inside groups, counting the "
                        "layers of every block used)", _with_via(_loc(raw), via))
    ctx.nesting += 1
    cursor = env.cursor.child()
    try:
        out = _seq_like(raw)
        for index, entry in enumerate(raw):
            if not isinstance(entry, Node):
                loc = raw.location(index) if isinstance(raw, Seq) else Location()
                raise SpecError(f"each layer must be a mapping such as {{type: conv, ...}}, got {_describe(entry)}",
                                _with_via(loc, via))
            nodes = _expand_entry(entry, env.at(cursor), ctx, via)
            out.extend(nodes)
            cursor.push(nodes)
            _check_count(ctx, 0, entry, via)
    finally:
        ctx.nesting -= 1
    return out


def _check_count(ctx: _Ctx, more: int, entry: Node, via: str | None, detail: str = "") -> None:
    """Refuse a network of more than MAX_LAYERS entries, counting ``more`` still to be built."""
    if ctx.count + more > MAX_LAYERS:
        raise SpecError(f"the network expands to more than {MAX_LAYERS:,} layers{detail}",
                        _with_via(entry.location("repeat" if "repeat" in entry else None), via))


def _expand_entry(entry: Node, env: Scope, ctx: _Ctx, via: str | None) -> list[Node]:
    if "when" in entry:
        cond = _value(entry, "when", env, via)
        if not isinstance(cond, bool):
            raise SpecError(f"'when' must be true or false, got {cond!r}", _with_via(entry.location("when"), via))
        if not cond:
            return []
    repeat = None
    if "repeat" in entry:
        repeat = _value(entry, "repeat", env, via)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise SpecError(f"'repeat' must be a positive integer, got {repeat!r}",
                            _with_via(entry.location("repeat"), via))
        if ctx.scale is not None and not is_expression(entry["repeat"]):
            repeat = math.ceil(repeat * ctx.scale.depth)
    first = entry.get("first")
    if first is not None and not isinstance(first, Node):
        raise SpecError("'first' must be a mapping of overrides for the first repetition",
                        _with_via(entry.location("first"), via))
    if first is not None and repeat is None:
        raise SpecError("'first' only makes sense with 'repeat'", _with_via(entry.location("first"), via))

    # Copies after the first are identical, so once one of them is built, the size of the rest is
    # known: refuse before building them (repeat: 1000000000, or repeats nested in repeats).
    copies: list[Node] = []
    total = repeat or 1
    # each copy's input is the previous copy's output
    cursor = env.cursor.child() if repeat is not None else env.cursor
    for i in range(total):
        overrides = first if (i == 0 and first is not None) else None
        before = ctx.count
        here = env.at(cursor) if repeat is None else env.at(cursor).extend({REPEAT_INDEX: i})
        if "use" in entry:
            copies.append(_expand_use(entry, overrides, here, ctx, via))
        else:
            copies.append(_expand_plain(entry, overrides, here, ctx, via))
        if repeat is not None:
            cursor.push(copies[-1:])
        ctx.count += 1
        if overrides is None and i + 1 < total:
            size = ctx.count - before
            _check_count(ctx, size * (total - i - 1), entry, via,
                         f" ({total:,} repetitions of {size:,} layer{'s' if size > 1 else ''})")
    if repeat is None:
        return copies
    for i, node in enumerate(copies, start=1):
        node["name"] = f"block{i}"
    group = _node_like(entry, via)
    group["type"] = "sequential"
    if "name" in entry:
        group["name"] = _value(entry, "name", env, via)
    else:
        ctx.bases.set(group, entry.get("use", entry.get("type")))
    group["layers"] = _seq_from(copies, entry)
    return [group]


def _expand_plain(entry: Node, overrides: Node | None, env: Scope, ctx: _Ctx, via: str | None) -> Node:
    _string_keys(entry, via)
    if overrides is not None:
        _string_keys(overrides, via)
    node = _node_like(entry, via)
    for key, raw in entry.items():
        if key in ENTRY_KEYS:
            continue
        source = overrides if overrides is not None and key in overrides else entry
        node[key] = _field(source, key, env, ctx, via, layer_type=entry.get("type"))
    if overrides is not None:
        for key in overrides:
            if key not in entry:
                node[key] = _field(overrides, key, env, ctx, via, layer_type=entry.get("type"))
                node.key_lines[key] = overrides.key_lines.get(key, overrides.line)
    return node


def _field(source: Node, key: str, env: Scope, ctx: _Ctx, via: str | None, *, layer_type: Any) -> Any:
    raw = source[key]
    if key in ("layers", "body", "shortcut", "branches") and is_expression(raw):
        # a layer list passed as an argument: expand the list it names (a string stays a string)
        value = _substitute(raw, env, source, key, via)
        if key == "shortcut" and isinstance(value, str):
            return value
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise SpecError(f"'{key}' must be a list of layers (mappings such as {{type: conv, ...}}), "
                            f"but {raw} is {_describe(value)}", _with_via(source.location(key), via))
        raw = value
    if key in ("layers", "body") or (key == "shortcut" and isinstance(raw, list)):
        return _expand_list(raw, env, ctx, via, source.location(key))
    if key == "branches" and isinstance(raw, list):
        return _expand_branches(raw, env, ctx, via)
    value = _substitute(raw, env, source, key, via)
    if (key == "out" and layer_type in ("conv", "conv_transpose") and ctx.scale is not None
            and isinstance(value, int) and not is_expression(raw)):
        value = make_divisible(value * ctx.scale.width, ctx.scale.divisor)
    return value


def _expand_branches(raw: Seq, env: Scope, ctx: _Ctx, via: str | None) -> Seq:
    out = _seq_like(raw)
    for index, branch in enumerate(raw):
        if isinstance(branch, list):
            node = Node().copy_marks(branch) if isinstance(branch, Seq) else Node()
            node["layers"] = _expand_list(branch, env, ctx, via)
        elif isinstance(branch, Node):
            if "layers" not in branch:
                raise SpecError("a branch written as a mapping needs 'layers' (layers: [] is the identity)",
                                _with_via(raw.location(index), via))
            _string_keys(branch, via)
            node = _node_like(branch, via)
            for key in branch:
                if key == "layers":
                    node["layers"] = _expand_list(branch["layers"], env, ctx, via, branch.location("layers"))
                else:
                    node[key] = _substitute(branch[key], env, branch, key, via)
        else:
            raise SpecError("each branch is a list of layers or {name: ..., layers: [...]}",
                            _with_via(raw.location(index), via))
        out.append(node)
    return out


def _expand_use(entry: Node, overrides: Node | None, env: Scope, ctx: _Ctx, via: str | None) -> Node:
    _string_keys(entry, via)
    if overrides is not None:
        _string_keys(overrides, via)
    block_name = _value(entry, "use", env, via)
    if not isinstance(block_name, str) or block_name not in ctx.blocks:
        known = sorted(ctx.blocks)
        close = difflib.get_close_matches(str(block_name), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else (f"defined blocks: {', '.join(known)}" if known else
                                                             "this spec defines no blocks")
        raise SpecError(f"unknown block {block_name!r}", _with_via(entry.location("use"), via), hint=hint)
    if block_name in ctx.stack:
        chain = " -> ".join(ctx.stack + [block_name])
        raise SpecError(f"recursive block: {chain}", _with_via(entry.location("use"), via))
    block = ctx.blocks[block_name]
    block_node = ctx.block_nodes[block_name]
    bound = _bind_args(block_name, block, block_node, entry, overrides, env, ctx, via)
    inner_via = f"in block '{block_name}' used at {entry.file or '<spec>'}:{entry.line}"
    ctx.stack.append(block_name)
    try:
        layers = _expand_list(block_node["layers"], env.extend(bound), ctx, inner_via, block_node.location("layers"))
    finally:
        ctx.stack.pop()
    name = _value(entry, "name", env, via) if "name" in entry else None
    if len(layers) == 1:
        node = layers[0]
        node.pop("name", None)
    else:
        node = _node_like(entry, via)
        node["type"] = "sequential"
        node["layers"] = layers
    if name is not None:
        node["name"] = name
    else:
        ctx.bases.set(node, block_name)
    return node


def _bind_args(block_name: str, block: BlockDef, block_node: Node, entry: Node, overrides: Node | None,
               env: Scope, ctx: _Ctx, via: str | None) -> dict[str, Any]:
    given: dict[str, tuple[Node, str]] = {}
    for source in (entry, overrides):
        if source is None:
            continue
        for key in source:
            if key in ("use", "name") or key in ENTRY_KEYS:
                continue
            given[key] = (source, key)
    reserved = sorted(set(block.args) & {*ENTRY_KEYS, "use", "name"})
    if reserved:
        raise SpecError(f"block '{block_name}' declares argument(s) {', '.join(reserved)}, which are reserved "
                        "for the use site (use, name, repeat, first, when); rename them",
                        block_node.location("args"))
    shaped = sorted(set(block.args) & _BOUND_NAMES)
    if shaped:
        raise SpecError(f"block '{block_name}' declares argument(s) {', '.join(shaped)}, which are reserved: "
                        f"${shaped[0]} is {_bound_meaning(shaped[0])}; rename them",
                        block_node.location("args"))
    bound: dict[str, Any] = {}
    for key, (source, _) in given.items():
        if key not in block.args:
            close = difflib.get_close_matches(key, list(block.args), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"arguments of '{block_name}': {', '.join(block.args) or 'none'}"
            raise SpecError(f"block '{block_name}' has no argument '{key}'", _with_via(source.location(key), via), hint=hint)
    for arg, default in block.args.items():
        kind = default if isinstance(default, str) and default in ARG_TYPES else None
        if isinstance(default, Node) and "type" in default:
            kind, default = default.get("type"), default.get("default")
        if arg in given:
            source, key = given[arg]
            raw = source[key]
            value = _substitute(raw, env, source, key, via)
            if kind == "channels" and ctx.scale is not None and isinstance(value, int) and not is_expression(raw):
                value = make_divisible(value * ctx.scale.width, ctx.scale.divisor)
        elif kind is not None and (default is None or default in ARG_TYPES):
            raise SpecError(f"block '{block_name}' needs argument '{arg}' ({kind})",
                            _with_via(entry.location("use"), via))
        else:
            value = default
        if kind in ("int", "channels") and (isinstance(value, bool) or not isinstance(value, int)):
            raise SpecError(f"argument '{arg}' of block '{block_name}' must be an integer, got {value!r}",
                            _with_via(entry.location(arg if arg in entry else "use"), via))
        bound[arg] = value
    return bound


# --------------------------------------------------------------------------- values


def _value(node: Node, key: str, env: Scope, via: str | None) -> Any:
    return _substitute(node[key], env, node, key, via)


def _substitute(raw: Any, env: Scope, owner: Node | Seq, key: Any, via: str | None) -> Any:
    if is_expression(raw):
        try:
            return env.evaluate(raw)
        except ExprError as exc:
            raise SpecError(str(exc), _with_via(owner.location(key), via)) from None
    if isinstance(raw, Node):
        node = _node_like(raw, via)
        for k, v in raw.items():
            node[k] = _substitute(v, env, raw, k, via)
        return node
    if isinstance(raw, list):
        seq = _seq_like(raw)
        seq.extend(_substitute(v, env, raw, i, via) for i, v in enumerate(raw))
        return seq
    return raw
