"""Resolve a TARGET (``package.module:callable`` or ``path/to/file.py:callable``) to a model.

The callable (a class or a factory) is called with the given keyword arguments and must return a
``torch.nn.Module``. Every failure -- a module that does not import, a missing name, a callable that
raises, a result that is not a module -- is an :class:`~archcalc.importer.errors.ImportModelError`
naming the target, never a traceback. Importing a module runs its code: only name targets you trust.
"""

from __future__ import annotations

__all__ = ["load_target", "split_target"]

import difflib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .errors import ImportModelError


def split_target(target: str) -> tuple[str, str]:
    """``"torchvision.models:resnet50"`` -> ``("torchvision.models", "resnet50")``."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise ImportModelError(f"target {target!r} should be package.module:callable or path/to/file.py:callable",
                               hint="e.g. torchvision.models:resnet50, mypkg.nets:Net, nets/unet.py:UNet")
    return where, name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {line[:300]}" if line else type(exc).__name__


def _load_module(where: str) -> Any:
    looks_like_file = where.endswith(".py") or os.sep in where or "/" in where
    if looks_like_file:
        path = Path(where)
        if not path.is_file():
            raise ImportModelError(f"cannot import {where}: no such file")
        name = f"_archcalc_import_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportModelError(f"cannot import {where}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        folder = str(path.resolve().parent)
        added = folder not in sys.path
        if added:
            sys.path.insert(0, folder)  # the file's own sibling imports
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's code: any failure is reported, not raised
            sys.modules.pop(name, None)
            raise ImportModelError(f"importing {where} failed: {_first_line(exc)}") from None
        finally:
            if added:
                sys.path.remove(folder)
        return module
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise ImportModelError(f"cannot import module {where!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise ImportModelError(f"importing module {where!r} failed: {_first_line(exc)}") from None


def load_target(target: str, kwargs: dict[str, Any] | None = None) -> Any:
    """The ``torch.nn.Module`` that ``target`` called with ``kwargs`` returns."""
    import torch

    where, name = split_target(target)
    module = _load_module(where)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            raise ImportModelError(f"{where} has no {name!r}", hint=f"did you mean {close[0]!r}?" if close else None)
        obj = getattr(obj, part)
    if not callable(obj):
        raise ImportModelError(f"{target} is a {type(obj).__name__}, not a class or a function that builds a model")
    try:
        model = obj(**(kwargs or {}))
    except Exception as exc:  # noqa: BLE001 - the user's code
        shown = ", ".join(f"{k}={v!r}" for k, v in (kwargs or {}).items())
        raise ImportModelError(f"{name}({shown}) raised {_first_line(exc)}") from None
    if not isinstance(model, torch.nn.Module):
        raise ImportModelError(f"{name}() returned a {type(model).__module__}.{type(model).__name__}, not a "
                               "torch.nn.Module")
    return model
