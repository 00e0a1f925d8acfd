"""Reliability of the engine: memory that does not grow with dilation or stride, a
bounded thread count, and fork() safety.

The oracle here is :func:`tap_reference`, which maps every tap to its source pixel
with ``numpy.pad`` applied to the pixel *indices* (never to the image), so it stays
small for any dilation, stride or pad width and shares no code with imgconv.
Scenarios that could exhaust memory or hang run in a subprocess with an
address-space limit and a timeout, so a regression fails the test instead of the
machine.
"""

import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import imgconv
from imgconv import _engine, _threads
from imgconv.explain import explain

LINUX = sys.platform.startswith("linux")
needs_rlimit = pytest.mark.skipif(not LINUX, reason="RLIMIT_AS is enforced on Linux only")
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
SOBEL_H = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]) / 4


def _index_map(length, before, after, mode):
    """Source index of every padded position, by numpy.pad on the indices; -1 = the border value."""
    idx = np.arange(length)
    if mode == "constant":
        return np.pad(idx, (before, after), mode="constant", constant_values=-1)
    return np.pad(idx, (before, after), mode=mode)


def tap_reference(
    x, weight, bias=None, *, pads=(0, 0, 0, 0), mode="constant", cval=0.0, stride=(1, 1), dilation=(1, 1), groups=1
):
    """float64 ``y[n,o,i,j] = b[o] + sum w[o,c,u,v] * xp[n, g*Cg+c, i*sh+u*dh, j*sw+v*dw]``, tap by tap."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    (sh, sw), (dh, dw), og = stride, dilation, o // groups
    rows_of = _index_map(h, pads[0], pads[1], mode)
    cols_of = _index_map(w, pads[2], pads[3], mode)
    hout = (len(rows_of) - dh * (kh - 1) - 1) // sh + 1
    wout = (len(cols_of) - dw * (kw - 1) - 1) // sw + 1
    framed = np.full((n, c, h + 1, w + 1), float(cval))  # index -1: the row / column of cval
    framed[:, :, :h, :w] = x
    y = np.zeros((n, o, hout, wout))
    for u in range(kh):
        rows = rows_of[np.arange(hout) * sh + u * dh]
        for v in range(kw):
            cols = cols_of[np.arange(wout) * sw + v * dw]
            tap = framed[:, :, rows][:, :, :, cols]
            for g in range(groups):
                y[:, g * og : (g + 1) * og] += np.einsum(
                    "oc,nchw->nohw", weight[g * og : (g + 1) * og, :, u, v], tap[:, g * cg : (g + 1) * cg]
                )
    if bias is not None:
        y += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return y


def _sobel_reference(image, dilation):
    """scikit-image's Sobel magnitude (mode 'reflect' = numpy 'symmetric') at any dilation."""
    x = image[None, None]
    pads = (dilation,) * 4
    kwargs = {"pads": pads, "mode": "symmetric", "dilation": (dilation, dilation)}
    gh = tap_reference(x, SOBEL_H[None, None], **kwargs)[0, 0]
    gv = tap_reference(x, SOBEL_H.T[None, None], **kwargs)[0, 0]
    return np.sqrt(gh**2 + gv**2) / np.sqrt(2)


def _run_isolated(tmp_path, code, *, address_space=2 << 30, timeout=120):
    """Run `code` in a fresh interpreter in `tmp_path`, limited to `address_space` bytes of
    virtual memory (0: no limit); kill its whole process group if it outlives `timeout`."""
    script = tmp_path / "scenario.py"
    limit = (
        f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({address_space}, {address_space}))\n"
        if address_space
        else ""
    )
    script.write_text(limit + textwrap.dedent(code))
    root = str(Path(imgconv.__file__).resolve().parents[1])  # the imgconv under test
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the scenario and any child it forked
        proc.communicate()
        pytest.fail(f"scenario did not finish within {timeout} s (hang)")
    assert proc.returncode == 0, f"scenario failed (exit {proc.returncode}):\n{err[-3000:]}"
    return out


# ---------------------------------------------------------------------------------------------
# 1. Scratch memory depends on the output and the kernel, not on dilation or stride.


def test_tap_reference_agrees_with_numpy_pad_reference():
    """The oracle itself, against the padded-copy reference of the other engine tests."""
    from _reference import reference_correlate

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 13))
    w = rng.standard_normal((6, 2, 3, 2))
    b = rng.standard_normal(6)
    for mode in _engine.ENGINE_MODES:
        kwargs = {"pads": (3, 1, 20, 2), "mode": mode, "cval": 1.5, "stride": (2, 3), "dilation": (2, 5), "groups": 2}
        np.testing.assert_allclose(
            tap_reference(x, w, b, **kwargs), reference_correlate(x, w, b, **kwargs), rtol=1e-12, atol=1e-12
        )


def test_sobel_reference_agrees_with_scikit_image():
    skimage_filters = pytest.importorskip("skimage.filters")
    image = np.random.default_rng(1).random((23, 31))
    np.testing.assert_allclose(_sobel_reference(image, 1), skimage_filters.sobel(image), rtol=1e-12, atol=1e-12)


def _traced_peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("mode", _engine.ENGINE_MODES)
def test_scratch_does_not_grow_with_dilation(mode):
    """The same 16x16 output with dilation 1 and 3000: the same memory (it was 144 MB)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 16, 16)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)

    def run(d):
        return _engine.correlate(x, w, pads=(d, d, d, d), mode=mode, cval=0.5, dilation=(d, d), num_threads=2)

    small = _traced_peak(lambda: run(1))
    large = _traced_peak(lambda: run(3000))
    assert large <= small + 64 * 1024, (small, large)
    want = tap_reference(x, w, pads=(3000,) * 4, mode=mode, cval=0.5, dilation=(3000, 3000))
    np.testing.assert_allclose(run(3000), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("integer", [False, True])
def test_scratch_does_not_grow_with_stride(integer):
    """A 16-wide output from a 16-wide and a 65536-wide image (stride 4096): the same memory."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    images = {}
    for s in (1, 4096):
        x = rng.integers(0, 256, (1, 1, 18, 16 * s + 2))
        images[s] = x.astype(np.uint8) if integer else x.astype(np.float32)

    def run(s):
        return _engine.correlate(images[s], w, stride=(1, s), num_threads=2)

    small = _traced_peak(lambda: run(1))
    large = _traced_peak(lambda: run(4096))
    assert large <= small + 64 * 1024, (small, large)
    np.testing.assert_allclose(run(4096), tap_reference(images[4096], w, stride=(1, 4096)), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", _engine.ENGINE_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("geometry", ["dilated", "strided", "wide-taps"])
def test_sparse_taps_match_the_reference(mode, dtype, geometry):
    """Dilations and strides much larger than the kernel, on tall images whose interior
    blocks read in place while their border columns are buffered row by row."""
    rng = np.random.default_rng(4)
    if geometry == "dilated":
        x_shape, k, stride, dilation, pads = (2, 2, 160, 150), 3, (1, 1), (37, 29), (37, 37, 29, 29)
    elif geometry == "strided":
        x_shape, k, stride, dilation, pads = (1, 2, 150, 301), 3, (9, 13), (1, 2), (1, 4, 2, 0)
    else:
        x_shape, k, stride, dilation, pads = (1, 2, 90, 400), 2, (1, 2), (11, 150), (5, 30, 170, 3)
    x = rng.integers(0, 256, x_shape).astype(dtype) if dtype == np.uint8 else rng.standard_normal(x_shape).astype(dtype)
    wdtype = np.float32 if dtype == np.uint8 else dtype
    w = rng.standard_normal((5, 2, k, k)).astype(wdtype)
    b = rng.standard_normal(5).astype(wdtype)
    cval = 0.0 if dtype == np.uint8 else -0.75
    kwargs = {"pads": pads, "mode": mode, "cval": cval, "stride": stride, "dilation": dilation}
    want = tap_reference(x, w, b, **kwargs)
    bound = tap_reference(np.abs(x.astype(np.float64)), np.abs(w), np.abs(b), **dict(kwargs, cval=abs(cval)))
    eps = np.finfo(wdtype).eps
    for threads in (1, 2):
        got = _engine.correlate(x, w, b, num_threads=threads, **kwargs)
        assert got.shape == want.shape and got.dtype == wdtype
        assert np.all(np.abs(got - want) <= 2 * (2 * k * k + 1) * eps * bound + 1e-30)


@needs_rlimit
def test_huge_dilation_and_stride_run_in_little_memory(tmp_path):
    """The calls of the report, under a 2 GiB address-space limit (they asked for 298, 48 and
    27 GiB), against the tap reference."""
    _run_isolated(
        tmp_path,
        """
        import numpy as np, imgconv, imgconv.filters
        rng = np.random.default_rng(5)
        x = rng.standard_normal((1, 2, 16, 16)).astype(np.float32)
        w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
        image = rng.random((512, 512)).astype(np.float32)
        np.savez("out.npz", x=x, w=w, image=image,
                 same=imgconv.conv2d(x, w, dilation=100000, padding="same", num_threads=2),
                 replicate=imgconv.conv2d(x, w, dilation=100000, padding="same", padding_mode="replicate"),
                 stride=imgconv.conv2d(x, w, stride=(1, 2 ** 31), num_threads=2),
                 sobel=imgconv.filters.sobel(image, dilation=30000, num_threads=2))
    """,
    )
    with np.load(tmp_path / "out.npz") as out:
        x, w = out["x"], out["w"]
        same = {"pads": (100000,) * 4, "dilation": (100000, 100000)}
        np.testing.assert_allclose(out["same"], tap_reference(x, w, **same), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out["replicate"], tap_reference(x, w, mode="edge", **same), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out["stride"], tap_reference(x, w, stride=(1, 2**31)), rtol=1e-5, atol=1e-5)
        assert out["stride"].shape == (1, 3, 14, 1)
        np.testing.assert_allclose(
            out["sobel"], _sobel_reference(out["image"].astype(np.float64), 30000), rtol=1e-5, atol=1e-6
        )


@needs_rlimit
def test_explain_huge_dilation_runs_in_little_memory(tmp_path):
    """explain() and explain_png() never build the (d*(k-1)+1)^2 tap grid (37 GiB here)."""
    out = _run_isolated(
        tmp_path,
        """
        import importlib.util
        from imgconv.explain import explain, explain_png
        print(explain(3, 100000))
        if importlib.util.find_spec("matplotlib") is not None:
            explain_png("taps.png", 3, 100000, layers=[{"kernel_size": 3, "dilation": 100000}] * 2)
    """,
    )
    assert "effective extent 200001x200001" in out and "9 taps in 40000400001 pixels" in out
    assert "(tap grid not drawn: larger than 80 pixels)" in out
    assert "Only 3x3 = 9 of the 200001x200001" in out


def test_explain_small_grid_is_unchanged():
    """The drawn grid still shows every tap ('#') d pixels apart."""
    lines = explain((2, 3), (3, 2)).splitlines()
    assert lines[1:5] == ["# . # . #", ". . . . .", ". . . . .", "# . # . #"]


def test_explain_png_bins_large_boxes(tmp_path):
    pytest.importorskip("matplotlib")
    from imgconv import explain as explain_module

    mask, factor = explain_module._binned_mask(np.array([0, 100000, 200000]), np.array([0, 7]), (200001, 8), 256)
    assert factor == (782, 1) and mask.shape == (256, 8)
    assert sorted(zip(*np.nonzero(mask))) == [(r, c) for r in (0, 127, 255) for c in (0, 7)]
    path = explain_module.explain_png(tmp_path / "big.png", 3, 5000)
    assert Path(path).stat().st_size > 0


# ---------------------------------------------------------------------------------------------
# 2. The thread count is bounded.


def test_num_threads_is_capped_at_threads_per_cpu():
    cap = _threads.THREADS_PER_CPU * len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if cap is not None:
        assert _threads.max_num_threads() == cap
    cap = _threads.max_num_threads()
    assert _threads.effective_num_threads(10**6) == cap
    assert _threads.effective_num_threads(1) == 1
    assert _threads.effective_num_threads(min(3, cap)) == min(3, cap)
    with imgconv.num_threads(10**6):
        assert imgconv.get_num_threads() == 10**6  # the setting is kept ...
        assert _threads.effective_num_threads() == cap  # ... calls get at most the cap
    with pytest.raises(ValueError, match=r"`num_threads` must be a positive int or None; got 0"):
        _threads.effective_num_threads(0)
    x = np.arange(48.0).reshape(1, 1, 6, 8)
    w = np.ones((1, 1, 2, 2))
    np.testing.assert_allclose(imgconv.conv2d(x, w, num_threads=10**6), tap_reference(x, w), rtol=1e-12)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc/self/task")
def test_a_huge_num_threads_starts_few_threads(tmp_path):
    """num_threads=10**6 on 20000 rows of work: at most max_num_threads() threads (was 8191)."""
    out = _run_isolated(
        tmp_path,
        """
        import os, numpy as np, imgconv
        x = np.ones((1, 1, 20000, 3)); w = np.ones((1, 1, 1, 2))
        before = len(os.listdir("/proc/self/task"))
        y = imgconv.conv2d(x, w, num_threads=10 ** 6)
        print(len(os.listdir("/proc/self/task")) - before, y.shape, float(y.sum()))
    """,
        address_space=0,
        timeout=300,
    )
    started, result = out.split(maxsplit=1)
    assert int(started) <= _threads.max_num_threads() - 1  # the calling thread is one of the team
    assert result.strip() == "(1, 1, 20000, 2) 80000.0"


# ---------------------------------------------------------------------------------------------
# 3. fork() safety.

FORK_SCENARIO = """
    import multiprocessing, os, numpy as np, imgconv
    from imgconv import _threads
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 300, 200)); w = rng.standard_normal((3, 2, 3, 3))

    def work(_):
        return _threads.effective_num_threads(4), imgconv.conv2d(x, w, padding=1, num_threads=4)

    if __name__ == "__main__":
        parent = imgconv.conv2d(x, w, padding=1, num_threads=2)   # starts libgomp's worker threads
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pooled = pool.map(work, range(2))
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:                                   # a bare fork, default thread count
            y = imgconv.conv2d(x, w, padding=1)
            os.write(write, b"%d" % _threads.effective_num_threads())
            np.save("bare.npy", y)
            os._exit(0)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), os.read(read, 16).decode(), [p[0] for p in pooled])
        np.savez("fork.npz", x=x, w=w, parent=parent, pooled=np.stack([p[1] for p in pooled]))
"""


@needs_fork
def test_forked_children_of_a_threaded_parent_finish(tmp_path):
    """After a 2-thread call, fork()ed children (multiprocessing 'fork' and a bare os.fork)
    run imgconv on one thread, without entering OpenMP, and get the right result."""
    out = _run_isolated(tmp_path, FORK_SCENARIO, address_space=0, timeout=90)
    assert out.strip() == "0 1 [1, 1]"
    with np.load(tmp_path / "fork.npz") as result:
        want = tap_reference(result["x"], result["w"], pads=(1, 1, 1, 1))
        np.testing.assert_allclose(result["parent"], want, rtol=1e-12, atol=1e-12)
        for y in list(result["pooled"]) + [np.load(tmp_path / "bare.npy")]:
            np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@needs_fork
def test_a_fork_before_any_threaded_call_keeps_its_threads(tmp_path):
    out = _run_isolated(
        tmp_path,
        """
        import os, numpy as np, imgconv
        from imgconv import _threads
        imgconv.conv2d(np.ones((1, 1, 40, 40)), np.ones((1, 1, 3, 3)), num_threads=1)  # no team
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            imgconv.conv2d(np.ones((1, 1, 40, 40)), np.ones((1, 1, 3, 3)), num_threads=2)
            os.write(write, b"%d" % _threads.effective_num_threads(2))
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        print(os.read(read, 16).decode())
    """,
        address_space=0,
        timeout=90,
    )
    assert out.strip() == "2"


POOLS_FORK_SCENARIO = """
    import os, numpy as np
    from imgconv import ndimage
    from imgconv._shared import blocks
    x = np.random.default_rng(7).random((600, 500))
    seen = np.zeros(700, int)

    def work(rows):
        seen[rows] += 1

    blocks.blockwise(seen.size, 3, work)          # starts the kept helper threads
    parent = ndimage.sobel(x)                     # leaves buffers in the scratch pool
    pid = os.fork()
    if pid == 0:                                  # the helpers do not exist here: a new pool
        seen[:] = 0
        blocks.blockwise(seen.size, 3, work)
        ok = (seen == 1).all() and np.array_equal(ndimage.sobel(x), parent)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
"""


@needs_fork
def test_a_forked_child_gets_its_own_helper_threads_and_scratch(tmp_path):
    """After the kept Python helper pool (`_shared.blocks`) and the scratch pool (`_shared.scratch`)
    were used, a fork()ed child still runs threaded blocks and the filters that borrow scratch (both
    pools are reset in the child, whose copies name threads and buffers of the parent)."""
    out = _run_isolated(tmp_path, POOLS_FORK_SCENARIO, address_space=0, timeout=60)
    assert out.strip() == "0"
