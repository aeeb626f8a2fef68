"""The keyword options of the public API, as enums: pass a member or its value.

``render_report(analysis, fmt=ReportFormat.MARKDOWN)`` and ``fmt="markdown"`` mean the same:
``ReportFormat("markdown")`` is the member, and any other value raises a
:class:`~archcalc.errors.UsageError` (a ``ValueError``) naming the values the option takes. Give
the CLI's ``choices=`` :func:`values` of the same enum, so the command line and the library agree.
"""

from __future__ import annotations

__all__ = ["Choice", "ReportFormat", "ReportStyle", "values"]

from enum import Enum
from typing import Any

from .errors import UsageError


class Choice(str, Enum):
    """An option that takes one of a few words; ``Kind(value)`` validates it."""

    @classmethod
    def option(cls) -> str:
        """The option's name in messages ("unknown format 'pdf'")."""
        return cls.__name__.lower()

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        raise UsageError(f"unknown {cls.option()} {value!r}; choose one of {', '.join(values(cls))}")


def values(kind: type[Choice]) -> tuple[str, ...]:
    """The words ``kind`` takes, in order (for ``choices=`` and messages)."""
    return tuple(member.value for member in kind)


class ReportFormat(Choice):
    """Output format of a layer report."""

    TABLE = "table"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"
    LATEX = "latex"
    HTML = "html"

    @classmethod
    def option(cls) -> str:
        return "format"


class ReportStyle(Choice):
    """Columns of a layer report: archcalc's own, or the lecture tables' (``seed``)."""

    DEFAULT = "default"
    SEED = "seed"

    @classmethod
    def option(cls) -> str:
        return "style"
