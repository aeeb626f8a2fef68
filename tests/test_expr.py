"""The expression language's bounds: every operation is refused in words, never hangs or raises anything else."""

from __future__ import annotations

import math

import pytest

from archcalc.expr import MAX_LENGTH, MAX_MAGNITUDE, ExprError, evaluate

ENV = {"c": 64, "widths": [16, 32], "mode": "fast", "none": None, "nan": math.nan, "inf": math.inf,
       "big": MAX_MAGNITUDE}


@pytest.mark.parametrize("text, words", [
    # round(c, -4e12) would compute 10**(4e12): refused before it starts
    ("round($c, -4000000000000)", "the number of digits must be between -18 and 18"),
    ("round($c, 19)", "the number of digits must be between -18 and 18"),
    ("round($c, 1.5)", "the number of digits must be an integer"),
    ("make_divisible($c, 0)", "the divisor must be a positive integer, got 0"),
    ("make_divisible($c, -8)", "the divisor must be a positive integer, got -8"),
    ("make_divisible($c, 8, 0.5)", "the minimum must be an integer"),
    ("$big * 2", "value too large (beyond 2**62)"),
    ("$big + 1", "value too large (beyond 2**62)"),
    ("1e308 * 10 + $c", "value too large"),  # the float overflows to inf, refused as too large
    ("1e999 + $c", "value too large (inf)"),
    ("$inf + 1", "value too large (inf)"),
    ("$nan * 2", "not a number (nan)"),
    ("$c / 0", "division by zero"),
    ("$c % 0.0", "division by zero"),
    ("$widths > 1", "'<', '<=', '>' and '>=' compare numbers, got [16, 32]"),
    ("$mode < 2", "compare numbers, got 'fast'"),
    ("$none >= 1", "compare numbers, got None"),
    ("$c + 'x'", "strings can only be compared with == or !="),
    ("$mode * 2", "strings can only be compared with == or !="),
    ("max($mode, 1)", "strings can only be compared with == or !="),
    ("'a' < 'b'", "compare numbers, got 'a'"),
    ("'x' if $mode else 1", "a condition must be true/false or a number, got 'fast'"),
    ("b'x' == $mode", "byte strings are not allowed"),
    ("None + $c", "'None' is not a value in expressions"),
    ("1j + $c", "1j is not a number the expressions accept"),
    ("$c ** 2", "the operator ** is not allowed"),
    ("$c << 2", "the operator << is not allowed"),
    ("$c in $widths", "the operator in is not allowed"),
    ("$c.real", "attribute access (a.b) is not allowed"),
    ("[1, 2][$c]", "a list literal is not allowed"),
    ("lambda: $c", "a lambda is not allowed"),
    ("$widths[true]", "indexing needs a list argument and an integer index"),
    ("$widths[5]", "index 5 out of range for a list of 2"),
    ("$widths + 1", "arithmetic on a non-number ([16, 32])"),
    ("min() + $c", "min(): min expected at least 1 argument"),
    ("$c\x00", "not an arithmetic expression"),
    ("$c +", "not an arithmetic expression"),
])
def test_refused_in_words(text: str, words: str):
    with pytest.raises(ExprError) as info:
        evaluate(text, ENV)
    assert words in str(info.value)


def test_deep_unary_chain_is_bounded():
    # MAX_LENGTH bounds the tree: 290 unary minus signs evaluate (an even count gives +64)
    assert evaluate("-" * 290 + "$c", ENV) == 64
    assert evaluate("(" * 145 + "$c" + ")" * 145, ENV) == 64
    with pytest.raises(ExprError, match="longer than"):
        evaluate("-" * MAX_LENGTH + "$c", ENV)


def test_values_within_bounds_still_work():
    assert evaluate("round($c * 1.5, 1)", ENV) == 96  # 64*1.5 = 96.0, a whole number comes back as int
    assert evaluate("make_divisible($c * 1.1, 8.0)", ENV) == 72  # int(70.4 + 4) // 8 * 8 = 72
    assert evaluate("$big - 1", ENV) == 2**62 - 1
    assert evaluate("$mode == $mode and $widths != 1", ENV) is True
    assert evaluate("$c if true else 1e999", ENV) == 64  # the branch not taken is not evaluated
    assert evaluate("$widths", ENV) == [16, 32]  # a lone variable keeps its type


@pytest.mark.parametrize("text, value", [
    ("$mode == 'fast'", True),
    ("$mode != 'fast'", False),
    ("$mode == 'fast' and $c > 8", True),
    ("'hardswish' if $mode == 'fast' else 'relu'", "hardswish"),
    ("$c if $mode == 'slow' else $c // 2", 32),
    ("'RE' == 'RE'", True),
])
def test_strings_compare_and_choose(text: str, value: object):
    """Choices written as words (MobileNetV3's 'RE'/'HS') compare with == and != and pick values."""
    assert evaluate(text, ENV) == value


@pytest.mark.parametrize("text, expected", [
    ("$c * $e // $c", ("c", "e")),  # each name once, first appearance first
    ("max($in_channels, 8)", ("in_channels",)),
    ("'$x' == $y", ("x", "y")),  # inside quotes too: more than evaluate reads, never less
    ("3 * 4", ()),
])
def test_names_are_what_evaluate_reads(text, expected):
    from archcalc.expr import names

    assert names(text) == expected
