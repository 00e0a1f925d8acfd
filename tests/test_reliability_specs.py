"""Hostile parameters and spec files: clean ValueError / TypeError, never a crash of another type.

Every case here used to end in a MemoryError, an OverflowError, a ZeroDivisionError,
a RecursionError, a hang, or a message naming the wrong parameter.  The bounds
checked are the documented ones (imgconv.kernels.MAX_KERNEL_SIZE,
imgconv.banks.MAX_BANK_TAPS, the spec limits of imgconv.pipeline); the references
are written out independently (scipy's radius formula, skimage's Gabor size).
"""

import math
import re

import numpy as np
import pytest

import imgconv
from imgconv import banks, kernels, pipeline
from imgconv.pipeline import Pipeline, Step

HUGE = 10**400  # beyond the float range: float(HUGE) raises OverflowError


# --------------------------------------------------------------------------------------
# kernels: sizes bounded, hostile numbers refused by name
# --------------------------------------------------------------------------------------


def test_max_kernel_size_is_documented_value():
    assert kernels.MAX_KERNEL_SIZE == 4097


def test_gaussian_kernel_up_to_the_bound_is_built():
    # scipy's radius int(truncate * sigma + 0.5): sigma 512 at truncate 4 gives 2048, 4097 taps
    assert kernels.gaussian((512.0, 0.5)).shape == (4097, 5)


@pytest.mark.parametrize(
    "sigma, truncate, size",
    [
        (1e9, 4.0, "8000000001"),
        (512.2, 4.0, "4099"),
        (1.0, 1e9, "2000000001"),
        (1e308, 4.0, "infinitely many"),
    ],
)
def test_gaussian_kernel_too_large_names_sigma_and_truncate(sigma, truncate, size):
    with pytest.raises(
        ValueError,
        match=rf"^`sigma` and `truncate` give a Gaussian kernel of {size} taps along an "
        rf"axis; imgconv builds kernels of at most 4097 taps per axis .*got sigma=",
    ):
        kernels.gaussian(sigma, truncate=truncate)


@pytest.mark.parametrize(
    "func, args, kwargs, match",
    [
        (kernels.gaussian, (HUGE,), {}, r"`sigma` must be positive and finite; got an int of 401 digits"),
        (kernels.gaussian_derivative, (1.0, (1, 0)), {"theta": HUGE}, r"`theta` must be finite; got an int of 401"),
        (kernels.box, (HUGE,), {}, r"`size` must be .*at most 4097; got an int of 401 digits"),
        (kernels.box, (5000,), {}, r"`size` must be .*at most 4097; got 5000"),
        (kernels.identity, ((3, 10**6),), {}, r"`size` must be .*at most 4097; got \(3, 1000000\)"),
        (kernels.log, (1.0,), {"size": 4099}, r"`size` must be an odd .*at most 4097; got 4099"),
        (kernels.log, (1e6,), {}, r"`sigma` and `truncate` give a LoG kernel of 8000001 taps"),
        (kernels.gaussian_derivative, (1.0, (1000, 0)), {}, r"`order` must be .*at most 64; got \(1000, 0\)"),
        (kernels.gaussian_derivative, ((1.0, 3e6), (1, 0)), {}, r"`sigma` and `truncate` give a Gaussian-derivative"),
    ],
)
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
    sigma = 1 / math.pi * math.sqrt(math.log(2) / 2) * (2**bandwidth + 1) / (2**bandwidth - 1) / frequency
    return 2 * math.ceil(max(n_stds * sigma, 1)) + 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"frequency": 1e-9},
            (
                r"^`frequency`, `bandwidth` and `n_stds` give a Gabor kernel of 3373031255 taps .*"
                r"got frequency=1e-09, bandwidth=1.0, n_stds=3.0$"
            ),
        ),
        ({"frequency": 0.1, "n_stds": 1e9}, r"`n_stds` give a Gabor kernel of \d+ taps"),
        ({"frequency": 0.1, "sigma_x": 1e9}, r"^`frequency`, `bandwidth`, `sigma_x` and `n_stds` give a Gabor kernel"),
        ({"frequency": 0.1, "sigma_x": 5000.0, "sigma_y": 1.0}, r"^`sigma_x`, `sigma_y` and `n_stds` give"),
        (
            {"frequency": 0.1, "bandwidth": 1e-300},
            r"`bandwidth` and `n_stds` give a Gabor kernel of infinitely many taps",
        ),
        ({"frequency": 1e300}, r"give Gaussian widths out of float64's range"),
        ({"frequency": 0.1, "sigma_x": 1e-300, "sigma_y": 1e-300}, r"give Gaussian widths out of float64's range"),
    ],
)
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
    assert banks.MAX_BANK_TAPS == 2**25


@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (banks.leung_malik, {"support": 10**6 + 1}, r"^`support` must be at most 4097 .*; got 1000001$"),
        (banks.schmid, {"support": HUGE + 1}, r"^`support` must be at most 4097 .*; got an int of 401 digits$"),
        # 48 * 837**2 = 33627312 > 2**25 = 33554432; 835 fits
        (
            banks.leung_malik,
            {"support": 837},
            (
                r"^`support` would make a bank of 48 filters of 837x837 taps "
                r"\(33627312 taps\); a filter bank holds at most 33554432 taps"
            ),
        ),
        (banks.mr8, {"support": 941}, r"^`support` would make a bank of 38 filters of 941x941"),
        (banks.gabor, {"n_orientations": 10**9}, r"^`n_orientations` must be at most 360; got 1000000000$"),
        (
            banks.gabor,
            {"frequencies": [1e-9]},
            (
                r"^`frequencies`, `bandwidth` and `n_stds` give a Gabor kernel of "
                r"3373031255 taps"
            ),
        ),
        (
            banks.gabor,
            {"frequencies": [0.002] * 10},
            (
                r"^`frequencies` and `n_orientations` would make a bank of 60 "
                r"filters of 1689x1689"
            ),
        ),
    ],
)
def test_standard_bank_sizes_bounded(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(**kwargs)


def test_bank_dilations_bounded():
    edges = banks.edges()  # 3x3: d (3 - 1) + 1 <= 4097 allows d <= 2048
    assert edges.at_dilations([2048]).dilations[0] == (2048, 2048)
    with pytest.raises(
        ValueError,
        match=r"^`rates\[0\]` must keep a dilated kernel within 4097 pixels per axis .*"
        r"got \(2049, 2049\), which spreads a 3x3 kernel over 4099 pixels$",
    ):
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
    with pytest.raises(
        ValueError,
        match=r"^`kernels` would make a bank of 11 filters of 3000x3000 taps \(99000000 "
        r"taps\).*got 11 kernels, the largest 3000x3000$",
    ):
        banks.FilterBank([np.ones((3000, 3000))] + [np.ones((1, 1))] * 10)
    assert banks.FilterBank([np.ones((5000, 3))]).kernel_size == (5000, 3)  # given arrays are not capped in size


def test_bank_taps_beyond_float32_are_refused_not_turned_into_inf():
    bank = banks.FilterBank({"big": [[1e308]]})
    with pytest.raises(
        ValueError,
        match=r"^`kernels` must be finite in the compute dtype float32 \(magnitudes up "
        r"to 3\.403e\+38\); got a tap of magnitude 1e\+308$",
    ):
        bank.apply(np.ones((4, 4), np.float32))
    # float64 images compute in float64, where 1e308 is an ordinary number
    np.testing.assert_array_equal(bank.apply(np.ones((4, 4)))[..., 0], np.full((4, 4), 1e308))


# --------------------------------------------------------------------------------------
# pipeline spec files: every bad file a ValueError (or OSError) naming it
# --------------------------------------------------------------------------------------


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, r"^spec '.*deep\.json' nests lists and mappings too deeply"),
        ("deepd.json", '{"a":' * 100_000 + "1" + "}" * 100_000, r"^spec '.*deepd\.json' nests lists and mappings"),
        # 4000 digits: under Python's 4300-digit limit, over the float range
        (
            "int4000.json",
            '{"steps": [{"step": "gaussian", "sigma": ' + "1" * 4000 + "}]}",
            (
                r"^spec '.*int4000\.json': the integer 11111111111111111111\.\.\. \(4000 characters\) "
                r"is beyond the float range"
            ),
        ),
        (
            "int5000.json",
            '{"steps": [{"step": "gaussian", "sigma": ' + "1" * 5000 + "}]}",
            r"^spec '.*int5000\.json': the integer .*\(5000 characters\) is beyond the float range",
        ),
        (
            "float5000.json",
            '{"steps": [{"step": "gaussian", "sigma": ' + "1" * 5000 + ".5}]}",
            r"^spec '.*float5000\.json': the number .*\(5002 characters\) is beyond the float range",
        ),
        (
            "e400.json",
            '{"steps": [{"step": "clip", "min": -1e400}]}',
            r"^spec '.*e400\.json': the number -1e400 is beyond the float range",
        ),
        (
            "latin1.json",
            '{"steps": ["abs"], "note": "café"}'.encode("latin-1"),
            r"^spec '.*latin1\.json' is not UTF-8 text: byte 0xe9 at offset 31",
        ),
        ("utf16.json", '{"steps": ["abs"]}'.encode("utf-16"), r"^spec '.*utf16\.json' is not UTF-8 text"),
        ("empty.json", "", r"^spec '.*empty\.json' is empty"),
        ("blank.json", " \n\t\n", r"^spec '.*blank\.json' is empty"),
        (
            "nan.json",
            '{"steps": [{"step": "gaussian", "sigma": NaN}]}',
            r"^step 0 \('gaussian'\): `sigma` must be finite \(JSON has no NaN or infinity.*got nan$",
        ),
        (
            "inf.json",
            '{"steps": [{"step": "clip", "min": -Infinity}]}',
            (
                r"^step 0 \('clip'\): `min` must be a finite "
                r"number; got -inf$"
            ),
        ),
    ],
)
def test_bad_json_spec_files_give_one_clean_value_error(tmp_path, name, content, match):
    with pytest.raises(ValueError, match=match):
        Pipeline.from_spec(_write(tmp_path, name, content))


def test_spec_directory_and_oversized_file(tmp_path, monkeypatch):
    with pytest.raises(IsADirectoryError, match=r"`spec` must be a JSON or YAML file, not a directory"):
        Pipeline.from_spec(tmp_path)
    path = _write(tmp_path, "big.json", '{"steps": ["abs", "abs", "abs"]}')
    monkeypatch.setattr(pipeline._spec, "MAX_SPEC_BYTES", 16)  # the bound is read as the file is read
    with pytest.raises(ValueError, match=r"^spec '.*big\.json' is larger than 16 bytes"):
        Pipeline.from_spec(path)


def test_spec_limits_are_documented_values():
    assert (pipeline.MAX_SPEC_BYTES, pipeline.MAX_SPEC_DEPTH, pipeline.MAX_SPEC_VALUES) == (2**26, 32, 2**22)


def test_utf8_bom_is_accepted(tmp_path):
    path = _write(tmp_path, "bom.json", b'\xef\xbb\xbf{"steps": ["abs"]}')
    assert Pipeline.from_spec(path) == Pipeline(["abs"])


def test_bad_yaml_spec_files(tmp_path):
    pytest.importorskip("yaml")
    with pytest.raises(ValueError, match=r"^spec '.*deep\.yaml' nests lists and mappings too deeply"):
        Pipeline.from_spec(_write(tmp_path, "deep.yaml", "[" * 100_000 + "]" * 100_000))
    with pytest.raises(ValueError, match=r"^spec '.*note\.yaml' holds no data"):
        Pipeline.from_spec(_write(tmp_path, "note.yaml", "# only a comment\n"))
    with pytest.raises(ValueError, match=r"^spec '.*big\.yml' is not valid YAML: .*4300 digits"):
        Pipeline.from_spec(_write(tmp_path, "big.yml", "steps:\n- step: clip\n  min: " + "1" * 5000 + "\n"))
    # aliases share one list: 10 ** 8 values once expanded, from a file of 400 bytes
    bomb = (
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("abcdefg", "bcdefgh"))
        + "steps: []\n"
    )
    with pytest.raises(ValueError, match=r"^spec '.*bomb\.yaml' holds more than 4194304 values"):
        Pipeline.from_spec(_write(tmp_path, "bomb.yaml", bomb))


# --------------------------------------------------------------------------------------
# pipeline spec mappings and steps: hostile values named
# --------------------------------------------------------------------------------------


def test_deep_and_cyclic_mappings():
    deep = 1.0
    for _ in range(100_000):  # built in a loop: far deeper than Python's recursion limit
        deep = {"a": deep}
    with pytest.raises(ValueError, match=r"^spec nests lists and mappings more than 32 levels deep"):
        Pipeline.from_spec({"steps": [{"step": "clip", "min": deep}]})
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match=r"^spec nests lists and mappings more than 32 levels deep .*contains itself"):
        Pipeline.from_spec({"steps": cycle})
    with pytest.raises(ValueError, match=r"^`kwargs` must nest lists and mappings at most 32"):
        Step("callable", function=np.abs, kwargs={"a": cycle})
    # a list used twice is measured once and is no cycle
    shared = [[1.0, 2.0]]
    assert len(Pipeline.from_spec({"steps": [{"step": "conv2d", "weight": shared}] * 2})) == 2
    # a Step built from Python is held to the same depth
    with pytest.raises(ValueError, match=r"^step 0 \('gaussian'\): `sigma` must nest lists and mappings at most 32"):
        Pipeline([("gaussian", {"sigma": deep})])


@pytest.mark.parametrize(
    "step, exc, match",
    [
        # numbers of 5000 digits: str() of them would raise; they are shown by their length
        (
            {"step": "gaussian", "sigma": 10**4999},
            ValueError,
            r"^step 0 \('gaussian'\): `sigma` must be a number within the float range .*; got an int of 5000 digits$",
        ),
        (
            {"step": "clip", "min": -(10**4999)},
            ValueError,
            (
                r"^step 0 \('clip'\): `min` must be a finite number; got an "
                r"int of 5000 digits$"
            ),
        ),
        (
            {"step": "bank", "name": "edges", "cval": HUGE},
            ValueError,
            r"`cval` must be a finite number; got an int of 401",
        ),
        (
            {"step": "rescale_intensity", "out_range": [0, HUGE]},
            ValueError,
            r"`out_range\[1\]` must be a finite number",
        ),
        (
            {"step": "starlet_denoise", "k": HUGE},
            ValueError,
            r"`k` must be a positive number; got an int of 401 digits",
        ),
        (
            {"step": "bank", "name": "edges", "channel_axis": HUGE},
            ValueError,
            r"`channel_axis` must be an int in \[-3, 2\] or None; got an int of 401 digits",
        ),
        ({"step": "gaussian", "sigma": float("inf")}, ValueError, r"`sigma` must be finite .*; got inf$"),
        ({"step": "clip", "max": float("nan")}, ValueError, r"`max` must be a finite number; got nan$"),
        # strings where numbers are expected
        (
            {"step": "clip", "min": "0"},
            TypeError,
            r"^step 0 \('clip'\): `min` must be a finite number or None; got '0'",
        ),
        ({"step": "gaussian", "sigma": "2"}, TypeError, r"`sigma` must be a non-negative number .*; got '2'"),
        ({"step": "conv2d", "weight": "abc"}, TypeError, r"`weight` must be nested lists of numbers"),
        (
            {"step": "conv2d", "weight": [[[[1.0]]]], "bias": ["b"]},
            TypeError,
            r"`bias` must be nested lists of numbers",
        ),
        (
            {"step": "bank", "name": "edges", "dilations": "2"},
            TypeError,
            r"`dilations` must be a list of positive ints",
        ),
        ({"step": "starlet", "n_scales": "3"}, TypeError, r"`n_scales` must be an int; got '3'"),
        ({"step": "clip", "min": 0, "max": -1e308}, ValueError, r"`min` must not exceed `max`"),
    ],
)
def test_hostile_parameter_values_are_named(step, exc, match):
    with pytest.raises(exc, match=match):
        Pipeline.from_spec([step])


def _scipy_radius(sigma, truncate=4.0):
    return int(truncate * sigma + 0.5)  # scipy.ndimage.gaussian_filter1d


@pytest.mark.parametrize(
    "step, match",
    [
        (
            {"step": "gaussian", "sigma": 1e9},
            (
                rf"^step 0 \('gaussian'\): `sigma` and `truncate` give a gaussian kernel of "
                rf"{2 * _scipy_radius(1e9) + 1} taps along an axis; imgconv builds kernels of at most 4097 taps "
                r"per axis \(imgconv\.kernels\.MAX_KERNEL_SIZE\); "
                r"got sigma=1000000000\.0, truncate=4\.0$"
            ),
        ),
        ({"step": "gaussian", "sigma": [1.0, 600.0]}, rf"give a gaussian kernel of {2 * _scipy_radius(600) + 1} taps"),
        ({"step": "gaussian", "truncate": 1e9}, r"got sigma=1\.0, truncate=1000000000\.0$"),
        (
            {"step": "difference_of_gaussians", "low_sigma": 1e9},  # high_sigma = 1.6 low_sigma
            rf"`low_sigma` and `truncate` give a difference_of_gaussians kernel of {2 * _scipy_radius(1.6e9) + 1} taps",
        ),
        ({"step": "difference_of_gaussians", "low_sigma": 1, "high_sigma": 1e6}, r"`high_sigma` and `truncate` give"),
        (
            {"step": "gabor", "frequency": 1e-9},
            r"`frequency`, `bandwidth` and `n_stds` give a gabor kernel of 3373031255 ",
        ),
        (
            {"step": "gabor", "frequency": 0.1, "n_stds": 1e9},
            r"`frequency`, `bandwidth` and `n_stds` give a gabor kernel",
        ),
        (
            {"step": "bank", "name": "gabor", "options": {"frequencies": [1e-9]}},
            r"give a Gabor kernel of 3373031255 taps",
        ),
        (
            {"step": "bank", "name": "leung_malik", "options": {"support": 10**6 + 1}},
            r"`support` must be at most 4097 .*; got 1000001$",
        ),
        (
            {"step": "bank", "name": "gabor", "options": {"n_orientations": 10**9}},
            r"`n_orientations` must be at most 360",
        ),
    ],
)
def test_kernels_too_large_for_the_bound(step, match):
    with pytest.raises(ValueError, match=match):
        Pipeline.from_spec([step])


@pytest.mark.parametrize(
    "step, match",
    [
        (
            {"step": "sobel", "dilation": 10**6},
            (
                r"^step 0 \('sobel'\): `dilation` must keep a dilated kernel within 4097 "
                r"pixels per axis .*got 1000000, which spreads a 3x3 kernel over "
                r"2000001"
            ),
        ),
        ({"step": "sobel", "dilation": 2049}, r"`dilation` must keep .*got 2049, which spreads a 3x3 kernel over 4099"),
        (
            {"step": "gaussian", "sigma": 100, "dilation": 11},
            r"`dilation` must keep .*spreads a 801x801 kernel over 8801",
        ),
        ({"step": "sobel", "dilation": HUGE}, r"`dilation` must be a number within the float range"),
        ({"step": "bank", "name": "edges", "dilations": [1, 10**6]}, r"`rates\[1\]` must keep a dilated kernel"),
        ({"step": "bank", "kernels": {"k": [[1.0]]}, "kernel_dilations": [HUGE]}, r"`dilations\[0\]` must keep"),
        ({"step": "conv2d", "weight": [[1.0, 2.0]], "dilation": HUGE}, r"`dilation` must keep .*an int of 401 digits"),
        ({"step": "conv2d", "weight": [[1.0, 2.0]], "dilation": [1, 4097]}, r"`dilation` must keep .*over 4098 pixels"),
        ({"step": "conv2d", "weight": [[1.0]], "stride": HUGE}, r"`stride` must be .*at most 4097; got an int of 401"),
        ({"step": "conv2d", "weight": [[1.0]], "padding": [0, 10**6]}, r"`padding` must be at most 4097 per side"),
        ({"step": "conv2d", "weight": [[[[1.0]]]], "groups": HUGE}, r"divisible by groups=an int of 401 digits"),
        (
            {"step": "starlet", "n_scales": 12},
            r"^step 0 \('starlet'\): `n_scales` must be an int in \[1, 11\]; got 12$",
        ),
        ({"step": "starlet_denoise", "n_scales": HUGE}, r"`n_scales` must be an int in \[1, 11\]; got an int of 401"),
    ],
)
def test_dilations_strides_and_scales_bounded(step, match):
    with pytest.raises(ValueError, match=match):
        Pipeline.from_spec([step])


def test_bounds_admit_their_edge():
    # halo = d * radius: the largest sobel dilation and Gaussian within MAX_KERNEL_SIZE
    assert Pipeline.from_spec([{"step": "sobel", "dilation": 2048}]).halo == (2048, 2048)
    assert Pipeline.from_spec([{"step": "gaussian", "sigma": 512}]).halo == (_scipy_radius(512),) * 2
    assert Pipeline.from_spec([{"step": "sobel", "dilation": [3]}]).halo == (3, 3)  # a 1-list
    # starlet halo 2 (2**J - 1) at the largest J
    assert Pipeline.from_spec([{"step": "starlet", "n_scales": 11}]).halo == (2 * (2**11 - 1),) * 2


def test_a_vanishing_sigma_step_is_the_identity():
    # imgconv.filters.gaussian once divided by sigma**2, which is 0.0 for sigma = 1e-300
    x = np.random.default_rng(1).random((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(Pipeline.from_spec([{"step": "gaussian", "sigma": 1e-300}])(x), x)


# --------------------------------------------------------------------------------------
# conv2d step: weights finite in the compute dtype
# --------------------------------------------------------------------------------------


def test_conv2d_weight_overflowing_float32_is_refused():
    with pytest.raises(
        ValueError,
        match=r"^step 0 \('conv2d'\): `weight` must be finite in the compute dtype "
        r"float32 \(magnitudes up to 3\.403e\+38\); got a value of magnitude "
        r"1e\+308$",
    ):
        Pipeline.from_spec([{"step": "conv2d", "weight": [[1e308]]}])
    with pytest.raises(ValueError, match=r"`bias` must be finite in the compute dtype float32 .*magnitude 1e\+39$"):
        Pipeline.from_spec([{"step": "conv2d", "weight": [[[[1.0]]]], "bias": [1e39]}])
    # float64 holds 1e308: the output is the image times 1e308, finite
    image = np.full((3, 4), 0.5)
    out = Pipeline.from_spec([{"step": "conv2d", "weight": [[1e308]], "dtype": "float64"}])(image)
    np.testing.assert_array_equal(out, image * 1e308)
    # the largest float32 still works
    big = float(np.finfo(np.float32).max)
    out = Pipeline.from_spec([{"step": "conv2d", "weight": [[big]]}])(np.ones((2, 2), np.float32))
    assert out.dtype == np.float32 and np.all(out == np.float32(big))


# --------------------------------------------------------------------------------------
# fingerprints: numbers by value, key order and tuples irrelevant, bools distinct
# --------------------------------------------------------------------------------------


def user_step(image, **kwargs):
    return image


def _fingerprint(steps):
    return Pipeline.from_spec(steps, allow_callables=True).fingerprint()


@pytest.mark.parametrize(
    "a, b",
    [
        ([{"step": "gaussian", "sigma": 2}], [{"step": "gaussian", "sigma": 2.0}]),
        ([{"step": "gaussian", "sigma": [1, 2]}], [{"step": "gaussian", "sigma": (1.0, 2.0)}]),
        ([{"step": "conv2d", "weight": [[1, 2], [3, 4]]}], [{"step": "conv2d", "weight": ((1.0, 2.0), (3.0, 4.0))}]),
        ([{"step": "clip", "min": 0, "max": 1}], [{"step": "clip", "max": 1.0, "min": -0.0}]),
        (
            [
                {
                    "step": "callable",
                    "function": "test_reliability_specs:user_step",
                    "kwargs": {"outer": {"b": [1, 2.5], "a": 3}, "z": 1},
                }
            ],
            [
                {
                    "kwargs": {"z": 1.0, "outer": {"a": 3.0, "b": (1.0, 2.5)}},
                    "function": "test_reliability_specs:user_step",
                    "step": "callable",
                }
            ],
        ),
    ],
)
def test_fingerprint_is_canonical(a, b):
    assert _fingerprint(a) == _fingerprint(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ([{"step": "gaussian", "sigma": 2}], [{"step": "gaussian", "sigma": 2.5}]),
        # True == 1 in Python, but a flag and a count are different settings
        (
            [{"step": "callable", "function": "test_reliability_specs:user_step", "kwargs": {"x": True}}],
            [{"step": "callable", "function": "test_reliability_specs:user_step", "kwargs": {"x": 1}}],
        ),
        (
            [{"step": "callable", "function": "test_reliability_specs:user_step", "kwargs": {"x": False}}],
            [{"step": "callable", "function": "test_reliability_specs:user_step", "kwargs": {"x": 0.0}}],
        ),
        # 2**53 + 1 is no float: the int stays exact, unlike a float that would round it
        (
            [{"step": "callable", "function": "test_reliability_specs:user_step", "kwargs": {"x": 2**53 + 1}}],
            [{"step": "callable", "function": "test_reliability_specs:user_step", "kwargs": {"x": 2**53}}],
        ),
    ],
)
def test_fingerprint_tells_different_settings_apart(a, b):
    assert _fingerprint(a) != _fingerprint(b)


def test_fingerprint_of_spec_round_trip_is_stable(tmp_path):
    pipe = Pipeline.from_spec([{"step": "gaussian", "sigma": 2}, {"step": "bank", "name": "edges", "cval": 1}])
    path = tmp_path / "spec.json"
    pipe.to_spec(path)
    assert Pipeline.from_spec(path).fingerprint() == pipe.fingerprint()
    assert (
        Pipeline.from_spec(
            [{"step": "gaussian", "sigma": 2.0}, {"step": "bank", "name": "edges", "cval": 1.0}]
        ).fingerprint()
        == pipe.fingerprint()
    )


# --------------------------------------------------------------------------------------
# imgconv.sepconv2d and imgconv.Conv2d: messages name the parameter at fault
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, row, name",
    [
        (np.zeros(0), np.ones(3), "column"),
        (np.ones(3), np.zeros(0), "row"),
        (np.zeros((2, 0)), np.ones(3), "column"),
    ],
)
def test_sepconv2d_empty_factor_is_named(column, row, name):
    x = np.zeros((2, 8, 8))
    shape = re.escape(str(np.shape(column if name == "column" else row)))
    with pytest.raises(ValueError, match=rf"^`{name}` must have at least one tap; got shape {shape}$"):
        imgconv.sepconv2d(x, column, row)


@pytest.mark.parametrize(
    "dtype, shown",
    [
        ("int8", "int8"),
        (object, "object"),
        (np.int32, "int32"),
        ("float16", "float16"),
        ("nonsense", "'nonsense'"),
        (5, "5"),
        (None, "None"),
        ("i4,", "[('f0', '<i4')]"),
    ],
)
def test_conv2d_layer_bad_dtype_is_named(dtype, shown):
    with pytest.raises(TypeError, match=rf"^`dtype` must be float32 or float64; got {re.escape(shown)}$"):
        imgconv.Conv2d(1, 1, 3, dtype=dtype)


@pytest.mark.parametrize(
    "seed, exc, shown",
    [
        ("abc", TypeError, "'abc' of type str"),
        (1.5, TypeError, "1.5 of type float"),
        (True, TypeError, "True of type bool"),
        ([1, 2], TypeError, "(1, 2) of type list"),
        (-1, ValueError, "-1"),
    ],
)
def test_conv2d_layer_bad_seed_is_named(seed, exc, shown):
    with pytest.raises(
        exc,
        match=rf"^`seed` must be None, a non-negative int or a numpy\.random\.Generator; got "
        rf"{re.escape(shown)}$",
    ):
        imgconv.Conv2d(1, 1, 3, seed=seed)


def test_conv2d_layer_good_seeds_and_dtypes():
    a = imgconv.Conv2d(2, 3, 3, seed=np.uint32(7), dtype="float64")
    b = imgconv.Conv2d(2, 3, 3, seed=np.random.default_rng(7), dtype=np.float64)
    assert a.dtype == np.float64 and np.array_equal(a.weight, b.weight)
    assert imgconv.Conv2d(1, 1, 3, seed=10**40).weight.dtype == np.float32


@pytest.mark.parametrize(
    "call",
    [
        lambda x: imgconv.filters.gaussian(x, 1e9),
        lambda x: imgconv.filters.gaussian(x, 2.0, truncate=1e12),
        lambda x: imgconv.filters.difference_of_gaussians(x, 1, 1e9),
    ],
)
def test_filters_refuse_huge_gaussians_before_allocating(call):
    with pytest.raises(ValueError, match=r"gives? a Gaussian kernel of .* taps along an axis"):
        call(np.zeros((8, 8)))


def test_filters_gaussian_of_a_vanishing_sigma_is_the_identity():
    x = np.random.default_rng(0).random((6, 7))
    np.testing.assert_array_equal(imgconv.filters.gaussian(x, 1e-300), x)
