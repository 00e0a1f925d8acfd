"""imgconv.ndimage against scipy.ndimage, the independent reference: N-D volumes, axes, modes, dtypes, complex."""

import re

import numpy as np
import pytest
import scipy.ndimage as sn

from imgconv import feature, filters, ndimage
from imgconv._shared.modes import SCIPY_TO_ENGINE_MODE

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant", "grid-mirror", "grid-wrap"]
RTOL = 1e-12


def _close(actual, expected, rtol=RTOL):
    """Equal to float64 rounding: relative to the largest magnitude of the reference."""
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.fixture
def volume():
    return np.random.default_rng(0).standard_normal((9, 12, 14))


def test_grid_mode_aliases_map_like_their_scipy_twins():
    # scipy's filters treat grid-constant / grid-mirror / grid-wrap as constant / reflect / wrap.
    assert SCIPY_TO_ENGINE_MODE["grid-constant"] == SCIPY_TO_ENGINE_MODE["constant"]
    assert SCIPY_TO_ENGINE_MODE["grid-mirror"] == SCIPY_TO_ENGINE_MODE["reflect"]
    assert SCIPY_TO_ENGINE_MODE["grid-wrap"] == SCIPY_TO_ENGINE_MODE["wrap"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_correlate1d_3d_every_mode_and_axis(volume, mode, axis):
    w = [0.5, -1.0, 2.0, 0.25]
    for origin in (-2, 0, 1):
        _close(
            ndimage.correlate1d(volume, w, axis, mode=mode, cval=1.5, origin=origin),
            sn.correlate1d(volume, w, axis, mode=mode, cval=1.5, origin=origin),
        )
        _close(
            ndimage.convolve1d(volume, w, axis, mode=mode, cval=1.5, origin=origin),
            sn.convolve1d(volume, w, axis, mode=mode, cval=1.5, origin=origin),
        )


@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
@pytest.mark.parametrize("kshape", [(3, 3, 3), (2, 5, 4), (1, 1, 7), (4, 1, 1)])
def test_correlate_3d_kernels(volume, mode, kshape):
    w = np.random.default_rng(1).standard_normal(kshape)
    _close(ndimage.correlate(volume, w, mode=mode, cval=-0.5), sn.correlate(volume, w, mode=mode, cval=-0.5))
    origin = (0, -1, 0) if kshape[1] > 1 else 0
    _close(ndimage.convolve(volume, w, mode=mode, origin=origin), sn.convolve(volume, w, mode=mode, origin=origin))


@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
@pytest.mark.parametrize("depth", [1, 2, 3, 8])
def test_correlate_3d_kernels_deeper_than_the_volume(mode, depth):
    # The depth folds into the engine's channels: output planes near the ends (here all of them when
    # the kernel is deeper than the volume) read copies of their planes as the mode extends the volume.
    rng = np.random.default_rng(depth)
    volume = rng.standard_normal((depth, 11, 13))
    for kshape, origin in [((7, 3, 3), 0), ((5, 3, 2), (2, 0, 0)), ((4, 1, 3), (-2, 0, 1))]:
        w = rng.standard_normal(kshape)
        _close(
            ndimage.correlate(volume, w, mode=mode, cval=2.5, origin=origin),
            sn.correlate(volume, w, mode=mode, cval=2.5, origin=origin),
        )


@pytest.mark.parametrize("mode", ["constant", "reflect", "wrap"])
def test_correlate_3d_integer_volume_with_a_constant_border(mode):
    # uint8 planes are read as they are; a border of cval = 3.5 is not a uint8 value.
    rng = np.random.default_rng(3)
    volume = rng.integers(0, 256, (6, 10, 12), dtype=np.uint8)
    w = rng.standard_normal((3, 3, 3))
    for output in (np.float64, np.float32):
        expected = sn.correlate(volume, w, output=output, mode=mode, cval=3.5)
        actual = ndimage.correlate(volume, w, output=output, mode=mode, cval=3.5)
        _close(actual, expected, rtol=RTOL if output == np.float64 else 1e-6)


def test_correlate_4d_and_1d():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 5, 6, 7)), rng.standard_normal((3, 2, 3, 3))
    _close(ndimage.correlate(x, w, mode="wrap"), sn.correlate(x, w, mode="wrap"))
    x1 = rng.standard_normal(50)
    _close(ndimage.correlate(x1, [1.0, 2.0, -3.0]), sn.correlate(x1, [1.0, 2.0, -3.0]))


@pytest.mark.parametrize("axes", [(0,), (2,), (0, 2), (-1, 1)])
def test_axes_subsets(volume, axes):
    _close(ndimage.gaussian_filter(volume, 1.5, axes=axes), sn.gaussian_filter(volume, 1.5, axes=axes))
    _close(ndimage.uniform_filter(volume, 4, axes=axes), sn.uniform_filter(volume, 4, axes=axes))
    _close(ndimage.laplace(volume, axes=axes), sn.laplace(volume, axes=axes))
    _close(ndimage.gaussian_laplace(volume, 1.0, axes=axes), sn.gaussian_laplace(volume, 1.0, axes=axes))
    # scipy 1.17 smooths the axes outside `axes` too (its sigma is not restricted to them, unlike
    # gaussian_laplace's); imgconv filters `axes` only: scipy's result with sigma 0 elsewhere.
    sigma = [1.0 if ax in [a % 3 for a in axes] else 0.0 for ax in range(3)]
    _close(
        ndimage.gaussian_gradient_magnitude(volume, 1.0, axes=axes),
        sn.gaussian_gradient_magnitude(volume, sigma, axes=axes),
    )
    w = np.arange(1.0, 1.0 + 3 ** len(axes)).reshape((3,) * len(axes))
    _close(ndimage.correlate(volume, w, axes=axes), sn.correlate(volume, w, axes=axes))


def test_per_axis_modes_and_parameters(volume):
    modes = ["constant", "wrap", "mirror"]
    kw = dict(mode=modes, cval=2.0)
    _close(
        ndimage.gaussian_filter(volume, [1.0, 2.0, 0.5], order=[0, 1, 2], radius=[2, 5, 3], **kw),
        sn.gaussian_filter(volume, [1.0, 2.0, 0.5], order=[0, 1, 2], radius=[2, 5, 3], **kw),
    )
    _close(
        ndimage.gaussian_filter(volume, 1.2, truncate=2.0, **kw), sn.gaussian_filter(volume, 1.2, truncate=2.0, **kw)
    )
    _close(
        ndimage.uniform_filter(volume, [2, 3, 5], origin=[0, 1, -2], **kw),
        sn.uniform_filter(volume, [2, 3, 5], origin=[0, 1, -2], **kw),
    )
    for f in ("sobel", "prewitt"):
        for axis in (0, 1, 2):
            _close(getattr(ndimage, f)(volume, axis, **kw), getattr(sn, f)(volume, axis, **kw))
    for f in ("laplace", "gaussian_laplace", "gaussian_gradient_magnitude"):
        args = () if f == "laplace" else (1.0,)
        _close(getattr(ndimage, f)(volume, *args, **kw), getattr(sn, f)(volume, *args, **kw))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32, np.int64, np.float32])
def test_integer_and_float32_outputs_match_scipys_casts(dtype):
    x = np.random.default_rng(3).integers(0, 200, (30, 40)).astype(dtype)
    for f, args in [
        ("gaussian_filter", (1.3,)),
        ("uniform_filter", (3,)),
        ("sobel", ()),
        ("prewitt", ()),
        ("laplace", ()),
        ("gaussian_laplace", (1.0,)),
        ("gaussian_gradient_magnitude", (1.0,)),
    ]:
        a, b = getattr(ndimage, f)(x, *args), getattr(sn, f)(x, *args)
        assert a.dtype == b.dtype == dtype
        if dtype == np.float32:
            # float32 sums for a float32 output: within a few float32 ulps of scipy's float64 sums
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(b).max())
            continue
        # float64 sums in another order: an integer output may differ by one where the exact value is integral
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        assert diff.max() <= 1
        assert np.count_nonzero(diff) <= x.size // 20
    w = [[0.25, -0.75], [1.5, 0.5]]  # dyadic: exact float64 sums in any order, so equal casts
    for out in (np.uint8, np.int16, np.float32):
        np.testing.assert_array_equal(ndimage.correlate(x, w, output=out), sn.correlate(x, w, output=out))
        np.testing.assert_array_equal(
            ndimage.correlate1d(x, [0.5, -2.0, 1.0], 0, output=out), sn.correlate1d(x, [0.5, -2.0, 1.0], 0, output=out)
        )


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.7, 8.0])
def test_float32_outputs_within_float32_rounding_of_the_float64_filter(sigma):
    x = np.random.default_rng(4).random((64, 80)).astype(np.float32)
    a = ndimage.gaussian_filter(x, sigma)
    exact = sn.gaussian_filter(x.astype(np.float64), sigma)  # float64 throughout: the reference
    assert a.dtype == np.float32
    # float32 sums of k taps: k * eps relative at most; in practice a few ulps
    taps = 2 * int(4 * sigma + 0.5) + 1
    assert np.abs(a - exact).max() <= taps * np.finfo(np.float32).eps * np.abs(exact).max()
    # the gain on a constant region is kept: a blurred constant is the constant to one float32 rounding
    c = np.full((40, 50), 0.7, np.float32)
    np.testing.assert_allclose(ndimage.gaussian_filter(c, sigma), c, rtol=2 * np.finfo(np.float32).eps, atol=0)
    np.testing.assert_allclose(ndimage.uniform_filter(c, 2 * int(sigma) + 1), c, rtol=2 * np.finfo(np.float32).eps)


def test_float32_taps_keep_the_gain_of_the_float64_taps():
    from imgconv._shared.ndpasses import gaussian_kernel1d, round_taps

    worst_plain = 0.0
    for sigma in np.linspace(0.5, 12, 47):
        w = gaussian_kernel1d(sigma, 0, int(4 * sigma + 0.5))
        r = round_taps(w[None], np.float32)[0]
        assert r.dtype == np.float32
        assert np.abs(r - w).max() <= len(w) / 2 * np.spacing(np.float32(w.max()))  # no tap moves more than that
        half_ulp = np.spacing(np.float32(w.max())) / 2
        assert abs(r.astype(np.float64).sum() - w.sum()) <= half_ulp
        worst_plain = max(worst_plain, abs(w.astype(np.float32).astype(np.float64).sum() - w.sum()))
    assert worst_plain > 2 * half_ulp  # rounding tap by tap does move the gain: what the residual corrects


def test_output_array_and_in_place(volume):
    out = np.empty_like(volume)
    r = ndimage.gaussian_filter(volume, 1.0, output=out)
    assert r is out
    _close(out, sn.gaussian_filter(volume, 1.0))
    x = volume.copy()
    ndimage.correlate1d(x, [1.0, 2.0, 3.0], 1, output=x)
    _close(x, sn.correlate1d(volume, [1.0, 2.0, 3.0], 1))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_input_and_weights(volume, dtype):
    z = (volume + 1j * volume[::-1]).astype(dtype)
    wz = np.array([1 + 2j, -0.5j, 3.0])
    for a, b in [
        (
            ndimage.correlate1d(z, wz, 1, mode="constant", cval=1 - 1j),
            sn.correlate1d(z, wz, 1, mode="constant", cval=1 - 1j),
        ),
        (ndimage.convolve(z, np.outer(wz, wz)[None], mode="wrap"), sn.convolve(z, np.outer(wz, wz)[None], mode="wrap")),
        (ndimage.uniform_filter(z, 3), sn.uniform_filter(z, 3)),
        (ndimage.correlate(volume, np.outer(wz, wz)[None]), sn.correlate(volume, np.outer(wz, wz)[None])),
    ]:
        _close(a, b, rtol=1e-12 if a.dtype == np.complex128 else 1e-6)


def test_empty_arrays():
    for shape in [(0,), (0, 5), (3, 0, 4)]:
        x = np.zeros(shape)
        for f, args in [
            ("gaussian_filter", (1.0,)),
            ("uniform_filter", (3,)),
            ("sobel", ()),
            ("laplace", ()),
            ("correlate1d", ([1.0, 2.0],)),
            ("correlate", (np.ones((3,) * len(shape)),)),
        ]:
            a, b = getattr(ndimage, f)(x, *args), getattr(sn, f)(x, *args)
            assert a.shape == b.shape == shape and a.dtype == b.dtype


def test_threads_do_not_change_results(volume):
    a = ndimage.gaussian_filter(volume, 2.0, num_threads=1)
    b = ndimage.gaussian_filter(volume, 2.0, num_threads=2)
    np.testing.assert_array_equal(a, b)


def test_errors_are_scipys_types():
    x = np.zeros((4, 4))
    with pytest.raises(RuntimeError, match="mode"):
        ndimage.correlate1d(x, [1.0], mode="edge")
    with pytest.raises(RuntimeError, match="sequence of modes"):
        ndimage.correlate(x, np.ones((3, 3)), mode=["reflect", "wrap"])
    with pytest.raises(ValueError, match="origin"):
        ndimage.correlate1d(x, [1.0, 2.0, 3.0], origin=2)
    with pytest.raises(RuntimeError, match="array type not supported"):
        ndimage.gaussian_filter(x.astype(np.float16), 1.0)
    with pytest.raises(RuntimeError, match="length equal to input rank"):
        ndimage.gaussian_filter(x, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="axes must be unique"):
        ndimage.uniform_filter(x, axes=(0, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_passes_over_the_last_two_axes_run_fused_and_equal_the_passes_one_by_one(dtype, mode):
    """gaussian_filter, uniform_filter, laplace and sobel/prewitt run their passes over the last
    two axes as one engine call (imgconv._engine.correlate_passes): bit-equal to the 1-D calls
    chained (the intermediate rounded to the output dtype), and to scipy to rounding."""
    rng = np.random.default_rng(11)
    for shape in [(37, 53), (3, 20, 31), (2, 1, 9)]:
        x = rng.standard_normal(shape).astype(dtype)
        before = x.ndim - 2

        def chained(f, *args, x=x, **kwargs):
            y = x
            for axis in range(x.ndim):
                y = f(y, *args, axis=axis, mode=mode, cval=1.25, **kwargs)
            return y

        got = ndimage.gaussian_filter(x, 1.5, mode=mode, cval=1.25)
        np.testing.assert_array_equal(got, chained(ndimage.gaussian_filter1d, 1.5))
        _close(got, sn.gaussian_filter(x, 1.5, mode=mode, cval=1.25), 1e-12 if dtype == np.float64 else 2e-6)
        got = ndimage.gaussian_filter(x, 2.0, order=(1,) * x.ndim, mode=mode, cval=1.25)
        np.testing.assert_array_equal(got, chained(ndimage.gaussian_filter1d, 2.0, order=1))
        for axis in range(x.ndim):  # a 1-D uniform filter: sums of ones, then divided by the size
            sums = ndimage.correlate1d(x, np.ones(4), axis, mode=mode, cval=1.25, origin=-1)
            np.testing.assert_array_equal(
                ndimage.uniform_filter1d(x, 4, axis, mode=mode, cval=1.25, origin=-1), sums / dtype(4)
            )
        got = ndimage.laplace(x, mode=mode, cval=1.25, axes=(x.ndim - 2, x.ndim - 1))  # summed in one call
        want = ndimage.correlate1d(x, [1.0, -2.0, 1.0], x.ndim - 2, mode=mode, cval=1.25)
        want += ndimage.correlate1d(x, [1.0, -2.0, 1.0], x.ndim - 1, mode=mode, cval=1.25)
        np.testing.assert_array_equal(got, want)
        expected = sn.laplace(x, mode=mode, cval=1.25, axes=(x.ndim - 2, x.ndim - 1))
        _close(got, expected, 1e-12 if dtype == np.float64 else 4e-6)
        got = ndimage.uniform_filter(x, 4, mode=mode, cval=1.25, origin=-1)
        np.testing.assert_array_equal(got, chained(ndimage.uniform_filter1d, 4, origin=-1))
        _close(got, sn.uniform_filter(x, 4, mode=mode, cval=1.25, origin=-1), 1e-12 if dtype == np.float64 else 2e-6)
        for f, smooth in ((ndimage.sobel, [1.0, 2.0, 1.0]), (ndimage.prewitt, [1.0, 1.0, 1.0])):
            for along in (before, x.ndim - 1):  # the last pair's row pass first, for the last axis
                got = f(x, axis=along, mode=mode, cval=1.25)
                y = ndimage.correlate1d(x, [-1.0, 0.0, 1.0], along, mode=mode, cval=1.25)
                for axis in range(x.ndim):
                    if axis != along:
                        y = ndimage.correlate1d(y, smooth, axis, mode=mode, cval=1.25)
                np.testing.assert_array_equal(got, y)
                tol = 1e-12 if dtype == np.float64 else 2e-6
                _close(got, getattr(sn, f.__name__)(x, axis=along, mode=mode, cval=1.25), tol)


@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.int16])
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_float64_sums_of_paired_weights_are_scipys_bit_for_bit(dtype, mode):
    """Where scipy pairs the taps (odd weights symmetric or antisymmetric within DBL_EPSILON), float64
    sums follow its order of operations: float64 and integer outputs equal scipy's exactly, origins,
    near-symmetric weights (scipy multiplies each pair by its left weight) and 3-D arrays included."""
    rng = np.random.default_rng(21)
    x = (rng.random((23, 31, 7)) * 200).astype(dtype)
    plane = x[..., 0]
    kw = dict(mode=mode, cval=3.5)
    for sigma, order in [(0.8, 0), (2.0, 0), (1.5, 1), (1.5, 2), (1.0, 3)]:
        np.testing.assert_array_equal(
            ndimage.gaussian_filter(x, sigma, order=order, **kw), sn.gaussian_filter(x, sigma, order=order, **kw)
        )
        np.testing.assert_array_equal(
            ndimage.gaussian_filter(plane, sigma, order=order, **kw),
            sn.gaussian_filter(plane, sigma, order=order, **kw),
        )
    near = np.array([0.1, 0.25, 0.3, 0.25, 0.1 + 1e-17])  # symmetric within DBL_EPSILON
    for weights in ([1.0, 2.0, 3.0, 2.0, 1.0], [-0.3, -1.0, 0.0, 1.0, 0.3], near):
        for origin in (-1, 0, 1):
            for axis in range(3):
                np.testing.assert_array_equal(
                    ndimage.correlate1d(x, weights, axis, origin=origin, **kw),
                    sn.correlate1d(x, weights, axis, origin=origin, **kw),
                )
                np.testing.assert_array_equal(
                    ndimage.convolve1d(x, weights, axis, origin=origin, **kw),
                    sn.convolve1d(x, weights, axis, origin=origin, **kw),
                )
    for f in (ndimage.sobel, ndimage.prewitt):
        for axis in (0, -1):
            np.testing.assert_array_equal(f(plane, axis, **kw), getattr(sn, f.__name__)(plane, axis, **kw))
    np.testing.assert_array_equal(ndimage.laplace(plane, **kw), sn.laplace(plane, **kw))
    np.testing.assert_array_equal(ndimage.gaussian_laplace(x, 1.2, **kw), sn.gaussian_laplace(x, 1.2, **kw))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_integer_outputs_stored_by_the_kernel_are_scipys_c_casts(dtype, axis):
    """Paired passes into uint8/uint16 outputs cast each float64 sum in the kernel: scipy's truncation
    and its wrap-around of values outside the type (negative sums, sums past the maximum), along a
    line and across strips, into a fresh output, an output array and one that overlaps the input."""
    rng = np.random.default_rng(8)
    x = rng.integers(0, np.iinfo(dtype).max, (17, 40, 33), endpoint=True).astype(dtype)
    for weights in ([-3.0, 10.5, -3.0], [0.2, -1.1, 0.0, 1.1, -0.2], [1.0, 2.0, 4.0, 2.0, 1.0]):
        expected = sn.correlate1d(x, weights, axis, mode="mirror")
        sums = sn.correlate1d(x.astype(np.float64), weights, axis, mode="mirror")
        assert (sums > np.iinfo(dtype).max).any()  # values that wrap around
        np.testing.assert_array_equal(ndimage.correlate1d(x, weights, axis, mode="mirror"), expected)
        out = np.full(x.shape, 7, dtype)
        ndimage.correlate1d(x, weights, axis, out, mode="mirror")
        np.testing.assert_array_equal(out, expected)
        y = x.copy()
        ndimage.correlate1d(y, weights, axis, y, mode="mirror")  # in place: the kernel must not write its input
        np.testing.assert_array_equal(y, expected)
    for out_dtype in (np.uint8, np.uint16, np.float64):  # another output type than the input's
        np.testing.assert_array_equal(
            ndimage.gaussian_filter1d(x, 1.5, axis, output=out_dtype, order=1),
            sn.gaussian_filter1d(x, 1.5, axis, output=out_dtype, order=1),
        )


def _exact_uniform(x, size, axis, mode, cval, origin):
    """The float64 mean of each window from integer sums (numpy.pad and a sliding window in int64)."""
    pad_mode = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap", "constant": "constant"}
    before = size // 2 + origin
    widths = [(0, 0)] * x.ndim
    widths[axis] = (before, size - 1 - before)
    kw = {"constant_values": cval} if mode == "constant" else {}
    padded = np.pad(x.astype(np.int64), widths, mode=pad_mode[mode], **kw)
    return np.lib.stride_tricks.sliding_window_view(padded, size, axis=axis).sum(axis=-1) / size


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_integer_uniform_filters_take_the_exact_mean(dtype, mode):
    """Integer images sum exactly in float64 in any order, so the mean of each odd window (paired in
    the kernel and divided there) is the exact sum divided by the size, then C-cast, along every axis."""
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype)
    x = rng.integers(max(info.min, -30000), min(info.max, 60000), (9, 26, 31), endpoint=True).astype(dtype)
    for size, origin in [(3, 0), (5, -2), (7, 1), (21, 0), (4, 1)]:
        for axis in range(3):
            expected = _exact_uniform(x, size, axis, mode, 5, origin).astype(dtype)  # a C cast
            got = ndimage.uniform_filter1d(x, size, axis, mode=mode, cval=5, origin=origin)
            np.testing.assert_array_equal(got, expected)
    out = np.empty(x.shape, np.float64)
    ndimage.uniform_filter1d(x, 5, 1, out, mode=mode, cval=5)
    np.testing.assert_array_equal(out, _exact_uniform(x, 5, 1, mode, 5, 0))


def test_a_kernel_far_longer_than_the_axes_is_scipys():
    # 800 001 taps on 5 x 6 pixels: every tap reflected many times over; buffered one column at a time
    x = np.arange(30.0).reshape(5, 6)
    np.testing.assert_array_equal(ndimage.gaussian_filter(x, 1e5), sn.gaussian_filter(x, 1e5))
    np.testing.assert_array_equal(ndimage.gaussian_filter1d(x, 1e5, order=1), sn.gaussian_filter1d(x, 1e5, order=1))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: ndimage.gaussian_filter(x, 1e9), "`sigma` and `radius` give a Gaussian kernel of 8000000001 taps"),
        (lambda x: ndimage.gaussian_filter1d(x, 1.0, radius=10**12), "kernel of 2000000000001 taps"),
        (lambda x: ndimage.gaussian_laplace(x, 1.0, truncate=1e15), "kernel of about 10**15 taps"),
        (lambda x: ndimage.uniform_filter(x, 10**9), "`size` gives a uniform filter of 1000000000 taps"),
        (lambda x: ndimage.uniform_filter1d(x, 10**12), "`size` gives a uniform filter of 1000000000000 taps"),
        (lambda x: feature.hessian_matrix(x, 1e9), "kernel of 8000000001 taps"),
        (lambda x: feature.structure_tensor(x, 1e9), "kernel of 8000000001 taps"),
        (lambda x: filters.sato(x, sigmas=[1e9]), "give a Gaussian kernel of 11313708499 taps"),
    ],
)
def test_a_scale_far_past_the_image_is_refused_before_its_kernel_is_allocated(call, message):
    """scipy allocates such a kernel (gigabytes for a 16x16 image) and fails with a MemoryError, or worse succeeds."""
    with pytest.raises(ValueError, match=re.escape(message)):
        call(np.ones((16, 16)))


def test_the_largest_pass_kernel_still_runs_as_scipy():
    x = np.random.default_rng(3).random((16, 16))
    taps = 2**20 + 1
    np.testing.assert_allclose(ndimage.uniform_filter1d(x, taps), sn.uniform_filter1d(x, taps), rtol=1e-12)
    np.testing.assert_allclose(
        ndimage.gaussian_filter(x, 1.0, radius=taps // 2), sn.gaussian_filter(x, 1.0, radius=taps // 2)
    )


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
def test_integer_outputs_of_large_passes_cast_chunk_by_chunk_equal_scipy(mode):
    """Non-symmetric passes over images whose float64 sums exceed the chunk buffer are summed
    and C-cast chunk by chunk (rows, columns or images of the pass): equal to scipy bit for bit
    along every axis, into the input's integer dtype, another integer output and the input itself."""
    rng = np.random.default_rng(12)
    weights = rng.standard_normal(7)
    for shape, axes in (((1100, 600), (0, 1)), ((3, 700, 300), (0, 1, 2))):
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        for axis in axes:
            want = sn.correlate1d(x, weights, axis, mode=mode, cval=3)
            np.testing.assert_array_equal(ndimage.correlate1d(x, weights, axis, mode=mode, cval=3), want)
            got = ndimage.correlate1d(x, weights, axis, output=np.int16, mode=mode, cval=3)
            np.testing.assert_array_equal(got, sn.correlate1d(x, weights, axis, output=np.int16, mode=mode, cval=3))
            inplace = x.copy()
            ndimage.correlate1d(inplace, weights, axis, output=inplace, mode=mode, cval=3)
            np.testing.assert_array_equal(inplace, want)


def test_borrowed_scratch_never_reaches_a_result():
    # The intermediates of a chain come from imgconv._shared.scratch and go back to it: a result must
    # be the caller's own array, left alone by the calls that follow (which reuse the scratch).
    rng = np.random.default_rng(7)
    x = rng.random((96, 80))
    first = ndimage.sobel(x)
    kept = first.copy()
    second = ndimage.gaussian_gradient_magnitude(x[::-1].copy(), 1.5)
    third = ndimage.gaussian_laplace(x.T.copy(), 2.0)
    assert not np.shares_memory(first, second) and not np.shares_memory(second, third)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(first, sn.sobel(x))
    np.testing.assert_array_equal(second, sn.gaussian_gradient_magnitude(x[::-1].copy(), 1.5))
    np.testing.assert_array_equal(third, sn.gaussian_laplace(x.T.copy(), 2.0))


def test_scratch_borrows_are_distinct_while_held_and_the_pool_stays_bounded():
    from imgconv._shared import scratch

    with scratch.borrow((64, 64), np.float64) as a, scratch.borrow((64, 64), np.float64) as b:
        assert not np.shares_memory(a, b)
        a[...] = 1
        b[...] = 2
        assert a.sum() == 64 * 64
    big = scratch.KEEP_BYTES // 8 + 1  # a buffer larger than the pool keeps
    with scratch.borrow((big,), np.float64) as huge:
        huge[-1] = 0
    assert sum(buf.size for buf in scratch._free) <= scratch.KEEP_BYTES


def test_filters_in_concurrent_threads_equal_scipy():
    # The scratch pool is shared by threads: concurrent chains must not read each other's buffers.
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    images = [rng.random((160, 144)) for _ in range(8)]

    def run(x):
        return ndimage.sobel(x), ndimage.gaussian_filter(x, 2.0), ndimage.uniform_filter(x, 5)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, images * 3))
    for x, (s, g, u) in zip(images * 3, results):
        np.testing.assert_array_equal(s, sn.sobel(x))
        np.testing.assert_array_equal(g, sn.gaussian_filter(x, 2.0))
        np.testing.assert_allclose(u, sn.uniform_filter(x, 5), rtol=1e-12, atol=1e-15)


def test_kept_gaussian_taps_are_the_callers_copy_and_follow_the_type_of_sigma():
    from imgconv._shared.ndpasses import gaussian_kernel1d

    taps = gaussian_kernel1d(1.5, 0, 6)
    taps[:] = 0  # the caller's copy: the next call is unchanged
    assert gaussian_kernel1d(1.5, 0, 6).sum() == pytest.approx(1.0)
    x = np.random.default_rng(9).random(64)
    for sigma in (np.float32(1.1), 1.1, np.float16(0.7)):  # scipy computes with the type given
        np.testing.assert_array_equal(ndimage.gaussian_filter1d(x, sigma), sn.gaussian_filter1d(x, sigma))


_INTEGER_DTYPES = [np.uint8, np.int8, np.uint16, np.int16]


@pytest.mark.parametrize("dtype", _INTEGER_DTYPES)
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_integer_weights_on_integer_images_sum_exactly_and_equal_scipy(dtype, mode):
    # sum_dtype takes float32 sums for integer weights on images of up to 16 bits (exact integers);
    # the results, wrapped, truncated or in float64, are scipy's bit for bit.
    info = np.iinfo(dtype)
    x = np.random.default_rng(10).integers(info.min, info.max, (41, 37), endpoint=True).astype(dtype)
    cval = -7 if mode == "constant" else 0.0
    cases = [
        lambda f, out: f.sobel(x, mode=mode, cval=cval, output=out),
        lambda f, out: f.prewitt(x, 0, mode=mode, cval=cval, output=out),
        lambda f, out: f.laplace(x, mode=mode, cval=cval, output=out),
        lambda f, out: f.correlate1d(x, [1, 3, -2], 0, mode=mode, cval=cval, output=out),
        lambda f, out: f.correlate(x, np.array([[1, 2, 0], [0, -1, 3]]), mode=mode, cval=cval, output=out),
        lambda f, out: f.uniform_filter(x, (3, 7), mode=mode, cval=cval, output=out),
        lambda f, out: f.uniform_filter1d(x, 9, 0, mode=mode, cval=cval, output=out),
    ]
    for i, case in enumerate(cases):
        for out in (None, np.int32, np.uint8) + ((np.float64,) if i < 5 else ()):
            with np.errstate(all="ignore"):
                ours, theirs = case(ndimage, out), case(sn, out)
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs, err_msg=f"case {i}, output {out}")


def test_integer_sums_beyond_float32s_exact_range_stay_float64():
    from imgconv.ndimage._correlate import sum_dtype

    x = np.random.default_rng(11).integers(-32768, 32767, (64, 64), endpoint=True).astype(np.int16)
    small, large = np.array([1.0, -2.0, 1.0]), np.array([1001.0, 1000.0, 999.0])
    out = np.empty(x.shape, np.int64)
    assert sum_dtype(x, small, out, "reflect", 0.0) == np.float32
    assert sum_dtype(x, large, out, "reflect", 0.0) == np.float64  # 32768 * 3000 > 2**24
    assert sum_dtype(x, small, out, "constant", 0.5) == np.float64  # a fractional border value
    assert sum_dtype(x, small / 3, out, "reflect", 0.0) == np.float64
    assert sum_dtype(x.astype(np.int32), small, out, "reflect", 0.0) == np.float64
    for weights in (small, large):
        np.testing.assert_array_equal(
            ndimage.correlate1d(x, weights, 0, output=np.int64), sn.correlate1d(x, weights, 0, output=np.int64)
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16])
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_planned_small_passes_equal_the_full_path(dtype, mode):
    # Small correlate1d / uniform_filter1d calls with plain arguments run a plan kept per signature;
    # a numpy-scalar cval takes the full path. Both must agree to the bit, for every layout.
    rng = np.random.default_rng(12)
    full = np.float64(0.0)
    for shape in [(9,), (7, 11), (5, 6, 7)]:
        x = (rng.random(shape) * 200).astype(dtype)
        for axis in range(-len(shape), len(shape)):
            for weights, origin in [([1.0, 2.0, 1.0], 0), ([-1, 0, 1], 1), ([0.25, 0.5, 0.125], -1), ([1, 3], 0)]:
                for out in (None, np.empty(shape, dtype), np.empty(shape, np.float64)):
                    planned = ndimage.correlate1d(x, weights, axis, out, mode, 0.0, origin)
                    kept = planned.copy()
                    reference = ndimage.correlate1d(
                        x, weights, axis, None if out is None else out.copy(), mode, full, origin
                    )
                    np.testing.assert_array_equal(kept, reference, err_msg=f"{shape} {axis} {weights} {origin}")
            for size in (3, 4, 5):
                planned = ndimage.uniform_filter1d(x, size, axis, None, mode, 0.0, 0)
                reference = ndimage.uniform_filter1d(x, size, axis, None, mode, full, 0)
                np.testing.assert_array_equal(planned, reference)
                if dtype in (np.uint8, np.uint16):
                    np.testing.assert_array_equal(planned, sn.uniform_filter1d(x, size, axis, None, mode, 0.0, 0))


@pytest.mark.parametrize("dtype", _INTEGER_DTYPES)
def test_integer_gradient_magnitudes_take_scipys_square_roots(dtype):
    # the square root of 8- and 16-bit outputs comes from a table of NumPy's own (float16 for 8 bits)
    info = np.iinfo(dtype)
    x = np.random.default_rng(13).integers(info.min, info.max, (300, 290), endpoint=True).astype(dtype)
    strided = np.zeros((300, 580), dtype)[:, ::2]  # an output the table cannot fill in place
    with np.errstate(all="ignore"):
        expected = sn.gaussian_gradient_magnitude(x, 1.5)
        np.testing.assert_array_equal(ndimage.gaussian_gradient_magnitude(x, 1.5), expected)
        np.testing.assert_array_equal(ndimage.gaussian_gradient_magnitude(x, 1.5, output=strided), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_planned_small_correlations_equal_the_full_path_and_scipy(dtype, mode):
    rng = np.random.default_rng(14)
    full = np.float64(0.0)  # a numpy-scalar cval: the full path
    x = rng.random((13, 10)).astype(dtype)
    for shape, origin in [((3, 3), 0), ((2, 3), (0, 1)), ((1, 5), (0, -2)), ((4, 4), -1)]:
        w = rng.standard_normal(shape)
        for func in ("correlate", "convolve"):
            for out in (None, np.empty(x.shape, dtype)):
                planned = getattr(ndimage, func)(x, w, out, mode, 0.0, origin).copy()
                reference = getattr(ndimage, func)(x, w, None, mode, full, origin)
                np.testing.assert_array_equal(planned, reference, err_msg=f"{func} {shape} {origin}")
                expected = getattr(sn, func)(x.astype(np.float64), w, None, mode, 0.0, origin)
                np.testing.assert_allclose(planned, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
