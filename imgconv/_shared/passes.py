"""Separable filtering as scipy.ndimage's separable filters do it: two 1-D passes, each with its own border.

Not the same convention as :func:`imgconv._engine.correlate_separable`:

``correlate_1d_passes`` (here; :func:`imgconv.filters.gaussian`, the starlet)
    the column pass extends its input with `mode` / `cval`, then the row pass
    extends the *column-filtered* rows with `mode` / `cval` again, exactly as
    ``scipy.ndimage.gaussian_filter`` (``correlate1d`` per axis).  With
    ``mode='constant'`` the corners see ``cval``, not ``cval * sum(column)``.
``_engine.correlate_separable`` (:func:`imgconv.sepconv2d`)
    equal to the 2-D correlation with ``outer(column, row)`` for every mode: its
    row pass pads with ``cval * sum(column)``, the value a constant border takes
    after the column pass.

For every mode but ``'constant'`` (with a kernel whose sum is not 1) the two agree.
"""

import numpy as np

from .. import _engine
from .convert import compute_dtype

__all__ = ["correlate_1d_passes"]


def correlate_1d_passes(x, column, row, *, mode, cval, dilation, num_threads, scale=1.0, out=None):
    """Separable filtering of the ``(C, 1, H, W)`` batch with ``outer(column, row)``: ``(C, 1, H, W)``.

    `column` and `row` are odd-length, centred 1-D kernels.  A column pass then
    a row pass, each extending its input with `mode` / `cval` as scipy.ndimage's
    separable filters do: one fused engine call
    (:func:`imgconv._engine.correlate_passes`) for float pixels without
    dilation, else two.  `scale`: the engine's
    (how uint8/uint16 pixels are read as stored; the column pass takes it, so
    the float intermediate is already in converted units).  Kernels of different
    lengths take separate calls: zero-padding the shorter one would multiply
    pixels beyond its reach by 0, which turns an inf into NaN.  `out`: an array
    for the row pass to fill (see :meth:`ChannelLayout.engine_out`).
    """
    dh, dw = dilation
    kh, kw = len(column), len(row)
    rh, rw = dh * (kh - 1) // 2, dw * (kw - 1) // 2
    dtype = compute_dtype(x)
    if dh == dw == 1 and scale == 1.0 and x.dtype == dtype and x.size:
        # one engine call, the column pass into per-thread buffers (the same sums, no intermediate)
        y = _engine.correlate_passes(
            x[:, 0],
            np.asarray(column, dtype=dtype),
            np.asarray(row, dtype=dtype),
            pads=(rh, rh, rw, rw),
            mode=mode,
            cval=cval,
            out=None if out is None else out[:, 0],
            num_threads=num_threads,
        )
        return y[:, None] if out is None else out
    column = np.ascontiguousarray(np.asarray(column).reshape(1, 1, kh, 1), dtype=dtype)
    tmp = _engine.correlate(
        x, column, pads=(rh, rh, 0, 0), mode=mode, cval=cval, dilation=(dh, 1), num_threads=num_threads, scale=scale
    )
    row = np.ascontiguousarray(np.asarray(row).reshape(1, 1, 1, kw), dtype=dtype)
    return _engine.correlate(
        tmp, row, pads=(0, 0, rw, rw), mode=mode, cval=cval, dilation=(1, dw), out=out, num_threads=num_threads
    )
