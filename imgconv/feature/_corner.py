"""Hessian matrix, structure tensor, their eigenvalues and the shape index, as ``skimage.feature``.

Every convolution is a 1-D pass of the engine along one axis
(:mod:`imgconv._shared.ndpasses`), so N-D images (2-D and 3-D, as scikit-image)
are filtered exactly as scipy.ndimage filters them: axis 0 first, each pass
extending its own input by `mode`.  All the derivative orders of one call are
one bank: the passes they share run once, and the kernels of one pass on one
intermediate are one engine call.
"""

import math
import warnings
from collections.abc import Sequence
from itertools import combinations_with_replacement
from typing import Literal, SupportsIndex

import numpy as np
import numpy.typing as npt

from .._shared.blocks import blockwise
from .._shared.convert import as_float_image
from .._shared.modes import check_scipy_mode
from .._shared.ndpasses import fix_gradient_edges, gaussian_kernel1d, gaussian_passes, gradient_kernel, separable_bank
from .._threads import effective_num_threads
from .._typing import Bool, FloatArray, Real, RealSequence, ScipyMode
from .._validation import as_array, check_sigmas, show

__all__ = [
    "hessian_matrix",
    "hessian_matrix_det",
    "hessian_matrix_eigvals",
    "shape_index",
    "structure_tensor",
    "structure_tensor_eigenvalues",
]


def _check_order(order, ndim):
    if order not in ("rc", "xy"):
        raise ValueError(f"`order` must be one of ['rc', 'xy']; got {show(order)}")
    if ndim > 2 and order == "xy":
        raise ValueError(f"`order='xy'` is only supported for 2-D images; got a {ndim}-D image")


def _sigmas(sigma, ndim):
    """`sigma` as one float per image axis (a sequence has exactly `ndim` items, as scikit-image)."""
    return check_sigmas(sigma, ndim, per="image axis", broadcast=False)


def _float_image(image, name="image"):
    image = as_float_image(as_array(image, name), name=name)
    if image.ndim < 2:
        raise ValueError(f"`{name}` must have at least 2 dimensions; got shape {image.shape}")
    return np.ascontiguousarray(image)


def _gradient_bank(image, pairs, *, num_threads):
    """``np.gradient(np.gradient(image)[a0], axis=a1)`` for each pair, sharing passes: a list."""
    ndim = image.ndim
    diff = gradient_kernel()

    def kernel_of(axis, item):
        return diff if item else None

    firsts = sorted({a0 for a0, _ in pairs})
    grads = separable_bank(
        image,
        [tuple(int(a == a0) for a in range(ndim)) for a0 in firsts],
        kernel_of,
        mode="nearest",
        cval=0.0,
        num_threads=num_threads,
    )
    grads = {a0: fix_gradient_edges(grads[tuple(int(a == a0) for a in range(ndim))], a0) for a0 in firsts}
    out = {}
    for a0 in firsts:
        seconds = [a1 for b0, a1 in pairs if b0 == a0]
        second = separable_bank(
            grads[a0],
            [tuple(int(a == a1) for a in range(ndim)) for a1 in seconds],
            kernel_of,
            mode="nearest",
            cval=0.0,
            num_threads=num_threads,
        )
        for a1 in seconds:
            out[a0, a1] = fix_gradient_edges(second[tuple(int(a == a1) for a in range(ndim))], a1)
    return [out[p] for p in pairs]


def _hessian_gaussian_derivatives(image, sigmas, mode, cval, order, num_threads):
    """scikit-image's ``_hessian_matrix_with_gaussian``: two first-order Gaussian derivatives in a row."""
    ndim = image.ndim
    truncate = 8 if all(s > 1 for s in sigmas) else 100
    scaled = tuple(s / math.sqrt(2) for s in sigmas)
    radii = tuple(int(truncate * s + 0.5) for s in scaled)

    def kernel_of(axis, item):
        if scaled[axis] <= 1e-15:
            return None
        return gaussian_kernel1d(scaled[axis], item, radii[axis])

    units = [tuple(int(a == d) for a in range(ndim)) for d in range(ndim)]
    # symmetric taps paired as scipy pairs them: smoothing antisymmetric data gives exact zeros on its axis
    # of symmetry, so that Hrc and Hcr (the same passes in another order) agree, and flat regions stay flat
    # for the ridge filters, which normalise by the maximum
    # and each pass summed in float64, as scipy sums it: the ridge filters divide by the largest response
    # and compare eigenvalues with 0, so float32 sums of these long kernels changed them (frangi,
    # meijering and hessian of a 2048 x 2048 photograph were 4e-4, 1e-2 and 1 from scikit-image's)
    bank = dict(mode=mode, cval=cval, num_threads=num_threads, pair_symmetric=True, exact=True)
    grads = separable_bank(image, units, kernel_of, **bank)
    axes = range(ndim) if order == "rc" else reversed(range(ndim))
    pairs = list(combinations_with_replacement(axes, 2))
    out = {}
    for a0 in dict.fromkeys(a for a, _ in pairs):
        seconds = [units[a1] for b0, a1 in pairs if b0 == a0]
        out.update(
            {(a0, code.index(1)): y for code, y in separable_bank(grads[units[a0]], seconds, kernel_of, **bank).items()}
        )
    return [out[p] for p in pairs]


def gaussian_hessian(image, sigmas, mode, cval, order, use_gaussian_derivatives, num_threads):
    if use_gaussian_derivatives:
        return _hessian_gaussian_derivatives(image, sigmas, mode, cval, order, num_threads)
    smoothed = gaussian_passes(
        image[None], sigmas, (0,) * image.ndim, mode=mode, cval=cval, truncate=4.0, num_threads=num_threads, exact=True
    )[0]
    axes = range(image.ndim) if order == "rc" else reversed(range(image.ndim))
    return _gradient_bank(smoothed, list(combinations_with_replacement(axes, 2)), num_threads=num_threads)


def hessian_matrix(
    image: npt.ArrayLike,
    sigma: RealSequence = 1,
    mode: ScipyMode = "constant",
    cval: Real = 0,
    order: Literal["rc", "xy"] = "rc",
    use_gaussian_derivatives: Bool | None = None,
    *,
    num_threads: SupportsIndex | None = None,
) -> list[FloatArray]:
    """The Hessian matrix of an N-D image, as :func:`skimage.feature.hessian_matrix`.

    Parameters
    ----------
    image : ndarray, 2-D or more
        Integer images are converted to float as :mod:`imgconv.filters` does
        (float32 up to 16 bits; scikit-image converts them to float64).
    sigma : float or sequence of float, default 1
        Standard deviation of the Gaussian, per axis.
    mode : {'constant', 'reflect', 'wrap', 'nearest', 'mirror', 'grid-constant', 'grid-mirror', 'grid-wrap'}
        Border extension (default 'constant').
    cval : float, default 0
        Value outside the image for ``mode='constant'``.
    order : {'rc', 'xy'}, default 'rc'
        Axis order of the elements ('xy' only for 2-D images).
    use_gaussian_derivatives : bool, optional
        True: convolve with Gaussian derivatives (two first-order passes of
        ``sigma / sqrt(2)``, as scikit-image); False: finite differences
        (``np.gradient``) of the Gaussian-smoothed image.  None: False, with
        scikit-image's FutureWarning.
    num_threads : int, optional, keyword-only
        Engine threads; None uses :func:`imgconv.get_num_threads`.

    Returns
    -------
    H_elems : list of ndarray
        The upper-diagonal elements ``[Hrr, Hrc, Hcc]`` in 2-D, ``ndim (ndim + 1) / 2`` arrays in N-D.

    Raises
    ------
    TypeError, ValueError
        Bad `image`, `sigma`, `mode` or `order`.

    See Also
    --------
    skimage.feature.hessian_matrix, hessian_matrix_eigvals

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import hessian_matrix
    >>> square = np.zeros((5, 5)); square[2, 2] = 4
    >>> Hrr, Hrc, Hcc = hessian_matrix(square, sigma=0.1, use_gaussian_derivatives=False)
    >>> Hrc
    array([[ 0.,  0.,  0.,  0.,  0.],
           [ 0.,  1.,  0., -1.,  0.],
           [ 0.,  0.,  0.,  0.,  0.],
           [ 0., -1.,  0.,  1.,  0.],
           [ 0.,  0.,  0.,  0.,  0.]])
    """
    image = _float_image(image)
    _check_order(order, image.ndim)
    check_scipy_mode(mode)
    sigmas = _sigmas(sigma, image.ndim)
    if use_gaussian_derivatives is None:
        use_gaussian_derivatives = False
        warnings.warn(
            "use_gaussian_derivatives currently defaults to False, but will change to True in a future "
            "version. Please specify this argument explicitly to maintain the current behavior",
            FutureWarning,
            stacklevel=2,
        )
    return gaussian_hessian(
        image, sigmas, mode, float(cval), order, bool(use_gaussian_derivatives), effective_num_threads(num_threads)
    )


def _symmetric_image(elems):
    image = elems[0]
    full = np.zeros(image.shape + (image.ndim, image.ndim), dtype=image.dtype)
    for idx, (row, col) in enumerate(combinations_with_replacement(range(image.ndim), 2)):
        full[..., row, col] = elems[idx]
        full[..., col, row] = elems[idx]
    return full


def _eigenvalues_2d(m00, m01, m11, eigs):
    # scikit-image's (m00 + m11) / 2 +- sqrt(m01**2 + ((m00 - m11) / 2)**2), the same roundings in the
    # same order (halving is exact), computed in place: one temporary instead of eight
    half_diff = np.subtract(m00, m11, out=eigs[1])
    half_diff *= 0.5
    np.square(half_diff, out=half_diff)
    hsqrtdet = np.square(m01, dtype=eigs.dtype)
    hsqrtdet += half_diff
    np.sqrt(hsqrtdet, out=hsqrtdet)
    mean = np.add(m00, m11, out=eigs[0])
    mean *= 0.5
    np.subtract(mean, hsqrtdet, out=eigs[1])
    mean += hsqrtdet


def symmetric_eigenvalues(elems, out=None, num_threads=None):
    """Eigenvalues, largest first, leading axis; scikit-image's explicit 2-D formula, ``eigvalsh`` in N-D.

    `out`: an array ``(ndim, *shape)`` of the result dtype to write them into (2-D: in place).
    `num_threads`: the 2-D formula runs in blocks of rows in that many threads (NumPy releases the
    GIL; element-wise, so any blocking gives the same values); None: :func:`imgconv.get_num_threads`.
    """
    if len(elems) == 3:
        m00, m01, m11 = (np.asarray(e) for e in elems)
        eigs = np.empty((2, *m00.shape), np.result_type(m00, m01, m11)) if out is None else out
        if m00.ndim == 0 or not (m00.shape == m01.shape == m11.shape):
            _eigenvalues_2d(m00, m01, m11, eigs)
            return eigs
        width = max(1, m00.size // max(1, len(m00)))
        blockwise(
            len(m00),
            effective_num_threads(num_threads),
            lambda rows: _eigenvalues_2d(m00[rows], m01[rows], m11[rows], eigs[:, rows]),
            block_rows=max(1, (1 << 15) // width),
        )
        return eigs
    eigs = np.linalg.eigvalsh(_symmetric_image(elems))[..., ::-1]
    eigs = np.transpose(eigs, (eigs.ndim - 1,) + tuple(range(eigs.ndim - 1)))
    if out is None:
        return eigs
    out[...] = eigs
    return out


def hessian_matrix_eigvals(H_elems: Sequence[np.ndarray], *, num_threads: SupportsIndex | None = None) -> np.ndarray:
    """Eigenvalues of the Hessian matrix, largest first, as :func:`skimage.feature.hessian_matrix_eigvals`.

    Parameters
    ----------
    H_elems : list of ndarray
        Upper-diagonal elements, as returned by :func:`hessian_matrix`.
    num_threads : int, optional, keyword-only
        Threads for the 2-D formula (row blocks; the values do not depend on it).

    Returns
    -------
    eigs : ndarray, shape ``(ndim, *image.shape)``

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import hessian_matrix, hessian_matrix_eigvals
    >>> square = np.zeros((5, 5)); square[2, 2] = 4
    >>> H = hessian_matrix(square, sigma=0.1, use_gaussian_derivatives=False)
    >>> hessian_matrix_eigvals(H)[0, 2]
    array([ 2.,  0., -2.,  0.,  2.])
    """
    return symmetric_eigenvalues(H_elems, num_threads=num_threads)


def structure_tensor_eigenvalues(
    A_elems: Sequence[np.ndarray], *, num_threads: SupportsIndex | None = None
) -> np.ndarray:
    """Eigenvalues of the structure tensor, largest first, as scikit-image.

    Parameters
    ----------
    A_elems : list of ndarray
        Upper-diagonal elements, as returned by :func:`structure_tensor`.
    num_threads : int, optional, keyword-only
        Threads for the 2-D formula (row blocks; the values do not depend on it).

    Returns
    -------
    eigs : ndarray, shape ``(ndim, *image.shape)``

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import structure_tensor, structure_tensor_eigenvalues
    >>> square = np.zeros((5, 5)); square[2, 2] = 1
    >>> structure_tensor_eigenvalues(structure_tensor(square, sigma=0.1))[0, 1]
    array([0., 2., 4., 2., 0.])
    """
    return symmetric_eigenvalues(A_elems, num_threads=num_threads)


def hessian_matrix_det(
    image: npt.ArrayLike, sigma: RealSequence = 1, approximate: Bool = True, *, num_threads: SupportsIndex | None = None
) -> FloatArray:
    """Determinant of the Hessian matrix, as :func:`skimage.feature.hessian_matrix_det`.

    Parameters
    ----------
    image : ndarray, 2-D or more
    sigma : float, default 1
    approximate : bool, default True
        For a 2-D image, SURF's approximation [1]_ from box sums over the
        integral image, whose cost does not depend on `sigma` (scikit-image's
        rule: not close to the exact determinant below ``sigma = 3``).  No
        effect on 3-D and higher images.
    num_threads : int, optional, keyword-only

    Returns
    -------
    det : ndarray, float64 for the approximation
        Else ``det`` of the finite-difference Hessian of the Gaussian-smoothed
        image (``mode='constant'``).

    Notes
    -----
    The approximation reads window sums off the integral image (four lookups
    a window, eight windows a pixel), with scikit-image's clamping of each
    window to the image and of each sum to at least 0; it is no convolution,
    so it runs as NumPy gathers here rather than in the engine.

    References
    ----------
    .. [1] H. Bay, A. Ess, T. Tuytelaars and L. Van Gool, "SURF: Speeded Up
           Robust Features", Computer Vision and Image Understanding 110(3):
           346-359, 2008.
    """
    image = _float_image(image)
    if image.ndim == 2 and approximate:
        sigmas = _sigmas(sigma, 2)
        if sigmas[0] != sigmas[1] or int(3 * sigmas[0]) < 1:
            raise ValueError(
                "`sigma` must be one number of at least 1/3 for approximate=True (its boxes are int(3 * sigma) "
                f"pixels wide); got {show(sigma)}"
            )
        with np.errstate(invalid="ignore"):  # NaN pixels: NaN sums read as 0, quietly, as in scikit-image
            return _surf_determinant(image, sigmas[0], effective_num_threads(num_threads))
    elems = gaussian_hessian(
        image, _sigmas(sigma, image.ndim), "constant", 0.0, "rc", False, effective_num_threads(num_threads)
    )
    return np.linalg.det(_symmetric_image(elems))


def _integral_image(image, num_threads):
    """``image.cumsum(axis=0).cumsum(axis=1)`` in float64 (scikit-image's ``integral_image``), bit for bit.

    The same additions in the same order: row ``i`` is row ``i - 1`` plus the pixels of row ``i``,
    then each row's prefix sums.  NumPy's ``cumsum`` along axis 0 of a C-ordered image was 7x slower
    than one vector add per row (73 ms against 10 ms at 2048 x 2048); the rows' prefix sums run in threads.
    """
    integral = image.astype(np.float64)
    for i in range(1, len(integral)):
        np.add(integral[i - 1], integral[i], out=integral[i])
    blockwise(len(integral), num_threads, lambda rows: np.cumsum(integral[rows], axis=1, out=integral[rows]))
    return integral


def _surf_determinant(image, sigma, num_threads):
    """SURF's box-filter determinant of the Hessian of a 2-D image (scikit-image's ``approximate=True``).

    Each of the eight window sums per pixel reads four corners of the integral
    image, clamped into it -- the far corner from the clamped near one, as
    scikit-image clamps them.  Wherever the near corner needs no clamp, the far
    one is the integral image extended by its edge values (``numpy.pad`` 'edge')
    at a fixed offset, so every corner is a shifted slice of that extension
    (no gather); only the few rows and columns whose near corners do need a
    clamp are computed again from gathered corners.  Same sums in the same
    order either way: equal to scikit-image's bit for bit.
    """
    integral = _integral_image(image, num_threads)
    height, width = integral.shape
    size = int(3 * sigma)
    s2, s3 = (size - 1) // 2, size // 3
    inverse_area = 1.0 / size / size
    # (row offset, column offset, rows, columns) of the near corner and the window of each sum
    xy = [(-s3, 1, s3, s3), (1, -s3, s3, s3), (-s3, -s3, s3, s3), (1, 1, s3, s3)]
    xx = [(-s3 + 1, -s2, 2 * s3 - 1, size), (-s3 + 1, -(s3 // 2), 2 * s3 - 1, s3)]
    yy = [(-s2, -s3 + 1, size, 2 * s3 - 1), (-(s3 // 2), -s3 + 1, s3, 2 * s3 - 1)]
    windows = xy + xx + yy
    pad = 1 + max(max(abs(dr), abs(dr + nr), abs(dc), abs(dc + nc)) for dr, dc, nr, nc in windows)

    def determinant(corners):
        def window(w):
            near, far, near_row_far_col, far_row_near_col = corners(*w)
            total = near + far - near_row_far_col - far_row_near_col
            return np.where(total > 0.0, total, 0.0)

        dxy = -(window(xy[0]) + window(xy[1]) - window(xy[2]) - window(xy[3])) * inverse_area
        dxx = -(window(xx[0]) - 3 * window(xx[1])) * inverse_area
        dyy = -(window(yy[0]) - 3 * window(yy[1])) * inverse_area
        return dxx * dyy - 0.81 * (dxy * dxy)

    det = np.empty((height, width), np.float64)
    extended = np.pad(integral, pad, mode="edge")  # integral[clip(i), clip(j)] == extended[i + pad, j + pad]

    def block(rows):
        def sliced(dr, dc, nr, nc):
            near_rows = slice(pad + rows.start + dr, pad + rows.stop + dr)
            far_rows = slice(pad + rows.start + dr + nr, pad + rows.stop + dr + nr)
            near_cols, far_cols = slice(pad + dc, pad + dc + width), slice(pad + dc + nc, pad + dc + nc + width)
            return (
                extended[near_rows, near_cols],
                extended[far_rows, far_cols],
                extended[near_rows, far_cols],
                extended[far_rows, near_cols],
            )

        with np.errstate(invalid="ignore"):  # per thread: NaN sums read as 0, quietly
            det[rows] = determinant(sliced)

    # in blocks of rows, so that the temporaries are small and reused from block to block, in threads
    blockwise(height, num_threads, block, block_rows=max(1, (1 << 16) // max(1, width)))

    def gathered(rows, cols):
        def corners(dr, dc, nr, nc):
            r, c = np.clip(rows + dr, 0, height - 1), np.clip(cols + dc, 0, width - 1)
            r2, c2 = np.clip(r + nr, 0, height - 1), np.clip(c + nc, 0, width - 1)
            return integral[np.ix_(r, c)], integral[np.ix_(r2, c2)], integral[np.ix_(r, c2)], integral[np.ix_(r2, c)]

        return corners

    def clamped(n, offsets):
        # the indices i whose near corner i + d leaves [0, n) for some offset d
        low, high = max(0, -min(offsets)), max(0, max(offsets))
        return np.union1d(np.arange(min(low, n)), np.arange(max(0, n - high), n))

    edge_rows = clamped(height, [w[0] for w in windows])
    edge_cols = clamped(width, [w[1] for w in windows])
    if edge_rows.size:
        det[edge_rows] = determinant(gathered(edge_rows, np.arange(width)))
    if edge_cols.size:
        det[:, edge_cols] = determinant(gathered(np.arange(height), edge_cols))
    return det


def sobel_bank(image, *, mode, cval, num_threads, scipy_weights=True):
    """scipy.ndimage.sobel along every axis: ``[-1, 0, 1]`` along it, ``[1, 2, 1]`` along the others.

    ``scipy_weights=False``: scikit-image's ``[1, 2, 1] / 4`` smoothing (``skimage.filters.sobel``).
    """
    ndim = image.ndim
    edge = np.array([-1.0, 0.0, 1.0])
    smooth = np.array([1.0, 2.0, 1.0]) if scipy_weights else np.array([1.0, 2.0, 1.0]) / 4

    def kernel_of(axis, item):
        return edge if item else smooth

    codes = [tuple(int(a == d) for a in range(ndim)) for d in range(ndim)]
    out = separable_bank(image, codes, kernel_of, mode=mode, cval=cval, num_threads=num_threads)
    return [out[c] for c in codes]


def structure_tensor(
    image: npt.ArrayLike,
    sigma: RealSequence = 1,
    mode: ScipyMode = "constant",
    cval: Real = 0,
    order: Literal["rc", "xy"] = "rc",
    *,
    num_threads: SupportsIndex | None = None,
) -> list[FloatArray]:
    """The structure tensor of an N-D image, as :func:`skimage.feature.structure_tensor`.

    Parameters
    ----------
    image : ndarray, 2-D or more (squeezed)
    sigma : float or sequence of float, default 1
        Standard deviation of the Gaussian window, per axis.
    mode : str, default 'constant'
    cval : float, default 0
    order : {'rc', 'xy'}, default 'rc'
    num_threads : int, optional, keyword-only

    Returns
    -------
    A_elems : list of ndarray
        Upper-diagonal elements ``[Arr, Arc, Acc]`` (2-D).

    Raises
    ------
    TypeError, ValueError
        Bad `image`, `sigma`, `mode` or `order`.

    Notes
    -----
    The derivatives are scipy's Sobel (``[-1, 0, 1]`` and ``[1, 2, 1]``, one
    bank per axis), their products are smoothed by Gaussian passes
    (``truncate=4``).

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import structure_tensor
    >>> square = np.zeros((5, 5)); square[2, 2] = 1
    >>> structure_tensor(square, sigma=0.1)[2][2]
    array([0., 4., 0., 4., 0.])
    """
    image = np.squeeze(as_array(image, "image"))
    if order not in ("rc", "xy"):
        raise ValueError(f"`order` must be one of ['rc', 'xy']; got {show(order)}")
    if order == "xy" and image.ndim > 2:
        raise ValueError(f"`order='xy'` is only supported for 2-D images; got a {image.ndim}-D image")
    sigmas = _sigmas(sigma, image.ndim)
    image = _float_image(image)
    check_scipy_mode(mode)
    threads = effective_num_threads(num_threads)
    derivatives = sobel_bank(image, mode=mode, cval=float(cval), num_threads=threads)
    if order == "xy":
        derivatives = derivatives[::-1]
    products = np.stack([d0 * d1 for d0, d1 in combinations_with_replacement(derivatives, 2)])
    smoothed = gaussian_passes(
        products, sigmas, (0,) * image.ndim, mode=mode, cval=float(cval), truncate=4.0, num_threads=threads
    )
    return list(smoothed)


def shape_index(
    image: npt.ArrayLike,
    sigma: RealSequence = 1,
    mode: ScipyMode = "constant",
    cval: Real = 0,
    *,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """The shape index of Koenderink and van Doorn, as :func:`skimage.feature.shape_index`.

    Parameters
    ----------
    image : ndarray, (H, W)
    sigma : float, default 1
    mode : str, default 'constant'
    cval : float, default 0
    num_threads : int, optional, keyword-only

    Returns
    -------
    s : ndarray
        ``(2 / pi) arctan((l2 + l1) / (l2 - l1))`` of the Hessian eigenvalues
        ``l1 >= l2``; NaN where the image is flat.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import shape_index
    >>> square = np.zeros((5, 5)); square[2, 2] = 4
    >>> shape_index(square, sigma=0.1)[2]
    array([-0.5,  nan, -1. ,  nan, -0.5])
    """
    H = hessian_matrix(
        image, sigma=sigma, mode=mode, cval=cval, order="rc", use_gaussian_derivatives=False, num_threads=num_threads
    )
    l1, l2 = hessian_matrix_eigvals(H, num_threads=num_threads)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (2.0 / np.pi) * np.arctan((l2 + l1) / (l2 - l1))
