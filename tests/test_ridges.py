"""imgconv's ridge filters (sato, meijering, frangi, hessian) against scikit-image 0.26."""

import numpy as np
import pytest

pytest.importorskip("skimage")
from skimage import data  # noqa: E402
from skimage import filters as sk_filters  # noqa: E402

from imgconv import _ridges as ridges  # noqa: E402

FUNCS = ["sato", "meijering", "frangi", "hessian"]


def _images():
    rng = np.random.default_rng(7)
    return {
        "camera": data.camera()[150:278, 100:260] / 255.0,
        "astronaut": data.astronaut()[50:178, 200:320, 0] / 255.0,
        "random2d": rng.random((50, 43)),
        "random3d": rng.random((14, 17, 15)),
    }


IMAGES = _images()


def _err(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-300)


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("black_ridges", [True, False])
def test_ridge_filters(name, dtype, func, black_ridges):
    image = IMAGES[name].astype(dtype)
    kwargs = dict(sigmas=[0.8, 2, 3.5], black_ridges=black_ridges)
    actual = getattr(ridges, func)(image, **kwargs)
    expected = getattr(sk_filters, func)(image, **kwargs)
    assert actual.dtype == expected.dtype
    tol = 1e-10 if dtype == np.float64 else 1e-6
    assert _err(actual, expected) <= tol


@pytest.mark.parametrize("func", FUNCS)
def test_ridge_filters_of_a_whole_photograph_at_default_scales(func):
    # the criterion on a real photograph (float32, sigmas 1, 3, ..., 9: kernels up to 103 taps):
    # summed in float32, meijering was 4e-4 off here and hessian flipped pixels at 2048 x 2048
    image = (data.camera() / 255.0).astype(np.float32)
    actual = getattr(ridges, func)(image)
    expected = getattr(sk_filters, func)(image)
    assert actual.dtype == expected.dtype
    assert _err(actual, expected) <= 1e-6


@pytest.mark.parametrize("func", FUNCS)
def test_float32_ridge_filters_are_scikit_images_bit_for_bit(func):
    # the Hessian's passes are summed in float64 with scipy's pairing of the taps and rounded to float32
    # once per pass, as scipy's gaussian_filter: what follows (eigenvalues, the filter) then sees the
    # same float32 Hessian as scikit-image
    image = (data.camera()[::2, ::2] / 255.0).astype(np.float32)
    np.testing.assert_array_equal(getattr(ridges, func)(image), getattr(sk_filters, func)(image))


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("mode", ["constant", "nearest", "mirror", "wrap"])
def test_ridge_modes(func, mode):
    image = IMAGES["camera"]
    actual = getattr(ridges, func)(image, sigmas=[1, 3], mode=mode, cval=0.2)
    expected = getattr(sk_filters, func)(image, sigmas=[1, 3], mode=mode, cval=0.2)
    assert _err(actual, expected) <= 1e-10


def test_integer_images_are_not_rescaled():
    image = data.camera()[:64, :64]
    assert _err(ridges.hessian(image, sigmas=[1, 2]), sk_filters.hessian(image, sigmas=[1, 2])) <= 1e-10


def test_threads_agree():
    image = IMAGES["camera"]
    assert np.array_equal(ridges.frangi(image, num_threads=1), ridges.frangi(image, num_threads=2))


def test_bad_dimensions():
    with pytest.raises(ValueError, match="image"):
        ridges.sato(np.zeros((3, 3, 3, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_magnitude_ordering_equals_numpys_argsort_and_argmax(dtype):
    # the 2-eigenvalue shortcuts of frangi and meijering against the argsort / argmax they replace:
    # ties (stable order), signed zeros, infinities and NaN (last in argsort, first in argmax)
    from imgconv._ridges import _by_magnitude, _largest_magnitude

    rng = np.random.default_rng(1)
    e = rng.standard_normal((2, 60, 70)).astype(dtype)
    e[0, :5], e[1, 3:8] = np.nan, np.nan
    e[1, 10:20] = -e[0, 10:20]
    e[0, 20:30], e[1, 20:30] = 0.0, -0.0
    e[:, 40, :5], e[1, 41] = np.inf, -np.inf
    for got, want in [
        (_by_magnitude(e), np.take_along_axis(e, abs(e).argsort(0), 0)),
        (_largest_magnitude(e), np.take_along_axis(e, abs(e).argmax(0)[None], 0).squeeze(0)),
    ]:
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    e3 = rng.standard_normal((3, 9, 8)).astype(dtype)  # 3-D images keep numpy's own calls
    np.testing.assert_array_equal(_by_magnitude(e3), np.take_along_axis(e3, abs(e3).argsort(0), 0))
