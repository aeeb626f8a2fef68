"""What an expression can read while a spec expands: its ``params``, the block arguments in force, and
the shape of the tensor entering the entry (``$in_channels``, ``$in_height``, ``$in_width``, ``$in_depth``).

The shape is computed only when an expression asks for it: a :class:`Cursor` follows one layer list,
and asking for the input of its next entry validates and analyzes the entries expanded before it
(once each; later questions continue from the last answer). A nested list (a block's layers, a
residual's body, a concat branch) starts from the input of the entry that holds it; in ``repeat``,
each copy starts from the previous copy's output.

The shape is that of the network as written, before ``set:`` patches (see
:func:`archcalc.spec.expand.expand_layers`, which refuses the combination).
"""

from __future__ import annotations

__all__ = ["Cursor", "Scope", "SHAPE_NAMES"]

from typing import Any, Callable, Iterator, Mapping

from ..errors import ArchcalcError
from ..expr import ExprError, evaluate, names

MEMO_ENTRIES = 65_536
"""At most this many remembered results of :meth:`Scope.evaluate` (then the memo starts again)."""
_MEMO: dict[tuple[Any, ...], Any] = {}

SHAPE_NAMES = ("in_channels", "in_height", "in_width", "in_depth")
"""The names bound to the entry's input shape ``[C, (D,) (H,) W]``; spec params and block arguments may not use them."""

_AXIS = {"in_width": 1, "in_height": 2, "in_depth": 3}  # counted from the last spatial axis


class Cursor:
    """The input shape of the next entry of one layer list, computed on demand."""

    __slots__ = ("_start", "nodes", "_known")

    def __init__(self, start: Callable[[], tuple[int, ...]]):
        self._start = start
        self.nodes: list[Any] = []  # the entries expanded so far (raw nodes)
        self._known: tuple[int, tuple[int, ...]] | None = None  # (entries analyzed, shape after them)

    def child(self) -> "Cursor":
        """A cursor for a list nested in the current entry: it starts from this entry's input."""
        return Cursor(self.shape)

    def push(self, nodes: list[Any]) -> None:
        self.nodes.extend(nodes)

    def shape(self) -> tuple[int, ...]:
        if self._known is None:
            self._known = (0, self._start())
        count, shape = self._known
        if count < len(self.nodes):
            shape = _output_shape(self.nodes[count:], shape)
            self._known = (len(self.nodes), shape)
        return shape


def _output_shape(nodes: list[Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Validate and analyze ``nodes`` (already expanded) from ``shape``; the shape they produce."""
    # The analyzer sits above the spec package; it is needed only when a spec reads its shapes.
    from pydantic import ValidationError

    from ..analysis.engine import output_shape
    from ..yamlio import Seq
    from .load import _LAYERS, _attach_origins
    from .translate import translate

    seq = Seq(nodes)
    try:
        layers = _LAYERS.validate_python(seq)
    except ValidationError as exc:
        raise translate(exc, seq, top_level=False) from None
    _attach_origins(layers, seq)
    return output_shape(layers, shape)


class Scope(Mapping[str, Any]):
    """Names for :func:`archcalc.expr.evaluate`: fixed values, then the input shape at ``cursor``.

    ``reads`` collects the shape names read (shared by every scope of one expansion).
    """

    __slots__ = ("values", "cursor", "reads")

    def __init__(self, values: dict[str, Any], cursor: Cursor, reads: set[str]):
        self.values = values
        self.cursor = cursor
        self.reads = reads

    def at(self, cursor: Cursor) -> "Scope":
        return Scope(self.values, cursor, self.reads)

    def extend(self, more: dict[str, Any]) -> "Scope":
        return Scope({**self.values, **more}, self.cursor, self.reads)

    def evaluate(self, text: str) -> Any:
        """:func:`archcalc.expr.evaluate` of ``text`` here, remembered by the text and the values (and their
        types: ``true`` is not ``1``) of the names it reads, when all of them are fixed values: a block used
        a hundred times with the same arguments evaluates each of its expressions once per process. An
        expression that reads the input shape, or a value that cannot be a key (a list), is evaluated
        every time; errors are never remembered."""
        values = self.values
        key: list[Any] = [text]
        for name in names(text):
            if name not in values:  # the input shape (or an unknown name: evaluate words the error)
                return evaluate(text, self)
            value = values[name]
            key += (type(value), value)
        try:
            return _MEMO[tuple(key)]
        except KeyError:
            pass
        except TypeError:  # an unhashable value
            return evaluate(text, self)
        result = evaluate(text, self)
        if len(_MEMO) >= MEMO_ENTRIES:
            _MEMO.clear()
        _MEMO[tuple(key)] = result
        return result

    def __contains__(self, key: object) -> bool:
        return key in self.values or key in SHAPE_NAMES

    def __getitem__(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        if key not in SHAPE_NAMES:
            raise KeyError(key)
        self.reads.add(key)
        try:
            shape = self.cursor.shape()
        except ArchcalcError as exc:
            found = f"found while computing ${key} for a later layer"
            raise type(exc)(exc.message, exc.location, hint=f"{exc.hint}; {found}" if exc.hint else found) from None
        if key == "in_channels":
            return shape[0]
        axis = _AXIS[key]
        if len(shape) - 1 < axis:
            raise ExprError(f"${key}: the input here is {list(shape)}, which has no "
                            f"{key[3:]} axis")
        return shape[-axis]

    def __iter__(self) -> Iterator[str]:
        yield from self.values
        yield from (k for k in SHAPE_NAMES if k not in self.values)

    def __len__(self) -> int:
        return len(self.values) + sum(k not in self.values for k in SHAPE_NAMES)
