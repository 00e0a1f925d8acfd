"""Benchmark the main job, ``imgconv batch SRC DST``: the default run, each TIFF codec, and the ``.npy`` floor.

The source folder is made from ``skimage.data`` photographs (astronaut, coffee, chelsea, rocket,
camera, immunohistochemistry), each resized to about ``--megapixels`` (default 2) -- nothing is
downloaded -- and saved as PNG/JPEG as a user's folder would hold them.  Every case runs the
command line in a fresh process (``python -m imgconv.cli batch ...``, the words a user types), into
a fresh DST, with the same ``--threads``; the cases alternate round by round so that all of them
see the same machine load.  Reported per case: median seconds, images/s, MB/s of output written,
and the median over rounds of ``time / time of the .npy floor`` (the floor writes the same
responses as ``.npy`` without a contact sheet: the cost of reading and filtering alone).

Examples
--------
::

    python benchmarks/bench_batch.py                  # 12 photos of about 2 MP, 5 rounds
    python benchmarks/bench_batch.py --images 7 --megapixels 1 --rounds 3 --markdown
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from _table import print_table

CASES = {
    "default (deflate-1 + preview)": [],
    "deflate-1, no preview": ["--no-preview"],
    "zlib level 6 (0.1's codec)": ["--no-preview", "--compression", "zlib", "--compression-level", "6"],
    "zstd level 1": ["--no-preview", "--compression", "zstd", "--compression-level", "1"],
    "lzw": ["--no-preview", "--compression", "lzw"],
    "none": ["--no-preview", "--compression", "none"],
    "float16, deflate-1": ["--no-preview", "--dtype-policy", "float16"],
    ".npy floor": ["--no-preview", "--out-format", ".npy"],
}


def make_photos(folder, count, megapixels):
    from skimage import data, transform

    from imgconv.io import imwrite

    sources = [
        data.astronaut(),
        data.coffee(),
        data.chelsea(),
        data.rocket(),
        data.camera(),
        data.immunohistochemistry(),
    ]
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        image = sources[i % len(sources)]
        scale = (megapixels * 1e6 / (image.shape[0] * image.shape[1])) ** 0.5
        shape = (int(image.shape[0] * scale), int(image.shape[1] * scale)) + image.shape[2:]
        resized = transform.resize(image, shape, preserve_range=True, anti_aliasing=True).round()
        resized = np.clip(resized, 0, 255).astype(np.uint8)
        imwrite(os.path.join(folder, f"photo{i:02d}" + (".jpg" if i % 2 else ".png")), resized)


def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(folder) for f in files)


def run(src, dst, options, threads):
    shutil.rmtree(dst, ignore_errors=True)
    command = [sys.executable, "-m", "imgconv.cli", "batch", src, dst, "--quiet", "--threads", str(threads), *options]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start, folder_bytes(dst)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--megapixels", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench_batch_")
    try:
        src = os.path.join(work, "photos")
        make_photos(src, args.images, args.megapixels)
        times = {name: [] for name in CASES}
        sizes = {}
        run(src, os.path.join(work, "warm"), CASES[".npy floor"], args.threads)  # warm the file cache
        for _ in range(args.rounds):
            for name, options in CASES.items():
                seconds, size = run(src, os.path.join(work, "out"), options, args.threads)
                times[name].append(seconds)
                sizes[name] = size
        floor = times[".npy floor"]
        rows = []
        for name in CASES:
            median = statistics.median(times[name])
            ratio = statistics.median(t / f for t, f in zip(times[name], floor))
            rows.append((name, median, args.images / median, sizes[name] / 1e6 / median, sizes[name] / 1e6, ratio))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = ("case", "median s", "images/s", "MB/s written", "MB written", "x floor")
    print(f"{args.images} photos of about {args.megapixels:g} MP, {args.threads} threads, {args.rounds} rounds")
    cells = [(r[0], f"{r[1]:.2f}", f"{r[2]:.2f}", f"{r[3]:.0f}", f"{r[4]:.0f}", f"{r[5]:.2f}") for r in rows]
    print_table(header, cells, markdown=args.markdown)


if __name__ == "__main__":
    main()
