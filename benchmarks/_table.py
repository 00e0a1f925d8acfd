"""The result table every benchmark script prints: aligned text, or GitHub markdown with ``--markdown``."""


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
