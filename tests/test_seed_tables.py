"""The lecture tables (../shared/seeds) reproduced from specs, derivations beside the numbers."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.spec import parse_spec

from conftest import SPECS


def _analyze(layers: list[dict], shape: list[int]) -> archcalc.Analysis:
    return archcalc.analyze(parse_spec(json.dumps({"name": "t", "input": shape, "layers": layers})))


# Seed 001, AlexNet table: layer -> (C_out, H'/W', Mem KB, Param k, Flops M) with their exact values.
ALEXNET = {
    # 96*55*55*4/1024 = 1134.375 KB; 96*3*11*11 + 96 = 34,944; 96*55*55 * 3*11*11 = 105,415,200
    "conv1": ((96, 55, 55), 1_161_600, 34_944, 105_415_200),
    # 96*27*27*4 = 279,936 B = 273.4 KB; pooling: 96*27*27 * 3*3 = 629,856 ops
    "pool1": ((96, 27, 27), 279_936, 0, 629_856),
    # 256*27*27*4/1024 = 729 KB; 256*96*5*5 + 256 = 614,656; 256*27*27 * 96*5*5 = 447,897,600
    "conv2": ((256, 27, 27), 746_496, 614_656, 447_897_600),
    # 256*13*13*4 = 173,056 B = 169 KB; 256*13*13 * 9 = 389,376 ops
    "pool2": ((256, 13, 13), 173_056, 0, 389_376),
    # 384*13*13*4/1024 = 253.5 KB; 384*256*9 + 384 = 885,120; 384*169 * 256*9 = 149,520,384
    "conv3": ((384, 13, 13), 259_584, 885_120, 149_520_384),
    # 384*384*9 + 384 = 1,327,488; 384*169 * 384*9 = 224,280,576
    "conv4": ((384, 13, 13), 259_584, 1_327_488, 224_280_576),
    # 256*384*9 + 256 = 884,992; 256*169 * 384*9 = 149,520,384
    "conv5": ((256, 13, 13), 173_056, 884_992, 149_520_384),
    # 256*6*6*4 = 36,864 B = 36 KB; 256*6*6 * 9 = 82,944 ops
    "pool5": ((256, 6, 6), 36_864, 0, 82_944),
    # flatten 256*6*6 = 9,216 elements = 36 KB
    "flatten": ((9216,), 36_864, 0, 0),
    # 9216*4096 + 4096 = 37,752,832 params; 9216*4096 = 37,748,736 MACs
    "fc6": ((4096,), 16_384, 37_752_832, 37_748_736),
    # 4096*4096 + 4096 = 16,781,312; 4096*4096 = 16,777,216
    "fc7": ((4096,), 16_384, 16_781_312, 16_777_216),
    # 4096*1000 + 1000 = 4,097,000 (the table prints 4,096 K: bias left out); 4,096,000 MACs
    "fc8": ((1000,), 4_000, 4_097_000, 4_096_000),
}


@pytest.fixture(scope="module")
def alexnet() -> archcalc.Analysis:
    return archcalc.analyze(archcalc.load_spec(SPECS / "alexnet.yaml"))


@pytest.mark.parametrize("layer", sorted(ALEXNET))
def test_alexnet_table_row(alexnet: archcalc.Analysis, layer: str):
    shape, act_bytes, params, seed_flops = ALEXNET[layer]
    row = alexnet.row(layer)
    assert row.output_shape == shape
    assert row.activation_bytes == act_bytes
    assert row.params == params
    assert row.macs + row.pooling_ops == seed_flops


def test_alexnet_printed_rounding(alexnet: archcalc.Analysis):
    # the table's Mem (KB), Param (k), Flops (M) columns as printed: the exact values of ALEXNET
    # above in KB (/1024), thousands and millions, rounded to the nearest integer
    printed = {
        "conv1": (1134, 35, 105),  # 1,161,600/1024 = 1134.4; 34,944/1000 = 34.9; 105,415,200/1e6 = 105.4
        "conv2": (729, 615, 448),  # 746,496/1024 = 729; 614,656/1000 = 614.7; 447,897,600/1e6 = 447.9
        "conv3": (254, 885, 150),  # 259,584/1024 = 253.5 (half to even: 254); 885,120/1000 = 885.1; 149.5 M
        "conv4": (254, 1327, 224),  # 259,584/1024 = 253.5 -> 254; 1,327,488/1000 = 1327.49; 224,280,576/1e6 = 224.3
        "conv5": (169, 885, 150),  # 173,056/1024 = 169; 884,992/1000 = 885.0; 149,520,384/1e6 = 149.5
        "fc6": (16, 37753, 38),  # 4096*4/1024 = 16; 37,752,832/1000 = 37,752.8; 37,748,736/1e6 = 37.7
        "fc7": (16, 16781, 17),  # 4096*4/1024 = 16; 16,781,312/1000 = 16,781.3; 16,777,216/1e6 = 16.8
    }
    for name, (kb, k, m) in printed.items():
        row = alexnet.row(name)
        assert round(row.activation_bytes / 1024) == kb, name
        assert round(row.params / 1000) == k, name
        assert round(row.seed_flops / 1e6) == m, name
    # params: conv 34,944 + 614,656 + 885,120 + 1,327,488 + 884,992 = 3,747,200;
    # fc 37,752,832 + 16,781,312 + 4,097,000 (4096*1000 + 1000) = 58,631,144; 3,747,200 + 58,631,144 = 62,378,344
    assert alexnet.totals.params == 62_378_344
    # MACs: conv 105,415,200 + 447,897,600 + 149,520,384 + 224,280,576 + 149,520,384 = 1,076,634,144;
    # fc 9216*4096 + 4096*4096 + 4096*1000 = 37,748,736 + 16,777,216 + 4,096,000 = 58,621,952;
    # 1,076,634,144 + 58,621,952 = 1,135,256,096 (pooling and ReLU add no MACs)
    assert alexnet.totals.macs == 1_135_256_096


def test_googlenet_stem():
    # Seed 001 "Stem network in GoogLeNet": 224 -> 28x28x192
    stem = _analyze([
        {"name": "conv1", "type": "conv", "out": 64, "kernel": 7, "stride": 2, "padding": 3},
        {"name": "pool1", "type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
        {"name": "conv2", "type": "conv", "out": 64, "kernel": 1},
        {"name": "conv3", "type": "conv", "out": 192, "kernel": 3, "padding": 1},
        {"name": "pool2", "type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
    ], [3, 224, 224])
    rows = {r.name: r for r in stem.layers}
    assert stem.output_shape == (192, 28, 28)
    # conv1: 64*112*112*4/1024 = 3136 KB; 64*3*49 + 64 = 9,472 (9 K); 64*112*112 * 3*49 = 118,013,952 (118 M)
    assert (rows["conv1"].activation_bytes, rows["conv1"].params, rows["conv1"].macs) == (3136 * 1024, 9_472, 118_013_952)
    # pool1: 64*56*56*4/1024 = 784 KB; 64*56*56 * 9 = 1,806,336 ops (2 M)
    assert (rows["pool1"].activation_bytes, rows["pool1"].pooling_ops) == (784 * 1024, 1_806_336)
    # conv2: 64*64 + 64 = 4,160 (4 K); 64*56*56 * 64 = 12,845,056 (13 M)
    assert (rows["conv2"].params, rows["conv2"].macs) == (4_160, 12_845_056)
    # conv3: 192*64*9 + 192 = 110,784 (111 K); 192*56*56 * 64*9 = 346,816,512 (347 M); 2352 KB
    assert (rows["conv3"].params, rows["conv3"].macs, rows["conv3"].activation_bytes) == (110_784, 346_816_512, 2352 * 1024)
    # pool2: 192*28*28*4/1024 = 588 KB; 192*28*28 * 9 = 1,354,752 ops (1 M)
    assert (rows["pool2"].activation_bytes, rows["pool2"].pooling_ops) == (588 * 1024, 1_354_752)
    # Totals: 3136+784+784+2352+588 = 7,644 KB = 7.5 MB; params 124,416 (124 K)
    assert stem.totals.activation_bytes == 7644 * 1024
    assert stem.totals.params == 124_416
    # MACs + pooling = 118,013,952 + 1,806,336 + 12,845,056 + 346,816,512 + 1,354,752 = 480,836,608:
    # the slide prints "MFLOP: 418", a digit swap of 481 (its own rows sum to 118+2+13+347+1 = 481).
    assert stem.totals.seed_flops == 480_836_608


def _inception(reduce: bool) -> archcalc.Analysis:
    def conv(out: int, k: int) -> dict:
        return {"type": "conv", "out": out, "kernel": k, "padding": k // 2, "bias": False}
    if reduce:
        branches = [[conv(64, 1)], [conv(96, 1), conv(128, 3)], [conv(16, 1), conv(32, 5)],
                    [{"type": "maxpool", "kernel": 3, "stride": 1, "padding": 1}, conv(32, 1)]]
    else:
        branches = [[conv(64, 1)], [conv(128, 3)], [conv(32, 5)],
                    [{"type": "maxpool", "kernel": 3, "stride": 1, "padding": 1}]]
    return _analyze([{"type": "concat", "branches": branches}], [192, 28, 28])


def test_inception_module_naive_vs_reduced():
    # Seed 002: naive W = 1*1*192*64 + 3*3*192*128 + 5*5*192*32 = 12,288 + 221,184 + 153,600 = 387,072
    naive = _inception(reduce=False)
    assert naive.totals.params == 387_072
    # output 28x28x(64 + 128 + 32 + 192) = 28x28x416 (the slide's "28x28x3" term is a typo for x32)
    assert naive.output_shape == (416, 28, 28)
    # with 1x1 reductions: 12,288 + (18,432 + 110,592) + (3,072 + 12,800) + 6,144 = 163,328
    reduced = _inception(reduce=True)
    assert reduced.totals.params == 163_328
    assert reduced.output_shape == (256, 28, 28)  # 64 + 128 + 32 + 32


@pytest.mark.parametrize("c,hw", [(64, 56), (256, 14)])
def test_basic_vs_bottleneck(c: int, hw: int):
    # Seed 001: basic block = two 3x3 C->C = 2 * 9 = 18 HWC^2 multiply-adds
    basic = _analyze([{"type": "conv", "out": c, "kernel": 3, "padding": 1, "bias": False}] * 2, [c, hw, hw])
    assert basic.totals.macs == 18 * hw * hw * c * c
    # bottleneck 4C -> C (1x1), C -> C (3x3), C -> 4C (1x1) = (4 + 9 + 4) = 17 HWC^2
    bottleneck = _analyze([{"type": "conv", "out": c, "kernel": 1, "bias": False},
                           {"type": "conv", "out": c, "kernel": 3, "padding": 1, "bias": False},
                           {"type": "conv", "out": 4 * c, "kernel": 1, "bias": False}], [4 * c, hw, hw])
    assert bottleneck.totals.macs == 17 * hw * hw * c * c


@pytest.mark.parametrize("c,hw", [(64, 56), (128, 28)])
def test_two_3x3_vs_one_5x5(c: int, hw: int):
    # Seed 001: one 5x5 C->C: params 25C^2, FLOPs 25C^2HW; two 3x3: 18C^2, 18C^2HW (same 5x5 field)
    one = _analyze([{"type": "conv", "out": c, "kernel": 5, "padding": 2, "bias": False}], [c, hw, hw])
    two = _analyze([{"type": "conv", "out": c, "kernel": 3, "padding": 1, "bias": False}] * 2, [c, hw, hw])
    assert (one.totals.params, one.totals.macs) == (25 * c * c, 25 * c * c * hw * hw)
    assert (two.totals.params, two.totals.macs) == (18 * c * c, 18 * c * c * hw * hw)
    assert one.layers[-1].receptive_field == two.layers[-1].receptive_field == (5, 5)


@pytest.mark.parametrize("c,hw", [(32, 112), (512, 14)])
def test_mobilenet_depthwise_separable(c: int, hw: int):
    # Seed 001: standard 3x3 conv block 9C^2HW; depthwise (9CHW) + pointwise (C^2HW) = (9C + C^2)HW
    standard = _analyze([{"type": "conv", "out": c, "kernel": 3, "padding": 1, "bias": False}], [c, hw, hw])
    separable = _analyze([{"type": "conv", "groups": "depthwise", "kernel": 3, "padding": 1, "bias": False},
                          {"type": "conv", "out": c, "kernel": 1, "bias": False}], [c, hw, hw])
    assert standard.totals.macs == 9 * c * c * hw * hw
    assert separable.totals.macs == (9 * c + c * c) * hw * hw
    # speed-up 9C^2 / (9C + C^2) = 9C / (9 + C) -> 9 as C grows
    assert standard.totals.macs / separable.totals.macs == pytest.approx(9 * c / (9 + c))


@pytest.mark.parametrize("spec,layer,rf,jump", [
    # Araujo, Norris & Sim, "Computing Receptive Fields of CNNs", Distill 2019, Table 1:
    # alexnet_v2 195 (same geometry as the lecture AlexNet), vgg_16 212, resnet_v1_50 483; all with
    # effective stride (jump) 32.
    ("alexnet", "pool5", 195, 32),
    ("vgg16", "pool5", 212, 32),
    ("resnet50_v1", "conv5_x.block3.act", 483, 32),
])
def test_published_receptive_fields(spec: str, layer: str, rf: int, jump: int):
    path = SPECS / f"{spec}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} not in the zoo")
    row = archcalc.analyze(archcalc.load_spec(path)).row(layer)
    assert row.receptive_field == (rf, rf)
    assert row.jump == (jump, jump)


def test_alexnet_receptive_field_per_layer(alexnet: archcalc.Analysis):
    # r' = r + (k - 1) * j: conv1 11 (j 4), pool1 11 + 2*4 = 19 (j 8), conv2 19 + 4*8 = 51,
    # pool2 51 + 2*8 = 67 (j 16), conv3 67 + 2*16 = 99, conv4 131, conv5 163, pool5 163 + 2*16 = 195 (j 32)
    expected = {"conv1": 11, "pool1": 19, "conv2": 51, "pool2": 67, "conv3": 99, "conv4": 131, "conv5": 163,
                "pool5": 195}
    assert {name: alexnet.row(name).receptive_field[0] for name in expected} == expected
