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


def round_orders(n):
    """Orders of `n` contenders for successive rounds: the rows of a Williams design.

    Every run of `n` rounds puts each contender once in every position, as a plain
    rotation does, but also after different contenders: a rotation keeps the cyclic
    neighbours, so one contender always ran right after the same other one and
    inherited its after-effects (freed memory to fault in again, a cooled cache).
    For odd `n` the mirrored rows follow, and 2n rounds put every contender right
    after every other one equally often.

    >>> round_orders(4)
    [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]
    """
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(v + i) % n for v in first] for i in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 else rows


def rotated_rounds(callables, pairs):
    """`pairs` rounds of one call of each contender, in the orders of :func:`round_orders`, so that all of
    them see the same machine load: ``{who: [seconds]}``.  `callables`: ``(who, func)`` or ``(who, func, context)``."""
    times = {entry[0]: [] for entry in callables}
    orders = round_orders(len(callables)) if callables else []
    for round_ in range(pairs if callables else 0):
        for index in orders[round_ % len(orders)]:
            who, func, *context = callables[index]
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
