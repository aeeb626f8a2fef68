"""Shared test helpers: the spec zoo, the ``--update-golden`` option, optional-dependency skips.

``pytest --update-golden`` rewrites the expected outputs kept beside the tests (the malformed-spec
corpus's ``tests/malformed/expected.json``) from the current code; review the diff afterwards.
"""

from __future__ import annotations

import copy
import functools
import gc
import importlib.util
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

# The suite computes every output and never writes to the user's cache (~/.cache/archcalc): the cache is
# off in this process and in every command it starts; tests/test_cache.py turns it on in a tmp_path.
os.environ["ARCHCALC_CACHE"] = "off"

# One intra-op thread for torch in every test process (and the commands it starts), unless OMP_NUM_THREADS is
# set already. The suite runs one xdist worker per CPU, and torch's default pool of one thread per core (2 here) in
# each worker oversubscribes them: a parallel region waits at its barrier for a sibling thread that another worker's
# threads have descheduled (spinning meanwhile), so small CPU tensors ran many times slower (a 3x32x32
# convolution took 16 ms) and the torch tests spent about 40 % more CPU. Set before any test module imports
# torch, which reads it once. Nothing checked depends on the thread count: the code that sets threads itself
# (crosscheck, bench's cpu_threads, the memory measurements) still does, and tests/test_bench.py checks that
# bench restores a count of 2.
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def zoo_specs() -> list[Path]:
    """Every spec in ``specs/`` (parametrize over this so new specs are covered automatically)."""
    return sorted(SPECS.glob("*.yaml"))


def zoo_doc(path: Path) -> dict[str, Any]:
    """A spec file's YAML as written (no ``extends`` resolved), parsed once per test process with libyaml
    where PyYAML has it (collection reads every spec several times; the pure-Python parser took seconds)."""
    return copy.deepcopy(_parsed(path))


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}


ZOO_BOXES = {"proposals": 16, "detections": 4}
"""The per-box counts the zoo's torch tests run detectors with (every row still runs; the full counts are
checked statically, and at a larger input with more boxes in tests/test_detection.py)."""


def zoo_params(path: Path) -> dict[str, int] | None:
    """``params`` for a zoo spec in the torch tests: fewer proposals and detections for a detector, else None."""
    from archcalc.spec.load import read_tree

    declared = read_tree(path).get("params") or {}  # as merged over its extends chain; nothing expanded
    small = {k: v for k, v in ZOO_BOXES.items() if k in declared}
    return small or None


# --------------------------------------------------------------------------- the zoo, loaded once per process
#
# The diagram, plot, check, variant and torch tests each load and analyze every zoo spec; a test process
# (an xdist worker) does it once per spec and shares the result. Spec and Analysis are frozen dataclasses:
# tests only read them. Only the plain load (no params, no scale) and the reduced input of the torch tests
# are shared; a test that loads a spec otherwise loads it itself.


@functools.lru_cache(maxsize=None)
def zoo_spec(path: Path) -> Any:
    """``load_spec(path)``, once per process."""
    from archcalc import load_spec

    return load_spec(path)


@functools.lru_cache(maxsize=None)
def zoo_analysis(path: Path) -> Any:
    """``analyze(load_spec(path))`` (batch 1, float32), once per process."""
    from archcalc import analyze

    return analyze(zoo_spec(path))


ZOO_TARGETS = (8, 16, 32, 48, 64, 96, 128)
"""The reduced inputs the zoo's torch tests try, smallest first (each spatial axis capped at the target)."""


def zoo_rows(analysis: Any) -> list[tuple[str, str]]:
    return [(r.name, r.type) for r in (*analysis.layers, *analysis.groups)]


_REDUCED: dict[Path, tuple[Any, Any]] = {}  # path -> (spec, batch-1 analysis) at zoo_resolution(path)


@functools.lru_cache(maxsize=None)
def zoo_resolution(path: Path) -> tuple[int, ...] | None:
    """The smallest reduced input (of ZOO_TARGETS) at which the spec still analyzes with exactly the same
    rows (every layer, block and branch still exercised, each with a spatial extent >= 1), or None when
    no smaller input keeps them (fixed crops, a final 7x7 pooling) or the spec is no larger. Shared by
    the cross-check and memory tests (tests/test_crosscheck.py, tests/test_memory.py)."""
    from archcalc import analyze, load_spec
    from archcalc.errors import ArchcalcError

    full = zoo_analysis(path)
    spatial = list(full.input_shape[1:])
    for target in ZOO_TARGETS:
        reduced = [min(s, target) for s in spatial]
        if reduced == spatial:
            return None
        try:
            # The loaded spec's layers on the smaller input: exactly what loading it with scale: {resolution}
            # gives (Spec.at_resolution), without reading and expanding it again for every target tried;
            # a spec whose expressions read the input size is loaded at each size.
            loaded = zoo_spec(path)
            spec = (load_spec(path, scale={"resolution": reduced}) if loaded.reads_input_size
                    else loaded.at_resolution(reduced))
            small = analyze(spec)
        except ArchcalcError:
            continue
        if zoo_rows(small) == zoo_rows(full):
            _REDUCED[path] = (spec, small)
            return tuple(reduced)
    return None


@functools.lru_cache(maxsize=None)
def zoo_torch_spec(path: Path) -> tuple[Any, Any]:
    """(spec, its batch-1 analysis) as the zoo's torch tests run it: at :func:`zoo_resolution` (the loaded
    spec's ``at_resolution``, as found there) and with :func:`zoo_params` (a detector is loaded and analyzed
    here with its fewer boxes, at the same input)."""
    from archcalc import analyze, load_spec

    res, params = zoo_resolution(path), zoo_params(path)
    if params is None:
        return _REDUCED[path] if res is not None else (zoo_spec(path), zoo_analysis(path))
    spec = load_spec(path, scale={"resolution": list(res)} if res else None, params=params)
    return spec, analyze(spec)


@pytest.fixture
def older_objects_frozen() -> Iterator[None]:
    """Everything alive when the test starts moved out of the cyclic collector's sight (``gc.freeze``) until it
    ends. For tests of code that calls ``gc.collect()`` itself (bench's runner, after every batch size and
    model): a full collection walks every object of the process, and a test worker holds millions by then
    (the zoo's specs and analyses, loaded once per process, pytest's items, torch), so each collection took
    0.5-1 s, most of a bench test's time. The objects the test makes are collected as before; what was alive
    before it is not garbage the code under test made, and returns to the collector afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the expected outputs (tests/malformed/expected.json) instead of comparing")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_module("torch"):
        return
    skip = pytest.mark.skip(reason="torch is not installed (pip install 'archcalc[torch]')")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)
