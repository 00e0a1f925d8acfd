"""Benchmark the fixed cost of tiny calls: imgconv against scipy.ndimage (and torch when it imports).

On inputs this small the arithmetic takes well under a microsecond; what is timed is each
library's per-call overhead (argument checks, planning, allocation, the call into compiled code).

==============================  ===========================================================
case                            peers
==============================  ===========================================================
engine 8x8 3x3 float32          ``imgconv._engine.correlate(x, w, pads=(1, 1, 1, 1),
                                method='direct')`` on (1, 1, 8, 8); ``scipy.ndimage.correlate``
                                (mode 'constant'); ``torch.nn.functional.conv2d(padding=1)``
conv2d 1x1x8x8 3x3 float32      ``imgconv.conv2d(x, w, padding=1)``; the same peers
filters.correlate 8x8 3x3       ``imgconv.filters.correlate(image, weights)`` (float64, mode
float64                         'reflect'); ``scipy.ndimage.correlate``
filters.sobel 16x16 float64     ``imgconv.filters.sobel(image)``; ``scipy.ndimage.sobel`` along
                                both axes (mode 'reflect') and ``np.hypot``, scaled by
                                ``1 / (4 sqrt 2)`` to scikit-image's magnitude
ndimage.* on 8², 64², 256²      ``imgconv.ndimage.f(image, ...)`` against ``scipy.ndimage.f`` with
                                the same arguments (a swapped import): gaussian_filter, sobel,
                                correlate1d, correlate, laplace, uniform_filter (uint8)
==============================  ===========================================================

Each peer's result is first checked against imgconv's (``max|a - b| <= 1e-5 * max|imgconv|``;
a peer that disagrees is reported and not timed).  Then ``--rounds`` rounds, each timing
``--number`` calls of every contender of a case in a rotated order, so that all of them see
the same machine load; the table gives each contender's median (and minimum) time per call
over the rounds and the median over rounds of ``peer_time / imgconv_time`` (> 1 means imgconv
is faster).  On a shared machine, quote the medians of several runs.

Examples
--------
::

    python benchmarks/bench_tiny.py                 # about half a minute
    python benchmarks/bench_tiny.py --rounds 41 --number 1000 --markdown
"""

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

try:
    import imgconv
except ImportError:  # an in-place build, run from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import imgconv
import imgconv.filters
from imgconv import _engine

from _table import print_table

TOLERANCE = 1e-5


def _peers():
    """Optional libraries: name -> module (missing ones are absent, with a note)."""
    found = {}
    try:
        import scipy.ndimage

        found["scipy"] = scipy.ndimage
    except ImportError:
        print("note: SciPy not installed; its columns are skipped", file=sys.stderr)
    try:
        import torch

        torch.set_num_threads(1)
        found["torch"] = torch
    except ImportError:
        print("note: torch not installed; its columns are skipped", file=sys.stderr)
    return found


def _cases(peers):
    """(case name, imgconv function, [(peer name, peer function, comparable result)])."""
    rng = np.random.default_rng(0)
    x = rng.random((1, 1, 8, 8), dtype=np.float32)
    w = rng.random((1, 1, 3, 3), dtype=np.float32)
    image = rng.random((8, 8))
    weights = rng.random((3, 3))
    image16 = rng.random((16, 16))
    ndi, torch = peers.get("scipy"), peers.get("torch")

    nchw_peers = []
    if ndi is not None:
        x2, w2 = x[0, 0], w[0, 0]
        nchw_peers.append(("scipy.ndimage.correlate", lambda: ndi.correlate(x2, w2, mode="constant")[None, None]))
    if torch is not None:
        import torch.nn.functional as F

        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        nchw_peers.append(("torch F.conv2d", lambda: F.conv2d(xt, wt, padding=1).numpy()))
    cases = [
        ("engine 8x8 3x3 float32", lambda: _engine.correlate(x, w, pads=(1, 1, 1, 1), method="direct"), nchw_peers),
        ("conv2d 1x1x8x8 3x3 float32", lambda: imgconv.conv2d(x, w, padding=1), nchw_peers),
    ]
    correlate_peers, sobel_peers = [], []
    if ndi is not None:
        correlate_peers.append(("scipy.ndimage.correlate", lambda: ndi.correlate(image, weights, mode="reflect")))
        scale = 1.0 / (4.0 * math.sqrt(2.0))

        def scipy_sobel():
            return np.hypot(ndi.sobel(image16, 0, mode="reflect"), ndi.sobel(image16, 1, mode="reflect")) * scale

        sobel_peers.append(("scipy.ndimage.sobel x2 + hypot", scipy_sobel))
    cases += [
        (
            "filters.correlate 8x8 3x3 float64",
            lambda: imgconv.filters.correlate(image, weights),
            correlate_peers,
        ),
        ("filters.sobel 16x16 float64", lambda: imgconv.filters.sobel(image16), sobel_peers),
    ]
    return cases + _ndimage_cases(ndi, rng)


def _ndimage_cases(ndi, rng):
    """``imgconv.ndimage`` against ``scipy.ndimage`` with the same call, on 8², 64² and 256²: a swapped import."""
    import imgconv.ndimage as ours

    calls = [
        ("gaussian_filter sigma=2", np.float64, lambda m, a: m.gaussian_filter(a, 2.0)),
        ("sobel axis=0", np.float64, lambda m, a: m.sobel(a, 0)),
        ("correlate1d [1, 2, 1]", np.float64, lambda m, a: m.correlate1d(a, [1.0, 2.0, 1.0])),
        ("correlate 3x3", np.float32, lambda m, a: m.correlate(a, KERNEL3)),
        ("laplace", np.float32, lambda m, a: m.laplace(a)),
        ("uniform_filter size=5", np.uint8, lambda m, a: m.uniform_filter(a, 5)),
    ]
    cases = []
    for side in (8, 64, 256):
        for name, dtype, call in calls:
            image = (rng.random((side, side)) * 255).astype(dtype)
            peers = [] if ndi is None else [("scipy.ndimage", lambda c=call, a=image: c(ndi, a))]
            label = f"ndimage.{name} {side}x{side} {np.dtype(dtype).name}"
            cases.append((label, lambda c=call, a=image: c(ours, a), peers))
    return cases


KERNEL3 = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 0.25], [3.0, 0.0, -2.0]], np.float32)


def _per_call(func, number):
    start = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - start) / number


def _run(rounds, number):
    rows, failures = [], 0
    for case, ours, peers in _cases(_peers()):
        reference = np.asarray(ours(), np.float64)  # warm-up (layouts, imports) and reference
        scale = float(np.abs(reference).max()) or 1.0
        contenders = [("imgconv", ours)]
        for name, peer in peers:
            error = float(np.abs(np.asarray(peer(), np.float64) - reference).max())
            if not error <= TOLERANCE * scale:
                rows.append((case, name, None, None, None, f"MISMATCH {error / scale:.1e}"))
                failures += 1
                continue
            contenders.append((name, peer))
        times = {name: [] for name, _ in contenders}
        for r in range(rounds):
            k = r % len(contenders)
            for name, func in contenders[k:] + contenders[:k]:  # rotated: no contender always goes first
                times[name].append(_per_call(func, number))
        ours_t = times["imgconv"]
        for name, _ in contenders:
            ratio = None if name == "imgconv" else statistics.median(p / o for p, o in zip(times[name], ours_t))
            rows.append((case, name, statistics.median(times[name]), min(times[name]), ratio, ""))
    return rows, failures


def _print(rows, markdown, rounds, number):
    header = ["case", "library", "median us/call", "min us/call", "peer / imgconv"]
    table = []
    for case, name, median, low, ratio, note in rows:
        if median is None:
            table.append([case, name, note, "", ""])
        else:
            table.append(
                [case, name, f"{1e6 * median:.1f}", f"{1e6 * low:.1f}", "" if ratio is None else f"{ratio:.2f}x"]
            )
    print(
        f"Tiny calls: {rounds} alternating rounds of {number} calls per contender; peer / imgconv > 1 means "
        f"imgconv is faster. {platform.processor() or platform.machine()}"
    )
    print_table(header, table, markdown=markdown)


def _positive(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}; got {value}")
        return value

    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark the fixed cost of tiny imgconv calls against SciPy/torch.")
    parser.add_argument("--rounds", type=_positive(3), default=15, help="alternating rounds (default 15, >= 3)")
    parser.add_argument("--number", type=_positive(1), default=200, help="calls per timing (default 200)")
    parser.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    args = parser.parse_args(argv)
    rows, failures = _run(args.rounds, args.number)
    _print(rows, args.markdown, args.rounds, args.number)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
