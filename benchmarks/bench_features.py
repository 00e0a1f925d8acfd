"""Benchmark ``imgconv.feature`` and the ridge / edge filters of ``imgconv.filters`` against scikit-image.

Input: a real photograph, ``skimage.data.camera()`` (512 x 512 uint8) resized with
``skimage.transform.resize(camera, (n, n), anti_aliasing=True)`` and cast to float32, for every
``n`` in ``--sizes`` (default 512 and 2048; at 512 the resize is the identity, at 2048 a bilinear
upscaling).  Every function gets the same float32 array on both sides.

Cases (the imgconv function has scikit-image's name, in ``imgconv.feature`` or ``imgconv.filters``;
``target`` is the performance issue's goal for skimage_time / imgconv_time on 2048²):

===============================================================  ======  ===========================
case                                                             target  note
===============================================================  ======  ===========================
feature.multiscale_basic_features sigma_min=1 sigma_max=16       8x      skimage gets ``workers=T``
feature.hessian_matrix sigma=2 use_gaussian_derivatives=False    5x
feature.hessian_matrix sigma=2 use_gaussian_derivatives=True     5x
feature.hessian_matrix_eigvals                                   --      of skimage's sigma=2
                                                                         finite-difference Hessian
feature.structure_tensor sigma=2                                 5x
feature.structure_tensor_eigenvalues                             --      of skimage's sigma=2 tensor
feature.shape_index sigma=2                                      --
feature.hessian_matrix_det sigma=2                               --      approximate (SURF boxes)
filters.frangi, filters.sato, filters.meijering, filters.hessian 5x      defaults (sigmas 1, 3, .., 9)
filters.sobel, scharr, prewitt, roberts, farid                   --      magnitude; see below
filters.unsharp_mask radius=2 amount=1                           --
filters.gabor frequency=0.2                                      --      (real, imaginary) pair
===============================================================  ======  ===========================

The issue's target for the edge filters is not a ratio: each should be at least as fast as today's
``sobel``; read it off the ``imgconv ms`` column.  The two eigenvalue functions are NumPy arithmetic
on both sides (no ``num_threads``); their input elements are computed once per size, untimed.

Threads: imgconv runs with ``num_threads=--threads`` (default 2).  scikit-image runs its own code
single-threaded, except where it calls threaded libraries: every scikit-image call runs inside
``threadpoolctl`` limits of ``--threads`` (BLAS and OpenMP; the limit is set outside the timed
region), and ``multiscale_basic_features``, which has a thread pool of its own, gets
``workers=--threads``.

Agreement, checked on the warm-up results before any timing: every output array (the functions
return an array, or a list or tuple of arrays) must satisfy
``max|a - b| <= 1e-4 * max(1, max|b|)`` (a imgconv's, b scikit-image's; the inputs are float32,
scikit-image computes some of them in float64), with NaNs in the same places (``shape_index`` is
NaN where the Hessian's eigenvalues are equal).  A case that disagrees gets a ``MISMATCH`` line and
is not timed; the run goes on and exits with status 1.

Timing: both callables run once (the warm-up, also used for the check), then ``--pairs`` rounds of
one call each, the order rotated every round (imgconv, skimage; skimage, imgconv; ...), all in one
process so that both see the same machine load.  The table gives median times and the median over
rounds of ``skimage_time / imgconv_time`` (above 1: imgconv is faster) with its min-max; ``met``
compares that median with the target, on 2048² rows only.  On a shared machine, quote the ratios,
not the times.

Examples
--------
::

    python benchmarks/bench_features.py                    # 512² and 2048², 2 threads, 3 pairs
    python benchmarks/bench_features.py --pairs 5 --markdown
    python benchmarks/bench_features.py --only filters. --sizes 2048
    python benchmarks/bench_features.py --sizes 64 --pairs 1    # smoke test
"""

import argparse
import contextlib
import io
import platform
import statistics
import sys

import numpy as np
import scipy
import skimage
import skimage.data
import skimage.feature
import skimage.filters
import skimage.transform
import threadpoolctl

import imgconv
from imgconv import feature, filters

from _table import positive_ints, print_table, rotated_rounds

TOLERANCE = 1e-4  # of max(1, max|skimage|)
TARGET_SIZE = 2048  # the side the targets are stated for

# (case name, module, function, kwargs for both sides, issue target for skimage/imgconv or None)
CASES = [
    (
        "feature.multiscale_basic_features sigma_min=1 sigma_max=16",
        "feature",
        "multiscale_basic_features",
        {"sigma_min": 1, "sigma_max": 16},
        8.0,
    ),
    (
        "feature.hessian_matrix sigma=2 use_gaussian_derivatives=False",
        "feature",
        "hessian_matrix",
        {"sigma": 2, "use_gaussian_derivatives": False},
        5.0,
    ),
    (
        "feature.hessian_matrix sigma=2 use_gaussian_derivatives=True",
        "feature",
        "hessian_matrix",
        {"sigma": 2, "use_gaussian_derivatives": True},
        5.0,
    ),
    ("feature.hessian_matrix_eigvals", "feature", "hessian_matrix_eigvals", {}, None),
    ("feature.structure_tensor sigma=2", "feature", "structure_tensor", {"sigma": 2}, 5.0),
    ("feature.structure_tensor_eigenvalues", "feature", "structure_tensor_eigenvalues", {}, None),
    ("feature.shape_index sigma=2", "feature", "shape_index", {"sigma": 2}, None),
    ("feature.hessian_matrix_det sigma=2", "feature", "hessian_matrix_det", {"sigma": 2}, None),
    ("filters.frangi", "filters", "frangi", {}, 5.0),
    ("filters.sato", "filters", "sato", {}, 5.0),
    ("filters.meijering", "filters", "meijering", {}, 5.0),
    ("filters.hessian", "filters", "hessian", {}, 5.0),
    ("filters.sobel", "filters", "sobel", {}, None),
    ("filters.scharr", "filters", "scharr", {}, None),
    ("filters.prewitt", "filters", "prewitt", {}, None),
    ("filters.roberts", "filters", "roberts", {}, None),
    ("filters.farid", "filters", "farid", {}, None),
    ("filters.unsharp_mask radius=2 amount=1", "filters", "unsharp_mask", {"radius": 2, "amount": 1}, None),
    ("filters.gabor frequency=0.2", "filters", "gabor", {"frequency": 0.2}, None),
]

# functions of a matrix's elements rather than of the image: their input, computed by scikit-image
ELEMENTS = {
    "hessian_matrix_eigvals": lambda image: skimage.feature.hessian_matrix(
        image, sigma=2, use_gaussian_derivatives=False
    ),
    "structure_tensor_eigenvalues": lambda image: skimage.feature.structure_tensor(image, sigma=2),
}

IMGCONV_MODULES = {"feature": feature, "filters": filters}
SKIMAGE_MODULES = {"feature": skimage.feature, "filters": skimage.filters}


def _image(size):
    """The camera photograph resized to `size` x `size`, float32."""
    resized = skimage.transform.resize(skimage.data.camera(), (size, size), anti_aliasing=True)
    return np.ascontiguousarray(resized, dtype=np.float32)


def _arrays(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _disagreement(ours, peer):
    """None when every output array agrees, else a description of how far apart the first bad one is."""
    ours, peer = _arrays(ours), _arrays(peer)
    if len(ours) != len(peer):
        return f"{len(ours)} outputs vs {len(peer)}"
    for index, (a, b) in enumerate(zip(ours, peer)):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        where = f"output {index}: " if len(ours) > 1 else ""
        if a.shape != b.shape:
            return f"{where}shape {a.shape} vs {b.shape}"
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if not np.array_equal(nan_a, nan_b):
            return f"{where}NaN at {int(np.count_nonzero(nan_a != nan_b))} pixels in one result only"
        inf_a, inf_b = np.isinf(a), np.isinf(b)
        if not (np.array_equal(inf_a, inf_b) and np.array_equal(a[inf_b], b[inf_b])):
            return f"{where}infinities differ"
        finite = ~(nan_b | inf_b)
        a, b = a[finite], b[finite]
        if not b.size:
            continue
        error = float(np.abs(a - b).max())
        scale = max(1.0, float(np.abs(b).max()))
        if not error <= TOLERANCE * scale:
            return f"{where}max|a-b| = {error:.3g} > {TOLERANCE:g} * max(1, max|b|) ({scale:.3g})"
    return None


def _ms(seconds):
    ms = 1e3 * seconds
    return f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def _selected(only):
    return [case for case in CASES if not only or only in case[0]]


def _run(args):
    controller = threadpoolctl.ThreadpoolController()

    def limits(n=args.threads):
        return controller.limit(limits=n)

    rows, failures = [], 0
    for size in args.sizes:
        image = _image(size)
        elements = {}  # function -> scikit-image's matrix elements, computed once per size
        size_label = f"{size}x{size}"
        for name, module, function, kwargs, target in _selected(args.only):
            ours_f = getattr(IMGCONV_MODULES[module], function)
            peer_f = getattr(SKIMAGE_MODULES[module], function)
            if function in ELEMENTS:
                if function not in elements:
                    with limits():
                        elements[function] = ELEMENTS[function](image)
                x = elements[function]

                def ours(f=ours_f, x=x):
                    return f(x)

                def peer(f=peer_f, x=x):
                    return f(x)
            else:
                x = image
                # scikit-image's own thread pool (the only one in these cases) gets the same count
                peer_kwargs = {**kwargs, "workers": args.threads} if function == "multiscale_basic_features" else kwargs

                def ours(f=ours_f, x=x, k=kwargs, n=args.threads):
                    return f(x, **k, num_threads=n)

                def peer(f=peer_f, x=x, k=peer_kwargs):
                    return f(x, **k)

            reference = ours()  # warm-up and reference
            with limits():
                result = peer()
            problem = _disagreement(reference, result)
            del reference, result
            target_cell = "-" if target is None else f"{target:g}x"
            if problem:
                print(f"MISMATCH {name} {size_label}: {problem}", flush=True)
                failures += 1
                rows.append([name, size_label, "-", "-", "MISMATCH", target_cell, "-"])
                continue
            times = rotated_rounds([("imgconv", ours, contextlib.nullcontext), ("skimage", peer, limits)], args.pairs)
            ratios = [p / o for p, o in zip(times["skimage"], times["imgconv"])]
            median = statistics.median(ratios)
            ratio_cell = f"{median:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
            met = "-" if target is None or size != TARGET_SIZE else ("yes" if median >= target else "no")
            rows.append(
                [
                    name,
                    size_label,
                    _ms(statistics.median(times["imgconv"])),
                    _ms(statistics.median(times["skimage"])),
                    ratio_cell,
                    target_cell,
                    met,
                ]
            )
            print(f"{name} {size_label}: skimage/imgconv {ratio_cell}", file=sys.stderr, flush=True)
        elements.clear()
    return rows, failures


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark imgconv.feature and the ridge/edge filters against scikit-image.",
        epilog="ratio > 1 means imgconv is faster; see the module docstring for the protocol.",
    )
    parser.add_argument(
        "--sizes", type=positive_ints("--sizes"), default=[512, 2048], help="image sides, e.g. 512,2048 (default)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for imgconv and the limit for scikit-image (default 2)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="alternating timing rounds per case (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    parser.add_argument("--only", metavar="SUBSTRING", help="run only the cases whose name contains SUBSTRING")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be a positive int")
    if args.pairs < 1:
        parser.error("--pairs must be a positive int")
    if not _selected(args.only):
        parser.error(f"--only {args.only!r} matches no case")
    config = imgconv.show_config(file=io.StringIO())
    print(
        f"imgconv {config['version']}: kernel path {config['simd_path']} "
        f"(available: {', '.join(config['available_paths'])}), OpenMP {'on' if config['openmp'] else 'off'}; "
        f"{args.threads} threads for imgconv (num_threads=) and scikit-image {skimage.__version__} "
        f"(threadpoolctl limits, multiscale_basic_features workers=); scipy {scipy.__version__}, "
        f"numpy {np.__version__}; camera() resized to float32; "
        f"{args.pairs} alternating rounds per case; {platform.processor() or platform.machine()}"
    )
    rows, failures = _run(args)
    header = [
        "case",
        "size",
        "imgconv ms",
        "skimage ms",
        "skimage / imgconv (min-max)",
        "target",
        f"met ({TARGET_SIZE}²)",
    ]
    print_table(header, rows, markdown=args.markdown)
    if failures:
        print(f"{failures} case(s) disagreed with scikit-image (MISMATCH above); they were not timed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
