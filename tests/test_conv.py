"""imgconv.conv2d / imgconv.Conv2d: layouts, out=, threads, errors, the module class."""

import io
import pickle
import threading
import time

import numpy as np
import pytest

import imgconv

from _reference import reference_correlate

TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _reference_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """torch semantics spelled out with the reference and imgconv.shape only for the pads."""

    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)

    kh, kw = w.shape[2:]
    dh, dw = pair(dilation)
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    elif padding == "valid":
        pads = (0, 0, 0, 0)
    else:
        ph, pw = pair(padding)
        pads = (ph, ph, pw, pw)
    x4 = x[None] if x.ndim == 3 else x
    y = reference_correlate(
        x4, w, b, pads=pads, mode=TORCH_MODES[padding_mode], stride=pair(stride), dilation=(dh, dw), groups=groups
    )
    return y[0] if x.ndim == 3 else y


def test_one_dimensional_dilation_example():
    """dilation=1: w0 x0 + w1 x1 + w2 x2; dilation=2: w0 x0 + w1 x2 + w2 x4 (spec section 5)."""
    x = np.arange(10, dtype=np.float64).reshape(1, 1, 1, 10) ** 2
    w = np.array([2.0, 3.0, 5.0]).reshape(1, 1, 1, 3)
    xs = x.ravel()
    for d, lout in ((1, 8), (2, 6), (3, 4)):
        y = imgconv.conv2d(x, w, dilation=d).ravel()
        assert y.shape == (lout,)
        assert y[0] == 2 * xs[0] + 3 * xs[d] + 5 * xs[2 * d]
    # stride 2, dilation 2, padding 1: tap w2 of output i reads x[2i + 3]
    y = imgconv.conv2d(x, np.array([0.0, 0.0, 1.0]).reshape(1, 1, 1, 3), stride=2, dilation=2, padding=(0, 1)).ravel()
    np.testing.assert_array_equal(y[:3], xs[[3, 5, 7]])


def test_correlation_not_convolution():
    """A centred impulse correlated with w gives w rotated by 180 degrees."""
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    y = imgconv.conv2d(x, w, padding=1)
    np.testing.assert_array_equal(y[0, 0, 1:4, 1:4], w[0, 0, ::-1, ::-1])


def _layouts(x):
    """The same values in many memory layouts."""
    f = np.asfortranarray(x)
    big = np.zeros((x.shape[0], x.shape[1], x.shape[2] * 2, x.shape[3] * 3), x.dtype)
    big[:, :, ::2, ::3] = x
    strided = big[:, :, ::2, ::3]
    neg = x[:, :, ::-1, ::-1].copy()[:, :, ::-1, ::-1]
    ro = x.copy()
    ro.setflags(write=False)
    swapped = x.astype(x.dtype.newbyteorder(">" if np.little_endian else "<"))
    transposed = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return {
        "fortran": f,
        "strided": strided,
        "negative": neg,
        "readonly": ro,
        "nonnative": swapped,
        "channels_last": transposed,
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_any_layout_same_result_and_input_untouched(dtype, rng, tmp_path):
    x = rng.standard_normal((2, 4, 13, 17)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 3)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    kwargs = dict(stride=(1, 2), padding=2, dilation=2, groups=2, padding_mode="reflect")
    want = imgconv.conv2d(x, w, b, **kwargs)
    layouts = _layouts(x)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=dtype, shape=x.shape)
    mm[...] = x
    mm.flush()
    layouts["memmap"] = np.load(tmp_path / "x.npy", mmap_mode="r")
    for name, xv in layouts.items():
        before = np.array(xv, copy=True)
        got = imgconv.conv2d(xv, np.asfortranarray(w), b[::-1].copy()[::-1], **kwargs)
        assert got.flags.c_contiguous and got.dtype == dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
        np.testing.assert_array_equal(np.asarray(xv), before, err_msg=name)
    np.testing.assert_allclose(want, _reference_conv2d(x, w, b, **kwargs), rtol=1e-5, atol=1e-5)


def test_unbatched_input(rng):
    x = rng.standard_normal((3, 9, 11))
    w = rng.standard_normal((5, 3, 2, 3))
    y = imgconv.conv2d(x, w, padding="same", padding_mode="circular")
    assert y.shape == (5, 9, 11)
    np.testing.assert_allclose(y, _reference_conv2d(x, w, padding="same", padding_mode="circular"), rtol=1e-12)


def test_empty_batch(rng):
    y = imgconv.conv2d(np.zeros((0, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32))
    assert y.shape == (0, 4, 3, 3)


@pytest.mark.parametrize("unbatched", [False, True])
def test_out_argument(rng, unbatched):
    x = rng.standard_normal((2, 3, 8, 9)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    if unbatched:
        x = x[0]
    want = imgconv.conv2d(x, w, padding=1)
    out = np.full(want.shape, np.nan, np.float32)
    got = imgconv.conv2d(x, w, padding=1, out=out)
    assert got is out
    np.testing.assert_array_equal(out, want)


def test_out_is_checked(rng):
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="`out` must have shape"):
        imgconv.conv2d(x, w, out=np.empty((1, 4, 8, 8), np.float32))
    with pytest.raises(TypeError, match="`out` must have dtype float32"):
        imgconv.conv2d(x, w, out=np.empty((1, 4, 6, 6), np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        imgconv.conv2d(x, w, out=np.empty((1, 4, 6, 12), np.float32)[..., ::2])
    with pytest.raises(TypeError, match="`out` must be a NumPy array"):
        imgconv.conv2d(x, w, out=[0.0])
    frozen = np.empty((1, 4, 6, 6), np.float32)
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        imgconv.conv2d(x, w, out=frozen)
    # out overlapping the input (a 1x1 conv would otherwise read what it overwrote)
    buf = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="must not overlap `input`"):
        imgconv.conv2d(buf, np.ones((3, 3, 1, 1), np.float32), out=buf)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_do_not_depend_on_thread_count(rng, dtype):
    x = rng.standard_normal((3, 5, 37, 53)).astype(dtype)
    w = rng.standard_normal((11, 5, 3, 5)).astype(dtype)
    first = imgconv.conv2d(x, w, padding=(2, 3), dilation=(2, 1), padding_mode="reflect", num_threads=1)
    for n in (2, 3, 7):
        again = imgconv.conv2d(x, w, padding=(2, 3), dilation=(2, 1), padding_mode="reflect", num_threads=n)
        np.testing.assert_array_equal(again, first)


def test_concurrent_calls_from_python_threads(rng):
    """Thread safety: each Python thread gets exactly its own single-threaded result."""
    inputs = [rng.standard_normal((2, 3, 64, 64)).astype(np.float32) for _ in range(6)]
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    expected = [imgconv.conv2d(x, w, padding=2, dilation=2, num_threads=1) for x in inputs]
    results = [None] * len(inputs)

    def work(k):
        for _ in range(5):
            results[k] = imgconv.conv2d(inputs[k], w, padding=2, dilation=2, num_threads=2)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_gil_is_released_during_compute(rng):
    """A pure-Python thread keeps running while conv2d computes.

    The counter thread advances during a sleep (GIL free) and during a conv2d call
    of similar length; with the GIL held it could advance for at most one switch
    interval (5 ms) of a ~150 ms call.
    """
    x = rng.standard_normal((1, 8, 256, 256)).astype(np.float32)
    w = rng.standard_normal((16, 8, 5, 5)).astype(np.float32)
    imgconv.conv2d(x, w, num_threads=1)
    reps = 1
    while True:  # find a call that takes >= 0.15 s
        t0 = time.perf_counter()
        for _ in range(reps):
            imgconv.conv2d(x, w, num_threads=1)
        took = time.perf_counter() - t0
        if took >= 0.15:
            break
        reps *= 2
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        c0 = count[0]
        time.sleep(took)
        during_sleep = count[0] - c0
        c0 = count[0]
        for _ in range(reps):
            imgconv.conv2d(x, w, num_threads=1)
        during_conv = count[0] - c0
    finally:
        stop.set()
        t.join()
    assert during_conv > 0.2 * during_sleep, (during_conv, during_sleep)


def test_thread_settings(monkeypatch):
    monkeypatch.delenv("IMGCONV_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    import os

    default = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not imgconv.show_config(file=io.StringIO())["openmp"]:
        default = 1
    assert imgconv.get_num_threads() <= default  # OpenMP's own setting (tests/test_threads.py)
    monkeypatch.setenv("IMGCONV_NUM_THREADS", "5")
    assert imgconv.get_num_threads() == 5
    imgconv.set_num_threads(2)
    try:
        assert imgconv.get_num_threads() == 2
        with imgconv.num_threads(1):
            assert imgconv.get_num_threads() == 1
        assert imgconv.get_num_threads() == 2
    finally:
        imgconv.set_num_threads(None)
    assert imgconv.get_num_threads() == 5
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        imgconv.set_num_threads(0)
    with pytest.raises(TypeError, match="`num_threads` must be a positive int"):
        imgconv.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 1, 1)), num_threads=1.5)


def test_context_is_per_python_thread():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def other():
        inside.wait()
        seen["other"] = imgconv.get_num_threads()
        release.set()

    t = threading.Thread(target=other)
    t.start()
    before = imgconv.get_num_threads()
    with imgconv.num_threads(1 if before != 1 else 2):
        inside.set()
        release.wait()
    t.join()
    assert seen["other"] == before


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        ({"stride": 1.0}, TypeError, "`stride`"),
        ({"stride": (1, 2, 3)}, ValueError, "`stride`.*length 3"),
        ({"stride": "ab"}, TypeError, "`stride`"),
        ({"dilation": (1, 0)}, ValueError, r"`dilation`.*\(1, 0\)"),
        ({"dilation": True}, TypeError, "`dilation`"),
        ({"padding": 1.5}, TypeError, "`padding`"),
        ({"padding": (-1, 0)}, ValueError, "`padding`"),
        ({"padding": -1, "padding_mode": "reflect"}, ValueError, "`padding`"),
        ({"groups": 2.0}, TypeError, "`groups`"),
        (
            {"padding_mode": "ZEROS"},
            ValueError,
            r"`padding_mode` must be one of \['circular', 'reflect', 'replicate', 'zeros'\]",
        ),
    ],
)
def test_bad_hyper_parameters(bad, exc, match):
    x = np.ones((1, 2, 6, 6), np.float32)
    w = np.ones((2, 2, 3, 3), np.float32)
    with pytest.raises(exc, match=match):
        imgconv.conv2d(x, w, **bad)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.float16, np.complex64, bool])
def test_non_float_input_is_a_type_error_that_points_to_a_fix(dtype):
    x = np.ones((1, 1, 4, 4), dtype)
    w = np.ones((1, 1, 3, 3), dtype)
    with pytest.raises(TypeError, match=r"`input` must be float32 or float64.*astype\(np.float32\)"):
        imgconv.conv2d(x, w)


def test_other_bad_inputs():
    w = np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(TypeError, match="`input` must be an array"):
        imgconv.conv2d(None, w)
    with pytest.raises(ValueError, match="`weight` must be 4-D"):
        imgconv.conv2d(np.ones((1, 1, 4, 4), np.float32), w[0])
    with pytest.raises(ValueError, match="`weight` kernel size"):
        imgconv.conv2d(np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 0, 3), np.float32))
    with pytest.raises(ValueError, match="`bias` must be 1-D with 1 elements"):
        imgconv.conv2d(np.ones((1, 1, 4, 4), np.float32), w, np.ones((1, 1), np.float32))
    with pytest.raises(ValueError, match="at least one output channel"):
        imgconv.conv2d(np.ones((1, 1, 4, 4), np.float32), np.ones((0, 1, 3, 3), np.float32))


def test_array_likes_are_accepted():
    x = [[[[1.0, 2.0, 3.0]]]]
    y = imgconv.conv2d(x, np.ones((1, 1, 1, 2)))
    np.testing.assert_array_equal(y, [[[[3.0, 5.0]]]])


# --- Conv2d --------------------------------------------------------------------------


def test_conv2d_module_initialisation_like_torch():
    layer = imgconv.Conv2d(6, 8, (3, 5), groups=2, seed=0)
    bound = 1 / np.sqrt(3 * 3 * 5)
    assert layer.weight.shape == (8, 3, 3, 5) and layer.weight.dtype == np.float32
    assert layer.bias.shape == (8,)
    assert np.abs(layer.weight).max() <= bound and np.abs(layer.bias).max() <= bound
    # uniform, not a constant: the spread covers most of the interval
    assert layer.weight.max() > 0.8 * bound and layer.weight.min() < -0.8 * bound
    again = imgconv.Conv2d(6, 8, (3, 5), groups=2, seed=0)
    np.testing.assert_array_equal(layer.weight, again.weight)
    other = imgconv.Conv2d(6, 8, (3, 5), groups=2, seed=1)
    assert not np.array_equal(layer.weight, other.weight)
    assert imgconv.Conv2d(6, 8, 3, bias=False).bias is None


def test_conv2d_module_call_equals_functional(rng):
    layer = imgconv.Conv2d(
        4,
        6,
        3,
        stride=(2, 1),
        padding=(1, 2),
        dilation=(1, 2),
        groups=2,
        padding_mode="replicate",
        dtype=np.float64,
        seed=3,
    )
    x = rng.standard_normal((2, 4, 15, 16))
    np.testing.assert_array_equal(
        layer(x), imgconv.conv2d(x, layer.weight, layer.bias, (2, 1), (1, 2), (1, 2), 2, "replicate")
    )
    np.testing.assert_allclose(
        layer(x),
        _reference_conv2d(x, layer.weight, layer.bias, (2, 1), (1, 2), (1, 2), 2, "replicate"),
        rtol=1e-12,
        atol=1e-12,
    )
    assert layer.output_shape((15, 16)) == layer(x).shape[2:]


def test_conv2d_module_weights_are_settable_from_any_array(rng):
    layer = imgconv.Conv2d(2, 3, 3)
    new = rng.standard_normal((3, 2, 3, 3))  # float64 array, as from a state_dict
    layer.weight = new
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight, new.astype(np.float32))
    new[...] = 0  # the layer keeps its own copy
    assert np.abs(layer.weight).sum() > 0
    layer.weight = new.tolist()
    with pytest.raises(ValueError, match=r"`weight` must have shape \(3, 2, 3, 3\)"):
        layer.weight = np.ones((3, 2, 2, 2))
    with pytest.raises(ValueError, match=r"`bias` must have shape \(3,\)"):
        layer.bias = np.ones(4)
    layer.bias = None
    assert layer.bias is None


def test_conv2d_module_validates_at_construction():
    with pytest.raises(ValueError, match="`in_channels`"):
        imgconv.Conv2d(0, 3, 3)
    with pytest.raises(ValueError, match="`kernel_size`"):
        imgconv.Conv2d(1, 3, 0)
    with pytest.raises(ValueError, match="`stride`"):
        imgconv.Conv2d(1, 3, 3, stride=0)
    with pytest.raises(ValueError, match="`dilation`"):
        imgconv.Conv2d(1, 3, 3, dilation=-1)
    with pytest.raises(ValueError, match="`padding`"):
        imgconv.Conv2d(1, 3, 3, padding=-2)
    with pytest.raises(TypeError, match="`dtype`"):
        imgconv.Conv2d(1, 3, 3, dtype=np.int32)
    with pytest.raises(TypeError, match="`bias`"):
        imgconv.Conv2d(1, 3, 3, bias="yes")


def test_conv2d_module_repr_and_pickle():
    assert repr(imgconv.Conv2d(3, 16, 3)) == "Conv2d(3, 16, kernel_size=(3, 3))"
    layer = imgconv.Conv2d(
        4,
        8,
        (3, 5),
        stride=2,
        padding=1,
        dilation=(1, 2),
        groups=2,
        bias=False,
        padding_mode="circular",
        dtype=np.float64,
    )
    assert repr(layer) == (
        "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), "
        "dilation=(1, 2), groups=2, bias=False, padding_mode='circular', dtype=float64)"
    )
    clone = pickle.loads(pickle.dumps(layer))
    np.testing.assert_array_equal(clone.weight, layer.weight)
    assert repr(clone) == repr(layer)


def test_conv2d_module_receptive_field():
    layer = imgconv.Conv2d(1, 1, (3, 5), padding="same", dilation=(2, 3))
    rf = layer.receptive_field
    assert rf.extent == (5, 13) and rf.jump == (1, 1) and rf.start == (-2, -6)


# --- shape arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    "hw, kwargs, want",
    [
        ((10, 10), dict(kernel_size=3), (8, 8)),
        ((10, 10), dict(kernel_size=3, dilation=2), (6, 6)),
        ((10, 10), dict(kernel_size=3, dilation=3), (4, 4)),
        ((7, 9), dict(kernel_size=(4, 2), padding="same", dilation=(1, 3)), (7, 9)),
        ((15, 15), dict(kernel_size=4, stride=2, padding=1), (7, 7)),
        ((12, 12), dict(kernel_size=3, stride=5, padding=2), (3, 3)),
        ((1, 1), dict(kernel_size=3, padding=1), (1, 1)),
        ((4, 4), dict(kernel_size=5, dilation=3, padding="same"), (4, 4)),
    ],
)
def test_conv_output_shape(hw, kwargs, want, rng):
    assert imgconv.conv_output_shape(hw, **kwargs) == want
    k = kwargs["kernel_size"]
    kh, kw = (k, k) if isinstance(k, int) else k
    y = imgconv.conv2d(
        np.zeros((1, 1) + hw), np.zeros((1, 1, kh, kw)), **{key: v for key, v in kwargs.items() if key != "kernel_size"}
    )
    assert y.shape[2:] == want


def test_conv_output_shape_errors():
    with pytest.raises(ValueError, match="Kernel size"):
        imgconv.conv_output_shape((5, 5), 3, dilation=3)
    with pytest.raises(ValueError, match="padding='same'"):
        imgconv.conv_output_shape((5, 5), 3, stride=2, padding="same")


@pytest.mark.parametrize(
    "dilations, strides, extent, jump",
    [
        ((1, 2, 4), (1, 1, 1), 15, 1),
        ((1, 2, 4), (2, 1, 1), 27, 2),
        ((1, 2, 4), (1, 2, 2), 23, 4),
        ((2, 2, 2), (1, 1, 1), 13, 1),
    ],
)
def test_receptive_field_spec_table(dilations, strides, extent, jump):
    layers = [{"kernel_size": 3, "dilation": d, "stride": s} for d, s in zip(dilations, strides)]
    rf = imgconv.receptive_field(layers)[-1]
    assert rf.extent == (extent, extent) and rf.jump == (jump, jump)


def test_receptive_field_matches_impulse_response():
    """Bounding extent and start agree with where an impulse response really lands."""
    layers = [
        imgconv.Conv2d(1, 1, 3, padding=1, dilation=1, bias=False, dtype=np.float64),
        imgconv.Conv2d(1, 1, 3, padding=2, dilation=2, bias=False, dtype=np.float64),
        imgconv.Conv2d(1, 1, 3, stride=2, padding=1, bias=False, dtype=np.float64),
    ]
    for layer in layers:
        layer.weight = np.ones((1, 1, 3, 3))
    fields = imgconv.receptive_field(layers)
    assert [f.extent[0] for f in fields] == [3, 7, 9]
    # The input pixels that influence output (0, 0) of the stack: back-propagate by brute force.
    size = 21
    influence = np.zeros(size)
    for k in range(size):
        x = np.zeros((1, 1, size, size))
        x[0, 0, 4, k] = 1.0
        y = x
        for layer in layers:
            y = layer(y)
        influence[k] = y[0, 0, :, 2].sum()
    cols = np.nonzero(influence)[0]
    rf = fields[-1]
    assert cols.min() == rf.start[1] + 2 * rf.jump[1]
    assert cols.max() - cols.min() + 1 == rf.extent[1]


def test_receptive_field_errors():
    with pytest.raises(ValueError, match=r"`layers\[0\]` has unknown keys \['kernal_size'\]"):
        imgconv.receptive_field([{"kernal_size": 3}])
    with pytest.raises(TypeError, match=r"`layers\[1\]` must be a Conv2d or a dict"):
        imgconv.receptive_field([{"kernel_size": 3}, 3])


# --- optional cross-check with PyTorch ---------------------------------------------------


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_against_torch_when_installed(padding_mode, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 23, 31)).astype(np.float32)
    layer = torch.nn.Conv2d(6, 9, (4, 3), padding="same", dilation=(1, 2), groups=3, padding_mode=padding_mode)
    ours = imgconv.Conv2d(6, 9, (4, 3), padding="same", dilation=(1, 2), groups=3, padding_mode=padding_mode)
    ours.weight = layer.weight.detach().numpy()
    ours.bias = layer.bias.detach().numpy()
    with torch.no_grad():
        want = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x), want, rtol=1e-5, atol=1e-5)


# --- separable path ----------------------------------------------------------------------


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sepconv2d_equals_dense_depthwise_conv(padding_mode, dtype, rng):
    x = rng.standard_normal((2, 3, 17, 23)).astype(dtype)
    col = rng.standard_normal((3, 5)).astype(dtype)
    row = rng.standard_normal((3, 4)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    kwargs = dict(stride=(2, 1), padding=(3, 2), dilation=(1, 2), padding_mode=padding_mode)
    got = imgconv.sepconv2d(x, col, row, b, **kwargs)
    dense = np.einsum("ci,cj->cij", col.astype(np.float64), row.astype(np.float64))[:, None]
    want = _reference_conv2d(x, dense, b, groups=3, **kwargs)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # one shared factor for every channel, unbatched input
    got1 = imgconv.sepconv2d(x[0], col[0], row[0], padding="same", padding_mode=padding_mode)
    want1 = _reference_conv2d(
        x[0],
        np.repeat(np.outer(col[0], row[0])[None, None], 3, 0).astype(np.float64),
        padding="same",
        groups=3,
        padding_mode=padding_mode,
    )
    np.testing.assert_allclose(got1, want1, rtol=tol, atol=tol)


def test_rank_one_depthwise_kernels_take_the_separable_path(rng, monkeypatch):
    from imgconv import _engine

    calls = []
    real = _engine.correlate_separable
    monkeypatch.setattr(_engine, "correlate_separable", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = rng.standard_normal((1, 2, 130, 131))
    g = np.exp(-(np.linspace(-2, 2, 9) ** 2))
    w = np.stack([np.outer(g, g), np.outer(g[::-1] * 2, g)])[:, None]
    y = imgconv.conv2d(x, w, padding=4, groups=2, padding_mode="reflect")
    assert calls, "rank-1 kernels should use two 1-D passes"
    np.testing.assert_allclose(
        y, _reference_conv2d(x, w, padding=4, groups=2, padding_mode="reflect"), rtol=1e-12, atol=1e-12
    )
    calls.clear()
    w_full = rng.standard_normal((2, 1, 9, 9))  # rank 9: the direct path
    y = imgconv.conv2d(x, w_full, padding=4, groups=2)
    assert not calls
    np.testing.assert_allclose(y, _reference_conv2d(x, w_full, padding=4, groups=2), rtol=1e-12, atol=1e-12)
    # On a tiny image one direct loop costs less than two passes (their fixed cost): no passes there.
    small = x[:, :, :20, :20]
    y = imgconv.conv2d(small, w[:, :, 2:7, 2:7], padding=2, groups=2)
    assert not calls
    np.testing.assert_allclose(y, _reference_conv2d(small, w[:, :, 2:7, 2:7], padding=2, groups=2), rtol=1e-12)


def test_separable_engine_with_constant_border_value(rng):
    """A constant border of cval becomes cval * sum(column) after the column pass."""
    from imgconv import _engine

    x = rng.standard_normal((1, 2, 9, 10))
    col = rng.standard_normal((2, 3))
    row = rng.standard_normal((2, 5))
    got = _engine.correlate_separable(x, col, row, pads=(4, 1, 2, 6), mode="constant", cval=2.5)
    dense = np.einsum("ci,cj->cij", col, row)[:, None]
    want = reference_correlate(x, dense, pads=(4, 1, 2, 6), mode="constant", cval=2.5, groups=2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_sepconv2d_errors():
    x = np.ones((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"`column` must have shape \(k,\) or \(C, k\) with C = 2"):
        imgconv.sepconv2d(x, np.ones((3, 3), np.float32), np.ones(3, np.float32))
    with pytest.raises(TypeError, match="`row` must have the same dtype"):
        imgconv.sepconv2d(x, np.ones(3, np.float32), np.ones(3, np.float64))
    with pytest.raises(ValueError, match="`input` must be 3-D"):
        imgconv.sepconv2d(np.ones(8, np.float32), np.ones(3, np.float32), np.ones(3, np.float32))


def test_repeated_calls_reuse_their_validation_but_never_its_refusals():
    """conv2d keeps the geometry of a validated call for the next call with the same shapes, dtypes and
    hyper-parameters; a call that differs in anything validation reads (a bool or numpy integer for an
    int, another dtype, another shape) is validated afresh, and refused as before."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 9, 11)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    first = imgconv.conv2d(x, w, b, stride=1, padding=1)
    again = imgconv.conv2d(x + 1, w, b, stride=1, padding=1)
    np.testing.assert_array_equal(first, imgconv.conv2d(x, w, b, stride=1, padding=1))
    np.testing.assert_array_equal(again, imgconv.conv2d(x + 1, w, b, stride=(1, 1), padding=(1, 1)))
    assert again.shape == (1, 4, 9, 11) and not np.array_equal(first, again)
    with pytest.raises(TypeError, match="stride"):
        imgconv.conv2d(x, w, b, stride=True, padding=1)
    with pytest.raises(TypeError):
        imgconv.conv2d(x, w, b.astype(np.float64), stride=1, padding=1)
    with pytest.raises(ValueError, match="bias"):
        imgconv.conv2d(x, w, b[:3], stride=1, padding=1)
    with pytest.raises(ValueError):
        imgconv.conv2d(x, w, b, stride=1, padding=1, padding_mode="mirror")
    with pytest.raises(ValueError):
        imgconv.conv2d(x[:, :1], w, b, stride=1, padding=1)
    unbatched = imgconv.conv2d(x[0], w, b, stride=1, padding=1)
    assert unbatched.shape == (4, 9, 11)
    np.testing.assert_array_equal(unbatched, imgconv.conv2d(x[0], w, b, stride=1, padding=1))
    np.testing.assert_array_equal(unbatched, first[0])


@pytest.mark.parametrize(
    "shape, wshape, kwargs",
    [
        ((1, 1, 64, 64), (1, 1, 3, 3), dict(padding=1)),
        ((1, 1, 8, 8), (1, 1, 3, 3), dict(padding="same", padding_mode="reflect")),
        ((3, 20, 17), (16, 3, 3, 3), dict(padding=1, padding_mode="circular")),
        ((2, 4, 31, 33), (4, 2, 3, 1), dict(stride=2, dilation=3, groups=2, padding_mode="replicate", padding=2)),
        ((1, 16, 32, 32), (16, 1, 3, 3), dict(groups=16, padding=1)),
        ((1, 1, 32, 32), (1, 1, 5, 5), dict(padding="same", padding_mode="reflect")),  # a separable candidate
        ((1, 16, 8, 8), (16, 16, 3, 3), dict(padding=1)),  # 144 taps: an FFT candidate
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias", [False, True])
def test_repeated_small_calls_take_the_planned_call_with_the_same_results(shape, wshape, kwargs, dtype, with_bias):
    """Calls whose plan cannot depend on the values (small direct work) are planned once per
    signature (imgconv._engine.small_call): every later call, with other values, a bias or
    a Fortran-ordered or byte-swapped input (another signature), matches the reference."""
    rng = np.random.default_rng(7)
    for round in range(4):
        x = rng.standard_normal(shape).astype(dtype)
        if round == 2:
            x = np.asfortranarray(x)
        if round == 3:
            x = x.astype(x.dtype.newbyteorder(">"))
        w = rng.standard_normal(wshape).astype(dtype)
        b = rng.standard_normal(wshape[0]).astype(dtype) if with_bias else None
        got = imgconv.conv2d(x, w, b, **kwargs)
        x4 = x if x.ndim == 4 else x[None]
        want = _reference_conv2d(x4.astype(np.float64), w, b, **kwargs)
        want = want if x.ndim == 4 else want[0]
        assert got.dtype == dtype and got.shape == want.shape
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_small_calls_of_candidates_are_planned_only_where_no_weight_changes_the_path(monkeypatch):
    """A 5x5 or 9x9 depthwise kernel on 32² runs one direct loop whatever its rank (two 1-D passes
    cost more there), so its signature is planned once; a 15x15 one may be separable, so it is not."""
    from imgconv import _engine

    monkeypatch.setattr(imgconv.conv, "_SMALL_CALLS", {})
    passes = []
    real = _engine.correlate_separable
    monkeypatch.setattr(_engine, "correlate_separable", lambda *a, **k: passes.append(1) or real(*a, **k))
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 1, 32, 32)).astype(np.float32)
    for k, planned in ((5, True), (9, True), (15, False)):
        g = np.exp(-(np.linspace(-2, 2, k) ** 2))
        for w in (rng.standard_normal((1, 1, k, k)), np.outer(g, g)[None, None], np.outer(g, g)[None, None]):
            w = w.astype(np.float32)
            got = imgconv.conv2d(x, w, padding="same", padding_mode="reflect")
            want = _reference_conv2d(x.astype(np.float64), w, padding="same", padding_mode="reflect")
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
        runs = [run for key, run in imgconv.conv._SMALL_CALLS.items() if key[3] == (1, 1, k, k)]
        assert len(runs) == 1 and (runs[0] is not None) == planned
    assert len(passes) == 2  # the rank-1 15x15 calls (two of them): separable on 32² by the model


def test_planned_small_calls_still_refuse_what_validation_refuses():
    """A signature planned with int hyper-parameters does not admit the bool, float or numpy
    values that compare and hash equal to them, nor a bad `num_threads` or `method`."""
    x = np.zeros((1, 1, 16, 16), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    for _ in range(2):
        assert imgconv.conv2d(x, w, padding=1).shape == (1, 1, 16, 16)
    with pytest.raises(TypeError, match="groups"):
        imgconv.conv2d(x, w, padding=1, groups=True)
    with pytest.raises(TypeError, match="stride"):
        imgconv.conv2d(x, w, padding=1, stride=1.0)
    with pytest.raises(TypeError, match="padding"):
        imgconv.conv2d(x, w, padding=1.0)
    with pytest.raises(ValueError, match="num_threads"):
        imgconv.conv2d(x, w, padding=1, num_threads=0)
    with pytest.raises(ValueError, match="method"):
        imgconv.conv2d(x, w, padding=1, method="winograd")
    with pytest.raises(TypeError, match="dtype"):
        imgconv.conv2d(x, w.astype(np.float64), padding=1)
    assert imgconv.conv2d(x, w, padding=np.int64(1)).shape == (1, 1, 16, 16)


def test_a_layer_takes_the_planned_call_with_the_same_results():
    """Conv2d passes pairs (its normalised hyper-parameters): planned as conv2d's ints are."""
    rng = np.random.default_rng(8)
    layer = imgconv.Conv2d(3, 8, 3, padding=1, dilation=2, seed=0)
    for _ in range(3):
        x = rng.standard_normal((3, 24, 24)).astype(np.float32)
        layer.weight = rng.standard_normal(layer.weight.shape).astype(np.float32)
        want = _reference_conv2d(x[None].astype(np.float64), layer.weight, layer.bias, padding=1, dilation=2)[0]
        np.testing.assert_allclose(layer(x), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    with pytest.raises(TypeError, match="stride"):
        imgconv.conv2d(x, layer.weight, layer.bias, (1.0, 1), (1, 1), (2, 2))
