"""Scratch arrays: memory a call needs only while it runs (intermediates, sums), kept for the next call.

Why keep them: glibc serves an allocation above its mmap threshold (128 KB to 32 MB) with fresh
pages and returns them to the system when a call frees two or more such arrays, so the next call
faults every page in again.  On the 2-core benchmark machine, allocating and filling two 2 MB
float64 arrays per call took 3.0 ms against 0.09 ms for one; a two-pass ``sobel`` on 256² float64
spent more time in those faults than in its sums.  A call that borrows its intermediates here
allocates only the array it returns, as ``scipy.ndimage`` does.

The pool is shared by all threads (a lock around the list, not around the use) and bounded:
buffers of at most :data:`KEEP_BYTES` in all are kept, larger requests are allocated and freed
as before.  A borrowed array is the caller's alone until it is given back; nested borrows get
distinct buffers.
"""

import os
import threading

import numpy as np

__all__ = ["KEEP_BYTES", "borrow"]

KEEP_BYTES = 64 << 20  # the most the pool keeps between calls (a 2048² float64 array and a half)

_lock = threading.Lock()
_free: list[np.ndarray] = []  # uint8 buffers, not in use


def _reset_after_fork():
    """A forked child starts with an empty pool and a free lock (another thread may have held it)."""
    global _lock
    _lock = threading.Lock()
    _free.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def _take(nbytes):
    """The smallest kept buffer of at least `nbytes`, removed from the pool, or a new one."""
    with _lock:
        best = None
        for i, buf in enumerate(_free):
            if buf.size >= nbytes and (best is None or buf.size < _free[best].size):
                best = i
        if best is not None:
            return _free.pop(best)
    return np.empty(max(nbytes, 1), np.uint8)


def _give(buf):
    """Keep `buf` for a later call if the pool has room: the largest buffers win, within KEEP_BYTES."""
    if buf.size > KEEP_BYTES:
        return
    with _lock:
        _free.append(buf)
        _free.sort(key=lambda b: b.size, reverse=True)
        total = 0
        for i, b in enumerate(_free):
            total += b.size
            if total > KEEP_BYTES:
                del _free[i:]
                break


# Below this size an array comes from malloc's heap, which keeps its pages: nothing to gain, only the
# bookkeeping to pay (a few µs against a small image's sums).
_POOLED_FROM = 1 << 16


class borrow:  # noqa: N801 - used as a function: ``with scratch.borrow(shape, dtype) as a``
    """An uninitialised C-contiguous array of `shape` and `dtype`, valid inside the ``with`` block only.

    Examples
    --------
    >>> from imgconv._shared import scratch
    >>> with scratch.borrow((2, 3), "float32") as spare:
    ...     spare[...] = 1
    ...     print(spare.sum(), spare.dtype, spare.flags.c_contiguous)
    6.0 float32 True
    """

    __slots__ = ("_array", "_buf")

    def __init__(self, shape, dtype):
        dtype = np.dtype(dtype)
        count = 1
        for n in shape:
            count *= int(n)
        nbytes = count * dtype.itemsize
        if nbytes < _POOLED_FROM:
            self._buf, self._array = None, np.empty(shape, dtype)
        else:
            self._buf = _take(nbytes)
            self._array = self._buf[:nbytes].view(dtype).reshape(shape)

    def __enter__(self):
        return self._array

    def __exit__(self, *exc):
        if self._buf is not None:
            _give(self._buf)
            self._buf = None
        return False
