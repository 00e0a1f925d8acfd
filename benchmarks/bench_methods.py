"""Benchmark imgconv's algorithm planner (direct / separable / FFT) against its peers.

Three parts, all at the same thread count T for every library, all alternating
runs in one process (round r runs every contender once, in an order that changes
every round: ``_table.round_orders``), the
headline being the median over rounds of ``peer_time / imgconv_time`` (> 1 means
imgconv is faster):

1. **single filters**: one random k x k float32 filter, k = 3 ... 101, on a
   ``--size`` square image (2048 by default; ``--big`` adds 4096), 'same' output,
   zeros and reflect borders.  imgconv is ``imgconv.conv2d(..., padding='same',
   padding_mode=...)`` with ``method='auto'``; its forced 'direct' and 'fft'
   paths are timed too (the crossover plot).  Peers: ``cv2.filter2D``
   (``BORDER_CONSTANT`` / ``BORDER_REFLECT_101``, the kernel as is: filter2D
   correlates), ``scipy.signal.oaconvolve`` (the flipped kernel on the
   zero-padded or ``numpy.pad``-reflected image, 'valid'),
   ``scipy.ndimage.correlate`` (single-threaded whatever T is; only up to
   ``--ndimage-max-k``, it takes minutes beyond) and ``torch.nn.functional.conv2d``
   when torch imports.  imgconv's rate is given as effective GFLOP/s,
   ``2 * k**2 * H * W / t`` (the direct algorithm's flop count, whatever path ran).
2. **filter banks**: ``banks.leung_malik()``, ``schmid()``, ``mr8()`` and
   ``gabor()`` applied with ``FilterBank.apply`` (scipy 'reflect' borders) on
   512² and 2048² images, against ``cv2.filter2D`` once per filter
   (``BORDER_REFLECT``) and the plain scipy.fft bank: ``numpy.pad``, one
   ``rfft2`` of the image, then per filter the kernel's ``rfft2``, a product and
   an ``irfft2`` (``workers=T``).
3. **small images**: a 3x3 filter on 32² ... 256² through ``conv2d`` against
   ``cv2.filter2D`` (and torch), and a 16-filter 3x3 bank on 32² (``conv2d``
   with 16 output channels against 16 ``cv2.filter2D`` calls / one torch call).
4. **factored kernels** (``--parts factored``, not in the default set): a Gaussian
   (rank 1) and a Laplacian of Gaussian (rank 2), k x k, on 32² ... 2048², 'same'
   output, reflect borders, through ``conv2d`` with ``method='auto'``, against each
   of imgconv's own paths forced through the engine (one direct loop, the two
   1-D passes or the low-rank pairs, the FFT) and ``cv2.sepFilter2D`` (Gaussian) /
   ``cv2.filter2D`` (LoG).  The table gives the plan, its regret (auto's time over
   the fastest forced path's, medians of per-round ratios) and the ratio to OpenCV.

Every peer's result is checked against imgconv's on the warm-up run
(``max|a - b| <= 1e-3 * max|imgconv|``); a mismatch is reported and the peer is
not timed.  The script writes a crossover plot (time against k for every path
and peer, both borders) to ``--plot`` (default ``docs/methods_crossover.png``,
needs matplotlib) and prints the tables as GitHub markdown.

Examples
--------
The table in benchmarks/README.md (about 10 minutes on 2 shared cores)::

    python benchmarks/bench_methods.py --threads 2 --repeats 3

A quick look (512² singles, 256² banks, no plot)::

    python benchmarks/bench_methods.py --quick --no-plot
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    import imgconv
except ImportError:  # an in-place build, run from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import imgconv
from imgconv import banks

from _table import rotated_rounds

KS = (3, 5, 7, 11, 15, 21, 31, 45, 63, 101)
BANKS = {"leung_malik": banks.leung_malik, "schmid": banks.schmid, "mr8": banks.mr8, "gabor": banks.gabor}
SMALL_SIDES = (32, 64, 128, 256)


def _peers(threads):
    """Optional libraries, set to `threads` threads; name -> module (missing ones are absent)."""
    found = {}
    try:
        import cv2

        cv2.setNumThreads(threads)
        found["cv2"] = cv2
    except ImportError:
        print("note: OpenCV (cv2) not installed: pip install opencv-python-headless", file=sys.stderr)
    try:
        import torch

        torch.set_num_threads(threads)
        found["torch"] = torch
    except ImportError:
        print("note: torch not installed; its columns are left out", file=sys.stderr)
    import scipy.fft
    import scipy.ndimage
    import scipy.signal

    found["scipy"] = scipy
    return found


def alternate(contenders, repeats):
    """`repeats` rounds of every contender (name -> call), in changing orders; returns name -> list of times."""
    return rotated_rounds(list(contenders.items()), repeats)


def ratio(times, peer, ref="imgconv"):
    """Median over rounds of peer / ref, or None."""
    if peer not in times or ref not in times:
        return None
    return float(np.median(np.array(times[peer]) / np.array(times[ref])))


def _agree(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and np.abs(a - b).max() <= 1e-3 * max(np.abs(a).max(), 1e-30)


def _checked(name, reference, contenders, results):
    """Drop contenders whose warm-up result does not match imgconv's."""
    for peer, result in results.items():
        if peer != "imgconv" and not _agree(reference, result):
            print(f"MISMATCH: {name}: {peer} differs from imgconv; not timed", file=sys.stderr)
            contenders.pop(peer)


def single_filters(size, ks, threads, repeats, peers, ndimage_max_k, budget=10.0):
    """Part 1: rows of (border, k, times) for one filter per k on a size x size image.

    A contender other than imgconv whose warm-up call took more than `budget`
    seconds is timed in a single round, and not at all for the larger k of that
    border (its column reads "—"): torch's zero-padded ``conv2d`` took 18 s a call
    at k = 31 on 2048² (2026-12-07).
    """
    rng = np.random.default_rng(0)
    image = rng.random((size, size), dtype=np.float32)
    x = image[None, None]
    scipy, cv2, torch = peers["scipy"], peers.get("cv2"), peers.get("torch")
    rows = []
    for border in ("zeros", "reflect"):
        over_budget = set()
        for k in ks:
            w = rng.standard_normal((k, k)).astype(np.float32)
            p = k // 2
            contenders = {
                "imgconv": lambda w=w, b=border: imgconv.conv2d(
                    x, w[None, None], padding="same", padding_mode=b, num_threads=threads
                ),
                "direct": lambda w=w, b=border: imgconv.conv2d(
                    x, w[None, None], padding="same", padding_mode=b, num_threads=threads, method="direct"
                ),
                "fft": lambda w=w, b=border: imgconv.conv2d(
                    x, w[None, None], padding="same", padding_mode=b, num_threads=threads, method="fft"
                ),
            }
            if cv2 is not None:
                flag = cv2.BORDER_CONSTANT if border == "zeros" else cv2.BORDER_REFLECT_101
                contenders["cv2"] = lambda w=w, f=flag: cv2.filter2D(image, -1, w, borderType=f)
            np_mode = "constant" if border == "zeros" else "reflect"
            contenders["oaconvolve"] = lambda w=w, m=np_mode, p=p: scipy.signal.oaconvolve(
                np.pad(image, p, mode=m), w[::-1, ::-1], mode="valid"
            )
            if k <= ndimage_max_k:
                nd_mode = "constant" if border == "zeros" else "mirror"
                contenders["ndimage"] = lambda w=w, m=nd_mode: scipy.ndimage.correlate(image, w, mode=m)
            if torch is not None:
                tx, tw = torch.from_numpy(x), torch.from_numpy(w[None, None].copy())
                if border == "zeros":
                    contenders["torch"] = lambda tx=tx, tw=tw: torch.nn.functional.conv2d(tx, tw, padding="same")
                else:
                    contenders["torch"] = lambda tx=tx, tw=tw, p=p: torch.nn.functional.conv2d(
                        torch.nn.functional.pad(tx, (p, p, p, p), mode="reflect"), tw
                    )
            for name in over_budget & set(contenders):
                del contenders[name]
            results, warmup = {}, {}
            for name, f in contenders.items():
                t0 = time.perf_counter()
                results[name] = np.squeeze(np.asarray(f()))
                warmup[name] = time.perf_counter() - t0
            _checked(f"{border} k={k}", results["imgconv"], contenders, results)
            # The slow ones get a single round; past the budget, none at larger k.
            slow = {n for n in contenders if n != "imgconv" and (warmup[n] > budget or (n == "direct" and k >= 45))}
            over_budget |= {n for n in slow if warmup[n] > budget}
            times = alternate({n: f for n, f in contenders.items() if n not in slow}, repeats)
            times.update(alternate({n: contenders[n] for n in slow}, 1))
            plan = imgconv.choose_method(x, w[None, None], pads=p, mode="constant" if border == "zeros" else "reflect")
            rows.append({"border": border, "k": k, "times": times, "method": plan.method})
            print(
                f"  {border:7s} k={k:3d}: {plan.method:9s} "
                + " ".join(f"{n}={np.median(t) * 1e3:.1f}ms" for n, t in times.items()),
                file=sys.stderr,
            )
    return rows


def plain_fft_bank(image, kernels, workers):
    """The baseline of issue #13: pad, one rfft2 of the image, per filter a product and an irfft2."""
    import scipy.fft

    kh, kw = kernels.shape[1:]
    xp = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="symmetric")
    shape = xp.shape
    spectrum = scipy.fft.rfft2(xp, workers=workers)
    out = np.empty((len(kernels),) + image.shape, np.float32)
    for i, kernel in enumerate(kernels):
        k_spec = scipy.fft.rfft2(kernel[::-1, ::-1], s=shape, workers=workers)
        y = scipy.fft.irfft2(spectrum * k_spec, s=shape, workers=workers)
        out[i] = y[kh - 1 : kh - 1 + image.shape[0], kw - 1 : kw - 1 + image.shape[1]]
    return out


def filter_banks(sizes, threads, repeats, peers):
    """Part 2: rows of (bank, size, times)."""
    rows = []
    cv2 = peers.get("cv2")
    for size in sizes:
        image = np.random.default_rng(1).random((size, size), dtype=np.float32)
        for name, make in BANKS.items():
            bank = make()
            kernels = np.asarray(bank.kernels, np.float32)
            contenders = {
                "imgconv": lambda b=bank, im=image: b.apply(im, num_threads=threads).transpose(2, 0, 1),
                "plain_fft": lambda k=kernels, im=image: plain_fft_bank(im, k, threads),
            }
            if cv2 is not None:
                contenders["cv2"] = lambda k=kernels, im=image: np.stack(
                    [cv2.filter2D(im, -1, f, borderType=cv2.BORDER_REFLECT) for f in k]
                )
            results = {n: f() for n, f in contenders.items()}
            _checked(f"{name} {size}", results["imgconv"], contenders, results)
            times = alternate(contenders, repeats)
            taps = int(np.prod(kernels.shape))
            rows.append({"bank": name, "size": size, "shape": kernels.shape, "taps": taps, "times": times})
            print(
                f"  {name:12s} {size}: " + " ".join(f"{n}={np.median(t) * 1e3:.0f}ms" for n, t in times.items()),
                file=sys.stderr,
            )
    return rows


def small_images(threads, repeats, peers):
    """Part 3: fixed cost per call."""
    rows = []
    rng = np.random.default_rng(2)
    cv2, torch = peers.get("cv2"), peers.get("torch")
    cases = [(f"3x3 on {s}²", s, 1) for s in SMALL_SIDES] + [("16-filter 3x3 bank on 32²", 32, 16)]
    for label, side, filters in cases:
        x = rng.random((1, 1, side, side), dtype=np.float32)
        w = rng.standard_normal((filters, 1, 3, 3)).astype(np.float32)
        contenders = {"imgconv": lambda x=x, w=w: imgconv.conv2d(x, w, padding=1, num_threads=threads)}
        if cv2 is not None:
            contenders["cv2"] = lambda x=x, w=w: [
                cv2.filter2D(x[0, 0], -1, f[0], borderType=cv2.BORDER_CONSTANT) for f in w
            ]
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            contenders["torch"] = lambda tx=tx, tw=tw: torch.nn.functional.conv2d(tx, tw, padding=1)
        # Many calls per timing: a call takes microseconds.
        calls = max(10, 20000 // side)
        batched = {n: (lambda f=f, calls=calls: [f() for _ in range(calls)]) for n, f in contenders.items()}
        times = alternate(batched, max(repeats, 5))
        times = {n: [t / calls for t in ts] for n, ts in times.items()}
        rows.append({"case": label, "times": times})
        print(f"  {label}: " + " ".join(f"{n}={np.median(t) * 1e6:.1f}us" for n, t in times.items()), file=sys.stderr)
    return rows


FACTORED = (
    (32, (5, 9, 15, 21)),
    (64, (5, 9, 15, 21)),
    (128, (5, 9, 15)),
    (512, (5, 9, 15, 31)),
    (2048, (5, 9, 15, 31)),
)


def _factored_kernel(kind, k):
    r = np.arange(k) - k // 2
    if kind == "gaussian":
        g = np.exp(-(r**2) / (2 * (k / 6) ** 2))
        return np.outer(g, g).astype(np.float32)
    q = (r[:, None] ** 2 + r[None, :] ** 2) / (2 * (k / 6) ** 2)
    return ((q - 1) * np.exp(-q)).astype(np.float32)


def factored_kernels(threads, repeats, peers):
    """Part 4: the planner on rank-1 and rank-2 kernels, against the paths it chooses between."""
    from imgconv import _engine

    rows = []
    rng = np.random.default_rng(3)
    cv2 = peers.get("cv2")
    for side, ks in FACTORED:
        for kind in ("gaussian", "log"):
            for k in ks:
                x = rng.random((1, 1, side, side), dtype=np.float32)
                w = _factored_kernel(kind, k)[None, None]
                p = k // 2
                where = {"pads": (p,) * 4, "mode": "reflect", "cval": 0.0, "stride": (1, 1), "dilation": (1, 1)}
                plan = imgconv.choose_method(x, w, num_threads=threads, **where)
                paths = {
                    "imgconv": lambda x=x, w=w: imgconv.conv2d(
                        x, w, padding="same", padding_mode="reflect", num_threads=threads
                    ),
                    "auto": lambda x=x, w=w, where=where: _engine.correlate(x, w, num_threads=threads, **where),
                    "direct": lambda x=x, w=w, where=where: _engine._correlate_direct(
                        x, w, None, groups=1, out=None, num_threads=threads, **where
                    ),
                }
                if kind == "gaussian":
                    col, row = _engine.separable_factors(w)
                    paths["separable"] = lambda x=x, c=col, r=row, where=where: _engine.correlate_separable(
                        x, c, r, num_threads=threads, **where
                    )
                else:
                    factors = _engine.lowrank_factors(w) if k >= _engine._LOWRANK_MIN_SIZE else None
                    if factors is not None:
                        paths["lowrank"] = lambda x=x, f=factors, where=where: _engine._correlate_lowrank(
                            x, *f, None, out=None, num_threads=threads, **where
                        )
                if side >= 128:
                    paths["fft"] = lambda x=x, w=w, where=where: _engine.correlate(
                        x, w, method="fft", num_threads=threads, **where
                    )
                if cv2 is not None:
                    if kind == "gaussian":
                        g = np.ascontiguousarray(col[0], np.float32)
                        paths["cv2"] = lambda x=x, g=g: cv2.sepFilter2D(
                            x[0, 0], -1, g, g, borderType=cv2.BORDER_REFLECT_101
                        )
                    else:
                        paths["cv2"] = lambda x=x, w=w: cv2.filter2D(
                            x[0, 0], -1, w[0, 0], borderType=cv2.BORDER_REFLECT_101
                        )
                results = {n: f() for n, f in paths.items()}
                reference = results["imgconv"]
                _checked(
                    f"{kind} {k}x{k} on {side}²",
                    reference,
                    paths,
                    {n: np.asarray(r).reshape(reference.shape) for n, r in results.items()},
                )
                calls = max(1, 4096 // side)
                batched = {n: (lambda f=f, calls=calls: [f() for _ in range(calls)]) for n, f in paths.items()}
                times = alternate(batched, max(repeats, 5))
                times = {n: [t / calls for t in ts] for n, ts in times.items()}
                own = [n for n in times if n not in ("imgconv", "auto", "cv2")]
                best = min(own, key=lambda n: np.median(times[n]))
                rows.append({"case": f"{kind} {k}×{k} on {side}²", "plan": plan.method, "best": best, "times": times})
                print(f"  {rows[-1]['case']}: plan {plan.method}, fastest {best}", file=sys.stderr)
    return rows


def _fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def markdown(single, bank_rows, small, size, threads):
    lines = [
        f"### One random k×k float32 filter on {size}², {threads} threads",
        "",
        "Ratios are peer time / imgconv time (median over alternating rounds; > 1: imgconv faster). "
        "GFLOP/s counts the direct algorithm's 2·k²·H·W.",
        "",
        "| border | k | path | imgconv ms | GFLOP/s | OpenCV filter2D | scipy oaconvolve | scipy.ndimage | "
        "torch | forced direct | forced fft |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in single:
        t = row["times"]
        ms = np.median(t["imgconv"]) * 1e3
        gflops = 2 * row["k"] ** 2 * size * size / (ms * 1e-3) / 1e9
        lines.append(
            f"| {row['border']} | {row['k']} | {row['method']} | {ms:.1f} | {gflops:.0f} | "
            f"{_fmt_ratio(ratio(t, 'cv2'))} | {_fmt_ratio(ratio(t, 'oaconvolve'))} | "
            f"{_fmt_ratio(ratio(t, 'ndimage'))} | {_fmt_ratio(ratio(t, 'torch'))} | "
            f"{_fmt_ratio(ratio(t, 'direct'))} | {_fmt_ratio(ratio(t, 'fft'))} |"
        )
    lines += [
        "",
        f"### Filter banks (`FilterBank.apply`, scipy 'reflect'), {threads} threads",
        "",
        "| bank | filters × taps | image | imgconv ms | GFLOP/s | OpenCV filter2D per filter | plain scipy.fft bank |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in bank_rows:
        t = row["times"]
        ms = np.median(t["imgconv"]) * 1e3
        gflops = 2 * row["taps"] * row["size"] ** 2 / (ms * 1e-3) / 1e9
        n, kh, _ = row["shape"]
        lines.append(
            f"| {row['bank']} | {n} × {kh}² | {row['size']}² | {ms:.0f} | {gflops:.0f} | "
            f"{_fmt_ratio(ratio(t, 'cv2'))} | {_fmt_ratio(ratio(t, 'plain_fft'))} |"
        )
    lines += [
        "",
        f"### Small images (fixed cost per call), {threads} threads",
        "",
        "| case | imgconv µs | OpenCV filter2D | torch |",
        "|---|---|---|---|",
    ]
    for row in small:
        t = row["times"]
        lines.append(
            f"| {row['case']} | {np.median(t['imgconv']) * 1e6:.1f} | {_fmt_ratio(ratio(t, 'cv2'))} | "
            f"{_fmt_ratio(ratio(t, 'torch'))} |"
        )
    return "\n".join(lines)


def factored_markdown(rows, threads):
    lines = [
        f"### Factored kernels (rank-1 Gaussians, rank-2 LoGs; `conv2d`, reflect), {threads} threads",
        "",
        "Regret: the engine's `method='auto'` time over the fastest of its forced paths, each called in the "
        "engine (1.00: the plan was the fastest). OpenCV: `sepFilter2D` for the Gaussian, `filter2D` for the "
        "LoG, its time over `conv2d`'s (which adds the public layer's checks).",
        "",
        "| case | plan | fastest path | regret | `conv2d` µs | OpenCV |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        t = row["times"]
        regret = ratio(t, "auto", ref=row["best"])
        lines.append(
            f"| {row['case']} | {row['plan']} | {row['best']} | {regret:.2f} | "
            f"{np.median(t['imgconv']) * 1e6:.0f} | {_fmt_ratio(ratio(t, 'cv2'))} |"
        )
    return "\n".join(lines)


def plot(single, size, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib not installed; no plot", file=sys.stderr)
        return
    labels = {
        "imgconv": "imgconv (auto)",
        "direct": "imgconv direct",
        "fft": "imgconv fft",
        "cv2": "OpenCV filter2D",
        "oaconvolve": "scipy oaconvolve",
        "ndimage": "scipy.ndimage",
        "torch": "torch",
    }
    styles = {
        "imgconv": "k-o",
        "direct": "b--",
        "fft": "r--",
        "cv2": "g-s",
        "oaconvolve": "m-^",
        "ndimage": "c-v",
        "torch": "y-d",
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, border in zip(axes, ("zeros", "reflect")):
        rows = [r for r in single if r["border"] == border]
        for name, label in labels.items():
            pts = [(r["k"], np.median(r["times"][name])) for r in rows if name in r["times"]]
            if pts:
                ks, ts = zip(*pts)
                ax.plot(ks, np.array(ts) * 1e3, styles[name], label=label, lw=2 if name == "imgconv" else 1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(KS)
        ax.set_xticklabels([str(k) for k in KS])
        ax.set_xlabel("kernel size k (k×k taps)")
        ax.set_title(f"one k×k filter on {size}², border {border}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("time (ms)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds per case (default 3)")
    parser.add_argument("--size", type=int, default=2048, help="side of the single-filter image (default 2048)")
    parser.add_argument("--big", action="store_true", help="also time the single filters on 4096²")
    parser.add_argument("--bank-sizes", default="512,2048", help="image sides for the banks (default 512,2048)")
    parser.add_argument("--ks", default=",".join(map(str, KS)), help="kernel sizes of the single filters")
    parser.add_argument("--ndimage-max-k", type=int, default=21, help="largest k timed with scipy.ndimage")
    parser.add_argument(
        "--peer-budget",
        type=float,
        default=10.0,
        help="seconds a peer's call may take before it gets one round and no larger k (default 10)",
    )
    parser.add_argument(
        "--parts", default="single,banks,small", help="subset of single,banks,small,factored (default: the first three)"
    )
    parser.add_argument("--quick", action="store_true", help="512² singles, 256² banks")
    parser.add_argument(
        "--plot",
        default=str(Path(__file__).resolve().parent.parent / "docs" / "methods_crossover.png"),
        help="crossover plot path",
    )
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be positive ints")
    if args.quick:
        args.size, args.bank_sizes = 512, "256"
    parts = set(args.parts.split(","))
    peers = _peers(args.threads)
    print(f"imgconv {imgconv.__file__}, {args.threads} threads, peers: {', '.join(sorted(peers))}", file=sys.stderr)
    ks = [int(k) for k in args.ks.split(",")]
    single, bank_rows, small = [], [], []
    if "single" in parts:
        print(f"single filters on {args.size}²", file=sys.stderr)
        single = single_filters(args.size, ks, args.threads, args.repeats, peers, args.ndimage_max_k, args.peer_budget)
    if "banks" in parts:
        print("filter banks", file=sys.stderr)
        bank_rows = filter_banks([int(s) for s in args.bank_sizes.split(",")], args.threads, args.repeats, peers)
    if "small" in parts:
        print("small images", file=sys.stderr)
        small = small_images(args.threads, args.repeats, peers)
    if single or bank_rows or small:
        print(markdown(single, bank_rows, small, args.size, args.threads))
    if "factored" in parts:
        print("factored kernels", file=sys.stderr)
        print(factored_markdown(factored_kernels(args.threads, args.repeats, peers), args.threads))
    if args.big and "single" in parts:
        big = single_filters(4096, ks, args.threads, args.repeats, peers, args.ndimage_max_k, args.peer_budget)
        print(markdown(big, [], [], 4096, args.threads))
    if single and not args.no_plot:
        plot(single, args.size, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
