"""imgconv against test vectors computed by PyTorch 2.13 (tests/torch_conv2d_cases.*).

Every case and every error case of the fixture file is checked; error classes
follow imgconv's documented departures (spec section 10): ValueError for bad
values/shapes, TypeError for bad dtypes.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import imgconv

HERE = Path(__file__).parent
INDEX = json.loads((HERE / "torch_conv2d_cases.json").read_text())
ARRAYS = np.load(HERE / "torch_conv2d_cases.npz")
TOL = INDEX["conventions"]["tolerance"]


def _params(case):
    p = dict(case["params"])
    p.pop("bias", None)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}


def _run(case, x, w, b):
    params = _params(case)
    if case["api"] == "F.conv2d":
        params.pop("padding_mode", None)
        return imgconv.conv2d(x, w, b, **params)
    o, _, kh, kw = w.shape
    channels_axis = 0 if x.ndim == 3 else 1
    layer = imgconv.Conv2d(x.shape[channels_axis], o, (kh, kw), bias=b is not None, dtype=x.dtype, **params)
    layer.weight = w
    if b is not None:
        layer.bias = b
    return layer(x)


CASES = list(INDEX["cases"])


def test_fixture_file_is_complete():
    assert len(CASES) == 69 and len(INDEX["error_cases"]) == 32


@pytest.mark.parametrize("case", [c for c in CASES if not c["torch_quirk"]], ids=lambda c: c["id"])
def test_matches_torch(case):
    names = case["arrays"]
    x, w, y = ARRAYS[names["x"]], ARRAYS[names["w"]], ARRAYS[names["y"]]
    b = ARRAYS[names["b"]] if names["b"] else None
    out = _run(case, x, w, b)
    assert out.dtype == y.dtype
    assert out.shape == tuple(case["output_shape"]) == y.shape
    if case["data"] == "integer":
        np.testing.assert_array_equal(out, y)  # exact in any summation order
    else:
        tol = TOL[case["dtype"]]
        np.testing.assert_allclose(out, y, rtol=tol["rtol"], atol=tol["atol"])


def test_zero_in_channels_is_refused():
    """torch returns an empty tensor for C = 0; imgconv refuses it (documented choice)."""
    (case,) = [c for c in CASES if c["torch_quirk"]]
    names = case["arrays"]
    x, w = ARRAYS[names["x"]], ARRAYS[names["w"]]
    b = ARRAYS[names["b"]] if names["b"] else None
    with pytest.raises(ValueError, match="at least one channel"):
        _run(case, x, w, b)


# (exception class, text the message must contain) per fixture error case.
EXPECTED_ERRORS = {
    "err_input_2d": (ValueError, "`input`"),
    "err_input_5d": (ValueError, "`input`"),
    "err_channel_mismatch": (ValueError, "channels"),
    "err_groups_in_channels": (ValueError, "groups=4"),
    "err_out_not_div_groups": (ValueError, "divisible by groups=2"),
    "err_kernel_gt_padded_input": (ValueError, "Kernel size"),
    "err_dilated_kernel_gt_input": (ValueError, r"\(7 x 7\)"),
    "err_stride_zero": (ValueError, "`stride`"),
    "err_stride_negative": (ValueError, "`stride`"),
    "err_dilation_zero": (ValueError, "`dilation`"),
    "err_dilation_negative": (ValueError, "`dilation`"),
    "err_padding_negative": (ValueError, "`padding`"),
    "err_groups_zero": (ValueError, "`groups`"),
    "err_dtype_mismatch_x64_w32": (TypeError, "`weight`"),
    "err_dtype_mismatch_bias": (TypeError, "`bias`"),
    "err_bias_wrong_size": (ValueError, "`bias`"),
    "err_height_zero": (ValueError, "Kernel size"),
    "err_height_zero_padded": (ValueError, "empty spatial"),
    "err_padding_string_upper": (ValueError, "`padding`.*'SAME'"),
    "err_padding_string_full": (ValueError, "`padding`.*'full'"),
    "err_same_with_stride2": (ValueError, "padding='same'.*stride"),
    "err_same_with_stride2_module": (ValueError, "padding='same'.*stride"),
    "err_padding_3tuple": (ValueError, "`padding`.*length 3"),
    "err_reflect_pad_eq_dim": (ValueError, r"reflect.*\(3, 3\) at dimension 2"),
    "err_reflect_same_too_big": (ValueError, r"reflect.*\(2, 3\) at dimension 2"),
    "err_circular_pad_gt_dim": (ValueError, "circular.*more than once"),
    "err_replicate_empty_spatial": (ValueError, "replicate"),
    "err_bad_padding_mode": (ValueError, "`padding_mode`.*'symmetric'"),
    "err_module_in_not_div_groups": (ValueError, "`in_channels`"),
    "err_module_out_not_div_groups": (ValueError, "`out_channels`"),
    "err_module_groups_zero": (ValueError, "`groups`"),
    "err_bool_dtype": (TypeError, "float32 or float64.*bool"),
}


def _dtypes(case):
    d = case["dtype"]
    if isinstance(d, dict):
        return d["input"], d["weight"], d["bias"] or d["input"]
    return d, d, d


@pytest.mark.parametrize("case", INDEX["error_cases"], ids=lambda c: c["id"])
def test_error_cases(case):
    exc, match = EXPECTED_ERRORS[case["id"]]
    dx, dw, db = _dtypes(case)
    x = np.zeros(case["input_shape"], dtype=dx)
    w = np.zeros(case["weight_shape"], dtype=dw)
    b = np.zeros(case["bias_shape"], dtype=db) if case["bias_shape"] else None
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in case["params"].items()}
    with pytest.raises(exc, match=match):
        if case["api"] == "F.conv2d":
            imgconv.conv2d(x, w, b, **params)
        else:
            groups = params.get("groups", 1)
            layer = imgconv.Conv2d(x.shape[1], w.shape[0], w.shape[2:], bias=b is not None, dtype=dx, **params)
            layer.weight = w.reshape(w.shape[0], x.shape[1] // groups, *w.shape[2:])
            layer(x)
