"""Every formula in archcalc.formulas against a worked example, derivation beside the value."""

from __future__ import annotations

from archcalc import formulas as F
from archcalc.units import human_bytes


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
    # pad 1+1 on 6, k3 s2: span 6+1+1-3 = 5, ceil(5/2) + 1 = 4 windows; the last starts at (4-1)*2 = 6
    # (padded coordinates) < 6 + 1 (input + left padding), so ceil mode keeps it
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
    assert human_bytes(F.activation_bytes(96 * 55 * 55, 4)) == "1.11 MB"  # 1,161,600 / 1024**2 = 1.108 MB


def test_window_reads():
    # AlexNet conv1 11/4 pad 0: output 0 reads inputs 0..10, output 1 reads 4..14
    assert F.window_reads(0, kernel=11, stride=4, pad_low=0) == (0, 10)
    assert F.window_reads(1, kernel=11, stride=4, pad_low=0) == (4, 14)
    # 3x3 pad 1: output 0 reads -1..1 (-1 is padding); dilation 2 spans 2*(3-1) + 1 = 5
    assert F.window_reads(0, kernel=3, stride=1, pad_low=1) == (-1, 1)
    assert F.window_reads(0, kernel=3, stride=1, pad_low=2, dilation=2) == (-2, 2)


def test_conv_transpose_reads():
    # 2x2 stride-2 up-conv: output u = 2i + t reads only i = u // 2
    assert [F.conv_transpose_reads(u, kernel=2, stride=2, padding=0) for u in range(4)] == [(0, 0), (0, 0), (1, 1), (1, 1)]
    # k4 s2 p1: output u reads i with 2i = u + 1 - t, t < 4: u=0 -> i in {0, -1}; u=1 -> {1, 0}
    assert F.conv_transpose_reads(0, kernel=4, stride=2, padding=1) == (-1, 0)
    assert F.conv_transpose_reads(1, kernel=4, stride=2, padding=1) == (0, 1)
    # k1 s2: odd outputs read nothing
    assert F.conv_transpose_reads(1, kernel=1, stride=2, padding=0) is None
    # k3 s2 d2: taps t with 2t = u (mod 2) -> u even: all t, i = (u - 2t)/2 in u/2 - 2 .. u/2; u odd: none
    assert F.conv_transpose_reads(4, kernel=3, stride=2, padding=0, dilation=2) == (0, 2)
    assert F.conv_transpose_reads(3, kernel=3, stride=2, padding=0, dilation=2) is None


def test_conv_transpose_reads_brute_force():
    for k in range(1, 6):
        for s in range(1, 5):
            for d in range(1, 4):
                for p in range(0, 3):
                    for u in range(-6, 12):
                        taps = [(u + p - t * d) // s for t in range(k) if (u + p - t * d) % s == 0]
                        want = (min(taps), max(taps)) if taps else None
                        assert F.conv_transpose_reads(u, kernel=k, stride=s, padding=p, dilation=d) == want


def test_ratio_reads():
    # adaptive 7 -> 3: [0,3) [2,5) [4,7) -> inclusive (0,2) (2,4) (4,6)
    assert [F.adaptive_reads(u, in_size=7, out_size=3) for u in range(3)] == [(0, 2), (2, 4), (4, 6)]
    # nearest x2: output u reads u // 2
    assert [F.nearest_reads(u, in_size=3, out_size=6) for u in range(6)] == [(0, 0), (0, 0), (1, 1), (1, 1), (2, 2), (2, 2)]
    # linear x2: x = (u + 0.5)/2 - 0.5 = -0.25, 0.25, 0.75 -> taps (-1, 0), (0, 1), (0, 1)
    assert [F.linear_reads(u, in_size=4, out_size=8) for u in range(3)] == [(-1, 0), (0, 1), (0, 1)]
    # linear x3: x = (u + 0.5)/3 - 0.5 = 0 at u = 1 -> one tap
    assert F.linear_reads(1, in_size=4, out_size=12) == (0, 0)


def test_adaptive_window_closed_forms_match_brute_force():
    for n in range(1, 65):
        for m in range(1, 65):
            windows = [-(-(i + 1) * n // m) - (i * n // m) for i in range(m)]
            assert F.adaptive_window_total(n, m) == sum(windows), (n, m)
            assert F.adaptive_window_max(n, m) == max(windows), (n, m)


def test_adaptive_window_max_examples():
    # 7 -> 3: windows [0,3) [2,5) [4,7): 3, not 4
    assert F.adaptive_window_max(7, 3) == 3
    # 8 -> 7: every window has 2 elements
    assert F.adaptive_window_max(8, 7) == 2
    # 13 -> 6: q 2, r 1 divides 6 -> 3
    assert F.adaptive_window_max(13, 6) == 3
    # 5 -> 3: q 1, r 2 does not divide 3 -> 1 + 2 = 3 ([1,4))
    assert F.adaptive_window_max(5, 3) == 3
    # huge output sizes are O(1). 64 -> 2e9 (a multiple of 64): every window is 1 wide,
    # total 64 + 2e9 - gcd 64 = 2e9; 64 -> 1,999,999,999 (odd, r = 64 does not divide it): some are 2
    assert F.adaptive_window_max(64, 2_000_000_000) == 1
    assert F.adaptive_window_total(64, 2_000_000_000) == 2_000_000_000
    assert F.adaptive_window_max(64, 1_999_999_999) == 2
    assert F.adaptive_window_total(64, 1_999_999_999) == 2_000_000_062  # 64 + 1,999,999,999 - 1


def test_prod():
    assert F.prod([]) == 1
    assert F.prod([96, 55, 55]) == 290_400


def test_per_position_linear_and_layer_scale_and_grn():
    # ConvNeXt-T stage-1 MLP: Linear(96, 384) at each of 56*56 positions: 96*384*3136 = 115,605,504
    assert F.linear_macs(96, 384, 56 * 56) == 115_605_504
    assert F.linear_macs(4096, 1000) == 4_096_000  # one position: the plain fully connected layer
    assert F.layer_scale_params(96) == 96  # one gamma per channel
    assert F.grn_params(384) == 768  # gamma and beta per channel
    # GRN on [384, 56, 56]: 6 * 384*3136 + 3 * 384 + 2 = 7,225,344 + 1,152 + 2 = 7,226,498
    assert F.grn_ops(384, 56 * 56) == 7_226_498


def test_roi_align_macs():
    # torchvision's box head: 256 channels, 7x7 bins, sampling ratio 2 -> 2*2 samples of 4 neighbours each:
    # 256*7*7 * 4 * 4 = 200,704 per proposal
    assert F.roi_align_macs(256, (7, 7), 2) == 200_704
    # mask head: 256*14*14 * 4 * 4 = 802,816
    assert F.roi_align_macs(256, (14, 14), 2) == 802_816
    # sampling ratio 1: one sample per bin, 4 neighbours: 2*3*3 * 1 * 4 = 72
    assert F.roi_align_macs(2, (3, 3), 1) == 72


def test_roi_pool_ops_and_frozen_batchnorm_ops():
    # Fast R-CNN's RoI pooling on VGG-16 conv5_3: 512*7*7 = 25,088 bin maxima per proposal
    assert F.roi_pool_ops(512, (7, 7)) == 25_088
    # x * scale + shift: 2 * 64*200*200 = 5,120,000
    assert F.frozen_batchnorm_ops(64 * 200 * 200) == 5_120_000
