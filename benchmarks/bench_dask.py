"""Benchmark imgconv's Dask layer: folder throughput per backend, and the cost of tiling.

Part 1, folders: ``imgconv.batch.process`` on a folder of generated RGB images (default 50 of
512 x 512, PNG) with the default pipeline (luminance, 18 edge responses, abs), written as float32
``.npy`` by default (``--out-format .tif`` for the CLI's default TIFF, whose zlib compression then
takes most of the time),
for the ``threads``, ``processes`` and ``dask`` backends with 1 and 2 workers. ``dask (own
cluster)`` includes starting and closing a LocalCluster, as ``imgconv batch --backend dask``
does; ``dask (running cluster)`` passes ``client=`` to a cluster started beforehand (the steady
state of a long job). Every run recomputes everything (``overwrite=True``) into a fresh folder.
The figure is images per second: images / median wall time over ``--repeats`` runs.

Part 2, tiles: a float32 image that fits in memory (default 4096 x 4096) filtered in memory
(``imgconv.filters.correlate`` / ``imgconv.conv2d``, engine threads = ``--threads``) and tile by
tile (``imgconv.dask.correlate`` / ``imgconv.dask.conv2d`` on ``dask.array.from_array(x,
chunks=c)``, Dask's threaded scheduler with ``--threads`` threads, one engine thread per tile).
The figure is ``tiled / in-memory`` median time: the overhead of the border building, halo
exchange and scheduling. Results are checked equal before timing.

Part 3 (``--large N``): ``imgconv.dask.process_large`` on an N x N uint8 tiled TIFF written
for the occasion (3x3 Sobel kernel, float32 zarr out), in a subprocess: wall time and peak RSS.

Examples
--------
::

    python benchmarks/bench_dask.py                       # parts 1 and 2
    python benchmarks/bench_dask.py --images 20 --repeats 1 --tiled-size 2048
    python benchmarks/bench_dask.py --skip-folders --large 20000

Nothing here is a test; nothing asserts a time. Absolute times depend on the machine and its
load: compare rows of the same run.
"""

import argparse
import functools
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

try:
    import imgconv
except ImportError:  # an in-place build run from the repository root
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import imgconv


def _median_time(run, repeats):
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def _make_images(folder, count, size, seed=0):
    from scipy import ndimage

    from imgconv.io import imwrite

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        noise = rng.random((size // 8, size // 8, 3))
        smooth = ndimage.zoom(noise, (8, 8, 1), order=1)[:size, :size]
        image = np.clip(smooth * 255 + rng.normal(0, 8, smooth.shape), 0, 255).astype(np.uint8)
        imwrite(os.path.join(folder, f"img{i:03d}.png"), image)


def bench_folders(args, work):
    from distributed import Client, LocalCluster

    from imgconv import batch

    src = os.path.join(work, "images")
    _make_images(src, args.images, args.size)
    print(
        f"\n## Folder throughput: {args.images} RGB images of {args.size}x{args.size} (PNG), "
        f"default pipeline, {args.out_format} out, median of {args.repeats} run(s)\n"
    )
    print("| backend | workers | images/s | median s | runs (s) |")
    print("|---|---:|---:|---:|---|")

    def run_once(**kwargs):
        dst = tempfile.mkdtemp(prefix="out-", dir=work)
        try:
            report = batch.process(src, dst, overwrite=True, progress=False, out_format=args.out_format, **kwargs)
            if report.failed or report.done != args.images:
                raise SystemExit(f"batch run failed: {report.summary()}")
        finally:
            shutil.rmtree(dst, ignore_errors=True)

    rows = []
    for workers in args.workers:
        configs = [
            ("threads", {"backend": "threads"}),
            ("processes", {"backend": "processes"}),
            ("dask (own cluster)", {"backend": "dask"}),
        ]
        for name, kwargs in configs:
            run_once(workers=workers, **kwargs)  # warm-up (imports, process start-up paths)
            median, times = _median_time(functools.partial(run_once, workers=workers, **kwargs), args.repeats)
            rows.append((name, workers, median, times))
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
                scheduler_kwargs={"dashboard": False},
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            run_once(backend="dask", client=client)
            median, times = _median_time(lambda: run_once(backend="dask", client=client), args.repeats)
            rows.append(("dask (running cluster)", workers, median, times))
        for name, w, median, times in rows[-4:]:
            print(
                f"| {name} | {w} | {args.images / median:.1f} | {median:.2f} | "
                f"{', '.join(f'{t:.2f}' for t in times)} |",
                flush=True,
            )


def bench_tiles(args):
    import dask
    import dask.array as da

    import imgconv.dask as icd
    from imgconv import filters

    n = args.tiled_size
    rng = np.random.default_rng(1)
    image = rng.random((n, n), dtype=np.float32)
    sobel = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float32)
    bank = rng.standard_normal((8, 1, 7, 7)).astype(np.float32)
    cases = [
        (
            "correlate 3x3 reflect",
            lambda: filters.correlate(image, sobel, num_threads=args.threads),
            lambda c: icd.correlate(da.from_array(image, chunks=c), sobel, num_threads=1),
        ),
        (
            "correlate 9x9 d2 wrap",
            lambda: filters.correlate(
                image, np.ones((9, 9), np.float32), mode="wrap", dilation=2, num_threads=args.threads
            ),
            lambda c: icd.correlate(
                da.from_array(image, chunks=c), np.ones((9, 9), np.float32), mode="wrap", dilation=2, num_threads=1
            ),
        ),
        (
            "conv2d 1->8 7x7 'same' reflect",
            lambda: imgconv.conv2d(
                image[None, None], bank, padding="same", padding_mode="reflect", num_threads=args.threads
            ),
            lambda c: icd.conv2d(
                da.from_array(image[None, None], chunks=(1, 1, c, c)), bank, padding="same", padding_mode="reflect"
            ),
        ),
        (
            "conv2d 1->8 7x7 stride 2 zeros",
            lambda: imgconv.conv2d(image[None, None], bank, stride=2, padding=3, num_threads=args.threads),
            lambda c: icd.conv2d(da.from_array(image[None, None], chunks=(1, 1, c, c)), bank, stride=2, padding=3),
        ),
    ]
    print(f"\n## Tiled vs in-memory: {n}x{n} float32, {args.threads} thread(s), median of {args.tile_repeats} runs\n")
    print("| operation | in-memory s | " + " | ".join(f"tiles {c}: s (x)" for c in args.chunks) + " |")
    print("|---|---:|" + "---:|" * len(args.chunks))
    with dask.config.set(scheduler="threads", num_workers=args.threads):
        for name, in_memory, tiled in cases:
            expected = in_memory()
            cells = []
            for c in args.chunks:
                got = tiled(c).compute()
                if not np.allclose(got, expected, rtol=1e-5, atol=1e-4):
                    raise SystemExit(f"{name}, chunks {c}: tiled result differs from the in-memory one")
            base, _ = _median_time(in_memory, args.tile_repeats)
            for c in args.chunks:
                t, _ = _median_time(lambda c=c, tiled=tiled: tiled(c).compute(), args.tile_repeats)
                cells.append(f"{t:.3f} ({t / base:.2f}x)")
            print(f"| {name} | {base:.3f} | " + " | ".join(cells) + " |", flush=True)


def bench_large(args, work):
    import tifffile

    n, tile = args.large, 512
    src, dst = os.path.join(work, "large.tif"), os.path.join(work, "large.zarr")

    def tiles():
        for r0 in range(0, n, tile):
            for c0 in range(0, n, tile):
                r = np.arange(r0, r0 + tile, dtype=np.int32)[:, None]
                c = np.arange(c0, c0 + tile, dtype=np.int32)[None, :]
                yield ((r * 7 + c * 13 + (r * c) % 251) % 256).astype(np.uint8)

    start = time.perf_counter()
    tifffile.imwrite(src, tiles(), shape=(n, n), dtype=np.uint8, tile=(tile, tile))
    written = time.perf_counter() - start
    script = textwrap.dedent(f"""
        import resource, time, numpy as np
        import imgconv.dask
        k = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float32)
        start = time.perf_counter()
        imgconv.dask.process_large({src!r}, {dst!r}, k, tile={args.large_tile}, workers={args.threads})
        print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    seconds, peak = (float(v) for v in out.split())
    print(
        f"\n## process_large: {n}x{n} uint8 tiled TIFF -> float32 zarr, 3x3 kernel, tile {args.large_tile}, "
        f"{args.threads} thread(s)\n"
    )
    print("| TIFF write s | process_large s | Mpixel/s | peak RSS MB | float32 image MB |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {written:.1f} | {seconds:.1f} | {n * n / seconds / 1e6:.0f} | {peak:.0f} | {n * n * 4 / 2**20:.0f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=50, help="images in the folder (default 50)")
    parser.add_argument("--size", type=int, default=512, help="image height and width (default 512)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--out-format", default=".npy", help="output extension of part 1 (default .npy)")
    parser.add_argument("--repeats", type=int, default=3, help="timed folder runs per configuration (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads for part 2 and 3 (default 2)")
    parser.add_argument("--tiled-size", type=int, default=4096, help="image size of part 2 (default 4096)")
    parser.add_argument(
        "--chunks", type=int, nargs="+", default=[512, 1024, 2048], help="tile sizes of part 2 (default 512 1024 2048)"
    )
    parser.add_argument("--tile-repeats", type=int, default=5, help="timed runs per case of part 2 (default 5)")
    parser.add_argument("--large", type=int, default=0, help="run part 3 on an N x N TIFF (default off)")
    parser.add_argument("--large-tile", type=int, default=2048, help="tile of part 3 (default 2048)")
    parser.add_argument("--skip-folders", action="store_true", help="skip part 1")
    parser.add_argument("--skip-tiles", action="store_true", help="skip part 2")
    args = parser.parse_args(argv)

    import dask

    print(
        f"imgconv {imgconv.__version__} ({os.path.dirname(imgconv.__file__)}), dask {dask.__version__}, "
        f"numpy {np.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)",
        file=sys.stderr,
    )
    work = tempfile.mkdtemp(prefix="imgconv-bench-dask-")
    try:
        if not args.skip_folders:
            bench_folders(args, work)
        if not args.skip_tiles:
            bench_tiles(args)
        if args.large:
            bench_large(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
