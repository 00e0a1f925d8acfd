"""imgconv.wavelet: the starlet transform against a direct scipy.ndimage computation."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage import data
from skimage.util import img_as_float32, img_as_float64

from imgconv import wavelet

B3 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
MODES = ["nearest", "reflect", "mirror", "wrap", "constant"]


def _b3_at(dilation):
    kernel = np.zeros(4 * dilation + 1)
    kernel[::dilation] = B3
    return kernel


def direct_starlet(image, n_scales, mode="nearest"):
    """Textbook à trous algorithm with scipy.ndimage.correlate1d and zero-inserted kernels."""
    c = np.asarray(image, dtype=np.float64)
    planes = []
    for j in range(n_scales):
        k = _b3_at(2**j)
        smooth = ndi.correlate1d(ndi.correlate1d(c, k, axis=0, mode=mode), k, axis=1, mode=mode)
        planes.append(c - smooth)
        c = smooth
    return np.stack(planes + [c])


@pytest.fixture
def camera():
    return img_as_float64(data.camera()[100:228, 180:308])


@pytest.mark.parametrize("mode", MODES)
def test_each_scale_equals_direct_computation(camera, mode):
    coeffs = wavelet.starlet(camera, 4, mode=mode)
    ref = direct_starlet(camera, 4, mode)
    assert coeffs.shape == (5,) + camera.shape
    assert coeffs.dtype == np.float64
    np.testing.assert_allclose(coeffs, ref, rtol=0, atol=1e-12)


def test_float32_and_uint8_inputs(camera):
    image = data.camera()[100:228, 180:308]
    for inp in (image, img_as_float32(image)):
        coeffs = wavelet.starlet(inp, 3)
        assert coeffs.dtype == np.float32
        np.testing.assert_allclose(coeffs, direct_starlet(img_as_float32(image), 3), rtol=0, atol=1e-6)


def test_exact_reconstruction(camera):
    for n_scales in (1, 3, 5):
        coeffs = wavelet.starlet(camera, n_scales)
        np.testing.assert_allclose(wavelet.istarlet(coeffs), camera, rtol=0, atol=1e-14)
        np.testing.assert_allclose(wavelet.istarlet(list(coeffs)), camera, rtol=0, atol=1e-14)
    coeffs32 = wavelet.starlet(camera.astype(np.float32), 4)
    np.testing.assert_allclose(wavelet.istarlet(coeffs32), camera, rtol=0, atol=1e-6)


def test_constant_image_has_zero_mean_detail_planes():
    image = np.full((40, 50), 0.37)
    coeffs = wavelet.starlet(image, 3)
    for plane in coeffs[:-1]:
        assert abs(plane.mean()) < 1e-15
        assert np.abs(plane).max() < 1e-15
    np.testing.assert_allclose(coeffs[-1], image, rtol=0, atol=1e-15)


def test_detail_planes_zero_mean_for_periodic_image(camera):
    # With periodic extension the B3 kernel (sum 1) preserves the mean exactly.
    coeffs = wavelet.starlet(camera, 4, mode="wrap")
    for plane in coeffs[:-1]:
        assert abs(plane.mean()) < 1e-12
    assert abs(coeffs[-1].mean() - camera.mean()) < 1e-12


def test_channel_axis():
    image = img_as_float64(data.astronaut()[100:164, 200:280])  # (64, 80, 3)
    coeffs = wavelet.starlet(image, 3, channel_axis=-1)
    assert coeffs.shape == (4, 64, 80, 3)
    for c in range(3):
        np.testing.assert_allclose(coeffs[..., c], direct_starlet(image[..., c], 3), rtol=0, atol=1e-12)
    first = wavelet.starlet(np.moveaxis(image, -1, 0), 3, channel_axis=0)
    np.testing.assert_array_equal(np.moveaxis(first, 1, -1), coeffs)


def test_noise_std_equals_impulse_response_norms():
    """The analytic per-scale noise response equals the L2 norm of each plane's impulse response."""
    n = 5
    size = 8 * 2**n + 1
    impulse = np.zeros((size, size))
    impulse[size // 2, size // 2] = 1.0
    norms = np.sqrt((direct_starlet(impulse, n, mode="constant")[:-1] ** 2).sum(axis=(1, 2)))
    np.testing.assert_allclose(wavelet.starlet_noise_std(n), norms, rtol=1e-12)
    # Starck & Murtagh's simulated values (3 decimals).
    np.testing.assert_allclose(wavelet.starlet_noise_std(5), [0.889, 0.200, 0.086, 0.041, 0.020], atol=2.5e-3)


def test_noise_std_matches_white_noise_statistics():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(512, 512))
    coeffs = wavelet.starlet(noise, 3, mode="wrap")
    measured = coeffs[:-1].std(axis=(1, 2))
    np.testing.assert_allclose(measured, wavelet.starlet_noise_std(3), rtol=0.05)


def test_denoising_reduces_error_on_camera():
    clean = img_as_float64(data.camera()[128:384, 128:384])
    rng = np.random.default_rng(42)
    for sigma in (0.05, 0.1, 0.2):
        noisy = clean + rng.normal(0.0, sigma, clean.shape)
        denoised = wavelet.starlet_denoise(noisy, 4, 3.0)
        rmse_noisy = np.sqrt(np.mean((noisy - clean) ** 2))
        rmse_denoised = np.sqrt(np.mean((denoised - clean) ** 2))
        assert rmse_denoised < 0.85 * rmse_noisy
    # A known sigma gives the same result as a well-estimated one.
    a = wavelet.starlet_denoise(noisy, 4, sigma=0.2)
    assert np.sqrt(np.mean((a - clean) ** 2)) < 0.6 * 0.2


def test_denoising_channels_and_dtype():
    clean = img_as_float32(data.astronaut()[100:228, 200:328])
    rng = np.random.default_rng(1)
    noisy = (clean + rng.normal(0, 0.1, clean.shape)).astype(np.float32)
    denoised = wavelet.starlet_denoise(noisy, 3, channel_axis=-1)
    assert denoised.dtype == np.float32 and denoised.shape == noisy.shape
    assert np.mean((denoised - clean) ** 2) < 0.7 * np.mean((noisy - clean) ** 2)
    per_channel = np.stack([wavelet.starlet_denoise(noisy[..., c], 3) for c in range(3)], axis=-1)
    np.testing.assert_allclose(denoised, per_channel, rtol=0, atol=1e-6)


def test_denoising_with_huge_k_keeps_only_coarse_plane(camera):
    out = wavelet.starlet_denoise(camera, 2, k=1e9)
    np.testing.assert_allclose(out, wavelet.starlet(camera, 2)[-1], rtol=0, atol=1e-15)


def test_threads_give_identical_results(camera):
    np.testing.assert_array_equal(wavelet.starlet(camera, 4, num_threads=1), wavelet.starlet(camera, 4, num_threads=3))


def test_errors():
    image = np.zeros((64, 64))
    with pytest.raises(ValueError, match=r"`n_scales` must be a positive int; got 0"):
        wavelet.starlet(image, 0)
    with pytest.raises(TypeError, match=r"`n_scales` must be an int; got 2.0"):
        wavelet.starlet(image, 2.0)
    with pytest.raises(
        ValueError,
        match=r"`n_scales` is too large for an image of spatial shape \(64, 64\).*"
        r"at most 4 scales fit; got n_scales=5",
    ):
        wavelet.starlet(image, 5)
    with pytest.raises(ValueError, match=r"at most 0 scales fit; got n_scales=1"):
        wavelet.starlet(np.zeros((4, 40)), 1)
    with pytest.raises(ValueError, match=r"`mode` must be one of \['constant', .*'wrap'\]; got 'edge'"):
        wavelet.starlet(image, 2, mode="edge")
    with pytest.raises(ValueError, match=r"`channel_axis` must be in \[-3, 2\]"):
        wavelet.starlet(np.zeros((16, 16, 3)), 1, channel_axis=5)
    with pytest.raises(ValueError, match=r"`k` must be positive and finite; got -1.0"):
        wavelet.starlet_denoise(image, 2, k=-1.0)
    with pytest.raises(ValueError, match=r"`sigma` must be positive and finite; got 0.0"):
        wavelet.starlet_denoise(image, 2, sigma=0.0)
    with pytest.raises(TypeError, match=r"`sigma` must be a positive real number or None; got 'x'"):
        wavelet.starlet_denoise(image, 2, sigma="x")
    with pytest.raises(ValueError, match=r"`coeffs` must hold at least one detail plane and the coarse plane"):
        wavelet.istarlet(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=r"`coeffs` planes must all have one shape"):
        wavelet.istarlet([np.zeros((4, 4)), np.zeros((4, 5))])
    with pytest.raises(TypeError, match=r"`coeffs` must be an array or a sequence of arrays; got int"):
        wavelet.istarlet(3)
