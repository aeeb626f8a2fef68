"""The public library API: what ``import archcalc`` offers, what it imports, how it refuses arguments."""

from __future__ import annotations

import subprocess
import sys

import pytest

import archcalc
from archcalc.conventions import Convention
from archcalc.errors import ArchcalcError, UsageError
from archcalc.options import ReportFormat, ReportStyle, values

from conftest import ROOT


def test_exports_resolve():
    for name in archcalc.__all__:
        assert getattr(archcalc, name) is not None, name
    assert callable(archcalc.check_spec) and callable(archcalc.crosscheck)


def test_import_stays_static():
    # importing archcalc, and even looking up crosscheck, imports neither torch nor matplotlib
    code = ("import sys, archcalc; archcalc.check_spec; "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules, 'static path'; "
            "archcalc.crosscheck; assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        archcalc.nope  # noqa: B018


def test_usage_error_is_both_kinds():
    # old callers catch ValueError; the CLI and new callers catch ArchcalcError
    assert issubclass(UsageError, ArchcalcError) and issubclass(UsageError, ValueError)
    assert UsageError("x").exit_code == 2


@pytest.mark.parametrize("kind,word,option", [(ReportFormat, "pdf", "format"), (ReportStyle, "fancy", "style"),
                                              (Convention, "gflops", "convention")])
def test_options_refuse_unknown_words(kind, word, option):
    with pytest.raises(UsageError) as info:
        kind(word)
    assert str(info.value) == f"unknown {option} {word!r}; choose one of {', '.join(values(kind))}"


def test_options_take_members_and_words():
    assert ReportFormat("markdown") is ReportFormat.MARKDOWN
    assert ReportStyle(ReportStyle.SEED) is ReportStyle.SEED
    assert Convention("flops") is Convention.FLOPS
    assert values(ReportStyle) == ("default", "seed")
    assert ReportFormat.CSV == "csv"  # a str: code comparing with the word keeps working

