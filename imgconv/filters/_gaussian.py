"""The Gaussian filter and the difference of Gaussians, as two separable passes each."""

import numpy as np

from .._shared.blocks import blockwise
from .._shared.geometry import gaussian_radius
from .._shared.layout import ChannelLayout
from .._shared.modes import check_scipy_mode
from .._shared.ndpasses import gaussian_kernel1d
from .._shared.passes import correlate_1d_passes
from .._threads import effective_num_threads
from .._validation import as_cval, as_pair, check_kernel_size, check_positive_real, check_sigma_pair
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


def gaussian(
    image,
    sigma=1.0,
    *,
    mode="nearest",
    cval=0,
    preserve_range=False,
    truncate=4.0,
    channel_axis=None,
    out=None,
    dilation=1,
    num_threads=None,
):
    """Gaussian filter, as :func:`skimage.filters.gaussian` (separable, two engine calls).

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    sigma : float or (float, float), default 1.0
        Standard deviation in pixels, per spatial axis ``(rows, columns)``;
        positive (scikit-image also accepts 0, which skips an axis).
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
    dilation : int or (int, int), default 1, keyword-only
        Spacing of the kernel taps (the radius in pixels becomes ``d * r``).
    num_threads : int, optional, keyword-only

    Returns
    -------
    filtered_image : ndarray
        Shape of `image`; float32 or float64 (see the module notes), or `out`.

    Raises
    ------
    TypeError, ValueError
        Bad `sigma` (not positive), `truncate`, `mode`, `cval`,
        `preserve_range`, `channel_axis`, `out`, `dilation` or `num_threads`.

    See Also
    --------
    skimage.filters.gaussian, scipy.ndimage.gaussian_filter, difference_of_gaussians

    Notes
    -----
    Two engine calls: the column kernel ``(k, 1)`` then the row kernel
    ``(1, k)``, each pass extending its input by `mode` (as
    :func:`scipy.ndimage.gaussian_filter`, which filters axis 0 then axis 1).
    The 1-D kernel is scipy's: ``exp(-t**2 / (2 sigma**2))`` for
    ``t = -r .. r``, normalised to sum 1.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> a = np.zeros((3, 3)); a[1, 1] = 1
    >>> filters.gaussian(a, sigma=1).round(6)
    array([[0.05855 , 0.096533, 0.05855 ],
           [0.096533, 0.159156, 0.096533],
           [0.05855 , 0.096533, 0.05855 ]])
    """
    if not isinstance(preserve_range, (bool, np.bool_)):
        raise TypeError(f"`preserve_range` must be a bool; got {_show(preserve_range)}")
    layout = ChannelLayout(image, channel_axis, preserve_range=bool(preserve_range))
    sy, sx = check_sigma_pair(sigma, "sigma")
    truncate = _check_truncate(truncate)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"`out` must be an ndarray or None; got {type(out).__name__}")
        if out.shape != layout.shape:
            raise ValueError(f"`out` must have the shape of the image {layout.shape}; got {out.shape}")
        if out.dtype.kind != "f":
            raise TypeError(f"`out` must be a floating-point array; got dtype {out.dtype}")
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
    if direct is not None:
        return out
    result = layout.restore(y[:, 0])
    if out is not None:
        out[...] = result
        return out
    return result


def difference_of_gaussians(
    image,
    low_sigma,
    high_sigma=None,
    *,
    mode="nearest",
    cval=0,
    channel_axis=None,
    truncate=4.0,
    dilation=1,
    num_threads=None,
):
    """Band-pass filter: Gaussian at `low_sigma` minus Gaussian at `high_sigma`, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    low_sigma : float or (float, float)
        Standard deviation of the narrower Gaussian, per spatial axis; positive.
    high_sigma : float or (float, float), optional
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
        Bad sigmas (not positive, or `high_sigma` < `low_sigma`) or any
        parameter of :func:`gaussian`.

    See Also
    --------
    skimage.filters.difference_of_gaussians, gaussian

    Notes
    -----
    Each Gaussian is a column pass and a row pass with kernels of its own
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
    layout = ChannelLayout(image, channel_axis)
    low = check_sigma_pair(low_sigma, "low_sigma")
    high = tuple(1.6 * s for s in low) if high_sigma is None else check_sigma_pair(high_sigma, "high_sigma")
    if any(h < lo for h, lo in zip(high, low)):
        raise ValueError(
            f"`high_sigma` must be equal to or larger than `low_sigma` on every axis; got "
            f"low_sigma={_show(low_sigma)}, high_sigma={_show(high_sigma)}"
        )
    truncate = _check_truncate(truncate)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
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
