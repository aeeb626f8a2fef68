#!/usr/bin/env bash
# Fetch the wheels benchmarks/gpu_check.py needs on the GPU machine, which has python 3.12, torch,
# torchvision, timm, matplotlib, tabulate and PyYAML but no network and no pydantic or fvcore.
#
#   bash benchmarks/gpu_wheels.sh [DIR]        # default DIR: wheels/ (git-ignored)
#
# Then carry DIR to the GPU machine and, there, from the repository root:
#   pip install --no-index --find-links wheels pydantic fvcore && PYTHONPATH=. python benchmarks/gpu_check.py --out OUT
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-wheels}"
mkdir -p "$dir"
pip=".venv/bin/pip"; [ -x "$pip" ] || pip="python3 -m pip"
target=(--python-version 3.12 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
        --platform manylinux_2_28_x86_64 --implementation cp --abi cp312 --only-binary=:all:)
# pydantic and what it needs, as binary wheels for CPython 3.12 on x86-64 Linux
$pip download -q -d "$dir" "${target[@]}" pydantic iopath yacs termcolor portalocker tqdm tabulate
# fvcore publishes only a source archive: build its (pure-Python) wheel here, without dependencies
$pip wheel -q --no-deps -w "$dir" fvcore
ls "$dir"
