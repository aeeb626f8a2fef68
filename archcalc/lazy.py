"""Package attributes imported on first use (a module ``__getattr__``, PEP 562).

A package lists which of its public names live in which module; :func:`lazy_attributes` makes the
``__getattr__`` that imports that module when a name is first read and keeps the value in the
package's namespace (so the next read is an ordinary one). ``import archcalc`` and the command line
thus load the spec language's models, torch or matplotlib only when a command needs them.
"""

from __future__ import annotations

__all__ = ["lazy_attributes"]

from importlib import import_module
from typing import Any, Callable, Iterable, Mapping


def lazy_attributes(package: str, namespace: dict[str, Any], modules: Mapping[str, Iterable[str]], *,
                    uncached: Iterable[str] = ()) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package`` (its ``__name__``; ``namespace``: its ``globals()``) for the names
    ``modules`` lists per module (relative to the package). A name in ``uncached`` is imported on every
    read and never stored (where a submodule of the same name could shadow it)."""
    where = {name: module for module, names in modules.items() for name in names}
    keep_out = frozenset(uncached)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        if name not in keep_out:
            namespace[name] = value
        return value

    __getattr__.names = frozenset(where)  # type: ignore[attr-defined]
    return __getattr__
