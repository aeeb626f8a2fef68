"""Every formula in archcalc.formulas against a worked example, derivation beside the value."""

from __future__ import annotations

import pytest

from archcalc import formulas as F


def test_conv_output_length_alexnet_conv1():
    # (227 - 11 + 2*0) / 4 + 1 = 55
    assert F.conv_output_length(227, 11, 4) == 55
    # the table's "Pad 2" would give floor((227 - 11 + 2*2) / 4) + 1 = 56
    assert F.conv_output_length(227, 11, 4, 2, 2) == 56


def test_conv_output_length_floor_and_ceil():
    # pool1 as the seed's worked example computes it from 56: (56 - 3)/2 + 1 = 27.5 -> floor 27
    assert F.conv_output_length(56, 3, 2) == 27
    # Caffe ceil mode: ceil((112 - 3)/2) + 1 = 56 (GoogLeNet pool1)
    assert F.conv_output_length(112, 3, 2, ceil_mode=True) == 56
    # ceil mode never starts a window in the right padding: (5-2)/2 -> ceil 2 +1 = 3, last start 4 < 5
    assert F.conv_output_length(5, 2, 2, ceil_mode=True) == 3
    # with padding 1: span 6 + ... last window would start at 6 >= 6 + 1? (3-1)*2=4 < 7 keeps 4 windows
    assert F.conv_output_length(6, 3, 2, 1, 1, ceil_mode=True) == 4


def test_conv_output_length_dilation_and_too_small():
    # effective kernel 2*(3-1)+1 = 5: (9 - 5)/1 + 1 = 5
    assert F.conv_output_length(9, 3, 1, dilation=2) == 5
    assert F.conv_output_length(3, 5, 1) == 0  # the caller reports "kernel larger than input"


def test_conv_transpose_output_length():
    # (28 - 1)*2 - 2*0 + 1*(2 - 1) + 0 + 1 = 56 (U-Net 2x2 up-convolution)
    assert F.conv_transpose_output_length(28, 2, 2) == 56
    # (7 - 1)*2 - 2*1 + (3 - 1) + 1 + 1 = 14
    assert F.conv_transpose_output_length(7, 3, 2, 1, 1) == 14


def test_same_padding():
    # stride 1, k 3: total (224-1)*1 + 3 - 224 = 2 -> (1, 1)
    assert F.same_padding(224, 3, 1, 1) == (1, 1)
    # stride 2, k 3 on 224: out 112, total (112-1)*2 + 3 - 224 = 1 -> (0, 1), TF puts the extra at the end
    assert F.same_padding(224, 3, 2, 1) == (0, 1)


def test_conv_params_and_macs_alexnet_conv1():
    # 96*3*11*11 + 96 = 34,944
    assert F.conv_params(3, 96, (11, 11)) == 34_944
    # (96*55*55) * (3*11*11) = 105,415,200
    assert F.conv_macs(3, (96, 55, 55), (11, 11)) == 105_415_200


def test_conv_grouped_and_depthwise():
    # grouped AlexNet conv2: 256 * (96/2) * 5*5 + 256 = 307,456
    assert F.conv_params(96, 256, (5, 5), groups=2) == 307_456
    # depthwise 3x3 on 32 channels: 32 * 1 * 9 = 288 weights, no bias
    assert F.conv_params(32, 32, (3, 3), groups=32, bias=False) == 288
    # depthwise MACs on 32x112x112: 32*112*112 * 1*9 = 3,612,672
    assert F.conv_macs(32, (32, 112, 112), (3, 3), groups=32) == 3_612_672


def test_conv_transpose_macs():
    # each of 64*28*28 inputs scatters into 32*2*2 outputs: 50,176 * 128 = 6,422,528
    assert F.conv_transpose_macs((64, 28, 28), 32, (2, 2)) == 6_422_528


def test_linear_alexnet_fc6():
    # 9216*4096 + 4096 = 37,752,832
    assert F.linear_params(9216, 4096) == 37_752_832
    # 9216*4096 = 37,748,736 (bias adds are not multiply-adds)
    assert F.linear_macs(9216, 4096) == 37_748_736
    assert F.linear_params(4096, 1000, bias=False) == 4_096_000


def test_pool_ops_alexnet_pool1():
    # 96*27*27 outputs * 3*3 window = 629,856
    assert F.pool_ops(96 * 27 * 27, 3 * 3) == 629_856


def test_adaptive_windows():
    # 7 -> 7: seven windows of 1 = 7;  7 -> 1: one window of 7
    assert F.adaptive_window_total(7, 7) == 7
    assert F.adaptive_window_total(7, 1) == 7
    # 5 -> 3: windows [0,2) [1,4) [3,5) = 2 + 3 + 2 = 7
    assert F.adaptive_window_total(5, 3) == 7
    # 256 channels, 13x13 -> 6x6: axis total for 13->6 is 3+3+3+3+3+3 = 18 -> 256*18*18 = 82,944
    assert F.adaptive_window_total(13, 6) == 18
    assert F.adaptive_pool_ops(256, (13, 13), (6, 6)) == 82_944


def test_batchnorm():
    # scale + shift per channel: 2*64 = 128
    assert F.batchnorm_params(64) == 128
    assert F.batchnorm_params(64, affine=False) == 0
    # y = a*x + b: 2 ops per element, 64*56*56*2 = 401,408
    assert F.batchnorm_ops(64 * 56 * 56) == 401_408


def test_elementwise_lrn_softmax_upsample():
    assert F.elementwise_ops(96 * 55 * 55) == 290_400  # 96*55*55 = 290,400 relu ops
    assert F.lrn_ops(10, 5) == 80  # 10 elements * (5 + 3)
    assert F.softmax_ops(1000) == 3000  # exp, sum, divide
    assert F.upsample_ops(100, "nearest", 2) == 0
    assert F.upsample_ops(100, "bilinear", 2) == 400  # 2**2 taps per output


def test_squeeze_excite():
    # SE on 256 channels, reduction 16 -> mid 16: 2*256*16 + 16 + 256 = 8,464 params
    assert F.se_params(256, 16) == 8_464
    assert F.se_macs(256, 16) == 8_192  # 2*256*16
    # ops: pool 256*56*56 + rescale 256*56*56 + activations 16 + 256 = 1,605,904
    assert F.se_ops(256, 56 * 56, 16) == 1_605_904


def test_activation_bytes_alexnet_conv1():
    # 96*55*55 elements * 4 bytes = 1,161,600 bytes = 1134.375 KB (the table prints 1134)
    assert F.activation_bytes(96 * 55 * 55, 4) == 1_161_600
    assert 1_161_600 / 1024 == pytest.approx(1134.375)


def test_receptive_field_step():
    # input pixel: size 1, jump 1, centre 0.5; conv 11/4 pad 0 -> size 11, jump 4, centre 0.5 + 5 = 5.5
    assert F.receptive_field_step(1, 1, 0.5, kernel=11, stride=4, pad_low=0) == (11, 4, 5.5)
    # then pool 3/2: size 11 + 2*4 = 19, jump 8, centre 5.5 + (1 - 0)*4 = 9.5
    assert F.receptive_field_step(11, 4, 5.5, kernel=3, stride=2, pad_low=0) == (19, 8, 9.5)
    # dilation 2, kernel 3 widens by 2*(3-1)*jump = 4 at jump 1
    assert F.receptive_field_step(1, 1, 0.5, kernel=3, stride=1, pad_low=2, dilation=2)[0] == 5


def test_prod():
    assert F.prod([]) == 1
    assert F.prod([96, 55, 55]) == 290_400
