"""The progress display of a run."""

import sys

# progress
# --------------------------------------------------------------------------------------

class _Progress:
    def __init__(self, total, enabled):
        self._bar = None
        self.failed = 0
        if enabled and total and sys.stderr is not None and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, leave=True,
                             desc="imgconv")

    def update(self, status):
        if status == "failed":
            self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
            if status == "failed":
                self._bar.set_postfix(failed=self.failed, refresh=False)

    def close(self):
        if self._bar is not None:
            self._bar.close()


# --------------------------------------------------------------------------------------
