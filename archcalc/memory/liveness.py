"""The static memory model of one forward pass: which activation tensors are alive when.

The analyzer's rows come in execution order, each naming the rows it reads (``LayerRow.inputs``),
inside its groups (the containers of the built model). Each row's kind answers, through its memory
rule (:class:`archcalc.kinds.Memory`), whether its output is a new tensor or its input's storage (a
view, the tensor itself, an in-place result), what it allocates only while it runs (scratch), and, in a
training-mode forward, what autograd keeps for backward.

Lifetimes follow the references of the model :func:`archcalc.build_model` builds, because torch frees a
storage the moment its last reference goes:

* a row's output lives until the last row that reads it has run;
* a container (a block, stage, residual, concat, branch or side output) keeps its input until it returns,
  since its caller's frame holds it (``torch.nn.Sequential`` behaves the same);
* a residual keeps its shortcut until it returns (through its post-join activation);
* side outputs (an empty side: its input itself), the network's output and its input live to the end;
* a view keeps its base's whole storage alive;
* in a training-mode forward, every tensor autograd keeps lives to the end of the pass (backward frees it);
  a storage two rows keep is counted once, for the first row that keeps it.

While a row runs, what was alive, its new output (and saved buffers) and its scratch are alive
together: a concat allocates its output while its inputs are alive. Each rule is told its input's layout
(:class:`~archcalc.kinds.Pass`): channels-last after a layer norm or per-position linear (kept by the
convolutions and element-wise layers after them), strided after a crop; a reshape or a channels-last
kernel must copy the others. Pure arithmetic over the rows; no torch.
"""

from __future__ import annotations

__all__ = ["Timeline", "timeline", "element_bytes", "buffer_bytes", "memory_of", "needs_grad", "INPUT"]

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

from ..kinds import kind_of
from ..kinds.base import Buffer, Memory, Pass

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.result import GroupRow, LayerRow

INPUT = -1
"""The storage (and row index) of the network's input."""


def element_bytes(dtype: str, bytes_per_element: int) -> int:
    """Bytes of one element of a :class:`~archcalc.kinds.Buffer` type when activations take
    ``bytes_per_element``: ``act`` those bytes; ``acc`` statistics in float32 (float64 for float64
    activations, as torch accumulates); ``int64`` 8; ``bool`` 1."""
    if dtype == "act":
        return bytes_per_element
    if dtype == "acc":
        return 8 if bytes_per_element == 8 else 4
    if dtype == "int64":
        return 8
    if dtype == "bool":
        return 1
    raise ValueError(f"unknown buffer element type {dtype!r}")


def buffer_bytes(buffer: Buffer, *, batch_size: int, bytes_per_element: int) -> int:
    """Bytes of ``buffer`` for the whole batch: elements x (batch when per sample) x element bytes."""
    return buffer.elements * (batch_size if buffer.batched else 1) * element_bytes(buffer.dtype, bytes_per_element)


def memory_of(row: "LayerRow", mode: Pass) -> Memory:
    """The memory rule's answer for ``row`` (its kind's; an error when the kind has none)."""
    k = kind_of(row.type)
    if k is None or k.memory is None:  # pragma: no cover - the registry refuses this at import
        raise ValueError(f"row type {row.type!r} has no memory rule")
    return k.memory(row, mode)


def needs_grad(rows: Sequence["LayerRow"]) -> list[bool]:
    """Per row, whether autograd records it in training: it has parameters, or it reads a tensor that
    needs a gradient (the network's input does not)."""
    grad: list[bool] = []
    for r in rows:
        grad.append(r.params > 0 or any(src != INPUT and grad[src] for src in r.inputs))
    return grad


def _without_graph(m: Memory) -> Memory:
    """A row that autograd does not record (no parameters, no input that needs a gradient) keeps nothing:
    what it would keep is scratch."""
    return Memory(view=m.view, scratch=(*m.scratch, *m.saved))


@dataclass(frozen=True)
class Timeline:
    """Activation bytes of one forward pass (whole batch), per leaf row in execution order.

    ``during[i]``: alive while row ``i`` runs (what was alive, its new output and kept buffers, its
    scratch); ``after[i]``: alive once it returned and what it was the last to use is freed;
    ``saved[i]`` (training): bytes autograd keeps for backward that row ``i`` is the first to keep
    (zeros for inference); ``storage[i]``: the row whose output storage row ``i``'s output is (itself,
    or a view's base; ``-1`` the network input); ``output_bytes[i]``: the bytes row ``i`` newly
    allocated as its output (0 for a view).
    """

    training: bool
    input_bytes: int
    during: tuple[int, ...]
    after: tuple[int, ...]
    saved: tuple[int, ...]
    storage: tuple[int, ...]
    output_bytes: tuple[int, ...]

    @property
    def peak(self) -> int:
        """The largest number of activation bytes alive at once (the input included)."""
        return max((self.input_bytes, *self.during))

    @property
    def peak_row(self) -> int | None:
        """The row during which the peak occurs (None when the input alone is the peak)."""
        if not self.during or max(self.during) < self.input_bytes:
            return None
        return max(range(len(self.during)), key=lambda i: (self.during[i], -i))

    @property
    def saved_total(self) -> int:
        return sum(self.saved)

    @property
    def end(self) -> int:
        """Alive when the pass is over: the input, the outputs, and in training everything kept for backward."""
        return self.after[-1] if self.after else self.input_bytes


def timeline(rows: Sequence["LayerRow"], groups: Sequence["GroupRow"], *, output_sources: Sequence[int],
             batch_size: int, bytes_per_element: int, training: bool = False, device: str = "cuda") -> Timeline:
    """Walk the rows once and return the :class:`Timeline` (see the module docstring for the rules).

    ``output_sources``: the rows whose outputs leave the network (the last state's sources). In training,
    the input needs no gradient: a row is recorded by autograd when it has parameters or reads a tensor
    that needs one.
    """
    n = len(rows)
    b, bpe = batch_size, bytes_per_element
    end = n - 1
    input_bytes = _elements(rows[0].input_shape) * b * bpe if rows else 0
    memories = _memories(rows, Pass(training=training, device=device))  # type: ignore[arg-type]
    if training:
        for i, recorded in enumerate(needs_grad(rows)):
            if not recorded:
                memories[i] = _without_graph(memories[i])

    def nbytes(buffers: tuple[Buffer, ...], instances: int = 1) -> int:
        """Bytes of a row's buffers: per sample ones for the batch and the row's instances (its proposals)."""
        return sum(x.elements * (b * instances if x.batched else 1) * element_bytes(x.dtype, bpe)
                   for x in buffers) if buffers else 0

    # storages: each row's output is a new storage or its first input's (storage[-1] is the input's)
    storage: list[int] = [0] * n + [INPUT]
    size: dict[int, int] = {INPUT: input_bytes}
    output_bytes = [0] * n
    for i, (r, m) in enumerate(zip(rows, memories)):
        if m.view and r.inputs:
            storage[i] = storage[r.inputs[0]]
        else:
            storage[i] = i
            size[i] = output_bytes[i] = _elements(r.output_shape) * b * r.instances * bpe

    # the last step at which each storage is referenced; those in `forever` live to the end of the pass
    last: dict[int, int] = {INPUT: end}
    forever = {INPUT}
    for i, r in enumerate(rows):
        last[storage[i]] = i
        for src in r.inputs:
            last[storage[src]] = i
    for g in groups:
        if g.type == "side" or _names_outputs(g.type):  # a side output leaves the network (an empty side: its
            # input itself); named tensors (a tap, a pyramid's levels) are held by name to the end of the pass
            forever.update(storage[src] for src in g.outputs)
        if g.stop <= g.first:
            continue
        for src in g.inputs:  # the caller holds a container's input until it returns
            t = storage[src]
            last[t] = max(last[t], g.stop - 1)
        if g.type == "residual":  # its frame holds the shortcut until it returns
            for j in range(g.first, g.stop):
                if rows[j].type in ("add", "mul") and rows[j].name.rsplit(".", 1)[0] == g.name:
                    for src in rows[j].inputs[1:]:
                        t = storage[src]
                        last[t] = max(last[t], g.stop - 1)
    for src in output_sources:
        forever.add(storage[src])

    # training: what autograd keeps, each storage once, for the first row that keeps it
    saved = [0] * n
    extra_kept = [0] * n
    if training:
        kept: set[int] = set()
        for i, (r, m) in enumerate(zip(rows, memories)):
            keep = [storage[r.inputs[k]] for k in m.saves_inputs if k < len(r.inputs)]
            if m.saves_output:
                keep.append(storage[i])
            for t in keep:
                if t not in kept:
                    kept.add(t)
                    saved[i] += size[t]
                    forever.add(t)
            extra_kept[i] = nbytes(m.saved, r.instances)
            saved[i] += extra_kept[i]

    frees = [0] * max(n, 1)
    for t, step in last.items():
        if t not in forever:
            frees[step] += size[t]

    during = [0] * n
    after = [0] * n
    live = input_bytes
    for i, m in enumerate(memories):
        live += output_bytes[i] + extra_kept[i]
        during[i] = live + nbytes(m.scratch, rows[i].instances)
        live -= frees[i]
        after[i] = live
    return Timeline(training=training, input_bytes=input_bytes, during=tuple(during), after=tuple(after),
                    saved=tuple(saved), storage=tuple(storage[:n]), output_bytes=tuple(output_bytes))


def _memories(rows: Sequence["LayerRow"], mode: Pass) -> list[Memory]:
    """Each row's memory rule, told its input's layout: a view keeps its input's layout (and a slicing view
    makes it strided); a new tensor is dense, channels-last where its input was (element-wise kernels and
    convolutions keep the layout) or where the row says so."""
    modes = {(cl, st): replace(mode, channels_last=cl, strided=st) for cl in (False, True) for st in (False, True)}
    rules: dict[str, object] = {}
    layout: list[tuple[bool, bool]] = []
    out: list[Memory] = []
    for r in rows:
        rule = rules.get(r.type)
        if rule is None:
            k = kind_of(r.type)
            if k is None or k.memory is None:  # pragma: no cover - the registry refuses this at import
                raise ValueError(f"row type {r.type!r} has no memory rule")
            rule = rules[r.type] = k.memory
        cl, st = layout[r.inputs[0]] if r.inputs and r.inputs[0] != INPUT else (False, False)
        m = rule(r, modes[(cl, st)])  # type: ignore[operator]
        if m.view:
            layout.append((cl if m.channels_last is None else m.channels_last, st or m.strided))
        else:
            layout.append((cl and not st if m.channels_last is None else m.channels_last, False))
        out.append(m)
    return out


def _names_outputs(group_type: str) -> bool:
    k = kind_of(group_type)
    return k is not None and k.names_outputs


def _elements(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
