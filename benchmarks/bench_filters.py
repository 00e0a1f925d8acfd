"""Benchmark ``imgconv.filters`` against scikit-image and OpenCV.

Cases, on one ``--size`` x ``--size`` image (default 4096 x 4096, uniform noise with a fixed
seed; float32, or uint8 with ``--dtype uint8``), with ``--threads`` threads (default 2) for
imgconv and OpenCV (scikit-image / scipy.ndimage is single-threaded whatever the setting):

========================  =============================================================
case                      peers
========================  =============================================================
gaussian sigma=3          ``skimage.filters.gaussian(image, 3)`` (mode 'nearest');
                          ``cv2.GaussianBlur`` 25x25, sigma 3, ``BORDER_REPLICATE``
difference_of_gaussians   ``skimage.filters.difference_of_gaussians(image, 3)`` (high 4.8);
sigma=3                   two ``cv2.GaussianBlur`` (25x25 and 39x39) and a subtraction
sobel                     ``skimage.filters.sobel(image)`` (magnitude, mode 'reflect');
                          ``cv2.Sobel`` dx and dy (``BORDER_REFLECT``), ``cv2.magnitude``
                          and the scaling ``1 / (4 sqrt 2)`` that gives skimage's values
========================  =============================================================

With ``--dtype uint8`` every function gets the uint8 image and must return the values of the
image scaled to [0, 1] (what ``skimage.util.img_as_float`` gives): scikit-image converts it
itself; ``cv2.GaussianBlur`` would round to uint8, so the OpenCV Gaussians get
``np.multiply(image, 1 / 255, dtype=np.float32)`` first (timed), while ``cv2.Sobel`` reads
uint8 into ``CV_32F`` and the 1/255 goes into its final scaling.

Each pair of functions is first checked to agree (``max|a - b| <= 1e-4 * max|imgconv|``; a
peer that disagrees is reported and not timed), then timed in alternating runs
(imgconv, peer, imgconv, peer, ...) so that both sides see the same machine load. The
headline is the median over pairs of ``peer_time / imgconv_time`` -- a ratio above 1 means
imgconv is faster -- with the min-max over pairs.  imgconv's median time is printed for
orientation only: on a shared machine, quote the ratios.

Examples
--------
::

    python benchmarks/bench_filters.py                   # 4096 x 4096, 2 threads, 7 pairs
    python benchmarks/bench_filters.py --markdown        # GitHub table
    python benchmarks/bench_filters.py --size 1024 --pairs 5 --threads 4
    python benchmarks/bench_filters.py --dtype uint8     # 8-bit image, read directly by imgconv
"""

import argparse
import math
import platform
import statistics
import sys
import time

import numpy as np

from _table import print_table

TOLERANCE = 1e-4


def _cases(image, threads):
    """(case name, imgconv function, [(peer name, peer function)])."""
    from imgconv import filters

    peers_g, peers_dog, peers_sobel = [], [], []
    try:
        import skimage
        import skimage.filters as skf

        tag = f"scikit-image {skimage.__version__}"
        peers_g.append((tag, lambda: skf.gaussian(image, sigma=3)))
        peers_dog.append((tag, lambda: skf.difference_of_gaussians(image, 3)))
        peers_sobel.append((tag, lambda: skf.sobel(image)))
    except ImportError:
        print("note: scikit-image not installed; skipped", file=sys.stderr)
    try:
        import cv2

        cv2.setNumThreads(threads)
        tag = f"OpenCV {cv2.__version__}"
        k3, k48 = 2 * int(4 * 3 + 0.5) + 1, 2 * int(4 * 4.8 + 0.5) + 1
        integer = image.dtype == np.uint8
        scale = 1.0 / (4.0 * math.sqrt(2.0)) / (255.0 if integer else 1.0)

        def as_float():
            return np.multiply(image, np.float32(1 / 255), dtype=np.float32) if integer else image

        def cv_gaussian():
            return cv2.GaussianBlur(as_float(), (k3, k3), 3, borderType=cv2.BORDER_REPLICATE)

        def cv_dog():
            f = as_float()
            a = cv2.GaussianBlur(f, (k3, k3), 3, borderType=cv2.BORDER_REPLICATE)
            b = cv2.GaussianBlur(f, (k48, k48), 4.8, borderType=cv2.BORDER_REPLICATE)
            return cv2.subtract(a, b)

        def cv_sobel():
            dx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
            dy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
            return cv2.multiply(cv2.magnitude(dx, dy), scale)

        peers_g.append((tag, cv_gaussian))
        peers_dog.append((tag, cv_dog))
        peers_sobel.append((tag, cv_sobel))
    except ImportError:
        print("note: OpenCV (cv2) not installed; skipped", file=sys.stderr)
    return [
        ("gaussian sigma=3", lambda: filters.gaussian(image, 3, num_threads=threads), peers_g),
        (
            "difference_of_gaussians sigma=3",
            lambda: filters.difference_of_gaussians(image, 3, num_threads=threads),
            peers_dog,
        ),
        ("sobel (magnitude)", lambda: filters.sobel(image, num_threads=threads), peers_sobel),
    ]


def _time(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _run(pairs, threads, size, dtype="float32"):
    rng = np.random.default_rng(0)
    if dtype == "uint8":
        image = rng.integers(0, 256, (size, size), dtype=np.uint8)
    else:
        image = rng.random((size, size), dtype=np.float32)
    rows = []
    failures = 0
    for case, ours, peers in _cases(image, threads):
        reference = ours()  # warm-up and reference
        for peer_name, peer in peers:
            result = peer()  # warm-up and check
            error = float(np.abs(np.asarray(result, np.float64) - reference).max())
            scale = float(np.abs(reference).max())
            if not error <= TOLERANCE * scale:
                rows.append((case, peer_name, None, None, None, f"MISMATCH {error / scale:.1e}"))
                failures += 1
                continue
            ours_t, peer_t = [], []
            for _ in range(pairs):
                ours_t.append(_time(ours))
                peer_t.append(_time(peer))
            ratios = [p / o for p, o in zip(peer_t, ours_t)]
            rows.append(
                (
                    case,
                    peer_name,
                    statistics.median(ratios),
                    min(ratios),
                    max(ratios),
                    f"{1e3 * statistics.median(ours_t):.0f} ms",
                )
            )
            del result
    return rows, failures


def _print(rows, markdown, threads, size, pairs, dtype="float32"):
    header = ["case", "peer", "peer / imgconv (median)", "min-max", "imgconv median"]
    table = []
    for case, peer, median, lo, hi, note in rows:
        if median is None:
            table.append([case, peer, note, "", ""])
        else:
            table.append([case, peer, f"{median:.2f}x", f"{lo:.2f}-{hi:.2f}", note])
    print(
        f"imgconv.filters benchmark: {size}x{size} {dtype}, {threads} threads (imgconv, OpenCV), "
        f"{pairs} alternating pairs; ratio > 1 means imgconv is faster. {platform.processor() or platform.machine()}"
    )
    print_table(header, table, markdown=markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark imgconv.filters against scikit-image and OpenCV.")
    parser.add_argument("--size", type=int, default=4096, help="image side (default 4096)")
    parser.add_argument("--threads", type=int, default=2, help="threads for imgconv and OpenCV (default 2)")
    parser.add_argument("--pairs", type=int, default=7, help="alternating timing pairs per peer (default 7)")
    parser.add_argument(
        "--dtype",
        choices=("float32", "uint8"),
        default="float32",
        help="image dtype (default float32); uint8 results are compared in [0, 1] units",
    )
    parser.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    args = parser.parse_args(argv)
    rows, failures = _run(args.pairs, args.threads, args.size, args.dtype)
    _print(rows, args.markdown, args.threads, args.size, args.pairs, args.dtype)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
