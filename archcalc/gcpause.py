"""Pausing Python's cyclic garbage collector while a spec is loaded or analyzed.

Loading and analyzing allocate many small objects that live as long as the result (YAML nodes,
validated layers, rows) and form few reference cycles worth collecting early. The cyclic
collector would scan them again and again as they pile up, so the cost per layer would grow with
the network (a 30,000-layer chain loaded twice as slowly with it on). :func:`gc_paused` turns the
collector off for the call and restores its previous state afterwards, also on an exception;
nested calls leave it off until the outermost returns; :func:`collection_paused` does the same
for a ``with`` block (the importer's tracing and verification). Reference counting still frees
everything that is not in a cycle, and the next collection after the call finds any cycle made.
"""

from __future__ import annotations

__all__ = ["gc_paused", "collection_paused"]

import contextlib
import functools
import gc
from typing import Any, Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside the ``with`` block (restored as it was after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def gc_paused(fn: F) -> F:
    """Decorate ``fn`` to run with the cyclic garbage collector off (restored as it was after)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with collection_paused():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
