"""Memory: the liveness model of a forward pass, what autograd keeps for backward, the training step,
the largest batch that fits -- closed forms written out, and every kind and zoo spec measured on the
model archcalc builds (``saved_tensors_hooks``, a ``TorchDispatchMode`` that follows live storages)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from archcalc import analyze, load_spec, parse_spec
from archcalc.cli import main
from archcalc.errors import UsageError
from archcalc.kinds import KINDS, ROW_KINDS
from archcalc.memory import (device_memory, footprint, inference_memory, largest_batch, predicted_peak_bytes,
                             training_memory)
from archcalc.memory.devices import GPUS, DeviceMemory, parse_size
from archcalc.memory.liveness import buffer_bytes, element_bytes, timeline
from archcalc.kinds.base import Buffer

from conftest import SPECS, has_module, zoo_analysis, zoo_resolution, zoo_specs, zoo_torch_spec


def spec_of(input_shape: list[int], layers: list[dict[str, Any]]) -> Any:
    return parse_spec(yaml.safe_dump({"name": "t", "input": input_shape, "layers": layers}, sort_keys=False))


def cpu_timeline(a: Any, *, training: bool) -> Any:
    """The static model with the CPU's operator choices (dropout's noise), for comparing with CPU runs."""
    return timeline(a.layers, a.groups, output_sources=a.output_sources, batch_size=a.batch_size,
                    bytes_per_element=a.bytes_per_element, training=training, device="cpu")


# --------------------------------------------------------------------------- element sizes


def test_element_bytes_of_each_buffer_type() -> None:
    assert element_bytes("act", 2) == 2  # the activations' own type (bfloat16)
    assert element_bytes("acc", 2) == 4 and element_bytes("acc", 8) == 8  # float32 statistics, float64 for float64
    assert element_bytes("int64", 4) == 8 and element_bytes("bool", 4) == 1
    # 3 per sample * batch 5 * int64 8 bytes = 120; per channel (not batched) 3 * float32 4 = 12
    assert buffer_bytes(Buffer(3, "int64"), batch_size=5, bytes_per_element=4) == 120
    assert buffer_bytes(Buffer(3, "acc", batched=False), batch_size=5, bytes_per_element=2) == 12


# --------------------------------------------------------------------------- closed forms

CHAIN = [{"name": "conv", "type": "conv", "out": 4, "kernel": 3, "padding": 1}, {"name": "relu", "type": "relu"},
         {"name": "pool", "type": "maxpool", "kernel": 2}, {"name": "flat", "type": "flatten"},
         {"name": "fc", "type": "linear", "out": 3}]


def test_chain_liveness_closed_form() -> None:
    """Input [2, 4, 4] = 32 elements = 128 B, float32, batch 1. conv -> 4x4x4 = 256 B, relu 256 B,
    pool -> 4x2x2 = 64 B (+ int64 indices 16 * 8 = 128 B of scratch), flatten a view, fc 3 * 4 = 12 B.
    While a row runs: what was alive + its output (+ scratch); after it, its inputs are freed where it was
    their last use (the network input lives to the end)."""
    a = analyze(spec_of([2, 4, 4], CHAIN))
    during = cpu_timeline(a, training=False).during
    assert list(during) == [128 + 256,  # conv: input + output = 384
                            128 + 256 + 256,  # relu: input, conv's output, relu's output = 640
                            128 + 256 + 64 + 128,  # pool: relu's output alive, indices as scratch = 576
                            128 + 64,  # flatten allocates nothing = 192
                            128 + 64 + 12]  # fc = 204
    assert [r.live_bytes for r in a.layers] == [384, 128 + 256, 128 + 64, 128 + 64, 128 + 12]
    assert a.totals.peak_activation_bytes == 640  # while relu runs
    assert a.totals.activation_bytes == 256 + 256 + 64 + 64 + 12  # the old sum counts flatten too: 652


def test_chain_saved_closed_form() -> None:
    """conv keeps its input (128 B); relu its output (256 B); pool its input (relu's output: kept already,
    counted once) and int64 indices (16 * 8 = 128 B); flatten nothing; fc its input (the pooled storage
    through flatten's view, 64 B). 128 + 256 + 128 + 64 = 576."""
    a = analyze(spec_of([2, 4, 4], CHAIN))
    assert [r.saved_bytes for r in a.layers] == [128, 256, 128, 0, 64]
    assert a.totals.saved_bytes == 576


def test_residual_holds_its_input_and_batch_norm_keeps_statistics() -> None:
    """Input [4, 2, 2] = 64 B. body conv 1x1 (64 B), batch norm (64 B), add (64 B), post-add relu (64 B).
    The residual's input lives to the add. Training: conv keeps the input (64), batch norm its input (64)
    and mean and inverse std per channel (2 * 4 * 4 = 32), add nothing, relu its output (64)."""
    a = analyze(spec_of([4, 2, 2], [{"name": "res", "type": "residual", "activation": "relu",
                                      "body": [{"name": "conv", "type": "conv", "out": 4, "kernel": 1, "bias": False},
                                               {"name": "bn", "type": "batchnorm"}]}]))
    assert [r.name for r in a.layers] == ["res.conv", "res.bn", "res.add", "res.act"]
    assert list(cpu_timeline(a, training=False).during) == [128, 192, 192, 192]
    assert [r.live_bytes for r in a.layers] == [128, 128, 128, 128]
    assert [r.saved_bytes for r in a.layers] == [64, 64 + 32, 0, 64]


def test_concat_allocates_while_its_inputs_are_alive() -> None:
    """Input [2, 2, 2] = 32 B; branches: identity and conv 1x1 -> 2 channels (32 B); the concat's output
    4x2x2 = 64 B is allocated while both inputs are alive: 32 + 32 + 64 = 128."""
    a = analyze(spec_of([2, 2, 2], [{"name": "cat", "type": "concat",
                                     "branches": [[], [{"name": "conv", "type": "conv", "out": 2, "kernel": 1}]]}]))
    assert list(cpu_timeline(a, training=False).during) == [64, 128]
    assert a.layers[-1].live_bytes == 32 + 64  # the branch output is freed, the input is not


def test_a_block_keeps_its_input_until_it_returns() -> None:
    """conv0 (32 B) then a block [conv, relu]: the block's caller holds conv0's output until the block
    returns (as nn.Sequential's caller does), so while relu runs input + conv0 + conv + relu are alive:
    4 * 32 = 128; freed only after the block."""
    a = analyze(spec_of([2, 2, 2], [{"name": "conv0", "type": "conv", "out": 2, "kernel": 1},
                                    {"name": "blk", "type": "sequential", "layers": [
                                        {"name": "conv", "type": "conv", "out": 2, "kernel": 1},
                                        {"name": "relu", "type": "relu"}]}]))
    assert list(cpu_timeline(a, training=False).during) == [64, 96, 128]
    assert a.layers[-1].live_bytes == 64  # the input and the block's output


def test_side_outputs_live_to_the_end() -> None:
    """A side head [pool -> 2 * 4 = 8 B, flatten] leaves the network: it stays alive under the main conv."""
    a = analyze(spec_of([2, 2, 2], [{"name": "aux", "type": "side", "layers": [{"type": "global_avgpool"},
                                                                               {"type": "flatten"}]},
                                    {"name": "conv", "type": "conv", "out": 2, "kernel": 1}]))
    assert [r.live_bytes for r in a.layers] == [32 + 8, 32 + 8, 32 + 8 + 32]


def test_layers_on_the_input_without_parameters_keep_nothing() -> None:
    """The input needs no gradient: a max pool straight on it is not recorded by autograd (no indices kept)."""
    a = analyze(spec_of([2, 4, 4], [{"name": "pool", "type": "maxpool", "kernel": 2},
                                    {"name": "conv", "type": "conv", "out": 2, "kernel": 1}]))
    assert [r.saved_bytes for r in a.layers] == [0, 2 * 2 * 2 * 4]  # conv keeps the pooled 8 elements


def test_vgg16_peak_is_far_below_the_sum_of_outputs() -> None:
    """VGG-16, batch 1, float32: every output summed is 109.5 MiB; the live peak is while conv1's second relu
    runs: the input (3*224*224 * 4 = 602,112 B) and three 64x224x224 maps (12,845,056 B each): the first
    block's output (held until the second block returns), the second conv's output and its relu's."""
    a = analyze(load_spec(SPECS / "vgg16.yaml"))
    assert a.totals.activation_bytes == 114_804_640  # 109.5 MiB
    assert a.totals.peak_activation_bytes == 602_112 + 3 * 12_845_056 == 39_137_280  # 37.3 MiB
    assert inference_memory(a).peak_row == "conv1.block2.relu"


def test_live_bytes_scale_with_the_batch_and_dtype() -> None:
    one, eight = (analyze(load_spec(SPECS / "resnet18.yaml"), batch_size=b, dtype="bfloat16") for b in (1, 8))
    assert eight.totals.peak_activation_bytes == 8 * one.totals.peak_activation_bytes
    # batch norm's statistics are per channel, not per sample: saved bytes grow a little less than 8x
    stats = sum(2 * 4 * r.output_shape[0] for r in one.layers if r.type == "batchnorm")
    assert eight.totals.saved_bytes == 8 * (one.totals.saved_bytes - stats) + stats


def test_group_rows_carry_live_after_and_saved_sums() -> None:
    a = analyze(load_spec(SPECS / "resnet18.yaml"), batch_size=2)
    for g in a.groups:
        assert g.live_bytes == a.layers[g.stop - 1].live_bytes
        assert g.saved_bytes == sum(r.saved_bytes for r in a.layers[g.first:g.stop])
    assert a.totals.saved_bytes == sum(r.saved_bytes for r in a.layers)


@pytest.mark.parametrize("tag", sorted({*KINDS, *ROW_KINDS}))
def test_every_row_kind_has_a_memory_rule(tag: str) -> None:
    kind = KINDS.get(tag) or ROW_KINDS[tag]
    if kind.composite and tag != "concat":  # sequential, side, residual emit no rows of their own type
        return
    assert kind.memory is not None


# --------------------------------------------------------------------------- training step


def test_training_terms_closed_form() -> None:
    """Parameters P of the chain: conv 4*2*9 + 4 = 76, fc 16*3 + 3 = 51: P = 127. AdamW keeps two moments:
    weights 4P = 508, gradients 508, state 1,016, and its foreach step a temporary of 4P; pure bfloat16
    halves each; bf16-mixed keeps float32 masters and adds bfloat16 copies of the conv/linear weights (2P)."""
    spec = spec_of([2, 4, 4], CHAIN)
    f32 = training_memory(analyze(spec), optimizer="adamw", precision="float32")
    assert (f32.weight_bytes, f32.gradient_bytes, f32.optimizer_bytes, f32.step_temporary_bytes) == (508, 508, 1016, 508)
    assert f32.weight_copy_bytes == 0 and f32.saved_bytes == 576
    assert f32.step_bytes == 508 + 508 + 1016 + 508 + 128 + 12  # + the input and the output
    assert f32.total_bytes == max(f32.phases.values())
    bf16 = training_memory(analyze(spec, dtype="bfloat16"), optimizer="sgd", precision="bfloat16")
    assert (bf16.weight_bytes, bf16.gradient_bytes, bf16.optimizer_bytes) == (254, 254, 0)
    mixed = training_memory(analyze(spec, dtype="bfloat16"), optimizer="momentum", precision="bf16-mixed")
    assert (mixed.weight_bytes, mixed.optimizer_bytes, mixed.weight_copy_bytes) == (508, 508, 254)
    with pytest.raises(ValueError, match="analyze at dtype 'bfloat16'"):
        training_memory(analyze(spec), precision="bf16-mixed")


def test_inference_memory_terms() -> None:
    a = analyze(load_spec(SPECS / "resnet50.yaml"))
    m = inference_memory(a)
    assert m.weight_bytes == 4 * 25_557_032 and m.activation_peak_bytes == a.totals.peak_activation_bytes
    assert predicted_peak_bytes(a) > m.total_bytes  # the refusal adds the largest convolution's workspace


# --------------------------------------------------------------------------- devices and the largest batch


def test_sizes_and_gpus() -> None:
    assert parse_size("80GiB") == 80 * 2**30 and parse_size("24GB") == 24 * 10**9
    assert parse_size("1.5 mib") == 1_572_864 and parse_size("512") == 512 and parse_size("lots") is None
    assert device_memory("H100").total_bytes == 80 * 2**30 and device_memory("a100-40gb").total_gib == 40
    assert set(GPUS) >= {"h100", "h200", "a100-40gb", "a100-80gb"}
    with pytest.raises(UsageError, match="neither a size .* nor a GPU"):
        device_memory("a200")


def test_largest_batch_is_the_boundary_of_the_model() -> None:
    spec = load_spec(SPECS / "resnet18.yaml")
    device = DeviceMemory("test", 2 * 2**30)
    for mode in ("inference", "training"):
        fit = largest_batch(spec, device=device, mode=mode, context_bytes=2**28)
        assert fit.batch is not None and fit.fits is not None and fit.next is not None
        assert fit.fits.total_bytes <= fit.budget_bytes < fit.next.total_bytes
        assert fit.next.batch_size == fit.batch + 1
        assert footprint(spec, batch_size=fit.batch, mode=mode).total_bytes == fit.fits.total_bytes
    tiny = largest_batch(spec, device=DeviceMemory("tiny", 2**20), context_bytes=0)
    assert tiny.batch is None and tiny.next is not None and tiny.next.batch_size == 1
    huge = largest_batch(spec_of([2, 2, 2], [{"type": "relu"}]), device=device, max_batch=64)
    assert huge.batch == 64 and huge.next is None


# --------------------------------------------------------------------------- reports and the command line


def test_report_json_carries_live_saved_and_the_totals(capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(SPECS / "resnet18.yaml"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    a = analyze(load_spec(SPECS / "resnet18.yaml"))
    assert doc["totals"]["peak_activation_bytes"] == a.totals.peak_activation_bytes
    assert doc["totals"]["saved_bytes"] == a.totals.saved_bytes
    assert doc["totals"]["activation_bytes"] == a.totals.activation_bytes  # the old sum, by its explicit name
    assert [r["live_bytes"] for r in doc["layers"]] == [r.live_bytes for r in a.layers]
    assert [r["saved_bytes"] for r in doc["layers"]] == [r.saved_bytes for r in a.layers]


def test_table_titles_say_what_each_memory_column_holds(capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(SPECS / "vgg16.yaml"), "--raw"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Layer"))
    assert "Output mem" in header and "Live mem" in header and "Memory" not in header
    total = next(line for line in out.splitlines() if line.startswith("Total"))
    assert "114804640" in total and "39137280" in total  # the sum of outputs, and the live peak
    assert "Live mem: activations alive after the row" in out


def test_memory_command_table_and_json(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = str(SPECS / "resnet50.yaml")
    assert main(["memory", path, "--batch", "1,8", "--mode", "training", "--precision", "bf16-mixed",
                 "--device-memory", "40GiB"]) == 0
    out = capsys.readouterr().out
    assert "training step (adamw, bf16-mixed)" in out and "batch 8" in out and "autocast bf16 weight copies" in out
    assert "Largest batch that fits on 40GiB" in out
    out_file = tmp_path / "m.json"
    assert main(["memory", path, "--batch", "2", "--format", "json", "--device-memory", "none", "-o", str(out_file)]) == 0
    doc = json.loads(out_file.read_text())
    a = analyze(load_spec(path), batch_size=2)
    assert doc["batches"][0]["activation_peak_bytes"] == a.totals.peak_activation_bytes
    assert doc["batches"][0]["total_bytes"] == a.param_bytes + a.totals.peak_activation_bytes
    assert "largest_batch" not in doc


def test_memory_command_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    path = str(SPECS / "resnet18.yaml")
    assert main(["memory", path, "--device-memory", "a200"]) == 2
    assert "neither a size" in capsys.readouterr().err
    assert main(["memory", path, "--context-memory", "lots"]) == 2
    assert "--context-memory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["memory", path, "--batch", "0"])
    capsys.readouterr()


@pytest.mark.skipif(not has_module("matplotlib"), reason="matplotlib is not installed")
def test_memory_chart_data_and_drawing(tmp_path: Path) -> None:
    from archcalc.plots.memory import memory_chart

    a = analyze(load_spec(SPECS / "resnet18.yaml"), batch_size=4)
    infer = memory_chart(a)
    assert infer.peak == a.totals.peak_activation_bytes and len(infer.during) == len(a.layers)
    train = memory_chart(a, training=True, optimizer="sgd")
    n = len(a.layers)
    assert len(train.during) == 2 * n and train.backward == (False,) * n + (True,) * n
    step = training_memory(a, optimizer="sgd")
    assert train.peak == max(step.forward_activation_bytes, step.backward_activation_bytes)
    assert max(train.inference) == a.totals.peak_activation_bytes
    out = tmp_path / "mem.png"
    assert main(["plot", "memory", str(SPECS / "resnet18.yaml"), "--mode", "training", "--batch", "4",
                 "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


# --------------------------------------------------------------------------- measured with torch

torch_only = pytest.mark.torch


def _measure(spec: Any, *, batch: int = 2, device: str = "cpu", uninitialized: bool = False) -> tuple[Any, Any, Any]:
    """The analysis, the bytes autograd kept (per row) and the inference peak, measured on the built model
    (one intra-op thread, as the cross-check runs: batch-2 tensors at a reduced input gain nothing from more).

    ``uninitialized``: build on the meta device and allocate the weights on ``device`` uninitialized, as
    the cross-check does, instead of running every module's initializer: what is measured are tensor sizes,
    which the weights' values do not change (no zoo kind has a data-dependent shape; the detectors' boxes are
    fixed, never NMS'd; over the zoo, every row's saved bytes and both peaks came out identical either way).
    Initializing took most of the zoo test's time (7 s of CPU for RegNetY-128GF's 645 M parameters, 2 s for
    each VGG)."""
    import torch

    from archcalc.memory.measure import measure_live, measure_saved
    from archcalc.torch.build import build_model

    a = analyze(spec, batch_size=batch)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        if uninitialized:
            model = build_model(spec, analysis=a, device="meta").to_empty(device=device)
        else:
            model = build_model(spec, analysis=a, device=device)
        x = torch.randn((batch, *spec.input_shape), device=device)
        return a, measure_saved(model, a, x), measure_live(model, a, x)
    finally:
        torch.set_num_threads(threads)


def _assert_measured(a: Any, saved: Any, live: Any, *, tolerance: float = 0.02) -> None:
    """Saved bytes exactly, the inference peak within ``tolerance``: the static model with the CPU's operator
    choices (each rule's ``NB:``), which differs from ``peak_activation_bytes`` (CUDA's) only where a rule says so."""
    static = cpu_timeline(a, training=True)
    rows = {r.name: s for r, s in zip(a.layers, static.saved)}
    differ = [(name, rows[name], saved.per_row.get(name, 0)) for name in rows if rows[name] != saved.per_row.get(name, 0)]
    assert not differ, differ[:5]
    assert set(saved.per_row) <= set(rows)  # every saved tensor was kept inside a row's module
    assert saved.total == static.saved_total
    peak = cpu_timeline(a, training=False).peak
    assert abs(peak - live.peak) <= tolerance * live.peak, (peak, live.peak)
    assert peak <= a.totals.peak_activation_bytes  # CUDA's choices only add (layer norm's contiguous copy)


@torch_only
@pytest.mark.parametrize("training", [False, True])
# gc.collect() below then walks this test's objects only (0.5-1 s less in a full worker); freezing can only keep
# more alive, never less, so the check is as strict
@pytest.mark.usefixtures("older_objects_frozen")
def test_measuring_keeps_nothing_alive(training: bool) -> None:
    """After the measurements the model and its parameters are freed with the last reference to them.
    Before, ``measure_saved``'s hooks and the graph kept each other (and so the parameters) alive in a
    cycle through C++ that ``gc.collect()`` cannot break: VGG-16's weights outlived every measurement,
    and a test worker grew to 20 GB over the zoo."""
    import gc
    import weakref

    import torch

    from archcalc.memory.measure import measure_live, measure_saved, measure_training_step
    from archcalc.torch.build import build_model

    spec = spec_of([3, 8, 8], [{"type": "conv", "out": 4, "kernel": 3, "padding": 1}, {"type": "relu"},
                               {"type": "conv", "out": 4, "kernel": 3}, {"type": "batchnorm"}, {"type": "sigmoid"}])
    a = analyze(spec, batch_size=2)
    model = build_model(spec, analysis=a, device="cpu")
    param = weakref.ref(next(model.parameters()))
    x = torch.randn(2, *spec.input_shape)
    if training:
        assert measure_saved(model, a, x).total > 0
        measure_training_step(model, x)
    measure_live(model, a, x, training=training)
    del model
    gc.collect()
    assert param() is None


@torch_only
@pytest.mark.parametrize("example", [pytest.param(ex, id=f"{tag}-{i}" if i else tag) for tag in sorted(KINDS)
                                     for i, ex in enumerate(KINDS[tag].examples)])
def test_every_kind_example_is_measured(example: Any) -> None:
    """Each kind's examples after a convolution (so autograd records them), batch 2: the bytes kept for
    backward exactly, the inference peak within 2 %."""
    pytest.importorskip("torch")
    flat = len(example.input) == 1
    first = {"name": "stem", "type": "linear" if flat else "conv", "out": example.input[0],
             **({} if flat else {"kernel": 1})}
    spec = spec_of(list(example.input), [first, dict(example.entry)])
    _assert_measured(*_measure(spec))


def test_dropout_keeps_a_byte_mask_on_cuda_and_its_noise_on_the_cpu() -> None:
    """fc 4 -> 8 then dropout, batch 1: CUDA's fused dropout keeps a bool mask (8 B), the CPU its float32 noise (32 B)."""
    a = analyze(spec_of([4], [{"name": "fc", "type": "linear", "out": 8}, {"name": "drop", "type": "dropout"}]))
    assert a.layers[1].saved_bytes == 8
    assert cpu_timeline(a, training=True).saved[1] == 32


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_analysis_records_the_inference_peak_and_its_row(path: Path) -> None:
    """``analyze`` keeps the inference timeline's peak and the row it occurs during (the report's note
    reads them); both are what the timeline gives when computed again from the rows."""
    a = zoo_analysis(path)
    again = inference_memory(a)
    assert (a.totals.peak_activation_bytes, a.peak_row) == (again.activation_peak_bytes, again.peak_row)


# The zoo runs at the smallest input (each spatial axis capped at one of ZOO_TARGETS) with exactly the same
# rows as the spec's own (conftest.zoo_resolution, shared with tests/test_crosscheck.py). A spec with no such
# input and a large one (U-Net's fixed crops, GoogLeNet's final 7x7 pooling) runs its inference pass on the
# meta device too, whose kernels allocate the CPU's outputs for those layers (checked against the CPU once
# for each: equal; meta's batch norm, elsewhere, allocates temporaries the CPU's does not).
META_ABOVE = 100_000  # input elements per sample from which an unreduced spec runs on meta


@torch_only
@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_saved_bytes_exact_and_peak_within_2_percent(path: Path) -> None:
    """Every zoo spec, batch 2, at a reduced input: the bytes autograd keeps in a training-mode forward
    (deduplicated by storage, parameters and buffers left out) equal ``saved_bytes`` row by row; the
    peak of live tensor bytes in a ``no_grad`` forward is within 2 % of ``peak_activation_bytes``.
    The weights are left uninitialized (see :func:`_measure`): the sizes measured are those of any weights."""
    pytest.importorskip("torch")
    spec = zoo_torch_spec(path)[0]  # at zoo_resolution(path), with zoo_params(path)
    device = "meta" if zoo_resolution(path) is None and math.prod(spec.input_shape) > META_ABOVE else "cpu"
    _assert_measured(*_measure(spec, device=device, uninitialized=device == "cpu"))


@torch_only
@pytest.mark.parametrize("name", ["resnet18", "densenet121"])
def test_training_step_measured_within_one_percent(name: str) -> None:
    """One training step (forward, backward, foreach AdamW and SGD steps) at 32x32, batch 2, measured with the
    live-storage tracker (parameters, buffers and optimizer state included): the prediction plus the
    model's buffers (batch-norm running statistics) is within 1 %."""
    torch = pytest.importorskip("torch")
    from archcalc.memory.measure import measure_training_step
    from archcalc.torch.build import build_model

    spec = load_spec(SPECS / f"{name}.yaml", scale={"resolution": [32, 32]})
    a = analyze(spec, batch_size=2)
    model = build_model(spec, analysis=a)
    x = torch.randn((2, *spec.input_shape))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for optimizer in ("sgd", "adamw"):
            measured = measure_training_step(model, x, optimizer=optimizer)
            buffers = measured.state_bytes - a.param_bytes
            predicted = training_memory(a, optimizer=optimizer).total_bytes + buffers
            assert abs(predicted - measured.peak) <= 0.01 * measured.peak, (optimizer, predicted, measured)
    finally:
        torch.set_num_threads(threads)


@torch_only
def test_gpu_check_measurement_dry_runs_on_the_cpu() -> None:
    """The GPU check's function runs on the CPU (the tracker stands in for max_memory_allocated): records for
    each mode and batch, the prediction beside the measurement, no CUDA terms."""
    pytest.importorskip("torch")
    from archcalc.memory import measure_memory_sweep

    spec = spec_of([3, 16, 16], [{"type": "conv", "out": 8, "kernel": 3, "padding": 1}, {"type": "batchnorm"},
                                 {"type": "relu"}, {"type": "global_avgpool"}, {"type": "flatten"},
                                 {"type": "linear", "out": 4}])
    records = measure_memory_sweep(spec, batch_sizes=(2, 4), device="cpu")
    assert [(r.mode, r.batch_size) for r in records] == [("inference", 2), ("inference", 4), ("training", 2),
                                                          ("training", 4)]
    for r in records:
        assert r.context_bytes is None and r.rounding_bytes == 0 and r.workspace_bytes == 0
        assert abs(r.relative_error) <= 0.01, r
        assert json.loads(json.dumps(r.to_dict()))["spec"] == "t"
    from archcalc.report.memory import records_table

    table = records_table(records)
    assert table.count("\n") == 2 + len(records) and "| t " in table and "n/a" in table


def test_memory_modules_import_neither_torch_nor_matplotlib() -> None:
    import subprocess
    import sys

    code = ("import sys, archcalc.memory, archcalc.memory.cuda, archcalc.memory.study, archcalc.plots.memory, "
            "archcalc.report.memory, archcalc.commands.memory; print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SPECS.parent, check=True)
    assert out.stdout.strip() == "False False"


@torch_only
def test_random_specs_are_measured() -> None:
    """Random valid specs (the property tests' strategy: chains on 1-, 2- and 3-D inputs, nested residuals
    with every shortcut, concats with empty branches, side outputs): saved bytes exactly, the inference peak
    within 2 %, each behind a convolution so that autograd records every layer. (Run with thousands of
    examples while the rules were written: every difference found became a rule, or the one quirk below.)"""
    pytest.importorskip("torch")
    pytest.importorskip("hypothesis")
    properties = pytest.importorskip("test_properties")
    from hypothesis import HealthCheck, assume, given, settings

    from archcalc.torch.modules import BuildError

    @settings(max_examples=30, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(properties.random_specs())
    def check(spec: Any) -> None:
        stem = {"name": "stem", "type": "conv", "out": spec.input_shape[0], "kernel": 1}
        doc = yaml.safe_load(yaml.safe_dump({"name": "random", "input": list(spec.input_shape)}))
        layers = [stem, *(layer.model_dump(exclude_none=True, exclude_defaults=True) for layer in spec.layers)]
        with_stem = parse_spec(yaml.safe_dump({**doc, "layers": _plain(layers)}, sort_keys=False))
        a = analyze(with_stem, batch_size=2)
        # NB: one CPU quirk is left out, not modelled: single-threaded, a 3-D transposed convolution with a
        # 1x1x1 kernel and stride 1 whose output is smaller than its input returns a view into a buffer of
        # the input's size (two threads allocate the output's size; CUDA runs cuDNN)
        assume(not any(r.type == "conv_transpose" and len(r.input_shape) == 4 and r.attrs["kernel"] == 1
                       and r.attrs["stride"] == 1 and math.prod(r.output_shape) < math.prod(r.input_shape)
                       for r in a.layers))
        try:
            measured = _measure(with_stem)
        except BuildError:  # a spec torch cannot express (local response norm on a flat input)
            assume(False)
        _assert_measured(*measured)

    check()


def _plain(value: Any) -> Any:
    """Validated layer models dumped back to YAML-able data (types kept, defaults left out)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
