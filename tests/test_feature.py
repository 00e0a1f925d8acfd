"""imgconv.feature and the extra edge filters against scikit-image 0.26 (the independent reference)."""

import warnings

import numpy as np
import pytest

skimage = pytest.importorskip("skimage")
from skimage import data  # noqa: E402
from skimage import feature as sk_feature  # noqa: E402
from skimage import filters as sk_filters  # noqa: E402

from imgconv import _edges_extra as edges  # noqa: E402
from imgconv import feature  # noqa: E402

TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-10}


def _images():
    rng = np.random.default_rng(16)
    cam = data.camera()[100:260, 120:312] / 255.0
    astro = data.astronaut()[200:328, 150:300, 1] / 255.0
    return {"camera": cam, "astronaut": astro, "random2d": rng.random((61, 47)), "random3d": rng.random((18, 21, 16))}


IMAGES = _images()


def assert_scaled(actual, expected, dtype):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    scale = max(np.abs(expected).max(), 1e-300)
    err = np.abs(actual - expected).max() / scale
    assert err <= TOL[np.dtype(dtype)], err


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gaussian", [False, True])
@pytest.mark.parametrize("mode", ["constant", "reflect", "nearest"])
@pytest.mark.parametrize("sigma", [0.7, 2.5])
def test_hessian_matrix(name, dtype, gaussian, mode, sigma):
    image = IMAGES[name].astype(dtype)
    expected = sk_feature.hessian_matrix(image, sigma, mode=mode, use_gaussian_derivatives=gaussian)
    actual = feature.hessian_matrix(image, sigma, mode=mode, use_gaussian_derivatives=gaussian)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype
        assert_scaled(a, e, dtype)
    assert_scaled(feature.hessian_matrix_eigvals(actual), sk_feature.hessian_matrix_eigvals(expected), dtype)


def test_hessian_matrix_xy_and_warning():
    image = IMAGES["camera"]
    for a, e in zip(
        feature.hessian_matrix(image, 1.5, order="xy", use_gaussian_derivatives=True),
        sk_feature.hessian_matrix(image, 1.5, order="xy", use_gaussian_derivatives=True),
    ):
        assert_scaled(a, e, np.float64)
    with pytest.warns(FutureWarning):
        feature.hessian_matrix(image)
    with pytest.raises(ValueError, match="order"):
        feature.hessian_matrix(IMAGES["random3d"], order="xy", use_gaussian_derivatives=True)


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_structure_tensor(name, dtype, mode):
    image = IMAGES[name].astype(dtype)
    expected = sk_feature.structure_tensor(image, sigma=1.5, mode=mode)
    actual = feature.structure_tensor(image, sigma=1.5, mode=mode)
    for a, e in zip(actual, expected):
        assert_scaled(a, e, dtype)
    assert_scaled(
        feature.structure_tensor_eigenvalues(actual), sk_feature.structure_tensor_eigenvalues(expected), dtype
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_index_and_det(dtype):
    image = IMAGES["camera"].astype(dtype)
    a, e = feature.shape_index(image, 2), sk_feature.shape_index(image, 2)
    assert np.array_equal(np.isnan(a), np.isnan(e))
    assert_scaled(np.nan_to_num(a), np.nan_to_num(e), np.float32)  # arctan of a ratio: float32-sized error
    volume = IMAGES["random3d"].astype(dtype)
    assert_scaled(feature.hessian_matrix_det(volume, 1.5), sk_feature.hessian_matrix_det(volume, 1.5), np.float32)
    exact = feature.hessian_matrix_det(image, 2, approximate=False)
    assert_scaled(exact, sk_feature.hessian_matrix_det(image, 2, approximate=False), np.float32)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_multiscale_basic_features(name):
    image = IMAGES[name]
    actual = feature.multiscale_basic_features(image, sigma_min=1, sigma_max=8)
    expected = sk_feature.multiscale_basic_features(image, sigma_min=1, sigma_max=8)
    assert actual.dtype == expected.dtype
    assert_scaled(actual, expected, np.float32)


@pytest.mark.parametrize("flags", [(True, True, True), (True, False, True), (False, True, False), (False, False, True)])
def test_multiscale_basic_features_2d_equal_scikit_image_bit_for_bit(flags):
    # the 2-D stack is computed row by row from the smoothed images (_pointwise.h): the Sobel magnitude,
    # np.gradient twice and the eigenvalues must keep scikit-image's roundings, non-finite pixels too
    rng = np.random.default_rng(3)
    spotted = rng.random((70, 90), dtype=np.float32)
    spotted[30, 40], spotted[5, 0], spotted[69, 89] = np.nan, np.inf, -np.inf
    cases = [data.camera()[:300, :257], rng.random((37, 41), dtype=np.float32) * 1e4, spotted]
    cases += [rng.random(shape, dtype=np.float32) for shape in [(2, 2), (3, 5), (5, 3), (1, 9), (9, 1)]]
    for image in cases:
        try:
            expected = sk_feature.multiscale_basic_features(image, *flags, sigma_min=1, sigma_max=8)
        except ValueError:  # np.gradient refuses an axis of one pixel
            assert flags[2] and 1 in image.shape
            continue
        with np.errstate(invalid="ignore"):
            for threads in (1, 2):
                actual = feature.multiscale_basic_features(image, *flags, sigma_min=1, sigma_max=8, num_threads=threads)
                np.testing.assert_array_equal(actual, expected)  # NaN where scikit-image has NaN


def test_multiscale_basic_features_rgb_and_threads():
    rgb = data.astronaut()[:96, :128]
    expected = sk_feature.multiscale_basic_features(rgb, channel_axis=-1, num_sigma=3)
    one = feature.multiscale_basic_features(rgb, channel_axis=-1, num_sigma=3, num_threads=1)
    assert_scaled(one, expected, np.float32)
    assert np.array_equal(one, feature.multiscale_basic_features(rgb, channel_axis=-1, num_sigma=3, num_threads=2))
    with pytest.raises(ValueError, match="intensity"):
        feature.multiscale_basic_features(rgb, intensity=False, edges=False, texture=False)


@pytest.mark.parametrize("name", ["camera", "astronaut", "random2d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("func", ["roberts", "roberts_pos_diag", "roberts_neg_diag", "farid", "farid_h", "farid_v"])
@pytest.mark.parametrize("masked", [False, True])
def test_edges(name, dtype, func, masked):
    image = IMAGES[name].astype(dtype)
    mask = np.random.default_rng(3).random(image.shape) > 0.05 if masked else None
    expected = getattr(sk_filters, func)(image, mask=mask)
    actual = getattr(edges, func)(image, mask=mask)
    assert actual.dtype == expected.dtype
    assert_scaled(actual, expected, dtype)


def test_edges_channel_axis_and_farid_axis():
    rgb = data.astronaut()[:64, :80] / 255.0
    actual = edges.farid(rgb, channel_axis=-1)
    for c in range(3):
        assert_scaled(actual[..., c], sk_filters.farid(rgb[..., c]), np.float64)
    for axis in (0, 1, (0, 1)):  # not -1: scikit-image also smooths along the edge axis then (its set of axes)
        assert_scaled(edges.farid(rgb[..., 0], axis=axis), sk_filters.farid(rgb[..., 0], axis=axis), np.float64)
    with pytest.raises(ValueError, match="axis"):
        edges.farid(rgb, axis=2, channel_axis=2)
    for empty in ([], ()):  # as filters.sobel: one clear error, not a TypeError from inside np.sqrt
        with pytest.raises(ValueError, match=r"^`axis` must name at least one axis; got "):
            edges.farid(rgb[..., 0], axis=empty)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("radius", [0.5, 2, (1, 3)])
def test_unsharp_mask(dtype, radius):
    image = IMAGES["camera"].astype(dtype)
    assert_scaled(edges.unsharp_mask(image, radius, 1.5), sk_filters.unsharp_mask(image, radius, 1.5), dtype)
    volume = IMAGES["random3d"].astype(dtype)
    r3 = radius if np.isscalar(radius) else (*radius, 1)
    assert_scaled(
        edges.unsharp_mask(volume, r3, 0.8, preserve_range=True),
        sk_filters.unsharp_mask(volume, r3, 0.8, preserve_range=True),
        dtype,
    )
    rgb = (data.astronaut()[:64, :64] / 255.0).astype(dtype)
    # channel_axis=2, not -1: scikit-image 0.26 slices axis 0 for a negative channel_axis (a bug)
    assert_scaled(
        edges.unsharp_mask(rgb, 2, 1, channel_axis=-1), sk_filters.unsharp_mask(rgb, 2, 1, channel_axis=2), dtype
    )


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("theta", [0, 0.7, 2])
@pytest.mark.parametrize("frequency", [0.05, 0.3])
def test_gabor_kernel(dtype, theta, frequency):
    actual = edges.gabor_kernel(frequency, theta, offset=0.3, dtype=dtype)
    expected = sk_filters.gabor_kernel(frequency, theta, offset=0.3, dtype=dtype)
    assert actual.dtype == expected.dtype
    err = np.abs(actual - expected).max() / np.abs(expected).max()
    assert err <= (1e-6 if dtype == np.complex64 else 1e-10)


def test_no_warnings_on_defaults():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feature.hessian_matrix(IMAGES["camera"], use_gaussian_derivatives=True)


# -- antisymmetric kernels: taps paired as scipy pairs them -------------------------------------

_SCIPY_MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-wrap", "grid-mirror", "grid-constant"]


@pytest.mark.parametrize("mode", _SCIPY_MODES)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_antisymmetric_pass_matches_scipy(mode, axis):
    from scipy import ndimage as ndi

    from imgconv._shared.ndpasses import correlate1d_bank, gaussian_kernel1d

    rng = np.random.default_rng(axis)
    x = rng.standard_normal((7, 9, 5))
    odd = gaussian_kernel1d(2.0, 1, 6)  # 13 taps on axes of 5..9: the border reaches past the far end
    even = gaussian_kernel1d(2.0, 2, 6)
    assert np.array_equal(odd[::-1], -odd)
    y = correlate1d_bank(x[None], np.stack([odd, even]), axis, mode=mode, cval=0.5)[0]
    for got, weights in zip(y, (odd, even)):
        expected = ndi.correlate1d(x, weights, axis=axis, mode=mode, cval=0.5)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_antisymmetric_pass_is_exactly_zero_on_constants_and_keeps_non_finite_outputs():
    from scipy import ndimage as ndi

    from imgconv._shared.ndpasses import correlate1d_bank, gaussian_kernel1d

    odd = gaussian_kernel1d(3.0, 1, 12)
    flat = np.full((40, 30), 0.1)
    for axis in (0, 1):
        assert not correlate1d_bank(flat[None], odd[None], axis, mode="reflect")[0, 0].any()
    spiky = flat.copy()
    spiky[10, 5], spiky[30, 20], spiky[20, 5] = np.inf, -np.inf, np.nan
    for axis in (0, 1):
        got = correlate1d_bank(spiky[None], odd[None], axis, mode="nearest")[0, 0]
        expected = ndi.correlate1d(spiky, odd, axis=axis, mode="nearest")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("w", [0.5, 1.0, 2.0])
def test_three_tap_differences_equal_the_difference_of_exact_products(dtype, w):
    # [-w, 0, w], w a power of two: one plain pass (no paired halves) must still give fl(w b - w a) bit for bit
    from imgconv._shared.ndpasses import correlate1d_bank

    rng = np.random.default_rng(int(w * 4))
    x = rng.standard_normal((33, 47)).astype(dtype) * 1e3
    x[5:12, 8:30] = dtype(0.1)  # a constant region: exactly 0 inside
    x[20, 7], x[25, 40], x[3, 3] = np.inf, -np.inf, np.nan
    p = np.pad(x, 1, mode="symmetric")
    with np.errstate(invalid="ignore"):
        expected = [
            (w * p[2:, 1:-1] - w * p[:-2, 1:-1]) + dtype(0) * x,  # the centre tap: a non-finite pixel is its own NaN
            (w * p[1:-1, 2:] - w * p[1:-1, :-2]) + dtype(0) * x,
        ]
        for axis in (0, 1):
            got = correlate1d_bank(x[None], np.array([[-w, 0.0, w]]), axis, mode="reflect")[0, 0]
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, expected[axis])
            assert not got[6:11, 9:29].any()


# -- symmetric kernels: taps paired on request (pair_symmetric=True) ------------------------------


@pytest.mark.parametrize("mode", _SCIPY_MODES)
@pytest.mark.parametrize("axis", [0, 2])
def test_symmetric_pass_matches_scipy(mode, axis):
    from scipy import ndimage as ndi

    from imgconv._shared.ndpasses import correlate1d_bank, gaussian_kernel1d

    x = np.random.default_rng(axis).standard_normal((7, 9, 5))
    smooth, even, plain = gaussian_kernel1d(2.0, 0, 6), gaussian_kernel1d(2.0, 2, 6), np.arange(13.0)
    odd = gaussian_kernel1d(2.0, 1, 6)
    y = correlate1d_bank(x[None], np.stack([smooth, odd, even, plain]), axis, mode=mode, cval=0.5, pair_symmetric=True)
    for got, weights in zip(y[0], (smooth, odd, even, plain)):
        expected = ndi.correlate1d(x, weights, axis=axis, mode=mode, cval=0.5)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11)


def test_symmetric_pass_is_exact_on_antisymmetric_and_symmetric_data():
    from imgconv._shared.ndpasses import correlate1d_bank, gaussian_kernel1d

    half = np.random.default_rng(5).standard_normal((10, 6))
    anti = np.concatenate([-half[::-1], np.zeros((1, 6)), half])  # row 10 is the axis of symmetry
    sym = np.concatenate([half[::-1], half[:1], half])
    for sigma in (0.7, 1.5, 3.0):
        w = gaussian_kernel1d(sigma, 0, int(4 * sigma + 0.5))
        for mode in ("reflect", "mirror", "nearest", "constant"):
            y = correlate1d_bank(anti[None], w[None], 0, mode=mode, pair_symmetric=True)[0, 0]
            assert not y[10].any()
            np.testing.assert_array_equal(y[:10], -y[11:][::-1])
            y = correlate1d_bank(sym[None], w[None], 0, mode=mode, pair_symmetric=True)[0, 0]
            np.testing.assert_array_equal(y[:10], y[11:][::-1])
    # a normalised Gaussian of a constant: the constant where scipy's is (sigma 1, truncate 4: scikit-image's)
    w = gaussian_kernel1d(1.0, 0, 4)
    ones = np.ones((1, 6, 5))
    assert (correlate1d_bank(ones, w[None], 0, mode="nearest", pair_symmetric=True) == 1).all()


@pytest.mark.parametrize(
    "weights",
    [np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16, np.array([1.0, 0.0, 2.0, 0.0, 1.0]), np.array([1.0, 0.0, 1.0])],
)
def test_symmetric_pass_keeps_scipys_non_finite_outputs(weights):
    from scipy import ndimage as ndi

    from imgconv._shared.ndpasses import correlate1d_bank

    spiky = np.full((40, 30), 0.1)
    spiky[10, 5], spiky[12, 5], spiky[30, 20], spiky[20, 5], spiky[33, 20] = np.inf, -np.inf, -np.inf, np.nan, np.inf
    spiky[0, 7], spiky[2, 9] = np.inf, np.inf
    for axis in (0, 1):
        for mode in ("nearest", "reflect", "wrap", "constant"):
            got = correlate1d_bank(spiky[None], weights[None], axis, mode=mode, pair_symmetric=True)[0, 0]
            expected = ndi.correlate1d(spiky, weights, axis=axis, mode=mode)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
            np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
            np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
            finite = np.isfinite(expected)
            np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", _SCIPY_MODES)
@pytest.mark.parametrize("pair_symmetric", [False, True])
def test_dilated_passes_equal_scipy_on_zero_inserted_kernels(mode, pair_symmetric):
    from scipy import ndimage as ndi

    from imgconv._shared.ndpasses import correlate1d_bank, gaussian_kernel1d

    x = np.random.default_rng(9).standard_normal((8, 7, 9))
    bank = np.stack([gaussian_kernel1d(1.5, 0, 3), gaussian_kernel1d(1.5, 1, 3), np.arange(7.0)])
    for axis in range(3):
        for d in (2, 3):
            y = correlate1d_bank(x[None], bank, axis, mode=mode, cval=0.5, dilation=d, pair_symmetric=pair_symmetric)
            for got, weights in zip(y[0], bank):
                spread = np.zeros(d * (weights.size - 1) + 1)
                spread[::d] = weights
                expected = ndi.correlate1d(x, spread, axis=axis, mode=mode, cval=0.5)
                np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["camera", "random2d"])
@pytest.mark.parametrize("sigma", [1, 2.5, 3, 8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hessian_matrix_det_approximation_equals_scikit_image(name, sigma, dtype):
    image = IMAGES[name].astype(dtype)
    got = feature.hessian_matrix_det(image, sigma)  # approximate=True: SURF's box sums, as scikit-image
    expected = sk_feature.hessian_matrix_det(image, sigma)
    assert got.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("shape", [(300, 130), (7, 70000), (70000, 3), (4, 5)])
@pytest.mark.parametrize("sigma", [0.4, 0.7, 3, 12])
def test_hessian_matrix_det_approximation_by_slices_and_edge_gathers_equals_scikit_image(shape, sigma):
    # interior corners as shifted slices, the rows and columns whose near corners clamp as gathers; rows in
    # blocks of about 65536 pixels (a partial last block, one row per block, many blocks); boxes of 1 and 2
    # pixels (negative window heights), boxes wider than the image; NaN and inf pixels
    image = np.random.default_rng(shape[0]).random(shape)
    image[shape[0] // 2, shape[1] // 2] = np.nan
    image[0, -1] = np.inf
    got, expected = feature.hessian_matrix_det(image, sigma), sk_feature.hessian_matrix_det(image, sigma)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("sigma", [0.2, (2.0, 3.0)])
def test_hessian_matrix_det_approximation_refuses_a_sigma_it_cannot_use(sigma):
    # scikit-image returns NaN everywhere for sigma < 1/3 (a 0-pixel box) and ignores a pair
    with pytest.raises(ValueError, match=r"^`sigma` must be one number of at least 1/3 for approximate=True"):
        feature.hessian_matrix_det(IMAGES["random2d"], sigma)


def test_eigenvalues_in_threads_equal_scikit_images():
    # 600 rows: the 2-D formula runs in row blocks on two threads; element-wise, so bit for bit
    image = np.random.default_rng(3).random((600, 300))
    H = sk_feature.hessian_matrix(image, 1.5, use_gaussian_derivatives=False)
    expected = sk_feature.hessian_matrix_eigvals(H)
    for threads in (1, 2):
        np.testing.assert_array_equal(feature.hessian_matrix_eigvals(H, num_threads=threads), expected)
    A = sk_feature.structure_tensor(image, 1.0)
    expected = sk_feature.structure_tensor_eigenvalues(A)
    np.testing.assert_array_equal(feature.structure_tensor_eigenvalues(A, num_threads=2), expected)


def test_multiscale_features_object_is_the_function_with_names():
    features = feature.MultiscaleFeatures(edges=False, sigma_min=1, sigma_max=8, num_sigma=3)
    np.testing.assert_allclose(features.sigmas, [1, 2.8284271247461903, 8])
    assert features.halo == 32 + 2  # scipy's radius int(4 * 8 + 0.5), then the two np.gradient taps
    assert features.per_scale() == 3 and features.per_scale(3) == 4
    assert features.names()[:4] == ["intensity_sigma1", "texture0_sigma1", "texture1_sigma1", "intensity_sigma2.828"]
    assert features.names(channels=["r", "g"])[3:5] == ["r:intensity_sigma2.828", "r:texture0_sigma2.828"]
    assert len(features.names(channels=["r", "g"])) == 18 and len(features.names(3)) == 12
    assert "sigmas=[1, 2.828, 8]" in repr(features)
    rgb = data.astronaut()[:40, :48]
    expected = sk_feature.multiscale_basic_features(
        rgb, edges=False, sigma_min=1, sigma_max=8, num_sigma=3, channel_axis=-1
    )
    np.testing.assert_array_equal(features(rgb, channel_axis=-1), expected)
    volume = IMAGES["random3d"].astype(np.float32)
    assert features(volume).shape == volume.shape + (12,)
    with pytest.raises(ValueError, match="pass num_sigma"):
        feature.MultiscaleFeatures(sigma_min=8, sigma_max=1)
    with pytest.raises(ValueError, match="intensity"):
        feature.MultiscaleFeatures(intensity=False, edges=False, texture=False)
