"""Benchmark ``imgconv.ndimage`` against ``scipy.ndimage`` (the module it replaces) and OpenCV.

Inputs (fixed seed): a ``--size`` x ``--size`` image (default 2048 x 2048) as float32 uniform
noise in [0, 1) and as uint8 random integers 0..255, and a ``--volume-shape`` float32 volume
(default 64 x 512 x 512).  Every function runs on every input (``--skip-uint8``,
``--skip-volume`` and ``--only`` narrow that down); the output dtype is the input dtype
(scipy's rule: uint8 results are truncated toward zero, or wrap, as scipy's are).

Cases, each with ``scipy.ndimage.<function>`` as peer and, on the 2-D images only, OpenCV
where it has the same filter (all with ``cv2.BORDER_REFLECT``, which is scipy's default mode
'reflect'; each equivalence was checked on small arrays, and every run checks it again):

=====================================  ===================================================
case                                   OpenCV peer
=====================================  ===================================================
correlate 7x7 (volume: 3x3x3),         ``cv2.filter2D(x, -1, k)`` (a correlation; for
random normal kernel                   convolve the kernel is flipped beforehand)
convolve, the same kernel              ``cv2.filter2D`` with the flipped kernel
correlate1d / convolve1d, 9 random     ``cv2.filter2D`` with the (flipped) taps as a
normal taps, axis -1 and axis 0        1 x 9 or 9 x 1 kernel
gaussian_filter sigma 2 and 8          ``cv2.GaussianBlur(x, (k, k), sigma)``,
                                       ``k = 2 * int(4 * sigma + 0.5) + 1`` (truncate 4)
gaussian_filter1d sigma 2, axis 0      ``cv2.GaussianBlur(x, (1, 17), 2, sigmaY=2)``
gaussian_laplace sigma 2               --
gaussian_gradient_magnitude sigma 2    --
laplace                                ``cv2.Laplacian(x, ddepth, ksize=1)`` (the same
                                       3x3 stencil)
sobel axis -1                          ``cv2.Sobel(x, ddepth, 1, 0, ksize=3)``
prewitt axis -1                        --
uniform_filter size 5                  ``cv2.blur(x, (5, 5))``
uniform_filter1d size 5, axis 0        ``cv2.blur(x, (1, 5))``
=====================================  ===================================================

``ddepth`` is ``CV_32F`` for float32 and ``CV_16S`` for uint8 (OpenCV would saturate a uint8
derivative; scipy wraps it).  OpenCV's uint8 results of filters with negative weights
(correlate, convolve, the 1-D correlations, laplace, sobel) saturate where scipy's and
imgconv's wrap, so they are timed but not checked: the ``cv2 checked`` column says so.

Agreement, checked on the warm-up results before any timing: float32
``max|a - b| <= 1e-4 * max|b|`` (b the peer's result); uint8 against scipy at most 1 apart
(modulo 256, since both wrap; imgconv's sums run in another order, see imgconv.ndimage);
uint8 against OpenCV at most 3 apart (scipy truncates after every axis pass, OpenCV rounds
once with fixed-point weights).  A peer that disagrees gets a ``MISMATCH`` line and is not
timed; the run goes on and exits with status 1.

Timing: every callable runs once (the warm-up, also used for the check), then ``--pairs``
rounds of one call each, in an order rotated every round (imgconv, scipy, cv2; scipy, cv2,
imgconv; ...), all in one process so that all see the same machine load.  imgconv and OpenCV
run with ``--threads`` threads (``num_threads=``, ``cv2.setNumThreads``); scipy.ndimage is
single-threaded whatever the setting.  The table gives median times and the median over rounds
of ``peer_time / imgconv_time`` (above 1: imgconv is faster) with its min-max.  ``GMAC/s`` is
the multiply-adds of scipy's algorithm (the kernel's taps for correlate / convolve, the taps of
each 1-D pass summed over passes for the separable filters) times the voxels, over imgconv's
median time.  On a shared machine, quote the ratios, not the times.

Examples
--------
::

    python benchmarks/bench_ndimage.py                     # 2048^2, 64x512x512, 2 threads, 3 pairs
    python benchmarks/bench_ndimage.py --pairs 5 --markdown
    python benchmarks/bench_ndimage.py --only gaussian --skip-volume
    python benchmarks/bench_ndimage.py --size 128 --volume-shape 4,32,32 --pairs 1   # smoke test
"""

import argparse
import io
import platform
import statistics
import sys

import numpy as np
import scipy
import scipy.ndimage as sn

import imgconv
from imgconv import ndimage

from _table import positive_ints, print_table, rotated_rounds

FLOAT_TOLERANCE = 1e-4  # of max|peer|
UINT8_SCIPY_TOLERANCE = 1  # grey levels, modulo 256
UINT8_CV2_TOLERANCE = 3  # grey levels: scipy truncates after each of two passes, OpenCV rounds once


def _gaussian_taps(sigma):
    return 2 * int(4.0 * sigma + 0.5) + 1


def _specs(ndim, kernel, weights):
    """(name, function, args, kwargs, multiply-adds per voxel) for one input of `ndim` dimensions."""
    g2 = _gaussian_taps(2.0)
    shape = "x".join(map(str, kernel.shape))
    return [
        (f"correlate {shape}", "correlate", (kernel,), {}, kernel.size),
        (f"convolve {shape}", "convolve", (kernel,), {}, kernel.size),
        ("correlate1d 9 taps axis=-1", "correlate1d", (weights,), {"axis": -1}, weights.size),
        ("correlate1d 9 taps axis=0", "correlate1d", (weights,), {"axis": 0}, weights.size),
        ("convolve1d 9 taps axis=-1", "convolve1d", (weights,), {"axis": -1}, weights.size),
        ("convolve1d 9 taps axis=0", "convolve1d", (weights,), {"axis": 0}, weights.size),
        ("gaussian_filter sigma=2", "gaussian_filter", (2.0,), {}, ndim * g2),
        ("gaussian_filter sigma=8", "gaussian_filter", (8.0,), {}, ndim * _gaussian_taps(8.0)),
        ("gaussian_filter1d sigma=2 axis=0", "gaussian_filter1d", (2.0,), {"axis": 0}, g2),
        # scipy: one derivative per axis, each smoothed along every axis
        ("gaussian_laplace sigma=2", "gaussian_laplace", (2.0,), {}, ndim * ndim * g2),
        ("gaussian_gradient_magnitude sigma=2", "gaussian_gradient_magnitude", (2.0,), {}, ndim * ndim * g2),
        ("laplace", "laplace", (), {}, ndim * 3),
        ("sobel axis=-1", "sobel", (), {"axis": -1}, ndim * 3),
        ("prewitt axis=-1", "prewitt", (), {"axis": -1}, ndim * 3),
        ("uniform_filter size=5", "uniform_filter", (5,), {}, ndim * 5),
        ("uniform_filter1d size=5 axis=0", "uniform_filter1d", (5,), {"axis": 0}, 5),
    ]


def _cv2_peer(cv2, function, x, args, kwargs):
    """(callable, uint8 tolerance or None when the result is not comparable) or None: OpenCV's version."""
    border = cv2.BORDER_REFLECT
    smooth = UINT8_CV2_TOLERANCE
    ddepth = cv2.CV_32F if x.dtype == np.float32 else cv2.CV_16S
    if function in ("correlate", "convolve"):
        k = args[0] if function == "correlate" else np.ascontiguousarray(args[0][::-1, ::-1])
        return (lambda: cv2.filter2D(x, -1, k, borderType=border)), None
    if function in ("correlate1d", "convolve1d"):
        w = args[0] if function == "correlate1d" else args[0][::-1]
        k = np.ascontiguousarray(w.reshape((1, -1) if kwargs["axis"] == -1 else (-1, 1)))
        return (lambda: cv2.filter2D(x, -1, k, borderType=border)), None
    if function == "gaussian_filter":
        sigma = args[0]
        k = _gaussian_taps(sigma)
        return (lambda: cv2.GaussianBlur(x, (k, k), sigma, borderType=border)), smooth
    if function == "gaussian_filter1d":  # axis 0: a k x 1 kernel (OpenCV's ksize is (width, height))
        sigma = args[0]
        k = _gaussian_taps(sigma)
        return (lambda: cv2.GaussianBlur(x, (1, k), sigma, sigmaY=sigma, borderType=border)), smooth
    if function == "uniform_filter":
        return (lambda: cv2.blur(x, (5, 5), borderType=border)), smooth
    if function == "uniform_filter1d":  # axis 0
        return (lambda: cv2.blur(x, (1, 5), borderType=border)), smooth
    if function == "laplace":
        return (lambda: cv2.Laplacian(x, ddepth, ksize=1, borderType=border)), None
    if function == "sobel":  # axis -1: the derivative along x
        return (lambda: cv2.Sobel(x, ddepth, 1, 0, ksize=3, borderType=border)), None
    return None


def _inputs(args):
    rng = np.random.default_rng(0)
    kernel2, kernel3 = rng.standard_normal((7, 7)), rng.standard_normal((3, 3, 3))
    weights = rng.standard_normal(9)
    n = args.size
    inputs = [(f"{n}x{n} float32", rng.random((n, n), dtype=np.float32), kernel2)]
    if not args.skip_uint8:
        inputs.append((f"{n}x{n} uint8", rng.integers(0, 256, (n, n), dtype=np.uint8), kernel2))
    if not args.skip_volume:
        label = "x".join(map(str, args.volume_shape))
        inputs.append((f"{label} float32", rng.random(args.volume_shape, dtype=np.float32), kernel3))
    return inputs, weights


def _disagreement(ours, peer, uint8_tolerance):
    """None when `ours` and `peer` agree, else a description of how far apart they are."""
    if ours.shape != peer.shape:
        return f"shape {ours.shape} vs {peer.shape}"
    if ours.dtype == np.uint8:
        diff = np.abs(ours.astype(np.int32) - peer.astype(np.int32))
        if peer.dtype == np.uint8:  # both wrap: compare modulo 256
            diff = np.minimum(diff, 256 - diff)
        error = int(diff.max()) if diff.size else 0
        return None if error <= uint8_tolerance else f"max|a - b| = {error} > {uint8_tolerance}"
    diff = np.abs(ours.astype(np.float64) - peer.astype(np.float64))
    scale = float(np.abs(peer).max()) if peer.size else 0.0
    error = float(diff.max()) if diff.size else 0.0
    if error <= FLOAT_TOLERANCE * scale:
        return None
    return f"max|a - b| = {error:.3g} > {FLOAT_TOLERANCE:g} * max|peer| ({scale:.3g})"


def _ratio_cells(peer_times, ours_times):
    ratios = [p / o for p, o in zip(peer_times, ours_times)]
    return (
        f"{1e3 * statistics.median(peer_times):.1f}",
        f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})",
    )


def _run(args, cv2):
    inputs, weights = _inputs(args)
    rows, failures = [], 0
    for input_label, x, kernel in inputs:
        for label, function, fargs, fkwargs, macs in _specs(x.ndim, kernel, weights):
            name = f"{label}, {input_label}"
            if args.only and args.only not in name:
                continue
            ours_f, scipy_f = getattr(ndimage, function), getattr(sn, function)

            def ours(f=ours_f, x=x, a=fargs, k=fkwargs, n=args.threads):
                return f(x, *a, **k, num_threads=n)

            def peer(f=scipy_f, x=x, a=fargs, k=fkwargs):
                return f(x, *a, **k)

            reference = ours()  # warm-up and reference
            callables = [("imgconv", ours)]
            notes = {}
            result = peer()
            problem = _disagreement(reference, result, UINT8_SCIPY_TOLERANCE)
            if problem:
                print(f"MISMATCH {name}: imgconv vs scipy.ndimage.{function}: {problem}", flush=True)
                notes["scipy"] = "MISMATCH"
                failures += 1
            else:
                callables.append(("scipy", peer))
            checked = ""
            cv_peer = _cv2_peer(cv2, function, x, fargs, fkwargs) if cv2 is not None and x.ndim == 2 else None
            if cv_peer is not None:
                cv_func, uint8_tolerance = cv_peer
                result = cv_func()
                if x.dtype == np.uint8 and uint8_tolerance is None:
                    checked = "no (saturates)"
                    callables.append(("cv2", cv_func))
                else:
                    problem = _disagreement(reference, result, uint8_tolerance)
                    if problem:
                        print(f"MISMATCH {name}: imgconv vs OpenCV: {problem}", flush=True)
                        notes["cv2"] = "MISMATCH"
                        checked = "MISMATCH"
                        failures += 1
                    else:
                        checked = "yes"
                        callables.append(("cv2", cv_func))
            del reference, result
            times = rotated_rounds(callables, args.pairs)
            ours_t = times["imgconv"]
            ours_ms = statistics.median(ours_t)
            row = [name, f"{1e3 * ours_ms:.1f}"]
            for who in ("scipy", "cv2"):
                if who in times:
                    row += _ratio_cells(times[who], ours_t)
                else:
                    row += [notes.get(who, ""), ""]
            row += [checked, f"{macs * x.size / ours_ms / 1e9:.2f}"]
            rows.append(row)
            print(f"{name}: scipy/imgconv {row[3]}, cv2/imgconv {row[5] or '-'}", file=sys.stderr, flush=True)
    return rows, failures


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark imgconv.ndimage against scipy.ndimage and OpenCV.",
        epilog="ratio > 1 means imgconv is faster; see the module docstring for the protocol.",
    )
    parser.add_argument("--size", type=int, default=2048, help="image side (default 2048)")
    parser.add_argument(
        "--volume-shape",
        type=positive_ints("--volume-shape", 3),
        default=(64, 512, 512),
        help="volume shape, e.g. 64,512,512 (default)",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for imgconv and OpenCV (default 2)")
    parser.add_argument("--pairs", type=int, default=3, help="alternating timing rounds per case (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    parser.add_argument("--only", metavar="SUBSTRING", help="run only the cases whose name contains SUBSTRING")
    parser.add_argument("--skip-volume", action="store_true", help="leave out the 3-D volume")
    parser.add_argument("--skip-uint8", action="store_true", help="leave out the uint8 image")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be a positive int")
    if args.threads < 1:
        parser.error("--threads must be a positive int")
    if args.pairs < 1:
        parser.error("--pairs must be a positive int")
    try:
        import cv2

        cv2.setNumThreads(args.threads)
        cv2_tag = f"OpenCV {cv2.__version__}"
    except ImportError:
        cv2, cv2_tag = None, "OpenCV not installed"
        print("note: OpenCV (cv2) not installed; its columns stay empty", file=sys.stderr)
    config = imgconv.show_config(file=io.StringIO())
    print(
        f"imgconv {config['version']}: kernel path {config['simd_path']} "
        f"(available: {', '.join(config['available_paths'])}), OpenMP {'on' if config['openmp'] else 'off'}; "
        f"{args.threads} threads for imgconv and {cv2_tag}; scipy {scipy.__version__} (single-threaded); "
        f"{args.pairs} alternating rounds per case; {platform.processor() or platform.machine()}"
    )
    rows, failures = _run(args, cv2)
    header = [
        "case",
        "imgconv ms",
        "scipy ms",
        "scipy / imgconv (min-max)",
        "cv2 ms",
        "cv2 / imgconv (min-max)",
        "cv2 checked",
        "imgconv GMAC/s",
    ]
    print_table(header, rows, markdown=args.markdown)
    if failures:
        print(f"{failures} peer(s) disagreed with imgconv (MISMATCH above); they were not timed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
