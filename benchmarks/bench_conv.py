"""Benchmark ``imgconv.conv2d`` against PyTorch, OpenCV and SciPy.

Each shape is run by imgconv and by every available peer in the same process, with the same
thread count, alternating the runs (imgconv, peer, imgconv, peer, ...) so that both sides of a
pair see the same machine load. The headline for a peer is the median over pairs of
``peer_time / imgconv_time`` (so a ratio > 1 means imgconv is faster), with the min-max over
pairs as its spread. imgconv's own speed is given as GFLOP/s, with

    flop = 2 * N * O * Hout * Wout * (C / groups) * kh * kw

divided by the median imgconv time. Absolute times are only written to the ``--json`` file.

Machine-relative efficiency. For each shape, after the peers, imgconv runs ``--ref-repeats``
(>= 5, default 7) more rounds in the same process at the same thread count T, each round
back to back with two references:

- the matrix-product rate: NumPy ``a @ b`` on 2048 x 2048 arrays of the benchmark dtype, under
  ``threadpoolctl.threadpool_limits(T)``, as GFLOP/s = ``2 * n**3 / t``;
- the memory-copy bandwidth: ``np.copyto`` of a 256 MB float32 array into a preallocated one
  (single-threaded in NumPy) and the same copy split into T slices run by T threads of a
  ``ThreadPoolExecutor``, as GB/s = bytes read + bytes written over t. The faster of the two is
  "copy bandwidth at T threads".

OpenBLAS threads are told to stop spinning soon after each matrix product
(``OPENBLAS_THREAD_TIMEOUT=4`` unless the environment sets it), so that they do not compete
with the imgconv run that follows them in the round.

Per round, imgconv's GFLOP/s is divided by the matmul rate, and imgconv's effective bandwidth
(input bytes read once + output bytes written once, over its time) by the copy bandwidth; the
table shows the median over rounds with the min-max, like the peer ratios, so that a change in
machine load affects both sides of a round.

The targets of the performance issue (``TARGETS``) are printed next to the values with a check
mark or a cross.

Peers (each optional; a peer that cannot be imported is skipped with a note):

- ``torch``: ``torch.nn.functional.conv2d`` (zeros) or ``torch.nn.Conv2d`` with the same
  ``padding_mode``, under ``torch.no_grad()``, ``torch.set_num_threads(T)``.
- ``cv2``: ``cv2.filter2D`` once per (image, output channel, input channel) pair of the group,
  summed over input channels, the kernel zero-inserted for dilation, stride applied by
  subsampling the stride-1 result, ``cv2.setNumThreads(T)``.
- ``scipy``: ``scipy.ndimage.correlate`` with the same per-channel-pair scheme. SciPy is
  single-threaded whatever T is.

Before timing, imgconv's output is compared with torch's on every shape, and the OpenCV and
SciPy results are compared with the reference (torch, else imgconv) first on a small crop
(a mismatch there skips the peer: a wrong computation is never timed) and then on the full
warm-up output. The tolerance is ``max|a - b| <= 1e-4 * max|reference|``.

Examples
--------
Full run, 2 threads, table as GitHub markdown (the form used in ``benchmarks/README.md``)::

    python benchmarks/bench_conv.py --threads 2 --markdown

Quick look (H and W divided by 4), two shapes, raw times to a file::

    python benchmarks/bench_conv.py --quick --shapes single-3x3,depthwise-3x3-d4 --json out.json

The exit status is 1 when any result mismatched, 0 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# After a matrix product, OpenBLAS's worker threads spin for up to 2**28 cycles (about 0.1 s)
# before they sleep. In the reference rounds they took a core from the imgconv run that
# follows the copies: single-3x3 measured 28% of copy bandwidth with the default and 52% with
# the spin cut, while the matmul rate itself did not change (317 vs 323 GFLOP/s). The variable
# must be set before NumPy loads OpenBLAS; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

#: A run slower than this (seconds, measured on the warm-up) gets fewer pairs (see ``--budget``).
SLOW_RUN_SECONDS = 2.0
#: Fewest alternating pairs ever timed: a median over fewer pairs means little.
MIN_PAIRS = 3
#: Relative tolerance of the correctness checks, relative to ``max|reference|``.
RTOL = 1e-4
#: Size of the crop used to check OpenCV and SciPy before the full-size run (odd, non-square).
CROP_N, CROP_H, CROP_W = 2, 61, 67

PEER_NAMES = ("torch", "cv2", "scipy")

#: Side of the square matrices of the matmul reference.
MATMUL_N = 2048
#: Size in bytes of the float32 array of the copy reference (256 MB).
COPY_BYTES = 256 * 2**20
#: Fewest rounds of (imgconv, matmul, copies) per shape for the % columns.
MIN_REF_RUNS = 5

#: Targets of the performance issue, per shape (full-size shapes). ``"matmul"``: imgconv GFLOP/s
#: as a fraction of the matmul rate; ``"copy"``: imgconv effective bandwidth as a fraction of the
#: copy bandwidth; a peer name: the median ratio ``peer time / imgconv time``. All are minimums.
TARGETS: dict[str, dict[str, float]] = {
    "rgb-bank-3x3-d2": {"torch": 3.0},
    "gray-7x7-d3-reflect": {"matmul": 0.60, "torch": 4.0},
    "cnn-batch-3x3-d2": {"matmul": 0.60, "torch": 1.2},
    "depthwise-3x3-d4": {"torch": 4.0, "cv2": 1.5},
    "strided-5x5-s2": {"torch": 2.0},
    "single-3x3": {"copy": 0.40, "torch": 20.0, "cv2": 1.5},
}

# torch padding_mode -> OpenCV border type name / scipy.ndimage mode.
CV2_BORDER = {
    "zeros": "BORDER_CONSTANT",
    "reflect": "BORDER_REFLECT_101",
    "replicate": "BORDER_REPLICATE",
    "circular": "BORDER_WRAP",
}
SCIPY_MODE = {"zeros": "constant", "reflect": "mirror", "replicate": "nearest", "circular": "wrap"}


# --------------------------------------------------------------------------- shapes and cases


@dataclass(frozen=True)
class Shape:
    """One benchmark configuration, in ``torch.nn.Conv2d`` terms (square kernel, same padding)."""

    name: str
    n: int
    c: int
    h: int
    w: int
    out: int
    k: int
    dilation: int = 1
    groups: int = 1
    stride: int = 1
    mode: str = "zeros"

    @property
    def padding(self) -> int:
        """Padding on each side that keeps H and W at stride 1: ``dilation * (k - 1) / 2``."""
        return self.dilation * (self.k - 1) // 2

    @property
    def out_hw(self) -> tuple[int, int]:
        """Output ``(Hout, Wout)`` by the conv2d formula."""
        keff = self.dilation * (self.k - 1) + 1
        return tuple((size + 2 * self.padding - keff) // self.stride + 1 for size in (self.h, self.w))

    @property
    def flop(self) -> int:
        """Multiply-adds times two: ``2 * N * O * Hout * Wout * (C / groups) * kh * kw``."""
        hout, wout = self.out_hw
        return 2 * self.n * self.out * hout * wout * (self.c // self.groups) * self.k * self.k

    def io_bytes(self, itemsize: int) -> int:
        """Bytes of the input read once plus the output written once (no weights, no padding)."""
        hout, wout = self.out_hw
        return itemsize * (self.n * self.c * self.h * self.w + self.n * self.out * hout * wout)

    def scaled(self, div: int) -> Shape:
        """The same configuration with H and W divided by `div` (``--quick``)."""
        return dataclasses.replace(self, h=max(self.h // div, 16), w=max(self.w // div, 16))

    def cropped(self) -> Shape:
        """A small version (at most ``CROP_N`` images of ``CROP_H x CROP_W``) for the peer checks."""
        return dataclasses.replace(self, n=min(self.n, CROP_N), h=min(self.h, CROP_H), w=min(self.w, CROP_W))

    def describe(self) -> str:
        """Short text: ``NxCxHxW -> O, kxk d2 g64 s2 reflect`` (only non-default settings)."""
        extra = [f"{self.k}x{self.k}"]
        extra += [f"d{self.dilation}"] if self.dilation != 1 else []
        extra += [f"g{self.groups}"] if self.groups != 1 else []
        extra += [f"s{self.stride}"] if self.stride != 1 else []
        extra += [self.mode] if self.mode != "zeros" else []
        return f"{self.n}x{self.c}x{self.h}x{self.w} -> {self.out}, " + " ".join(extra)


SHAPES = [
    Shape("rgb-bank-3x3-d2", 1, 3, 2048, 2048, out=16, k=3, dilation=2),
    Shape("gray-7x7-d3-reflect", 1, 1, 4096, 4096, out=8, k=7, dilation=3, mode="reflect"),
    Shape("cnn-batch-3x3-d2", 8, 32, 256, 256, out=32, k=3, dilation=2),
    Shape("depthwise-3x3-d4", 1, 64, 512, 512, out=64, k=3, dilation=4, groups=64),
    Shape("strided-5x5-s2", 4, 3, 1024, 1024, out=8, k=5, stride=2),
    Shape("single-3x3", 1, 1, 4096, 4096, out=1, k=3, mode="reflect"),
]


@dataclass
class Case:
    """Input, weight and bias arrays shared by every implementation of one shape."""

    shape: Shape
    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray


def make_case(shape: Shape, dtype: Any = np.float32, seed: int = 0) -> Case:
    """Random image in [0, 1), weights scaled by 1/sqrt(fan-in) (outputs of order 1), a bias."""
    rng = np.random.default_rng(seed)
    cg = shape.c // shape.groups
    x = rng.random((shape.n, shape.c, shape.h, shape.w), dtype=np.float32).astype(dtype, copy=False)
    weight = rng.standard_normal((shape.out, cg, shape.k, shape.k)) / np.sqrt(cg * shape.k * shape.k)
    bias = rng.standard_normal(shape.out) * 0.1
    return Case(shape, x, weight.astype(dtype), bias.astype(dtype))


def crop_case(case: Case) -> Case:
    """The top-left corner of `case` as a small contiguous case with the same weights."""
    small = case.shape.cropped()
    x = np.ascontiguousarray(case.x[: small.n, :, : small.h, : small.w])
    return Case(small, x, case.weight, case.bias)


def dilate_kernel(weight: np.ndarray, dilation: int) -> np.ndarray:
    """Insert ``dilation - 1`` zeros between taps: ``(O, Cg, k, k) -> (O, Cg, keff, keff)``."""
    o, cg, kh, kw = weight.shape
    dilated = np.zeros((o, cg, dilation * (kh - 1) + 1, dilation * (kw - 1) + 1), dtype=weight.dtype)
    dilated[:, :, ::dilation, ::dilation] = weight
    return dilated


# --------------------------------------------------------------------------- runners


class PeerSkip(Exception):
    """A peer cannot run this shape (not installed, unsupported mode, wrong result)."""


Runner = Callable[[], Any]


def load_imgconv():
    """Import imgconv; fall back to the repository root (in-place build) when not installed."""
    try:
        import imgconv
    except ImportError:
        imgconv = None
    if imgconv is None or not hasattr(imgconv, "conv2d"):
        root = str(Path(__file__).resolve().parents[1])
        if root not in sys.path:
            sys.path.insert(0, root)
            sys.modules.pop("imgconv", None)
            try:
                import imgconv
            except ImportError:
                imgconv = None
    if imgconv is None or not hasattr(imgconv, "conv2d"):
        sys.exit(
            "bench_conv: `import imgconv` does not provide conv2d; build it first "
            "(python setup.py build_ext --inplace) or install the package."
        )
    return imgconv


def imgconv_runner(case: Case, threads: int, use_out: bool = False) -> Runner:
    """``imgconv.conv2d`` with ``num_threads=threads`` (a fresh output unless `use_out`)."""
    imgconv = load_imgconv()
    s = case.shape
    kwargs = dict(
        stride=s.stride,
        padding=s.padding,
        dilation=s.dilation,
        groups=s.groups,
        padding_mode=s.mode,
        num_threads=threads,
    )
    if use_out:
        kwargs["out"] = np.empty((s.n, s.out, *s.out_hw), dtype=case.x.dtype)
    x, weight, bias, conv2d = case.x, case.weight, case.bias, imgconv.conv2d
    return lambda: conv2d(x, weight, bias, **kwargs)


def torch_runner(case: Case, threads: int) -> Runner:
    """``F.conv2d`` (zeros) or ``nn.Conv2d(padding_mode=...)``, under ``torch.no_grad()``."""
    try:
        import torch
    except ImportError as exc:
        raise PeerSkip(f"torch not importable ({exc})") from None
    torch.set_num_threads(threads)
    s = case.shape
    x = torch.from_numpy(case.x)
    weight = torch.from_numpy(case.weight)
    bias = torch.from_numpy(case.bias)
    if s.mode == "zeros":
        conv = torch.nn.functional.conv2d
        args = (weight, bias, s.stride, s.padding, s.dilation, s.groups)

        def run():
            with torch.no_grad():
                return conv(x, *args)

        return run
    module = torch.nn.Conv2d(
        s.c,
        s.out,
        s.k,
        stride=s.stride,
        padding=s.padding,
        dilation=s.dilation,
        groups=s.groups,
        bias=True,
        padding_mode=s.mode,
        dtype=weight.dtype,
    ).requires_grad_(False)
    with torch.no_grad():
        module.weight.copy_(weight)
        module.bias.copy_(bias)

    def run():
        with torch.no_grad():
            return module(x)

    return run


def _channel_pair_runner(case: Case, correlate_2d: Callable) -> Runner:
    """Sum of 2-D correlations over the input channels of each output channel's group.

    ``correlate_2d(image, kernel, bias_or_None)`` returns the stride-1, same-size, centre-anchored
    correlation as a fresh array; the stride is applied by subsampling it.
    """
    s = case.shape
    x, bias = case.x, case.bias
    kernels = dilate_kernel(case.weight, s.dilation)
    cg, og, step = s.c // s.groups, s.out // s.groups, s.stride
    out_shape = (s.n, s.out, *s.out_hw)

    def run():
        out = np.empty(out_shape, dtype=x.dtype)
        for n in range(s.n):
            for o in range(s.out):
                c0 = (o // og) * cg
                acc = correlate_2d(x[n, c0], kernels[o, 0], bias[o])
                for c in range(1, cg):
                    np.add(acc, correlate_2d(x[n, c0 + c], kernels[o, c], None), out=acc)
                out[n, o] = acc[::step, ::step]
        return out

    return run


def cv2_runner(case: Case, threads: int) -> Runner:
    """``cv2.filter2D`` per channel pair (anchor at the kernel centre; all kernels here are odd)."""
    try:
        import cv2
    except ImportError as exc:
        raise PeerSkip(f"cv2 not importable ({exc})") from None
    cv2.setNumThreads(threads)
    border = getattr(cv2, CV2_BORDER[case.shape.mode])
    if case.shape.k % 2 == 0:
        raise PeerSkip("even kernel: filter2D's anchor differs from conv2d's padding")
    try:  # BORDER_WRAP is rejected by filter2D in OpenCV 4.x/5.x: probe instead of assuming.
        cv2.filter2D(np.zeros((8, 8), case.x.dtype), -1, np.ones((3, 3), case.x.dtype), borderType=border)
    except cv2.error:
        raise PeerSkip(
            f"cv2.filter2D does not support {CV2_BORDER[case.shape.mode]} (padding_mode={case.shape.mode!r})"
        ) from None

    def correlate_2d(image, kernel, bias):
        delta = 0.0 if bias is None else float(bias)
        return cv2.filter2D(image, -1, kernel, delta=delta, borderType=border)

    return _channel_pair_runner(case, correlate_2d)


def scipy_runner(case: Case, threads: int) -> Runner:
    """``scipy.ndimage.correlate`` per channel pair (single-threaded whatever `threads` is)."""
    try:
        from scipy import ndimage
    except ImportError as exc:
        raise PeerSkip(f"scipy not importable ({exc})") from None
    mode = SCIPY_MODE[case.shape.mode]

    def correlate_2d(image, kernel, bias):
        result = ndimage.correlate(image, kernel, mode=mode, cval=0.0)
        if bias is not None:
            result += bias
        return result

    return _channel_pair_runner(case, correlate_2d)


PEER_FACTORIES: dict[str, Callable[[Case, int], Runner]] = {
    "torch": torch_runner,
    "cv2": cv2_runner,
    "scipy": scipy_runner,
}


def make_runner(name: str, case: Case, threads: int, use_out: bool = False) -> Runner:
    """Runner factory by name: ``"imgconv"`` or one of `PEER_NAMES`."""
    if name == "imgconv":
        return imgconv_runner(case, threads, use_out)
    return PEER_FACTORIES[name](case, threads)


# --------------------------------------------------------------------------- timing and checks


def alternate(fns: list[Runner], repeats: int) -> list[list[float]]:
    """Run ``fns[0], fns[1], ..., fns[0], fns[1], ...`` `repeats` times; per-function run times.

    The garbage collector is run before each call and disabled during it; each result is
    released outside the timed region.
    """
    times: list[list[float]] = [[] for _ in fns]
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            for fn, record in zip(fns, times):
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                result = fn()
                t1 = time.perf_counter()
                gc.enable()
                del result
                record.append(t1 - t0)
    finally:
        if gc_was_enabled:
            gc.enable()
        else:
            gc.disable()
    return times


def median_ratio(peer_times: list[float], base_times: list[float]) -> dict[str, Any]:
    """Median, min and max of the per-pair ratios ``peer / base`` (> 1: base is faster)."""
    ratios = [p / b for p, b in zip(peer_times, base_times, strict=True)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "ratios": ratios}


def timed_once(fn: Runner) -> tuple[Any, float]:
    """Warm-up call: its result (for the checks) and its time (to size the repeats)."""
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def compare(result: Any, reference: Any) -> tuple[bool, str]:
    """``max|result - reference| <= RTOL * max|reference|``, with shape and dtype checked first."""
    a, b = np.asarray(result), np.asarray(reference)
    if a.shape != b.shape:
        return False, f"shape {a.shape} != {b.shape}"
    if a.dtype != b.dtype:
        return False, f"dtype {a.dtype} != {b.dtype}"
    if a.size == 0:
        return True, "empty"
    scale = float(np.max(np.abs(b))) or 1.0
    err = float(np.max(np.abs(a.astype(np.float64) - b))) / scale
    if not np.isfinite(err):
        return False, "non-finite values"
    return err <= RTOL, f"rel. err {err:.1e}"


def pairs_for(warm_seconds: float, repeats: int, cap: int | None, budget: float) -> int:
    """Number of alternating pairs: `repeats`, cut by `cap` and, for slow runs, by `budget`."""
    n = repeats if cap is None else min(repeats, cap)
    if warm_seconds > SLOW_RUN_SECONDS:
        n = min(n, int(budget // warm_seconds))
    return max(n, MIN_PAIRS)


# --------------------------------------------------------------------------- machine references


class MachineReference:
    """The matmul rate and the copy bandwidth of this machine at `threads` threads.

    The arrays and the copy threads are created once; `rounds` runs imgconv and the three
    references (matmul, single-threaded copy, T-thread copy) back to back, round after round, so
    that each round compares imgconv with the machine as it is at that moment. The matmul runs
    inside ``threadpoolctl.threadpool_limits(threads, user_api="blas")`` when threadpoolctl is
    installed (otherwise NumPy's BLAS uses its own thread count, and the record says so).
    """

    def __init__(self, threads: int, dtype: Any = np.float32) -> None:
        self.threads = threads
        rng = np.random.default_rng(1)
        self.a = rng.random((MATMUL_N, MATMUL_N), dtype=np.float32).astype(dtype, copy=False)
        self.b = rng.random((MATMUL_N, MATMUL_N), dtype=np.float32).astype(dtype, copy=False)
        self.src = np.empty(COPY_BYTES // 4, dtype=np.float32)
        self.dst = np.empty_like(self.src)
        self.src.fill(1.0)  # touch every page of both arrays before any timing
        self.dst.fill(0.0)
        # T slices, each a multiple of 16 floats (one 64-byte cache line) except the last.
        edges = [(self.src.size * i // threads) // 16 * 16 for i in range(threads)] + [self.src.size]
        self.slices = [slice(lo, hi) for lo, hi in itertools.pairwise(edges)]
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-copy")
        try:
            import threadpoolctl

            self.blas_limits = lambda: threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
            self.blas_note = f"threadpoolctl.threadpool_limits({threads}, user_api='blas')"
        except ImportError:
            import contextlib

            self.blas_limits = contextlib.nullcontext
            self.blas_note = "threadpoolctl not installed: NumPy's BLAS thread count is not controlled"
        with self.blas_limits():
            alternate([self.matmul, self.copy_single, self.copy_threads], 1)  # warm-up

    def matmul(self) -> np.ndarray:
        """``a @ b`` (its result is freed by the caller, outside the timed region)."""
        return self.a @ self.b

    def copy_single(self) -> None:
        """``np.copyto(dst, src)``: NumPy copies on the calling thread."""
        np.copyto(self.dst, self.src)

    def _copy_slice(self, part: slice) -> None:
        np.copyto(self.dst[part], self.src[part])

    def copy_threads(self) -> None:
        """T threads of the pool, each copying its own slice (``np.copyto`` releases the GIL)."""
        for future in [self.executor.submit(self._copy_slice, part) for part in self.slices]:
            future.result()

    def rounds(self, imgconv_fn: Runner, runs: int, imgconv_out_fn: Runner | None = None) -> dict[str, list[float]]:
        """`runs` rounds of (imgconv, [imgconv with out=,] matmul, np.copyto, T-thread copy); run times."""
        fns = [imgconv_fn] + ([imgconv_out_fn] if imgconv_out_fn is not None else [])
        with self.blas_limits():
            times = alternate(fns + [self.matmul, self.copy_single, self.copy_threads], runs)
        result = dict(zip(["matmul", "copy_single", "copy_threads"], times[len(fns) :]))
        result["imgconv"] = times[0]
        if imgconv_out_fn is not None:
            result["imgconv_out"] = times[1]
        return result

    @property
    def copied_bytes(self) -> int:
        """Bytes moved by one copy: read + written."""
        return 2 * COPY_BYTES

    def close(self) -> None:
        """Stop the copy threads and free the 512 MB of copy arrays."""
        self.executor.shutdown()
        del self.src, self.dst


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def add_efficiency(rec: dict[str, Any], shape: Shape, itemsize: int, times: dict[str, list[float]] | None) -> None:
    """Add imgconv's effective bandwidth and, from the reference rounds, its fractions of the references.

    Per round: ``frac_matmul = (flop / t_imgconv) / (2 n**3 / t_matmul)`` and
    ``frac_copy = (io_bytes / t_imgconv) / (copied bytes / min(t_copyto, t_threaded_copy))``; the
    record keeps the median and min-max over rounds (like the peer ratios). ``frac_*_out`` are the
    same with the imgconv run that writes into a preallocated ``out=``.
    """
    if "imgconv_median_s" not in rec:
        return
    rec["io_bytes"] = shape.io_bytes(itemsize)
    rec["bandwidth_gbs"] = rec["io_bytes"] / rec["imgconv_median_s"] / 1e9
    if times is None:
        return
    mm_gflops = [2 * MATMUL_N**3 / t / 1e9 for t in times["matmul"]]
    c1_gbs = [2 * COPY_BYTES / t / 1e9 for t in times["copy_single"]]
    ct_gbs = [2 * COPY_BYTES / t / 1e9 for t in times["copy_threads"]]
    copy_gbs = [max(a, b) for a, b in zip(c1_gbs, ct_gbs)]
    rec["reference"] = {
        "times": times,
        "matmul_gflops": spread(mm_gflops),
        "copy_single_gbs": spread(c1_gbs),
        "copy_threads_gbs": spread(ct_gbs),
        "copy_gbs": spread(copy_gbs),
    }
    for run, suffix in (("imgconv", ""), ("imgconv_out", "_out")):
        if run in times:
            img_gflops = [shape.flop / t / 1e9 for t in times[run]]
            img_gbs = [rec["io_bytes"] / t / 1e9 for t in times[run]]
            rec["reference"]["frac_matmul" + suffix] = spread([a / b for a, b in zip(img_gflops, mm_gflops)])
            rec["reference"]["frac_copy" + suffix] = spread([a / b for a, b in zip(img_gbs, copy_gbs)])
    rec["frac_matmul"] = rec["reference"]["frac_matmul"]["median"]
    rec["frac_copy"] = rec["reference"]["frac_copy"]["median"]


def target_status(rec: dict[str, Any]) -> dict[str, tuple[float, bool | None]]:
    """``{key: (target, met)}`` for this shape's targets; `met` is None when there is no value."""
    values = {"matmul": rec.get("frac_matmul"), "copy": rec.get("frac_copy")}
    values.update({p: v["median"] for p, v in rec["peers"].items()})
    return {
        key: (target, None if values.get(key) is None else values[key] >= target)
        for key, target in TARGETS.get(rec["shape"]["name"], {}).items()
    }


# --------------------------------------------------------------------------- one shape


def log(msg: str) -> None:
    """Progress goes to stderr so that stdout holds only the table."""
    print(msg, file=sys.stderr, flush=True)


def bench_shape(shape: Shape, args: argparse.Namespace, machine: MachineReference | None = None) -> dict[str, Any]:
    """Check and time imgconv and every selected peer on one shape; a JSON-ready record.

    With a `machine` reference, imgconv then runs ``args.ref_repeats`` more rounds back to back with the
    machine references, for the "% of matmul" and "% of copy" columns.
    """
    case = make_case(shape, dtype=np.dtype(args.dtype))
    rec: dict[str, Any] = {
        "shape": dataclasses.asdict(shape),
        "describe": shape.describe(),
        "flop": shape.flop,
        "check": {},
        "peers": {},
        "skipped": {},
        "mismatch": False,
    }
    log(f"== {shape.name}: {shape.describe()}  ({shape.flop / 1e9:.2f} GFLOP per call)")

    try:
        imgconv_fn = make_runner("imgconv", case, args.threads, args.use_out)
        y_imgconv, warm_imgconv = timed_once(imgconv_fn)
    except Exception as exc:  # a missing feature in imgconv must not stop the other shapes
        rec["error"] = f"imgconv.conv2d raised {type(exc).__name__}: {exc}"
        rec["mismatch"] = True
        log("   !!! " + rec["error"])
        return rec

    runners: dict[str, Runner] = {}
    for name in args.peers:
        try:
            runners[name] = make_runner(name, case, args.threads)
        except PeerSkip as exc:
            rec["skipped"][name] = str(exc)
            log(f"   {name}: skipped: {exc}")
    # torch is the oracle whenever it imports, timed or not; otherwise imgconv is the reference.
    try:
        oracle = runners.get("torch") or make_runner("torch", case, args.threads)
        ref_name = "torch"
    except PeerSkip:
        oracle, ref_name = None, "imgconv"

    # Cheap crop checks of the channel-pair peers before their expensive full-size run:
    # a wrong OpenCV/SciPy computation is reported loudly, never timed.
    small = crop_case(case)
    small_ref = make_runner(ref_name, small, args.threads)()
    for name in [p for p in ("cv2", "scipy") if p in runners]:
        ok, detail = compare(make_runner(name, small, args.threads)(), small_ref)
        rec["check"][f"{name} crop vs {ref_name}"] = {"ok": ok, "detail": detail}
        if not ok:
            rec["mismatch"] = True
            rec["skipped"][name] = f"MISMATCH on a {small.shape.describe()} crop vs {ref_name} ({detail}): not timed"
            log(f"   !!! {name}: MISMATCH on the crop vs {ref_name} ({detail}); not timed")
            del runners[name]
    del small_ref

    # Full-size warm-ups (one untimed call each); imgconv is checked against torch, the
    # other peers against the reference (torch, else imgconv).
    warm: dict[str, float] = {}
    if oracle is not None:
        reference, warm["torch"] = timed_once(oracle)
        reference = np.asarray(reference)
        ok, detail = compare(y_imgconv, reference)
        rec["check"]["imgconv vs torch"] = {"ok": ok, "detail": detail}
        rec["mismatch"] |= not ok
        log(f"   imgconv vs torch: {'OK' if ok else '!!! MISMATCH'} ({detail})")
    else:
        reference = y_imgconv
        rec["check"]["imgconv vs torch"] = {"ok": None, "detail": "torch not importable: unchecked"}
        log("   imgconv vs torch: unchecked (torch not importable)")
    for name in [p for p in runners if p != "torch"]:
        y, warm[name] = timed_once(runners[name])
        ok, detail = compare(y, reference)
        del y
        rec["check"][f"{name} vs {ref_name}"] = {"ok": ok, "detail": detail}
        if not ok:
            rec["mismatch"] = True
            rec["skipped"][name] = f"MISMATCH vs {ref_name} ({detail}): not timed"
            log(f"   !!! {name}: MISMATCH vs {ref_name} ({detail}); not timed")
            del runners[name]
        else:
            log(f"   {name} vs {ref_name}: OK ({detail})")
    del reference, y_imgconv, oracle
    gc.collect()

    imgconv_times: list[float] = []
    for name, fn in runners.items():
        n_pairs = pairs_for(max(warm[name], warm_imgconv), args.repeats, args.peer_cap.get(name), args.budget)
        base, peer = alternate([imgconv_fn, fn], n_pairs)
        imgconv_times += base
        stats = median_ratio(peer, base)
        rec["peers"][name] = {"pairs": n_pairs, "imgconv_times": base, "peer_times": peer, **stats}
        log(
            f"   {name}: {n_pairs} pairs, ratio {name}/imgconv median {stats['median']:.2f} "
            f"(min {stats['min']:.2f}, max {stats['max']:.2f})"
        )
    if not runners:  # no peer at all: still report imgconv's GFLOP/s
        (imgconv_times,) = alternate([imgconv_fn], args.repeats)
        rec["imgconv_only_times"] = imgconv_times
    rec["imgconv_median_s"] = statistics.median(imgconv_times)
    rec["gflops"] = shape.flop / rec["imgconv_median_s"] / 1e9
    log(f"   imgconv: {rec['gflops']:.2f} GFLOP/s")
    # The same call into a preallocated output: the copy reference writes into one too, and the
    # difference from the fresh-output run is the OS zeroing the new pages on first touch.
    imgconv_out_fn = None if args.use_out else make_runner("imgconv", case, args.threads, use_out=True)
    times = machine.rounds(imgconv_fn, args.ref_repeats, imgconv_out_fn) if machine is not None else None
    add_efficiency(rec, shape, np.dtype(args.dtype).itemsize, times)
    if times is not None:
        ref = rec["reference"]
        log(
            f"   references ({args.ref_repeats} rounds): matmul {ref['matmul_gflops']['median']:.1f} GFLOP/s, "
            f"copy {ref['copy_gbs']['median']:.1f} GB/s; imgconv {ref['frac_matmul']['median']:.0%} of matmul, "
            f"{rec['bandwidth_gbs']:.2f} GB/s = {ref['frac_copy']['median']:.0%} of copy"
            + (
                f"; with out=: {ref['frac_matmul_out']['median']:.0%} of matmul, "
                f"{ref['frac_copy_out']['median']:.0%} of copy"
                if "frac_matmul_out" in ref
                else ""
            )
        )
    return rec


# --------------------------------------------------------------------------- report


def thread_setup(threads: int) -> tuple[Any, dict[str, str]]:
    """Set every library's thread count to `threads`; the threadpoolctl context and a summary."""
    info: dict[str, str] = {"imgconv": f"num_threads={threads}"}
    limiter = None
    try:
        import threadpoolctl

        limiter = threadpoolctl.threadpool_limits(limits=threads)
        info["threadpoolctl"] = f"limits={threads}"
    except ImportError:
        info["threadpoolctl"] = "not installed"
    try:
        import torch

        torch.set_num_threads(threads)
        info["torch"] = f"{torch.get_num_threads()} threads (torch {torch.__version__})"
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(threads)
        info["cv2"] = f"{cv2.getNumThreads()} threads (OpenCV {cv2.__version__})"
    except ImportError:
        pass
    try:
        import scipy

        info["scipy"] = f"1 thread: scipy.ndimage is single-threaded (SciPy {scipy.__version__})"
    except ImportError:
        pass
    return limiter, info


def fmt_ratio(peer: dict[str, Any] | None) -> str:
    """``"2.31x (2.10-2.52)"``: median pair ratio and its min-max, or ``"-"``."""
    if peer is None:
        return "-"
    return f"{peer['median']:.2f}x ({peer['min']:.2f}-{peer['max']:.2f})"


def fmt_target(key: str, status: dict[str, tuple[float, bool | None]]) -> str:
    """``"≥60% ✗"``, ``"≥1.5× ✓"``, ``"≥4× n/a"`` (no value), or ``""`` when the shape has no such target."""
    if key not in status:
        return ""
    target, met = status[key]
    text = f"≥{target:.0%}" if key in ("matmul", "copy") else f"≥{target:g}×"
    return f"{text} {'n/a' if met is None else '✓' if met else '✗'}"


def fmt_frac(rec: dict[str, Any], key: str) -> str:
    """``"31% (25-40%)"``: median fraction over the reference rounds and its min-max, or ``"-"``."""
    if key not in rec.get("reference", {}):
        return "-"
    f = rec["reference"][key]
    return f"{f['median']:.0%} ({f['min'] * 100:.0f}-{f['max']:.0%})"


def target_peers(peers: list[str]) -> list[str]:
    """The selected peers that have a target on at least one shape (they get a target column)."""
    return [p for p in peers if any(p in t for t in TARGETS.values())]


def table_rows(records: list[dict[str, Any]], peers: list[str]) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows and footnotes of the result table."""
    header = [
        "shape",
        "config",
        "GFLOP",
        "imgconv GFLOP/s",
        "% of matmul",
        "% of matmul, out=",
        "matmul target",
        "imgconv GB/s",
        "% of copy",
        "% of copy, out=",
        "copy target",
    ]
    with_target = target_peers(peers)
    for p in peers:
        header += [f"{p}/imgconv"] + ([f"{p} target"] if p in with_target else [])
    header += ["check"]
    rows, notes = [], []
    for rec in records:
        name = rec["shape"]["name"]
        status = target_status(rec)
        gflops = f"{rec['gflops']:.3g}" if "gflops" in rec else "ERROR"
        row = [name, rec["describe"], f"{rec['flop'] / 1e9:.3g}", gflops]
        row += [fmt_frac(rec, "frac_matmul"), fmt_frac(rec, "frac_matmul_out"), fmt_target("matmul", status)]
        row += [f"{rec['bandwidth_gbs']:.3g}" if "bandwidth_gbs" in rec else "-"]
        row += [fmt_frac(rec, "frac_copy"), fmt_frac(rec, "frac_copy_out"), fmt_target("copy", status)]
        for p in peers:
            cell = fmt_ratio(rec["peers"].get(p))
            if p in rec["skipped"]:
                cell = "MISMATCH" if "MISMATCH" in rec["skipped"][p] else "skipped"
                notes.append(f"{name}: {p}: {rec['skipped'][p]}")
            row.append(cell)
            if p in with_target:
                row.append(fmt_target(p, status))
        if "error" in rec:
            check = "ERROR"
            notes.append(f"{name}: {rec['error']}")
        else:
            imgconv_ok = rec["check"].get("imgconv vs torch", {}).get("ok")
            check = {True: "OK", False: "MISMATCH", None: "unchecked"}[imgconv_ok]
            if imgconv_ok is False:
                notes.append(f"{name}: imgconv vs torch MISMATCH ({rec['check']['imgconv vs torch']['detail']})")
        row.append(check)
        rows.append(row)
    return header, rows, notes


def target_summary(records: list[dict[str, Any]]) -> str:
    """One line: how many of the issue's targets this run met, and which it missed."""
    met, missed, unknown, met_with_out = 0, [], [], []
    for rec in records:
        for key, (target, ok) in target_status(rec).items():
            label = f"{rec['shape']['name']} {key}"
            if ok is None:
                unknown.append(label)
            elif ok:
                met += 1
            else:
                missed.append(label)
                with_out = rec.get("reference", {}).get(f"frac_{key}_out", {}).get("median")
                if with_out is not None and with_out >= target:
                    met_with_out.append(f"{label} ({with_out:.0%})")
    total = met + len(missed) + len(unknown)
    if not total:
        return "No target applies to the selected shapes."
    text = f"Targets met: {met} of {total}."
    text += f" Missed: {', '.join(missed)}." if missed else ""
    text += f" Met with a preallocated out=: {', '.join(met_with_out)}." if met_with_out else ""
    text += f" Not measured: {', '.join(unknown)}." if unknown else ""
    return text


def render(records: list[dict[str, Any]], peers: list[str], markdown: bool) -> str:
    """The result table as aligned text or GitHub markdown, notes underneath."""
    header, rows, notes = table_rows(records, peers)
    if markdown:
        align = ["---"] * 2 + [":---:" if h.endswith(("target", "check")) else "---:" for h in header[2:]]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines += ([""] + [f"- {note}" for note in notes]) if notes else []
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines += ([""] + [f"* {note}" for note in notes]) if notes else []
    return "\n".join(lines)


def reference_line(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The machine references of the session: medians over all rounds, and the spread over shapes."""
    refs = [rec["reference"] for rec in records if "reference" in rec]
    if not refs:
        return ""

    def rate(key: str, times_key: str, work: float) -> str:
        every = [work / t / 1e9 for r in refs for t in r["times"][times_key]]
        per_shape = [r[key]["median"] for r in refs]
        return f"{statistics.median(every):.3g} (shape medians {min(per_shape):.3g}-{max(per_shape):.3g})"

    runs = sum(len(r["times"]["matmul"]) for r in refs)
    mm = [2 * MATMUL_N**3 / t / 1e9 for r in refs for t in r["times"]["matmul"]]
    warning = ""
    if max(mm) > 1.5 * min(mm):
        warning = (
            f" WARNING: the matmul rounds ranged from {min(mm):.0f} to {max(mm):.0f} GFLOP/s: other load was "
            "on the machine. The matmul can slow down more than imgconv when another process takes a core "
            "(see benchmarks/README.md), so rounds with a slowed matmul overstate % of matmul. imgconv GFLOP/s "
            f"divided by the fastest matmul round ({max(mm):.0f} GFLOP/s) is closer to the quiet-machine fraction."
        )
    return (
        f"Machine references at {args.threads} threads, {runs} rounds ({args.ref_repeats} per shape) of imgconv, "
        f"matmul and copies back to back: {args.dtype} matmul {MATMUL_N}x{MATMUL_N} "
        f"{rate('matmul_gflops', 'matmul', 2 * MATMUL_N**3)} GFLOP/s; copy of {COPY_BYTES // 2**20} MB "
        f"(read + write) {rate('copy_single_gbs', 'copy_single', 2 * COPY_BYTES)} GB/s with np.copyto, "
        f"{rate('copy_threads_gbs', 'copy_threads', 2 * COPY_BYTES)} GB/s with {args.threads} threads "
        "(copy bandwidth = the faster of the two, per round). "
        "% of matmul = imgconv GFLOP/s / matmul GFLOP/s and % of copy = imgconv GB/s / copy bandwidth, "
        "both per round, median (min-max) over the shape's rounds; imgconv GB/s = (input + output bytes) / "
        "imgconv median time. The out= columns time the same call writing into a preallocated output (as "
        "the copy reference does); the targets are checked on the fresh-output columns, which include the "
        "OS zeroing every new page of the output on first touch." + warning + "\n"
    )


def parse_cap(text: str) -> dict[str, int]:
    """Parse ``--peer-cap scipy=3,cv2=5`` into ``{"scipy": 3, "cv2": 5}``."""
    caps = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in PEER_NAMES or not value.isdigit() or int(value) < MIN_PAIRS:
            raise argparse.ArgumentTypeError(
                f"--peer-cap takes NAME=R pairs with NAME in {sorted(PEER_NAMES)} and R >= {MIN_PAIRS}; got {item!r}"
            )
        caps[name] = int(value)
    return caps


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; `shapes` becomes a list of `Shape` and `peers` a list of names."""
    names = [s.name for s in SHAPES]
    parser = argparse.ArgumentParser(
        description="imgconv.conv2d vs torch / OpenCV / SciPy: median of per-pair time ratios "
        "(peer/imgconv, > 1 means imgconv is faster) and imgconv GFLOP/s.",
    )
    parser.add_argument("--threads", type=int, default=2, help="thread count for every library (default 2)")
    parser.add_argument(
        "--repeats", type=int, default=7, help=f"alternating pairs per peer (default 7, >= {MIN_PAIRS})"
    )
    parser.add_argument("--shapes", default=",".join(names), help=f"comma-separated subset of: {', '.join(names)}")
    parser.add_argument("--peers", default=",".join(PEER_NAMES), help="comma-separated subset of: torch, cv2, scipy")
    parser.add_argument("--quick", action="store_true", help="divide H and W by 4")
    parser.add_argument("--markdown", action="store_true", help="print the table as GitHub markdown")
    parser.add_argument("--json", metavar="FILE", help="write per-run times and per-pair ratios to FILE")
    parser.add_argument(
        "--peer-cap",
        type=parse_cap,
        default={},
        metavar="NAME=R[,NAME=R]",
        help="at most R pairs for that peer, e.g. scipy=3",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help=f"a peer whose run takes > {SLOW_RUN_SECONDS:g} s gets about SECONDS of pairs "
        f"(never fewer than {MIN_PAIRS} pairs; default 30)",
    )
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument(
        "--ref-repeats",
        type=int,
        default=7,
        metavar="R",
        help="rounds of (imgconv, imgconv with out=, matmul, copy, threaded copy) per shape for the "
        f"%% columns (default 7, at least {MIN_REF_RUNS})",
    )
    parser.add_argument(
        "--use-out",
        action="store_true",
        help="pass a preallocated out= to imgconv (unfair: torch allocates its output)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be a positive int; got {args.threads}")
    if args.ref_repeats < MIN_REF_RUNS:
        parser.error(f"--ref-repeats must be >= {MIN_REF_RUNS}; got {args.ref_repeats}")
    if args.repeats < MIN_PAIRS:
        parser.error(f"--repeats must be >= {MIN_PAIRS}; got {args.repeats}")
    wanted = [s for s in args.shapes.split(",") if s]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        parser.error(f"--shapes: unknown {unknown}; choose from {sorted(names)}")
    args.shapes = [s for s in SHAPES if s.name in wanted]
    args.peers = [p for p in args.peers.split(",") if p]
    if sorted(set(args.peers) - set(PEER_NAMES)):
        parser.error(f"--peers: unknown {sorted(set(args.peers) - set(PEER_NAMES))}; choose from {sorted(PEER_NAMES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 if any result mismatched (or imgconv raised), else 0."""
    args = parse_args(argv)
    imgconv = load_imgconv()
    limiter, thread_info = thread_setup(args.threads)
    shapes = [s.scaled(4) for s in args.shapes] if args.quick else args.shapes
    meta = {
        "imgconv": f"{getattr(imgconv, '__version__', '?')} ({getattr(imgconv, '__file__', '?')})",
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "dtype": args.dtype,
        "quick": args.quick,
        "use_out": args.use_out,
        "thread_setup": thread_info,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    log(f"imgconv {meta['imgconv']}; numpy {np.__version__}; {meta['platform']}; {meta['cpus']} CPUs")
    for lib, text in thread_info.items():
        log(f"  {lib}: {text}")
    machine = MachineReference(args.threads, np.dtype(args.dtype))
    meta["reference_setup"] = {
        "matmul": f"{MATMUL_N}x{MATMUL_N} {args.dtype} a @ b, {machine.blas_note}, "
        f"OPENBLAS_THREAD_TIMEOUT={os.environ['OPENBLAS_THREAD_TIMEOUT']}",
        "copy": f"{COPY_BYTES // 2**20} MB float32 np.copyto, and {args.threads} threads x one slice each",
        "rounds_per_shape": args.ref_repeats,
    }
    log(f"  references: {meta['reference_setup']['matmul']}; {meta['reference_setup']['copy']}")
    try:
        records = [bench_shape(shape, args, machine) for shape in shapes]
    finally:
        machine.close()
        if limiter is not None:
            limiter.restore_original_limits()

    flags = (", --quick" if args.quick else "") + (
        ", imgconv gets a preallocated out= (unfair)" if args.use_out else ""
    )
    print(
        f"imgconv.conv2d vs peers: {args.threads} threads, {args.dtype}{flags}. "
        f"Ratio = peer time / imgconv time, median over alternating pairs (min-max); > 1 means imgconv is faster."
    )
    print(
        "scipy.ndimage is single-threaded; cv2/scipy loop over channel pairs in Python and compute the "
        "stride-1 result before subsampling."
    )
    print(reference_line(records, args))
    print(render(records, args.peers, args.markdown))
    print(
        "\n"
        + target_summary(records)
        + (" (The targets are for the full-size shapes; this run used --quick.)" if args.quick else "")
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": records}, fh, indent=1)
        log(f"wrote {args.json}")
    return 1 if any(rec["mismatch"] for rec in records) else 0


if __name__ == "__main__":
    sys.exit(main())
