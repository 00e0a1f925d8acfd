"""Tests for imgconv.banks against scipy.ndimage, scikit-image and NumPy transliterations of the
reference MATLAB code (makeLMfilters.m, makeSfilters.m, makeRFSfilters.m)."""

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters as skf
from numpy.testing import assert_allclose, assert_array_equal
from skimage.util import img_as_float32, img_as_float64

import imgconv._engine
from imgconv import banks, kernels
from imgconv.banks import FilterBank

from _reference import reference_correlate

SCIPY_MODES = ["constant", "grid-constant", "grid-mirror", "grid-wrap", "mirror", "nearest", "reflect", "wrap"]


# --------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------


def scipy_same(image2d, kernel, mode="reflect", cval=0.0, dilation=(1, 1)):
    """'same' correlation with torch's split (extra row/col after) via scipy.ndimage.correlate.

    A dilated kernel is the kernel with d - 1 zeros inserted between taps; scipy centres an
    even kernel at k // 2, torch 'same' at (k - 1) // 2, hence the origin shift.
    """
    dh, dw = dilation
    kh, kw = kernel.shape
    kz = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    kz[::dh, ::dw] = kernel
    origin = [(n - 1) // 2 - n // 2 for n in kz.shape]
    return ndi.correlate(np.asarray(image2d, np.float64), kz, mode=mode, cval=cval, origin=origin)


def reference_convert(image):
    """Compute-dtype conversion per the spec, done by scikit-image."""
    if image.dtype == np.float64:
        return image
    if image.dtype.kind in "iu" and image.dtype.itemsize > 2:
        return img_as_float64(image)
    return img_as_float32(image)


def tolerance(dtype):
    return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)


# NumPy transliterations of the VGG MATLAB reference code (column-major reshapes kept).


def m_gauss1d(sigma, mean, x, order):
    x = x - mean
    num = x * x
    variance = sigma**2
    denom = 2 * variance
    g = np.exp(-num / denom) / (np.pi * denom) ** 0.5
    if order == 1:
        g = -g * (x / variance)
    elif order == 2:
        g = g * ((num - variance) / (variance**2))
    return g


def m_normalise(f):
    f = f - f.mean()
    return f / np.abs(f).sum()


def m_makefilter(scale, phasex, phasey, pts, sup):
    gx = m_gauss1d(3 * scale, 0, pts[0], phasex)
    gy = m_gauss1d(scale, 0, pts[1], phasey)
    return m_normalise((gx * gy).reshape((sup, sup), order="F"))


def m_fspecial(kind, sup, std):
    h = (sup - 1) / 2
    x, y = np.meshgrid(np.arange(-h, h + 1), np.arange(-h, h + 1))
    g = np.exp(-(x * x + y * y) / (2 * std * std))
    g[g < np.finfo(float).eps * g.max()] = 0
    g = g / g.sum()
    if kind == "gaussian":
        return g
    h1 = g * (x * x + y * y - 2 * std * std) / (std**4)
    return h1 - h1.sum() / h1.size


def m_oriented(scalex, sup):
    norient = 6
    nedge = len(scalex) * norient
    hsup = (sup - 1) // 2
    x, y = np.meshgrid(np.arange(-hsup, hsup + 1), np.arange(hsup, -hsup - 1, -1))
    orgpts = np.vstack([x.ravel(order="F"), y.ravel(order="F")]).astype(float)
    out = [None] * (2 * nedge)
    count = 0
    for scale in scalex:
        for orient in range(norient):
            angle = np.pi * orient / norient
            c, s = np.cos(angle), np.sin(angle)
            rotpts = np.array([[c, -s], [s, c]]) @ orgpts
            out[count] = m_makefilter(scale, 0, 1, rotpts, sup)
            out[count + nedge] = m_makefilter(scale, 0, 2, rotpts, sup)
            count += 1
    return out


def m_make_lm(scalex, scales, sup=49):
    out = m_oriented(scalex, sup)
    for s in scales:
        out += [
            m_normalise(m_fspecial("gaussian", sup, s)),
            m_normalise(m_fspecial("log", sup, s)),
            m_normalise(m_fspecial("log", sup, 3 * s)),
        ]
    return np.stack(out)


def m_make_rfs(sup=49):
    out = m_oriented([1, 2, 4], sup)
    out += [m_normalise(m_fspecial("gaussian", sup, 10)), m_normalise(m_fspecial("log", sup, 10))]
    return np.stack(out)


def m_make_s(sup=49):
    hsup = (sup - 1) / 2
    x, y = np.meshgrid(np.arange(-hsup, hsup + 1), np.arange(-hsup, hsup + 1))
    r = (x * x + y * y) ** 0.5
    out = []
    for sigma, tau in [
        (2, 1),
        (4, 1),
        (4, 2),
        (6, 1),
        (6, 2),
        (6, 3),
        (8, 1),
        (8, 2),
        (8, 3),
        (10, 1),
        (10, 2),
        (10, 3),
        (10, 4),
    ]:
        f = np.cos(r * (np.pi * tau / sigma)) * np.exp(-(r * r) / (2 * sigma * sigma))
        f = f - f.mean()
        out.append(f / np.abs(f).sum())
    return np.stack(out)


@pytest.fixture
def mixed_bank(rng):
    """Odd, even and non-square kernels of different sizes."""
    return FilterBank(
        {
            "sobel_h": kernels.sobel_h(),
            "box2x4": kernels.box((2, 4)),
            "rand5x3": rng.standard_normal((5, 3)),
            "deriv": kernels.gaussian_derivative(1.0, (1, 0), 0.5, size=7),
            "rand4x4": rng.standard_normal((4, 4)),
        }
    )


@pytest.fixture
def smooth_image(rng):
    return ndi.gaussian_filter(rng.standard_normal((64, 64)), 2.0)


# --------------------------------------------------------------------------------------
# construction and container protocol
# --------------------------------------------------------------------------------------


def test_construction_forms_agree():
    ks = [kernels.sobel_h(), kernels.sobel_v()]
    a = FilterBank(ks, names=["h", "v"])
    b = FilterBank({"h": ks[0], "v": ks[1]})
    c = FilterBank(np.stack(ks), names=("h", "v"))
    assert a == b == c
    assert a.names == ("h", "v") and len(a) == 2
    assert a.kernels.shape == (2, 3, 3) and a.kernels.dtype == np.float64
    assert FilterBank(ks).names == ("f0", "f1")


def test_integer_kernels_converted_to_float64():
    bank = FilterBank([np.array([[1, 2], [3, 4]], dtype=np.int16)])
    assert bank.kernels.dtype == np.float64 and bank[0][1, 1] == 4.0


def test_kernels_are_read_only_and_copied():
    k = np.ones((3, 3))
    bank = FilterBank([k])
    k[0, 0] = 5.0
    assert bank[0][0, 0] == 1.0
    with pytest.raises(ValueError):
        bank.kernels[0, 0, 0] = 2.0


@pytest.mark.parametrize(
    "small, big, rows, cols",
    [
        ((3, 3), (5, 5), slice(1, 4), slice(1, 4)),
        ((3, 3), (4, 4), slice(0, 3), slice(0, 3)),  # odd in even: extra zero row/col at bottom/right
        ((2, 2), (3, 3), slice(1, 3), slice(1, 3)),  # even in odd: anchor (0, 0) moves to (1, 1)
        ((2, 4), (7, 7), slice(3, 5), slice(2, 6)),
        ((1, 3), (4, 6), slice(1, 2), slice(1, 4)),
    ],
)
def test_padding_keeps_the_same_anchor(small, big, rows, cols, rng):
    k = rng.random(small) + 0.5
    bank = FilterBank([k, np.zeros(big)])
    placed = bank[0]
    assert placed.shape == big
    assert_array_equal(placed[rows, cols], k)
    assert np.count_nonzero(placed) == k.size
    anchor_small = ((small[0] - 1) // 2, (small[1] - 1) // 2)
    anchor_big = ((big[0] - 1) // 2, (big[1] - 1) // 2)
    assert placed[anchor_big] == k[anchor_small]


def test_indexing(mixed_bank):
    assert_array_equal(mixed_bank[0], mixed_bank["sobel_h"])
    assert_array_equal(mixed_bank[-1], mixed_bank["rand4x4"])
    assert_array_equal(mixed_bank[np.int64(1)], mixed_bank.kernels[1])
    sub = mixed_bank[1:3]
    assert isinstance(sub, FilterBank) and sub.names == ("box2x4", "rand5x3")
    assert_array_equal(sub.kernels, mixed_bank.kernels[1:3])
    sub2 = mixed_bank[["deriv", 0]]
    assert sub2.names == ("deriv", "sobel_h")
    assert "deriv" in mixed_bank and "nope" not in mixed_bank
    assert [n for n, _ in mixed_bank.items()] == list(mixed_bank.names)
    assert all(np.array_equal(a, b) for a, b in zip(mixed_bank, mixed_bank.kernels))


@pytest.mark.parametrize(
    "key, exc, match",
    [
        ("missing", KeyError, r"no filter named 'missing'"),
        (5, IndexError, r"filter index 5 is out of range for a bank of 5 filters"),
        (-6, IndexError, r"filter index -6"),
        (1.0, TypeError, r"indexed by int, str, slice"),
        (slice(3, 3), IndexError, r"selects no filter"),
        ([0, "missing"], KeyError, r"missing"),
    ],
)
def test_indexing_errors(mixed_bank, key, exc, match):
    with pytest.raises(exc, match=match):
        mixed_bank[key]


def test_repr():
    assert repr(banks.edges()) == (
        "FilterBank(6 filters of 3x3: sobel_h, sobel_v, scharr_h, scharr_v, prewitt_h, prewitt_v)"
    )
    r = repr(banks.edges().at_dilations([1, (2, 3)]))
    assert r == (
        "FilterBank(12 filters of 3x3: sobel_h@d1, sobel_v@d1, scharr_h@d1, ..., prewitt_h@d2x3, "
        "prewitt_v@d2x3; dilations 1, 2x3)"
    )


def test_equality_and_concatenation(mixed_bank):
    e = banks.edges()
    assert e == banks.edges() and e != mixed_bank and e != "edges"
    assert e != FilterBank(list(e.kernels), names=e.names, dilations=[2] * 6)
    assert e != FilterBank(list(e.kernels[::-1]), names=e.names)
    other = mixed_bank[["box2x4", "rand5x3", "deriv", "rand4x4"]]
    both = e + other
    assert both.names == e.names + other.names
    assert both.kernel_size == (7, 7) and both.dilations == ((1, 1),) * 10
    assert_array_equal(both["sobel_h"][2:5, 2:5], kernels.sobel_h())
    assert np.count_nonzero(both["sobel_h"]) == 6
    assert_array_equal(both["rand4x4"], mixed_bank["rand4x4"])
    with pytest.raises(ValueError, match=r"duplicate names: \['sobel_h'\]"):
        e + mixed_bank
    with pytest.raises(TypeError):
        e + 1


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        (([],), {}, ValueError, r"`kernels` must contain at least one kernel"),
        ((np.ones((3, 3)),), {}, ValueError, r"must be 3-D \(F, kh, kw\); got shape \(3, 3\)"),
        (([np.ones(3)],), {}, ValueError, r"`kernels\['f0'\]` must be a 2-D array; got 1-D"),
        (([np.ones((0, 3))],), {}, ValueError, r"must not be empty"),
        (([np.ones((3, 3), complex)],), {}, TypeError, r"real numbers; got dtype complex128"),
        (([np.full((3, 3), np.nan)],), {}, ValueError, r"finite"),
        (
            ([np.ones((3, 3))] * 2,),
            {"names": ["a", "a"]},
            ValueError,
            r"`names` must be unique; got duplicates \['a'\]",
        ),
        (([np.ones((3, 3))] * 2,), {"names": ["a"]}, ValueError, r"one entry per kernel \(2\); got 1"),
        (([np.ones((3, 3))],), {"names": [3]}, TypeError, r"non-empty strings; got 3"),
        (([np.ones((3, 3))],), {"names": "a"}, TypeError, r"`names` must be a sequence of str"),
        (({"a": np.ones((3, 3))},), {"names": ["b"]}, ValueError, r"`names` must be omitted"),
        ((5,), {}, TypeError, r"`kernels` must be a sequence"),
        (([np.ones((3, 3))],), {"dilations": [0]}, ValueError, r"`dilations\[0\]` must be a positive int"),
        (([np.ones((3, 3))],), {"dilations": [1, 2]}, ValueError, r"`dilations` must have one entry per kernel"),
    ],
)
def test_construction_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        FilterBank(*args, **kwargs)


# --------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------


def test_weights_per_channel_layout(mixed_bank):
    weight, groups = mixed_bank.weights(3)
    f = len(mixed_bank)
    assert weight.shape == (3 * f, 1, 7, 7) and weight.dtype == np.float32 and groups == 3
    assert weight.flags.c_contiguous
    for c in range(3):
        for i in range(f):
            assert_array_equal(weight[c * f + i, 0], mixed_bank.kernels[i].astype(np.float32))


def test_weights_mixing_layout(mixed_bank):
    weight, groups = mixed_bank.weights(4, per_channel=False, dtype=np.float64)
    assert weight.shape == (len(mixed_bank), 4, 7, 7) and weight.dtype == np.float64 and groups == 1
    for c in range(4):
        assert_allclose(weight[:, c], mixed_bank.kernels / 4, rtol=1e-15)


@pytest.mark.parametrize("per_channel", [True, False])
def test_weights_with_reference_correlate_equal_apply(mixed_bank, per_channel, rng):
    """The documented weight layout, run through the independent NumPy reference, gives apply's result."""
    img = rng.random((3, 11, 9))
    weight, groups = mixed_bank.weights(3, per_channel=per_channel, dtype=np.float64)
    pads = (3, 3, 3, 3)  # 'same' for 7x7
    y = reference_correlate(img[None], weight, pads=pads, mode="symmetric", groups=groups)[0]
    got = mixed_bank.apply(img, channel_axis=0, per_channel=per_channel)
    if per_channel:
        expected = y.reshape(3, len(mixed_bank), 11, 9).transpose(2, 3, 0, 1)
    else:
        expected = y.transpose(1, 2, 0)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"in_channels": 0}, ValueError, r"`in_channels` must be a positive int; got 0"),
        ({"in_channels": 2.0}, TypeError, r"`in_channels` must be an int"),
        ({"in_channels": 1, "dtype": np.int32}, TypeError, r"`dtype` must be float32 or float64; got int32"),
        ({"in_channels": 1, "dtype": "nonsense"}, TypeError, r"`dtype` must be float32 or float64"),
        ({"in_channels": 1, "per_channel": "yes"}, TypeError, r"`per_channel` must be a bool"),
    ],
)
def test_weights_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        banks.edges().weights(**kwargs)


# --------------------------------------------------------------------------------------
# apply against scipy.ndimage.correlate
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", SCIPY_MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int16, np.uint16, np.float16])
def test_apply_grey_matches_scipy_correlate(mixed_bank, mode, dtype, rng):
    raw = rng.random((19, 16))
    if np.dtype(dtype).kind == "f":
        image = (raw * 2 - 1).astype(dtype)
    else:
        info = np.iinfo(dtype)
        image = (raw * (float(info.max) - info.min) + info.min).astype(dtype)
    cval = 0.37
    got = mixed_bank.apply(image, mode=mode, cval=cval)
    conv = reference_convert(image)
    assert got.dtype == conv.dtype
    assert got.shape == (19, 16, len(mixed_bank))
    original = {"sobel_h": kernels.sobel_h(), "box2x4": kernels.box((2, 4))}
    for i, name in enumerate(mixed_bank.names):
        k = original.get(name, mixed_bank[name])  # unpadded kernel where we know it
        expected = scipy_same(conv, k, mode=mode, cval=cval)
        assert_allclose(got[..., i], expected, **tolerance(got.dtype))


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("dilation", [2, 3, (2, 3), (1, 4)])
def test_apply_dilated_matches_scipy_with_zero_inserted_kernels(mixed_bank, mode, dilation, rng):
    image = rng.standard_normal((23, 20))
    got = mixed_bank.apply(image, dilation=dilation, mode=mode, cval=-0.5)
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    for i in range(len(mixed_bank)):
        expected = scipy_same(image, mixed_bank.kernels[i], mode=mode, cval=-0.5, dilation=d)
        assert_allclose(got[..., i], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dilation", [1, 2, 3, 4])
def test_padded_kernel_of_same_parity_responds_as_alone_at_any_dilation(dilation, rng):
    image = rng.standard_normal((17, 18))
    k = rng.standard_normal((2, 3))
    alone = FilterBank([k]).apply(image, dilation=dilation, mode="wrap")
    in_bank = FilterBank([k, np.zeros((6, 7))]).apply(image, dilation=dilation, mode="wrap")
    assert_allclose(in_bank[..., 0], alone[..., 0], rtol=1e-12, atol=1e-12)
    assert_allclose(
        alone[..., 0], scipy_same(image, k, mode="wrap", dilation=(dilation, dilation)), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "small, big, dilation, shift",
    [
        ((2, 4), (5, 7), 1, (0, 0)),
        ((2, 4), (5, 7), 2, (1, 1)),
        ((2, 4), (5, 7), 3, (1, 1)),
        ((3, 3), (4, 4), 1, (0, 0)),
        ((3, 3), (4, 4), 2, (-1, -1)),
        ((3, 3), (4, 4), 5, (-2, -2)),
        ((3, 2), (4, 5), 4, (-2, 2)),
    ],
)
def test_padded_kernel_of_other_parity_is_shifted_by_half_the_dilation(small, big, dilation, shift, rng):
    """Documented: alone at dilation 1; taps move by floor(d / 2) pixels (sign: see Notes) at d > 1."""
    image = rng.standard_normal((17, 18))
    k = rng.standard_normal(small)
    alone = FilterBank([k]).apply(image, dilation=dilation, mode="wrap")[..., 0]
    in_bank = FilterBank([k, np.zeros(big)]).apply(image, dilation=dilation, mode="wrap")[..., 0]
    assert_allclose(in_bank, np.roll(alone, (-shift[0], -shift[1]), axis=(0, 1)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap", "nearest", "constant"])
def test_apply_image_smaller_than_kernel(mode, rng):
    image = rng.standard_normal((3, 4))
    bank = FilterBank([rng.standard_normal((7, 9)), kernels.box((6, 2))])
    got = bank.apply(image, mode=mode, cval=0.25)
    assert got.shape == (3, 4, 2)
    for i in range(2):
        assert_allclose(got[..., i], scipy_same(image, bank.kernels[i], mode=mode, cval=0.25), rtol=1e-12, atol=1e-12)


def test_identity_kernels_reproduce_the_image(rng):
    image = rng.standard_normal((9, 10))
    bank = FilterBank([kernels.identity(s) for s in (1, 2, (3, 4), (6, 5))])
    got = bank.apply(image, mode="constant")
    for i in range(len(bank)):
        assert_array_equal(got[..., i], image)


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.int32, np.float64),
        (np.uint32, np.float64),
        (bool, np.float32),
        (np.int8, np.float32),
        (np.float64, np.float64),
    ],
)
def test_apply_compute_dtype(dtype, expected, rng):
    image = (rng.random((8, 8)) * 100).astype(dtype)
    got = banks.edges().apply(image)
    assert got.dtype == expected
    conv = reference_convert(image)
    assert conv.dtype == expected
    assert_allclose(got[..., 0], scipy_same(conv, kernels.sobel_h()), **tolerance(expected))


def test_integer_extremes_converted_like_skimage():
    image = np.array([[-128, -127, 0, 127]] * 3, dtype=np.int8)
    got = FilterBank([kernels.identity()]).apply(image)[..., 0]
    assert_array_equal(got, img_as_float32(image))
    assert got.min() == -1.0


# --------------------------------------------------------------------------------------
# colour
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel_axis", [-1, 2, 0, -3, 1])
def test_apply_colour_per_channel(mixed_bank, channel_axis, rng):
    base = rng.standard_normal((14, 12, 3))
    image = np.moveaxis(base, -1, channel_axis)
    got = mixed_bank.apply(image, channel_axis=channel_axis, mode="nearest")
    spatial = [s for ax, s in enumerate(image.shape) if ax != channel_axis % 3]
    assert got.shape == (*spatial, 3, len(mixed_bank))
    chans = np.moveaxis(image, channel_axis, -1)
    for c in range(3):
        for i in range(len(mixed_bank)):
            expected = scipy_same(chans[..., c], mixed_bank.kernels[i], mode="nearest")
            assert_allclose(got[:, :, c, i], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
def test_apply_colour_mixing_filters_the_channel_mean(mixed_bank, mode, rng):
    image = rng.standard_normal((13, 11, 4)).astype(np.float32)
    got = mixed_bank.apply(image, channel_axis=-1, per_channel=False, mode=mode, cval=2.0)
    assert got.shape == (13, 11, len(mixed_bank)) and got.dtype == np.float32
    mean = image.astype(np.float64).mean(axis=-1)
    for i in range(len(mixed_bank)):
        assert_allclose(got[..., i], scipy_same(mean, mixed_bank.kernels[i], mode=mode, cval=2.0), rtol=2e-5, atol=2e-5)


def test_grey_per_channel_flag_is_irrelevant(mixed_bank, rng):
    image = rng.standard_normal((10, 10))
    assert_array_equal(mixed_bank.apply(image), mixed_bank.apply(image, per_channel=False))


# --------------------------------------------------------------------------------------
# dilated banks
# --------------------------------------------------------------------------------------


def test_at_dilations_names_and_rates():
    e = banks.edges()[["sobel_h", "sobel_v"]]
    d = e.at_dilations([1, 2, 4, 8])
    assert d.names == tuple(f"{n}@d{r}" for r in (1, 2, 4, 8) for n in ("sobel_h", "sobel_v"))
    assert d.dilations == tuple((r, r) for r in (1, 2, 4, 8) for _ in range(2))
    assert_array_equal(d.kernels, np.concatenate([e.kernels] * 4))
    assert e.at_dilations([(1, 2)]).names == ("sobel_h@d1x2", "sobel_v@d1x2")
    twice = d.at_dilations([3])
    assert twice.dilations[-1] == (24, 24) and twice.names[-1] == "sobel_v@d8@d3"


def test_at_dilations_apply_one_engine_call_per_rate(monkeypatch, mixed_bank, rng):
    image = rng.standard_normal((40, 37))
    calls = []
    real = imgconv._engine.correlate

    def counting(*args, **kwargs):
        calls.append(kwargs["dilation"])
        return real(*args, **kwargs)

    expected = np.concatenate([mixed_bank.apply(image, dilation=d) for d in (1, 2, 4, 8)], axis=-1)
    monkeypatch.setattr(imgconv._engine, "correlate", counting)
    dilated = mixed_bank.at_dilations([1, 2, 4, 8])
    got = dilated.apply(image)
    assert calls == [(1, 1), (2, 2), (4, 4), (8, 8)]
    assert_array_equal(got, expected)
    calls.clear()
    got2 = dilated.apply(image, dilation=(1, 2))  # extra dilation multiplies the rates
    assert calls == [(1, 2), (2, 4), (4, 8), (8, 16)]
    for j, d in enumerate((1, 2, 4, 8)):
        for i in range(len(mixed_bank)):
            assert_allclose(
                got2[..., j * len(mixed_bank) + i],
                scipy_same(image, mixed_bank.kernels[i], dilation=(d, 2 * d)),
                rtol=1e-12,
                atol=1e-12,
            )


def test_interleaved_rates_are_grouped_and_returned_in_filter_order(monkeypatch, rng):
    image = rng.standard_normal((20, 20))
    ks = [rng.standard_normal((3, 3)) for _ in range(4)]
    bank = FilterBank(ks, dilations=[1, 2, 1, 2])
    calls = []
    real = imgconv._engine.correlate
    monkeypatch.setattr(imgconv._engine, "correlate", lambda *a, **kw: calls.append(kw["dilation"]) or real(*a, **kw))
    got = bank.apply(image, mode="mirror")
    assert sorted(calls) == [(1, 1), (2, 2)]
    for i, d in enumerate([1, 2, 1, 2]):
        assert_allclose(got[..., i], scipy_same(image, ks[i], mode="mirror", dilation=(d, d)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "rates, exc, match",
    [
        ([], ValueError, r"at least one rate"),
        ([1, 0], ValueError, r"`rates\[1\]` must be a positive int or a pair of positive ints; got 0"),
        ([1.5], TypeError, r"`rates\[0\]`"),
        (3, TypeError, r"`rates` must be a sequence"),
        ([2, 2], ValueError, r"`names` must be unique"),
    ],
)
def test_at_dilations_errors(rates, exc, match):
    with pytest.raises(exc, match=match):
        banks.edges().at_dilations(rates)


# --------------------------------------------------------------------------------------
# apply validation, threads
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, kwargs, exc, match",
    [
        (
            np.zeros((5, 5, 3)),
            {},
            ValueError,
            r"`image` must be 2-D when `channel_axis` is None \(every axis is spatial\); got a 3-D",
        ),
        (
            np.zeros((5, 5)),
            {"channel_axis": -1},
            ValueError,
            r"`image` must be 3-D .* when `channel_axis` is given; got a 2-D",
        ),
        (np.zeros((5, 5, 3)), {"channel_axis": 3}, ValueError, r"`channel_axis` must be in \[-3, 2\] .*; got 3"),
        (np.zeros((5, 5, 3)), {"channel_axis": -4}, ValueError, r"`channel_axis` .*; got -4"),
        (np.zeros((5, 5, 3)), {"channel_axis": 1.0}, TypeError, r"`channel_axis` must be an int or None; got 1\.0"),
        (np.zeros((0, 5)), {}, ValueError, r"non-empty .*; got shape \(0, 5\)"),
        (np.zeros((5, 5), complex), {}, TypeError, r"`image` must be a real-valued array .*complex128"),
        ("image", {}, TypeError, r"`image` must be an array; got str"),
        (
            np.zeros((5, 5)),
            {"mode": "reflect101"},
            ValueError,
            r"`mode` must be one of \['constant', 'grid-constant', 'grid-mirror', 'grid-wrap', 'mirror', 'nearest', "
            r"'reflect', 'wrap'\]; got 'reflect101'",
        ),
        (np.zeros((5, 5)), {"mode": "symmetric"}, ValueError, r"`mode` must be one of .*got 'symmetric'"),
        (np.zeros((5, 5)), {"mode": None}, TypeError, r"`mode` must be one of"),
        (
            np.zeros((5, 5)),
            {"dilation": 0},
            ValueError,
            r"`dilation` must be a positive int or a pair of positive ints; got 0",
        ),
        (np.zeros((5, 5)), {"dilation": (1, 2, 3)}, ValueError, r"`dilation`.*\(1, 2, 3\)"),
        (np.zeros((5, 5)), {"dilation": 1.5}, TypeError, r"`dilation`.*1\.5"),
        (np.zeros((5, 5)), {"cval": "0"}, TypeError, r"`cval` must be a real number; got '0'"),
        (np.zeros((5, 5)), {"per_channel": 1}, TypeError, r"`per_channel` must be a bool; got 1"),
        (np.zeros((5, 5)), {"num_threads": 0}, ValueError, r"`num_threads` must be a positive int or None; got 0"),
    ],
)
def test_apply_errors(image, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        banks.edges().apply(image, **kwargs)


def test_apply_keyword_only():
    with pytest.raises(TypeError):
        banks.edges().apply(np.zeros((4, 4)), 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_threads_give_identical_results(mixed_bank, dtype, rng):
    image = rng.standard_normal((3, 50, 45)).astype(dtype)
    one = mixed_bank.apply(image, channel_axis=0, num_threads=1)
    many = mixed_bank.apply(image, channel_axis=0, num_threads=4)
    assert_array_equal(one, many)


def test_apply_accepts_non_contiguous_and_byteswapped_input(mixed_bank, rng):
    base = rng.standard_normal((30, 40))
    view = base[::2, ::-3]
    swapped = view.astype(view.dtype.newbyteorder(">"))
    expected = mixed_bank.apply(np.ascontiguousarray(view))
    assert_allclose(mixed_bank.apply(view), expected, rtol=1e-15, atol=0)
    assert_allclose(mixed_bank.apply(swapped), expected, rtol=1e-15, atol=0)
    assert mixed_bank.apply(view).flags.c_contiguous


# --------------------------------------------------------------------------------------
# standard banks
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.uint8])
def test_edges_bank_reproduces_skimage(dtype, rng):
    image = (rng.random((21, 18)) * 255).astype(dtype)
    bank = banks.edges()
    assert bank.names == ("sobel_h", "sobel_v", "scharr_h", "scharr_v", "prewitt_h", "prewitt_v")
    got = bank.apply(image)
    for i, name in enumerate(bank.names):
        expected = getattr(skf, name)(image)
        tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
        assert_allclose(got[..., i], expected, **tol)


def test_gabor_bank_layout():
    bank = banks.gabor()
    assert len(bank) == 18
    assert bank.names[:7] == (
        "gabor_f0.1_t0",
        "gabor_f0.1_t30",
        "gabor_f0.1_t60",
        "gabor_f0.1_t90",
        "gabor_f0.1_t120",
        "gabor_f0.1_t150",
        "gabor_f0.2_t0",
    )
    largest = kernels.gabor(0.1)[0]
    assert bank.kernel_size == largest.shape
    real, _ = kernels.gabor(0.4, theta=math.pi / 2)
    k = bank["gabor_f0.4_t90"]
    c, r = bank.kernel_size[0] // 2, real.shape[0] // 2
    assert_allclose(k[c - r : c + r + 1, c - r : c + r + 1], real[::-1, ::-1], rtol=0, atol=0)
    both = banks.gabor([0.25], n_orientations=4, part="both")
    assert len(both) == 8 and both.names[:2] == ("gabor_f0.25_t0_re", "gabor_f0.25_t0_im")
    assert banks.gabor([0.25], n_orientations=4, part="imag").names[1] == "gabor_f0.25_t45_im"


def test_gabor_bank_reproduces_skimage_gabor(rng):
    image = rng.random((30, 33))
    freqs, n = (0.2, 0.35), 3
    bank = banks.gabor(freqs, n, part="both", bandwidth=1.2)
    got = bank.apply(image)
    i = 0
    for f in freqs:
        for k in range(n):
            real, imag = skf.gabor(image, f, theta=math.pi * k / n, bandwidth=1.2)
            assert_allclose(got[..., i], real, rtol=1e-10, atol=1e-12)
            assert_allclose(got[..., i + 1], imag, rtol=1e-10, atol=1e-12)
            i += 2


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"frequencies": []}, ValueError, r"at least one frequency"),
        ({"frequencies": [0.1, -0.2]}, ValueError, r"`frequencies` must be positive"),
        ({"n_orientations": 0}, ValueError, r"`n_orientations` must be a positive int; got 0"),
        ({"part": "complex"}, ValueError, r"`part` must be one of \['both', 'imag', 'real'\]; got 'complex'"),
    ],
)
def test_gabor_bank_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        banks.gabor(**kwargs)


def _assert_rotation_relations(bank, n_scales, prefix_edge, prefix_bar):
    """theta=90 is the theta=0 filter rotated by 90 degrees (clockwise: np.rot90 k=-1), etc."""
    for s in range(n_scales):
        for k in range(3):  # 0->90, 30->120, 60->150 degrees
            e0, e90 = bank.kernels[6 * s + k], bank.kernels[6 * s + k + 3]
            b0, b90 = bank.kernels[18 + 6 * s + k], bank.kernels[18 + 6 * s + k + 3]
            assert_allclose(e90, np.rot90(e0, k=-1), rtol=0, atol=1e-12 * np.abs(e0).max())
            assert_allclose(b90, np.rot90(b0, k=-1), rtol=0, atol=1e-12 * np.abs(b0).max())
            assert_allclose(b90, np.rot90(b0, k=1), rtol=0, atol=1e-12 * np.abs(b0).max())
            # edge filters are antisymmetric: the other rotation direction flips the sign
            assert_allclose(e90, -np.rot90(e0, k=1), rtol=0, atol=1e-12 * np.abs(e0).max())
    assert bank.names[0].startswith(prefix_edge) and bank.names[18].startswith(prefix_bar)


@pytest.mark.parametrize(
    "scale, scalex, scales",
    [
        ("large", np.sqrt(2) ** np.arange(1, 4), np.sqrt(2) ** np.arange(1, 5)),  # makeLMfilters.m as published
        ("small", [1, np.sqrt(2), 2], [1, np.sqrt(2), 2, 2 * np.sqrt(2)]),
    ],
)
def test_leung_malik_matches_reference_code(scale, scalex, scales):
    ref = m_make_lm(scalex, scales)
    bank = banks.leung_malik(scale, zero_mean_gaussians=True)
    assert len(bank) == 48 and bank.kernel_size == (49, 49)
    for i in range(48):
        assert_allclose(bank.kernels[i], ref[i], rtol=0, atol=1e-12 * np.abs(ref[i]).max(), err_msg=bank.names[i])


def test_leung_malik_properties():
    bank = banks.leung_malik()
    names = bank.names
    assert len(bank) == 48
    assert names[0] == "lm_edge_s1_t0" and names[17] == "lm_edge_s2_t150" and names[18] == "lm_bar_s1_t0"
    assert names[36:39] == ("lm_gaussian_s1", "lm_log_s1", "lm_log_s3")
    assert sum(n.startswith("lm_log") for n in names) == 8
    gauss = [i for i, n in enumerate(names) if n.startswith("lm_gaussian")]
    assert gauss == [36, 39, 42, 45]
    for i, k in enumerate(bank.kernels):
        if i in gauss:
            assert k.sum() == pytest.approx(1.0) and k.min() >= 0
            assert_allclose(
                k,
                kernels.gaussian_derivative(1.0 * math.sqrt(2) ** (gauss.index(i)), (0, 0), size=49),
                rtol=1e-12,
                atol=1e-16,
            )
        else:
            assert abs(k.sum()) < 1e-13, names[i]
            assert np.abs(k).sum() == pytest.approx(1.0)
    _assert_rotation_relations(bank, 3, "lm_edge", "lm_bar")
    for i in range(36, 48):  # rotationally symmetric filters
        k = bank.kernels[i]
        assert_allclose(k, np.rot90(k), rtol=0, atol=1e-15)
        assert_allclose(k, k.T, rtol=0, atol=1e-15)


def test_leung_malik_edge_filters_are_elongated_derivatives():
    bank = banks.leung_malik()
    e = bank["lm_edge_s1.41_t0"]
    # derivative across rows (positive below the centre), elongated along x (sigma_x = 3 sigma_y)
    assert e[30, 24] > 0 > e[18, 24]
    profile_x = np.abs(e[25, :])
    profile_y = np.abs(e[:, 24])
    assert (profile_x > 0.5 * profile_x.max()).sum() > 2 * (profile_y > 0.5 * profile_y.max()).sum()


def test_schmid_matches_reference_and_properties():
    bank = banks.schmid()
    assert len(bank) == 13 and bank.kernel_size == (49, 49)
    assert bank.names[:3] == ("schmid_s2_t1", "schmid_s4_t1", "schmid_s4_t2") and bank.names[-1] == "schmid_s10_t4"
    ref = m_make_s()
    assert_allclose(bank.kernels, ref, rtol=0, atol=1e-15)
    for k in bank.kernels:
        assert abs(k.sum()) < 1e-14
        assert np.abs(k).sum() == pytest.approx(1.0)
        assert_array_equal(k, np.rot90(k))
        assert_array_equal(k, k.T)
    assert banks.schmid(support=25).kernel_size == (25, 25)


def test_mr8_bank_matches_reference_and_properties():
    bank = banks.mr8(zero_mean_gaussian=True)
    assert len(bank) == 38 and bank.kernel_size == (49, 49)
    ref = m_make_rfs()
    for i in range(38):
        assert_allclose(bank.kernels[i], ref[i], rtol=0, atol=1e-12 * np.abs(ref[i]).max(), err_msg=bank.names[i])
    default = banks.mr8()
    assert default.names[36:] == ("mr8_gaussian_s10", "mr8_log_s10")
    assert default.names[:2] == ("mr8_edge_s1_t0", "mr8_edge_s1_t30") and default.names[35] == "mr8_bar_s4_t150"
    assert default[36].sum() == pytest.approx(1.0)
    for i in range(36):
        assert abs(default.kernels[i].sum()) < 1e-13
    assert abs(default[37].sum()) < 1e-13
    _assert_rotation_relations(default, 3, "mr8_edge", "mr8_bar")


def test_mr8_reduce_semantics(rng):
    r = rng.standard_normal((4, 5, 38))
    out = banks.mr8_reduce(r)
    assert out.shape == (4, 5, 8)
    for s in range(3):
        assert_array_equal(out[..., s], np.max(np.abs(r[..., 6 * s : 6 * s + 6]), axis=-1))
        assert_array_equal(out[..., 3 + s], np.max(r[..., 18 + 6 * s : 24 + 6 * s], axis=-1))
    assert_array_equal(out[..., 6:], r[..., 36:])
    assert len(banks.MR8_RESPONSE_NAMES) == 8
    with pytest.raises(ValueError, match=r"38 RFS responses .*got shape \(4, 37\)"):
        banks.mr8_reduce(np.zeros((4, 37)))


def test_mr8_responses_shape_and_definition(smooth_image):
    got = banks.mr8_responses(smooth_image)
    assert got.shape == (64, 64, 8) and got.dtype == np.float64
    assert_allclose(got, banks.mr8_reduce(banks.mr8().apply(smooth_image)), rtol=1e-15, atol=0)
    colour = np.stack([smooth_image, -smooth_image], axis=-1).astype(np.float32)
    got_c = banks.mr8_responses(colour, channel_axis=-1)
    assert got_c.shape == (64, 64, 2, 8) and got_c.dtype == np.float32


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("mode", ["reflect", "wrap"])
def test_mr8_responses_are_rotation_invariant(smooth_image, k, mode):
    """Rotating the image by 90 degree steps rotates the 8 response maps (no interpolation involved)."""
    base = banks.mr8_responses(smooth_image, mode=mode)
    rotated = banks.mr8_responses(np.rot90(smooth_image, k), mode=mode)
    expected = np.rot90(base, k, axes=(0, 1))
    scale = np.abs(base).max(axis=(0, 1))
    inner = (slice(8, -8), slice(8, -8))
    assert_allclose(rotated[inner] / scale, expected[inner] / scale, rtol=0, atol=1e-10)
    assert_allclose(rotated / scale, expected / scale, rtol=0, atol=1e-10)


def test_mr8_signed_edge_maximum_would_not_be_rotation_invariant(smooth_image):
    """Guards the abs() in mr8_reduce: the signed maximum over 0-150 degrees is not invariant."""
    full = banks.mr8().apply(smooth_image)
    full_rot = banks.mr8().apply(np.rot90(smooth_image))
    signed = full[..., :6].max(axis=-1)
    signed_rot = full_rot[..., :6].max(axis=-1)
    assert not np.allclose(signed_rot, np.rot90(signed), atol=1e-6)


@pytest.mark.parametrize(
    "func, kwargs, exc, match",
    [
        (
            banks.leung_malik,
            {"scale": "medium"},
            ValueError,
            r"`scale` must be one of \['large', 'small'\]; got 'medium'",
        ),
        (banks.leung_malik, {"support": 48}, ValueError, r"`support` must be an odd positive int; got 48"),
        (banks.schmid, {"support": 49.0}, TypeError, r"`support` must be an odd positive int; got 49\.0"),
        (banks.mr8, {"support": -1}, ValueError, r"`support`.*got -1"),
        (banks.mr8, {"zero_mean_gaussian": "yes"}, TypeError, r"`zero_mean_gaussian` must be a bool"),
    ],
)
def test_standard_bank_errors(func, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(**kwargs)
