"""imgconv.filters against scikit-image 0.26 and scipy.ndimage.

Oracles: at dilation 1 every function is compared with the scikit-image function
of the same name (correlate / convolve: scipy.ndimage), applied per channel where
scikit-image has no ``channel_axis``; at dilation d with the same function applied
to the kernel zero-inserted (taps d apart) -- scipy.ndimage.convolve / correlate
with scikit-image's own kernels.

Tolerances are relative to the scale of the data, ``max(|reference|, |image|)``:
1e-6 for float32 compute, 1e-10 for float64.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage
import skimage.filters as skf
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import data
from skimage.filters import edges as skedges
from skimage.util import img_as_float32, img_as_float64

from imgconv import banks, filters, kernels

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


# --------------------------------------------------------------------------------------
# data and helpers
# --------------------------------------------------------------------------------------


def _crop(name):
    image = getattr(data, name)()
    return {"camera": image[120:248, 160:312], "coins": image[40:136, 90:210], "astronaut": image[90:186, 150:262]}[
        name
    ]


IMAGES = {
    "camera-uint8": (lambda: _crop("camera"), None),
    "camera-float32": (lambda: img_as_float32(_crop("camera")), None),
    "camera-float64": (lambda: img_as_float64(_crop("camera")), None),
    "coins-uint8": (lambda: _crop("coins"), None),
    "astronaut-uint8": (lambda: _crop("astronaut"), -1),
    "astronaut-float64": (lambda: img_as_float64(_crop("astronaut")), -1),
}


@pytest.fixture(params=sorted(IMAGES))
def sample(request):
    make, channel_axis = IMAGES[request.param]
    return make(), channel_axis


def _float(image):
    """The image as imgconv converts it (what the references are fed)."""
    if image.dtype == np.float64:
        return image
    return img_as_float32(image) if image.dtype.kind in "ub" else image.astype(np.float32)


def _compute_dtype(image):
    return np.float64 if image.dtype == np.float64 else np.float32


def _tolerance(dtype):
    return 1e-6 if dtype == np.float32 else 1e-10


def assert_close(ours, ref, image):
    dtype = _compute_dtype(image)
    assert ours.dtype == dtype
    assert ours.shape == ref.shape
    scale = max(float(np.abs(ref).max()), float(np.abs(_float(image)).max()), 1e-30)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=_tolerance(dtype) * scale)


def per_channel(func, image, channel_axis, *args, **kwargs):
    """Apply a 2-D reference function to each channel (or to the 2-D image)."""
    if channel_axis is None:
        return func(image, *args, **kwargs)
    moved = np.moveaxis(image, channel_axis, 0)
    out = [func(plane, *args, **kwargs) for plane in moved]
    if isinstance(out[0], tuple):
        return tuple(np.moveaxis(np.stack(parts), 0, channel_axis) for parts in zip(*out))
    return np.moveaxis(np.stack(out), 0, channel_axis)


def zero_insert(kernel, dilation):
    kernel = np.asarray(kernel, dtype=np.float64)
    dh, dw = (dilation, dilation) if np.isscalar(dilation) else dilation
    if kernel.ndim == 1:
        out = np.zeros(dh * (kernel.shape[0] - 1) + 1)
        out[::dh] = kernel
        return out
    kh, kw = kernel.shape
    out = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    out[::dh, ::dw] = kernel
    return out


def _pair(d):
    return (d, d) if np.isscalar(d) else tuple(d)


# --------------------------------------------------------------------------------------
# dilation 1: equal to scikit-image / scipy
# --------------------------------------------------------------------------------------

EDGE_NAMES = [
    "sobel",
    "sobel_h",
    "sobel_v",
    "scharr",
    "scharr_h",
    "scharr_v",
    "prewitt",
    "prewitt_h",
    "prewitt_v",
    "laplace",
]


@pytest.mark.parametrize("name", EDGE_NAMES)
def test_edge_filters_equal_skimage(sample, name):
    image, channel_axis = sample
    ours = getattr(filters, name)(image, channel_axis=channel_axis)
    ref = per_channel(getattr(skf, name), _float(image), channel_axis)
    assert_close(ours, ref, image)


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt"])
@pytest.mark.parametrize("mode", MODES)
def test_edge_magnitude_modes_equal_skimage(name, mode):
    image = img_as_float64(_crop("camera"))
    ours = getattr(filters, name)(image, mode=mode, cval=0.25)
    ref = getattr(skf, name)(image, mode=mode, cval=0.25)
    assert_close(ours, ref, image)


@pytest.mark.parametrize("axis", [0, 1, [0, 1], (1, 0), [0, 0]])
def test_sobel_axis_equal_skimage(axis):
    image = img_as_float64(_crop("coins"))
    assert_close(filters.sobel(image, axis=axis), skf.sobel(image, axis=axis), image)


def test_sobel_negative_axis():
    """Negative axes count from the end. (scikit-image 0.26 mishandles them: with
    ``axis=-1`` it also smooths along the differentiated axis, giving 1/4 of the
    derivative, so they are compared with the positive axis here.)"""
    image = img_as_float64(_crop("coins"))
    np.testing.assert_array_equal(filters.sobel(image, axis=-1), filters.sobel(image, axis=1))
    np.testing.assert_array_equal(filters.sobel(image, axis=-2), filters.sobel(image, axis=0))
    np.testing.assert_array_equal(filters.sobel(image, axis=[-2, -1]), filters.sobel(image))


def test_sobel_axis_with_channel_axis_first():
    image = np.moveaxis(img_as_float64(_crop("astronaut")), -1, 0)  # (C, H, W)
    ours = filters.sobel(image, axis=2, channel_axis=0)  # image axis 2 = columns
    ref = np.stack([skf.sobel(plane, axis=1) for plane in image])
    assert_close(ours, ref, image)
    assert_close(filters.sobel_v(image, channel_axis=0), ref, image)


@pytest.mark.parametrize("name", ["sobel", "scharr_h", "prewitt_v", "laplace"])
def test_edge_mask_equal_skimage(name):
    image = img_as_float64(_crop("camera"))
    mask = np.zeros(image.shape, dtype=bool)
    mask[10:90, 20:130] = True
    mask[40:50, 60:70] = False
    assert_close(getattr(filters, name)(image, mask=mask), getattr(skf, name)(image, mask=mask), image)


def test_gaussian_equal_skimage(sample):
    image, channel_axis = sample
    for sigma in (1.0, 2.5, (1.5, 3.0)):
        ours = filters.gaussian(image, sigma, channel_axis=channel_axis)
        ref = skf.gaussian(_float(image), sigma=sigma, channel_axis=channel_axis)
        assert_close(ours, ref, image)


@pytest.mark.parametrize("mode", MODES)
def test_gaussian_modes_equal_skimage(mode):
    image = img_as_float64(_crop("coins"))
    ours = filters.gaussian(image, 2.0, mode=mode, cval=0.5, truncate=3.0)
    ref = skf.gaussian(image, sigma=2.0, mode=mode, cval=0.5, truncate=3.0)
    assert_close(ours, ref, image)


def test_gaussian_preserve_range_and_out():
    image = _crop("camera")
    ours = filters.gaussian(image, 2, preserve_range=True)
    ref = skf.gaussian(image, sigma=2, preserve_range=True)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * 255)
    out = np.empty(image.shape, np.float64)
    result = filters.gaussian(img_as_float64(image), 2, out=out)
    assert result is out
    assert_close(out, skf.gaussian(img_as_float64(image), sigma=2), out)


@pytest.mark.parametrize("channel_axis", [None, 0, -1])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
def test_gaussian_out_is_filled_and_may_be_the_image(channel_axis, out_dtype):
    rng = np.random.default_rng(21)
    image = rng.random(
        (37, 41) if channel_axis is None else (3, 37, 41) if channel_axis == 0 else (37, 41, 3), dtype=np.float32
    )
    expected = filters.gaussian(image, 1.7, channel_axis=channel_axis)
    out = np.full(image.shape, np.nan, out_dtype)
    assert filters.gaussian(image, 1.7, channel_axis=channel_axis, out=out) is out
    np.testing.assert_array_equal(out, expected.astype(out_dtype))
    in_place = image.copy()
    assert filters.gaussian(in_place, 1.7, channel_axis=channel_axis, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)
    strided = np.full(image.shape[:-1] + (2 * image.shape[-1],), np.nan, np.float32)[..., ::2]
    filters.gaussian(image, 1.7, channel_axis=channel_axis, out=strided)
    np.testing.assert_array_equal(strided, expected)


def test_difference_of_gaussians_equal_skimage(sample):
    image, channel_axis = sample
    for low, high in ((1.0, None), (1.5, 4.0), ((1.0, 2.0), (2.0, 3.0))):
        ours = filters.difference_of_gaussians(image, low, high, channel_axis=channel_axis)
        ref = skf.difference_of_gaussians(_float(image), low, high, channel_axis=channel_axis)
        assert_close(ours, ref, image)


@pytest.mark.parametrize(
    "params",
    [
        dict(frequency=0.3),
        dict(frequency=0.15, theta=0.7),
        dict(frequency=0.2, theta=2.0, bandwidth=1.5, offset=0.4),
        dict(frequency=0.25, sigma_x=2.0, sigma_y=4.0, n_stds=2),
    ],
)
def test_gabor_equal_skimage(sample, params):
    image, channel_axis = sample
    real, imag = filters.gabor(image, channel_axis=channel_axis, **params)
    ref_real, ref_imag = per_channel(skf.gabor, _float(image), channel_axis, **params)
    assert_close(real, ref_real, image)
    assert_close(imag, ref_imag, image)


@pytest.mark.parametrize("mode", MODES)
def test_gabor_modes_equal_skimage(mode):
    image = img_as_float64(_crop("camera"))
    real, imag = filters.gabor(image, 0.2, 0.3, mode=mode, cval=0.1)
    ref_real, ref_imag = skf.gabor(image, 0.2, 0.3, mode=mode, cval=0.1)
    assert_close(real, ref_real, image)
    assert_close(imag, ref_imag, image)


@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_correlate_convolve_equal_scipy(sample, func):
    image, channel_axis = sample
    weights = np.random.default_rng(1).normal(size=(5, 4))
    for origin in (0, (1, -2)):
        ours = getattr(filters, func)(image, weights, origin=origin, channel_axis=channel_axis)
        ref = per_channel(getattr(ndi, func), _float(image), channel_axis, weights, origin=origin)
        assert_close(ours, ref, image)


def test_apply_bank_equal_scipy(sample):
    image, channel_axis = sample
    bank = banks.edges() + banks.gabor((0.2,), 2)
    ours = filters.apply_bank(image, bank, channel_axis=channel_axis)
    for f, kernel in enumerate(bank):
        ref = per_channel(ndi.correlate, _float(image), channel_axis, kernel, mode="reflect")
        if channel_axis is not None:
            ref = np.moveaxis(ref, channel_axis, -1)
        assert_close(ours[..., f], ref, image)


def test_apply_bank_accepts_kernels():
    image = img_as_float64(_crop("coins"))
    ours = filters.apply_bank(image, {"h": kernels.sobel_h(), "box": kernels.box(3)}, mode="nearest")
    assert ours.shape == image.shape + (2,)
    assert_close(ours[..., 1], ndi.correlate(image, kernels.box(3), mode="nearest"), image)


# --------------------------------------------------------------------------------------
# other than two spatial axes (1-D, 3-D, 4-D): equal to scikit-image's N-D filters
# --------------------------------------------------------------------------------------

ND_EDGE_NAMES = ["sobel", "scharr", "prewitt", "farid"]


def _volume(shape=(7, 9, 8), seed=3):
    return np.random.default_rng(seed).random(shape)


@pytest.mark.parametrize("name", ND_EDGE_NAMES)
@pytest.mark.parametrize("mode", MODES)
def test_nd_edge_filters_equal_skimage(name, mode):
    image = _volume()
    for axis in (None, 0, 2, (0, 1), (1, 1)):
        for cval in (0.0, 2.5):
            ours = getattr(filters, name)(image, axis=axis, mode=mode, cval=cval)
            ref = getattr(skf, name)(image, axis=axis, mode=mode, cval=cval)
            assert_close(ours, ref, image)


@pytest.mark.parametrize("name", ND_EDGE_NAMES)
def test_nd_edge_negative_axis_and_float32(name):
    """Negative axes count from the end (scikit-image 0.26 also smooths along the differentiated
    axis then, see test_sobel_negative_axis); float32 stays float32."""
    image = _volume()
    func = getattr(filters, name)
    np.testing.assert_array_equal(func(image, axis=-1), func(image, axis=2))
    image32 = image.astype(np.float32)
    assert_close(func(image32), getattr(skf, name)(image32), image32)


@pytest.mark.parametrize("name", [*ND_EDGE_NAMES, "laplace"])
@pytest.mark.parametrize("shape", [(11,), (4, 5, 3, 6)])
def test_nd_edge_filters_1d_and_4d(name, shape):
    image = _volume(shape)
    assert_close(getattr(filters, name)(image), getattr(skf, name)(image), image)


@pytest.mark.parametrize("name", [*ND_EDGE_NAMES, "laplace"])
def test_nd_edge_mask_equal_skimage(name):
    image = _volume()
    mask = np.ones(image.shape, bool)
    mask[2:4, 3:5, 1:6] = False
    ours = getattr(filters, name)(image, mask=mask)
    assert_close(ours, getattr(skf, name)(image, mask=mask), image)
    assert np.all(ours[1:5, 2:6, :] == 0)


@pytest.mark.parametrize("mode", MODES)
def test_nd_laplace_modes(mode):
    image = _volume()
    ours = filters.laplace(image, mode=mode, cval=1.5)
    ref = ndi.convolve(image, skimage.restoration.uft.laplacian(3, (3, 3, 3))[1], mode=mode, cval=1.5)
    assert_close(ours, ref, image)


def test_nd_edge_filters_with_a_channel_axis():
    image = _volume((5, 3, 6, 7))
    for name in ND_EDGE_NAMES:
        ours = getattr(filters, name)(image, axis=3, channel_axis=1)
        ref = np.stack([getattr(skf, name)(image[:, c], axis=2) for c in range(3)], 1)
        assert_close(ours, ref, image)
    ours = filters.laplace(image, channel_axis=1)
    assert_close(ours, np.stack([skf.laplace(image[:, c]) for c in range(3)], 1), image)


def test_nd_edge_filters_integer_and_bool_images():
    blobs = data.binary_blobs(length=24, n_dim=3, rng=2)
    ours = filters.sobel(blobs)
    assert ours.dtype == np.float32
    assert_close(ours, skf.sobel(blobs).astype(np.float32), blobs.astype(np.float32))
    volume = (_volume() * 255).astype(np.uint8)
    assert_close(filters.scharr(volume), skf.scharr(_float(volume)), volume)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(13,), (6, 7, 8), (4, 5, 3, 6)])
def test_nd_gaussian_equal_skimage(mode, shape):
    image = _volume(shape)
    ndim = len(shape)
    for sigma in (1.0, 0.0, [0.5] + [2.0] * (ndim - 1), [0.0] + [1.3] * (ndim - 1)):
        ours = filters.gaussian(image, sigma, mode=mode, cval=0.7)
        assert_close(ours, skf.gaussian(image, sigma=sigma, mode=mode, cval=0.7), image)
    for low, high in ((1.0, None), ([0.5] + [1.0] * (ndim - 1), 2.0)):
        ours = filters.difference_of_gaussians(image, low, high, mode=mode, cval=0.7)
        assert_close(ours, skf.difference_of_gaussians(image, low, high, mode=mode, cval=0.7), image)


def test_nd_gaussian_channel_axis_out_and_dtypes():
    image = _volume((5, 6, 3, 7))
    ref = skf.gaussian(image, sigma=(1, 2, 0.5), channel_axis=2)
    assert_close(filters.gaussian(image, (1, 2, 0.5), channel_axis=2), ref, image)
    out = np.full(image.shape, np.nan)
    assert filters.gaussian(image, (1, 2, 0.5), channel_axis=2, out=out) is out
    assert_close(out, ref, image)
    ref = skf.difference_of_gaussians(image, (1, 2, 0.5), channel_axis=2)
    assert_close(filters.difference_of_gaussians(image, (1, 2, 0.5), channel_axis=2), ref, image)
    volume = (_volume() * 255).astype(np.uint8)
    ours = filters.gaussian(volume, 1.5)
    assert ours.dtype == np.float32
    assert_close(ours, skf.gaussian(_float(volume), sigma=1.5), volume)
    assert filters.gaussian(volume.astype(np.float16)).dtype == np.float32


@pytest.mark.parametrize("shape", [(5, 5), (4, 5, 6)])
def test_gaussian_sigma_zero_is_a_copy(shape):
    image = _volume(shape)
    for sigma in (0, 0.0, [0.0] * len(shape)):
        result = filters.gaussian(image, sigma)
        np.testing.assert_array_equal(result, image)
        assert not np.shares_memory(result, image)
    partial = filters.gaussian(image, [0.0] + [1.0] * (len(shape) - 1))
    assert_close(partial, skf.gaussian(image, sigma=[0.0] + [1.0] * (len(shape) - 1)), image)


def test_nd_errors():
    volume = np.zeros((4, 5, 6))
    with pytest.raises(
        ValueError, match=r"`dilation` must be a positive int or one per spatial axis \(3\), each at most 4097; got 0"
    ):
        filters.sobel(volume, dilation=0)
    with pytest.raises(
        ValueError, match=r"`dilation` must be .* one per spatial axis \(3\); got \(1, 2\) \(length 2\)"
    ):
        filters.gaussian(volume, dilation=(1, 2))
    with pytest.raises(TypeError, match=r"`dilation` must be a positive int or one per spatial axis \(1\); got 1.5"):
        filters.laplace(np.zeros(7), dilation=1.5)
    with pytest.raises(ValueError, match=r"`dilation` must keep a dilated kernel within 4097 pixels.*got 3000"):
        filters.gaussian(volume, sigma=1, dilation=3000)
    with pytest.raises(ValueError, match=r"`axis` must be in \[-3, 2\] for a 3-D image; got 3"):
        filters.scharr(volume, axis=3)
    with pytest.raises(ValueError, match=r"`axis` must be a spatial axis; got 1, which is the channel axis"):
        filters.farid(np.zeros((4, 3, 5, 6)), axis=1, channel_axis=1)
    with pytest.raises(ValueError, match=r"`channel_axis` must be in \[-4, 3\] for a 4-D image; got 4"):
        filters.prewitt(np.zeros((4, 3, 5, 6)), channel_axis=4)
    with pytest.raises(TypeError, match=r"`channel_axis` must be an int or None; got 1.0"):
        filters.gaussian(np.zeros((4, 3, 5, 6)), channel_axis=1.0)
    with pytest.raises(ValueError, match=r"`mask` must have the spatial shape of the image \(4, 5, 6\)"):
        filters.sobel(volume, mask=np.ones((4, 5), bool))
    with pytest.raises(
        ValueError, match=r"`image` must have non-empty spatial and channel axes; got shape \(4, 0, 6\)"
    ):
        filters.gaussian(np.zeros((4, 0, 6)))
    with pytest.raises(ValueError, match=r"`image` must have at least one axis; got a 0-D array"):
        filters.sobel(np.float64(1.0))
    with pytest.raises(ValueError, match=r"`ksize` must be 3"):
        filters.laplace(volume, ksize=5)
    with pytest.raises(ValueError, match=r"`mode` must be one of .*; got 'symmetric'"):
        filters.difference_of_gaussians(volume, 1, mode="symmetric")


# --------------------------------------------------------------------------------------
# dilation d: equal to the same function with the kernel zero-inserted
# --------------------------------------------------------------------------------------

DILATIONS = [2, 3, (2, 4)]

_SK_WEIGHTS = {
    "sobel": (skedges.HSOBEL_WEIGHTS, skedges.VSOBEL_WEIGHTS),
    "scharr": (skedges.HSCHARR_WEIGHTS, skedges.VSCHARR_WEIGHTS),
    "prewitt": (skedges.HPREWITT_WEIGHTS, skedges.VPREWITT_WEIGHTS),
}


def _reference_edge(name, image, dilation, mode="reflect", cval=0.0, mask=None):
    """scikit-image's edge filter, written out, with zero-inserted kernels."""
    base, _, suffix = name.partition("_")
    if base == "laplace":
        lap = np.array([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]])
        result = ndi.convolve(image, zero_insert(lap, dilation), mode=mode, cval=cval)
    else:
        h, v = (ndi.convolve(image, zero_insert(w, dilation), mode=mode, cval=cval) for w in _SK_WEIGHTS[base])
        result = {"h": h, "v": v}.get(suffix)
        if result is None:
            result = np.sqrt(h * h + v * v) / np.sqrt(2)
    if mask is not None:
        structure = zero_insert(np.ones((3, 3)), dilation).astype(bool)
        result = result * ndi.binary_erosion(mask, structure, border_value=0)
    return result


@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("name", EDGE_NAMES)
def test_edge_filters_dilated(name, dilation):
    image = img_as_float64(_crop("camera"))
    ours = getattr(filters, name)(image, dilation=dilation)
    assert_close(ours, _reference_edge(name, image, dilation), image)


@pytest.mark.parametrize("mode", MODES)
def test_sobel_dilated_modes_and_mask(mode):
    image = img_as_float64(_crop("coins"))
    mask = np.ones(image.shape, dtype=bool)
    mask[30:40, 50:55] = False
    ours = filters.sobel(image, mask=mask, mode=mode, cval=0.3, dilation=3)
    assert_close(ours, _reference_edge("sobel", image, 3, mode, 0.3, mask), image)


def test_edge_filter_dilated_float32_channels():
    image = _crop("astronaut")
    ours = filters.scharr(image, dilation=2, channel_axis=-1)
    ref = per_channel(lambda p: _reference_edge("scharr", p, 2), _float(image).astype(np.float64), -1)
    assert_close(ours, ref, image)


def _gauss1d(sigma, truncate=4.0):
    radius = int(truncate * sigma + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-t * t / (2.0 * sigma * sigma))
    return g / g.sum()


def _reference_gaussian(image, sigma, dilation, mode="nearest", cval=0.0, truncate=4.0):
    sy, sx = _pair(sigma)
    dh, dw = _pair(dilation)
    tmp = ndi.correlate1d(image, zero_insert(_gauss1d(sy, truncate), dh), axis=0, mode=mode, cval=cval)
    return ndi.correlate1d(tmp, zero_insert(_gauss1d(sx, truncate), dw), axis=1, mode=mode, cval=cval)


@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_gaussian_dilated(mode, dilation):
    image = img_as_float64(_crop("camera"))
    ours = filters.gaussian(image, (1.5, 2.0), mode=mode, cval=0.2, dilation=dilation)
    assert_close(ours, _reference_gaussian(image, (1.5, 2.0), dilation, mode, 0.2), image)


@pytest.mark.parametrize("dilation", DILATIONS)
def test_difference_of_gaussians_dilated(dilation):
    image = img_as_float64(_crop("coins"))
    ours = filters.difference_of_gaussians(image, 1.0, 2.5, dilation=dilation)
    ref = _reference_gaussian(image, 1.0, dilation) - _reference_gaussian(image, 2.5, dilation)
    assert_close(ours, ref, image)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_pixels_spread_as_in_skimage(value):
    # Each Gaussian reaches only its own radius: beyond the narrower one's, an inf
    # pixel gives -inf (finite - inf), not NaN (inf * 0 from a zero-padded kernel).
    image = np.zeros((48, 53))
    image[20, 30] = value
    with np.errstate(invalid="ignore"):
        for ours, ref in (
            (filters.difference_of_gaussians(image, 1, 2), skf.difference_of_gaussians(image, 1, 2)),
            (filters.gaussian(image, 1.5), skf.gaussian(image, sigma=1.5)),
        ):
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
            np.testing.assert_array_equal(np.isposinf(ours), np.isposinf(ref))
            np.testing.assert_array_equal(np.isneginf(ours), np.isneginf(ref))
            finite = np.isfinite(ref)
            np.testing.assert_allclose(ours[finite], ref[finite], rtol=0, atol=1e-12)


def test_gaussian_dilated_uint8_channels():
    image = _crop("astronaut")
    ours = filters.gaussian(image, 1.0, dilation=2, channel_axis=-1)
    ref = per_channel(lambda p: _reference_gaussian(p, 1.0, 2), _float(image).astype(np.float64), -1)
    assert_close(ours, ref, image)


@pytest.mark.parametrize("dilation", DILATIONS)
def test_gabor_dilated(dilation):
    image = img_as_float64(_crop("camera"))
    kernel = skf.gabor_kernel(0.25, 0.5)
    real, imag = filters.gabor(image, 0.25, 0.5, dilation=dilation)
    assert_close(real, ndi.convolve(image, zero_insert(kernel.real, dilation), mode="reflect"), image)
    assert_close(imag, ndi.convolve(image, zero_insert(kernel.imag, dilation), mode="reflect"), image)


@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("shape", [(3, 3), (4, 4), (2, 5), (5, 2), (1, 4)])
@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_correlate_convolve_dilated(func, shape, dilation):
    image = img_as_float64(_crop("coins"))
    weights = np.random.default_rng(7).normal(size=shape)
    extents = [d * (k - 1) + 1 for k, d in zip(shape, _pair(dilation))]
    for origin in [(0, 0), tuple(-(e // 2) for e in extents), tuple((e - 1) // 2 for e in extents)]:
        ours = getattr(filters, func)(image, weights, origin=origin, dilation=dilation)
        ref = getattr(ndi, func)(image, zero_insert(weights, dilation), origin=origin)
        assert_close(ours, ref, image)


@pytest.mark.parametrize("dilation", DILATIONS)
def test_apply_bank_dilated(dilation):
    image = img_as_float64(_crop("camera"))
    bank = banks.edges()
    ours = filters.apply_bank(image, bank, dilation=dilation, mode="mirror")
    for f, kernel in enumerate(bank):
        assert_close(ours[..., f], ndi.correlate(image, zero_insert(kernel, dilation), mode="mirror"), image)


# --------------------------------------------------------------------------------------
# border modes, wide pads, even kernels, random configurations
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES + ["grid-wrap", "grid-mirror", "grid-constant"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 2), (5, 4)])
def test_pads_wider_than_image_follow_scipy(mode, shape):
    """Kernels much larger than the image: the repeated extension agrees with scipy for every mode.

    In scipy.ndimage's filters 'wrap' and 'grid-wrap' agree for any pad width (they
    differ only in the interpolation functions), and imgconv implements that.
    """
    rng = np.random.default_rng(3)
    image = rng.random(shape)
    weights = rng.normal(size=(9, 12))
    for func in ("correlate", "convolve"):
        ours = getattr(filters, func)(image, weights, mode=mode, cval=0.7)
        ref = getattr(ndi, func)(image, weights, mode=mode, cval=0.7)
        assert_close(ours, ref, image)
    ours = filters.gaussian(image, 3.0, mode=mode, cval=0.7, dilation=2)
    np.testing.assert_allclose(ours, _reference_gaussian(image, 3.0, 2, mode, 0.7), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", MODES + ["grid-wrap"])
@pytest.mark.parametrize("length", [1, 2, 3])
def test_very_wide_pads_match_scipy_correlate1d(mode, length):
    """Extensions many times the image size follow numpy.pad, as scipy's correlate1d does.

    (scipy 1.17.1's N-D ``ndimage.correlate`` returns uninitialised values in
    'reflect' mode once one side's extension reaches 4x the axis length, e.g. a
    17-tap kernel on 2 pixels; its 1-D path is correct and is the oracle here.)
    """
    rng = np.random.default_rng(11)
    image = rng.random((3, length))
    for taps, origin in ((17, 0), (41, 0), (25, 12), (25, -12)):
        weights = rng.normal(size=taps)
        ours = filters.correlate(image, weights[None], mode=mode, cval=0.3, origin=(0, origin))
        ref = ndi.correlate1d(image, weights, axis=1, mode=mode, cval=0.3, origin=origin)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12 * np.abs(weights).sum())


def test_wrap_and_grid_wrap_agree():
    image = np.random.default_rng(4).random((3, 5))
    weights = np.ones((1, 11))
    a = filters.correlate(image, weights, mode="wrap")
    b = filters.correlate(image, weights, mode="grid-wrap")
    np.testing.assert_array_equal(a, b)
    # 11 taps over a period of 5: every pixel is counted twice, the centre one three times.
    np.testing.assert_allclose(a, 2 * image.sum(axis=1, keepdims=True) + image, rtol=1e-12)


NUMPY_PAD_MODE = {
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "constant": "constant",
}


def _numpy_correlate(image, weights, mode, cval, origin, dilation):
    """Plain NumPy oracle: numpy.pad with scipy's anchor ``K // 2 + origin``, then one slice per tap."""
    (kh, kw), (dh, dw) = weights.shape, dilation
    extents = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    pads = [(e // 2 + o, e - 1 - (e // 2 + o)) for e, o in zip(extents, origin)]
    extra = {"constant_values": cval} if mode == "constant" else {}
    padded = np.pad(image.astype(np.float64), pads, mode=NUMPY_PAD_MODE[mode], **extra)
    h, w = image.shape
    out = np.zeros((h, w))
    for u in range(kh):
        for v in range(kw):
            out += weights[u, v] * padded[u * dh : u * dh + h, v * dw : v * dw + w]
    return out


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    kh=st.integers(1, 6),
    kw=st.integers(1, 6),
    dh=st.integers(1, 4),
    dw=st.integers(1, 4),
    mode=st.sampled_from(MODES),
    func=st.sampled_from(["correlate", "convolve"]),
    seed=st.integers(0, 2**16),
    oh=st.floats(0, 1),
    ow=st.floats(0, 1),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_correlate_random_configurations(h, w, kh, kw, dh, dw, mode, func, seed, oh, ow, dtype):
    """Random sizes (image smaller than the kernel included), modes, dilations and origins.

    The oracle is numpy.pad + shifted slices.  (scipy.ndimage.correlate itself is
    not used here: scipy 1.17.1 returns uninitialised values for 'reflect' on an
    axis of length 2 when one side of the extension is 8 pixels or more, e.g.
    ``ndi.correlate([1., 10.], w, mode='reflect', origin=4)`` with 9 taps.)
    """
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(h, w)).astype(dtype)
    weights = rng.normal(size=(kh, kw))
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    origin = (int(-(eh // 2) + oh * (eh - 1)), int(-(ew // 2) + ow * (ew - 1)))
    ours = getattr(filters, func)(image, weights, mode=mode, cval=-0.5, origin=origin, dilation=(dh, dw))
    if func == "convolve":  # scipy's rule: flip, negate the origin, shift even extents by one
        weights = weights[::-1, ::-1]
        origin = tuple(-o - (1 - e % 2) for o, e in zip(origin, (eh, ew)))
    ref = _numpy_correlate(image, weights, mode, -0.5, origin, (dh, dw))
    scale = (np.abs(image).max() + 0.5) * np.abs(weights).sum()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=_tolerance(dtype) * scale)


# --------------------------------------------------------------------------------------
# dtypes, layouts, outputs, threads
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8, bool, np.float16, np.uint32, np.int64])
def test_integer_images_are_scaled_like_skimage(dtype):
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    if info is not None:
        image = rng.integers(info.min, info.max, size=(20, 30), endpoint=True).astype(dtype)
    else:
        image = (rng.random((20, 30)) > 0.5).astype(dtype)
    ours = filters.gaussian(image, 1.5)
    expected_dtype = np.float64 if np.dtype(dtype).itemsize > 2 and np.dtype(dtype).kind in "ui" else np.float32
    assert ours.dtype == expected_dtype
    converted = skimage.util.img_as_float64(image) if dtype != np.float16 else image.astype(np.float64)
    ref = skf.gaussian(converted, sigma=1.5)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * max(1.0, np.abs(ref).max()))


_DIRECT_CALLS = {
    "correlate": lambda im, **kw: filters.correlate(im, [[1, 2, 0], [0, -1, 3]], **kw),
    "convolve": lambda im, **kw: filters.convolve(im, np.arange(9.0).reshape(3, 3), **kw),
    "sobel": filters.sobel,
    "laplace": filters.laplace,
    "gaussian": lambda im, **kw: filters.gaussian(im, 1.5, **kw),
    "difference_of_gaussians": lambda im, **kw: filters.difference_of_gaussians(im, 1, 2, **kw),
    "gabor": lambda im, **kw: filters.gabor(im, 0.2, **kw)[1],
    "apply_bank": lambda im, **kw: filters.apply_bank(im, {"h": kernels.sobel_h(), "l": kernels.laplace()}, **kw),
}


@pytest.mark.parametrize("name", sorted(_DIRECT_CALLS))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, ">u2"])
def test_uint8_uint16_reach_the_engine_as_stored(name, dtype, monkeypatch):
    # No float copy of the image: the first engine call reads the stored pixels,
    # and folding 1 / iinfo.max into the kernels gives the converted image's result.
    from imgconv import _engine

    seen = []
    real = _engine.correlate

    def spy(x, *args, **kwargs):
        seen.append(x.dtype)
        return real(x, *args, **kwargs)

    rng = np.random.default_rng(11)
    image = rng.integers(0, np.iinfo(np.dtype(dtype)).max, (3, 37, 45), endpoint=True).astype(dtype)
    func = _DIRECT_CALLS[name]
    for kw in ({}, {"channel_axis": 0}):
        im = image[0] if not kw else image
        expected = func(img_as_float32(im), **kw)
        monkeypatch.setattr(_engine, "correlate", spy)
        seen.clear()
        got = func(im, **kw)
        monkeypatch.setattr(_engine, "correlate", real)
        assert seen and seen[0] == np.dtype(dtype)
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6 * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_images_with_a_border_value(mode, dtype):
    # cval is in the units of the converted image, also when the pixels are read as stored.
    rng = np.random.default_rng(12)
    image = rng.integers(0, np.iinfo(dtype).max, (23, 31), endpoint=True).astype(dtype)
    weights = rng.standard_normal((4, 3))
    converted = img_as_float64(image)
    ours = filters.correlate(image, weights, mode=mode, cval=0.7)
    assert_close(ours, ndi.correlate(converted, weights, mode=mode, cval=0.7), image)
    ours = filters.gaussian(image, 1.2, mode=mode, cval=0.7)
    assert_close(ours, skf.gaussian(converted, sigma=1.2, mode=mode, cval=0.7), image)
    ours = filters.gaussian(image, 1.2, mode=mode, cval=300.0, preserve_range=True)
    ref = skf.gaussian(image.astype(np.float64), sigma=1.2, mode=mode, cval=300.0, preserve_range=True)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * float(np.abs(ref).max()))


def test_input_not_modified_and_layouts():
    image = _crop("astronaut")
    copy = image.copy()
    a = filters.sobel(image, channel_axis=-1)
    b = filters.sobel(np.moveaxis(image, -1, 0), channel_axis=0)
    c = filters.sobel(np.asfortranarray(image), channel_axis=2)
    d = filters.sobel(image[::-1][::-1], channel_axis=-3 + 2)
    np.testing.assert_array_equal(image, copy)
    np.testing.assert_array_equal(a, np.moveaxis(b, 0, -1))
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(a, d)
    assert a.flags.c_contiguous


def test_big_endian_and_read_only_input():
    image = img_as_float64(_crop("coins"))
    ref = filters.laplace(image)
    big = image.astype(">f8")
    ro = image.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(filters.laplace(big), ref)
    np.testing.assert_array_equal(filters.laplace(ro), ref)


def test_correlate_output_argument():
    image = img_as_float32(_crop("coins"))
    weights = np.ones((3, 3)) / 9
    ref = filters.correlate(image, weights)
    assert filters.correlate(image, weights, output=np.float64).dtype == np.float64
    out = np.empty(image.shape, np.float32)
    assert filters.correlate(image, weights, output=out) is out
    np.testing.assert_array_equal(out, ref)
    # an output that is the image (read while written: copied into) or a strided view
    for target in (image.copy(), np.empty((image.shape[0], 2 * image.shape[1]), np.float32)[:, ::2]):
        source = target if target.flags.c_contiguous else image
        if source is target:
            target[...] = image
        assert filters.correlate(source, weights, output=target) is target
        np.testing.assert_array_equal(target, ref)
    rgb = img_as_float32(_crop("astronaut"))
    for axis in (0, -1):
        image3 = np.ascontiguousarray(np.moveaxis(rgb, -1, axis))
        out3 = np.full(image3.shape, np.nan, np.float32)
        assert filters.convolve(image3, weights[::-1], output=out3, channel_axis=axis) is out3
        np.testing.assert_array_equal(out3, filters.convolve(image3, weights[::-1], channel_axis=axis))


@pytest.mark.parametrize("name", ["sobel", "gaussian", "difference_of_gaussians", "correlate", "gabor"])
def test_threads_give_identical_results(name):
    image = img_as_float32(data.camera()[:300, :300])
    args = {
        "sobel": (),
        "gaussian": (2.0,),
        "difference_of_gaussians": (1.0,),
        "correlate": (np.ones((3, 4)),),
        "gabor": (0.2,),
    }[name]
    one = getattr(filters, name)(image, *args, num_threads=1, dilation=2)
    two = getattr(filters, name)(image, *args, num_threads=3, dilation=2)
    for a, b in zip(
        np.atleast_1d(one) if isinstance(one, tuple) else [one], np.atleast_1d(two) if isinstance(two, tuple) else [two]
    ):
        np.testing.assert_array_equal(a, b)


def test_concurrent_calls_from_python_threads():
    from concurrent.futures import ThreadPoolExecutor

    images = [img_as_float32(data.camera()[i * 50 : i * 50 + 200, :200]) for i in range(4)]
    expected = [filters.gaussian(im, 2.0, num_threads=1) for im in images]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda im: filters.gaussian(im, 2.0, num_threads=2), images))
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_image_smaller_than_kernel():
    image = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(filters.gaussian(image, 3.0), skf.gaussian(image, 3.0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(filters.sobel(image, dilation=5), _reference_edge("sobel", image, 5), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


def test_error_channel_axis():
    image = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match=r"`channel_axis` must be in \[-3, 2\] for a 3-D image; got 3"):
        filters.sobel(image, channel_axis=3)
    with pytest.raises(ValueError, match=r"`channel_axis` must be in \[-3, 2\].*got -4"):
        filters.gaussian(image, channel_axis=-4)
    with pytest.raises(TypeError, match=r"`channel_axis` must be an int or None; got 1.0"):
        filters.laplace(image, channel_axis=1.0)
    with pytest.raises(ValueError, match=r"`image` must be 2-D when `channel_axis` is None.*shape \(8, 8, 3\)"):
        filters.sobel_h(image)  # the _h / _v filters are 2-D only, as in scikit-image (the others are N-D)
    with pytest.raises(ValueError, match=r"`image` must be 3-D .* when `channel_axis` is given; got a 2-D"):
        filters.sobel(np.zeros((8, 8)), channel_axis=-1)


def test_error_mode():
    valid = r"\['constant', 'grid-constant', 'grid-mirror', 'grid-wrap', 'mirror', 'nearest', 'reflect', 'wrap'\]"
    with pytest.raises(ValueError, match=r"`mode` must be one of " + valid + r"; got 'symmetric'"):
        filters.sobel(np.zeros((5, 5)), mode="symmetric")
    with pytest.raises(ValueError, match=r"`mode` must be one of .*; got 'zeros'"):
        filters.correlate(np.zeros((5, 5)), np.ones((3, 3)), mode="zeros")
    with pytest.raises(TypeError, match=r"`mode` must be one of .*; got 3"):
        filters.gaussian(np.zeros((5, 5)), mode=3)


@pytest.mark.parametrize("sigma", [-1.0, (1.0, -0.5), float("nan"), float("inf")])
@pytest.mark.parametrize("shape", [(5, 5), (4, 5, 6)])
def test_error_sigma_negative(sigma, shape):
    if isinstance(sigma, tuple):
        sigma = (1.0,) * (len(shape) - 1) + sigma[-1:]
    with pytest.raises(ValueError, match=r"`sigma` must be non-negative and finite"):
        filters.gaussian(np.zeros(shape), sigma)
    with pytest.raises(ValueError, match=r"`low_sigma` must be non-negative and finite"):
        filters.difference_of_gaussians(np.zeros(shape), sigma)


def test_error_sigma_other():
    with pytest.raises(TypeError, match=r"`sigma` must be a non-negative number or one per spatial axis; got 'a'"):
        filters.gaussian(np.zeros((5, 5)), "a")
    with pytest.raises(
        ValueError, match=r"`sigma` must be a non-negative number or one per spatial axis \(2\).*length 3"
    ):
        filters.gaussian(np.zeros((5, 5)), (1, 2, 3))
    with pytest.raises(
        ValueError, match=r"`sigma` must be a non-negative number or one per spatial axis \(3\).*length 2"
    ):
        filters.gaussian(np.zeros((5, 5, 5)), (1, 2))
    with pytest.raises(ValueError, match=r"`high_sigma` must be .* one per spatial axis \(2\).*length 3"):
        filters.difference_of_gaussians(np.zeros((5, 5, 3)), 1, (3, 4, 5), channel_axis=-1)
    with pytest.raises(ValueError, match=r"dtype of `out` must be float; got dtype\('uint8'\)"):
        filters.gaussian(np.zeros((5, 5)), out=np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=r"dtype of `out` must be float"):
        filters.gaussian(np.zeros((4, 5, 6)), out=np.zeros((4, 5, 6), np.uint8))
    with pytest.raises(ValueError, match=r"`high_sigma` must be equal to or larger than `low_sigma`.*2.*1"):
        filters.difference_of_gaussians(np.zeros((5, 5)), 2, 1)
    with pytest.raises(ValueError, match=r"`truncate` must be positive and finite; got 0.0"):
        filters.gaussian(np.zeros((5, 5)), 1, truncate=0.0)
    with pytest.raises(TypeError, match=r"`preserve_range` must be a bool; got 'yes'"):
        filters.gaussian(np.zeros((5, 5)), 1, preserve_range="yes")


def test_error_dilation_threads_cval():
    with pytest.raises(ValueError, match=r"`dilation` must be a positive int or a pair of positive ints; got 0"):
        filters.sobel(np.zeros((5, 5)), dilation=0)
    with pytest.raises(TypeError, match=r"`dilation` must be a positive int.*1.5"):
        filters.gaussian(np.zeros((5, 5)), dilation=1.5)
    with pytest.raises(ValueError, match=r"`num_threads` must be a positive int or None; got 0"):
        filters.laplace(np.zeros((5, 5)), num_threads=0)
    with pytest.raises(TypeError, match=r"`cval` must be a real number; got 'x'"):
        filters.sobel(np.zeros((5, 5)), cval="x")


def test_error_correlate_arguments():
    image = np.zeros((6, 6))
    with pytest.raises(ValueError, match=r"`weights` must be a 2-D array \(kh, kw\); got a 3-D array"):
        filters.correlate(image, np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"`weights` must not be empty; got shape \(0, 3\)"):
        filters.correlate(image, np.ones((0, 3)))
    with pytest.raises(TypeError, match=r"`weights` must be a real-valued array; got dtype complex128"):
        filters.correlate(image, np.ones((3, 3), complex))
    with pytest.raises(ValueError, match=r"`origin` must satisfy .*got origin=\(2, 0\) and K=3 along axis 0"):
        filters.correlate(image, np.ones((3, 3)), origin=(2, 0))
    with pytest.raises(ValueError, match=r"`origin` must satisfy .*K=4 along axis 1"):
        filters.convolve(image, np.ones((2, 2)), origin=(0, -3), dilation=3)
    with pytest.raises(TypeError, match=r"`origin` must be an int or a pair of ints; got \(0.5, 0\)"):
        filters.correlate(image, np.ones((3, 3)), origin=(0.5, 0))
    with pytest.raises(ValueError, match=r"`output` must have the shape of the image \(6, 6\); got \(5, 5\)"):
        filters.correlate(image, np.ones((3, 3)), output=np.zeros((5, 5)))
    with pytest.raises(TypeError, match=r"`output` must be None, float32, float64 or an ndarray; got dtype int32"):
        filters.correlate(image, np.ones((3, 3)), output=np.int32)


def test_error_image_and_mask_and_axis():
    with pytest.raises(TypeError, match=r"`image` must be a real-valued array .*complex128"):
        filters.sobel(np.zeros((5, 5), complex))
    with pytest.raises(TypeError, match=r"`image` must be an array; got str"):
        filters.sobel("camera.png")
    with pytest.raises(ValueError, match=r"`image` must have non-empty spatial and channel axes; got shape \(0, 5\)"):
        filters.sobel(np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"`mask` must have the spatial shape of the image \(5, 5\); got shape"):
        filters.sobel(np.zeros((5, 5)), mask=np.ones((4, 5), bool))
    with pytest.raises(ValueError, match=r"`axis` must be a spatial axis; got -1, which is the channel axis"):
        filters.sobel(np.zeros((5, 5, 3)), axis=-1, channel_axis=-1)
    with pytest.raises(ValueError, match=r"`axis` must be in \[-2, 1\] for a 2-D image; got 2"):
        filters.sobel(np.zeros((5, 5)), axis=2)
    with pytest.raises(TypeError, match=r"`axis` must be None, an int or a sequence of ints; got 'x'"):
        filters.sobel(np.zeros((5, 5)), axis="x")
    with pytest.raises(ValueError, match=r"`ksize` must be 3"):
        filters.laplace(np.zeros((5, 5)), ksize=5)
    with pytest.raises(ValueError, match=r"`frequency` must be positive"):
        filters.gabor(np.zeros((5, 5)), 0)
    with pytest.raises(ValueError, match=r"`out` must have the shape of the image \(5, 5\); got \(4, 4\)"):
        filters.gaussian(np.zeros((5, 5)), out=np.zeros((4, 4)))


# --------------------------------------------------------------------------------------
# N-D filters with dilation: scipy.ndimage on explicitly dilated (zero-inserted) kernels
# --------------------------------------------------------------------------------------


def _dilated(weights, d):
    out = np.zeros(d * (len(weights) - 1) + 1)
    out[::d] = weights
    return out


def _outer(*vectors):
    result = np.ones(())
    for v in vectors:
        result = np.multiply.outer(result, v)
    return result


_ND_SMOOTH_EDGE = {
    "sobel": (np.array([1.0, 2.0, 1.0]) / 4, np.array([-1.0, 0.0, 1.0])),
    "scharr": (np.array([3.0, 10.0, 3.0]) / 16, np.array([-1.0, 0.0, 1.0])),
    "prewitt": (np.full(3, 1 / 3), np.array([-1.0, 0.0, 1.0])),
    # scikit-image's farid weights, as correlation weights (it convolves: the derivative reversed)
    "farid": (
        np.array([0.0376593171958126, 0.249153396177344, 0.426374573253687, 0.249153396177344, 0.0376593171958126]),
        -np.array([0.109603762960254, 0.276690988455557, 0, -0.276690988455557, -0.109603762960254]),
    ),
}


@pytest.mark.parametrize("name", ND_EDGE_NAMES)
@pytest.mark.parametrize("mode,cval", [("reflect", 0.0), ("wrap", 0.0), ("nearest", 0.0), ("constant", 0.7)])
@pytest.mark.parametrize("dilation", [2, (1, 3, 2)])
def test_nd_edge_filters_dilated_equal_scipy_on_dilated_kernels(name, mode, cval, dilation):
    image = _volume((9, 11, 10))
    dil = (dilation,) * 3 if isinstance(dilation, int) else dilation
    smooth, edge = _ND_SMOOTH_EDGE[name]
    responses = []
    for axis in range(3):
        kernel = _outer(*[_dilated(edge if a == axis else smooth, dil[a]) for a in range(3)])
        ref = ndi.correlate(image, kernel, mode=mode, cval=cval)
        ours = getattr(filters, name)(image, axis=axis, mode=mode, cval=cval, dilation=dilation)
        assert_close(ours, ref, image)
        responses.append(ref)
    magnitude = np.sqrt(sum(r * r for r in responses)) / np.sqrt(3)
    assert_close(getattr(filters, name)(image, mode=mode, cval=cval, dilation=dilation), magnitude, image)


def test_nd_edge_filters_dilation_one_is_the_undilated_filter_and_channels_are_separate():
    image = _volume((5, 6, 7, 2))
    for name in ND_EDGE_NAMES:
        func = getattr(filters, name)
        np.testing.assert_array_equal(func(image, dilation=[1], channel_axis=-1), func(image, channel_axis=-1))
        per_channel = np.stack([func(image[..., c], dilation=(2, 1, 2)) for c in range(2)], axis=-1)
        np.testing.assert_allclose(func(image, dilation=(2, 1, 2), channel_axis=-1), per_channel, rtol=1e-12)


@pytest.mark.parametrize("shape,dilation", [((13,), 3), ((9, 8, 10), (2, 3, 1)), ((5, 6, 4, 7), 2)])
def test_nd_laplace_dilated_equals_scipy_on_a_dilated_kernel(shape, dilation):
    image = _volume(shape)
    ndim = len(shape)
    dil = (dilation,) * ndim if isinstance(dilation, int) else dilation
    kernel = np.zeros([2 * d + 1 for d in dil])
    centre = tuple(dil)
    kernel[centre] = 2 * ndim
    for a, d in enumerate(dil):
        for side in (-d, d):
            index = list(centre)
            index[a] += side
            kernel[tuple(index)] = -1
    for mode in ("reflect", "constant", "mirror"):
        ours = filters.laplace(image, mode=mode, dilation=dilation)
        assert_close(ours, ndi.correlate(image, kernel, mode=mode), image)


def _scipy_gaussian_weights(sigma, truncate):
    """scipy's own 1-D Gaussian taps: its filter applied to an impulse (symmetric: correlation weights)."""
    radius = int(truncate * sigma + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1
    return ndi.gaussian_filter1d(impulse, sigma, truncate=truncate, mode="constant")


@pytest.mark.parametrize("mode", ["nearest", "reflect", "wrap", "constant"])
@pytest.mark.parametrize("sigma,dilation", [(1.0, 2), ((1.5, 0.0, 0.8), (3, 2, 2)), ((0.7, 1.2, 1.0), (1, 1, 3))])
def test_nd_gaussian_dilated_equals_scipy_passes_on_dilated_kernels(mode, sigma, dilation):
    image = _volume((10, 9, 12))
    sigmas = (sigma,) * 3 if np.isscalar(sigma) else sigma
    dil = (dilation,) * 3 if isinstance(dilation, int) else dilation
    ref = image
    for axis, (s, d) in enumerate(zip(sigmas, dil)):
        if s > 0:
            ref = ndi.correlate1d(ref, _dilated(_scipy_gaussian_weights(s, 4.0), d), axis=axis, mode=mode, cval=0.3)
    ours = filters.gaussian(image, sigma, mode=mode, cval=0.3, dilation=dilation)
    assert_close(ours, ref, image)
    low, high = (
        filters.gaussian(image, sigma, mode=mode, cval=0.3, dilation=dilation),
        filters.gaussian(image, tuple(1.6 * s for s in sigmas), mode=mode, cval=0.3, dilation=dilation),
    )
    dog = filters.difference_of_gaussians(image, sigma, mode=mode, cval=0.3, dilation=dilation)
    np.testing.assert_allclose(dog, low - high, rtol=0, atol=1e-12)


def test_nd_mask_footprint_follows_the_dilation():
    image = _volume((9, 10, 11))
    mask = np.ones(image.shape, bool)
    mask[4, 5, 5] = False
    dilation = (2, 1, 3)
    structure = np.zeros([2 * d + 1 for d in dilation], bool)
    structure[:: dilation[0], :: dilation[1], :: dilation[2]] = True
    keep = ndi.binary_erosion(mask, structure, border_value=0)
    for name in [*ND_EDGE_NAMES, "laplace"]:
        unmasked = getattr(filters, name)(image, dilation=dilation)
        ours = getattr(filters, name)(image, mask=mask, dilation=dilation)
        np.testing.assert_array_equal(ours, unmasked * keep)


@pytest.mark.parametrize(
    "dilation, error", [(1.0, TypeError), (True, TypeError), ((1, 1, 1), ValueError), (0, ValueError)]
)
def test_farid_refuses_the_dilations_its_5x5_kernels_refuse(dilation, error):
    # the 2-D farid runs fused 1-D passes at dilation 1: the refusals stay those of the 5x5 path
    image = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    with pytest.raises(error, match="dilation"):
        filters.farid(image, dilation=dilation)
    with pytest.raises(error, match="dilation"):
        filters.convolve(image, np.ones((5, 5)), dilation=dilation)
