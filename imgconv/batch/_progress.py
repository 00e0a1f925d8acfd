"""The progress display of a run: a bar on a terminal, a line every few seconds in a log."""

import sys
import time

#: Accepted values of ``process(..., progress=...)`` besides True (``'auto'``) and False (``'none'``).
PROGRESS_MODES = ("auto", "bar", "lines", "none")

#: Seconds between two lines in ``'lines'`` mode (and the last line always comes at the end).
LINE_INTERVAL = 5.0


def check_progress(progress):
    """``'bar'``, ``'lines'`` or ``'none'`` for `progress` (True/False or one of PROGRESS_MODES)."""
    if progress is True:
        progress = "auto"
    elif progress is False:
        progress = "none"
    if not isinstance(progress, str) or progress not in PROGRESS_MODES:
        raise ValueError(f"`progress` must be True, False or one of {list(PROGRESS_MODES)}; got {progress!r}")
    if progress == "auto":  # a bar only where someone watches it; a log gets lines
        terminal = sys.stderr is not None and sys.stderr.isatty()
        return "bar" if terminal else "lines"
    return progress


class _Progress:
    def __init__(self, total, mode, *, clock=time.monotonic, interval=LINE_INTERVAL):
        self._bar = None
        self.total, self.done, self.failed = total, 0, 0
        self._mode = mode if total and sys.stderr is not None else "none"
        self._clock, self._interval = clock, interval
        self._start = self._last = clock()
        if self._mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, leave=True, desc="imgconv")

    def update(self, status):
        self.done += 1
        if status == "failed":
            self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
            if status == "failed":
                self._bar.set_postfix(failed=self.failed, refresh=False)
        elif self._mode == "lines":
            now = self._clock()
            if now - self._last >= self._interval or self.done == self.total:
                self._last = now
                print(self.line(now), file=sys.stderr, flush=True)

    def line(self, now):
        """``'imgconv: 12/40 files (30%), 3.1 files/s, 0 failed, ETA 9 s'``."""
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "ETA 0 s" if self.done == self.total else f"ETA {left:.0f} s"
        return (
            f"imgconv: {self.done}/{self.total} files ({100 * self.done // self.total}%), {rate:.1f} files/s, "
            f"{self.failed} failed, {eta}"
        )

    def close(self):
        if self._bar is not None:
            self._bar.close()
