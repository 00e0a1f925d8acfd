"""apply_bank: every kernel of a filter bank on an image (imgconv.banks.FilterBank.apply)."""

from collections.abc import Iterable, Mapping
from typing import SupportsIndex

import numpy.typing as npt

from .._typing import Bool, FloatArray, Int, IntPair, Real, ScipyMode
from ..banks import FilterBank

__all__ = ["apply_bank"]


def apply_bank(
    image: npt.ArrayLike,
    bank: FilterBank | Mapping[str, npt.ArrayLike] | Iterable[npt.ArrayLike],
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    per_channel: Bool = True,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Filter an image with every kernel of a filter bank.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    bank : FilterBank, sequence of 2-D arrays, 3-D array (F, kh, kw) or mapping name -> 2-D array
        Correlation kernels (see :class:`imgconv.banks.FilterBank`); anything
        but a FilterBank is turned into one.
    mode, cval, dilation, channel_axis : keyword-only
        As for :func:`correlate`; `dilation` multiplies each filter's own rate.
    per_channel : bool, default True, keyword-only
        True: filter every channel; False: filter the channel mean.
    num_threads : int, optional, keyword-only

    Returns
    -------
    responses : ndarray
        Filter axis last: ``(H, W, F)`` for a 2-D image (or ``per_channel=False``),
        ``(H, W, C, F)`` for a multichannel image.

    Raises
    ------
    TypeError, ValueError
        Bad bank or any parameter of :meth:`imgconv.banks.FilterBank.apply`.

    See Also
    --------
    imgconv.banks.FilterBank.apply

    Notes
    -----
    Equivalent to ``FilterBank(bank).apply(image, ...)``: one engine call per
    distinct dilation rate.  For odd kernels the anchor is the centre, so each
    response equals :func:`correlate` (and :func:`scipy.ndimage.correlate`)
    with that kernel; even kernels are anchored as PyTorch's ``'same'``
    (extra row below, extra column right), unlike :func:`correlate`.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters, kernels
    >>> r = filters.apply_bank(np.eye(4), {"h": kernels.sobel_h(), "v": kernels.sobel_v()})
    >>> r.shape
    (4, 4, 2)
    """
    if not isinstance(bank, FilterBank):
        bank = FilterBank(bank)
    return bank.apply(
        image,
        dilation=dilation,
        mode=mode,
        cval=cval,
        channel_axis=channel_axis,
        per_channel=per_channel,
        num_threads=num_threads,
    )
