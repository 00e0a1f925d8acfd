"""The starlet: isotropic undecimated ("à trous") wavelet transform, and denoising with it.

The starlet transform [1]_ smooths an image repeatedly with the B3-spline
kernel ``h = [1, 4, 6, 4, 1] / 16`` applied separably, at dilations
``1, 2, 4, ...`` (the "holes" of *à trous*), and keeps the differences between
successive smoothings as detail planes::

    c_0 = image
    c_j = h_{j-1} * c_{j-1}      (h_{j-1}: h with taps 2**(j-1) apart, rows then columns)
    w_j = c_{j-1} - c_j          j = 1 .. J

so that ``image = w_1 + ... + w_J + c_J`` exactly (up to float rounding) [2]_.  No
plane is decimated: every plane has the image's shape.  Every smoothing is two
calls of :func:`imgconv._engine.correlate` (a ``(5, 1)`` then a ``(1, 5)``
kernel, dilated).

References
----------
.. [1] J.-L. Starck, J. Fadili and F. Murtagh, "The undecimated wavelet
       decomposition and its reconstruction", IEEE Transactions on Image
       Processing 16(2): 297-309, 2007. :DOI:`10.1109/TIP.2006.887733`
.. [2] J.-L. Starck and F. Murtagh, "Astronomical Image and Data Analysis",
       2nd ed., Springer, 2006.
"""

import functools
import itertools
import math
from collections.abc import Iterable
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from . import _engine
from ._shared.blocks import blockwise
from ._shared.layout import ChannelLayout
from ._shared.modes import check_scipy_mode
from ._shared.passes import correlate_1d_passes
from ._threads import effective_num_threads
from ._typing import FloatArray, Int, Real, ScipyMode
from ._validation import as_int, check_positive_real, is_real, show

__all__ = ["B3_SPLINE", "istarlet", "starlet", "starlet_denoise", "starlet_noise_std"]

#: The B3-spline smoothing kernel of the starlet, ``[1, 4, 6, 4, 1] / 16``.
B3_SPLINE = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
B3_SPLINE.flags.writeable = False

#: MAD of a standard normal variable: ``sigma = MAD / 0.6745``.
_MAD_TO_SIGMA = 0.6745


def _max_scales(height, width):
    """Largest J such that the widest kernel, 4 * 2**(J - 1) + 1 pixels, fits in the image."""
    side = min(height, width)
    if side < 5:
        return 0
    return math.floor(math.log2((side - 1) / 4)) + 1


def _check_n_scales(n_scales, spatial_shape):
    n_scales = as_int(n_scales, "n_scales", minimum=1)
    limit = _max_scales(*spatial_shape)
    if n_scales > limit:
        raise ValueError(
            f"`n_scales` is too large for an image of spatial shape {tuple(spatial_shape)}: the widest "
            f"smoothing kernel at scale J spans 4 * 2**(J - 1) + 1 pixels, which must not exceed the smaller "
            f"side, so at most {limit} scales fit; got n_scales={n_scales}"
        )
    return n_scales


def _transform(x, n_scales, engine_mode, threads):
    """Starlet of the engine batch ``x`` (C, 1, H, W): array (J + 1, C, H, W)."""
    c, _, h, w = x.shape
    coeffs = np.empty((n_scales + 1, c, h, w), dtype=x.dtype)
    current = x
    for j in range(n_scales):
        d = 2**j
        smooth = correlate_1d_passes(
            current, B3_SPLINE, B3_SPLINE, mode=engine_mode, cval=0.0, dilation=(d, d), num_threads=threads
        )
        detail, prev, nxt = coeffs[j], current[:, 0], smooth[:, 0]

        def work(rows, detail=detail, prev=prev, nxt=nxt):
            np.subtract(prev[:, rows], nxt[:, rows], out=detail[:, rows])

        blockwise(h, threads, work)
        current = smooth
    coeffs[n_scales] = current[:, 0]
    return coeffs


def starlet(
    image: npt.ArrayLike,
    n_scales: Int,
    *,
    mode: ScipyMode = "nearest",
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Starlet (isotropic undecimated wavelet) transform of an image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
        bool, integer or float image (converted as :mod:`imgconv.filters`
        converts images: integers scaled to [0, 1]).
    n_scales : int
        Number of detail planes ``J``, at least 1.  At most
        ``floor(log2((min(H, W) - 1) / 4)) + 1``: the widest smoothing kernel,
        ``4 * 2**(J - 1) + 1`` pixels, must fit in the image.
    mode : str, default 'nearest', keyword-only
        Border extension (scipy names, see :mod:`imgconv.filters`).
    channel_axis : int, optional, keyword-only
        Channel axis of a multichannel image (each channel transformed on its
        own); None: `image` is 2-D.
    num_threads : int, optional, keyword-only
        Engine threads.

    Returns
    -------
    coeffs : ndarray, shape ``(n_scales + 1, *image.shape)``
        ``coeffs[j]`` (``j < n_scales``) is the detail plane ``w_{j+1}``, finest
        first; ``coeffs[n_scales]`` is the coarse plane ``c_J``.  float32 or
        float64 (the compute dtype).

    Raises
    ------
    TypeError, ValueError
        Bad `image`, `n_scales` (< 1 or too many for the image), `mode`,
        `channel_axis` or `num_threads`.

    See Also
    --------
    istarlet, starlet_denoise

    Notes
    -----
    ``c_j`` is ``c_{j-1}`` correlated with the B3 spline along rows, then
    columns, with taps ``2**(j-1)`` pixels apart; ``w_j = c_{j-1} - c_j``.  For
    a constant image every detail plane is 0 (the kernel sums to 1).  Each
    plane equals ``scipy.ndimage.correlate1d`` with the zero-inserted kernel
    (same `mode`) applied along axis 0 then axis 1.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import wavelet
    >>> image = np.random.default_rng(0).random((32, 32))
    >>> coeffs = wavelet.starlet(image, 3)
    >>> coeffs.shape
    (4, 32, 32)
    >>> bool(np.allclose(wavelet.istarlet(coeffs), image))
    True
    """
    layout = ChannelLayout(image, channel_axis)
    n_scales = _check_n_scales(n_scales, layout.spatial_shape)
    engine_mode = check_scipy_mode(mode)
    threads = effective_num_threads(num_threads)
    return layout.restore_planes(_transform(layout.x, n_scales, engine_mode, threads))


def istarlet(coeffs: np.ndarray | Iterable[npt.ArrayLike]) -> np.ndarray:
    """Inverse starlet transform: the sum of all planes.

    Parameters
    ----------
    coeffs : ndarray, shape (J + 1, ...), or sequence of J + 1 arrays of one shape
        As returned by :func:`starlet` (detail planes, then the coarse plane).

    Returns
    -------
    image : ndarray
        ``w_1 + ... + w_J + c_J``, which is the transformed image up to float
        rounding.

    Raises
    ------
    TypeError
        If `coeffs` is not numeric.
    ValueError
        If `coeffs` holds fewer than 2 planes or planes of different shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import wavelet
    >>> wavelet.istarlet([np.ones((2, 2)), np.full((2, 2), 2.0)])
    array([[3., 3.],
           [3., 3.]])
    """
    if isinstance(coeffs, np.ndarray):
        planes = coeffs
    else:
        if isinstance(coeffs, (str, bytes)) or not hasattr(coeffs, "__iter__"):
            raise TypeError(f"`coeffs` must be an array or a sequence of arrays; got {type(coeffs).__name__}")
        items = [np.asarray(c) for c in coeffs]
        shapes = {c.shape for c in items}
        if len(shapes) > 1:
            raise ValueError(f"`coeffs` planes must all have one shape; got shapes {sorted(shapes)}")
        planes = np.stack(items) if items else np.empty((0,))
    if planes.dtype.kind not in "iuf":
        raise TypeError(f"`coeffs` must be real-valued; got dtype {planes.dtype}")
    if planes.ndim < 2 or planes.shape[0] < 2:
        raise ValueError(
            f"`coeffs` must hold at least one detail plane and the coarse plane; got an array of shape {planes.shape}"
        )
    return planes.sum(axis=0)


@functools.cache
def _noise_std(n_scales):
    """Per-scale std of the starlet of unit white noise (see starlet_noise_std), as a tuple."""
    # 1-D smoothing sequences a_j = h_0 * ... * h_{j-1} (a_0 = delta), computed by the engine on
    # a 1 x L impulse; a_J has support 4 (2**J - 1) + 1.
    half = 4 * (2**n_scales - 1)
    length = 2 * half + 1
    a = np.zeros((1, 1, 1, length))
    a[0, 0, 0, half] = 1.0
    seqs = [a[0, 0, 0].copy()]
    for j in range(n_scales):
        d = 2**j
        a = _engine.correlate(
            a,
            B3_SPLINE[None, None, None, :].copy(),
            pads=(0, 0, 2 * d, 2 * d),
            mode="constant",
            dilation=(1, d),
            num_threads=1,
        )
        seqs.append(a[0, 0, 0].copy())
    std = []
    for prev, nxt in itertools.pairwise(seqs):
        # psi_j = a_{j-1} (x) a_{j-1} - a_j (x) a_j;  <A (x) A, B (x) B> = <A, B>**2
        var = np.dot(prev, prev) ** 2 - 2 * np.dot(prev, nxt) ** 2 + np.dot(nxt, nxt) ** 2
        std.append(math.sqrt(var))
    return tuple(std)


def starlet_noise_std(n_scales: Int) -> npt.NDArray[np.float64]:
    """Standard deviation of each detail plane of the starlet of unit Gaussian white noise.

    Parameters
    ----------
    n_scales : int
        Number of detail planes, at least 1.

    Returns
    -------
    std : ndarray, shape (n_scales,)
        ``std[j]`` for the plane ``w_{j+1}``: 0.8908, 0.2007, 0.0855, 0.0412,
        0.0204, 0.0102, 0.0051, ... (Starck & Murtagh [2]_ list 0.889, 0.200,
        0.086, 0.041, 0.020, 0.010, 0.005, obtained by simulation).

    Raises
    ------
    TypeError, ValueError
        If `n_scales` is not a positive int.

    Notes
    -----
    The plane ``w_j`` is the image correlated with ``psi_j = phi_{j-1} -
    phi_j``, where ``phi_j = a_j (x) a_j`` is the separable impulse response of
    ``j`` smoothings and ``a_j = h_0 * ... * h_{j-1}`` the 1-D one.  For white
    noise of unit variance on an unbounded domain the variance of ``w_j`` is
    the squared L2 norm of ``psi_j``, and since ``<A (x) A, B (x) B> = <A, B>**2``::

        ||psi_j||**2 = ||a_{j-1}||**4 - 2 <a_{j-1}, a_j>**2 + ||a_j||**4

    The sequences ``a_j`` are computed exactly (in float64) by running the 1-D
    smoothings on an impulse with the engine; borders do not enter.

    References
    ----------
    .. [1] J.-L. Starck, J. Fadili and F. Murtagh, "The undecimated wavelet
           decomposition and its reconstruction", IEEE TIP 16(2): 297-309, 2007.
    .. [2] J.-L. Starck and F. Murtagh, "Astronomical Image and Data Analysis",
           2nd ed., Springer, 2006.

    Examples
    --------
    >>> from imgconv import wavelet
    >>> wavelet.starlet_noise_std(3).round(4)
    array([0.8908, 0.2007, 0.0855])
    """
    n_scales = as_int(n_scales, "n_scales", minimum=1)
    return np.array(_noise_std(n_scales))


def starlet_denoise(
    image: npt.ArrayLike,
    n_scales: Int = 4,
    k: Real = 3.0,
    *,
    sigma: Real | None = None,
    mode: ScipyMode = "nearest",
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Denoise an image by hard thresholding of its starlet coefficients.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
        Noisy image (converted as in :func:`starlet`).
    n_scales : int, default 4
        Number of detail planes; see :func:`starlet` for the upper limit.
    k : float, default 3.0
        Threshold in noise standard deviations; positive.
    sigma : float, optional, keyword-only
        Standard deviation of the (white, Gaussian) noise in the units of the
        converted image.  Default: estimated from the finest detail plane
        (per channel), see Notes.
    mode, channel_axis, num_threads : keyword-only
        As for :func:`starlet`.

    Returns
    -------
    denoised : ndarray
        Shape of `image`, compute dtype.

    Raises
    ------
    TypeError, ValueError
        Bad `k` or `sigma` (not positive) or any parameter of :func:`starlet`.

    See Also
    --------
    starlet, starlet_noise_std, skimage.restoration.denoise_wavelet

    Notes
    -----
    With ``e_j`` = :func:`starlet_noise_std` (the noise response of scale
    ``j``), the noise level of the image is estimated from the finest detail
    plane by the median absolute deviation,
    ``sigma = MAD(w_1) / 0.6745 / e_1`` with ``MAD(w) = median(|w - median(w)|)``;
    the coefficients of scale ``j`` with ``|w_j| <= k * sigma * e_j`` are set to
    0 (hard threshold), the others kept, and the image is rebuilt as the sum of
    the thresholded detail planes and the (untouched) coarse plane.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import wavelet
    >>> rng = np.random.default_rng(0)
    >>> clean = np.zeros((64, 64)); clean[16:48, 16:48] = 1
    >>> noisy = clean + rng.normal(0, 0.2, clean.shape)
    >>> denoised = wavelet.starlet_denoise(noisy, 3)
    >>> bool(np.abs(denoised - clean).mean() < np.abs(noisy - clean).mean() / 2)
    True
    """
    layout = ChannelLayout(image, channel_axis)
    n_scales = _check_n_scales(n_scales, layout.spatial_shape)
    k = check_positive_real(k, "k")
    if sigma is not None:
        if not is_real(sigma):
            raise TypeError(
                f"`sigma` must be a positive real number or None; got {show(sigma)} of type {type(sigma).__name__}"
            )
        sigma = check_positive_real(sigma, "sigma")
    engine_mode = check_scipy_mode(mode)
    threads = effective_num_threads(num_threads)
    coeffs = _transform(layout.x, n_scales, engine_mode, threads)
    response = _noise_std(n_scales)
    n_channels = coeffs.shape[1]
    if sigma is None:
        finest = coeffs[0].reshape(n_channels, -1)
        mad = np.median(np.abs(finest - np.median(finest, axis=1, keepdims=True)), axis=1)
        sigmas = mad / _MAD_TO_SIGMA / response[0]
    else:
        sigmas = np.full(n_channels, sigma)
    for j in range(n_scales):
        thresholds = (k * response[j] * sigmas).astype(coeffs.dtype)[:, None, None]
        plane = coeffs[j]
        plane[np.abs(plane) <= thresholds] = 0
    denoised = coeffs.sum(axis=0)
    return layout.restore(denoised)
