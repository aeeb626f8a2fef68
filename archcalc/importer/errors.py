"""The importer's errors: every one is an :class:`~archcalc.errors.ArchcalcError` (exit status 2)."""

from __future__ import annotations

__all__ = ["ImportModelError", "UnmappedError", "VerificationError"]

from ..errors import ArchcalcError


class ImportModelError(ArchcalcError):
    """The model cannot be imported: a bad target, a forward that does not trace, a structure the spec
    language cannot express."""


class UnmappedError(ImportModelError):
    """Operations with no spec kind; ``unmapped`` lists each one's module path, source line and reason."""

    def __init__(self, unmapped: list[str]):
        self.unmapped = list(unmapped)
        count = len(unmapped)
        listing = "; ".join(unmapped[:50]) + (f"; and {count - 50} more" if count > 50 else "")
        super().__init__(f"{count} operation{'s' if count != 1 else ''} of the model {'have' if count != 1 else 'has'} "
                         f"no spec kind, so nothing was written: {listing}")


class VerificationError(ImportModelError):
    """The imported spec does not analyze to what the live module is (a bug in the importer, or an
    operation it maps wrongly); nothing is written."""
