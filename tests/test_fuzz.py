"""A bounded, deterministic mutation fuzzer over the spec zoo.

Each zoo spec is parsed to plain data, mutated a few times (numbers replaced with 0, -1, huge
integers, 1e999, nan, strings, lists, null, booleans; keys deleted, added or duplicated; ``type:``
changed; entries nested, swapped, repeated a billion times; lines of the YAML text deleted or
duplicated), written to a temporary folder beside copies of the zoo (so ``extends:`` still
resolves) and loaded and analyzed in this process under a time bound. Every mutant must give
either a valid analysis or an :class:`~archcalc.errors.ArchcalcError` whose message names a file
and a line -- never another exception, never a hang.

The mutants are seeded by spec name and index, so a failure is reproducible; its message carries
the mutations and the YAML text. ``ARCHCALC_FUZZ_MUTANTS`` sets the total number of mutants
(default 240, a few per spec); a larger number is a longer local run.
"""

from __future__ import annotations

import copy
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml

import archcalc
from archcalc.errors import ArchcalcError
from archcalc.spec.layers import LAYER_KINDS

from conftest import ROOT, zoo_specs

SPECS = zoo_specs()
TOTAL = int(os.environ.get("ARCHCALC_FUZZ_MUTANTS", "240"))
PER_SPEC = max(1, math.ceil(TOTAL / len(SPECS)))
TIME_BOUND_S = 20  # per mutant; generous against a loaded machine, far below "hangs"
LOCATED = re.compile(r"[^\s:]+\.yaml:\d+")

NUMBERS: list[Any] = [0, -1, 1, 2, 3, 7, 2**31, 2**62, 10**30, float("inf"), float("-inf"), float("nan"), 0.5,
                      6.25, 1e-300, -2.5]
OTHERS: list[Any] = ["x", "", "same", "depthwise", "$nope", "$", [], [1, 2], [0], [[1, 2], [3]], {}, {"a": 1},
                     None, True, False]
EXPRESSIONS = ["round({v}, -4000000000000)", "{v} * 99999999999", "{v} / 0", "make_divisible({v}, 0)",
               "{v} > 'big'", "{v} ** 2", "{v}.real", "({v}", "{v} if {v} else [1]", "{v}[0]",
               "max({v}, 1e308) * 10", "int({v} / 3)", "{v} // 2", "-{v}", "ceil({v} * 0.3)", "{v} == 1",
               "round({v} * 1.5, 99)", "min()", "$undefined + {v}"]
REPEATS: list[Any] = [10**9, 2**62, 0, -1, 2, 1.5, True, "$nope", "$n * 1000000000", 40]
TYPES = sorted(LAYER_KINDS) + ["bogus", "Conv", ""]
KEYS: list[Any] = ["strid", "repeat", "first", "when", "use", "name", "type", "layers", "body", "branches",
                   "shortcut", 7, True, None, "set", "extends", "params", "scale", "blocks"]


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in the library eats it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


# --------------------------------------------------------------------------- mutations


def _slots(tree: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in the tree: the places a mutation can touch."""
    out: list[tuple[Any, Any]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                out.append((node, key))
                stack.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                out.append((node, index))
                stack.append(value)
    return out


def _mappings(tree: Any, predicate: Any = lambda m: True) -> list[dict]:
    return [c[k] for c, k in _slots(tree) if isinstance(c[k], dict) and predicate(c[k])]


def _lists(tree: Any) -> list[list]:
    found = [c[k] for c, k in _slots(tree) if isinstance(c[k], list) and c[k]]
    return found


def _is_entry(m: dict) -> bool:
    return "type" in m or "use" in m


def _variable(rng: random.Random, text: str) -> str:
    names = sorted(set(re.findall(r"\$[A-Za-z_]\w*", text))) or ["$c"]
    return rng.choice(names + ["7"])


def _mutate(tree: Any, rng: random.Random, text: str) -> str:
    """Apply one mutation in place; return what it did (for the failure message)."""
    op = rng.choice(["value", "value", "expr", "delete", "type", "nest", "swap", "repeat", "duplicate", "key"])
    slots = _slots(tree)
    if not slots:
        return "nothing to mutate"
    if op in ("value", "expr"):
        container, key = rng.choice(slots)
        if op == "expr":
            new: Any = rng.choice(EXPRESSIONS).format(v=_variable(rng, text))
        else:
            new = rng.choice(NUMBERS + OTHERS)
        container[key] = new
        return f"{op}: [{key!r}] = {new!r}"
    if op == "delete":
        container, key = rng.choice(slots)
        del container[key]
        return f"delete [{key!r}]"
    if op == "type":
        entries = _mappings(tree, lambda m: "type" in m)
        if entries:
            entry = rng.choice(entries)
            entry["type"] = rng.choice(TYPES)
            return f"type -> {entry['type']!r}"
        return "no type to change"
    if op == "nest":
        lists = [lst for lst in _lists(tree) if any(isinstance(x, dict) and _is_entry(x) for x in lst)]
        if lists:
            lst = rng.choice(lists)
            index = rng.randrange(len(lst))
            depth = rng.choice([1, 2, 5, 40, 110])
            item = lst[index]
            for _ in range(depth):
                kind = rng.choice(["sequential", "residual", "side", "concat"])
                item = ({"type": kind, "body": [item]} if kind == "residual" else
                        {"type": kind, "branches": [[item], []]} if kind == "concat" else
                        {"type": kind, "layers": [item]})
            lst[index] = item
            return f"nest item {index} {depth} deep"
        return "nothing to nest"
    if op == "swap":
        lists = [lst for lst in _lists(tree) if len(lst) > 1]
        blocks = tree.get("blocks") if isinstance(tree, dict) else None
        if isinstance(blocks, dict) and len(blocks) > 1 and rng.random() < 0.3:
            a, b = rng.sample(sorted(blocks, key=str), 2)
            blocks[a], blocks[b] = blocks[b], blocks[a]
            return f"swap blocks {a!r} and {b!r}"
        if lists:
            lst = rng.choice(lists)
            i, j = rng.sample(range(len(lst)), 2)
            lst[i], lst[j] = lst[j], lst[i]
            return f"swap items {i} and {j}"
        return "nothing to swap"
    if op == "repeat":
        entries = _mappings(tree, _is_entry)
        if entries:
            entry = rng.choice(entries)
            entry["repeat"] = rng.choice(REPEATS)
            return f"repeat = {entry['repeat']!r}"
        return "no entry to repeat"
    if op == "duplicate":
        container, key = rng.choice(slots)
        value = copy.deepcopy(container[key])
        if isinstance(container, list):
            container.insert(key, value)
            return f"duplicate item {key}"
        other = rng.choice([c for c, _ in slots if isinstance(c, dict)])
        other[key] = value
        return f"copy [{key!r}] elsewhere"
    mappings = _mappings(tree)
    if isinstance(tree, dict):
        mappings.append(tree)
    if mappings:
        target = rng.choice(mappings)
        key = rng.choice(KEYS)
        value = rng.choice(NUMBERS + OTHERS + [[{"type": "relu"}], {"type": "relu"}])
        target[key] = value
        return f"key [{key!r}] = {value!r}"
    return "no mapping for a key"


def _mutate_text(text: str, rng: random.Random) -> tuple[str, str]:
    lines = text.splitlines()
    if len(lines) < 2:
        return text, "text too short"
    i = rng.randrange(len(lines))
    op = rng.choice(["delete line", "duplicate line", "swap lines", "indent line", "dedent line"])
    if op == "delete line":
        del lines[i]
    elif op == "duplicate line":
        lines.insert(i, lines[i])
    elif op == "swap lines":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "indent line":
        lines[i] = "  " + lines[i]
    else:
        lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
    return "\n".join(lines) + "\n", f"{op} {i + 1}"


def make_mutant(spec: Path, index: int) -> tuple[str, list[str]]:
    """The YAML text of mutant ``index`` of ``spec`` and the mutations that made it."""
    rng = random.Random(f"{spec.name}:{index}")
    original = spec.read_text(encoding="utf-8")
    tree = yaml.safe_load(original)
    done = [_mutate(tree, rng, original) for _ in range(rng.choice([1, 1, 2, 3]))]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))  # the dumper recurses per level of deeply nested mutants
    try:
        text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=120)
    finally:
        sys.setrecursionlimit(limit)
    if rng.random() < 0.15:
        text, what = _mutate_text(text, rng)
        done.append(what)
    return text, done


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def zoo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the zoo: mutants sit beside the specs they may ``extends:``."""
    folder = tmp_path_factory.mktemp("zoo")
    for spec in SPECS:
        shutil.copyfile(spec, folder / spec.name)
    return folder


def _run_bounded(path: Path) -> str:
    """Load and analyze ``path`` under the time bound; 'ok' or the error message."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_BOUND_S)
    try:
        result = archcalc.analyze(archcalc.load_spec(path))
    except ArchcalcError as exc:
        return str(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    totals = result.totals
    for quantity in (totals.params, totals.macs, totals.ops, totals.activation_bytes):
        assert isinstance(quantity, int) and quantity >= 0
    assert result.layers
    return "ok"


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_mutants_fail_cleanly_or_analyze(spec: Path, zoo_copy: Path):
    for index in range(PER_SPEC):
        text, mutations = make_mutant(spec, index)
        path = zoo_copy / f"{spec.stem}__mutant{index}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            outcome = _run_bounded(path)
        except _Timeout:
            pytest.fail(f"{path.name} ({'; '.join(mutations)}) ran past {TIME_BOUND_S} s:\n{text[:3000]}")
        except Exception:  # anything but ArchcalcError is a bug: show the mutant that caused it
            pytest.fail(f"{path.name} ({'; '.join(mutations)}) raised a non-archcalc exception:\n"
                        f"{traceback.format_exc()}\n{text[:3000]}")
        if outcome != "ok":
            assert LOCATED.search(outcome), f"{path.name} ({'; '.join(mutations)}): no file:line in {outcome!r}"
        path.unlink()


def test_mutants_are_deterministic_and_mutated():
    spec = next(p for p in SPECS if p.name == "resnet50.yaml")
    first = [make_mutant(spec, i)[0] for i in range(5)]
    assert first == [make_mutant(spec, i)[0] for i in range(5)]
    original = yaml.safe_dump(yaml.safe_load(spec.read_text(encoding="utf-8")), sort_keys=False,
                              allow_unicode=True, width=120)
    assert sum(text != original for text in first) >= 4


def _limit_memory() -> None:  # runs in the child only: RLIMIT_AS is process-wide
    two_gib = 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


def test_cli_bounded_memory_on_bombs_and_mutants(tmp_path: Path):
    """The command line, with 2 GiB of address space, on the corpus's expansion bombs and some mutants."""
    corpus = ROOT / "tests" / "malformed"
    for name in ("repeat_huge.yaml", "repeat_huge_param.yaml", "round_huge_digits.yaml", "deep_block_chain.yaml",
                 "alias_bomb.yaml"):
        shutil.copyfile(corpus / name, tmp_path / name)
    for spec in SPECS:
        shutil.copyfile(spec, tmp_path / spec.name)
    rng = random.Random("cli")
    for spec in rng.sample(SPECS, 8):
        text, _ = make_mutant(spec, 1000 + rng.randrange(1000))
        (tmp_path / f"{spec.stem}__mutant.yaml").write_text(text, encoding="utf-8")
    targets = sorted(p.name for p in tmp_path.iterdir() if "__mutant" in p.name or p.name.startswith(
        ("repeat_huge", "round_huge", "deep_block", "alias_bomb")))
    proc = subprocess.run([sys.executable, "-m", "archcalc", "validate", "-q", *targets], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300, preexec_fn=_limit_memory)
    assert proc.returncode == 2, proc.stderr  # the five bombs are errors
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("archcalc: error: ")]
    assert len(errors) >= 5
    for line in errors:
        assert LOCATED.search(line), line
