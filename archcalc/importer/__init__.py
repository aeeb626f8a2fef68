"""Import a PyTorch model as a readable archcalc spec, checked against the live module.

>>> import archcalc, torchvision
>>> text = archcalc.import_model(torchvision.models.resnet50(), input_shape=(3, 224, 224))
>>> archcalc.importer.write_spec(text, "resnet50_imported.yaml")

The steps, one module each:

1. :mod:`.trace` -- torch.fx symbolic tracing (:mod:`.trace_fx`; :mod:`.trace_export` where fx fails),
   shapes on the meta device (:mod:`.shapes`);
2. :mod:`.mapping` -- every node to a spec entry, a join or a pass-through (:mod:`.leaves` for modules,
   :mod:`.functions` for functions and methods); an operation with no spec kind is an error listing
   every such node with its module and source line;
3. :mod:`.structure` -- the series-parallel structure (residual, concat, side heads); :mod:`.naming` --
   names from module paths; :mod:`.canonical` -- projection and zero-padding shortcuts;
4. :mod:`.fold` -- repeated structure into ``blocks:`` with arguments and ``repeat:`` (:mod:`.folder`);
   :mod:`.emit` -- YAML;
5. :mod:`.verify` -- the spec's analysis against the module: parameters, output shapes, every row's kind,
   shape and parameters, and every module's fvcore count under the named rules.

Nothing here imports torch until a function is called; ``import archcalc`` stays torch-free.
"""

from __future__ import annotations

__all__ = ["import_model", "import_spec", "write_spec", "load_target", "ImportResult", "ImportModelError",
           "UnmappedError", "VerificationError"]

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .errors import ImportModelError, UnmappedError, VerificationError

if TYPE_CHECKING:  # pragma: no cover
    from .core import ImportResult


def import_spec(module: Any, *, input_shape: Sequence[int], name: str | None = None, target: str | None = None,
                method: str = "auto") -> "ImportResult":
    """The verified import of ``module``: the text, the tracer used, what it was checked against.

    See :func:`archcalc.importer.core.import_spec`.
    """
    from .core import import_spec as _import

    return _import(module, input_shape=input_shape, name=name, target=target, method=method)


def import_model(module: Any, *, input_shape: Sequence[int], name: str | None = None) -> str:
    """The YAML text of an archcalc spec describing ``module`` on inputs of per-sample shape ``input_shape``.

    The spec is verified against the module before it is returned (parameters, output shape, every
    module's MACs against fvcore); any disagreement, and any operation the spec language cannot
    express, raises an :class:`ImportModelError` (an :class:`~archcalc.errors.ArchcalcError`).
    """
    return import_spec(module, input_shape=input_shape, name=name).text


def write_spec(text: str, path: str | Path, *, force: bool = False) -> None:
    """Write an imported spec to ``path`` without destroying anything (``-`` is standard output): a
    regular file is replaced atomically, a write-protected one only with ``force``. See
    :func:`archcalc.fileio.write_output`."""
    from ..fileio import write_output

    write_output(path, text, force=force)


def load_target(target: str, kwargs: dict[str, Any] | None = None) -> Any:
    """The model ``package.module:callable`` (or ``path/to/file.py:callable``) builds with ``kwargs``."""
    from .target import load_target as _load

    return _load(target, kwargs)


def __getattr__(name: str) -> Any:
    if name == "ImportResult":
        from .core import ImportResult

        return ImportResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
