"""The Gaussian filter and the difference of Gaussians, as separable 1-D passes.

Two spatial axes: a column pass and a row pass per Gaussian
(:func:`imgconv._shared.passes.correlate_1d_passes`, any dilation).  Any other
number (1-D, 3-D, ...): one pass per axis whose sigma is not 0
(:func:`imgconv._shared.ndpasses.gaussian_passes`, any dilation per axis), on
the batch of :class:`imgconv._shared.layout.NDLayout`.
"""

from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from .._shared.blocks import blockwise
from .._shared.geometry import gaussian_radius
from .._shared.layout import ChannelLayout, NDLayout, is_planar
from .._shared.modes import check_scipy_mode
from .._shared.ndpasses import gaussian_kernel1d, gaussian_passes
from .._shared.passes import correlate_1d_passes
from .._threads import effective_num_threads
from .._typing import Bool, FloatArray, Int, IntSequence, Real, RealSequence, ScipyMode
from .._validation import as_cval, as_pair, check_dilations, check_kernel_size, check_positive_real, check_sigmas
from .._validation import show as _show

__all__ = ["difference_of_gaussians", "gaussian"]


def _gaussian_1d(sigma, truncate):
    """scipy.ndimage's normalised 1-D Gaussian: radius ``int(truncate * sigma + 0.5)``."""
    radius = gaussian_radius(sigma, truncate)
    # refused before anything is allocated: a tiny job never asks for a huge kernel
    check_kernel_size(2 * radius + 1, "a Gaussian kernel", sigma=sigma, truncate=truncate)
    return gaussian_kernel1d(sigma, 0, radius)


def _check_truncate(truncate):
    return check_positive_real(truncate, "truncate")


def _check_out(out, shape):
    if out is None:
        return
    if not isinstance(out, np.ndarray):
        raise TypeError(f"`out` must be an ndarray or None; got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"`out` must have the shape of the image {shape}; got {out.shape}")
    if out.dtype.kind != "f":
        # ValueError and this wording: scikit-image's
        raise ValueError(f"dtype of `out` must be float; got {out.dtype!r}")


def _nd_dilation(dilation, layout, sigmas, truncate):
    """`dilation` of an N-D Gaussian: one tap spacing per spatial axis, its extents within the kernel-size limit."""
    sizes = [2 * gaussian_radius(s, truncate) + 1 for s in sigmas]
    return check_dilations(dilation, layout.ndim, kernel_sizes=sizes)


def _gaussian_nd(layout, sigmas, truncate, mode, cval, num_threads, dilation):
    """scipy's ``gaussian_filter`` of each image of the batch of an :class:`NDLayout`: ``(C, *spatial)``.

    One 1-D engine pass per axis whose sigma is not 0 (:func:`gaussian_passes`), its taps
    ``dilation[a]`` apart along axis ``a``; a result that is still the input (every sigma 0) is copied.
    """
    for s in sigmas:
        _gaussian_1d(s, truncate)  # the kernel-size check, before any pass
    y = gaussian_passes(
        layout.batch,
        sigmas,
        (0,) * len(sigmas),
        mode=mode,
        cval=cval,
        truncate=truncate,
        num_threads=num_threads,
        dilation=dilation,
    )
    return y.copy() if y is layout.batch else y


def gaussian(
    image: npt.ArrayLike,
    sigma: RealSequence = 1.0,
    *,
    mode: ScipyMode = "nearest",
    cval: Real = 0,
    preserve_range: Bool = False,
    truncate: Real = 4.0,
    channel_axis: Int | None = None,
    out: npt.NDArray[np.floating] | None = None,
    dilation: IntSequence = 1,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Gaussian filter, as :func:`skimage.filters.gaussian` (separable, one engine call per axis).

    Parameters
    ----------
    image : ndarray, 2-D, N-D, or with a channel axis
        Every axis is spatial when `channel_axis` is None (a trailing 3 is
        never taken for colour).
    sigma : float or sequence of float, default 1.0
        Standard deviation in pixels: one for every spatial axis, or one per
        spatial axis (in their order, the channel axis left out);
        non-negative, 0 meaning no smoothing along that axis (``sigma=0``:
        a copy of the converted image).
    mode : str, default 'nearest', keyword-only
        Border extension (scipy names).
    cval : float, default 0, keyword-only
        Value outside the image for ``mode='constant'``.
    preserve_range : bool, default False, keyword-only
        Keep integer values as they are instead of scaling them to [0, 1].
    truncate : float, default 4.0, keyword-only
        Kernel radius ``int(truncate * sigma + 0.5)`` per axis, as scipy.
    channel_axis : int, optional, keyword-only
        Channel axis of a multichannel image (not filtered across).
    out : ndarray, optional, keyword-only
        Float array of the image's shape that receives (and is) the result.
    dilation : int or sequence of int, default 1, keyword-only
        Spacing of the kernel taps (the radius in pixels becomes ``d * r``):
        one for every spatial axis, or one per spatial axis.
    num_threads : int, optional, keyword-only

    Returns
    -------
    filtered_image : ndarray
        Shape of `image`; float32 or float64 (see the module notes), or `out`.

    Raises
    ------
    TypeError, ValueError
        Bad `sigma` (negative, or not one per spatial axis), `truncate`,
        `mode`, `cval`, `preserve_range`, `channel_axis`, `out` (a
        ValueError, as scikit-image, for one that is not float), `dilation`
        or `num_threads`.

    See Also
    --------
    skimage.filters.gaussian, scipy.ndimage.gaussian_filter, difference_of_gaussians

    Notes
    -----
    Two spatial axes: two engine calls, the column kernel ``(k, 1)`` then
    the row kernel ``(1, k)`` (a sigma of 0 is the 1-tap kernel ``[1]``).
    Otherwise one 1-D engine pass per spatial axis whose sigma is not 0,
    axis 0 first.  Each pass extends its input by `mode`, as
    :func:`scipy.ndimage.gaussian_filter`.  The 1-D kernel is scipy's:
    ``exp(-t**2 / (2 sigma**2))`` for ``t = -r .. r``, normalised to sum 1.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> a = np.zeros((3, 3)); a[1, 1] = 1
    >>> filters.gaussian(a, sigma=1).round(6)
    array([[0.05855 , 0.096533, 0.05855 ],
           [0.096533, 0.159156, 0.096533],
           [0.05855 , 0.096533, 0.05855 ]])
    >>> cube = np.zeros((3, 3, 3)); cube[1, 1, 1] = 1
    >>> filters.gaussian(cube, sigma=(0, 1, 1))[1].round(6)
    array([[0.05855 , 0.096533, 0.05855 ],
           [0.096533, 0.159156, 0.096533],
           [0.05855 , 0.096533, 0.05855 ]])
    """
    if not isinstance(preserve_range, (bool, np.bool_)):
        raise TypeError(f"`preserve_range` must be a bool; got {_show(preserve_range)}")
    if not is_planar(image, channel_axis):
        layout = NDLayout(image, channel_axis, preserve_range=bool(preserve_range))
        sigmas = check_sigmas(sigma, layout.ndim, "sigma")
        truncate = _check_truncate(truncate)
        check_scipy_mode(mode)
        cval = as_cval(cval)
        dilation = _nd_dilation(dilation, layout, sigmas, truncate)
        threads = effective_num_threads(num_threads)
        _check_out(out, layout.shape)
        result = layout.restore(_gaussian_nd(layout, sigmas, truncate, mode, cval, threads, dilation))
        if out is None:
            return result
        out[...] = result
        return out
    layout = ChannelLayout(image, channel_axis, preserve_range=bool(preserve_range))
    sy, sx = check_sigmas(sigma, 2, "sigma")
    truncate = _check_truncate(truncate)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    _check_out(out, layout.shape)
    direct = layout.engine_out(out)  # filled by the row pass itself: no result array, no copy
    y = correlate_1d_passes(
        layout.pixels,
        _gaussian_1d(sy, truncate),
        _gaussian_1d(sx, truncate),
        mode=engine_mode,
        cval=cval,
        dilation=dilation,
        num_threads=threads,
        scale=layout.scale,
        out=direct,
    )
    if direct is not None and out is not None:  # engine_out(None) is None: `out` was filled
        return out
    result = layout.restore(y[:, 0])
    if out is not None:
        out[...] = result
        return out
    return result


def difference_of_gaussians(
    image: npt.ArrayLike,
    low_sigma: RealSequence,
    high_sigma: RealSequence | None = None,
    *,
    mode: ScipyMode = "nearest",
    cval: Real = 0,
    channel_axis: Int | None = None,
    truncate: Real = 4.0,
    dilation: IntSequence = 1,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Band-pass filter: Gaussian at `low_sigma` minus Gaussian at `high_sigma`, as scikit-image.

    Parameters
    ----------
    image : ndarray, 2-D, N-D, or with a channel axis
        As for :func:`gaussian`.
    low_sigma : float or sequence of float
        Standard deviation of the narrower Gaussian: one for every spatial
        axis, or one per spatial axis; non-negative.
    high_sigma : float or sequence of float, optional
        Of the wider Gaussian; default ``1.6 * low_sigma``.  Must be at least
        `low_sigma` on every axis.
    mode, cval, channel_axis, truncate, dilation, num_threads : keyword-only
        As for :func:`gaussian`.

    Returns
    -------
    filtered_image : ndarray
        ``gaussian(image, low_sigma) - gaussian(image, high_sigma)``.

    Raises
    ------
    TypeError, ValueError
        Bad sigmas (negative, not one per spatial axis, or `high_sigma` <
        `low_sigma`) or any parameter of :func:`gaussian`.

    See Also
    --------
    skimage.filters.difference_of_gaussians, gaussian

    Notes
    -----
    Each Gaussian is the passes of :func:`gaussian` with kernels of its own
    length (as scikit-image, an inf pixel gives -inf, not NaN, where only the
    wider Gaussian reaches it); the difference is taken in place.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> flat = np.full((6, 6), 0.5)
    >>> bool(np.abs(filters.difference_of_gaussians(flat, 1)).max() < 1e-12)
    True
    >>> dot = np.zeros((7, 7)); dot[3, 3] = 1
    >>> filters.difference_of_gaussians(dot, 1, 2)[3].round(3)
    array([-0.011, -0.003,  0.061,  0.119,  0.061, -0.003, -0.011])
    """
    planar = is_planar(image, channel_axis)
    layout = ChannelLayout(image, channel_axis) if planar else NDLayout(image, channel_axis)
    ndim = len(layout.spatial_shape)
    low = check_sigmas(low_sigma, ndim, "low_sigma")
    high = tuple(1.6 * s for s in low) if high_sigma is None else check_sigmas(high_sigma, ndim, "high_sigma")
    if any(h < lo for h, lo in zip(high, low)):
        raise ValueError(
            f"`high_sigma` must be equal to or larger than `low_sigma` on every axis; got "
            f"low_sigma={_show(low_sigma)}, high_sigma={_show(high_sigma)}"
        )
    truncate = _check_truncate(truncate)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    if not planar:
        dilation = _nd_dilation(dilation, layout, high, truncate)
        threads = effective_num_threads(num_threads)
        low_pass, high_pass = (_gaussian_nd(layout, s, truncate, mode, cval, threads, dilation) for s in (low, high))
        np.subtract(low_pass, high_pass, out=low_pass)
        return layout.restore(low_pass)
    assert isinstance(layout, ChannelLayout)  # planar: the 2-D layout (for type checkers)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    low_pass, high_pass = (
        correlate_1d_passes(
            layout.pixels,
            _gaussian_1d(s[0], truncate),
            _gaussian_1d(s[1], truncate),
            mode=engine_mode,
            cval=cval,
            dilation=dilation,
            num_threads=threads,
            scale=layout.scale,
        )[:, 0]
        for s in (low, high)
    )

    def work(rows):
        np.subtract(low_pass[:, rows], high_pass[:, rows], out=low_pass[:, rows])

    blockwise(low_pass.shape[1], threads, work)
    return layout.restore(low_pass)
