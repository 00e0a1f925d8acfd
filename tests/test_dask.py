"""Tests for imgconv.dask: tiled filtering of dask arrays, out-of-core TIFF -> zarr, cluster runs.

Oracles: the in-memory functions on the whole array (imgconv.conv2d,
imgconv.filters.correlate, the filter function itself), scipy.ndimage.correlate
and the float64 NumPy reference in tests/_reference.py.
"""

import functools
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("zarr")

import dask.array as da  # noqa: E402
import scipy.ndimage as ndi  # noqa: E402
import tifffile  # noqa: E402
import zarr  # noqa: E402

import imgconv  # noqa: E402
import imgconv.dask as icd  # noqa: E402
from imgconv import filters  # noqa: E402
from imgconv.io import imread, imwrite  # noqa: E402

from _reference import reference_correlate  # noqa: E402

TORCH_MODES = ["zeros", "reflect", "replicate", "circular"]
SCIPY_MODES = ["constant", "reflect", "mirror", "nearest", "wrap"]


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


def _stuffed(kernel, dilation):
    """The kernel with dilation - 1 zeros between taps (what dilation means for scipy)."""
    dh, dw = dilation
    out = np.zeros((dh * (kernel.shape[0] - 1) + 1, dw * (kernel.shape[1] - 1) + 1), kernel.dtype)
    out[::dh, ::dw] = kernel
    return out


# ---------------------------------------------------------------------------------------------
# a local cluster shared by the module (loopback, 2 single-threaded worker processes)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
    ) as cluster:
        with Client(cluster, set_as_default=False) as c:  # never the default scheduler of other tests
            yield c


# ---------------------------------------------------------------------------------------------
# optional dependency
# ---------------------------------------------------------------------------------------------


def test_imgconv_imports_without_dask_and_names_the_extra():
    code = textwrap.dedent("""
        import sys
        for name in ("dask", "distributed", "zarr"):
            sys.modules[name] = None          # makes `import name` fail
        import imgconv
        assert "imgconv.dask" not in sys.modules
        try:
            import imgconv.dask
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("imgconv.dask imported without dask")
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    ).stdout
    assert 'pip install "imgconv[dask]"' in out


def test_import_imgconv_does_not_import_dask():
    code = "import sys, imgconv; print('dask' in sys.modules, 'imgconv.dask' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    ).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------------------------------------
# the border: numpy.pad semantics for any width
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "edge", "wrap"])
@pytest.mark.parametrize("pads", [(0, 3), (2, 1), (4, 4), (7, 3), (12, 9)])
@pytest.mark.parametrize("chunks", [1, 2, 5])
def test_pad_axis_equals_numpy_pad_for_any_width(mode, pads, chunks):
    x = np.arange(5.0) * 3 + 1
    extra = {"constant_values": -2.5} if mode == "constant" else {}
    got = icd._pad_axis(da.from_array(x, chunks=chunks), 0, pads[0], pads[1], mode, -2.5).compute()
    np.testing.assert_array_equal(got, np.pad(x, pads, mode=mode, **extra))


# ---------------------------------------------------------------------------------------------
# conv2d: torch semantics, tile by tile
# ---------------------------------------------------------------------------------------------

CONV_CASES = [
    # (kernel, dilation, stride, padding)
    ((3, 3), 1, 1, 1),
    ((3, 3), 2, 1, "same"),
    ((4, 2), 1, 1, "same"),  # even kernel: asymmetric 'same' pads (extra after)
    ((4, 4), (2, 1), 1, (3, 2)),
    ((2, 5), 1, (2, 3), (1, 2)),  # strided, even and odd
    ((3, 3), 2, 2, 2),  # stride and dilation
    ((5, 1), (1, 3), (3, 1), 0),
    ((1, 1), 1, 2, 0),  # no halo at all (keff <= stride)
    ((3, 2), 1, 4, 1),  # stride larger than the kernel
]

CHUNKINGS = [
    (1, 2, 2, 3),  # chunks smaller than the halo
    (2, 2, 7, 6),
    (1, 2, (3, 5, 2, 7, 1), (4, 4, 9, 1, 2)),  # irregular
    (2, 2, 18, 20),  # one chunk
]


@pytest.mark.parametrize("padding_mode", TORCH_MODES)
@pytest.mark.parametrize("kernel,dilation,stride,padding", CONV_CASES)
@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_conv2d_equals_in_memory(padding_mode, kernel, dilation, stride, padding, chunks, rng):
    x = rng.standard_normal((2, 2, 18, 20))
    w = rng.standard_normal((4, 2) + kernel)
    b = rng.standard_normal(4)
    expected = imgconv.conv2d(x, w, b, stride, padding, dilation, 1, padding_mode)
    y = icd.conv2d(da.from_array(x, chunks=chunks), w, b, stride, padding, dilation, 1, padding_mode)
    assert y.shape == expected.shape
    got = y.compute()
    np.testing.assert_allclose(got, expected, **_tol(np.float64))


@pytest.mark.parametrize("padding_mode", TORCH_MODES)
def test_conv2d_matches_numpy_reference_float32_groups(padding_mode, rng):
    x = rng.standard_normal((3, 4, 13, 16)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 4)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    y = icd.conv2d(
        da.from_array(x, chunks=(1, 1, 4, 3)),
        w,
        b,
        stride=(2, 1),
        padding=(2, 3),
        dilation=(1, 2),
        groups=2,
        padding_mode=padding_mode,
    ).compute()
    mode = imgconv._engine.TORCH_TO_ENGINE_MODE[padding_mode]
    ref = reference_correlate(x, w, b, pads=(2, 2, 3, 3), mode=mode, stride=(2, 1), dilation=(1, 2), groups=2)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref, **_tol(np.float32))
    np.testing.assert_allclose(y, imgconv.conv2d(x, w, b, (2, 1), (2, 3), (1, 2), 2, padding_mode), **_tol(np.float32))


def test_conv2d_unbatched_and_output_chunks(rng):
    x = rng.standard_normal((3, 40, 37))
    w = rng.standard_normal((2, 3, 3, 3))
    y = icd.conv2d(da.from_array(x, chunks=(3, 9, 9)), w, padding=1, padding_mode="circular", chunks=(16, 10))
    assert y.shape == (2, 40, 37)
    assert y.chunks[1:] == ((16, 16, 8), (10, 10, 10, 7))
    np.testing.assert_allclose(
        y.compute(), imgconv.conv2d(x, w, padding=1, padding_mode="circular"), **_tol(np.float64)
    )


def test_conv2d_strided_chunks_start_on_the_stride_grid(rng):
    x = rng.standard_normal((1, 1, 50, 50))
    w = rng.standard_normal((1, 1, 3, 3))
    y = icd.conv2d(da.from_array(x, chunks=(1, 1, 7, 11)), w, stride=3, padding=1, padding_mode="reflect")
    expected = imgconv.conv2d(x, w, stride=3, padding=1, padding_mode="reflect")
    assert sum(y.chunks[2]) == expected.shape[2] and len(y.chunks[2]) > 1
    np.testing.assert_allclose(y.compute(), expected, **_tol(np.float64))


def test_conv2d_same_result_for_one_and_two_engine_threads(rng):
    x = da.from_array(rng.standard_normal((1, 2, 30, 30)).astype(np.float32), chunks=(1, 2, 10, 10))
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    one = icd.conv2d(x, w, padding="same", num_threads=1).compute()
    two = icd.conv2d(x, w, padding="same", num_threads=2).compute()
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"padding_mode": "mirror"}, ValueError, "padding_mode"),
        ({"stride": 0}, ValueError, "`stride` must be a positive int"),
        ({"stride": 1.5}, TypeError, "`stride`"),
        ({"padding": "same", "stride": 2}, ValueError, "padding='same' is not supported for strided"),
        ({"padding": 6, "padding_mode": "reflect"}, ValueError, "padding_mode='reflect' needs each pad"),
        ({"groups": 3}, ValueError, "divisible by groups"),
        ({"dilation": 9}, ValueError, "Kernel size can't be greater"),
        ({"chunks": 0}, ValueError, "`chunks`"),
    ],
)
def test_conv2d_rejects_what_imgconv_conv2d_rejects(kwargs, exc, match, rng):
    x = rng.standard_normal((1, 2, 6, 6))
    w = rng.standard_normal((2, 2, 3, 3))
    with pytest.raises(exc, match=match):
        icd.conv2d(da.from_array(x, chunks=3), w, **kwargs)
    in_memory = {k: v for k, v in kwargs.items() if k != "chunks"}
    if in_memory:
        with pytest.raises(exc):
            imgconv.conv2d(x, w, **in_memory)


def test_conv2d_rejects_dtype_mismatch_and_bad_shapes(rng):
    x = da.from_array(rng.standard_normal((1, 2, 6, 6)), chunks=3)
    with pytest.raises(TypeError, match="same dtype"):
        icd.conv2d(x, np.ones((1, 2, 3, 3), np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        icd.conv2d(x.astype(np.uint8), np.ones((1, 2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"3-D .* or 4-D"):
        icd.conv2d(x[0, 0], np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="expects `input` to have 4 channels"):
        icd.conv2d(x, np.ones((1, 4, 3, 3)))


# ---------------------------------------------------------------------------------------------
# correlate: imgconv.filters / scipy.ndimage semantics, tile by tile
# ---------------------------------------------------------------------------------------------

CORR_CASES = [
    # (kernel shape, dilation, origin)
    ((3, 3), 1, 0),
    ((4, 2), 1, 0),  # even: anchor K // 2 as scipy
    ((2, 5), (2, 3), 0),
    ((3, 4), (3, 1), (1, -1)),
    ((9, 11), 1, 0),  # wider than the image: repeated reflection / wrap
    ((15, 3), 2, 0),
]


@pytest.mark.parametrize("mode", SCIPY_MODES + ["grid-wrap", "grid-mirror", "grid-constant"])
@pytest.mark.parametrize("kernel,dilation,origin", CORR_CASES)
@pytest.mark.parametrize("chunks", [2, (3, 4), (1, 5), 8])
def test_correlate_equals_filters_and_scipy(mode, kernel, dilation, origin, chunks, rng):
    x = rng.standard_normal((6, 8))
    k = rng.standard_normal(kernel)
    y = icd.correlate(
        da.from_array(x, chunks=chunks), k, mode=mode, cval=1.5, dilation=dilation, origin=origin
    ).compute()
    expected = filters.correlate(x, k, mode=mode, cval=1.5, dilation=dilation, origin=origin)
    np.testing.assert_allclose(y, expected, **_tol(np.float64))
    scipy_mode = {"grid-constant": "constant"}.get(mode, mode)
    ref = ndi.correlate(x, _stuffed(k, _pair(dilation)), mode=scipy_mode, cval=1.5, origin=origin)
    np.testing.assert_allclose(y, ref, **_tol(np.float64))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def test_correlate_takes_the_arguments_of_filters_correlate(rng):
    """dtype, mode, cval, origin by position (in filters.correlate's order) or by keyword, as before."""
    x = rng.standard_normal((7, 9))
    k = rng.standard_normal((3, 4))
    image = da.from_array(x, chunks=4)
    expected = filters.correlate(x, k, np.float32, "constant", 0.5, (1, -1))
    positional = icd.correlate(image, k, np.float32, "constant", 0.5, (1, -1)).compute()
    keywords = icd.correlate(image, k, mode="constant", cval=0.5, origin=(1, -1), dtype=np.float32).compute()
    assert positional.dtype == keywords.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(positional, keywords)
    np.testing.assert_allclose(positional, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError):
        icd.correlate(image, k, None, "reflect", 0.0, 0, 1)  # dilation stays keyword-only, as in filters


def test_correlate_num_threads_defaults_to_get_num_threads(rng, monkeypatch):
    import imgconv.dask._tiled as tiled

    assert inspect.signature(icd.correlate).parameters["num_threads"].default is None
    seen = []
    real = tiled._tiled_correlate
    monkeypatch.setattr(tiled, "_tiled_correlate", lambda *a, **kw: seen.append(kw["num_threads"]) or real(*a, **kw))
    x = rng.standard_normal((6, 6))
    with imgconv.num_threads(2):
        icd.correlate(x, np.ones((3, 3)))
    icd.correlate(x, np.ones((3, 3)), num_threads=1)
    assert seen == [2, 1]
    with pytest.raises(ValueError, match="num_threads"):
        icd.correlate(x, np.ones((3, 3)), num_threads=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float16, np.float32, np.float64, bool])
@pytest.mark.parametrize("mode", SCIPY_MODES)
def test_correlate_converts_like_filters_with_channels(dtype, mode, rng):
    if dtype == bool:
        x = rng.random((20, 23, 3)) > 0.5
    elif np.dtype(dtype).kind in "ui":
        x = rng.integers(0, 200, (20, 23, 3)).astype(dtype)
    else:
        x = (rng.standard_normal((20, 23, 3)) * 10).astype(dtype)
    k = rng.standard_normal((3, 4))
    y = icd.correlate(da.from_array(x, chunks=(6, 5, 1)), k, mode=mode, cval=0.25, channel_axis=-1)
    expected = filters.correlate(x, k, mode=mode, cval=0.25, channel_axis=-1)
    assert y.dtype == expected.dtype and y.shape == x.shape
    np.testing.assert_allclose(y.compute(), expected, **_tol(expected.dtype))


def test_correlate_channel_axis_first_and_output_dtype(rng):
    x = rng.standard_normal((2, 17, 19))
    k = rng.standard_normal((5, 5))
    y = icd.correlate(da.from_array(x, chunks=(1, 4, 4)), k, mode="mirror", channel_axis=0, dtype=np.float32)
    assert y.dtype == np.float32
    expected = filters.correlate(x, k, mode="mirror", channel_axis=0, output=np.float32)
    np.testing.assert_allclose(y.compute(), expected, **_tol(np.float32))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"mode": "zeros"}, ValueError, "`mode` must be one of"),
        ({"mode": 3}, TypeError, "`mode`"),
        ({"cval": "a"}, TypeError, "`cval`"),
        ({"origin": 5}, ValueError, "`origin`"),
        ({"dilation": 0}, ValueError, "`dilation`"),
        ({"dtype": np.int16}, TypeError, "`dtype`"),
        ({"channel_axis": 0}, ValueError, "3-D .* when `channel_axis` is given"),
    ],
)
def test_correlate_errors(kwargs, exc, match):
    x = da.zeros((8, 8), chunks=4)
    with pytest.raises(exc, match=match):
        icd.correlate(x, np.ones((3, 3)), **kwargs)


def test_correlate_shape_errors():
    with pytest.raises(ValueError, match=r"2-D when `channel_axis` is None"):
        icd.correlate(da.zeros((3, 8, 8)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="`weights` must be a 2-D kernel"):
        icd.correlate(da.zeros((8, 8)), np.ones((1, 3, 3)))
    with pytest.raises(TypeError, match="real"):
        icd.correlate(da.zeros((8, 8), dtype=complex), np.ones((3, 3)))


# ---------------------------------------------------------------------------------------------
# apply: any local function, the border left to the function at the true edges
# ---------------------------------------------------------------------------------------------


def _stacked(tile):
    """Two filters that each handle the border themselves (halo 1 + 2 = 3)."""
    return ndi.gaussian_filter(ndi.sobel(tile, axis=0, mode="reflect"), sigma=1.0, truncate=2.0, mode="mirror")


@pytest.mark.parametrize("chunks", [2, 3, (7, 9), (40, 5), 100])
def test_apply_stack_of_filters_equals_whole_image(chunks, rng):
    x = rng.random((40, 53))
    y = icd.apply(da.from_array(x, chunks=chunks), _stacked, halo=3)
    np.testing.assert_array_equal(y.compute(), _stacked(x))


def test_apply_with_too_small_halo_differs_at_seams(rng):
    x = rng.random((40, 53))
    y = icd.apply(da.from_array(x, chunks=10), _stacked, halo=1).compute()
    assert not np.allclose(y, _stacked(x))


def test_apply_channels_filter_bank_and_small_image(rng):
    rgb = rng.random((30, 31, 3))
    blur = functools.partial(ndi.gaussian_filter, sigma=(1.5, 1.5, 0), truncate=3.0)
    y = icd.apply(da.from_array(rgb, chunks=(8, 8, 1)), blur, halo=5, channel_axis=-1)
    assert y.chunks[2] == (3,)
    np.testing.assert_array_equal(y.compute(), blur(rgb))

    def bank(tile):
        return np.stack([ndi.sobel(tile, 0), ndi.sobel(tile, 1), ndi.laplace(tile)], axis=-1)

    gray = rgb[..., 0]
    y = icd.apply(da.from_array(gray, chunks=7), bank, halo=1)
    assert y.shape == (30, 31, 3)
    np.testing.assert_array_equal(y.compute(), bank(gray))

    tiny = gray[:4, :5]  # smaller than the halo: one chunk, no overlap
    np.testing.assert_array_equal(icd.apply(da.from_array(tiny), _stacked, halo=3).compute(), _stacked(tiny))


def test_apply_drops_channel_axis(rng):
    rgb = rng.random((25, 26, 3))

    def gray_edges(tile):
        return ndi.sobel(tile.mean(axis=-1), axis=1)

    y = icd.apply(da.from_array(rgb, chunks=(6, 7, 3)), gray_edges, halo=1, channel_axis=2)
    assert y.shape == (25, 26)
    np.testing.assert_array_equal(y.compute(), gray_edges(rgb))


def test_apply_pipeline_uses_its_halo(rng):
    pipeline_module = pytest.importorskip("imgconv.pipeline")
    pipe = pipeline_module.Pipeline.default()
    rgb = rng.integers(0, 256, (45, 52, 3), dtype=np.uint8)
    y = icd.apply(da.from_array(rgb, chunks=(10, 12, 3)), pipe, channel_axis=-1)
    expected = pipe(rgb)
    assert y.shape == expected.shape and y.dtype == expected.dtype
    np.testing.assert_allclose(y.compute(), expected, **_tol(np.float32))


def test_apply_errors(rng):
    x = da.zeros((10, 10), chunks=5)
    with pytest.raises(TypeError, match="`halo` is needed"):
        icd.apply(x, np.abs)
    with pytest.raises(TypeError, match="`func` must be callable"):
        icd.apply(x, 3, halo=1)
    with pytest.raises(ValueError, match="`halo`"):
        icd.apply(x, np.abs, halo=-1)
    with pytest.raises(ValueError, match="spatial size"):
        icd.apply(x, lambda t: t[::2], halo=1)


# ---------------------------------------------------------------------------------------------
# run_tasks on the cluster
# ---------------------------------------------------------------------------------------------


def _write_square(task, out_dir):
    """A picklable task function: writes task**2 atomically, returns a small record."""
    value = np.full((4, 5), float(task) ** 2, np.float32)
    path = os.path.join(out_dir, f"{task}.npy")
    imwrite(path, value, dtype_policy="float")
    return {"task": task, "output": path, "pid": os.getpid()}


def _dies_once(task, out_dir, marker_dir, victims):
    """Kills its worker process the first time it runs a victim task (marker file = first attempt)."""
    with open(os.path.join(marker_dir, f"runs-{task}-{os.getpid()}-{os.urandom(4).hex()}"), "w"):
        pass
    if task in victims:
        try:
            fd = os.open(os.path.join(marker_dir, f"killed-{task}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass  # a retry: do the work
        else:
            os.close(fd)
            os._exit(1)
    return _write_square(task, out_dir)


def _fails(task, marker_dir, failures):
    """Raises on the first `failures` attempts of each task."""
    attempts = len([n for n in os.listdir(marker_dir) if n.startswith(f"{task}-")])
    with open(os.path.join(marker_dir, f"{task}-{attempts}"), "w"):
        pass
    if attempts < failures:
        raise ValueError(f"task {task} failed on attempt {attempts}")
    return {"task": task, "attempts": attempts + 1}


def test_run_tasks_yields_every_record_once(client, tmp_path):
    func = functools.partial(_write_square, out_dir=str(tmp_path))
    records = list(icd.run_tasks(iter(range(25)), func, client=client))
    assert sorted(r["task"] for r in records) == list(range(25))
    for r in records:
        np.testing.assert_array_equal(imread(r["output"]), np.full((4, 5), r["task"] ** 2, np.float32))


def test_run_tasks_equal_tasks_stay_separate(client, tmp_path):
    func = functools.partial(_write_square, out_dir=str(tmp_path))
    records = list(icd.run_tasks([3, 3, 3], func, client=client))
    assert [r["task"] for r in records] == [3, 3, 3]


def test_run_tasks_survives_a_worker_killed_mid_run(client, tmp_path):
    out_dir, marker_dir = tmp_path / "out", tmp_path / "markers"
    out_dir.mkdir()
    marker_dir.mkdir()
    func = functools.partial(_dies_once, out_dir=str(out_dir), marker_dir=str(marker_dir), victims={7})
    records = list(icd.run_tasks(range(16), func, client=client, max_in_flight=4))
    assert sorted(r["task"] for r in records) == list(range(16))  # every task exactly once
    assert (marker_dir / "killed-7").exists()  # the worker really died
    runs_of_7 = [n for n in os.listdir(marker_dir) if n.startswith("runs-7-")]
    assert len(runs_of_7) >= 2  # ... and task 7 ran again elsewhere
    assert sorted(os.listdir(out_dir)) == sorted(f"{i}.npy" for i in range(16))  # no temporary leftovers
    for i in range(16):
        np.testing.assert_array_equal(np.load(out_dir / f"{i}.npy"), np.full((4, 5), i * i, np.float32))


def test_run_tasks_keeps_a_bounded_window(client, tmp_path):
    pulled = []

    def tasks():
        for i in range(30):
            pulled.append(i)
            yield i

    func = functools.partial(_write_square, out_dir=str(tmp_path))
    iterator = icd.run_tasks(tasks(), func, client=client, max_in_flight=3)
    assert pulled == []  # nothing happens before the iteration starts
    first = next(iterator)
    assert len(pulled) <= 4  # the window (3) plus one refill
    rest = list(iterator)
    assert sorted(r["task"] for r in [first] + rest) == list(range(30))


def test_run_tasks_retries_and_errors(client, tmp_path):
    (tmp_path / "a").mkdir()
    func = functools.partial(_fails, marker_dir=str(tmp_path / "a"), failures=2)
    records = list(icd.run_tasks(range(3), func, client=client, retries=2))
    assert sorted((r["task"], r["attempts"]) for r in records) == [(0, 3), (1, 3), (2, 3)]

    (tmp_path / "b").mkdir()
    func = functools.partial(_fails, marker_dir=str(tmp_path / "b"), failures=1)
    records = list(
        icd.run_tasks(
            range(3), func, client=client, retries=0, on_error=lambda task, exc: {"task": task, "error": str(exc)}
        )
    )
    assert sorted(r["task"] for r in records) == [0, 1, 2]
    assert all("failed on attempt 0" in r["error"] for r in records)

    (tmp_path / "c").mkdir()
    func = functools.partial(_fails, marker_dir=str(tmp_path / "c"), failures=1)
    with pytest.raises(ValueError, match="failed on attempt 0"):
        list(icd.run_tasks(range(3), func, client=client, retries=0))


def test_run_tasks_scheduler_address_and_own_local_cluster(client, tmp_path):
    func = functools.partial(_write_square, out_dir=str(tmp_path))
    records = list(icd.run_tasks(range(4), func, client=client.scheduler.address))
    assert sorted(r["task"] for r in records) == [0, 1, 2, 3]
    records = list(icd.run_tasks(range(4), func, workers=1))  # starts and closes its own cluster
    assert sorted(r["task"] for r in records) == [0, 1, 2, 3]
    assert len({r["pid"] for r in records}) == 1 and records[0]["pid"] != os.getpid()


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"func": 3}, TypeError, "`func` must be callable"),
        ({"workers": 0}, ValueError, "`workers`"),
        ({"retries": -1}, ValueError, "`retries`"),
        ({"max_in_flight": 0}, ValueError, "`max_in_flight`"),
        ({"client": 5}, TypeError, "`client`"),
        ({"on_error": "x"}, TypeError, "`on_error`"),
        ({"tasks": "abc"}, TypeError, "`tasks`"),
    ],
)
def test_run_tasks_checks_arguments_at_once(kwargs, exc, match):
    args = {"tasks": [1], "func": abs, **kwargs}
    with pytest.raises(exc, match=match):
        icd.run_tasks(args.pop("tasks"), args.pop("func"), **args)


def test_batch_dask_backend_equals_local_backend(client, tmp_path):
    batch = pytest.importorskip("imgconv.batch")
    rng = np.random.default_rng(5)
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        imwrite(src / f"img{i}.png", rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8))
    local_out, dask_out, own_out = tmp_path / "local", tmp_path / "dask", tmp_path / "own"
    reports = [
        batch.process(str(src), str(local_out), backend="threads", workers=1, progress=False),
        batch.process(str(src), str(dask_out), backend="dask", client=client, progress=False),
        batch.process(str(src), str(own_out), backend="dask", workers=1, progress=False),
    ]
    assert [(r.done, len(r.failed)) for r in reports] == [(6, 0)] * 3

    def outputs(folder):
        return sorted(
            p.relative_to(folder)
            for p in folder.rglob("*")
            if p.is_file() and "manifest" not in p.name and ".imgconv" not in p.parts
        )

    assert len(outputs(local_out)) == 6
    assert outputs(local_out) == outputs(dask_out) == outputs(own_out)
    for rel in outputs(local_out):
        expected = (local_out / rel).read_bytes()
        assert (dask_out / rel).read_bytes() == expected and (own_out / rel).read_bytes() == expected


# ---------------------------------------------------------------------------------------------
# process_large: TIFF / zarr -> zarr, tile by tile
# ---------------------------------------------------------------------------------------------

SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float32)


@pytest.fixture
def small_tiff(tmp_path, rng):
    x = rng.integers(0, 256, (300, 211), dtype=np.uint8)
    path = tmp_path / "small.tif"
    tifffile.imwrite(path, x, tile=(64, 64))
    return path, x


@pytest.mark.parametrize("mode", SCIPY_MODES)
@pytest.mark.parametrize("kernel", [SOBEL_Y, np.arange(8.0).reshape(2, 4)])
def test_process_large_kernel_equals_in_memory(small_tiff, tmp_path, mode, kernel):
    path, x = small_tiff
    z = icd.process_large(path, tmp_path / "out.zarr", kernel, tile=100, mode=mode, cval=0.5)
    assert z.shape == x.shape and z.chunks == (100, 100) and z.dtype == np.float32
    np.testing.assert_allclose(z[:], filters.correlate(x, kernel, mode=mode, cval=0.5), **_tol(np.float32))


def test_process_large_callable_zarr_source_and_overwrite(small_tiff, tmp_path):
    path, x = small_tiff
    z = icd.process_large(path, tmp_path / "a.zarr", _stacked, halo=3, tile=(64, 50))
    np.testing.assert_array_equal(z[:], _stacked(x))
    # a zarr source, a dilated kernel, and the same store overwritten
    z2 = icd.process_large(tmp_path / "a.zarr", tmp_path / "b.zarr", SOBEL_Y, tile=70, dilation=2, mode="wrap")
    np.testing.assert_allclose(
        z2[:], filters.correlate(_stacked(x), SOBEL_Y, dilation=2, mode="wrap"), **_tol(np.float64)
    )
    with pytest.raises(FileExistsError, match="overwrite=True"):
        icd.process_large(path, tmp_path / "b.zarr", SOBEL_Y)
    z3 = icd.process_large(
        path, tmp_path / "b.zarr", SOBEL_Y, tile=80, overwrite=True, zarr_options={"compressors": None}
    )
    assert z3.chunks == (80, 80) and not z3.compressors
    np.testing.assert_allclose(z3[:], filters.correlate(x, SOBEL_Y), **_tol(np.float32))


def test_process_large_rgb_pipeline_on_the_cluster(client, tmp_path, rng):
    pipeline_module = pytest.importorskip("imgconv.pipeline")
    rgb = rng.integers(0, 256, (150, 170, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, tile=(32, 32), photometric="rgb")
    pipe = pipeline_module.Pipeline.default()
    z = icd.process_large(path, tmp_path / "p.zarr", pipe, tile=64, channel_axis=-1, client=client)
    expected = pipe(rgb)
    # OME-Zarr order: channels first, one chunk per channel and tile
    assert z.shape == np.moveaxis(expected, -1, 0).shape and z.chunks == (1, 64, 64)
    np.testing.assert_allclose(np.moveaxis(z[:], 0, -1), expected, **_tol(np.float32))
    z = icd.process_large(path, tmp_path / "k.zarr", SOBEL_Y, tile=64, channel_axis=-1, client=client.scheduler.address)
    np.testing.assert_allclose(
        np.moveaxis(z[:], 0, -1), filters.correlate(rgb, SOBEL_Y, channel_axis=-1), **_tol(np.float32)
    )


def test_process_large_errors(small_tiff, tmp_path):
    path, _ = small_tiff
    with pytest.raises(TypeError, match="`operation`"):
        icd.process_large(path, tmp_path / "o.zarr", "sobel")
    with pytest.raises(ValueError, match="`weights` must be a 2-D kernel"):
        icd.process_large(path, tmp_path / "o.zarr", np.ones((1, 1, 3, 3)))
    with pytest.raises(TypeError, match="`halo` is needed"):
        icd.process_large(path, tmp_path / "o.zarr", np.abs)
    with pytest.raises(FileNotFoundError):
        icd.process_large(tmp_path / "missing.tif", tmp_path / "o.zarr", SOBEL_Y)
    with pytest.raises(ValueError, match="`tile`"):
        icd.process_large(path, tmp_path / "o.zarr", SOBEL_Y, tile=0)
    with pytest.raises(ValueError, match=r"3-D .* when `channel_axis` is given"):
        icd.process_large(path, tmp_path / "o.zarr", SOBEL_Y, channel_axis=-1)
    with pytest.raises(ValueError, match="`zarr_options` must not set \\['chunks'\\]"):
        icd.process_large(path, tmp_path / "o.zarr", SOBEL_Y, zarr_options={"chunks": 5})
    with pytest.raises(TypeError, match="`zarr_options`"):
        icd.process_large(path, tmp_path / "o.zarr", SOBEL_Y, zarr_options=[1])
    assert not (tmp_path / "o.zarr").exists()


# The large test: a 20000 x 20000 uint8 tiled TIFF (400 MB on disk, 1.6 GB as float32) is
# filtered to a float32 zarr store in a subprocess whose peak RSS must stay far below 1.6 GB.

BIG = 20000


def _pattern(rows, cols):
    """Deterministic, non-separable test image: any region can be regenerated from its coordinates."""
    r = rows.astype(np.int32)[:, None]
    c = cols.astype(np.int32)[None, :]
    return ((r * 7 + c * 13 + (r * c) % 251 + (r // 97) * 31) % 256).astype(np.uint8)


def _write_big_tiff(path, size, tile=512):
    def tiles():
        for r0 in range(0, size, tile):
            for c0 in range(0, size, tile):
                yield _pattern(np.arange(r0, r0 + tile), np.arange(c0, c0 + tile))

    tifffile.imwrite(path, tiles(), shape=(size, size), dtype=np.uint8, tile=(tile, tile))


def _expected_window(size, r0, r1, c0, c1, kernel, mode):
    """In-memory result on a window: filters.correlate on the window plus context (clipped at the edges)."""
    halo = kernel.shape[0] // 2 + 1
    a0, a1 = max(r0 - halo, 0), min(r1 + halo, size)
    b0, b1 = max(c0 - halo, 0), min(c1 + halo, size)
    region = _pattern(np.arange(a0, a1), np.arange(b0, b1))
    return filters.correlate(region, kernel, mode=mode)[r0 - a0 : r1 - a0, c0 - b0 : c1 - b0]


def test_process_large_20000_square_tiff_in_bounded_memory(tmp_path):
    src, dst = tmp_path / "big.tif", tmp_path / "big.zarr"
    try:
        _write_big_tiff(src, BIG)
        script = textwrap.dedent(f"""
            import resource, numpy as np
            import imgconv.dask
            kernel = np.array({SOBEL_Y.tolist()}, np.float32)
            z = imgconv.dask.process_large({str(src)!r}, {str(dst)!r}, kernel, tile=2048, mode="reflect")
            print(z.shape, z.dtype, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """)
        # cwd outside the source tree: `-c` puts the cwd first on sys.path.
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
        ).stdout
        shape_text, dtype_text, maxrss_kb = out.rsplit(maxsplit=2)
        peak_mb = int(maxrss_kb) / 1024
        assert dtype_text == "float32" and shape_text.replace(" ", "") == f"({BIG},{BIG})"
        assert peak_mb < 800, f"peak RSS {peak_mb:.0f} MB; the float32 image alone is {BIG * BIG * 4 / 2**20:.0f} MB"

        z = zarr.open_group(str(dst), mode="r")["0"]
        windows = [
            (0, 40, 0, 40),  # top-left corner
            (BIG - 33, BIG, BIG - 50, BIG),  # bottom-right corner
            (2040, 2056, 4090, 4102),  # a tile seam crossing (tile 2048)
            (0, 10, 6140, 6150),  # top edge on a column seam
            (12282, 12292, BIG - 9, BIG),  # right edge on a row seam
            (10000, 10100, 9000, 9030),  # interior
            (BIG - 1, BIG, 0, BIG),  # the whole last row
        ]
        for r0, r1, c0, c1 in windows:
            np.testing.assert_allclose(
                z[r0:r1, c0:c1],
                _expected_window(BIG, r0, r1, c0, c1, SOBEL_Y, "reflect"),
                rtol=1e-6,
                atol=1e-6,
                err_msg=f"window {(r0, r1, c0, c1)}",
            )
    finally:
        shutil.rmtree(dst, ignore_errors=True)
        if src.exists():
            src.unlink()
