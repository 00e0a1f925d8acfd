"""Roberts and Farid edge filters, unsharp masking and the complex Gabor kernel, as scikit-image.

Thin layers over :func:`imgconv.filters.convolve` (scikit-image convolves with
these kernels), :func:`imgconv.filters.correlate` (the mask erosion) and the
N-D Gaussian passes of :mod:`imgconv._shared.ndpasses`; the Gabor values come
from :func:`imgconv.kernels.gabor`.  Keyword-only extras: ``mode``, ``cval``,
``dilation``, ``channel_axis``, ``num_threads`` (scikit-image's Roberts and
``farid_h`` / ``farid_v`` always use 'reflect').  Integer images are converted
as :mod:`imgconv.filters` converts them (float32 up to 16 bits, where
scikit-image gives float64).
"""

from collections.abc import Iterable
from typing import Any, SupportsIndex, cast

import numpy as np
import numpy.typing as npt

from . import kernels as _kernels
from ._shared.layout import ChannelLayout, NDLayout, check_channel_axis, is_planar, spatial_axes
from ._shared.modes import check_scipy_mode
from ._shared.ndpasses import gaussian_passes
from ._threads import effective_num_threads
from ._typing import Bool, FloatArray, Int, IntPair, IntSequence, Real, RealSequence, ScipyMode
from ._validation import as_array, as_cval, as_pair, check_sigmas, is_real, show

__all__ = [
    "farid",
    "farid_h",
    "farid_v",
    "gabor_kernel",
    "roberts",
    "roberts_neg_diag",
    "roberts_pos_diag",
    "unsharp_mask",
]

ROBERTS_PD_WEIGHTS = np.array([[1, 0], [0, -1]], dtype=np.float64)
ROBERTS_ND_WEIGHTS = np.array([[0, 1], [-1, 0]], dtype=np.float64)
# Farid & Simoncelli (2004), Table 1, with scikit-image's extra digits.
FARID_SMOOTH = np.array(
    [0.0376593171958126, 0.249153396177344, 0.426374573253687, 0.249153396177344, 0.0376593171958126]
)
FARID_EDGE = np.array([0.109603762960254, 0.276690988455557, 0, -0.276690988455557, -0.109603762960254])
HFARID_WEIGHTS = FARID_EDGE[:, None] * FARID_SMOOTH[None, :]
VFARID_WEIGHTS = np.ascontiguousarray(HFARID_WEIGHTS.T)


def _filters():
    from . import filters  # imgconv.filters re-exports this module's names: imported when first used

    return filters


def _mask(result, mask, image, channel_axis, num_threads):
    """scikit-image's ``_mask_filter_result``: zero outside the mask eroded by a full 3x3 (outside = masked)."""
    if mask is None:
        return result
    mask = as_array(mask, "mask")
    shape = tuple(np.shape(image)[a] for a in spatial_axes(channel_axis))
    if mask.shape != shape:
        raise ValueError(f"`mask` must have the spatial shape of the image {shape}; got shape {mask.shape}")
    holes = np.logical_not(mask.astype(bool)).astype(np.float32)
    counts = _filters().correlate(holes, np.ones((3, 3)), mode="constant", cval=1.0, num_threads=num_threads)
    keep = counts == 0
    if channel_axis is not None:
        keep = np.expand_dims(keep, channel_axis)
    result *= keep
    return result


def _fused_farid(image, axes, mode, cval, dilation, channel_axis, num_threads):
    """farid's derivative along one of `axes`, or the magnitude over several, through fused 1-D passes
    (:func:`imgconv.filters._edges.fused_responses`); None where those do not give the 5x5 kernels' result."""
    from .filters._edges import ND_WEIGHTS, edge_magnitude, fused_responses

    if as_pair(dilation, "dilation") != (1, 1):  # refused as the 5x5 path refuses it
        return None
    layout = ChannelLayout(image, channel_axis)
    threads = effective_num_threads(num_threads)
    responses = fused_responses(
        layout, ND_WEIGHTS["farid"], axes, check_scipy_mode(mode), mode, as_cval(cval), (1, 1), threads
    )
    if not responses:
        return None
    result = responses[axes[0]] if len(axes) == 1 else edge_magnitude([responses[a] for a in axes], threads)
    return layout.restore(result)


def _convolve(image, weights, mode, cval, dilation, channel_axis, num_threads):
    return _filters().convolve(
        image, weights, mode=mode, cval=cval, dilation=dilation, channel_axis=channel_axis, num_threads=num_threads
    )


def roberts_pos_diag(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Cross edges with Roberts' ``[[1, 0], [0, -1]]`` kernel, as :func:`skimage.filters.roberts_pos_diag`.

    Parameters
    ----------
    image : ndarray, (H, W), or 3-D with a channel axis
    mask : ndarray of bool, (H, W), optional
        Outputs whose 3x3 neighbourhood leaves the mask (or the image) are 0.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`imgconv.filters.sobel`.

    Returns
    -------
    output : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import roberts_pos_diag
    >>> roberts_pos_diag(np.eye(3))
    array([[0., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    result = _convolve(image, ROBERTS_PD_WEIGHTS, mode, cval, dilation, channel_axis, num_threads)
    return _mask(result, mask, image, channel_axis, num_threads)


def roberts_neg_diag(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Cross edges with Roberts' ``[[0, 1], [-1, 0]]`` kernel, as :func:`skimage.filters.roberts_neg_diag`.

    Parameters
    ----------
    image, mask, mode, cval, dilation, channel_axis, num_threads
        As for :func:`roberts_pos_diag`.

    Returns
    -------
    output : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import roberts_neg_diag
    >>> float(np.abs(roberts_neg_diag(np.eye(3))).max())
    1.0
    """
    result = _convolve(image, ROBERTS_ND_WEIGHTS, mode, cval, dilation, channel_axis, num_threads)
    return _mask(result, mask, image, channel_axis, num_threads)


def roberts(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Edge magnitude with Roberts' cross, as :func:`skimage.filters.roberts`.

    Parameters
    ----------
    image, mask, mode, cval, dilation, channel_axis, num_threads
        As for :func:`roberts_pos_diag`.

    Returns
    -------
    output : ndarray
        ``sqrt(pos ** 2 + neg ** 2) / sqrt(2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import roberts
    >>> float(roberts(np.ones((4, 4))).max())
    0.0
    """
    pos = roberts_pos_diag(
        image, mask, mode=mode, cval=cval, dilation=dilation, channel_axis=channel_axis, num_threads=num_threads
    )
    neg = roberts_neg_diag(
        image, mask, mode=mode, cval=cval, dilation=dilation, channel_axis=channel_axis, num_threads=num_threads
    )
    # scikit-image's sqrt(pos**2 + neg**2) / sqrt(2), the same operations in place in arrays we own
    # (four fresh temporaries of a 2048² image cost more than both correlations)
    np.multiply(pos, pos, out=pos)
    np.multiply(neg, neg, out=neg)
    np.add(pos, neg, out=pos)
    np.sqrt(pos, out=pos)
    pos /= np.sqrt(2)
    return pos


def farid(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    axis: IntSequence | None = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntSequence = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Edge magnitude with the 5-tap Farid and Simoncelli derivatives, as :func:`skimage.filters.farid`.

    Parameters
    ----------
    image : ndarray, 2-D, N-D, or with a channel axis
        Two spatial axes: the 5x5 kernels ``HFARID_WEIGHTS`` / ``VFARID_WEIGHTS``;
        any other number (1-D, 3-D, ...): scikit-image's N-D filter, the
        5-tap derivative along the axis and the 5-tap smoothing along every
        other spatial axis, one 1-D engine pass per axis
        (:func:`imgconv.filters._edges.edge_filter_nd`).
    mask : ndarray of bool, the spatial shape of `image`, optional
    axis : int or sequence of int, optional
        One spatial axis: the derivative along it; None or several: the
        magnitude ``sqrt(sum r**2) / sqrt(N)``, N the number of spatial axes.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`imgconv.filters.sobel` (`dilation`: one tap spacing for
        every spatial axis, or one per spatial axis; `channel_axis` None: every
        axis is spatial).

    Returns
    -------
    output : ndarray

    Raises
    ------
    ValueError
        An `axis` that is not a spatial axis, or a `dilation` that is not a
        positive int or one per spatial axis.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import farid
    >>> float(farid(np.ones((6, 6))).max()) < 1e-12
    True
    >>> float(farid(np.ones((6, 6, 6))).max()) < 1e-12
    True
    """
    image = as_array(image, "image")
    from .filters._edges import edge_filter_nd  # imported when first used, as _filters()

    if not is_planar(image, channel_axis):
        return edge_filter_nd(
            image, mask, axis, FARID_SMOOTH, FARID_EDGE[::-1], mode, cval, dilation, channel_axis, num_threads
        )
    check_channel_axis(channel_axis, image.ndim, image.shape)
    spatial = spatial_axes(None if channel_axis is None else channel_axis % image.ndim)
    if axis is None:
        axes = [0, 1]
    else:
        items = [axis] if np.isscalar(axis) else list(cast("Iterable[Int]", axis))
        if not items:  # as filters.sobel: an empty sequence names no axis
            raise ValueError(f"`axis` must name at least one axis; got {show(axis)}")
        axes = []
        for a in items:
            if not -image.ndim <= a < image.ndim or (a % image.ndim) not in spatial:
                raise ValueError(f"`axis` must name spatial axes of the image {list(spatial)}; got {show(axis)}")
            axes.append(spatial.index(a % image.ndim))
    kw = dict(mode=mode, cval=cval, dilation=dilation, channel_axis=channel_axis, num_threads=num_threads)
    weights = (HFARID_WEIGHTS, VFARID_WEIGHTS)
    output: Any  # one response, or the sum of squares from the first axis on (None before it)
    fused = _fused_farid(image, axes, mode, cval, dilation, channel_axis, num_threads)
    if fused is not None:
        output = fused
    elif len(axes) == 1:
        output = _convolve(image, weights[axes[0]], **kw)
    else:
        output = None
        for a in axes:  # in place in arrays we own: no temporary per operation
            r = _convolve(image, weights[a], **kw)
            r *= r
            output = r if output is None else np.add(output, r, out=output)
        np.sqrt(output, out=output)
        output /= np.sqrt(2, dtype=output.dtype)
    return _mask(output, mask, image, channel_axis, num_threads)


def farid_h(
    image: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Horizontal edges (derivative along rows) with the Farid transform, as :func:`skimage.filters.farid_h`.

    Parameters
    ----------
    image, mask, mode, cval, dilation, channel_axis, num_threads
        As for :func:`farid`; `mask` is keyword-only, as in scikit-image.

    Returns
    -------
    output : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import farid_h
    >>> farid_h(np.ones((6, 6))).shape
    (6, 6)
    """
    result = _convolve(image, HFARID_WEIGHTS, mode, cval, dilation, channel_axis, num_threads)
    return _mask(result, mask, image, channel_axis, num_threads)


def farid_v(
    image: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Vertical edges (derivative along columns) with the Farid transform, as :func:`skimage.filters.farid_v`.

    Parameters
    ----------
    image, mask, mode, cval, dilation, channel_axis, num_threads
        As for :func:`farid`.

    Returns
    -------
    output : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import farid_v
    >>> farid_v(np.ones((6, 6))).shape
    (6, 6)
    """
    result = _convolve(image, VFARID_WEIGHTS, mode, cval, dilation, channel_axis, num_threads)
    return _mask(result, mask, image, channel_axis, num_threads)


def unsharp_mask(
    image: npt.ArrayLike,
    radius: RealSequence = 1.0,
    amount: Real = 1.0,
    preserve_range: Bool = False,
    *,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Unsharp masking, as :func:`skimage.filters.unsharp_mask` (N-D, Gaussian passes in the engine).

    Parameters
    ----------
    image : ndarray, (M[, ...][, C])
    radius : float or sequence of float, default 1.0
        Gaussian sigma per spatial axis; 0: no blurring along that axis.
    amount : float, default 1.0
    preserve_range : bool, default False
        False: the result is clipped to [0, 1] ([-1, 1] if the image has negative values).
    channel_axis : int, optional, keyword-only
    num_threads : int, optional, keyword-only

    Returns
    -------
    output : ndarray, float
        ``image + (image - gaussian(image, radius, mode='reflect')) * amount``.

    Raises
    ------
    ValueError
        Negative `radius`, or one of the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.filters import unsharp_mask
    >>> unsharp_mask(np.full((4, 4), 0.5))[0]
    array([0.5, 0.5, 0.5, 0.5])
    """
    layout = NDLayout(as_array(image, "image"), channel_axis, preserve_range=bool(preserve_range))
    radii = check_sigmas(radius, layout.ndim, "radius")
    batch = layout.batch
    blurred = gaussian_passes(
        batch,
        radii,
        (0,) * layout.ndim,
        mode="reflect",
        cval=0.0,
        truncate=4.0,
        num_threads=effective_num_threads(num_threads),
    )
    result = batch + (batch - blurred) * amount
    if not preserve_range:
        low = -1.0 if np.any(batch < 0) else 0.0
        np.clip(result, low, 1.0, out=result)
    return layout.restore(result)


def gabor_kernel(
    frequency: Real,
    theta: Real = 0,
    bandwidth: Real = 1,
    sigma_x: Real | None = None,
    sigma_y: Real | None = None,
    n_stds: Real = 3,
    offset: Real = 0,
    dtype: npt.DTypeLike = np.complex128,
) -> npt.NDArray[np.complexfloating]:
    """Complex 2-D Gabor kernel, as :func:`skimage.filters.gabor_kernel` (values of :func:`imgconv.kernels.gabor`).

    Parameters
    ----------
    frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset
        As for :func:`imgconv.kernels.gabor`; ``frequency=0`` is accepted when
        both sigmas are given (a complex Gaussian).
    dtype : {np.complex128, np.complex64}, default np.complex128

    Returns
    -------
    g : ndarray, complex, (2 y0 + 1, 2 x0 + 1)

    Raises
    ------
    ValueError
        A `dtype` that is not complex, or bad Gabor parameters.

    Examples
    --------
    >>> from imgconv.filters import gabor_kernel
    >>> gabor_kernel(0.25).shape
    (15, 15)
    """
    if np.dtype(dtype).kind != "c":
        raise ValueError(f"`dtype` must be a complex floating point type (complex64 or complex128); got {dtype}")
    if is_real(frequency) and frequency == 0 and sigma_x is not None and sigma_y is not None:
        # kernels.gabor wants a positive frequency; at 1e-300 cycles per pixel the harmonic is
        # exp(i offset) to within 1e-297 over any kernel it can build.
        frequency = 1e-300
    real, imag = _kernels.gabor(
        frequency, theta=theta, bandwidth=bandwidth, sigma_x=sigma_x, sigma_y=sigma_y, n_stds=n_stds, offset=offset
    )
    g = np.empty(real.shape, dtype=dtype)
    g.real = real
    g.imag = imag
    return g
