"""Benchmark ``imgconv.ndimage`` against ``scipy.ndimage`` (the function it replaces).

Cases (float32 input, uniform noise with a fixed seed): ``gaussian_filter`` sigma 2 and 8,
``uniform_filter`` size 5, ``sobel`` on a 2048 x 2048 image and on a 256^3 volume, and
``correlate`` with a random 7 x 7 kernel on the image.  imgconv runs with ``--threads``
threads (default 2); scipy.ndimage is single-threaded.

Each pair is first checked to agree (``max|a - b| <= 1e-5 * max|scipy|``), then timed in
alternating runs (imgconv, scipy, imgconv, scipy, ...) in one process, so that both see the
same machine load.  The headline is the median over pairs of ``scipy_time / imgconv_time``
(above 1: imgconv is faster), with the min-max over pairs.

Examples
--------
::

    python benchmarks/bench_ndimage.py                 # 2 threads, 3 pairs
    python benchmarks/bench_ndimage.py --pairs 5 --markdown
    python benchmarks/bench_ndimage.py --volume 128    # a smaller volume
"""

import argparse
import statistics
import time

import numpy as np
import scipy.ndimage as sn

from imgconv import ndimage

from _table import print_table


def _cases(size, volume):
    rng = np.random.default_rng(0)
    image = rng.random((size, size), dtype=np.float32)
    vol = rng.random((volume,) * 3, dtype=np.float32)
    k7 = rng.standard_normal((7, 7))
    cases = []
    for name, x in ((f"{size}^2", image), (f"{volume}^3", vol)):
        cases += [
            (f"gaussian_filter sigma=2, {name}", "gaussian_filter", x, (2.0,)),
            (f"gaussian_filter sigma=8, {name}", "gaussian_filter", x, (8.0,)),
            (f"uniform_filter size=5, {name}", "uniform_filter", x, (5,)),
            (f"sobel, {name}", "sobel", x, ()),
        ]
    cases.append((f"correlate 7x7, {size}^2", "correlate", image, (k7,)))
    return cases


def _time(f, *args, **kwargs):
    t = time.perf_counter()
    f(*args, **kwargs)
    return time.perf_counter() - t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--volume", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for label, name, x, params in _cases(args.size, args.volume):
        ours = getattr(ndimage, name)
        peer = getattr(sn, name)
        a, b = ours(x, *params, num_threads=args.threads), peer(x, *params)
        error = float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1e-30))
        if error > 1e-5:
            rows.append((label, f"disagree ({error:.2g})", "", ""))
            continue
        ratios, times = [], []
        for _ in range(args.pairs):
            t_ours = _time(ours, x, *params, num_threads=args.threads)
            t_peer = _time(peer, x, *params)
            ratios.append(t_peer / t_ours)
            times.append(t_ours)
        rows.append(
            (
                label,
                f"{statistics.median(ratios):.2f}x",
                f"{min(ratios):.2f}-{max(ratios):.2f}",
                f"{statistics.median(times) * 1e3:.0f} ms",
            )
        )
        print(f"{label}: {rows[-1][1]}", flush=True)
    header = ("case", f"scipy / imgconv ({args.threads} threads)", "min-max", "imgconv median")
    print_table(header, rows, markdown=args.markdown)


if __name__ == "__main__":
    main()
