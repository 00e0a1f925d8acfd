"""How ``imgconv.conv2d`` scales with image size and with thread count; writes a PNG.

Panel (a), size: time per call against the image side (256, 512, ..., ``--max-side``), log-log,
for imgconv, PyTorch and OpenCV ``filter2D`` (each when it imports) on two workloads:

- ``one 3x3``: one 3x3 filter, 1 -> 1 channel, ``padding_mode="reflect"``;
- ``bank 16x3x3 d2``: a bank of 16 3x3 filters, 1 -> 16 channels, dilation 2, zeros.

Every library runs at ``--threads`` threads. At each point the libraries alternate (imgconv,
torch, OpenCV, imgconv, ...), and each library's time is the median over those rounds. A call
shorter than 20 ms is repeated inside one timed sample (the outputs are kept and freed after the
timer stops) and the sample is divided by the repeat count. A grey line through imgconv's
largest-side point has slope 1 in pixel count (time proportional to H x W): a library on it grows
linearly in pixels, one above it at small sides pays a fixed per-call overhead.

Panel (b), threads: imgconv's speed-up ``time(1 thread) / time(t threads)`` against t = 1 ...
``os.cpu_count()`` on the compute-bound shapes of ``bench_conv.py`` (``gray-7x7-d3-reflect``,
``cnn-batch-3x3-d2``, at their full sizes, or with H and W divided by 4 under ``--quick``), with
the ideal line ``speed-up = t``. The thread counts alternate within each round; the speed-up is
the median over rounds of the per-round ratio, with its min-max as error bars.

The same numbers go to stdout as GitHub markdown tables (time per megapixel at each side, and
the speed-up at each thread count, in particular 2 threads against 1). Progress goes to stderr.
Before timing, imgconv and OpenCV are compared with torch at every side up to 2048.

matplotlib (Agg backend) is needed for the PNG; it is a benchmark-only dependency. Without it the
tables are still printed and the script says the PNG was not written.

Examples
--------
The figure linked from the README::

    python benchmarks/bench_scaling.py --out docs/scaling.png

A quick look (sides up to 2048, panel (b) shapes with H and W divided by 4)::

    python benchmarks/bench_scaling.py --quick

The exit status is 1 when a result mismatched, 0 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_conv import (  # noqa: E402  (bench_conv.py lives next to this file)
    SHAPES,
    PeerSkip,
    Shape,
    alternate,
    compare,
    load_imgconv,
    log,
    make_case,
    make_runner,
    median_ratio,
    thread_setup,
)

#: Image sides of panel (a).
SIDES = (256, 512, 1024, 2048, 4096, 8192)
#: Largest side at which the outputs are compared with torch (larger outputs take GBs twice).
CHECK_MAX_SIDE = 2048
#: A timed sample lasts at least this long: shorter calls are repeated inside the sample.
MIN_SAMPLE_SECONDS = 0.02
#: Fewest rounds at any point.
MIN_ROUNDS = 3
#: Compute-bound shapes of bench_conv.py used for panel (b).
THREAD_SHAPES = ("gray-7x7-d3-reflect", "cnn-batch-3x3-d2")
#: Libraries of panel (a), in plotting order, and their labels.
LIBS = {"imgconv": "imgconv", "torch": "PyTorch", "cv2": "OpenCV filter2D"}
COLORS = {"imgconv": "tab:blue", "torch": "tab:orange", "cv2": "tab:green"}


@dataclasses.dataclass(frozen=True)
class Workload:
    """One curve family of panel (a): a square single-channel image of any side."""

    key: str
    label: str
    out: int
    dilation: int
    mode: str

    def shape(self, side: int) -> Shape:
        return Shape(self.key, 1, 1, side, side, out=self.out, k=3, dilation=self.dilation, mode=self.mode)


WORKLOADS = (
    Workload("one-3x3-reflect", "one 3x3 filter, 1 -> 1, reflect", out=1, dilation=1, mode="reflect"),
    Workload("bank16-3x3-d2", "16 3x3 filters, 1 -> 16, dilation 2, zeros", out=16, dilation=2, mode="zeros"),
)


# --------------------------------------------------------------------------- timing helpers


def repeated(fn: Callable[[], Any], count: int) -> Callable[[], Any]:
    """`fn` called `count` times per sample; the outputs are returned, so freed after the timer."""
    if count == 1:
        return fn
    return lambda: [fn() for _ in range(count)]


def inner_count(fn: Callable[[], Any]) -> int:
    """How many calls make one sample last at least ``MIN_SAMPLE_SECONDS`` (from a second warm-up)."""
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    del result
    return max(1, math.ceil(MIN_SAMPLE_SECONDS / max(seconds, 1e-6)))


def rounds_for(round_seconds: float, repeats: int, budget: float) -> int:
    """Rounds at one point: `repeats`, fewer when a round is slow (about `budget` seconds)."""
    return max(MIN_ROUNDS, min(repeats, int(budget // max(round_seconds, 1e-9))))


# --------------------------------------------------------------------------- panel (a): size


def bench_size_point(workload: Workload, side: int, args: argparse.Namespace) -> dict[str, Any]:
    """Check, then time imgconv and the available peers at one side, alternating the libraries."""
    shape = workload.shape(side)
    case = make_case(shape)
    rec: dict[str, Any] = {"side": side, "megapixels": side * side / 1e6, "check": {}, "skipped": {}, "mismatch": False}
    runners: dict[str, Callable[[], Any]] = {}
    for name in LIBS:
        if name != "imgconv" and name not in args.peers:
            continue
        try:
            runners[name] = make_runner(name, case, args.threads)
        except PeerSkip as exc:
            rec["skipped"][name] = str(exc)
    if side <= CHECK_MAX_SIDE:
        if "torch" in runners:
            reference = np.asarray(runners["torch"]())
            ref_name = "torch"
        else:
            reference, ref_name = runners["imgconv"](), "imgconv"
        for name in [n for n in runners if n != ref_name]:
            ok, detail = compare(runners[name](), reference)
            rec["check"][f"{name} vs {ref_name}"] = {"ok": ok, "detail": detail}
            if not ok:
                rec["mismatch"] = True
                log(f"   !!! {workload.key} side {side}: {name} MISMATCH vs {ref_name} ({detail})")
                if name != "imgconv":
                    rec["skipped"][name] = f"MISMATCH vs {ref_name} ({detail}): not timed"
                    del runners[name]
        del reference
    else:  # the warm-up call of each library
        for fn in runners.values():
            result = fn()
            del result
    gc.collect()

    counts = {name: inner_count(fn) for name, fn in runners.items()}  # also a second warm-up
    samples = {name: repeated(fn, counts[name]) for name, fn in runners.items()}
    t0 = time.perf_counter()
    alternate(list(samples.values()), 1)
    rounds = rounds_for(time.perf_counter() - t0, args.repeats, args.budget)
    times = dict(zip(samples, alternate(list(samples.values()), rounds)))
    per_call = {name: [t / counts[name] for t in ts] for name, ts in times.items()}
    rec.update(
        rounds=rounds,
        inner=counts,
        times=per_call,
        median_s={name: statistics.median(ts) for name, ts in per_call.items()},
    )
    rec["ratio"] = {name: median_ratio(ts, per_call["imgconv"]) for name, ts in per_call.items() if name != "imgconv"}
    summary = ", ".join(f"{name} {rec['median_s'][name] * 1e3:.3g} ms" for name in per_call)
    log(f"   {workload.key} side {side}: {rounds} rounds: {summary}")
    return rec


def bench_sizes(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    sides = [s for s in SIDES if s <= args.max_side]
    out = {}
    for workload in WORKLOADS:
        log(f"== size sweep: {workload.label}, sides {sides}, {args.threads} threads")
        out[workload.key] = [bench_size_point(workload, side, args) for side in sides]
    return out


# --------------------------------------------------------------------------- panel (b): threads


def thread_counts(cpus: int) -> list[int]:
    """1 ... cpus: every count up to 8, then powers of two, and `cpus` itself."""
    counts = set(range(1, min(cpus, 8) + 1)) | {2**i for i in range(20) if 2**i <= cpus} | {cpus}
    return sorted(counts)


def bench_threads(args: argparse.Namespace) -> list[dict[str, Any]]:
    counts = thread_counts(args.cpus)
    shapes = [s for s in SHAPES if s.name in THREAD_SHAPES]
    shapes = [s.scaled(4) for s in shapes] if args.quick else shapes
    records = []
    for shape in shapes:
        log(f"== thread sweep: {shape.name} {shape.describe()}, threads {counts}")
        case = make_case(shape)
        runners = [make_runner("imgconv", case, t) for t in counts]
        reference = runners[0]()
        for t, fn in zip(counts[1:], runners[1:]):  # results do not depend on the thread count
            ok, detail = compare(fn(), reference)
            if not ok:
                log(f"   !!! {shape.name}: {t} threads differ from 1 thread ({detail})")
        del reference
        gc.collect()
        t0 = time.perf_counter()
        alternate(runners, 1)
        rounds = rounds_for(time.perf_counter() - t0, args.repeats, args.budget)
        times = alternate(runners, rounds)
        rec = {
            "shape": shape.name,
            "describe": shape.describe(),
            "flop": shape.flop,
            "threads": counts,
            "rounds": rounds,
            "times": times,
            "gflops": [shape.flop / statistics.median(ts) / 1e9 for ts in times],
            "speedup": [median_ratio(times[0], ts) for ts in times],
        }
        log(
            f"   {rounds} rounds; speed-up "
            + ", ".join(f"{t}: {s['median']:.2f}" for t, s in zip(counts, rec["speedup"]))
        )
        records.append(rec)
    return records


# --------------------------------------------------------------------------- output


def size_table(workload: Workload, points: list[dict[str, Any]], peers: list[str]) -> str:
    libs = [name for name in LIBS if name == "imgconv" or name in peers]
    header = ["side", "megapixels"] + [f"{LIBS[n]} ms/MP" for n in libs]
    header += [f"{n}/imgconv" for n in libs if n != "imgconv"] + ["rounds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---:"] * len(header)) + "|"]
    for p in points:
        row = [str(p["side"]), f"{p['megapixels']:.3g}"]
        row += [f"{p['median_s'][n] * 1e3 / p['megapixels']:.3g}" if n in p["median_s"] else "skipped" for n in libs]
        for n in libs[1:]:
            r = p["ratio"].get(n)
            row.append(f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})" if r else "skipped")
        row.append(str(p["rounds"]))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def thread_table(records: list[dict[str, Any]]) -> str:
    counts = records[0]["threads"]
    header = ["shape", "config", "GFLOP", "1-thread GFLOP/s"]
    header += [f"speed-up at {t} threads" for t in counts[1:]] + [f"GFLOP/s at {counts[-1]} threads", "rounds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for rec in records:
        row = [rec["shape"], rec["describe"], f"{rec['flop'] / 1e9:.3g}", f"{rec['gflops'][0]:.3g}"]
        row += [f"{s['median']:.2f}x ({s['min']:.2f}-{s['max']:.2f})" for s in rec["speedup"][1:]]
        row += [f"{rec['gflops'][-1]:.3g}", str(rec["rounds"])]
        lines.append("| " + " | ".join(row) + " |")
    if len(counts) == 1:
        lines.append("\nOnly one CPU is available: no speed-up to measure.")
    return "\n".join(lines)


def plot(
    sizes: dict[str, list[dict[str, Any]]], threads: list[dict[str, Any]], args: argparse.Namespace, title: str
) -> bool:
    """Write the two-panel PNG to ``args.out``; False (and a note) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        log(f"matplotlib not importable ({exc}): {args.out} not written")
        return False
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.35, 1]})
    styles = {WORKLOADS[0].key: ("-", "o"), WORKLOADS[1].key: ("--", "s")}
    for workload in WORKLOADS:
        points = sizes[workload.key]
        line, marker = styles[workload.key]
        for name, label in LIBS.items():
            xs = [p["side"] for p in points if name in p["median_s"]]
            ys = [p["median_s"][name] for p in points if name in p["median_s"]]
            if xs:
                ax_a.plot(xs, ys, line, marker=marker, color=COLORS[name], label=f"{label}: {workload.label}")
        # Slope 1 in pixel count (t proportional to side**2) through imgconv's largest-side point.
        side_max, t_max = points[-1]["side"], points[-1]["median_s"]["imgconv"]
        xs = np.array([p["side"] for p in points], dtype=float)
        ax_a.plot(
            xs,
            t_max * (xs / side_max) ** 2,
            ":",
            color="0.45",
            linewidth=1.2,
            label="time ∝ H·W (through imgconv's largest side)" if workload is WORKLOADS[0] else None,
        )
    ax_a.set_xscale("log", base=2)
    ax_a.set_yscale("log")
    sides = [p["side"] for p in next(iter(sizes.values()))]
    ax_a.set_xticks(sides, [f"{s}\n{s * s / 1e6:.3g} MP" for s in sides])
    ax_a.minorticks_off()
    ax_a.set_xlabel("image side (pixels); image is side × side")
    ax_a.set_ylabel("time per call (s), median of alternating runs")
    ax_a.set_title(f"(a) time against image size, {args.threads} threads")
    ax_a.grid(True, which="major", alpha=0.3)
    ax_a.legend(fontsize=7.5, loc="lower right")

    if threads:
        counts = threads[0]["threads"]
        for rec, marker in zip(threads, "o^"):
            med = np.array([s["median"] for s in rec["speedup"]])
            err = np.array(
                [
                    [m - s["min"] for m, s in zip(med, rec["speedup"])],
                    [s["max"] - m for m, s in zip(med, rec["speedup"])],
                ]
            )
            ax_b.errorbar(
                counts, med, yerr=err, marker=marker, capsize=3, label=f"imgconv {rec['shape']} ({rec['describe']})"
            )
        ax_b.plot(counts, counts, "--", color="0.45", label="ideal (speed-up = threads)")
        ax_b.set_xticks(counts)
        ax_b.set_xlim(0.8, counts[-1] + 0.2)
        ax_b.set_ylim(0, counts[-1] * 1.15)
        ax_b.legend(fontsize=7.5, loc="upper left")
    ax_b.set_xlabel("threads (num_threads)")
    ax_b.set_ylabel("speed-up over 1 thread (median, min-max bars)")
    ax_b.set_title("(b) imgconv thread scaling, compute-bound shapes")
    ax_b.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cpus = _available_cpus()
    parser = argparse.ArgumentParser(
        description="imgconv scaling with image size (vs torch, OpenCV) and threads; "
        "writes a two-panel PNG and prints markdown tables."
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "results" / "scaling.png"),
        help="PNG to write (default benchmarks/results/scaling.png; any path, e.g. docs/scaling.png)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=cpus,
        help=f"thread count of every library in panel (a) (default: the {cpus} CPUs available)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="panel (b) shapes with H and W divided by 4; largest side 2048 unless --max-side",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=None,
        help=f"largest image side of panel (a), one of {list(SIDES)} (default 8192, 2048 with --quick)",
    )
    parser.add_argument("--repeats", type=int, default=7, help=f"rounds per point (default 7, >= {MIN_ROUNDS})")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help=f"a point whose round is slow gets about SECONDS of rounds (never fewer than {MIN_ROUNDS}; default 10)",
    )
    parser.add_argument("--peers", default="torch,cv2", help="comma-separated subset of: torch, cv2")
    parser.add_argument("--skip-threads", action="store_true", help="panel (a) only")
    parser.add_argument("--json", metavar="FILE", help="also write every time to FILE")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be a positive int; got {args.threads}")
    if args.repeats < MIN_ROUNDS:
        parser.error(f"--repeats must be >= {MIN_ROUNDS}; got {args.repeats}")
    if args.max_side is None:
        args.max_side = 2048 if args.quick else SIDES[-1]
    if args.max_side not in SIDES:
        parser.error(f"--max-side must be one of {list(SIDES)}; got {args.max_side}")
    args.peers = [p for p in args.peers.split(",") if p]
    if set(args.peers) - {"torch", "cv2"}:
        parser.error(f"--peers: unknown {sorted(set(args.peers) - {'torch', 'cv2'})}; choose from ['cv2', 'torch']")
    args.cpus = cpus
    return args


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    imgconv = load_imgconv()
    started = time.perf_counter()
    limiter, thread_info = thread_setup(args.threads)
    log(
        f"imgconv {getattr(imgconv, '__version__', '?')} ({imgconv.__file__}); numpy {np.__version__}; "
        f"{platform.platform()}; {args.cpus} CPUs available"
    )
    for lib, text in thread_info.items():
        log(f"  {lib}: {text}")
    try:
        sizes = bench_sizes(args)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    threads = [] if args.skip_threads else bench_threads(args)

    date = time.strftime("%Y-%m-%d")
    title = (
        f"imgconv {getattr(imgconv, '__version__', '?')}, float32, {args.cpus} CPUs ({platform.machine()}), "
        f"{date}{', --quick' if args.quick else ''}. Shared machine: medians of alternating runs."
    )
    wrote = plot(sizes, threads, args, title)

    print(
        f"imgconv scaling: {args.threads} threads in the size sweep; {args.cpus} CPUs; float32"
        f"{'; --quick' if args.quick else ''}. Times are per call, median of alternating rounds; "
        "ratio = peer time / imgconv time, median over rounds (min-max)."
    )
    for workload in WORKLOADS:
        print(f"\nTime per megapixel, {workload.label}:\n")
        print(size_table(workload, sizes[workload.key], args.peers))
    if threads:
        print("\nimgconv thread scaling (speed-up = 1-thread time / t-thread time, median over rounds, min-max):\n")
        print(thread_table(threads))
    skipped = sorted(
        {f"{w}: {name}: {why}" for w, pts in sizes.items() for p in pts for name, why in p["skipped"].items()}
    )
    if skipped:
        print("\n" + "\n".join(f"- {s}" for s in skipped))
    print(f"\nPNG: {args.out}" if wrote else "\nPNG not written (matplotlib missing)")
    log(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"args": dict(vars(args)), "thread_setup": thread_info, "sizes": sizes, "threads": threads},
                fh,
                indent=1,
            )
    mismatch = any(p["mismatch"] for pts in sizes.values() for p in pts)
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
