"""A one-line progress bar for long sweeps, written to a stream the caller passes (stderr).

It draws only when the stream is a terminal; otherwise it stays quiet. No dependency.
"""

from __future__ import annotations

__all__ = ["ProgressBar"]

import time
from typing import TextIO


class ProgressBar:
    """``bar(done, total, label)`` redraws the line; ``bar.close()`` clears it."""

    def __init__(self, stream: TextIO, *, width: int = 24, enabled: bool | None = None):
        self.stream = stream
        self.width = width
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else enabled
        self.start = time.monotonic()
        self._last = 0

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        total = max(total, 1)
        filled = round(self.width * min(done, total) / total)
        elapsed = time.monotonic() - self.start
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {elapsed:5.0f}s {label}"
        pad = max(0, self._last - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._last = len(line)

    def close(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\r" + " " * self._last + "\r")
            self.stream.flush()
            self._last = 0
