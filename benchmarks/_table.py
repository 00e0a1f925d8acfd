"""What the benchmark scripts share: the result table they print (aligned text, or GitHub markdown with
``--markdown``) and the alternating timing rounds."""

import argparse
import contextlib
import time


def print_table(header, rows, *, markdown=False):
    """Print `rows` (sequences of cells, already formatted as strings) under `header`.

    Markdown: one ``| a | b |`` line per row after the header and its rule, ready
    for benchmarks/README.md.  Text: columns padded to their widest cell.
    """
    rows = [[str(cell) for cell in row] for row in rows]
    header = [str(cell) for cell in header]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] * len(header)) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


def time_call(func, context=None):
    """Seconds one call of `func` takes; `context` (a context-manager factory, such as a thread limit)
    is entered and left outside the timed region, and the result is freed outside it."""
    with context() if context is not None else contextlib.nullcontext():
        start = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - start
    del result
    return elapsed


def rotated_rounds(callables, pairs):
    """`pairs` rounds of one call of each contender, in an order rotated every round, so that all of them
    see the same machine load: ``{who: [seconds]}``.  `callables`: ``(who, func)`` or ``(who, func, context)``."""
    times = {entry[0]: [] for entry in callables}
    for round_ in range(pairs):
        shift = round_ % len(callables)
        for who, func, *context in callables[shift:] + callables[:shift]:
            times[who].append(time_call(func, *context))
    return times


def positive_ints(option, count=None):
    """An argparse ``type=`` for `option`: comma-separated positive ints (exactly `count` of them if given)."""

    def parse(text):
        what = f"{count} comma-separated" if count else "comma-separated"
        try:
            values = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be {what} ints, got {text!r}") from None
        if (count and len(values) != count) or min(values) < 1:
            raise argparse.ArgumentTypeError(f"{option} must be {what} positive ints, got {text!r}")
        return values

    return parse
