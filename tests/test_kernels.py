"""Tests for imgconv.kernels against scipy.ndimage, scikit-image and plain NumPy references."""

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters as skf
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from numpy.testing import assert_allclose, assert_array_equal

from imgconv import kernels


def numpy_correlate_valid(image, kernel):
    """Plain 'valid' cross-correlation: out[i, j] = sum k[u, v] image[i + u, j + v]."""
    windows = sliding_window_view(image, kernel.shape)
    return np.einsum("ijuv,uv->ij", windows, kernel)


def impulse(shape):
    x = np.zeros(shape)
    x[shape[0] // 2, shape[1] // 2] = 1.0
    return x


# --------------------------------------------------------------------------------------
# box, identity
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, shape", [(1, (1, 1)), (3, (3, 3)), (4, (4, 4)), ((2, 5), (2, 5)), ([3], (3, 3))])
def test_box_shape_and_normalisation(size, shape):
    k = kernels.box(size)
    assert k.shape == shape and k.dtype == np.float64
    assert_allclose(k.sum(), 1.0, rtol=1e-15)
    assert np.all(k == k.flat[0])


def test_box_equals_uniform_filter_for_odd_sizes(rng):
    img = rng.random((15, 12))
    assert_allclose(
        ndi.correlate(img, kernels.box((3, 5)), mode="reflect"),
        ndi.uniform_filter(img, size=(3, 5), mode="reflect"),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("size, anchor", [(1, (0, 0)), (3, (1, 1)), (4, (1, 1)), ((2, 5), (0, 2)), ((6, 1), (2, 0))])
def test_identity_anchor(size, anchor):
    k = kernels.identity(size)
    assert k.sum() == 1.0 and k[anchor] == 1.0


# --------------------------------------------------------------------------------------
# gaussian
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sigma, truncate",
    [(1.0, 4.0), (0.5, 4.0), (2.3, 3.0), ((1.0, 2.5), 4.0), ((3.0, 0.4), 2.0), (0.2, 4.0), (1.26, 1.0)],
)
def test_gaussian_equals_scipy_impulse_response(sigma, truncate):
    k = kernels.gaussian(sigma, truncate)
    sy, sx = (sigma, sigma) if np.isscalar(sigma) else sigma
    ry, rx = int(truncate * sy + 0.5), int(truncate * sx + 0.5)
    assert k.shape == (2 * ry + 1, 2 * rx + 1)
    # Impulse in a larger constant-padded frame: the response is the kernel (symmetric).
    frame = impulse((2 * ry + 11, 2 * rx + 11))
    ref = ndi.gaussian_filter(frame, sigma, mode="constant", truncate=truncate)
    cy, cx = ry + 5, rx + 5
    assert_allclose(k, ref[cy - ry : cy + ry + 1, cx - rx : cx + rx + 1], rtol=1e-13, atol=1e-17)
    assert_allclose(ref.sum(), k.sum())  # nothing outside the support
    assert_allclose(k.sum(), 1.0, rtol=1e-14)


def test_gaussian_is_outer_product_of_1d_kernels():
    k = kernels.gaussian((1.5, 0.7))
    gy = kernels.gaussian((1.5, 0.7)).sum(axis=1)
    gx = kernels.gaussian((1.5, 0.7)).sum(axis=0)
    assert_allclose(k, np.outer(gy, gx), rtol=1e-13)


# --------------------------------------------------------------------------------------
# scikit-image edge kernels
# --------------------------------------------------------------------------------------

EDGE_NAMES = ["sobel_h", "sobel_v", "scharr_h", "scharr_v", "prewitt_h", "prewitt_v"]


@pytest.mark.parametrize("name", EDGE_NAMES)
def test_edge_kernel_reproduces_skimage_interior(name, rng):
    """Plain NumPy correlation (no scipy) equals skimage's output away from the border."""
    img = rng.random((17, 21))
    expected = getattr(skf, name)(img)
    got = numpy_correlate_valid(img, getattr(kernels, name)())
    assert_allclose(got, expected[1:-1, 1:-1], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", EDGE_NAMES)
def test_edge_kernel_reproduces_skimage_full_image(name, rng):
    img = rng.random((13, 10))
    expected = getattr(skf, name)(img)  # skimage: ndi.convolve, mode='reflect'
    assert_allclose(ndi.correlate(img, getattr(kernels, name)(), mode="reflect"), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name, smooth", [("sobel", [1, 2, 1]), ("scharr", [3, 10, 3]), ("prewitt", [1, 1, 1])])
def test_edge_kernel_values(name, smooth):
    smooth = np.asarray(smooth, float) / np.sum(smooth)
    h = getattr(kernels, name + "_h")()
    v = getattr(kernels, name + "_v")()
    assert_allclose(h, np.outer([-1, 0, 1], smooth), rtol=1e-15)
    assert_array_equal(v, h.T)
    assert abs(h.sum()) < 1e-15 and abs(v.sum()) < 1e-15


def test_edge_kernels_are_skimage_weights_rotated_180():
    from skimage.filters import edges as ske

    for ours, theirs in [
        ("sobel_h", "HSOBEL_WEIGHTS"),
        ("sobel_v", "VSOBEL_WEIGHTS"),
        ("scharr_h", "HSCHARR_WEIGHTS"),
        ("scharr_v", "VSCHARR_WEIGHTS"),
        ("prewitt_h", "HPREWITT_WEIGHTS"),
        ("prewitt_v", "VPREWITT_WEIGHTS"),
    ]:
        assert_array_equal(getattr(kernels, ours)(), getattr(ske, theirs)[::-1, ::-1])


def test_sobel_sign_convention():
    step_down = np.repeat(np.arange(9.0)[:, None] >= 4, 9, axis=1).astype(float)  # dark top, bright bottom
    resp_h = numpy_correlate_valid(step_down, kernels.sobel_h())
    resp_v = numpy_correlate_valid(step_down, kernels.sobel_v())
    assert resp_h.max() == pytest.approx(1.0) and resp_h.min() == 0.0
    assert np.all(resp_v == 0.0)
    resp_v_right = numpy_correlate_valid(step_down.T, kernels.sobel_v())
    assert resp_v_right.max() == pytest.approx(1.0) and resp_v_right.min() == 0.0


def test_laplace_matches_skimage(rng):
    from skimage.restoration import uft

    assert_array_equal(kernels.laplace(), uft.laplacian(2, (3, 3))[1])
    img = rng.random((12, 14))
    assert_allclose(ndi.correlate(img, kernels.laplace(), mode="reflect"), skf.laplace(img), rtol=1e-13, atol=1e-15)
    assert kernels.laplace().sum() == 0.0


# --------------------------------------------------------------------------------------
# log
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma, truncate", [(1.0, 4.0), (2.0, 4.0), (1.41, 3.0), (3.3, 2.0)])
def test_log_is_scipy_gaussian_laplace_with_mean_removed(sigma, truncate):
    k = kernels.log(sigma, truncate)
    r = int(truncate * sigma + 0.5)
    assert k.shape == (2 * r + 1, 2 * r + 1)
    frame = impulse((2 * r + 11, 2 * r + 11))
    ref = ndi.gaussian_laplace(frame, sigma, mode="constant", truncate=truncate)
    ref = ref[5:-5, 5:-5]
    assert_allclose(k, ref - ref.mean(), rtol=1e-12, atol=1e-16)
    assert abs(k.sum()) < 1e-14
    assert k[r, r] < 0  # samples the Laplacian of G: negative centre


def test_log_matches_matlab_fspecial_formula():
    """fspecial('log', 49, 2): G / sum(G) * (r^2 - 2 s^2) / s^4, then minus its mean."""
    s, h = 2.0, 24
    x, y = np.meshgrid(np.arange(-h, h + 1), np.arange(-h, h + 1))
    g = np.exp(-(x * x + y * y) / (2 * s * s))
    g /= g.sum()
    h1 = g * (x * x + y * y - 2 * s * s) / s**4
    expected = h1 - h1.sum() / h1.size
    assert_allclose(kernels.log(s, size=49), expected, rtol=1e-12, atol=1e-18)


def test_log_scale_normalized():
    assert_allclose(kernels.log(2.5, scale_normalized=True), 2.5**2 * kernels.log(2.5), rtol=1e-15)


def test_log_scale_normalized_responses_are_comparable_across_scales():
    """A blob of radius ~ sigma sqrt(2) gives similar scale-normalised peaks at matching scales."""
    peaks = []
    for s in (2.0, 4.0):
        y, x = np.mgrid[-40:41, -40:41]
        blob = (x * x + y * y <= 2 * s * s).astype(float)
        k = kernels.log(s, scale_normalized=True)
        r = k.shape[0] // 2
        peaks.append(float(np.sum(k * blob[40 - r : 41 + r, 40 - r : 41 + r])))
    assert peaks[0] < 0 and peaks[1] < 0
    assert peaks[0] == pytest.approx(peaks[1], rel=0.1)


# --------------------------------------------------------------------------------------
# gaussian_derivative
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sigma, order, truncate",
    [
        (1.0, (1, 0), 4.0),
        (1.0, (0, 1), 4.0),
        (2.0, (2, 0), 4.0),
        ((1.5, 0.7), (2, 1), 3.0),
        (0.8, (3, 2), 2.5),
        (2.0, (0, 0), 4.0),
        ((3.0, 1.0), (1, 1), 4.0),
    ],
)
def test_gaussian_derivative_matches_scipy_gaussian_filter(sigma, order, truncate, rng):
    img = rng.random((31, 29))
    k = kernels.gaussian_derivative(sigma, order, truncate=truncate)
    expected = ndi.gaussian_filter(img, sigma, order=order, truncate=truncate, mode="reflect")
    assert_allclose(ndi.correlate(img, k, mode="reflect"), expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("sigma, order", [(1.0, (1, 0)), ((2.0, 1.0), (0, 1)), (1.3, (2, 1))])
def test_gaussian_derivative_is_rotated_scipy_impulse_response(sigma, order):
    k = kernels.gaussian_derivative(sigma, order)
    ry, rx = (s // 2 for s in k.shape)
    frame = impulse((2 * ry + 9, 2 * rx + 9))
    ref = ndi.gaussian_filter(frame, sigma, order=order, mode="constant")[4:-4, 4:-4]
    assert_allclose(k, ref[::-1, ::-1], rtol=1e-12, atol=1e-16)


@settings(max_examples=40, deadline=None)
@given(
    sy=st.floats(0.3, 4.0),
    sx=st.floats(0.3, 4.0),
    oy=st.integers(0, 3),
    ox=st.integers(0, 3),
    truncate=st.floats(1.0, 4.5),
)
def test_gaussian_derivative_impulse_hypothesis(sy, sx, oy, ox, truncate):
    k = kernels.gaussian_derivative((sy, sx), (oy, ox), truncate=truncate)
    ry, rx = int(truncate * sy + 0.5), int(truncate * sx + 0.5)
    assert k.shape == (2 * ry + 1, 2 * rx + 1)
    frame = impulse((2 * ry + 5, 2 * rx + 5))
    ref = ndi.gaussian_filter(frame, (sy, sx), order=(oy, ox), truncate=truncate, mode="constant")[2:-2, 2:-2]
    scale = np.abs(ref).max()
    assert_allclose(k, ref[::-1, ::-1], rtol=1e-10, atol=1e-13 * scale)


def test_gaussian_derivative_order_zero_equals_gaussian():
    assert_allclose(kernels.gaussian_derivative((1.2, 2.1), (0, 0)), kernels.gaussian((1.2, 2.1)), rtol=1e-13)


@pytest.mark.parametrize("order", [(1, 0), (0, 1), (2, 0), (1, 1), (2, 1), (0, 3)])
@pytest.mark.parametrize("sigma", [(1.0, 3.0), 2.0, (2.5, 1.2)])
def test_gaussian_derivative_rotation_by_90_degrees(order, sigma):
    k0 = kernels.gaussian_derivative(sigma, order, 0.0)
    k90 = kernels.gaussian_derivative(sigma, order, math.pi / 2)
    assert k90.shape == k0.shape[::-1]
    # theta runs from +x towards +y: clockwise as displayed -> np.rot90 with k=-1
    assert_allclose(k90, np.rot90(k0, k=-1), rtol=1e-10, atol=1e-15)
    k180 = kernels.gaussian_derivative(sigma, order, math.pi)
    assert_allclose(k180, (-1) ** sum(order) * k0, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("theta", [0.0, 0.3, math.pi / 6, 1.2, 2.5])
def test_gaussian_derivative_directional_derivative_of_a_ramp(theta):
    """On I = a*y + b*x the first derivative along v = -x sin + y cos is a cos(theta) - b sin(theta)."""
    a, b = 0.7, -1.3
    k = kernels.gaussian_derivative((2.0, 2.0), (1, 0), theta, truncate=5.0)
    ry, rx = (s // 2 for s in k.shape)
    y, x = np.mgrid[-ry : ry + 1, -rx : rx + 1]
    response = np.sum(k * (a * y + b * x))  # correlation at the centre pixel
    assert response == pytest.approx(a * math.cos(theta) - b * math.sin(theta), rel=1e-4)
    ku = kernels.gaussian_derivative((2.0, 2.0), (0, 1), theta, truncate=5.0)
    assert np.sum(ku * (a * y + b * x)) == pytest.approx(b * math.cos(theta) + a * math.sin(theta), rel=1e-4)


@pytest.mark.parametrize("theta", [0.0, 0.4, 1.0, 2.0])
@pytest.mark.parametrize("order", [(1, 0), (0, 1), (2, 1), (1, 2), (3, 0)])
def test_gaussian_derivative_odd_orders_sum_to_zero(theta, order):
    k = kernels.gaussian_derivative((1.1, 2.9), order, theta)
    assert abs(k.sum()) < 1e-14 * np.abs(k).sum()


def test_gaussian_derivative_size_override():
    k = kernels.gaussian_derivative((1.0, 3.0), (1, 0), 0.5, size=49)
    assert k.shape == (49, 49)
    k2 = kernels.gaussian_derivative(1.0, (0, 0), size=(5, 7))
    assert k2.shape == (5, 7) and k2.sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------------------
# gabor
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(frequency=0.1),
        dict(frequency=0.25, theta=0.3),
        dict(frequency=0.2, theta=math.pi / 2),
        dict(frequency=0.4, theta=2.0, bandwidth=0.5),
        dict(frequency=0.15, sigma_x=2.0, sigma_y=5.0, theta=1.0),
        dict(frequency=0.3, n_stds=2, offset=0.7),
        dict(frequency=0.05, theta=-0.8, bandwidth=1.5, n_stds=4.5),
    ],
)
def test_gabor_equals_skimage_gabor_kernel(kwargs):
    real, imag = kernels.gabor(**kwargs)
    expected = skf.gabor_kernel(**kwargs)
    assert real.shape == expected.shape and imag.shape == expected.shape
    assert real.dtype == np.float64 and imag.dtype == np.float64
    assert_array_equal(real, expected.real)
    assert_array_equal(imag, expected.imag)


def test_gabor_defaults_match_skimage_defaults():
    real, imag = kernels.gabor(0.2)
    expected = skf.gabor_kernel(0.2)
    assert_array_equal(real + 1j * imag, expected)


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func, args, kwargs, exc, match",
    [
        (
            kernels.box,
            (0,),
            {},
            ValueError,
            r"`size` must be a positive int or a pair of positive ints, at most 4097; got 0",
        ),
        (kernels.box, ((3, -1),), {}, ValueError, r"`size` must be .*; got \(3, -1\)"),
        (kernels.box, (2.5,), {}, TypeError, r"`size` must be .*; got 2\.5"),
        (kernels.box, (True,), {}, TypeError, r"`size`.*True"),
        (kernels.box, ((1, 2, 3),), {}, ValueError, r"`size`.*\(1, 2, 3\)"),
        (kernels.identity, ("3",), {}, TypeError, r"`size`.*'3'"),
        (kernels.gaussian, (-1,), {}, ValueError, r"`sigma` must be positive and finite; got -1"),
        (kernels.gaussian, (0,), {}, ValueError, r"`sigma` must be positive.*; got 0"),
        (kernels.gaussian, ((1.0, float("nan")),), {}, ValueError, r"`sigma`.*nan"),
        (kernels.gaussian, ("a",), {}, TypeError, r"`sigma`.*'a'"),
        (kernels.gaussian, (1.0,), {"truncate": 0}, ValueError, r"`truncate` must be positive.*; got 0"),
        (kernels.log, ((1.0, 2.0),), {}, TypeError, r"`sigma` must be a real number"),
        (kernels.log, (1.0,), {"size": 4}, ValueError, r"`size` must be an odd positive int.*; got 4"),
        (kernels.log, (1.0,), {"scale_normalized": 1}, TypeError, r"`scale_normalized` must be a bool; got 1"),
        (kernels.gaussian_derivative, (1.0, 1), {}, TypeError, r"`order` must be a pair \(oy, ox\).*; got 1"),
        (kernels.gaussian_derivative, (1.0, (1, -1)), {}, ValueError, r"`order`.*\(1, -1\)"),
        (kernels.gaussian_derivative, (1.0, (1, 0, 0)), {}, ValueError, r"`order`.*\(1, 0, 0\)"),
        (kernels.gaussian_derivative, (1.0, (1, 0)), {"theta": float("inf")}, ValueError, r"`theta`.*inf"),
        (kernels.gaussian_derivative, (-2.0, (1, 0)), {}, ValueError, r"`sigma`.*-2\.0"),
        (kernels.gabor, (0,), {}, ValueError, r"`frequency` must be positive and finite; got 0"),
        (kernels.gabor, (0.1,), {"sigma_x": -1}, ValueError, r"`sigma_x` must be positive.*; got -1"),
        (kernels.gabor, (0.1,), {"bandwidth": "wide"}, TypeError, r"`bandwidth`.*'wide'"),
        (kernels.gabor, (0.1,), {"n_stds": 0}, ValueError, r"`n_stds`.*0"),
        (kernels.laplace, (5,), {}, ValueError, r"`ksize` must be 3 .*; got 5"),
        (kernels.laplace, (3.0,), {}, TypeError, r"`ksize` must be an int; got 3\.0"),
    ],
)
def test_validation_messages(func, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(*args, **kwargs)


def test_numpy_scalars_accepted_and_shown_plainly():
    assert kernels.box(np.int64(3)).shape == (3, 3)
    assert kernels.gaussian(np.float32(1.0)).shape == (9, 9)
    with pytest.raises(ValueError, match=r"got -1\.0$"):
        kernels.gaussian(np.float64(-1.0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: kernels.box(3),
        lambda: kernels.identity(2),
        lambda: kernels.gaussian(1.0),
        kernels.sobel_h,
        kernels.sobel_v,
        kernels.scharr_h,
        kernels.scharr_v,
        kernels.prewitt_h,
        kernels.prewitt_v,
        kernels.laplace,
        lambda: kernels.log(1.0),
        lambda: kernels.gaussian_derivative(1.0, (1, 0), 0.3),
        lambda: kernels.gabor(0.2)[0],
        lambda: kernels.gabor(0.2)[1],
    ],
)
def test_all_constructors_return_fresh_writeable_float64_2d(make):
    a, b = make(), make()
    assert a.ndim == 2 and a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
    a[...] = 7.0
    assert not np.all(b == 7.0)


def test_zero_d_arrays_are_scalars():
    assert kernels.gaussian(np.array(1.0)).shape == (9, 9)
    assert kernels.box(np.array(3)).shape == (3, 3)
    assert kernels.gaussian_derivative(np.array([1.0, 2.0]), np.array([1, 0])).shape == (9, 17)
    with pytest.raises(TypeError, match=r"`order` must be a pair \(oy, ox\) of non-negative ints, at most 64; got 1"):
        kernels.gaussian_derivative(1.0, np.array(1))
    with pytest.raises(TypeError, match=r"`sigma`.*array of shape \(2, 2\)"):
        kernels.gaussian(np.ones((2, 2)))
