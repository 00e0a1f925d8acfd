"""Constructors for common 2-D filter kernels.

Every function returns a new, writeable, C-contiguous ``float64`` array of shape
``(kh, kw)``.  The kernels are **correlation kernels**, the form the imgconv
engine (and :meth:`imgconv.banks.FilterBank.apply`, :func:`imgconv.conv2d`) apply
without flipping::

    response[i, j] = sum_{u, v} kernel[u, v] * image[i + u - ah, j + v - aw]

with the anchor ``(ah, aw) = ((kh - 1) // 2, (kw - 1) // 2)`` (the centre for odd
sizes; for even sizes the tap that PyTorch's ``padding='same'`` aligns with the
output pixel).  Correlating with ``kernel`` equals convolving with
``kernel[::-1, ::-1]``, so kernels copied from libraries that *convolve*
(``scipy.ndimage.convolve``, ``skimage.filters``) are stored here rotated by 180°;
each docstring says so where it matters.

Notes
-----
Conventions shared by all kernels:

* Axes: ``y`` is the row index (downwards), ``x`` the column index (rightwards);
  pairs are always ``(y, x)`` / ``(rows, columns)``.
* Derivative kernels are signed so that the response is the derivative of the
  (smoothed) image with respect to increasing ``y`` or ``x`` -- the same sign as
  :func:`skimage.filters.sobel_h` and ``scipy.ndimage.gaussian_filter(order=...)``.
* Angles ``theta`` are in radians, measured from the ``+x`` axis towards the
  ``+y`` axis, i.e. *clockwise* as an array is displayed with row 0 on top.  This
  is the convention of :func:`skimage.filters.gabor_kernel` and of the
  Leung-Malik / MR8 reference code (``makeLMfilters.m``): the kernel for
  ``theta = pi / 2`` is ``np.rot90(kernel_for_theta_0, k=-1)``.
* Size: a kernel built from parameters (a `sigma`, a `frequency`, a `size`)
  has at most :data:`MAX_KERNEL_SIZE` (4097) taps along each axis; larger ones
  are refused with a ValueError naming the parameters before anything is
  allocated (sigma 1e9 would be an 8e9-tap kernel).
"""

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from numpy.polynomial import hermite_e

from ._shared.geometry import gaussian_radius
from ._shared.ndpasses import gaussian_kernel1d
from ._typing import Bool, Int, IntPair, Real, RealPair
from ._validation import (
    MAX_KERNEL_SIZE,
    as_pair,
    as_real,
    as_real_pair,
    check_kernel_size,
    describe_params,
    gabor_half_size,
    gabor_sigmas,
)
from ._validation import is_int as _is_int
from ._validation import show as _show

__all__ = [
    "MAX_KERNEL_SIZE",
    "box",
    "gabor",
    "gaussian",
    "gaussian_derivative",
    "identity",
    "laplace",
    "log",
    "prewitt_h",
    "prewitt_v",
    "scharr_h",
    "scharr_v",
    "sobel_h",
    "sobel_v",
]


# --------------------------------------------------------------------------------------
# validation (the real-number checkers are imgconv._validation.as_real / as_real_pair)
# --------------------------------------------------------------------------------------

# Derivative orders beyond this are numerically meaningless (He_n(4) ~ 4**n overflows
# near n = 500) and would cost n passes over the kernel.
_MAX_ORDER = 64


def _as_order_pair(value, name="order"):
    rule = f"a pair (oy, ox) of non-negative ints, at most {_MAX_ORDER}"
    if not isinstance(value, (tuple, list, np.ndarray)) or (isinstance(value, np.ndarray) and value.ndim != 1):
        raise TypeError(f"`{name}` must be {rule}; got {_show(value)} of type {type(value).__name__}")
    items = list(value.tolist() if isinstance(value, np.ndarray) else value)
    if len(items) != 2:
        raise ValueError(f"`{name}` must be {rule}; got {_show(value)} (length {len(items)})")
    if not all(_is_int(v) for v in items):
        raise TypeError(f"`{name}` must be {rule}; got {_show(value)}")
    if min(items) < 0 or max(items) > _MAX_ORDER:
        raise ValueError(f"`{name}` must be {rule}; got {_show(value)}")
    return int(items[0]), int(items[1])


def _gaussian_radii(sigmas, truncate, what="a Gaussian kernel"):
    """scipy.ndimage's radius per axis, refused beyond MAX_KERNEL_SIZE (naming sigma and truncate)."""
    radii = tuple(gaussian_radius(s, truncate) for s in sigmas)
    sigma = sigmas[0] if sigmas[0] == sigmas[-1] else sigmas
    check_kernel_size(2 * max(radii) + 1, what, sigma=sigma, truncate=truncate)
    return radii


def _gaussian_1d(sigma, radius):
    """scipy.ndimage's normalised 1-D Gaussian (``_gaussian_kernel1d`` with order 0)."""
    return gaussian_kernel1d(sigma, 0, radius)


# --------------------------------------------------------------------------------------
# smoothing and trivial kernels
# --------------------------------------------------------------------------------------


def box(size: IntPair) -> npt.NDArray[np.float64]:
    """Uniform (mean) filter kernel.

    Parameters
    ----------
    size : int or (int, int)
        Kernel shape ``(kh, kw)``; an int gives a square kernel.

    Returns
    -------
    kernel : ndarray, shape (kh, kw), float64
        Every entry is ``1 / (kh * kw)``, so the kernel sums to 1.

    Raises
    ------
    TypeError
        If `size` is not an int or a pair of ints.
    ValueError
        If a component of `size` is smaller than 1 or larger than
        :data:`MAX_KERNEL_SIZE`.

    See Also
    --------
    scipy.ndimage.uniform_filter

    Notes
    -----
    For an even size the response at ``(i, j)`` averages rows
    ``i - (kh - 1) // 2 ... i + kh // 2`` (the extra row lies below the pixel),
    as with PyTorch's ``padding='same'``; ``scipy.ndimage.uniform_filter`` puts
    it above.

    Examples
    --------
    >>> from imgconv import kernels
    >>> kernels.box((1, 4))
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    kh, kw = as_pair(size, "size", maximum=MAX_KERNEL_SIZE)
    return np.full((kh, kw), 1.0 / (kh * kw))


def identity(size: IntPair = 1) -> npt.NDArray[np.float64]:
    """Kernel that reproduces the image: a single 1 at the anchor, zeros elsewhere.

    Parameters
    ----------
    size : int or (int, int), default 1
        Kernel shape ``(kh, kw)``.

    Returns
    -------
    kernel : ndarray, shape (kh, kw), float64
        ``kernel[(kh - 1) // 2, (kw - 1) // 2] = 1``.  The anchor is the centre
        for odd sizes and, for even sizes, the tap PyTorch's ``padding='same'``
        aligns with the output pixel, so filtering with ``'same'`` output size
        returns the image unchanged for every size.

    Raises
    ------
    TypeError, ValueError
        If `size` is not a positive int or a pair of positive ints of at most
        :data:`MAX_KERNEL_SIZE`.

    Examples
    --------
    >>> from imgconv import kernels
    >>> kernels.identity((2, 3))
    array([[0., 1., 0.],
           [0., 0., 0.]])
    """
    kh, kw = as_pair(size, "size", maximum=MAX_KERNEL_SIZE)
    kernel = np.zeros((kh, kw))
    kernel[(kh - 1) // 2, (kw - 1) // 2] = 1.0
    return kernel


def gaussian(sigma: RealPair, truncate: Real = 4.0) -> npt.NDArray[np.float64]:
    """Sampled, normalised Gaussian kernel, identical to scipy.ndimage's.

    Parameters
    ----------
    sigma : float or (float, float)
        Standard deviation ``(sigma_y, sigma_x)`` in pixels; a scalar is used for
        both axes.  Must be positive.
    truncate : float, default 4.0
        Truncate the kernel at this many standard deviations.

    Returns
    -------
    kernel : ndarray, shape (2 * ry + 1, 2 * rx + 1), float64
        ``outer(g_y, g_x)`` where ``g(t) = exp(-t**2 / (2 sigma**2))`` sampled at
        ``t = -r .. r`` and divided by its sum, with radius
        ``r = int(truncate * sigma + 0.5)`` per axis -- exactly the separable
        kernel :func:`scipy.ndimage.gaussian_filter` applies.  The kernel sums to 1.

    Raises
    ------
    TypeError
        If `sigma` or `truncate` is not a real number (or pair, for `sigma`).
    ValueError
        If `sigma` or `truncate` is not positive and finite, or the kernel
        would have more than :data:`MAX_KERNEL_SIZE` taps along an axis
        (sigma above 512 at truncate 4).

    See Also
    --------
    scipy.ndimage.gaussian_filter, gaussian_derivative, log

    Examples
    --------
    >>> from imgconv import kernels
    >>> k = kernels.gaussian((0.5, 1.0))
    >>> k.shape, round(float(k.sum()), 12)
    ((5, 9), 1.0)
    """
    sy, sx = as_real_pair(sigma, "sigma")
    truncate = as_real(truncate, "truncate")
    ry, rx = _gaussian_radii((sy, sx), truncate)
    return np.outer(_gaussian_1d(sy, ry), _gaussian_1d(sx, rx))


# --------------------------------------------------------------------------------------
# scikit-image edge kernels (correlation form)
# --------------------------------------------------------------------------------------


def _edge_kernel(smooth):
    # skimage.filters.edges builds its convolution kernel as EDGE[:, None] * SMOOTH[None, :]
    # with EDGE = [1, 0, -1]; we return the 180-degree rotation (correlation form).
    conv = np.array([1, 0, -1]).reshape((3, 1)) * np.asarray(smooth).reshape((1, 3))
    return np.ascontiguousarray(conv[::-1, ::-1], dtype=np.float64)


def sobel_h() -> npt.NDArray[np.float64]:
    """Sobel kernel for horizontal edges (derivative along ``y``), as scikit-image.

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]] / 4``: positive where intensity
        increases downwards.  Rows sum to ``[-1, 0, 1]``; the kernel sums to 0.

    Notes
    -----
    scikit-image 0.26 (``skimage/filters/edges.py``) convolves with
    ``HSOBEL_WEIGHTS = [1, 0, -1]^T [1, 2, 1] / 4``; this is the same kernel
    rotated by 180°, so correlating with it gives exactly
    :func:`skimage.filters.sobel_h`.  The ``/4`` normalisation makes the
    response to a unit step equal to 1.

    References
    ----------
    .. [1] I. Sobel and G. Feldman, "A 3x3 isotropic gradient operator for image
           processing", presented at the Stanford AI Project, 1968.

    Examples
    --------
    >>> from imgconv import kernels
    >>> kernels.sobel_h() * 4
    array([[-1., -2., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  2.,  1.]])
    """
    return _edge_kernel(np.array([1, 2, 1]) / 4)


def sobel_v() -> npt.NDArray[np.float64]:
    """Sobel kernel for vertical edges (derivative along ``x``), as scikit-image.

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``sobel_h().T`` = ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] / 4``: positive
        where intensity increases to the right.

    Notes
    -----
    The 180° rotation of scikit-image's ``VSOBEL_WEIGHTS``, so correlating with
    it gives exactly :func:`skimage.filters.sobel_v`.
    """
    return np.ascontiguousarray(sobel_h().T)


def scharr_h() -> npt.NDArray[np.float64]:
    """Scharr kernel for horizontal edges (derivative along ``y``), as scikit-image.

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``[[-3, -10, -3], [0, 0, 0], [3, 10, 3]] / 16``, positive where intensity
        increases downwards.

    Notes
    -----
    The 180° rotation of scikit-image's ``HSCHARR_WEIGHTS``
    (``[1, 0, -1]^T [3, 10, 3] / 16``); correlating with it gives exactly
    :func:`skimage.filters.scharr_h`.

    References
    ----------
    .. [1] H. Scharr, "Optimal operators in digital image processing",
           PhD thesis, Heidelberg University, 2000.
    """
    return _edge_kernel(np.array([3, 10, 3]) / 16)


def scharr_v() -> npt.NDArray[np.float64]:
    """Scharr kernel for vertical edges (derivative along ``x``), as scikit-image.

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``scharr_h().T``, positive where intensity increases to the right;
        correlating with it gives exactly :func:`skimage.filters.scharr_v`.
    """
    return np.ascontiguousarray(scharr_h().T)


def prewitt_h() -> npt.NDArray[np.float64]:
    """Prewitt kernel for horizontal edges (derivative along ``y``), as scikit-image.

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``[[-1, -1, -1], [0, 0, 0], [1, 1, 1]] / 3``, positive where intensity
        increases downwards.

    Notes
    -----
    The 180° rotation of scikit-image's ``HPREWITT_WEIGHTS``
    (``[1, 0, -1]^T [1/3, 1/3, 1/3]``); correlating with it gives exactly
    :func:`skimage.filters.prewitt_h`.

    References
    ----------
    .. [1] J. M. S. Prewitt, "Object enhancement and extraction", in Picture
           Processing and Psychopictorics, Academic Press, 1970, pp. 75-149.
    """
    return _edge_kernel(np.full((3,), 1 / 3))


def prewitt_v() -> npt.NDArray[np.float64]:
    """Prewitt kernel for vertical edges (derivative along ``x``), as scikit-image.

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``prewitt_h().T``, positive where intensity increases to the right;
        correlating with it gives exactly :func:`skimage.filters.prewitt_v`.
    """
    return np.ascontiguousarray(prewitt_h().T)


def laplace(ksize: Int = 3) -> npt.NDArray[np.float64]:
    """Discrete Laplace operator as used by :func:`skimage.filters.laplace`.

    Parameters
    ----------
    ksize : int, default 3
        Kernel size.  Only 3 is supported: scikit-image accepts other values but
        always uses the 3x3 operator (``skimage.restoration.uft.laplacian``).

    Returns
    -------
    kernel : ndarray, shape (3, 3), float64
        ``[[0, -1, 0], [-1, 4, -1], [0, -1, 0]]``.  The kernel sums to 0.

    Raises
    ------
    TypeError
        If `ksize` is not an int.
    ValueError
        If `ksize` is not 3.

    Notes
    -----
    The sign follows scikit-image: the centre is positive, so the response is
    *minus* the discrete Laplacian (positive on bright spots).  :func:`log`
    uses the opposite sign (it samples the Laplacian of a Gaussian itself).
    The kernel is symmetric, so correlation and convolution agree.
    """
    if not _is_int(ksize):
        raise TypeError(f"`ksize` must be an int; got {_show(ksize)} of type {type(ksize).__name__}")
    if int(ksize) != 3:
        raise ValueError(f"`ksize` must be 3 (the only Laplace operator scikit-image implements); got {_show(ksize)}")
    return np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


# --------------------------------------------------------------------------------------
# Gaussian family
# --------------------------------------------------------------------------------------


def _support(size, radii, what, **params):
    """Half-sizes from `size` (odd, at most MAX_KERNEL_SIZE) or, without it, the checked `radii`."""
    if size is None:
        check_kernel_size(2 * max(radii) + 1, what, **params)
        return radii
    kh, kw = as_pair(size, "size", odd=True, maximum=MAX_KERNEL_SIZE)
    return (kh - 1) // 2, (kw - 1) // 2


def _finite(kernel, what, **params):
    if not np.all(np.isfinite(kernel)):  # tiny sigmas: powers of sigma underflow to 0
        names, got = describe_params(params)
        raise ValueError(
            f"{names} {'gives' if len(params) == 1 else 'give'} {what} with non-finite values "
            f"(a sigma too small for float64); got {got}"
        )
    return kernel


def log(
    sigma: Real, truncate: Real = 4.0, *, size: IntPair | None = None, scale_normalized: Bool = False
) -> npt.NDArray[np.float64]:
    """Laplacian-of-Gaussian kernel with zero mean.

    Parameters
    ----------
    sigma : float
        Standard deviation of the Gaussian, in pixels; positive.
    truncate : float, default 4.0
        The radius is ``int(truncate * sigma + 0.5)`` (as scipy.ndimage), ignored
        when `size` is given.
    size : int or (int, int), optional, keyword-only
        Odd kernel shape overriding `truncate` (e.g. 49 for the Leung-Malik and
        MR8 banks).
    scale_normalized : bool, default False, keyword-only
        Multiply by ``sigma**2`` (Lindeberg's scale normalisation), which makes
        responses comparable across scales.  By default the kernel is *not*
        scale-normalised.

    Returns
    -------
    kernel : ndarray, float64
        ``L = G * (x**2 + y**2 - 2 sigma**2) / sigma**4``, where ``G`` is the
        sampled Gaussian normalised to sum 1 over the kernel grid, followed by
        ``L -= L.mean()`` so that the kernel sums to exactly 0 (a flat image gives
        no response).  The centre is negative (it samples ``∇²G``).  Multiplied
        by ``sigma**2`` if `scale_normalized`.

    Raises
    ------
    TypeError, ValueError
        If `sigma` or `truncate` is not a positive finite real, `size` is not
        an odd positive int or pair, or the kernel would have more than
        :data:`MAX_KERNEL_SIZE` taps along an axis.

    See Also
    --------
    scipy.ndimage.gaussian_laplace, laplace

    Notes
    -----
    Before the mean is removed, ``L`` equals the kernel of
    :func:`scipy.ndimage.gaussian_laplace` with the same radius (the sum of the
    separable second-derivative kernels).  With the mean removed it equals
    MATLAB's ``fspecial('log', size, sigma)``, which the Leung-Malik and MR8
    reference code use.

    References
    ----------
    .. [1] D. Marr and E. Hildreth, "Theory of edge detection", Proc. R. Soc.
           Lond. B 207: 187-217, 1980. :DOI:`10.1098/rspb.1980.0020`
    .. [2] T. Lindeberg, "Feature detection with automatic scale selection",
           IJCV 30(2): 79-116, 1998. :DOI:`10.1023/A:1008045108935`
    """
    sigma = as_real(sigma, "sigma")
    truncate = as_real(truncate, "truncate")
    if not isinstance(scale_normalized, (bool, np.bool_)):
        raise TypeError(f"`scale_normalized` must be a bool; got {_show(scale_normalized)}")
    r = gaussian_radius(sigma, truncate)
    ry, rx = _support(size, (r, r), "a LoG kernel", sigma=sigma, truncate=truncate)
    gy = _gaussian_1d(sigma, ry)
    gx = _gaussian_1d(sigma, rx)
    g = np.outer(gy, gx)
    y = np.arange(-ry, ry + 1, dtype=np.float64)[:, None]
    x = np.arange(-rx, rx + 1, dtype=np.float64)[None, :]
    s2 = sigma * sigma
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kernel = g * (x * x + y * y - 2.0 * s2) / (s2 * s2)
        kernel -= kernel.mean()
    _finite(kernel, "a LoG kernel", sigma=sigma)
    if scale_normalized:
        kernel *= s2
    return kernel


def _rotated_grid(theta, ry, rx):
    y = np.arange(-ry, ry + 1, dtype=np.float64)[:, None]
    x = np.arange(-rx, rx + 1, dtype=np.float64)[None, :]
    ct, st = math.cos(theta), math.sin(theta)
    u = x * ct + y * st  # along the rotated x axis
    v = -x * st + y * ct  # along the rotated y axis
    return v, u


def gaussian_derivative(
    sigma: RealPair,
    order: Sequence[Int] | npt.NDArray[np.integer],
    theta: Real = 0.0,
    truncate: Real = 4.0,
    *,
    size: IntPair | None = None,
) -> npt.NDArray[np.float64]:
    """Derivative of an (anisotropic, rotated) Gaussian as a correlation kernel.

    Parameters
    ----------
    sigma : float or (float, float)
        Standard deviations ``(sigma_y, sigma_x)`` in pixels along the kernel's
        own axes *before* rotation; positive.
    order : (int, int)
        Derivative orders ``(oy, ox)`` along those axes, non-negative;
        ``(0, 0)`` is the Gaussian itself.
    theta : float, default 0.0
        Rotation in radians, from ``+x`` towards ``+y`` (clockwise as displayed,
        like :func:`skimage.filters.gabor_kernel`).  At ``theta=pi/2`` the kernel
        is ``np.rot90(kernel_at_0, k=-1)``.
    truncate : float, default 4.0
        The support covers the ellipse with semi-axes ``truncate * sigma``; the
        radius along each image axis is ``int(truncate * s + 0.5)`` with ``s`` the
        ellipse's half-extent, i.e. ``int(truncate * sigma_y + 0.5)`` and
        ``int(truncate * sigma_x + 0.5)`` at ``theta=0``, exactly as scipy.ndimage.
    size : int or (int, int), optional, keyword-only
        Odd kernel shape overriding `truncate`.

    Returns
    -------
    kernel : ndarray, float64
        ``k(y, x) = G(v, u) * H_oy(v; sigma_y) * H_ox(u; sigma_x)`` with the
        rotated coordinates ``u = x cos(theta) + y sin(theta)``,
        ``v = -x sin(theta) + y cos(theta)``, ``G`` the sampled Gaussian
        normalised to sum 1 over the kernel grid, and
        ``H_n(t; s) = s**-n He_n(t / s)`` (probabilists' Hermite polynomials).
        This is ``(-1)**(oy + ox)`` times the sampled derivative of ``G``, which
        makes the *correlation* response the derivative of the smoothed image
        along ``v`` / ``u`` (positive where intensity increases towards ``+v`` /
        ``+u``).

    Raises
    ------
    TypeError, ValueError
        If a parameter has the wrong type or value (the message names it):
        orders above 64, or a kernel of more than :data:`MAX_KERNEL_SIZE` taps
        along an axis.

    See Also
    --------
    scipy.ndimage.gaussian_filter, gaussian, log

    Notes
    -----
    At ``theta=0`` correlating with this kernel equals
    ``scipy.ndimage.gaussian_filter(image, sigma, order=order, truncate=truncate)``
    (same radius, same normalisation).  Kernels of odd total order are odd
    functions on a symmetric grid, so they sum to zero (up to rounding);
    even orders > 0 do not sum to exactly zero after truncation.

    References
    ----------
    .. [1] W. T. Freeman and E. H. Adelson, "The design and use of steerable
           filters", IEEE TPAMI 13(9): 891-906, 1991. :DOI:`10.1109/34.93808`

    Examples
    --------
    >>> from imgconv import kernels
    >>> k = kernels.gaussian_derivative(1.0, (1, 0), truncate=1.0)
    >>> (k[:, 1] / k[2, 1]).round(6)   # negative above, positive below the centre
    array([-1.,  0.,  1.])
    """
    sy, sx = as_real_pair(sigma, "sigma")
    oy, ox = _as_order_pair(order)
    theta = as_real(theta, "theta", rule="finite")
    truncate = as_real(truncate, "truncate")
    ct, st = math.cos(theta), math.sin(theta)
    ay, ax = truncate * sy, truncate * sx  # semi-axes along v and u
    ry = gaussian_radius(math.hypot(ax * st, ay * ct), 1.0)
    rx = gaussian_radius(math.hypot(ax * ct, ay * st), 1.0)
    sigma = sy if sy == sx else (sy, sx)
    ry, rx = _support(size, (ry, rx), "a Gaussian-derivative kernel", sigma=sigma, truncate=truncate)
    v, u = _rotated_grid(theta, ry, rx)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        g = np.exp(-0.5 * (v * v / (sy * sy) + u * u / (sx * sx)))
        g /= g.sum()
        # numpy scalars: sigma ** order may underflow to 0 or overflow without an OverflowError
        if oy:
            g = g * (hermite_e.hermeval(v / sy, [0] * oy + [1]) / np.float64(sy) ** oy)
        if ox:
            g = g * (hermite_e.hermeval(u / sx, [0] * ox + [1]) / np.float64(sx) ** ox)
    return np.ascontiguousarray(_finite(g, "a Gaussian-derivative kernel", sigma=sigma, order=(oy, ox)))


# --------------------------------------------------------------------------------------
# Gabor
# --------------------------------------------------------------------------------------


def gabor(
    frequency: Real,
    theta: Real = 0,
    bandwidth: Real = 1,
    sigma_x: Real | None = None,
    sigma_y: Real | None = None,
    n_stds: Real = 3,
    offset: Real = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Gabor kernel pair, value for value the same as :func:`skimage.filters.gabor_kernel`.

    Parameters
    ----------
    frequency : float
        Spatial frequency of the harmonic, in cycles per pixel; positive.
    theta : float, default 0
        Orientation in radians (from ``+x`` towards ``+y``); at 0 the harmonic
        runs along ``x``.
    bandwidth : float, default 1
        Bandwidth in octaves; sets ``sigma_x`` and ``sigma_y`` when they are not
        given: ``sigma = (1/pi) sqrt(ln 2 / 2) (2**b + 1) / (2**b - 1) / frequency``.
    sigma_x, sigma_y : float, optional
        Standard deviations along the kernel axes before rotation; positive.
    n_stds : float, default 3
        The half-size of the kernel is ``ceil(max(n_stds * |projected sigma|, 1))``
        per axis, as in scikit-image.
    offset : float, default 0
        Phase offset of the harmonic in radians.

    Returns
    -------
    real, imag : ndarray, float64
        Real and imaginary parts of ``g = exp(-(u**2/sigma_x**2 + v**2/sigma_y**2)/2
        + i (2 pi frequency u + offset)) / (2 pi sigma_x sigma_y)`` with
        ``u = x cos(theta) + y sin(theta)``, ``v = -x sin(theta) + y cos(theta)``,
        odd shape ``(2 * y0 + 1, 2 * x0 + 1)``.  The Gaussian envelope is
        normalised to unit *integral* (not unit sum), as in scikit-image.

    Raises
    ------
    TypeError, ValueError
        If a parameter has the wrong type or value (the message names it),
        including a kernel of more than :data:`MAX_KERNEL_SIZE` taps along an
        axis (frequencies below about 0.001 at the default bandwidth) and
        Gaussian widths too small for float64.

    Notes
    -----
    These are scikit-image's values, *not* flipped: :func:`skimage.filters.gabor`
    convolves with them.  The real part is symmetric under a 180° rotation, so
    correlating with it gives the same response; the imaginary part is
    antisymmetric, so correlating with it gives *minus* scikit-image's imaginary
    response.  :func:`imgconv.banks.gabor` stores the correlation form.

    References
    ----------
    .. [1] J. G. Daugman, "Uncertainty relation for resolution in space, spatial
           frequency, and orientation optimized by two-dimensional visual cortical
           filters", JOSA A 2(7): 1160-1169, 1985. :DOI:`10.1364/JOSAA.2.001160`
    .. [2] https://en.wikipedia.org/wiki/Gabor_filter

    Examples
    --------
    >>> from imgconv import kernels
    >>> real, imag = kernels.gabor(0.25)
    >>> real.shape, imag.shape
    ((15, 15), (15, 15))
    """
    frequency = as_real(frequency, "frequency")
    theta = as_real(theta, "theta", rule="finite")
    bandwidth = as_real(bandwidth, "bandwidth")
    n_stds = as_real(n_stds, "n_stds")
    offset = as_real(offset, "offset", rule="finite")
    given = {"sigma_x": sigma_x, "sigma_y": sigma_y}
    sigma_x, sigma_y = gabor_sigmas(
        frequency,
        bandwidth,
        None if sigma_x is None else as_real(sigma_x, "sigma_x"),
        None if sigma_y is None else as_real(sigma_y, "sigma_y"),
    )
    params = _gabor_size_params(frequency, bandwidth, n_stds, **given)
    y0, x0 = gabor_half_size(theta, sigma_x, sigma_y, n_stds)
    check_kernel_size(2 * max(y0, x0) + 1, "a Gabor kernel", **params)
    # sigma ** 2 below: 0 or an OverflowError outside ~[1e-154, 1e154], which no kernel within
    # MAX_KERNEL_SIZE needs unless n_stds is absurd.
    if not (0 < sigma_x * sigma_x < math.inf and 0 < sigma_y * sigma_y < math.inf):
        names, got = describe_params(params)
        raise ValueError(
            f"{names} give Gaussian widths out of float64's range "
            f"(sigma_x={sigma_x:.3g}, sigma_y={sigma_y:.3g}; their squares must be positive and "
            f"finite); got {got}"
        )
    # Same operations, in the same order, as skimage.filters.gabor_kernel (0.26).
    ct = math.cos(theta)
    st = math.sin(theta)
    y, x = np.meshgrid(np.arange(-y0, y0 + 1), np.arange(-x0, x0 + 1), indexing="ij", sparse=True)
    rotx = x * ct + y * st
    roty = -x * st + y * ct
    g = np.empty(roty.shape, dtype=np.complex128)
    np.exp(-0.5 * (rotx**2 / sigma_x**2 + roty**2 / sigma_y**2) + 1j * (2 * np.pi * frequency * rotx + offset), out=g)
    g *= 1 / (2 * np.pi * sigma_x * sigma_y)
    return np.ascontiguousarray(g.real), np.ascontiguousarray(g.imag)


def _gabor_size_params(frequency, bandwidth, n_stds, *, sigma_x=None, sigma_y=None):
    """The parameters that set a Gabor kernel's size, for messages: the widths, or what gives them."""
    params = {"frequency": frequency} if sigma_x is None or sigma_y is None else {}
    if sigma_x is None or sigma_y is None:
        params["bandwidth"] = bandwidth
    params.update({k: v for k, v in (("sigma_x", sigma_x), ("sigma_y", sigma_y)) if v is not None})
    params["n_stds"] = n_stds
    return params
