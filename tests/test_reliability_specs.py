"""Hostile parameters and spec files: clean ValueError / TypeError, never a crash of another type.

Every case here used to end in a MemoryError, an OverflowError, a ZeroDivisionError,
a RecursionError, a hang, or a message naming the wrong parameter.  The bounds
checked are the documented ones (imgconv.kernels.MAX_KERNEL_SIZE,
imgconv.banks.MAX_BANK_TAPS, the spec limits of imgconv.pipeline); the references
are written out independently (scipy's radius formula, skimage's Gabor size).
"""

import math

import numpy as np
import pytest

from imgconv import banks, kernels

HUGE = 10 ** 400  # beyond the float range: float(HUGE) raises OverflowError


# --------------------------------------------------------------------------------------
# kernels: sizes bounded, hostile numbers refused by name
# --------------------------------------------------------------------------------------

def test_max_kernel_size_is_documented_value():
    assert kernels.MAX_KERNEL_SIZE == 4097


def test_gaussian_kernel_up_to_the_bound_is_built():
    # scipy's radius int(truncate * sigma + 0.5): sigma 512 at truncate 4 gives 2048, 4097 taps
    assert kernels.gaussian((512.0, 0.5)).shape == (4097, 5)


@pytest.mark.parametrize("sigma, truncate, size", [
    (1e9, 4.0, "8000000001"),
    (512.2, 4.0, "4099"),
    (1.0, 1e9, "2000000001"),
    (1e308, 4.0, "infinitely many"),
])
def test_gaussian_kernel_too_large_names_sigma_and_truncate(sigma, truncate, size):
    with pytest.raises(ValueError, match=rf"^`sigma` and `truncate` give a Gaussian kernel of {size} taps along an "
                                         rf"axis; imgconv builds kernels of at most 4097 taps per axis .*got sigma="):
        kernels.gaussian(sigma, truncate=truncate)


@pytest.mark.parametrize("func, args, kwargs, match", [
    (kernels.gaussian, (HUGE,), {}, r"`sigma` must be positive and finite; got an int of 401 digits"),
    (kernels.gaussian_derivative, (1.0, (1, 0)), {"theta": HUGE}, r"`theta` must be finite; got an int of 401"),
    (kernels.box, (HUGE,), {}, r"`size` must be .*at most 4097; got an int of 401 digits"),
    (kernels.box, (5000,), {}, r"`size` must be .*at most 4097; got 5000"),
    (kernels.identity, ((3, 10 ** 6),), {}, r"`size` must be .*at most 4097; got \(3, 1000000\)"),
    (kernels.log, (1.0,), {"size": 4099}, r"`size` must be an odd .*at most 4097; got 4099"),
    (kernels.log, (1e6,), {}, r"`sigma` and `truncate` give a LoG kernel of 8000001 taps"),
    (kernels.gaussian_derivative, (1.0, (1000, 0)), {}, r"`order` must be .*at most 64; got \(1000, 0\)"),
    (kernels.gaussian_derivative, ((1.0, 3e6), (1, 0)), {}, r"`sigma` and `truncate` give a Gaussian-derivative"),
])
def test_kernel_parameters_out_of_range(func, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(*args, **kwargs)


def test_tiny_sigma_gives_an_impulse_not_a_zero_division():
    # the limit of a normalised sampled Gaussian as sigma -> 0 is the unit impulse
    assert np.array_equal(kernels.gaussian(1e-300), [[1.0]])
    assert np.array_equal(kernels.gaussian(1e-300, truncate=1e300), np.outer([0, 1, 0], [0, 1, 0]))
    with pytest.raises(ValueError, match=r"^`sigma` gives a LoG kernel with non-finite values .*got sigma=1e-300"):
        kernels.log(1e-300)


def _skimage_gabor_side(frequency, bandwidth=1.0, n_stds=3.0):
    # skimage.filters.gabor_kernel at theta = 0: sigma = (1/pi) sqrt(ln 2 / 2) (2^b + 1) / (2^b - 1) / f
    sigma = 1 / math.pi * math.sqrt(math.log(2) / 2) * (2 ** bandwidth + 1) / (2 ** bandwidth - 1) / frequency
    return 2 * math.ceil(max(n_stds * sigma, 1)) + 1


@pytest.mark.parametrize("kwargs, match", [
    ({"frequency": 1e-9}, (r"^`frequency`, `bandwidth` and `n_stds` give a Gabor kernel of 3373031255 taps .*"
                           r"got frequency=1e-09, bandwidth=1.0, n_stds=3.0$")),
    ({"frequency": 0.1, "n_stds": 1e9}, r"`n_stds` give a Gabor kernel of \d+ taps"),
    ({"frequency": 0.1, "sigma_x": 1e9}, r"^`frequency`, `bandwidth`, `sigma_x` and `n_stds` give a Gabor kernel"),
    ({"frequency": 0.1, "sigma_x": 5000.0, "sigma_y": 1.0}, r"^`sigma_x`, `sigma_y` and `n_stds` give"),
    ({"frequency": 0.1, "bandwidth": 1e-300}, r"`bandwidth` and `n_stds` give a Gabor kernel of infinitely many taps"),
    ({"frequency": 1e300}, r"give Gaussian widths out of float64's range"),
    ({"frequency": 0.1, "sigma_x": 1e-300, "sigma_y": 1e-300}, r"give Gaussian widths out of float64's range"),
])
def test_gabor_kernel_too_large_or_degenerate(kwargs, match):
    assert _skimage_gabor_side(1e-9) == 3373031255  # the size named in the first message
    with pytest.raises(ValueError, match=match):
        kernels.gabor(**kwargs)


def test_gabor_huge_bandwidth_is_the_limit_not_an_overflow():
    # 2.0 ** 1e9 overflows; the bandwidth ratio (2^b + 1) / (2^b - 1) is exactly 1.0 from b = 54 on
    real_huge, _ = kernels.gabor(0.1, bandwidth=1e9)
    real_100, _ = kernels.gabor(0.1, bandwidth=100.0)
    assert np.array_equal(real_huge, real_100)
    side = _skimage_gabor_side(0.01)
    assert kernels.gabor(0.01)[0].shape == (side, side)


# --------------------------------------------------------------------------------------
# banks: supports, orientations, dilations and total taps bounded
# --------------------------------------------------------------------------------------

def test_bank_limits_are_documented_values():
    assert banks.MAX_BANK_TAPS == 2 ** 25


@pytest.mark.parametrize("func, kwargs, match", [
    (banks.leung_malik, {"support": 10 ** 6 + 1}, r"^`support` must be at most 4097 .*; got 1000001$"),
    (banks.schmid, {"support": HUGE + 1}, r"^`support` must be at most 4097 .*; got an int of 401 digits$"),
    # 48 * 837**2 = 33627312 > 2**25 = 33554432; 835 fits
    (banks.leung_malik, {"support": 837}, (r"^`support` would make a bank of 48 filters of 837x837 taps "
                                           r"\(33627312 taps\); a filter bank holds at most 33554432 taps")),
    (banks.mr8, {"support": 941}, r"^`support` would make a bank of 38 filters of 941x941"),
    (banks.gabor, {"n_orientations": 10 ** 9}, r"^`n_orientations` must be at most 360; got 1000000000$"),
    (banks.gabor, {"frequencies": [1e-9]}, (r"^`frequencies`, `bandwidth` and `n_stds` give a Gabor kernel of "
                                            r"3373031255 taps")),
    (banks.gabor, {"frequencies": [0.002] * 10}, (r"^`frequencies` and `n_orientations` would make a bank of 60 "
                                                  r"filters of 1689x1689")),
])
def test_standard_bank_sizes_bounded(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(**kwargs)


def test_bank_dilations_bounded():
    edges = banks.edges()  # 3x3: d (3 - 1) + 1 <= 4097 allows d <= 2048
    assert edges.at_dilations([2048]).dilations[0] == (2048, 2048)
    with pytest.raises(ValueError, match=r"^`rates\[0\]` must keep a dilated kernel within 4097 pixels per axis .*"
                                         r"got \(2049, 2049\), which spreads a 3x3 kernel over 4099 pixels$"):
        edges.at_dilations([2049])
    with pytest.raises(ValueError, match=r"^`dilation` must keep .*got an int of 401 digits"):
        edges.apply(np.zeros((8, 8)), dilation=HUGE)
    with pytest.raises(ValueError, match=r"^`dilation` must keep .*got 3, which spreads a 3x3 kernel over 6145"):
        edges.at_dilations([1024]).apply(np.zeros((8, 8)), dilation=3)  # 1024 * 3 * 2 + 1
    # a 1x1 kernel never spreads, but its rate still has to fit the engine's C int
    with pytest.raises(ValueError, match=r"^`dilations\[0\]` must keep .*an int of 401 digits"):
        banks.FilterBank([np.ones((1, 1))], dilations=[HUGE])


def test_bank_total_taps_bounded_before_stacking():
    # one big kernel zero-pads every small one to its size: 11 * 3000**2 taps
    with pytest.raises(ValueError, match=r"^`kernels` would make a bank of 11 filters of 3000x3000 taps \(99000000 "
                                         r"taps\).*got 11 kernels, the largest 3000x3000$"):
        banks.FilterBank([np.ones((3000, 3000))] + [np.ones((1, 1))] * 10)
    assert banks.FilterBank([np.ones((5000, 3))]).kernel_size == (5000, 3)  # given arrays are not capped in size


def test_bank_taps_beyond_float32_are_refused_not_turned_into_inf():
    bank = banks.FilterBank({"big": [[1e308]]})
    with pytest.raises(ValueError, match=r"^`kernels` must be finite in the compute dtype float32 \(magnitudes up "
                                         r"to 3\.403e\+38\); got a tap of magnitude 1e\+308$"):
        bank.apply(np.ones((4, 4), np.float32))
    # float64 images compute in float64, where 1e308 is an ordinary number
    np.testing.assert_array_equal(bank.apply(np.ones((4, 4)))[..., 0], np.full((4, 4), 1e308))
