"""A small, whitelisted arithmetic language for block arguments: ``4 * $mid``, ``max(1, $c // 4)``.

Specs are data, so nothing in them is ever passed to ``eval``. ``ast.parse`` only *parses* the
text; :func:`evaluate` then walks the tree and accepts exactly these constructs:

* integer and float literals, ``$name`` variables (block arguments and spec ``params``), and
  quoted strings (``'HS'``), which may only be compared with ``==``/``!=`` or chosen by a
  conditional (``"$act == 'HS'"``, ``"'hardswish' if $v3 else 'relu'"``), never computed with;
* ``+ - * / // %`` and unary ``-``/``+`` (no ``**``: no way to build huge numbers cheaply);
  every operand and every result must be a finite number of magnitude at most
  :data:`MAX_MAGNITUDE`, so evaluation takes bounded time and memory whatever the text says;
* ``x[i]`` indexing into a list argument;
* comparisons (``== != < <= > >=``), ``and``/``or``/``not``, ``true``/``false`` and the
  conditional ``a if cond else b`` (variants: ``s: "$stride if $v1 else 1"``);
* calls to :data:`FUNCTIONS` (``min``, ``max``, ``ceil``, ``floor``, ``round``, ``int``,
  ``make_divisible``).

Anything else -- attribute access, comprehensions, string arithmetic, lambdas, other calls -- is a
:class:`ExprError` naming the construct in the spec writer's terms.
"""

from __future__ import annotations

__all__ = ["ExprError", "evaluate", "is_expression", "make_divisible", "FUNCTIONS"]

import ast
import math
from functools import lru_cache
import operator
import re
from typing import Any, Callable, Mapping

MAX_LENGTH = 300
MAX_MAGNITUDE = 2**62

_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PREFIX = "__arg_"


class ExprError(ValueError):
    """An expression that is not in the whitelisted language, or fails to evaluate."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10 %.

    The rule of the MobileNet/EfficientNet reference code (``_make_divisible``), used by
    compound width scaling: ``max(min_value, int(v + d/2) // d * d)``, bumped up by ``d`` when
    rounding down lost more than 10 % of ``v``.
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


MAX_ROUND_DIGITS = 18
"""``round(x, n)`` accepts ``|n| <= 18``: ``round(c, -4 * 10**12)`` would compute ``10**(4 * 10**12)``."""


def _round(value: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(value)
    if not isinstance(ndigits, int) or isinstance(ndigits, bool):
        raise ValueError(f"the number of digits must be an integer, got {ndigits!r}")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(f"the number of digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}, "
                         f"got {ndigits}")
    return round(value, ndigits)


def _make_divisible(value: Any, divisor: Any = 8, min_value: Any = None) -> int:
    if isinstance(divisor, float) and divisor.is_integer():
        divisor = int(divisor)
    if not isinstance(divisor, int) or divisor < 1:
        raise ValueError(f"the divisor must be a positive integer, got {divisor!r}")
    if min_value is not None and not isinstance(min_value, int):
        raise ValueError(f"the minimum must be an integer, got {min_value!r}")
    return make_divisible(value, divisor, min_value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "ceil": math.ceil,
    "floor": math.floor,
    "round": _round,
    "int": int,
    "make_divisible": _make_divisible,
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}

# What the spec writer wrote, in their words, for constructs outside the language.
_OPERATOR_WORDS: dict[type, str] = {
    ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
    ast.BitAnd: "&", ast.Invert: "~", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_NODE_WORDS: dict[type, str] = {
    ast.Attribute: "attribute access (a.b)", ast.Lambda: "a lambda", ast.List: "a list literal",
    ast.Tuple: "a tuple (a, b)", ast.Dict: "a mapping", ast.Set: "a set", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.Starred: "*unpacking", ast.Slice: "a slice (a:b)", ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "an f-string", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and "$" in value


@lru_cache(maxsize=4096)
def names(text: str) -> tuple[str, ...]:
    """The ``$names`` written in ``text``, each once, in the order they first appear (``"$c * $e // $c"``:
    ``("c", "e")``). The result of :func:`evaluate` depends on nothing but the values bound to these (a
    name inside quotes is listed too, though not read: more than it reads, never less)."""
    return tuple(dict.fromkeys(_VAR.findall(text)))


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` with ``$name`` bound from ``env``.

    A text that is exactly one variable (``"$shortcut"``) returns the bound value unchanged,
    whatever its type; anything else must be arithmetic and returns a number. Floats that are
    whole numbers come back as ``int`` so that ``$c / 2`` can be a channel count.
    """
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    whole = _VAR.fullmatch(text)
    if whole:
        return _lookup(whole.group(1), env)
    tree = _parse(text)
    try:
        result = _eval(tree, env, text)
    except RecursionError:
        raise ExprError(f"expression nested too deeply: {text!r}") from None
    if isinstance(result, float):
        _number(result, text)
        if result.is_integer():
            return int(result)
    return result


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    """The syntax tree of ``text`` (parsed once per distinct text: a block used a hundred times
    repeats the same expressions). The tree is only read, never changed."""
    source = _VAR.sub(lambda m: _PREFIX + m.group(1), text)
    if "$" in source:
        raise ExprError(f"'$' must be followed by an argument name in {text!r}")
    try:
        return ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL character
        raise ExprError(f"not an arithmetic expression: {text!r}") from None


def _lookup(name: str, env: Mapping[str, Any]) -> Any:
    if name not in env:
        known = ", ".join(f"${k}" for k in sorted(env)) or "none"
        raise ExprError(f"unknown argument ${name} (known here: {known})")
    return env[name]


def _truth(value: Any, text: str) -> bool:
    if not isinstance(value, (bool, int, float)):
        raise ExprError(f"a condition must be true/false or a number, got {_show(value)} in {text!r}")
    return bool(value)


def _number(value: Any, text: str) -> Any:
    if isinstance(value, str):
        raise ExprError(f"strings can only be compared with == or != ({_show(value)} in {text!r})")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExprError(f"arithmetic on a non-number ({_show(value)}) in {text!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ExprError(f"not a number (nan) in {text!r}")
    if isinstance(value, float) and math.isinf(value):
        raise ExprError(f"value too large ({value}) in {text!r}")
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError(f"value too large (beyond 2**62) in {text!r}")
    return value


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_BOOL_NAMES = {"true": True, "false": False, "True": True, "False": False}


def _compare(op: ast.cmpop, left: Any, right: Any, text: str) -> bool:
    if isinstance(op, (ast.Eq, ast.NotEq)):
        return bool(_COMPARE[type(op)](left, right))
    for value in (left, right):  # ordering is for numbers only: no '<' between a list and an int
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExprError(f"'<', '<=', '>' and '>=' compare numbers, got {_show(value)} in {text!r}")
    return bool(_COMPARE[type(op)](left, right))


def _eval(node: ast.AST, env: Mapping[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return _number(node.value, text)
        if isinstance(node.value, str):
            return node.value  # only == / != and conditionals accept it (_number refuses arithmetic)
        if isinstance(node.value, bytes):
            raise ExprError(f"byte strings are not allowed in expressions ({text!r}); write 'text'")
        if node.value is None:
            raise ExprError(f"'None' is not a value in expressions ({text!r}); write a number or $name")
        raise ExprError(f"{node.value!r} is not a number the expressions accept ({text!r}); "
                        "write an integer, a decimal number or $name")
    if isinstance(node, ast.Name):
        if node.id.startswith(_PREFIX):
            return _lookup(node.id[len(_PREFIX):], env)
        if node.id in _BOOL_NAMES:
            return _BOOL_NAMES[node.id]
        raise ExprError(f"bare name {node.id!r} in {text!r}: arguments are written ${node.id}")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _number(_eval(node.left, env, text), text)
        right = _number(_eval(node.right, env, text), text)
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
            raise ExprError(f"division by zero in {text!r}")
        return _number(_BINOPS[type(node.op)](left, right), text)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _truth(_eval(node.operand, env, text), text)
    if isinstance(node, ast.BoolOp):
        values = [_truth(_eval(v, env, text), text) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left, env, text)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, env, text)
            if not _compare(op, left, right, text):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        branch = node.body if _truth(_eval(node.test, env, text), text) else node.orelse
        return _eval(branch, env, text)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_number(_eval(node.operand, env, text), text))
    if isinstance(node, ast.Subscript):
        seq = _eval(node.value, env, text)
        index = _eval(node.slice, env, text)
        if not isinstance(seq, list) or isinstance(index, bool) or not isinstance(index, int):
            raise ExprError(f"indexing needs a list argument and an integer index in {text!r}")
        if not -len(seq) <= index < len(seq):
            raise ExprError(f"index {index} out of range for a list of {len(seq)} in {text!r}")
        return seq[index]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords:
            raise ExprError(f"keyword arguments are not supported in {text!r}")
        args = [_number(_eval(a, env, text), text) for a in node.args]
        try:
            return _number(FUNCTIONS[node.func.id](*args), text)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ExprError(f"{node.func.id}(): {exc} in {text!r}") from None
    if isinstance(node, ast.Call):
        allowed = ", ".join(sorted(FUNCTIONS))
        raise ExprError(f"only these functions may be called: {allowed} (in {text!r})")
    op = getattr(node, "op", None)
    ops = getattr(node, "ops", None) or ([op] if op is not None else [])
    unknown = [_OPERATOR_WORDS[type(o)] for o in ops if type(o) in _OPERATOR_WORDS]
    what = f"the operator {unknown[0]}" if unknown else _NODE_WORDS.get(type(node), type(node).__name__)
    raise ExprError(f"{what} is not allowed in expressions ({text!r}); "
                    "use numbers, 'strings', $arguments, + - * / // %, comparisons, and/or/not, 'x if c else y', indexing and "
                    + ", ".join(sorted(FUNCTIONS)))
