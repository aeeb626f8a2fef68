"""Per-kind registries (analyzer rules, torch builders), filled by a decorator that refuses
duplicates and tags that are not layer kinds."""

from __future__ import annotations

__all__ = ["kind_registrar"]

from typing import Callable, TypeVar

from .spec.layers import LAYER_KINDS

T = TypeVar("T")


def kind_registrar(table: dict[str, T], what: str) -> Callable[..., Callable[[T], T]]:
    """A decorator factory ``register(*kinds)`` that files a function under each layer kind in ``table``."""
    def register(*kinds: str) -> Callable[[T], T]:
        def decorate(fn: T) -> T:
            for kind in kinds:
                if kind in table:  # pragma: no cover - a programming error, caught at import
                    raise RuntimeError(f"two {what}s for layer kind {kind!r}")
                if kind not in LAYER_KINDS:  # pragma: no cover
                    raise RuntimeError(f"{what} for unknown layer kind {kind!r}")
                table[kind] = fn
            return fn
        return decorate
    return register
