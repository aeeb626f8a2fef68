"""Where the model's own code made a call: the file, the line and its text, for nodes and messages.

Frames of torch and of the importer itself are skipped: the line shown is the model's (``x = self.norm(x)``
in ``nets/unet.py:42``), whichever tracer recorded the call.
"""

from __future__ import annotations

__all__ = ["HERE", "not_model_code", "user_frame", "show_path", "source"]

import linecache
import os
import sys
from functools import cache, lru_cache

HERE = os.path.dirname(os.path.abspath(__file__))
"""The importer's own folder: its frames are never the model's code."""


@cache
def not_model_code() -> tuple[str, str, str]:
    """File-name prefixes of frames that are not the model's code: ``<string>`` and the like, torch, the importer."""
    import torch

    return "<", os.path.dirname(os.path.abspath(torch.__file__)), HERE


def user_frame() -> tuple[str, int] | None:
    """(file, line) of the innermost frame of the model's code above the caller's caller (once per traced node)."""
    skip = not_model_code()
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(skip):
            return name, frame.f_lineno
        frame = frame.f_back
    return None


@lru_cache(maxsize=256)
def show_path(path: str) -> str:
    """``path`` relative to the current directory where it lies below it, else as it is."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def source(where: tuple[str, int] | None) -> tuple[str | None, str | None]:
    """(``file.py:12``, that line's code) of a (file, line), or (None, None)."""
    if where is None:
        return None, None
    file, line = where
    return f"{show_path(file)}:{line}", linecache.getline(file, line).strip() or None
