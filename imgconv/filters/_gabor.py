"""The Gabor filter: real and imaginary responses from one engine call."""

from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from .. import kernels as _kernels
from .._shared.layout import ChannelLayout
from .._shared.modes import check_scipy_mode
from .._threads import effective_num_threads
from .._typing import FloatArray, Int, IntPair, Real, ScipyMode
from .._validation import as_cval, as_pair
from ._correlate import correlate_stack

__all__ = ["gabor"]


def gabor(
    image: npt.ArrayLike,
    frequency: Real,
    theta: Real = 0,
    bandwidth: Real = 1,
    sigma_x: Real | None = None,
    sigma_y: Real | None = None,
    n_stds: Real = 3,
    offset: Real = 0,
    mode: ScipyMode = "reflect",
    cval: Real = 0,
    *,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Real and imaginary responses to a Gabor kernel, as :func:`skimage.filters.gabor`.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    frequency : float
        Spatial frequency of the harmonic, cycles per pixel.
    theta, bandwidth, sigma_x, sigma_y, n_stds, offset
        As for :func:`imgconv.kernels.gabor` / :func:`skimage.filters.gabor_kernel`.
    mode : str, default 'reflect'
        Border extension.
    cval : float, default 0
        Value outside the image for ``mode='constant'``.
    dilation, channel_axis, num_threads : keyword-only
        As for :func:`correlate`.

    Returns
    -------
    real, imag : ndarray
        Responses, each of the image's shape.

    Raises
    ------
    TypeError, ValueError
        Bad Gabor parameters (named by :func:`imgconv.kernels.gabor`) or any
        other parameter.

    See Also
    --------
    skimage.filters.gabor, imgconv.kernels.gabor, imgconv.banks.gabor

    Notes
    -----
    scikit-image *convolves* with the complex kernel; one engine call
    correlates with both parts rotated by 180 degrees, which is the same.
    scikit-image leaves integer images unconverted (uint8 in, truncated uint8
    out); imgconv converts them to float first (see the module notes), so the
    results equal ``skimage.filters.gabor(img_as_float(image), ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> real, imag = filters.gabor(np.ones((8, 8)), frequency=0.25)
    >>> real.shape, bool(np.allclose(imag, 0, atol=1e-6))
    ((8, 8), True)
    """
    layout = ChannelLayout(image, channel_axis)
    real, imag = _kernels.gabor(
        frequency, theta=theta, bandwidth=bandwidth, sigma_x=sigma_x, sigma_y=sigma_y, n_stds=n_stds, offset=offset
    )
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    stack = np.stack([real[::-1, ::-1], imag[::-1, ::-1]])
    y = correlate_stack(
        layout.pixels, stack, mode=engine_mode, cval=cval, dilation=dilation, num_threads=threads, scale=layout.scale
    )
    return layout.restore(y[:, 0]), layout.restore(y[:, 1])
