"""Regenerate tests/torch_conv2d_cases.json and .npz, the PyTorch fixtures of tests/test_fixtures.py.

Run it where torch is installed (``pip install torch==2.13.0`` gives the CPU build the fixtures were made with):

    python tests/make_torch_fixtures.py            # rewrite the two files in tests/
    python tests/make_torch_fixtures.py --check    # regenerate in memory, compare with the files, write nothing
    python tests/make_torch_fixtures.py --out DIR  # write the two files to DIR instead

The case list is the table below (:data:`CASES`, :data:`ERROR_CASES`); add a case there, run the script, and
the new case gets fresh inputs while every existing case keeps the inputs stored in the .npz, so a regenerated
file differs only where torch's answer does.  ``--new-inputs`` draws every input afresh instead: standard
normal (``data="randn"``) or small integers (``data="integer"``: x in [-4, 4], weights in [-3, 3], bias in
[-5, 5], exact in any summation order) from ``numpy.random.default_rng(zlib.crc32(case_id))``.  (The inputs of
the original file came from a generator that was not kept; they are data now, reused as they are.)

How an expected output is computed, as the file's ``description`` says: the case's inputs converted to
float64, ``torch.nn.functional.conv2d`` (``api="F.conv2d"``, padding_mode always zeros) or an
``nn.Conv2d`` module with the case's ``padding_mode`` whose weight and bias are set to the inputs
(``api="nn.Conv2d"``), then cast to the case dtype.  Error cases record the class and message torch raises for
zero-filled tensors of the given shapes and dtypes.  The tolerance note states the largest difference between
torch's native float32 result and the float64-then-cast fixture.

Checked with torch 2.13.0+cpu: regenerating from the committed files reproduces them.  The JSON is
byte-identical (same case list, shapes, output shapes, error classes and messages -- one message prints a
Python set, whose order varies from run to run, so a stored message equal up to that order is kept), every
input is bit-identical, the float32 and integer expected outputs are bit-identical, and the float64 ones agree
within 7.1e-15 absolute (torch's summation order; the tests allow 1e-12).  ``--check`` prints these figures.
With ``--new-inputs`` the fixture is new data that tests/test_fixtures.py passes as well.

Not a test: pytest collects only test_*.py, and nothing runs on import.
"""

import argparse
import json
import re
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
JSON_NAME, NPZ_NAME = "torch_conv2d_cases.json", "torch_conv2d_cases.npz"
TORCH_VERSION = "2.13.0"  # the release the committed fixtures were computed with

CONVENTIONS = {
    "arrays": "x_<id> input, w_<id> weight (out, in/groups, kh, kw), b_<id> bias (only when params.bias), "
    "y_<id> expected output",
    "api": "'F.conv2d' = functional call (padding_mode always zeros); 'nn.Conv2d' = module call with padding_mode",
    "padding": "int -> same pad on all four sides; [ph, pw] -> ph top & bottom, pw left & right; "
    "'same'/'valid' strings",
    "stride_dilation": "int or [h, w]",
    "data": "'randn' = standard normal; 'integer' = small integer values, result is exact in any summation order "
    "(compare bit-exactly)",
    "tolerance": {
        "float64": {"rtol": 1e-12, "atol": 1e-12},
        "float32": {"rtol": 1e-05, "atol": 1e-05},
        "note": None,  # filled in from the float32 cases
    },
}


def _case(
    id,
    api,
    input_shape,
    weight_shape,
    *,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    bias=True,
    padding_mode="zeros",
    dtype="float32",
    data="randn",
    torch_quirk=False,
    note=None,
):
    return dict(
        id=id,
        api=api,
        input_shape=input_shape,
        weight_shape=weight_shape,
        params=dict(
            stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode
        ),
        dtype=dtype,
        data=data,
        torch_quirk=torch_quirk,
        note=note,
    )


def _error(id, api, input_shape, weight_shape, *, bias_shape=None, dtype="float32", **params):
    return dict(
        id=id,
        api=api,
        input_shape=input_shape,
        weight_shape=weight_shape,
        bias_shape=bias_shape,
        dtype=dtype,
        params=params,
    )


CASES = [
    _case("zeros_int", "F.conv2d", (2, 3, 7, 9), (4, 3, 3, 3), padding=1, note="int padding"),
    _case(
        "zeros_tuple",
        "F.conv2d",
        (1, 3, 6, 8),
        (2, 3, 5, 3),
        stride=(1, 2),
        padding=(2, 1),
        bias=False,
        note="tuple padding, asymmetric stride",
    ),
    _case(
        "zeros_same_evenk_dil",
        "F.conv2d",
        (2, 2, 8, 7),
        (3, 2, 4, 3),
        padding="same",
        dilation=(1, 2),
        dtype="float64",
        note="'same', even kh=4 (total pad 3 -> top 1 / bottom 2), dw=2",
    ),
    _case(
        "zeros_valid",
        "F.conv2d",
        (1, 2, 9, 8),
        (2, 2, 3, 3),
        stride=2,
        padding="valid",
        note="'valid' = no padding; padding_mode irrelevant",
    ),
    _case(
        "reflect_int",
        "nn.Conv2d",
        (2, 3, 7, 9),
        (4, 3, 3, 3),
        padding=1,
        padding_mode="reflect",
        dtype="float64",
        note="int padding",
    ),
    _case(
        "reflect_tuple",
        "nn.Conv2d",
        (1, 3, 6, 8),
        (2, 3, 5, 3),
        stride=(1, 2),
        padding=(2, 1),
        bias=False,
        padding_mode="reflect",
        note="tuple padding, asymmetric stride",
    ),
    _case(
        "reflect_same_evenk_dil",
        "nn.Conv2d",
        (2, 2, 8, 7),
        (3, 2, 4, 3),
        padding="same",
        dilation=(1, 2),
        padding_mode="reflect",
        dtype="float64",
        note="'same', even kh=4 (total pad 3 -> top 1 / bottom 2), dw=2",
    ),
    _case(
        "reflect_valid",
        "nn.Conv2d",
        (1, 2, 9, 8),
        (2, 2, 3, 3),
        stride=2,
        padding="valid",
        bias=False,
        padding_mode="reflect",
        note="'valid' = no padding; padding_mode irrelevant",
    ),
    _case(
        "replicate_int",
        "nn.Conv2d",
        (2, 3, 7, 9),
        (4, 3, 3, 3),
        padding=1,
        padding_mode="replicate",
        note="int padding",
    ),
    _case(
        "replicate_tuple",
        "nn.Conv2d",
        (1, 3, 6, 8),
        (2, 3, 5, 3),
        stride=(1, 2),
        padding=(2, 1),
        bias=False,
        padding_mode="replicate",
        note="tuple padding, asymmetric stride",
    ),
    _case(
        "replicate_same_evenk_dil",
        "nn.Conv2d",
        (2, 2, 8, 7),
        (3, 2, 4, 3),
        padding="same",
        dilation=(1, 2),
        padding_mode="replicate",
        dtype="float64",
        note="'same', even kh=4 (total pad 3 -> top 1 / bottom 2), dw=2",
    ),
    _case(
        "replicate_valid",
        "nn.Conv2d",
        (1, 2, 9, 8),
        (2, 2, 3, 3),
        stride=2,
        padding="valid",
        padding_mode="replicate",
        note="'valid' = no padding; padding_mode irrelevant",
    ),
    _case(
        "circular_int",
        "nn.Conv2d",
        (2, 3, 7, 9),
        (4, 3, 3, 3),
        padding=1,
        padding_mode="circular",
        dtype="float64",
        note="int padding",
    ),
    _case(
        "circular_tuple",
        "nn.Conv2d",
        (1, 3, 6, 8),
        (2, 3, 5, 3),
        stride=(1, 2),
        padding=(2, 1),
        bias=False,
        padding_mode="circular",
        note="tuple padding, asymmetric stride",
    ),
    _case(
        "circular_same_evenk_dil",
        "nn.Conv2d",
        (2, 2, 8, 7),
        (3, 2, 4, 3),
        padding="same",
        dilation=(1, 2),
        padding_mode="circular",
        dtype="float64",
        note="'same', even kh=4 (total pad 3 -> top 1 / bottom 2), dw=2",
    ),
    _case(
        "circular_valid",
        "nn.Conv2d",
        (1, 2, 9, 8),
        (2, 2, 3, 3),
        stride=2,
        padding="valid",
        bias=False,
        padding_mode="circular",
        note="'valid' = no padding; padding_mode irrelevant",
    ),
    _case(
        "zeros_module_same",
        "nn.Conv2d",
        (1, 2, 6, 5),
        (2, 2, 2, 3),
        padding="same",
        note="nn.Conv2d zeros 'same', even kh",
    ),
    _case(
        "asym_s21_d13_p02_g2",
        "F.conv2d",
        (2, 4, 10, 11),
        (6, 2, 3, 2),
        stride=(2, 1),
        padding=(0, 2),
        dilation=(1, 3),
        groups=2,
    ),
    _case(
        "asym_s32_p10_k14",
        "F.conv2d",
        (1, 3, 8, 12),
        (2, 3, 1, 4),
        stride=(3, 2),
        padding=(1, 0),
        bias=False,
        dtype="float64",
    ),
    _case("asym_d21_p21", "F.conv2d", (1, 1, 9, 6), (1, 1, 3, 3), padding=(2, 1), dilation=(2, 1)),
    _case("asym_k52_s13_p20", "F.conv2d", (3, 2, 7, 13), (3, 2, 5, 2), stride=(1, 3), padding=(2, 0), dtype="float64"),
    _case(
        "asym_reflect_s12_d21",
        "nn.Conv2d",
        (1, 2, 9, 10),
        (3, 2, 3, 3),
        stride=(1, 2),
        padding=(2, 3),
        dilation=(2, 1),
        bias=False,
        padding_mode="reflect",
    ),
    _case(
        "same_k2",
        "F.conv2d",
        (1, 1, 5, 5),
        (1, 1, 2, 2),
        padding="same",
        note="total pad 1: top/left 0, bottom/right 1",
    ),
    _case(
        "same_k24_d31",
        "F.conv2d",
        (2, 2, 9, 8),
        (2, 2, 2, 4),
        padding="same",
        dilation=(3, 1),
        dtype="float64",
        note="H total 3 -> (1,2); W total 3 -> (1,2)",
    ),
    _case(
        "same_k4_d2_reflect",
        "nn.Conv2d",
        (1, 2, 8, 9),
        (2, 2, 4, 4),
        padding="same",
        dilation=2,
        padding_mode="reflect",
        note="total 6 -> (3,3)",
    ),
    _case(
        "same_k62_d12_replicate",
        "nn.Conv2d",
        (2, 1, 7, 6),
        (2, 1, 6, 2),
        padding="same",
        dilation=(1, 2),
        bias=False,
        padding_mode="replicate",
        dtype="float64",
        note="H total 5 -> (2,3); W total 2 -> (1,1)",
    ),
    _case("same_k2_circular_small", "nn.Conv2d", (1, 2, 3, 3), (2, 2, 2, 2), padding="same", padding_mode="circular"),
    _case("same_k16", "F.conv2d", (1, 1, 4, 7), (1, 1, 1, 6), padding="same", note="W total 5 -> left 2, right 3"),
    _case("same_k1", "F.conv2d", (2, 3, 4, 5), (2, 3, 1, 1), padding="same", note="no padding needed"),
    _case(
        "same_stride_tuple11",
        "F.conv2d",
        (1, 2, 5, 6),
        (1, 2, 3, 2),
        stride=(1, 1),
        padding="same",
        dtype="float64",
        note="stride (1,1) is allowed with 'same'",
    ),
    _case(
        "same_k5_dil3_large",
        "F.conv2d",
        (1, 1, 4, 4),
        (1, 1, 5, 5),
        padding="same",
        dilation=3,
        note="effective kernel 13 > input 4; zeros same still valid",
    ),
    _case("groups2", "F.conv2d", (2, 4, 6, 7), (6, 2, 3, 3), padding=1, groups=2),
    _case("groups3_out1pergroup", "F.conv2d", (1, 6, 5, 6), (3, 2, 3, 1), groups=3, bias=False, dtype="float64"),
    _case(
        "depthwise_reflect_same",
        "nn.Conv2d",
        (2, 4, 6, 6),
        (4, 1, 3, 3),
        padding="same",
        groups=4,
        padding_mode="reflect",
    ),
    _case(
        "depthwise_mult2_s2",
        "F.conv2d",
        (1, 3, 9, 8),
        (6, 1, 3, 3),
        stride=2,
        padding=1,
        groups=3,
        dtype="float64",
        note="channel multiplier 2: out channel o reads input channel o//2",
    ),
    _case(
        "depthwise_mult3_same_d2",
        "F.conv2d",
        (2, 2, 7, 9),
        (6, 1, 5, 3),
        padding="same",
        dilation=2,
        groups=2,
        bias=False,
    ),
    _case(
        "groups2_circular", "nn.Conv2d", (1, 4, 5, 6), (2, 2, 3, 3), padding=(1, 2), groups=2, padding_mode="circular"
    ),
    _case(
        "groups2_valid_dil2",
        "F.conv2d",
        (1, 4, 9, 9),
        (4, 2, 3, 3),
        padding="valid",
        dilation=2,
        groups=2,
        dtype="float64",
    ),
    _case("stride3_k2", "F.conv2d", (1, 2, 11, 10), (2, 2, 2, 2), stride=3),
    _case("pointwise_stride45", "F.conv2d", (2, 3, 9, 13), (4, 3, 1, 1), stride=(4, 5), dtype="float64"),
    _case("stride5_k3_p2", "F.conv2d", (1, 1, 12, 12), (1, 1, 3, 3), stride=5, padding=2, bias=False),
    _case("dil4_k2", "F.conv2d", (1, 2, 9, 9), (2, 2, 2, 2), dilation=4),
    _case("dil53_k3_p23", "F.conv2d", (1, 1, 12, 10), (2, 1, 3, 3), padding=(2, 3), dilation=(5, 3), dtype="float64"),
    _case("tiny_1x1_k3_p1", "F.conv2d", (1, 1, 1, 1), (1, 1, 3, 3), padding=1),
    _case("tiny_2x2_k4_p1", "F.conv2d", (2, 2, 2, 2), (3, 2, 4, 4), padding=1, dtype="float64"),
    _case("tiny_3x3_k2_d2", "F.conv2d", (1, 1, 3, 3), (1, 1, 2, 2), dilation=2, bias=False),
    _case(
        "tiny_reflect_2x2_k4_p1",
        "nn.Conv2d",
        (1, 1, 2, 2),
        (1, 1, 4, 4),
        padding=1,
        padding_mode="reflect",
        note="reflect pad = dim-1 (max)",
    ),
    _case(
        "tiny_circular_pad_eq_dim",
        "nn.Conv2d",
        (1, 1, 2, 3),
        (1, 1, 6, 9),
        padding=(2, 3),
        padding_mode="circular",
        dtype="float64",
        note="circular pad == dim (max allowed)",
    ),
    _case(
        "tiny_replicate_1x1_p3",
        "nn.Conv2d",
        (1, 2, 1, 1),
        (1, 2, 3, 3),
        padding=3,
        padding_mode="replicate",
        note="replicate has no size limit",
    ),
    _case(
        "reflect_pad_dim_minus1",
        "nn.Conv2d",
        (1, 1, 3, 4),
        (2, 1, 3, 3),
        padding=(2, 3),
        padding_mode="reflect",
        dtype="float64",
    ),
    _case("tiny_row_1x5", "F.conv2d", (1, 1, 1, 5), (1, 1, 1, 5)),
    _case("zeros_pad_gt_input", "F.conv2d", (1, 1, 2, 2), (1, 1, 1, 1), padding=3, note="output border = bias only"),
    _case("unbatched_zeros", "F.conv2d", (3, 5, 6), (2, 3, 3, 3), padding=1, note="3-D input -> 3-D output"),
    _case(
        "unbatched_reflect_same",
        "nn.Conv2d",
        (2, 6, 5),
        (3, 2, 2, 3),
        padding="same",
        padding_mode="reflect",
        dtype="float64",
    ),
    _case("unbatched_depthwise", "F.conv2d", (4, 7, 7), (8, 1, 3, 3), stride=2, groups=4, bias=False),
    _case("exact_int_f32_s2", "F.conv2d", (2, 3, 9, 9), (4, 3, 3, 3), stride=2, padding=1, data="integer"),
    _case(
        "exact_int_f64_circular",
        "nn.Conv2d",
        (1, 2, 6, 7),
        (3, 2, 3, 2),
        padding=(1, 1),
        padding_mode="circular",
        dtype="float64",
        data="integer",
    ),
    _case(
        "exact_int_f32_same_even",
        "F.conv2d",
        (1, 1, 6, 6),
        (2, 1, 4, 2),
        padding="same",
        dilation=(1, 2),
        data="integer",
    ),
    _case("pointwise_mix", "F.conv2d", (3, 5, 4, 6), (7, 5, 1, 1)),
    _case("realistic_32x32", "F.conv2d", (2, 8, 32, 32), (16, 8, 3, 3), padding=1),
    _case("down_k4_s2_p1_odd", "F.conv2d", (1, 3, 15, 15), (4, 3, 4, 4), stride=2, padding=1, dtype="float64"),
    _case(
        "stem_reflect_k7_s2_p3", "nn.Conv2d", (1, 3, 20, 18), (4, 3, 7, 7), stride=2, padding=3, padding_mode="reflect"
    ),
    _case(
        "replicate_d2_p24",
        "nn.Conv2d",
        (1, 2, 8, 9),
        (2, 2, 3, 3),
        padding=(2, 4),
        dilation=2,
        padding_mode="replicate",
        dtype="float64",
    ),
    _case("circular_s23", "nn.Conv2d", (2, 2, 7, 11), (3, 2, 3, 3), stride=(2, 3), padding=1, padding_mode="circular"),
    _case(
        "reflect_padding0",
        "nn.Conv2d",
        (1, 2, 5, 5),
        (2, 2, 3, 3),
        padding_mode="reflect",
        note="padding 0: mode irrelevant",
    ),
    _case("batch3_nonsquare", "F.conv2d", (3, 2, 5, 11), (2, 2, 3, 5), padding=(1, 2), bias=False, dtype="float64"),
    _case("empty_batch_N0", "F.conv2d", (0, 3, 5, 5), (4, 3, 3, 3), note="N=0 is accepted; output (0,4,3,3)"),
    _case(
        "empty_batch_N0_reflect",
        "nn.Conv2d",
        (0, 2, 4, 4),
        (3, 2, 3, 3),
        padding=1,
        padding_mode="reflect",
        dtype="float64",
    ),
    _case(
        "zero_in_channels_quirk",
        "F.conv2d",
        (1, 0, 5, 5),
        (4, 0, 3, 3),
        torch_quirk=True,
        note="TORCH QUIRK: C_in=0 gives an empty output with 0 channels (not 4), bias ignored; "
        "libraries may reject C_in=0 instead",
    ),
]

ERROR_CASES = [
    _error("err_input_2d", "F.conv2d", (5, 5), (4, 3, 3, 3)),
    _error("err_input_5d", "F.conv2d", (1, 2, 3, 5, 5), (4, 3, 3, 3)),
    _error("err_channel_mismatch", "F.conv2d", (2, 3, 5, 5), (4, 2, 3, 3)),
    _error("err_groups_in_channels", "F.conv2d", (2, 6, 5, 5), (4, 1, 3, 3), groups=4),
    _error("err_out_not_div_groups", "F.conv2d", (2, 6, 5, 5), (5, 3, 3, 3), groups=2),
    _error("err_kernel_gt_padded_input", "F.conv2d", (1, 3, 5, 5), (4, 3, 6, 3), padding=0),
    _error("err_dilated_kernel_gt_input", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), dilation=3),
    _error("err_stride_zero", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), stride=0),
    _error("err_stride_negative", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), stride=(1, -1)),
    _error("err_dilation_zero", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), dilation=0),
    _error("err_dilation_negative", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), dilation=-1),
    _error("err_padding_negative", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding=-1),
    _error("err_groups_zero", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), groups=0),
    _error(
        "err_dtype_mismatch_x64_w32",
        "F.conv2d",
        (1, 3, 5, 5),
        (4, 3, 3, 3),
        dtype={"input": "float64", "weight": "float32", "bias": None},
    ),
    _error(
        "err_dtype_mismatch_bias",
        "F.conv2d",
        (1, 3, 5, 5),
        (4, 3, 3, 3),
        bias_shape=(4,),
        dtype={"input": "float32", "weight": "float32", "bias": "float64"},
    ),
    _error("err_bias_wrong_size", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), bias_shape=(3,)),
    _error("err_height_zero", "F.conv2d", (1, 3, 0, 5), (4, 3, 3, 3)),
    _error("err_height_zero_padded", "F.conv2d", (1, 3, 0, 5), (4, 3, 3, 3), padding=2),
    _error("err_padding_string_upper", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding="SAME"),
    _error("err_padding_string_full", "nn.Conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding="full"),
    _error("err_same_with_stride2", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding="same", stride=2),
    _error("err_same_with_stride2_module", "nn.Conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding="same", stride=2),
    _error("err_padding_3tuple", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding=(1, 1, 1)),
    _error("err_reflect_pad_eq_dim", "nn.Conv2d", (1, 3, 3, 5), (4, 3, 1, 1), padding=(3, 0), padding_mode="reflect"),
    _error("err_reflect_same_too_big", "nn.Conv2d", (1, 1, 3, 3), (1, 1, 6, 1), padding="same", padding_mode="reflect"),
    _error("err_circular_pad_gt_dim", "nn.Conv2d", (1, 3, 3, 5), (4, 3, 1, 1), padding=(4, 0), padding_mode="circular"),
    _error("err_replicate_empty_spatial", "nn.Conv2d", (1, 3, 0, 5), (4, 3, 1, 1), padding=1, padding_mode="replicate"),
    _error("err_bad_padding_mode", "nn.Conv2d", (1, 3, 5, 5), (4, 3, 3, 3), padding=1, padding_mode="symmetric"),
    _error("err_module_in_not_div_groups", "nn.Conv2d", (1, 6, 5, 5), (4, 1, 3, 3), groups=4),
    _error("err_module_out_not_div_groups", "nn.Conv2d", (1, 6, 5, 5), (5, 3, 3, 3), groups=2),
    _error("err_module_groups_zero", "nn.Conv2d", (1, 6, 5, 5), (4, 6, 3, 3), groups=0),
    _error("err_bool_dtype", "F.conv2d", (1, 3, 5, 5), (4, 3, 3, 3), dtype="bool"),
]


def _json_value(v):
    """Tuples as JSON lists, recursively (the file's shapes and pairs are lists)."""
    if isinstance(v, (tuple, list)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


def _torch_value(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v


def _draw_inputs(case):
    rng = np.random.default_rng(zlib.crc32(case["id"].encode()))
    dtype, o = np.dtype(case["dtype"]), case["weight_shape"][0]
    if case["data"] == "integer":
        x = rng.integers(-4, 5, case["input_shape"])
        w = rng.integers(-3, 4, case["weight_shape"])
        b = rng.integers(-5, 6, o)
    else:
        x = rng.standard_normal(case["input_shape"])
        w = rng.standard_normal(case["weight_shape"])
        b = rng.standard_normal(o)
    return x.astype(dtype), w.astype(dtype), (b.astype(dtype) if case["params"]["bias"] else None)


def _stored_inputs(case, stored):
    """The case's inputs from the existing .npz, or None if it has none that fit the case."""
    names = [f"x_{case['id']}", f"w_{case['id']}"] + ([f"b_{case['id']}"] if case["params"]["bias"] else [])
    if stored is None or not all(n in stored for n in names):
        return None
    arrays = [stored[n] for n in names]
    shapes = [tuple(case["input_shape"]), tuple(case["weight_shape"]), (case["weight_shape"][0],)]
    if any(a.shape != s or a.dtype != np.dtype(case["dtype"]) for a, s in zip(arrays, shapes)):
        return None
    return arrays[0], arrays[1], (arrays[2] if case["params"]["bias"] else None)


def _conv(torch, case, x, w, b, dtype):
    """torch's conv2d of the case, computed in `dtype` (a torch dtype)."""
    p = {k: _torch_value(v) for k, v in case["params"].items()}
    xt, wt = torch.from_numpy(x).to(dtype), torch.from_numpy(w).to(dtype)
    bt = None if b is None else torch.from_numpy(b).to(dtype)
    with torch.no_grad():
        if case["api"] == "F.conv2d":
            return torch.nn.functional.conv2d(
                xt, wt, bt, stride=p["stride"], padding=p["padding"], dilation=p["dilation"], groups=p["groups"]
            )
        o, _, kh, kw = w.shape
        layer = torch.nn.Conv2d(
            x.shape[-3],
            o,
            (kh, kw),
            stride=p["stride"],
            padding=p["padding"],
            dilation=p["dilation"],
            groups=p["groups"],
            bias=p["bias"],
            padding_mode=p["padding_mode"],
            dtype=dtype,
        )
        layer.weight.copy_(wt)
        if bt is not None:
            layer.bias.copy_(bt)
        return layer(xt)


def _error_result(torch, case):
    dt = case["dtype"]
    dx, dw, db = (dt, dt, dt) if isinstance(dt, str) else (dt["input"], dt["weight"], dt["bias"] or dt["input"])
    x = torch.zeros(case["input_shape"], dtype=getattr(torch, dx))
    w = torch.zeros(case["weight_shape"], dtype=getattr(torch, dw))
    b = None if case["bias_shape"] is None else torch.zeros(case["bias_shape"], dtype=getattr(torch, db))
    p = {k: _torch_value(v) for k, v in case["params"].items()}
    try:
        with torch.no_grad():
            if case["api"] == "F.conv2d":
                torch.nn.functional.conv2d(x, w, b, **p)
            else:
                layer = torch.nn.Conv2d(
                    case["input_shape"][1],
                    case["weight_shape"][0],
                    case["weight_shape"][2:],
                    bias=b is not None,
                    dtype=x.dtype,
                    **p,
                )
                layer(x)
    except Exception as exc:  # noqa: BLE001 - recording what torch raises is the point
        return type(exc).__name__, str(exc).split("\n")[0]
    raise SystemExit(f"error case {case['id']!r}: torch raised nothing")


def _message_key(message):
    """A message with every ``{a, b, ...}`` sorted: torch prints Python sets, whose order changes run to run."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


def generate(stored=None, stored_messages=None, new_inputs=False):
    """Build the index (a dict) and the arrays (a dict of name -> array), in the files' order.

    `stored` (name -> array) supplies the inputs of existing cases; `stored_messages` (error case id ->
    message) keeps a stored message that differs from torch's only in the order of a printed set.
    """
    import torch

    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")
    stored_messages = stored_messages or {}
    index_cases, arrays, f32_gap = [], {}, 0.0
    for case in CASES:
        inputs = None if new_inputs else _stored_inputs(case, stored)
        x, w, b = inputs if inputs is not None else _draw_inputs(case)
        y64 = _conv(torch, case, x, w, b, torch.float64).numpy()
        y = y64.astype(case["dtype"])
        if case["dtype"] == "float32" and y.size:
            native = _conv(torch, case, x, w, b, torch.float32).numpy()
            f32_gap = max(f32_gap, float(np.abs(native.astype(np.float64) - y).max()))
        cid = case["id"]
        entry = {
            "id": cid,
            "api": case["api"],
            "params": _json_value(case["params"]),
            "input_shape": list(x.shape),
            "weight_shape": list(w.shape),
            "bias_shape": None if b is None else list(b.shape),
            "output_shape": list(y.shape),
            "dtype": case["dtype"],
            "unbatched": x.ndim == 3,
            "data": case["data"],
            "torch_quirk": case["torch_quirk"],
            "arrays": {"x": f"x_{cid}", "w": f"w_{cid}", "b": None if b is None else f"b_{cid}", "y": f"y_{cid}"},
        }
        if case["note"] is not None:
            entry["note"] = case["note"]
        index_cases.append(entry)
        arrays[f"x_{cid}"], arrays[f"w_{cid}"], arrays[f"y_{cid}"] = x, w, y
        if b is not None:
            arrays[f"b_{cid}"] = b
    error_cases = []
    for case in ERROR_CASES:
        exception, message = _error_result(torch, case)
        kept = stored_messages.get(case["id"])
        if kept is not None and _message_key(kept) == _message_key(message):
            message = kept
        error_cases.append(
            {
                "id": case["id"],
                "api": case["api"],
                "params": _json_value(case["params"]),
                "input_shape": list(case["input_shape"]),
                "weight_shape": list(case["weight_shape"]),
                "bias_shape": _json_value(case["bias_shape"]),
                "dtype": case["dtype"],
                "exception": exception,
                "torch_message": message,
            }
        )
    conventions = json.loads(json.dumps(CONVENTIONS))
    conventions["tolerance"]["note"] = (
        f"torch's own native-float32 result differs from the float64-then-cast fixture by up to {f32_gap:.3g} abs"
    )
    index = {
        "description": "conv2d test vectors; expected outputs computed by PyTorch "
        f"{'.'.join(torch.__version__.split('.')[:2])} in float64 and cast to the case dtype",
        "torch_version": torch.__version__.split("+")[0],
        "npz": NPZ_NAME,
        "conventions": conventions,
        "cases": index_cases,
        "error_cases": error_cases,
    }
    return index, arrays


def _json_text(index):
    return json.dumps(index, indent=1)


def write(index, arrays, folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / JSON_NAME).write_text(_json_text(index))
    np.savez_compressed(folder / NPZ_NAME, **arrays)


def check(index, arrays, folder=HERE):
    """Compare a regenerated fixture with the files in `folder`; return a list of differences."""
    problems = []
    old_text = (folder / JSON_NAME).read_text()
    if _json_text(index) != old_text:
        old = json.loads(old_text)
        for key in index:
            if index[key] != old.get(key):
                problems.append(f"{JSON_NAME}: {key!r} differs")
    tol = index["conventions"]["tolerance"]
    with np.load(folder / NPZ_NAME) as old:
        if sorted(old.files) != sorted(arrays):
            problems.append(f"{NPZ_NAME}: arrays {sorted(set(old.files) ^ set(arrays))} are in one file only")
        worst = {}  # dtype -> largest |regenerated - stored| of an expected output
        for name in sorted(set(old.files) & set(arrays)):
            a, b = old[name], arrays[name]
            if a.shape != b.shape or a.dtype != b.dtype:
                problems.append(f"{name}: {a.dtype}{a.shape} stored, {b.dtype}{b.shape} regenerated")
            elif name.startswith("y_"):
                t = tol.get(str(a.dtype), tol["float64"])
                if not np.allclose(b, a, rtol=t["rtol"], atol=t["atol"]):
                    problems.append(f"{name}: outside the tolerance {t}")
                if a.size:
                    gap = float(np.max(np.abs(a.astype(np.float64) - b)))
                    worst[str(a.dtype)] = max(worst.get(str(a.dtype), 0.0), gap)
            elif not np.array_equal(a, b):
                problems.append(f"{name}: the inputs differ")
    print(
        "largest |regenerated - stored| of an expected output: "
        + ", ".join(f"{k} {v:.2g}" for k, v in sorted(worst.items()))
    )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files in tests/, write nothing")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write to (default: tests/)")
    parser.add_argument("--new-inputs", action="store_true", help="draw every input afresh")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        parser.error("torch is not installed: pip install torch==2.13.0")
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        print(
            f"note: torch {torch.__version__}; the committed fixtures were made with {TORCH_VERSION}", file=sys.stderr
        )
    stored, stored_messages = None, None
    if (HERE / NPZ_NAME).exists():
        with np.load(HERE / NPZ_NAME) as f:
            stored = {name: f[name] for name in f.files}
    if (HERE / JSON_NAME).exists():
        stored_messages = {
            c["id"]: c["torch_message"] for c in json.loads((HERE / JSON_NAME).read_text())["error_cases"]
        }
    index, arrays = generate(stored, stored_messages, new_inputs=args.new_inputs)
    if args.check:
        problems = check(index, arrays)
        for p in problems:
            print(p)
        print(
            f"{len(index['cases'])} cases, {len(index['error_cases'])} error cases: "
            + ("the files match" if not problems else f"{len(problems)} differences")
        )
        return 1 if problems else 0
    write(index, arrays, args.out)
    print(
        f"wrote {args.out / JSON_NAME} and {args.out / NPZ_NAME}: {len(index['cases'])} cases, "
        f"{len(index['error_cases'])} error cases"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
