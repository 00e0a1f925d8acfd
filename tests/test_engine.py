"""The engine entry point against the float64 NumPy reference (tests/_reference.py)."""

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgconv import _dispatch, _engine

from _reference import reference_bound, reference_correlate

MODES = _engine.ENGINE_MODES


def _fit_kernel(kh, kw, h, w, pads, dh, dw):
    """Shrink the kernel so that, dilated, it stays inside the padded input."""
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    return max(1, min(kh, (hp - 1) // dh + 1)), max(1, min(kw, (wp - 1) // dw + 1))


@st.composite
def configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg = draw(st.integers(1, 3))
    og = draw(st.integers(1, 11))  # exercises channel blocks 8, 4, 2, 1
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES))
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 40))
    # Pads of any width, wider than the image too (numpy.pad semantics).
    pads = tuple(draw(st.integers(0, 2 * max(h, w) + 3)) for _ in range(4))
    kh, kw = _fit_kernel(kh, kw, h, w, pads, dh, dw)
    return dict(
        n=draw(st.integers(1, 2)),
        groups=groups,
        cg=cg,
        og=og,
        kh=kh,
        kw=kw,
        h=h,
        w=w,
        pads=pads,
        stride=(sh, sw),
        dilation=(dh, dw),
        mode=mode,
        cval=draw(st.sampled_from([0.0, 0.0, 1.5, -2.0])),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        bias=draw(st.booleans()),
        path=draw(st.sampled_from(_dispatch.available_paths())),
        threads=draw(st.sampled_from([1, 2, 3])),
    )


def _run_and_check(cfg, seed):
    rng = np.random.default_rng(seed)
    c, o = cfg["cg"] * cfg["groups"], cfg["og"] * cfg["groups"]
    x = rng.standard_normal((cfg["n"], c, cfg["h"], cfg["w"])).astype(cfg["dtype"])
    wt = rng.standard_normal((o, cfg["cg"], cfg["kh"], cfg["kw"])).astype(cfg["dtype"])
    b = rng.standard_normal(o).astype(cfg["dtype"]) if cfg["bias"] else None
    kwargs = dict(
        pads=cfg["pads"],
        mode=cfg["mode"],
        cval=cfg["cval"],
        stride=cfg["stride"],
        dilation=cfg["dilation"],
        groups=cfg["groups"],
    )
    x_before = x.copy()
    got = _engine.correlate(x, wt, b, num_threads=cfg["threads"], **kwargs)
    np.testing.assert_array_equal(x, x_before)
    want = reference_correlate(x, wt, b, **kwargs)
    assert got.shape == want.shape and got.dtype == cfg["dtype"]
    bound = reference_bound(x, wt, **kwargs) + (np.abs(b)[None, :, None, None] if b is not None else 0)
    eps = np.finfo(cfg["dtype"]).eps
    # Rounding error of a sum of k terms is bounded by about k * eps * sum|terms|.
    terms = cfg["cg"] * cfg["kh"] * cfg["kw"] + 1
    assert np.all(np.abs(got - want) <= 2 * terms * eps * bound + 1e-30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), seed=st.integers(0, 2**32 - 1))
def test_engine_matches_reference(cfg, seed):
    with _dispatch.using(cfg["path"]):
        _run_and_check(cfg, seed)


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_path_and_mode_on_a_realistic_shape(path, mode, dtype):
    """Wide rows exercise the full vector tiles, narrow pads the in-place interior."""
    cfg = dict(
        n=2,
        groups=1,
        cg=3,
        og=13,
        kh=3,
        kw=5,
        h=21,
        w=131,
        pads=(2, 3, 4, 5),
        stride=(1, 1),
        dilation=(2, 1),
        mode=mode,
        cval=0.5,
        dtype=dtype,
        bias=True,
        path=path,
        threads=2,
    )
    with _dispatch.using(path):
        _run_and_check(cfg, 7)
        _run_and_check(dict(cfg, stride=(2, 3), groups=3, cg=1, og=2), 8)


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layout", ["depthwise", "single", "bank", "strided-bank", "uint8-single"])
def test_tall_images_run_in_row_blocks(path, mode, layout):
    """Tall planes: blocks of rows share one tap list (interior blocks) or run row by row
    (blocks that reach past the top or bottom); both must equal the reference."""
    if layout == "depthwise":
        cfg = dict(groups=4, cg=1, og=1, kh=3, kw=3, h=173, w=70, dilation=(4, 2), stride=(1, 1))
    elif layout == "single":
        cfg = dict(groups=1, cg=1, og=1, kh=3, kw=5, h=301, w=41, dilation=(1, 1), stride=(1, 1))
    elif layout == "bank":
        cfg = dict(groups=1, cg=2, og=11, kh=7, kw=3, h=90, w=37, dilation=(3, 1), stride=(1, 1))
    elif layout == "strided-bank":
        cfg = dict(groups=2, cg=2, og=3, kh=5, kw=5, h=97, w=45, dilation=(1, 2), stride=(3, 2))
    else:
        cfg = dict(groups=1, cg=1, og=1, kh=3, kw=3, h=257, w=33, dilation=(2, 2), stride=(1, 1))
    cfg.update(
        n=2,
        mode=mode,
        pads=(5, 2, 3, 6),
        cval=0.0 if layout.startswith("uint8") else 1.5,
        dtype=np.float32,
        bias=True,
        path=path,
        threads=2,
    )
    if layout.startswith("uint8"):
        rng = np.random.default_rng(11)
        x = rng.integers(0, 255, size=(2, 1, cfg["h"], cfg["w"]), endpoint=True).astype(np.uint8)
        w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
        kwargs = dict(pads=cfg["pads"], mode=mode, stride=cfg["stride"], dilation=cfg["dilation"])
        with _dispatch.using(path):
            got = _engine.correlate(x, w, **kwargs)
        want = reference_correlate(x, w, **kwargs)
        bound = reference_bound(x, w, cval=0.0, groups=1, **kwargs)
        assert got.dtype == np.float32
        assert np.all(np.abs(got - want) <= 2 * 10 * np.finfo(np.float32).eps * bound)
        return
    with _dispatch.using(path):
        _run_and_check(cfg, 13)
        _run_and_check(dict(cfg, dtype=np.float64, threads=1), 14)


@st.composite
def tall_single_channel_configs(draw):
    """Kernels of 4-12 rows on one input channel per group: the row-sharing chains."""
    kh, kw = draw(st.integers(4, 12)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    sh = draw(st.sampled_from([1, 1, 2, 3]))
    h, w = draw(st.integers(1, 90)), draw(st.integers(1, 40))
    pads = (draw(st.integers(0, 12)), draw(st.integers(0, 12)), draw(st.integers(0, 4)), draw(st.integers(0, 4)))
    kh, kw = _fit_kernel(kh, kw, h, w, pads, dh, dw)
    return dict(
        n=draw(st.integers(1, 2)),
        groups=draw(st.sampled_from([1, 3])),
        cg=1,
        og=draw(st.integers(1, 3)),
        kh=kh,
        kw=kw,
        h=h,
        w=w,
        pads=pads,
        stride=(sh, 1),
        dilation=(dh, dw),
        mode=draw(st.sampled_from(MODES)),
        cval=draw(st.sampled_from([0.0, 1.5])),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        bias=draw(st.booleans()),
        path=draw(st.sampled_from(_dispatch.available_paths())),
        threads=draw(st.sampled_from([1, 2])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=tall_single_channel_configs(), seed=st.integers(0, 2**32 - 1))
def test_tall_single_channel_kernels_match_reference(cfg, seed):
    with _dispatch.using(cfg["path"]):
        _run_and_check(cfg, seed)


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize(
    "kh, stride, dilation",
    [(3, 1, 1), (4, 1, 1), (5, 1, 1), (7, 1, 2), (8, 1, 2), (9, 1, 3), (25, 1, 1), (6, 2, 4), (9, 2, 4), (5, 2, 3)]
    + [(40, 1, 1)],
)
@pytest.mark.parametrize("og", [1, 2, 3])
@pytest.mark.parametrize("kw", [1, 3])
def test_single_channel_kernels_share_input_rows_across_output_rows(path, kh, stride, dilation, og, kw):
    """Kernels of one input channel (depthwise, single filters, column passes of separable
    filters) run several output rows at once (from 8 / og kernel rows; with AVX2 from 6,
    4 rows at once for kernels of 4 and 5 rows, 3 for 3), each (input row, kernel column)
    loaded once for all of them (stride 2 with dilation 4 chains every other row;
    dilation 3 at stride 2 does not chain; shorter kernels take the tap loop;
    column kernels chain only on rows a multiple of 4 KB apart, hence the 1024 float32 /
    512 float64 / 1024 uint8 columns in 'reflect' mode): every mode, float and uint8,
    rows and columns that do not fill whole tiles."""
    for i, mode in enumerate(MODES):
        wide = mode == "reflect" and kw == 1  # no column padding: uint8 rows convert to 4 KB too
        cfg = dict(
            n=1,
            groups=2,
            cg=1,
            og=og,
            kh=kh,
            kw=kw,
            h=203 + i,
            w=1024 if wide else (70, 9, 33, 16, 47)[i],
            pads=(kh * dilation // 2, kh * dilation - kh * dilation // 2) + ((0, 0) if wide else (1, 2 * kw)),
            stride=(stride, 1),
            dilation=(dilation, kw),
            mode=mode,
            cval=1.5,
            dtype=np.float32,
            bias=i % 2 == 0,
            path=path,
            threads=2,
        )
        with _dispatch.using(path):
            _run_and_check(cfg, 20 + i)
            _run_and_check(dict(cfg, dtype=np.float64, threads=1, w=512 if wide else cfg["w"]), 30 + i)
            rng = np.random.default_rng(40 + i)
            x = rng.integers(0, 255, size=(1, 2, cfg["h"], cfg["w"]), endpoint=True).astype(np.uint8)
            w = rng.standard_normal((2 * og, 1, kh, kw)).astype(np.float32)
            kwargs = dict(pads=cfg["pads"], mode=mode, stride=cfg["stride"], dilation=cfg["dilation"], groups=2)
            got = _engine.correlate(x, w, num_threads=2, **kwargs)
        want = reference_correlate(x, w, **kwargs)
        bound = reference_bound(x, w, cval=0.0, **kwargs)
        assert np.all(np.abs(got - want) <= 2 * (kh * kw + 1) * np.finfo(np.float32).eps * bound)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kernel", ["3x3", "rank-1 5x5"])
def test_scale_filters_the_scaled_image(mode, kernel):
    """``scale`` gives the correlation of ``x * scale`` with `cval` in those units, for integer
    pixels read as stored (also through the automatic separable path)."""
    rng = np.random.default_rng(17)
    x = rng.integers(0, 255, size=(2, 3, 29, 40), endpoint=True).astype(np.uint8)
    if kernel == "3x3":
        w = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    else:
        w = np.einsum("ci,cj->cij", rng.standard_normal((3, 5)), rng.standard_normal((3, 5)))[:, None]
        w = w.astype(np.float32)
    kwargs = dict(pads=(2, 1, 3, 2), mode=mode, cval=0.3 if mode == "constant" else 0.0, groups=3)
    got = _engine.correlate(x, w, scale=1 / 255, **kwargs)
    want = reference_correlate(x / 255, w, **kwargs)
    bound = reference_bound(x / 255, w, stride=(1, 1), dilation=(1, 1), **kwargs)
    assert got.dtype == np.float32
    assert np.all(np.abs(got - want) <= 2 * 26 * np.finfo(np.float32).eps * bound)


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "wrap", "edge", "constant"])
def test_pads_much_wider_than_the_image_follow_numpy_pad(mode):
    x = np.arange(12, dtype=np.float64).reshape(1, 1, 3, 4)
    w = np.zeros((1, 1, 1, 1))
    w[0, 0, 0, 0] = 1.0  # identity kernel: the output is the padded image itself
    pads = (7, 5, 9, 11)
    got = _engine.correlate(x, w, pads=pads, mode=mode, cval=3.0)
    extra = {"constant_values": 3.0} if mode == "constant" else {}
    want = np.pad(x, ((0, 0), (0, 0), (7, 5), (9, 11)), mode=mode, **extra)
    np.testing.assert_array_equal(got, want)


def test_available_paths_include_baseline():
    assert _dispatch.available_paths()[-1] == "baseline"
    for path in _dispatch.available_paths():
        assert _dispatch.kernel_module(path).simd_name() == path


def test_unknown_path_is_refused():
    with pytest.raises(ValueError, match="`path` must be one of"):
        _dispatch.kernel_module("sse9")


def test_show_config_reports_the_build(capsys):
    import imgconv

    info = imgconv.show_config()
    printed = capsys.readouterr().out
    assert info["simd_path"] in info["available_paths"] and info["simd_path"] in printed
    assert info["num_threads"] == imgconv.get_num_threads()


def test_openmp_is_on_when_the_build_expects_it():
    """The build probes OpenMP; where the compiler has it (gcc here), the kernels must use it."""
    import os

    if os.environ.get("IMGCONV_EXPECT_OPENMP", "1") != "1":
        pytest.skip("IMGCONV_EXPECT_OPENMP=0: this build was made without OpenMP on purpose")
    for path in _dispatch.available_paths():
        assert _dispatch.kernel_module(path).openmp_enabled(), path


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("pixel", [np.uint8, np.uint16])
@pytest.mark.parametrize("mode", MODES)
def test_integer_images_are_read_directly(path, pixel, mode, rng):
    """uint8/uint16 input with float32 weights equals the float32 image's result."""
    x = rng.integers(0, np.iinfo(pixel).max, size=(2, 3, 19, 45), endpoint=True).astype(pixel)
    w = rng.standard_normal((5, 3, 3, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    kwargs = dict(pads=(2, 1, 3, 4), mode=mode, cval=0.0 if mode != "constant" else 7.0, stride=(1, 2), dilation=(2, 1))
    with _dispatch.using(path):
        got = _engine.correlate(x, w, b, **kwargs)
        direct = _engine.correlate(x, w, b, **dict(kwargs, stride=(1, 1)))
    assert got.dtype == np.float32
    # float32 rounding of a sum of 3*3*4 + 1 terms, relative to the sum of |terms|
    tol = 2 * 37 * np.finfo(np.float32).eps
    for result, stride in ((got, kwargs["stride"]), (direct, (1, 1))):
        args = dict(kwargs, stride=stride)
        want = reference_correlate(x, w, b, **args)
        bound = reference_bound(x, w, groups=1, **args) + np.abs(b)[None, :, None, None]
        assert np.all(np.abs(result - want) <= tol * bound)


def test_integer_images_through_the_separable_path(rng):
    x = rng.integers(0, 255, size=(1, 2, 40, 50), endpoint=True).astype(np.uint8)
    g = np.exp(-(np.linspace(-2, 2, 9) ** 2)).astype(np.float32)
    w = np.repeat(np.outer(g, g)[None, None], 2, axis=0).astype(np.float32)
    got = _engine.correlate(x, w, pads=(4, 4, 4, 4), mode="symmetric", groups=2)
    want = reference_correlate(x, w, pads=(4, 4, 4, 4), mode="symmetric", groups=2)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_every_kernel_build_states_the_border_mode_codes_the_engine_passes():
    from imgconv import _dispatch
    from imgconv._shared.modes import ENGINE_MODE_CODES, ENGINE_MODES

    assert sorted(ENGINE_MODE_CODES) == sorted(ENGINE_MODES)
    for path in _dispatch.available_paths():
        with _dispatch.using(path):
            assert _dispatch.kernel_module().mode_codes() == ENGINE_MODE_CODES, path


def _captured_kernel_call(monkeypatch, x, weight, **options):
    """The keyword arguments `_engine` passes to the compiled kernel for one call, and the kernel."""
    kernel = _engine._kernel()
    calls = []

    class Recorder:
        def __getattr__(self, name):
            return getattr(kernel, name)

        def correlate_nchw(self, *args, **kwargs):
            # by name, whatever the engine passes positionally (in the kernel's documented order)
            kwargs = dict(inspect.signature(kernel.correlate_nchw).bind(*args, **kwargs).arguments)
            calls.append(kwargs)
            return kernel.correlate_nchw(**kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(_engine, "_kernel", Recorder)
        _engine.correlate(x, weight, method="direct", **options)
    (call,) = calls
    return kernel, call


def _shrunk(a, axis):
    """`a` cut to one entry along `axis` (scratch rows are rounded up, so one entry less is not always short)."""
    return np.ascontiguousarray(np.take(a, [0], axis=axis))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda k: k.update(ptr_scratch=_shrunk(k["ptr_scratch"], 1)), id="pointer-scratch"),
        pytest.param(lambda k: k.update(tap_scratch=_shrunk(k["tap_scratch"], 1)), id="tap-scratch"),
        pytest.param(lambda k: k.update(buf_scratch=_shrunk(k["buf_scratch"], 1)), id="buffer-scratch"),
        pytest.param(lambda k: k.update(num_threads=k["ptr_scratch"].shape[0] + 1), id="threads-beyond-scratch"),
        pytest.param(lambda k: k.update(wpack=k["wpack"][:-1].copy()), id="weights"),
        pytest.param(lambda k: k.update(blk_woff=k["blk_woff"] + 1), id="weight-offsets"),
        pytest.param(lambda k: k.update(blk_size=k["blk_size"] * 2), id="block-sizes"),
        pytest.param(lambda k: k.update(has_bias=True, bias=k["bias"][:1]), id="bias"),
        pytest.param(lambda k: k.update(cval_row=k["cval_row"][:2]), id="border-row"),
        # 64 columns, pads of 2 and 5 taps: outputs 2 .. 61 read their row in place, 62 would read column 64
        pytest.param(lambda k: k.update(jb=63), id="in-place-past-the-row"),
        pytest.param(lambda k: k.update(ja=1), id="in-place-before-the-row"),
        pytest.param(lambda k: k.update(buf_rows=k["kh"] - 1), id="buffer-rows"),
        pytest.param(lambda k: k.update(groups=3), id="groups"),
        pytest.param(lambda k: k.update(mode=99), id="mode-code"),
        pytest.param(lambda k: k.update(out=np.zeros((2,) + k["out"].shape[1:], k["out"].dtype)), id="batch"),
    ],
)
def test_the_kernel_refuses_a_call_its_unchecked_loops_would_overrun(monkeypatch, change):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 40, 64), dtype=np.float32)
    weight = rng.standard_normal((6, 4, 3, 5), dtype=np.float32)
    kernel, call = _captured_kernel_call(
        monkeypatch, x, weight, pads=(1, 1, 2, 2), mode="constant", cval=0.5, num_threads=2
    )
    assert 2 <= call["ja"] < call["jb"] <= 62, "the in-place column range is exercised"
    kernel.correlate_nchw(**call)  # the captured call itself is accepted
    change(call)
    with pytest.raises(ValueError, match=r"^correlate_nchw: "):
        kernel.correlate_nchw(**call)


def _misaligned(a):
    """A writeable copy of `a` one byte off its dtype's alignment."""
    raw = np.frombuffer(bytearray(a.nbytes + 1), dtype=np.uint8)[1:]
    b = raw.view(a.dtype).reshape(a.shape)
    assert not b.flags.aligned
    b[...] = a
    return b


def _every_other_plane(a):
    """A view of `a`'s shape whose planes lie two apart."""
    return np.zeros((2 * a.shape[0],) + a.shape[1:], a.dtype)[::2]


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _bad(name, make, id, error=ValueError):
    """A case of the refusal tests below: the kernel call's argument `name` replaced by ``make(it)``."""
    return pytest.param(lambda call: call.update({name: make(call[name])}), error, id=id)


def _captured_positional_call(monkeypatch, entry, names, run):
    """The first call of the compiled `entry` that ``run()`` makes: its leading arguments by `names`, and the rest."""
    calls = []
    kernel = _engine._kernel()

    class Capture:
        def __getattr__(self, name):
            return getattr(kernel, name)

    def capture(*args):
        calls.append(args)
        return getattr(kernel, entry)(*args)

    setattr(Capture, entry, staticmethod(capture))
    monkeypatch.setattr(_engine, "_kernel", Capture)
    run()
    args = calls[0]
    return getattr(kernel, entry), dict(zip(names, args[: len(names)], strict=True)), args[len(names) :]


# Arrays every compiled entry refuses: not an array, of other dimensions, byte-swapped; a read-only output.
_EVERY_ENTRY = [
    _bad("x", lambda a: a.tolist(), "x-not-an-array", TypeError),
    _bad("x", lambda a: a[0], "x-dimensions"),
    _bad("x", lambda a: a.astype(a.dtype.newbyteorder("S")), "x-byte-order"),
    _bad("out", _read_only, "out-read-only"),
]
# ... and those of the entries with per-thread pointer and tap rows (correlate_nchw, separable_planes).
_SCRATCH_ENTRIES = [
    _bad("out", _misaligned, "out-misaligned"),
    _bad("ptr_scratch", lambda a: a.astype(np.int32), "ptr-dtype"),
    _bad("tap_scratch", _read_only, "taps-read-only"),
]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        *_EVERY_ENTRY,
        *_SCRATCH_ENTRIES,
        _bad("x", lambda a: a.astype(np.int32), "x-dtype"),
        _bad("x", np.asfortranarray, "x-columns-not-contiguous"),
        _bad("wpack", lambda a: a.astype(np.float64), "weights-vs-bias"),
        _bad("wpack", lambda a: np.repeat(a, 2)[::2], "weights-strided"),
        _bad("wpack", lambda a: a.astype(np.int32), "weights-integer"),
        _bad("out", lambda a: a.astype(np.float64), "out-dtype"),
        _bad("out", np.asfortranarray, "out-not-contiguous"),
        _bad("bias", lambda a: a.astype(np.float64), "bias-dtype"),
        _bad("cval_row", lambda a: a.astype(np.float64), "border-row-dtype"),
        _bad("blk_start", lambda a: a.astype(np.int64), "block-dtype"),
        _bad("blk_woff", lambda a: a.astype(np.int32), "offsets-dtype"),
        _bad("buf_scratch", lambda a: a.T.copy().T, "buffer-order"),
        _bad("buf_scratch", lambda a: a.astype(np.float64), "buf-dtype"),
    ],
)
def test_the_kernel_refuses_arrays_of_another_kind_than_its_loops_read(monkeypatch, change, error):
    # correlate_nchw reads its arrays' pointers itself (no typed memoryviews): each of these would be
    # read as memory of another type, shape or order, or written although it is read-only.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 12, 40), dtype=np.float32)
    weight = rng.standard_normal((3, 2, 3, 3), dtype=np.float32)
    bias = rng.standard_normal(3, dtype=np.float32)
    kernel, call = _captured_kernel_call(
        monkeypatch, x, weight, bias=bias, pads=(1, 1, 1, 1), mode="constant", cval=0.5, num_threads=2
    )
    if call["buf_scratch"].shape[0] == 1:  # (a one-row scratch is both C- and Fortran-contiguous)
        call["buf_scratch"] = np.zeros((2, call["buf_scratch"].shape[1]), call["buf_scratch"].dtype)
    kernel.correlate_nchw(**call)  # the captured call itself is accepted
    change(call)
    with pytest.raises(error, match=r"^correlate_nchw: "):
        kernel.correlate_nchw(**call)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        *_EVERY_ENTRY,
        *_SCRATCH_ENTRIES,
        _bad("x", lambda a: a.astype(np.float64), "x-vs-factors-dtype"),
        _bad("x", np.asfortranarray, "x-rows-not-contiguous"),
        _bad("x", lambda a: a.astype(np.uint8), "x-integer"),
        _bad("column", lambda a: np.repeat(a, 2)[::2], "column-strided"),
        _bad("row", lambda a: a.astype(np.float64), "row-dtype"),
        _bad("out", lambda a: a.astype(np.float64), "out-dtype"),
        # a strided view of planes: the loops write plane n at n * Hout * Wout
        _bad("out", _every_other_plane, "out-planes-strided"),
        _bad("cval_row", lambda a: a.astype(np.float64), "border-dtype"),
        _bad("buf_scratch", lambda a: a[:, ::2], "buffer-strided"),
    ],
)
def test_the_fused_passes_refuse_arrays_of_another_kind_than_their_loops_read(monkeypatch, change, error):
    # separable_planes, like correlate_nchw, reads its arrays' pointers itself (no typed memoryviews).
    x = np.random.default_rng(4).standard_normal((2, 12, 40), dtype=np.float32)
    entry, call, rest = _captured_positional_call(
        monkeypatch,
        "separable_planes",
        "x column row out cval_row ptr_scratch tap_scratch buf_scratch".split(),
        lambda: _engine.correlate_passes(
            x, np.ones(3, np.float32), np.ones(5, np.float32), pads=(1, 1, 2, 2), mode="constant"
        ),
    )
    entry(*call.values(), *rest)  # the captured call itself is accepted
    change(call)
    with pytest.raises(error, match=r"^separable_planes: "):
        entry(*call.values(), *rest)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        *_EVERY_ENTRY,
        _bad("x", lambda a: a.astype(np.int32), "x-dtype"),
        # a strided view of lines: the loops read line n at n * length * trail
        _bad("x", _every_other_plane, "x-lines-strided"),
        _bad("weights", lambda a: a.astype(np.float32), "weights-vs-buffers"),
        _bad("weights", lambda a: a.astype(np.int64), "weights-integer"),
        _bad("out", lambda a: a.view(np.float64), "out-not-bytes"),
        _bad("out", _every_other_plane, "out-strided"),
        _bad("index", lambda a: a.astype(np.int32), "index-dtype"),
        _bad("index", lambda a: np.repeat(a, 2)[::2], "index-strided"),
        _bad("buf_scratch", lambda a: a.astype(np.float32), "buf-dtype"),
        _bad("res_scratch", _read_only, "res-read-only"),
        _bad("signs", lambda a: a.astype(np.int64), "signs-dtype"),
    ],
)
def test_the_paired_lines_refuse_arrays_of_another_kind_than_their_loops_read(monkeypatch, change, error):
    # paired_lines, like correlate_nchw, reads its arrays' pointers itself (no typed memoryviews).
    x = np.random.default_rng(4).standard_normal((2, 30, 5))
    entry, call, rest = _captured_positional_call(
        monkeypatch,
        "paired_lines",
        "x weights out out_kind index buf_scratch res_scratch dilation signs".split(),
        lambda: _engine.correlate_paired(x, _gaussian_weights(1.0, 1), signs=-1, mode="reflect"),
    )
    entry(*call.values(), *rest)  # the captured call itself is accepted
    change(call)
    with pytest.raises(error, match=r"^paired_lines: "):
        entry(*call.values(), *rest)


def _packed_block_by_block(weight, groups):
    """The packing the kernels read, written out: per group, per channel block, [c][u][v][k]."""
    og = weight.shape[0] // groups
    parts = []
    for g in range(groups):
        for start, size in _engine._channel_blocks(og):
            block = weight[g * og + start : g * og + start + size]
            parts.append(np.ascontiguousarray(block.transpose(1, 2, 3, 0)).ravel())
    return np.concatenate(parts)


@pytest.mark.parametrize("og", [1, 2, 3, 4, 5, 7, 8, 12, 16, 17])
@pytest.mark.parametrize("groups", [1, 3])
def test_packed_weights_follow_the_block_layout(og, groups):
    rng = np.random.default_rng(og * 10 + groups)
    weight = rng.standard_normal((og * groups, 2, 3, 2)).astype(np.float32)
    sizes = {size for _, size in _engine._channel_blocks(og)}
    uniform = sizes.pop() if len(sizes) == 1 else None
    want = _packed_block_by_block(weight, groups)
    for copy in (True, False):
        got = _engine._pack_weights(weight, groups, uniform, copy=copy)
        np.testing.assert_array_equal(got, want)
        if copy:
            assert not np.shares_memory(got, weight)


def test_repeated_tiny_calls_reuse_nothing_that_holds_data(rng):
    """Calls of one cached layout (new weights, bias, border value, out=) each get their own result."""
    x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
    out = np.empty((1, 3, 8, 8), np.float32)
    for k in range(4):
        w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
        b = rng.standard_normal(3).astype(np.float32) if k % 2 else None
        options = dict(pads=(1, 1, 1, 1), mode="constant", cval=float(k))
        want = reference_correlate(x, w, b, **options)
        for target in (None, out):
            got = _engine.correlate(x, w, b, out=target, method="direct", **options)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        assert np.shares_memory(got, out)


def test_small_banks_changed_in_place_are_packed_again(rng):
    """Packed weights are kept by content: a weight array written in place gives the new bank's result."""
    x = rng.standard_normal((1, 2, 16, 16)).astype(np.float32)
    w = rng.standard_normal((16, 2, 3, 3)).astype(np.float32)  # two blocks of 8 filters: a packed copy
    for k in range(3):
        want = reference_correlate(x, w, pads=(1, 1, 1, 1), mode="reflect")
        got = _engine.correlate(x, w, pads=(1, 1, 1, 1), mode="reflect", method="direct")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        w[k * 5] *= -2.0
        w[15, 1, 2, 2] += 1.0


def test_cached_layout_arrays_are_read_only(monkeypatch):
    x = np.ones((1, 1, 8, 8), np.float32)
    _, call = _captured_kernel_call(monkeypatch, x, np.ones((1, 1, 3, 3), np.float32), pads=(1, 1, 1, 1))
    for name in ("blk_start", "blk_size", "blk_woff", "bias", "cval_row"):
        assert not call[name].flags.writeable, name
    for name in ("out", "ptr_scratch", "tap_scratch", "buf_scratch"):
        assert call[name].flags.writeable, name


def test_concurrent_tiny_calls_from_python_threads(rng):
    """Tiny calls share cached layouts across Python threads but never scratch or results."""
    import threading

    inputs = [rng.standard_normal((1, 1, 8, 8)) for _ in range(6)]
    weights = [rng.standard_normal((1, 1, 3, 3)) for _ in range(6)]
    expected = [reference_correlate(x, w, pads=(1, 1, 1, 1), mode="reflect") for x, w in zip(inputs, weights)]
    failures = []

    def work(k):
        for _ in range(300):
            got = _engine.correlate(inputs[k], weights[k], pads=(1, 1, 1, 1), mode="reflect", method="direct")
            if not np.allclose(got, expected[k], rtol=1e-12, atol=1e-12):
                failures.append(k)
                return

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_a_tiny_call_still_refuses_a_bad_num_threads():
    x, w = np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match="`num_threads` must be a positive int or None; got 0"):
        _engine.correlate(x, w, num_threads=0)
    with pytest.raises(TypeError, match="`num_threads` must be a positive int or None"):
        _engine.correlate(x, w, num_threads=2.0)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("mode, cval", [("constant", 0.0), ("constant", 0.7), ("reflect", 0.0), ("wrap", 0.0)])
@pytest.mark.parametrize(
    "pixels, dtype", [(np.float32, np.float64), (np.float64, np.float32), (np.uint16, np.float64)], ids=str
)
def test_input_of_another_dtype_than_the_weights_is_converted_as_read(method, mode, cval, pixels, dtype):
    """float32 pixels with float64 weights (imgconv.ndimage's rule) equal filtering the float64 copy."""
    rng = np.random.default_rng(5)
    x = (rng.random((2, 3, 29, 70)) * 300).astype(pixels)
    w = rng.standard_normal((4, 3, 3, 5)).astype(dtype)
    got = _engine.correlate(x, w, pads=(1, 2, 2, 3), mode=mode, cval=cval, method=method)
    expected = reference_correlate(x, w, pads=(1, 2, 2, 3), mode=mode, cval=cval)
    assert got.dtype == dtype
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=(1e-12 if dtype == np.float64 else 2e-6) * scale)


def test_the_kernel_refuses_in_place_reads_of_input_of_another_dtype(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 30, 64), dtype=np.float32)
    weight = rng.standard_normal((3, 2, 3, 3), dtype=np.float32)
    kernel, call = _captured_kernel_call(monkeypatch, x, weight, pads=(1, 1, 1, 1), mode="reflect", num_threads=1)
    assert call["ja"] < call["jb"]
    call["x"] = x.astype(np.float64)  # float64 pixels for float32 weights: only the buffers convert them
    with pytest.raises(ValueError, match=r"^correlate_nchw: columns \[\d+, \d+\) cannot be read in place"):
        kernel.correlate_nchw(**call)


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize(
    "kh, kw, stride, dilation, width",
    [(15, 1, 1, 1, 16384), (15, 1, 1, 1, 16400), (3, 3, 1, 1, 16384), (13, 3, 2, 2, 16384), (40, 1, 1, 1, 6000)],
)
def test_wide_rows_in_column_chunks_match_reference_and_the_whole_width(
    path, dtype, kh, kw, stride, dilation, width, monkeypatch
):
    """Rows so wide that a block's input rows overflow the cache run in column chunks (and rows
    a multiple of 4 KB apart under a tall kernel through the buffers): every mode, tall kernels
    that reach past the top and bottom of a short image, against the reference and bit for bit
    against the same call over the whole width."""
    rng = np.random.default_rng(kh * width)
    h = 11
    if dtype == np.uint8:
        x = rng.integers(0, 256, (1, 2, h, width)).astype(np.uint8)
        wdtype = np.float32
    else:
        x = rng.standard_normal((1, 2, h, width)).astype(dtype)
        wdtype = dtype
    wt = rng.standard_normal((4, 1, kh, kw)).astype(wdtype)
    pads = ((kh - 1) * dilation // 2 + 3, (kh - 1) * dilation // 2, 2, 1)
    for mode in MODES:
        cval = 0.0 if dtype == np.uint8 else 1.5
        kwargs = dict(pads=pads, mode=mode, cval=cval, stride=(stride, 1), dilation=(dilation, dilation), groups=2)
        with _dispatch.using(path):
            _engine._LAYOUTS.clear()
            assert _engine._column_chunk(width, 1, (kh - 1) * dilation, np.dtype(wdtype).itemsize) < width
            got = _engine.correlate(x, wt, None, num_threads=2, **kwargs)
            want = reference_correlate(x, wt, None, **kwargs)
            bound = reference_bound(x, wt, **kwargs)
            assert got.dtype == wdtype
            np.testing.assert_array_less(np.abs(got - want), 2 * (kh * kw + 1) * np.finfo(wdtype).eps * bound + 1e-30)
            monkeypatch.setattr(_engine, "_CHUNK_ABOVE_BYTES", 1 << 62)  # the whole width in every work item
            _engine._LAYOUTS.clear()
            whole = _engine.correlate(x, wt, None, num_threads=2, **kwargs)
            monkeypatch.undo()
            _engine._LAYOUTS.clear()
            np.testing.assert_array_equal(got, whole)


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_strided_views_with_contiguous_rows_are_read_in_place(path, dtype):
    """A view whose images overlap (a volume's consecutive planes as channels, as imgconv.ndimage
    folds a 3-D kernel's depth) and a cropped view are read without a copy: bit-equal to the
    same call on a C-contiguous copy, every mode, in place and through the buffers."""
    rng = np.random.default_rng(7)
    wdtype = np.float32 if dtype == np.uint8 else dtype
    base = rng.standard_normal((10, 40, 64)) * 40 + 100
    volume = base.astype(dtype)
    step = volume.strides[0]
    overlapping = np.lib.stride_tricks.as_strided(
        volume, shape=(8, 3, 40, 64), strides=(step, step) + volume.strides[1:], writeable=False
    )
    cropped = volume.reshape(2, 5, 40, 64)[:, 1:4, 3:37, 5:59]
    w = rng.standard_normal((2, 3, 3, 5)).astype(wdtype)
    for x in (overlapping, cropped):
        assert not x.flags.c_contiguous and _engine._native_rows(x) is x
        for mode in MODES:
            cval = 0.0 if dtype == np.uint8 else -2.0
            kwargs = dict(pads=(1, 2, 2, 2), mode=mode, cval=cval, method="direct")
            with _dispatch.using(path):
                for threads in (1, 2):
                    got = _engine.correlate(x, w, num_threads=threads, **kwargs)
                    want = _engine.correlate(np.ascontiguousarray(x), w, num_threads=threads, **kwargs)
                    np.testing.assert_array_equal(got, want)
    # Rows that are not contiguous are copied first.
    assert _engine._native_rows(volume.reshape(2, 5, 40, 64)[..., ::2]).flags.c_contiguous


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_passes_equal_two_correlations(path, dtype):
    """correlate_passes (column pass into a per-thread buffer, then the row pass) equals a (kh, 1)
    correlation followed by a (1, kw) one bit for bit, with rows_first the other order, and summed
    the sum of the two correlations of the input: every
    mode, pads wider than the image, blocks at the edges and inside, one and two threads, a strided
    input, divisors."""
    rng = np.random.default_rng(5)
    cases = [((1, 300, 257), 17, 9, (8, 8, 4, 4)), ((3, 17, 29), 5, 5, (2, 2, 2, 2)), ((2, 5, 3), 9, 9, (20, 3, 1, 30))]
    cases += [((1, 1, 40), 3, 1, (0, 2, 0, 0)), ((4, 64, 100), 1, 7, (0, 0, 6, 0))]
    for shape, kh, kw, pads in cases:
        x = rng.standard_normal(shape).astype(dtype)
        column, row = rng.standard_normal(kh).astype(dtype), rng.standard_normal(kw).astype(dtype)
        top, bottom, left, right = pads
        for mode in MODES:
            for threads in (1, 2):
                engine = dict(mode=mode, cval=1.5, method="direct", num_threads=threads)
                passes = dict(pads=pads, mode=mode, cval=1.5, num_threads=threads)
                vertical = dict(weight=column.reshape(1, 1, -1, 1), pads=(top, bottom, 0, 0), **engine)
                horizontal = dict(weight=row.reshape(1, 1, 1, -1), pads=(0, 0, left, right), **engine)
                with _dispatch.using(path):
                    got = _engine.correlate_passes(x, column, row, **passes)
                    want = _engine.correlate(_engine.correlate(x[:, None], **vertical), **horizontal)[:, 0]
                    np.testing.assert_array_equal(got, want)
                    got = _engine.correlate_passes(x, column, row, rows_first=True, divisors=(3, 5), **passes)
                    first = _engine.correlate(x[:, None], **horizontal)
                    first /= 5
                    want = _engine.correlate(first, **vertical)[:, 0]
                    want /= 3
                    np.testing.assert_array_equal(got, want)
                if kh == kw and pads == (kh // 2,) * 4:  # summed: the shape kept, each pass over x
                    with _dispatch.using(path):
                        got = _engine.correlate_passes(x, column, row, summed=True, **passes)
                        want = _engine.correlate(x[:, None], **vertical)[:, 0]
                        want += _engine.correlate(x[:, None], **horizontal)[:, 0]
                    np.testing.assert_array_equal(got, want)
    # Strided planes read in place; divisors divide each pass's sums as `y /= d` would.
    x = rng.standard_normal((4, 40, 64)).astype(dtype)[::2, 3:, 5:]
    ones = np.ones(5, dtype)
    got = _engine.correlate_passes(x, ones, ones, pads=(2, 2, 2, 2), mode="symmetric", divisors=(5, 5))
    first = _engine.correlate(x[:, None], ones.reshape(1, 1, -1, 1), pads=(2, 2, 0, 0), mode="symmetric")
    first /= 5
    want = _engine.correlate(first, ones.reshape(1, 1, 1, -1), pads=(0, 0, 2, 2), mode="symmetric")[:, 0]
    want /= 5
    np.testing.assert_array_equal(got, want)


# -- paired taps: scipy's NI_Correlate1D order of operations ------------------------------------

_SCIPY_OF_ENGINE = {
    "constant": "constant",
    "edge": "nearest",
    "reflect": "mirror",
    "symmetric": "reflect",
    "wrap": "wrap",
}


def _gaussian_weights(sigma, order):
    """scipy's Gaussian derivative as correlation weights, built here (not from imgconv)."""
    from scipy.ndimage._filters import _gaussian_kernel1d

    return _gaussian_kernel1d(sigma, order, int(4 * sigma + 0.5))[::-1].copy()


@pytest.mark.parametrize("path", _dispatch.available_paths())
@pytest.mark.parametrize("mode", MODES)
def test_paired_correlation_is_scipys_bit_for_bit(path, mode):
    """correlate_paired equals scipy.ndimage.correlate1d exactly: float64 sums, stored in float64 or
    rounded once to float32, along a contiguous axis (one line per item) and a strided one (strips of
    columns in chunks of positions: shapes past one strip and one chunk), symmetric and antisymmetric
    kernels in one call, one and two threads, float32 and uint8 pixels."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(11)
    bank = np.stack([_gaussian_weights(2.5, order) for order in range(4)])
    signs = [1, -1, 1, -1]
    for shape in [(2, 300, 70), (3, 41, 1), (1, 7, 5)]:  # an axis shorter than the kernel reaches too
        for pixels in (rng.standard_normal(shape) * 50, rng.integers(0, 256, shape).astype(np.uint8)):
            for store in (np.float64, np.float32):
                for threads in (1, 2):
                    with _dispatch.using(path):
                        got = _engine.correlate_paired(
                            pixels,
                            bank,
                            signs=signs,
                            mode=mode,
                            cval=0.5,
                            dtype=np.float64,
                            out_dtype=store,
                            num_threads=threads,
                        )
                    assert got.shape == (shape[0], 4, shape[1], shape[2]) and got.dtype == store
                    for o, weights in enumerate(bank):
                        want = ndi.correlate1d(
                            pixels.astype(np.float64), weights, axis=1, mode=_SCIPY_OF_ENGINE[mode], cval=0.5
                        )
                        np.testing.assert_array_equal(got[:, o], want.astype(store))


@pytest.mark.parametrize("mode", MODES)
def test_paired_float32_sums_pair_as_scipy_does(mode):
    """Summed in float32, the paired order still gives exact zeros: an odd derivative of a constant,
    a smoothed antisymmetric line on its axis; and spaced taps equal a zero-inserted kernel."""
    odd, smooth = _gaussian_weights(3.0, 1).astype(np.float32), _gaussian_weights(1.5, 0).astype(np.float32)
    flat = np.full((3, 90, 40), 0.1, np.float32)
    assert not _engine.correlate_paired(flat, odd, signs=-1, mode=mode, cval=0.1).any()
    half = np.random.default_rng(2).standard_normal((2, 20, 3)).astype(np.float32)
    anti = np.concatenate([-half[:, ::-1], np.zeros((2, 1, 3), np.float32), half], axis=1)
    y = _engine.correlate_paired(anti, smooth, signs=1, mode="constant")[:, 0]
    assert not y[:, 20].any()
    np.testing.assert_array_equal(y[:, :20], -y[:, 21:][:, ::-1])
    x = np.random.default_rng(3).standard_normal((2, 50, 33))
    for d in (2, 3):
        spread = np.zeros(d * (len(odd) - 1) + 1)
        spread[::d] = odd
        got = _engine.correlate_paired(x, odd.astype(np.float64), signs=-1, mode=mode, dilation=d)[:, 0]
        want = _engine.correlate_paired(x, spread, signs=-1, mode=mode)[:, 0]
        np.testing.assert_array_equal(got, want)


def test_paired_correlation_keeps_scipys_non_finite_outputs():
    from scipy import ndimage as ndi

    x = np.full((1, 60, 3), 0.25)
    x[0, 10, 0], x[0, 14, 0], x[0, 30, 1], x[0, 40, 2] = np.inf, -np.inf, np.nan, np.inf
    for order, sign in ((0, 1), (1, -1), (2, 1)):
        weights = _gaussian_weights(1.0, order)
        got = _engine.correlate_paired(x, weights, signs=sign, mode="edge")[0, 0]
        want = ndi.correlate1d(x[0], weights, axis=0, mode="nearest")
        np.testing.assert_array_equal(got, want)  # NaN where scipy's is NaN, infinities of the same sign


def test_paired_correlation_of_empty_axes_and_bad_arguments():
    w = _gaussian_weights(1.0, 1)
    for shape in [(0, 5, 3), (2, 0, 3), (2, 5, 0)]:
        y = _engine.correlate_paired(np.ones(shape), w, signs=-1, mode="reflect")
        assert y.shape == (shape[0], 1, shape[1], shape[2])
    with pytest.raises(ValueError, match="sign 0 of kernel 1"):
        _engine.correlate_paired(np.ones((1, 9, 2)), np.stack([w, w]), signs=[1, 0], mode="reflect")
    with pytest.raises(ValueError, match="bad geometry"):
        _engine.correlate_paired(np.ones((1, 9, 2)), np.ones((1, 4)), signs=1, mode="reflect")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interleave_writes_planes_into_the_last_axis_of_a_strided_view(dtype):
    rng = np.random.default_rng(4)
    # one team-sized call, an N-D one, a tiny one, and 19 planes (the kernel's groups of 8 planes, the
    # last one short) of 2100 pixels (blocks of 256, the last one short)
    for shape in [(3, 700, 900), (2, 5, 7, 3), (1, 1, 1), (19, 300, 7), (16, 256, 1)]:
        planes = rng.standard_normal(shape).astype(dtype)
        for threads in (1, 2):
            out = np.full(shape[1:] + (shape[0] + 3,), -7.0, dtype)
            _engine.interleave(planes, out[..., 1 : 1 + shape[0]], threads)
            np.testing.assert_array_equal(out[..., 1 : 1 + shape[0]], np.moveaxis(planes, 0, -1))
            assert (out[..., 0] == -7).all() and (out[..., 1 + shape[0] :] == -7).all()
    with pytest.raises(ValueError, match="bad geometry"):
        _engine.interleave(np.ones((2, 4, 4), dtype), np.ones((4, 4, 3), dtype))


def _features_reference(smoothed):
    """One scale's features as scikit-image computes them: SciPy's 3 x 3 Sobel convolutions, np.gradient."""
    from scipy import ndimage

    edge, smooth = np.array([1.0, 0.0, -1.0]), np.array([1.0, 2.0, 1.0]) / 4
    r0 = ndimage.convolve(smoothed, edge[:, None] * smooth[None, :], mode="reflect")
    r1 = ndimage.convolve(smoothed, smooth[:, None] * edge[None, :], mode="reflect")
    magnitude = np.sqrt(np.square(r0) + np.square(r1)) / np.sqrt(2, dtype=np.float32)
    g0, g1 = np.gradient(smoothed)
    m00, m01, m11 = np.gradient(g0, axis=0), np.gradient(g0, axis=1), np.gradient(g1, axis=1)
    h = np.sqrt(np.square(m01) + np.square((m00 - m11) * np.float32(0.5)))
    mean = (m00 + m11) * np.float32(0.5)
    return {"intensity": [smoothed], "edges": [magnitude], "texture": [mean + h, mean - h]}


def test_features_2d_are_scipys_and_numpys_float32_results_bit_for_bit():
    rng = np.random.default_rng(8)
    shape = (300, 700)  # large enough for a team of threads
    scales = [rng.standard_normal(shape).astype(np.float32) * np.float32(10.0**k) for k in (-3, 0, 4)]
    scales[1][0, :4], scales[1][7, 0], scales[2][-1, -1] = np.inf, np.nan, -np.inf
    with np.errstate(invalid="ignore"):
        groups = [_features_reference(s) for s in scales]
    names = ["intensity", "edges", "texture"]
    for chosen in [names, ["edges"], ["intensity", "texture"], ["texture"]]:
        want = np.stack([plane for g in groups for name in chosen for plane in g[name]], axis=-1)
        flags = {name: name in chosen for name in names}
        for threads in (1, 2):
            out = np.zeros(shape + (want.shape[-1] + 2,), np.float32)
            with np.errstate(invalid="ignore"):
                _engine.features_2d(out[..., 1:-1], scales, **flags, num_threads=threads)
            np.testing.assert_array_equal(out[..., 1:-1], want)
            assert not out[..., 0].any() and not out[..., -1].any()
    with pytest.raises(ValueError, match="for 3 scales of 4 features"):
        _engine.features_2d(np.zeros(shape + (4,), np.float32), scales)
    with pytest.raises(ValueError, match="a smoothed image of shape"):
        _engine.features_2d(np.zeros((5, 5, 4), np.float32), scales[:1])


def test_paired_signs_as_python_ints_numpy_scalars_lists_and_arrays_agree():
    # the signs are kept per value (_engine._paired_signs): every spelling of one must give one result
    x = np.random.default_rng(15).random((2, 11, 3))
    w = np.stack([_gaussian_weights(1.0, 1), 0.5 * _gaussian_weights(1.0, 1)])
    want = _engine.correlate_paired(x, w, signs=-1, mode="reflect")
    for signs in (np.int64(-1), [-1, -1], (-1, -1), np.array([-1, -1], np.int8)):
        np.testing.assert_array_equal(_engine.correlate_paired(x, w, signs=signs, mode="reflect"), want)
    mixed = _engine.correlate_paired(x, np.stack([w[0], _gaussian_weights(1.0, 0)]), signs=[-1, 1], mode="reflect")
    np.testing.assert_array_equal(mixed[:, 0], want[:, 0])


def test_a_team_keeps_blocks_twice_a_wide_kernels_reach_when_most_columns_are_buffered():
    """Blocks of 4 rows made 2 threads convert each input row of a 21x21 kernel on 64² six times (2.2x slower)."""

    def block_rows(size, k, threads):
        key = ((1, 1, size, size), (1, 1, k, k), np.dtype(np.float32), False, (k // 2,) * 4, (1, 1), (1, 1), 1)
        return _engine._thread_sizes(key, _engine._direct_layout(key, _engine._kernel()), threads)[0]

    assert block_rows(64, 21, 2) == 40  # every column within the kernel's reach of a border
    assert block_rows(64, 21, 1) == 40
    assert block_rows(512, 21, 2) == 32  # 8 blocks per thread: the border columns are a few percent
    assert block_rows(64, 3, 2) == 4
