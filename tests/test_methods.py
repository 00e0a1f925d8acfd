"""Every algorithm of the engine (direct, separable, FFT) and its planner against the float64 reference.

Tolerances are the spec's (shared/spec/conv2d-semantics.md, issue #13): float32
within ``2e-5 * scale * sqrt(taps)`` and float64 within ``1e-10 * scale``, where
``scale`` is the largest sum of absolute terms (``reference_bound``) in the output
plane and ``taps`` the multiply-adds per output.  An FFT's rounding error spreads
over a whole tile, so it is bounded by the plane's scale, not by each output's.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgconv
from imgconv import _engine, _fft, banks, filters
from imgconv._shared import modes
from imgconv._shared.geometry import output_size

from _reference import reference_bound, reference_correlate

MODES = _engine.ENGINE_MODES
PATHS = ("direct", "fft")


def _check(got, x, w, b, kwargs):
    """`got` equals the float64 reference to the spec's tolerance for its dtype."""
    want = reference_correlate(x, w, b, **kwargs)
    assert got.shape == want.shape
    bound = reference_bound(x, w, **kwargs)
    if b is not None:
        bound = bound + np.abs(np.asarray(b, np.float64))[None, :, None, None]
    scale = bound.max(axis=(2, 3), keepdims=True) + 1e-300
    taps = w.shape[1] * w.shape[2] * w.shape[3] + 1
    if got.dtype == np.float32:
        tol = 2e-5 * scale * np.sqrt(taps)
    else:
        tol = 1e-10 * scale
    err = np.abs(got.astype(np.float64) - want)
    assert np.all(err <= tol), f"max error {err.max():.3g}, tolerance {tol.min():.3g}"


def _arrays(rng, n, c, h, w, o, cg, kh, kw, dtype, bias):
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, cg, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, wt, b


CASES = [  # stride, dilation, groups
    ((1, 1), (1, 1), 1),
    ((2, 3), (1, 1), 1),
    ((1, 1), (2, 3), 2),
    ((2, 2), (2, 2), 1),  # every stride phase but one is empty
    ((3, 2), (2, 1), 3),
    ((1, 1), (1, 1), 6),  # depthwise
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride, dilation, groups", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_path_matches_the_reference(path, mode, stride, dilation, groups, dtype):
    rng = np.random.default_rng(hash((path, mode, stride, dilation, groups)) % 2**32)
    x, w, b = _arrays(rng, 2, 6, 23, 37, 6, 6 // groups, 4, 5, dtype, bias=groups != 2)
    # Pads wider than the image on one side: numpy.pad's repeated reflection / wrapping.
    kwargs = {
        "pads": (3, 5, 40, 2),
        "mode": mode,
        "cval": 1.5,
        "stride": stride,
        "dilation": dilation,
        "groups": groups,
    }
    got = _engine.correlate(x, w, b, method=path, **kwargs)
    assert got.dtype == dtype
    _check(got, x, w, b, kwargs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tile", [(16, 16), (24, 20), (20, 64)])
def test_fft_tiles_overlap_and_save(mode, tile):
    """Several tiles per axis, partial last tiles, batches of tiles: each output once, exactly."""
    rng = np.random.default_rng(3)
    x, w, b = _arrays(rng, 2, 3, 45, 71, 5, 3, 7, 6, np.float32, bias=True)
    kwargs = {"pads": (3, 3, 2, 3), "mode": mode, "cval": -2.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    got = _fft.correlate(x, w, b, num_threads=2, tile_shape=tile, **kwargs)
    _check(got, x, w, b, kwargs)


@pytest.mark.parametrize(
    "shape, tile",
    [
        ((1, 2, 30, 40, 12, 1), None),  # one tile, 2 groups of 6 filters: the threads share the filters
        ((2, 3, 45, 71, 5, 3), (16, 16)),  # 2 images x many tiles: the threads share the batches of tiles
    ],
)
def test_fft_threads_share_tiles_or_filters_with_the_single_thread_result(shape, tile):
    """Threads run whole tiles or whole filters with single-threaded transforms: the same sums as one thread."""
    n, c, h, w_, o, cg = shape
    rng = np.random.default_rng(5)
    x, w, b = _arrays(rng, n, c, h, w_, o, cg, 7, 6, np.float32, bias=True)
    kwargs = {"pads": (3, 3, 2, 3), "mode": "reflect", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1)}
    kwargs["groups"] = c // cg
    one = _fft.correlate(x, w, b, num_threads=1, tile_shape=tile, **kwargs)
    _check(one, x, w, b, kwargs)
    out = np.full_like(one, np.nan)
    two = _fft.correlate(x, w, b, num_threads=2, tile_shape=tile, out=out, **kwargs)
    assert two is out
    np.testing.assert_array_equal(two, one)


def test_fft_batches_smaller_than_the_tile_count(monkeypatch):
    """A small batch budget: tiles go through the transforms a few at a time."""
    monkeypatch.setattr(_fft, "_BATCH_BYTES", 20000)
    rng = np.random.default_rng(4)
    x, w, b = _arrays(rng, 1, 2, 50, 50, 9, 2, 5, 5, np.float64, bias=True)
    kwargs = {"pads": (2, 2, 2, 2), "mode": "reflect", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    _check(_fft.correlate(x, w, b, num_threads=1, tile_shape=(16, 16), **kwargs), x, w, b, kwargs)


def test_fft_buffers_kept_between_calls_never_leak_into_the_next():
    """The tile buffers are kept between calls (scratch pool): a NaN an earlier call left is never read.

    The first call's tiles are all whole, so its NaN input fills the whole of every
    tile buffer; the second call's tiles are partial, so its circular wrap must read
    zeros it wrote itself.
    """
    rng = np.random.default_rng(6)
    kwargs = {"pads": (4, 4, 4, 4), "mode": "constant", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    w = rng.standard_normal((3, 2, 9, 9)).astype(np.float32)
    tile = (96, 128)  # 88 x 120 outputs a tile; 2 channels x 4 tiles: a pooled buffer (over 64 KB)
    nan = np.full((1, 2, 176, 240), np.nan, np.float32)
    assert np.isnan(_fft.correlate(nan, w, num_threads=1, tile_shape=tile, **kwargs)).all()
    x = rng.standard_normal((1, 2, 100, 130)).astype(np.float32)
    _check(_fft.correlate(x, w, num_threads=1, tile_shape=tile, **kwargs), x, w, None, kwargs)


def test_fft_wall_time_counts_the_rounds_of_batches_on_each_thread():
    """3 equal batches on 2 threads take 2 rounds (the model of ``plan_tiles``), as long as 4; one thread 3."""
    tile_bytes = _fft._BATCH_BYTES  # one tile a batch
    two = [_fft._wall_ns(tiles, 1e6, tile_bytes, 1, 2) for tiles in (2, 3, 4)]
    assert two[0] < two[1] == two[2]
    assert _fft._wall_ns(3, 1e6, tile_bytes, 1, 1) == 3e6


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("pixels", [np.uint8, np.uint16])
@pytest.mark.parametrize("mode, cval", [("constant", 0.0), ("constant", 0.25), ("symmetric", 0.0)])
def test_integer_pixels_with_scale(path, pixels, mode, cval):
    rng = np.random.default_rng(5)
    top = np.iinfo(pixels).max
    x = rng.integers(0, top + 1, (1, 2, 30, 41)).astype(pixels)
    w = rng.standard_normal((3, 2, 9, 9)).astype(np.float32)
    scale = 1.0 / top
    kwargs = {"pads": (4, 4, 4, 4), "mode": mode, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    got = _engine.correlate(x, w, cval=cval, scale=scale, method=path, **kwargs)
    assert got.dtype == np.float32
    _check(got, x * scale, w, None, dict(kwargs, cval=cval))


@pytest.mark.parametrize("path", PATHS)
def test_out_is_filled_and_returned(path):
    rng = np.random.default_rng(6)
    x, w, b = _arrays(rng, 2, 2, 20, 30, 4, 2, 9, 9, np.float32, bias=True)
    kwargs = {"pads": (4, 4, 4, 4), "mode": "edge", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    out = np.full((2, 4, 20, 30), np.nan, np.float32)
    got = _engine.correlate(x, w, b, out=out, method=path, **kwargs)
    assert got is out
    _check(out, x, w, b, kwargs)


def test_huge_pads_and_dilation_on_a_tiny_image():
    rng = np.random.default_rng(7)
    x, w, _b = _arrays(rng, 1, 1, 3, 4, 2, 1, 3, 3, np.float64, bias=False)
    for mode in MODES:
        kwargs = {"pads": (20, 7, 9, 30), "mode": mode, "cval": 3.0, "stride": (3, 2), "dilation": (5, 7), "groups": 1}
        _check(_engine.correlate(x, w, method="fft", **kwargs), x, w, None, kwargs)


@st.composite
def configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    h, w = draw(st.integers(1, 30)), draw(st.integers(1, 40))
    pads = tuple(draw(st.integers(0, 2 * max(h, w) + 3)) for _ in range(4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    kh, kw = max(1, min(kh, (hp - 1) // dh + 1)), max(1, min(kw, (wp - 1) // dw + 1))
    return {
        "n": draw(st.integers(1, 2)),
        "groups": groups,
        "cg": cg,
        "og": og,
        "h": h,
        "w": w,
        "kh": kh,
        "kw": kw,
        "kwargs": {
            "pads": pads,
            "mode": draw(st.sampled_from(MODES)),
            "cval": draw(st.sampled_from([0.0, 1.5, -2.0])),
            "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
            "dilation": (dh, dw),
            "groups": groups,
        },
        "dtype": draw(st.sampled_from([np.float32, np.float64])),
        "bias": draw(st.booleans()),
        "method": draw(st.sampled_from(["auto", "direct", "fft", "fft-tiled"])),
        "threads": draw(st.sampled_from([1, 2])),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), seed=st.integers(0, 2**32 - 1))
def test_property_every_method_matches_the_reference(cfg, seed):
    rng = np.random.default_rng(seed)
    c, o = cfg["cg"] * cfg["groups"], cfg["og"] * cfg["groups"]
    x, w, b = _arrays(
        rng, cfg["n"], c, cfg["h"], cfg["w"], o, cfg["cg"], cfg["kh"], cfg["kw"], cfg["dtype"], cfg["bias"]
    )
    if cfg["method"] == "fft-tiled":
        kwargs = cfg["kwargs"]
        kph = -(-((cfg["kh"] - 1) * kwargs["dilation"][0] + 1) // kwargs["stride"][0])
        kpw = -(-((cfg["kw"] - 1) * kwargs["dilation"][1] + 1) // kwargs["stride"][1])
        got = _fft.correlate(x, w, b, num_threads=cfg["threads"], tile_shape=(kph + 3, kpw + 5), **kwargs)
    else:
        got = _engine.correlate(x, w, b, num_threads=cfg["threads"], method=cfg["method"], **cfg["kwargs"])
    _check(got, x, w, b, cfg["kwargs"])


@st.composite
def separable_configs(draw):
    h, w = draw(st.integers(1, 30)), draw(st.integers(1, 40))
    pads = tuple(draw(st.integers(0, 2 * max(h, w) + 3)) for _ in range(4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    kh = max(1, min(draw(st.integers(1, 9)), (hp - 1) // dh + 1))
    kw = max(1, min(draw(st.integers(1, 9)), (wp - 1) // dw + 1))
    return {
        "n": draw(st.integers(1, 2)),
        "c": draw(st.integers(1, 3)),
        "h": h,
        "w": w,
        "kh": kh,
        "kw": kw,
        "shared": draw(st.booleans()),
        "kwargs": {
            "pads": pads,
            "mode": draw(st.sampled_from(MODES)),
            "cval": draw(st.sampled_from([0.0, 0.0, 1.5])),
            "stride": draw(st.sampled_from([(1, 1), (1, 1), (2, 1), (1, 3)])),
            "dilation": (dh, dw) if draw(st.booleans()) else (1, 1),
        },
        "dtype": draw(st.sampled_from([np.float32, np.float64])),
        "bias": draw(st.booleans()),
        "out": draw(st.booleans()),
        "threads": draw(st.sampled_from([1, 2])),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=separable_configs(), seed=st.integers(0, 2**32 - 1))
def test_property_the_separable_path_matches_the_reference(cfg, seed):
    """Both ways of running two 1-D passes (fused per block of rows, or two whole passes)."""
    rng = np.random.default_rng(seed)
    n, c, dtype = cfg["n"], cfg["c"], cfg["dtype"]
    x = rng.standard_normal((n, c, cfg["h"], cfg["w"])).astype(dtype)
    columns = rng.standard_normal((1 if cfg["shared"] else c, cfg["kh"])).repeat(c if cfg["shared"] else 1, axis=0)
    rows = rng.standard_normal((1 if cfg["shared"] else c, cfg["kw"])).repeat(c if cfg["shared"] else 1, axis=0)
    columns, rows = columns.astype(dtype), rows.astype(dtype)
    b = rng.standard_normal(c).astype(dtype) if cfg["bias"] else None
    kwargs = dict(cfg["kwargs"], groups=c)
    w = np.einsum("ci,cj->cij", columns, rows)[:, None]
    hout = output_size(cfg["h"], cfg["kh"], kwargs["stride"][0], kwargs["dilation"][0], *kwargs["pads"][:2])
    wout = output_size(cfg["w"], cfg["kw"], kwargs["stride"][1], kwargs["dilation"][1], *kwargs["pads"][2:])
    out = np.full((n, c, hout, wout), np.nan, dtype) if cfg["out"] else None
    del kwargs["groups"]
    got = _engine.correlate_separable(x, columns, rows, b, out=out, num_threads=cfg["threads"], **kwargs)
    assert out is None or got is out
    assert got.dtype == dtype
    _check(got, x, w, b, dict(kwargs, groups=c))


@pytest.mark.parametrize(
    "n, c, shared, where, calls",
    [
        (2, 3, True, {}, 1),  # one call over all six planes
        (1, 3, False, {}, 3),  # one call per channel of the single image
        (2, 3, False, {}, 0),  # two whole passes
        (1, 1, True, {"stride": (2, 1)}, 0),
        (1, 1, True, {"dilation": (1, 2)}, 0),
        (1, 1, True, {"mode": "constant", "cval": 1.5}, 0),  # the row pass pads with 1.5 * sum(column)
        (1, 2, True, {"mode": "constant", "cval": 0.0}, 1),
    ],
)
def test_the_separable_path_fuses_its_passes_where_it_can(monkeypatch, n, c, shared, where, calls):
    made = []
    real = _engine.correlate_passes
    monkeypatch.setattr(_engine, "correlate_passes", lambda *a, **k: made.append(1) or real(*a, **k))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, c, 21, 26))
    columns = rng.standard_normal((1 if shared else c, 5)).repeat(c if shared else 1, axis=0)
    rows = rng.standard_normal((1 if shared else c, 7)).repeat(c if shared else 1, axis=0)
    b = rng.standard_normal(c)
    kwargs = {"pads": (2, 3, 4, 1), "mode": "reflect", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1)} | where
    got = _engine.correlate_separable(x, columns, rows, b, **kwargs)
    assert len(made) == calls
    _check(got, x, np.einsum("ci,cj->cij", columns, rows)[:, None], b, dict(kwargs, groups=c))
    # Fused, the passes sum the same products in the same order as apart.
    fused = _engine.correlate_separable(x, columns, rows, **kwargs)
    monkeypatch.setattr(_engine, "_fused_calls", lambda *a: 0)
    np.testing.assert_array_equal(fused, _engine.correlate_separable(x, columns, rows, **kwargs))


def test_rank_one_kernels_take_two_passes_where_they_are_modelled_faster():
    g = np.exp(-(np.linspace(-2, 2, 7) ** 2))
    w = np.outer(g, g)[None, None]
    # 26x26 outputs: the passes' fixed cost is more than the 49 - 14 taps per pixel save.
    assert imgconv.choose_method(np.zeros((1, 1, 32, 32)), w).method == "direct"
    plan = imgconv.choose_method(np.zeros((1, 1, 512, 512)), w, pads=3)
    assert plan.method == "separable" and set(plan.costs) == {"direct", "separable"}
    assert plan.costs["separable"] < plan.costs["direct"] / 2
    assert imgconv.choose_method(np.zeros((1, 1, 32, 32)), w, method="direct").method == "direct"
    assert imgconv.choose_method(np.zeros((1, 1, 512, 512)), w, method="direct").method == "separable"


# ----------------------------------------------------------------------------------
# the planner
# ----------------------------------------------------------------------------------

SMALL = {"x": (1, 1, 64, 64), "w": (1, 1, 3, 3)}  # direct by far
LARGE = {"x": (1, 1, 300, 300), "w": (1, 1, 63, 63)}  # FFT by far
BANK = {"x": (1, 1, 200, 200), "w": (24, 1, 41, 41)}  # FFT: one forward transform, 24 inverse


@pytest.mark.parametrize("case, expected", [(SMALL, "direct"), (LARGE, "fft"), (BANK, "fft")])
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_auto_on_both_sides_of_the_crossover(case, expected, mode):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(case["x"]).astype(np.float32)
    w = rng.standard_normal(case["w"]).astype(np.float32)
    p = case["w"][-1] // 2
    kwargs = {"pads": (p, p, p, p), "mode": mode, "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    plan = imgconv.choose_method(x, w, **kwargs)
    assert plan.method == expected, plan.reason
    assert set(plan.costs) <= {"direct", "fft"}
    _check(_engine.correlate(x, w, **kwargs), x, w, None, kwargs)


def test_auto_crossover_moves_with_the_kernel_size():
    """Growing k on one image: direct first, FFT from some k on, never back."""
    x = np.zeros((1, 1, 1024, 1024), np.float32)
    methods = [
        imgconv.choose_method(x, np.ones((1, 1, k, k), np.float32) + np.eye(k), pads=k // 2).method
        for k in (3, 5, 7, 11, 15, 21, 31, 45, 63, 101)
    ]
    assert methods[0] == "direct" and methods[-1] == "fft"
    first_fft = methods.index("fft")
    assert all(m == "fft" for m in methods[first_fft:]), methods


def test_choose_method_reports_the_separable_path():
    g = np.exp(-(np.linspace(-2, 2, 9) ** 2))
    w = np.broadcast_to(np.outer(g, g), (3, 1, 9, 9)).astype(np.float32)
    plan = imgconv.choose_method(np.zeros((1, 3, 50, 50), np.float32), w, pads=4, groups=3)
    assert plan.method == "separable" and "rank 1" in plan.reason
    assert (
        imgconv.choose_method(np.zeros((1, 3, 50, 50), np.float32), w, pads=4, groups=3, method="fft").method == "fft"
    )


def test_choose_method_small_kernels_never_consider_the_fft():
    w = np.random.default_rng(0).standard_normal((1, 1, 5, 5)).astype(np.float32)
    plan = imgconv.choose_method(np.zeros((1, 1, 4096, 4096), np.float32), w)
    assert plan.method == "direct" and "never pays" in plan.reason


@pytest.mark.parametrize(
    "bad, error", [("FFT", ValueError), ("spectral", ValueError), (1, TypeError), (None, TypeError)]
)
def test_method_is_validated_by_name(bad, error):
    x = np.zeros((1, 1, 8, 8), np.float32)
    with pytest.raises(error, match="`method` must be one of"):
        imgconv.choose_method(x, np.ones((1, 1, 3, 3), np.float32), method=bad)
    with pytest.raises(error, match="`method` must be one of"):
        imgconv.conv2d(x, np.ones((1, 1, 3, 3), np.float32), method=bad)
    with pytest.raises(error, match="`method` must be one of"):
        filters.correlate(x[0, 0], np.ones((3, 3)), method=bad)
    with pytest.raises(error, match="`method` must be one of"):
        banks.schmid(support=5).apply(x[0, 0], method=bad)


# ----------------------------------------------------------------------------------
# non-finite input
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("case", [LARGE, BANK])
def test_auto_keeps_which_outputs_are_not_finite(bad, case):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(case["x"]).astype(np.float32)
    w = rng.standard_normal(case["w"]).astype(np.float32)
    p = case["w"][-1] // 2
    kwargs = {"pads": (p, p, p, p), "mode": "reflect", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    assert imgconv.choose_method(x, w, **kwargs).method == "fft"
    x[0, 0, 17, 150] = bad
    plan = imgconv.choose_method(x, w, **kwargs)
    assert plan.method == "direct" and "NaN or inf" in plan.reason
    got = _engine.correlate(x, w, **kwargs)
    want = _engine.correlate(x, w, method="direct", **kwargs)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isfinite(got).any() and not np.isfinite(got).all()


@pytest.mark.parametrize("threads, tile", [(1, None), (2, (40, 48))])
def test_fft_finite_only_raises_for_a_nan_an_output_reads(threads, tile):
    """The planner's calls: a NaN in a tile's window shows in its DC coefficient, on any thread."""
    rng = np.random.default_rng(10)
    x, w, _ = _arrays(rng, 1, 2, 90, 100, 3, 2, 9, 9, np.float32, bias=False)
    kwargs = {"pads": (4, 4, 4, 4), "mode": "reflect", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    x[0, 1, 60, 70] = np.nan
    with pytest.raises(_fft.NonFiniteInput):
        _fft.correlate(x, w, num_threads=threads, tile_shape=tile, finite_only=True, **kwargs)


def test_fft_finite_only_ignores_a_nan_no_output_reads():
    """Stride 2 and dilation 2 read only the even rows and columns: a NaN on an odd row changes nothing."""
    rng = np.random.default_rng(11)
    x, w, _ = _arrays(rng, 1, 1, 60, 60, 2, 1, 5, 5, np.float64, bias=False)
    kwargs = {"pads": (0, 0, 0, 0), "mode": "constant", "cval": 0.0, "stride": (2, 2), "dilation": (2, 2), "groups": 1}
    x[0, 0, 31, 20] = np.inf
    got = _fft.correlate(x, w, num_threads=1, finite_only=True, **kwargs)
    assert np.isfinite(got).all()
    _check(got, x, w, None, kwargs)


def test_method_fft_spreads_a_nan_through_its_tile_as_documented():
    x = np.zeros((1, 1, 40, 40))
    x[0, 0, 20, 20] = np.nan
    got = _fft.correlate(x, np.ones((1, 1, 3, 3)), pads=(1, 1, 1, 1), tile_shape=(16, 16))
    assert np.isnan(got).any() and not np.isnan(got).all()  # only tiles whose window holds the NaN
    direct = _engine.correlate(x, np.ones((1, 1, 3, 3)), pads=(1, 1, 1, 1), method="direct")
    assert np.isnan(got).sum() >= np.isnan(direct).sum() == 9


def test_non_finite_weights_or_cval_keep_auto_direct():
    x = np.ones((1, 1, 300, 300), np.float32)
    w = np.random.default_rng(16).standard_normal((1, 1, 63, 63)).astype(np.float32)
    assert imgconv.choose_method(x, w, pads=31).method == "fft"
    assert imgconv.choose_method(x, w, pads=31, cval=np.nan).method == "direct"
    w[0, 0, 3, 3] = np.inf
    assert imgconv.choose_method(x, w, pads=31).method == "direct"


# ----------------------------------------------------------------------------------
# kernel spectra cache
# ----------------------------------------------------------------------------------


def test_kernel_spectra_are_keyed_on_content():
    rng = np.random.default_rng(10)
    x, w, _ = _arrays(rng, 1, 2, 40, 40, 3, 2, 11, 11, np.float64, bias=False)
    kwargs = {"pads": (5, 5, 5, 5), "mode": "wrap", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1), "groups": 1}
    _fft._CACHE.clear()
    _check(_engine.correlate(x, w, method="fft", **kwargs), x, w, None, kwargs)
    entries = len(_fft._CACHE._entries)
    # The same weights in another array: a cache hit, no new entry.
    _check(_engine.correlate(x, w.copy(), method="fft", **kwargs), x, w, None, kwargs)
    assert len(_fft._CACHE._entries) == entries
    # Changed in place: never the stale spectrum.
    w[1, 0, 2, 3] += 1.0
    w *= 2
    _check(_engine.correlate(x, w, method="fft", **kwargs), x, w, None, kwargs)
    assert len(_fft._CACHE._entries) == entries + 1


def test_conv2d_layer_reuses_its_spectra_across_calls():
    rng = np.random.default_rng(11)
    layer = imgconv.Conv2d(2, 4, 15, padding="same", bias=True)
    layer.weight = rng.standard_normal(layer.weight.shape).astype(np.float32)
    x = rng.standard_normal((1, 2, 60, 60)).astype(np.float32)
    _fft._CACHE.clear()
    first = layer(x, method="fft")
    second = layer(x[:, :, ::-1].copy(), method="fft")
    assert len(_fft._CACHE._entries) == 1
    np.testing.assert_allclose(first, layer(x, method="direct"), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(second, layer(x[:, :, ::-1].copy(), method="direct"), rtol=1e-4, atol=1e-4)
    layer.weight = layer.weight * 3
    np.testing.assert_allclose(layer(x, method="fft"), layer(x, method="direct"), rtol=1e-4, atol=1e-3)
    assert len(_fft._CACHE._entries) == 2


def test_spectrum_cache_is_bounded():
    cache = _fft._SpectrumCache(capacity=100)
    for i in range(10):
        cache.put(i, f"value {i}", 30)
    assert cache._bytes <= 100 and cache.get(9) == "value 9" and cache.get(0) is None
    cache.put("big", "too big", 101)
    assert cache.get("big") is None


# ----------------------------------------------------------------------------------
# the layers pass method through
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_methods_agree(padding_mode):
    rng = np.random.default_rng(12)
    x, w, b = _arrays(rng, 2, 4, 33, 29, 6, 2, 9, 7, np.float64, bias=True)
    kwargs = {"stride": (2, 1), "padding": (4, 3), "dilation": (1, 2), "groups": 2, "padding_mode": padding_mode}
    direct = imgconv.conv2d(x, w, b, method="direct", **kwargs)
    fft = imgconv.conv2d(x, w, b, method="fft", **kwargs)
    np.testing.assert_allclose(fft, direct, rtol=0, atol=1e-10 * np.abs(direct).max())
    np.testing.assert_array_equal(imgconv.conv2d(x, w, b, **kwargs).shape, direct.shape)


@pytest.mark.parametrize("function", [filters.correlate, filters.convolve])
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_filters_methods_agree(function, mode):
    rng = np.random.default_rng(13)
    image = rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    k = rng.standard_normal((13, 10))
    direct = function(image, k, mode=mode, cval=0.5, channel_axis=-1, method="direct")
    fft = function(image, k, mode=mode, cval=0.5, channel_axis=-1, method="fft")
    assert fft.dtype == direct.dtype == np.float32
    scale = np.abs(k).sum()
    np.testing.assert_allclose(fft, direct, rtol=0, atol=2e-5 * scale * np.sqrt(k.size))


@pytest.mark.parametrize(
    "bank",
    [lambda: banks.leung_malik(support=19), lambda: banks.mr8(support=15), lambda: banks.gabor(frequencies=(0.2, 0.4))],
)
def test_filter_bank_methods_agree(bank):
    rng = np.random.default_rng(14)
    bank = bank()
    image = rng.random((45, 52)).astype(np.float32)
    direct = bank.apply(image, method="direct")
    fft = bank.apply(image, method="fft")
    auto = bank.apply(image)
    scale = np.abs(bank.kernels).sum(axis=(1, 2)).max()
    tol = 2e-5 * scale * np.sqrt(bank.kernel_size[0] * bank.kernel_size[1])
    np.testing.assert_allclose(fft, direct, rtol=0, atol=tol)
    np.testing.assert_allclose(auto, direct, rtol=0, atol=tol)


def test_threads_do_not_change_the_fft_result_beyond_rounding():
    rng = np.random.default_rng(15)
    x, w, _ = _arrays(rng, 1, 3, 70, 90, 5, 3, 21, 21, np.float32, bias=False)
    kwargs = {"pads": (10, 10, 10, 10), "method": "fft"}
    one = _engine.correlate(x, w, num_threads=1, **kwargs)
    two = _engine.correlate(x, w, num_threads=2, **kwargs)
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-4)


# ----------------------------------------------------------------------------------
# border index maps
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("length", [1, 2, 3, 7])
def test_source_index_is_numpy_pad_at_any_width(mode, length):
    row = np.arange(length)
    for before, after in [(0, 0), (1, 2), (length, length), (3 * length + 2, 5 * length + 1)]:
        coords = np.arange(-before, length + after)
        np.testing.assert_array_equal(
            row[modes.source_index(coords, length, mode)], np.pad(row, (before, after), mode=mode)
        )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("step", [1, 2, 3])
def test_axis_segments_read_the_padded_axis(mode, step):
    plane = np.arange(35.0).reshape(5, 7)
    padded = np.pad(plane, ((9, 11), (9, 11)), mode=mode, **({"constant_values": -1} if mode == "constant" else {}))
    for start, count in [(0, 10), (3, 12), (12, 4), (20, 3)]:
        rows = _fft.axis_segments(start, count, step, 9, 5, mode)
        cols = _fft.axis_segments(start, count, step, 9, 7, mode)
        dest = np.empty((count, count))
        _fft._gather(plane, rows, cols, dest, -1.0)
        want = padded[start : start + step * count : step, start : start + step * count : step]
        np.testing.assert_array_equal(dest[: want.shape[0], : want.shape[1]], want)


def test_a_broadcast_stand_in_is_planned_from_its_one_value():
    """choose_method on np.broadcast_to (a shape without pixels: ``imgconv explain --image``) reads one value."""
    weight = np.random.default_rng(0).standard_normal((1, 1, 63, 63)).astype(np.float32)
    finite = np.broadcast_to(np.zeros((), np.float32), (1, 1, 2048, 2048))
    assert imgconv.choose_method(finite, weight, pads=31).method == "fft"
    nan = np.broadcast_to(np.full((), np.nan, np.float32), (1, 1, 2048, 2048))
    plan = imgconv.choose_method(nan, weight, pads=31)
    assert plan.method == "direct" and "NaN or inf" in plan.reason


# -- the low-rank path: r pairs of 1-D passes ---------------------------------------------------


def _rank_two(k, dtype, channels=1):
    """Depthwise kernels ``g gp^T + gp g^T`` (a Gaussian and its derivative): rank 2 exactly."""
    t = np.linspace(-3, 3, k)
    kernels = []
    for c in range(channels):
        g = np.exp(-((t - 0.1 * c) ** 2))
        gp = np.gradient(g)
        kernels.append(np.outer(g, gp) + np.outer(gp, g))
    return np.stack(kernels)[:, None].astype(dtype)


@pytest.mark.parametrize("factorise", [_engine.separable_factors, _engine.lowrank_factors])
def test_kernel_factors_are_kept_by_content_and_read_only(factorise):
    if factorise is _engine.separable_factors:
        g = np.exp(-0.5 * ((np.arange(11) - 5) / 2.0) ** 2)
        w = np.outer(g, g).astype(np.float32)[None, None]  # rank 1
    else:
        w = _rank_two(11, np.float32)
    first = factorise(w)
    again = factorise(w.copy())  # equal weights in another array: the same factors, not a second factorisation
    assert first is not None and all(a is b for a, b in zip(first, again, strict=True))
    with pytest.raises(ValueError, match="read-only"):
        first[0][...] = 0
    changed = w.copy()
    changed[0, 0, 0, 10] += 1  # one rank more: another key, so no factors of the old rank
    other = factorise(changed)
    assert other is None or other[0].shape != first[0].shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lowrank_factors_find_the_rank_and_rebuild_the_kernels(dtype):
    w = _rank_two(15, dtype, channels=3)
    columns, rows = _engine.lowrank_factors(w)
    assert columns.shape == (3, 2, 15) and rows.shape == (3, 2, 15)
    rebuilt = np.einsum("cri,crj->cij", columns, rows)
    np.testing.assert_allclose(rebuilt, w[:, 0], rtol=0, atol=64 * np.finfo(dtype).eps * np.abs(w).max())
    rng = np.random.default_rng(0)
    assert _engine.lowrank_factors(rng.standard_normal((1, 1, 15, 15)).astype(dtype)) is None  # full rank
    assert _engine.lowrank_factors(np.ones((1, 1, 15, 15), dtype)) is None  # rank 1: the separable path's
    nan = w.copy()
    nan[0, 0, 3, 3] = np.nan
    assert _engine.lowrank_factors(nan) is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride, dilation", [((1, 1), (1, 1)), ((2, 3), (1, 1)), ((1, 1), (2, 3))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_lowrank_path_matches_the_reference(mode, stride, dilation, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 41, 53)).astype(dtype)
    w = _rank_two(11, dtype, channels=3)
    b = rng.standard_normal(3).astype(dtype)
    kwargs = {"pads": (4, 6, 30, 5), "mode": mode, "cval": 1.5, "stride": stride, "dilation": dilation, "groups": 3}
    columns, rows = _engine.lowrank_factors(w)
    opts = {k: v for k, v in kwargs.items() if k != "groups"}
    got = _engine._correlate_lowrank(x, columns, rows, b, out=None, num_threads=2, **opts)
    assert got.dtype == dtype
    _check(got, x, w, b, kwargs)


def test_the_lowrank_path_keeps_which_outputs_are_non_finite():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 1, 60, 70))
    x[0, 0, 20, 30], x[0, 0, 45, 10], x[0, 0, 5, 66] = np.inf, -np.inf, np.nan
    w = _rank_two(13, np.float64)
    columns, rows = _engine.lowrank_factors(w)
    got = _engine._correlate_lowrank(
        x,
        columns,
        rows,
        None,
        pads=(6,) * 4,
        mode="reflect",
        cval=0.0,
        stride=(1, 1),
        dilation=(1, 1),
        out=None,
        num_threads=1,
    )
    direct = _engine.correlate(x, w, pads=(6,) * 4, mode="reflect", groups=1, method="direct")
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(direct))


def test_auto_on_rank_two_kernels_matches_the_reference_whichever_path_it_takes():
    """Whatever 'auto' picks for rank-2 kernels of several sizes, the answer is the reference's."""
    rng = np.random.default_rng(9)
    for k, size in ((9, 64), (21, 200), (31, 256), (45, 300)):
        x = rng.standard_normal((1, 1, size, size)).astype(np.float32)
        w = _rank_two(k, np.float32)
        plan = imgconv.choose_method(x, w, pads=k // 2)
        assert plan.method in ("direct", "lowrank", "fft")
        if plan.method == "lowrank":
            assert plan.factors[0].shape == (1, 2, k) and "rank 2" in plan.reason
        kwargs = {"pads": (k // 2,) * 4, "mode": "constant", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1)}
        _check(_engine.correlate(x, w, **kwargs), x, w, None, {**kwargs, "groups": 1})


def test_rank_two_laplacians_of_gaussians_take_the_low_rank_path_where_it_is_fastest():
    """A LoG has rank 2: two pairs of 1-D passes beat a 15x15 direct loop (1.4-1.9x measured) and a 31x31 FFT."""

    def log_kernel(k):
        r = np.arange(k) - k // 2
        q = (r[:, None] ** 2 + r[None, :] ** 2) / (2 * (k / 6) ** 2)
        return ((q - 1) * np.exp(-q)).astype(np.float32)[None, None]

    for size, k, threads in ((512, 15, 2), (2048, 15, 1), (2048, 15, 2), (2048, 31, 2)):
        x = np.zeros((1, 1, size, size), np.float32)
        plan = imgconv.choose_method(x, log_kernel(k), pads=k // 2, num_threads=threads)
        assert plan.method == "lowrank" and "rank 2" in plan.reason, plan


def test_the_planners_shortcut_never_skips_a_path_that_could_cost_less():
    """Tiny direct calls are planned without the FFT and low-rank models: their floors must be true lower bounds."""
    assert _engine._FFT_FLOOR_NS <= _fft._CALL_NS
    rng = np.random.default_rng(3)
    for side, k in ((16, 9), (32, 9), (32, 21), (64, 15), (128, 9)):
        x = rng.random((1, 1, side, side), dtype=np.float32)
        r = np.arange(k) - k // 2
        q = (r[:, None] ** 2 + r[None, :] ** 2) / (2 * (k / 6) ** 2)
        w = ((q - 1) * np.exp(-q)).astype(np.float32)[None, None]  # rank 2: a low-rank candidate
        args = (x, w, None, (k // 2,) * 4, "reflect", 0.0, (1, 1), (1, 1), 1, 2, "auto")
        explained = _engine._plan(*args)
        assert explained.costs["lowrank"] >= _engine._LOWRANK_FLOOR_NS * 1e-9
        assert explained.costs["fft"] >= _engine._FFT_FLOOR_NS * 1e-9
        assert _engine._plan(*args, explain=False).method == explained.method
