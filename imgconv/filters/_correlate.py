"""correlate and convolve (scipy.ndimage's), and the engine call every filter of the package makes."""

from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from .. import _engine
from .._shared.convert import compute_dtype
from .._shared.geometry import check_origin_fits, extent, scipy_pads
from .._shared.layout import ChannelLayout
from .._shared.modes import check_scipy_mode
from .._threads import effective_num_threads
from .._typing import FloatArray, Int, IntPair, Method, Real, ScipyMode, ScipyOutput
from .._validation import as_array as _as_array
from .._validation import as_cval, as_origin, as_pair
from .._validation import show as _show

__all__ = ["convolve", "correlate", "correlate_stack"]


def correlate_stack(x, stack, *, mode, cval, dilation, num_threads, origin=(0, 0), scale=1.0, out=None, method="auto"):
    """Correlate the ``(C, 1, H, W)`` batch with every kernel of ``stack`` (O, kh, kw): ``(C, O, H, W)``.

    The result is that of the batch ``x * scale`` (the engine's `scale`: how
    uint8/uint16 pixels are read as stored, ``ChannelLayout.pixels`` /
    ``ChannelLayout.scale``).  `out`: an array for the engine to fill (see
    ``ChannelLayout.engine_out``).  Pads put scipy's anchor on the output
    (:func:`imgconv._shared.geometry.scipy_pads`; even kernels reach one more
    pixel up/left, unlike torch 'same' in :func:`apply_bank`).
    """
    stack = np.asarray(stack)
    weight = np.ascontiguousarray(stack[:, None], dtype=compute_dtype(x))
    return _engine.correlate(
        x,
        weight,
        pads=scipy_pads(stack.shape[1:], dilation, origin),
        mode=mode,
        cval=cval,
        dilation=dilation,
        out=out,
        num_threads=num_threads,
        scale=scale,
        method=method,
    )


def _check_weights(weights):
    weights = _as_array(weights, "weights")
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"`weights` must be a real-valued array; got dtype {weights.dtype}")
    if weights.ndim != 2:
        raise ValueError(
            f"`weights` must be a 2-D array (kh, kw); got a {weights.ndim}-D array of shape {weights.shape}"
        )
    if weights.size == 0:
        raise ValueError(f"`weights` must not be empty; got shape {weights.shape}")
    return weights.astype(np.float64)


def _finish_output(result, output):
    """scipy's `output` argument: None, a float dtype, or an array to fill (and return)."""
    if output is None:
        return result
    if isinstance(output, np.ndarray):
        if output.shape != result.shape:
            raise ValueError(f"`output` must have the shape of the image {result.shape}; got {output.shape}")
        if output.dtype.kind != "f":
            raise TypeError(f"`output` must be a float32 or float64 array; got dtype {output.dtype}")
        output[...] = result
        return output
    try:
        dtype = np.dtype(output)
    except TypeError:
        raise TypeError(f"`output` must be None, a float dtype or an ndarray; got {_show(output)}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"`output` must be None, float32, float64 or an ndarray; got dtype {dtype}")
    return result.astype(dtype, copy=False)


def _correlate_or_convolve(
    input, weights, output, mode, cval, origin, dilation, channel_axis, num_threads, convolution, method="auto"
):
    _engine.check_method(method)
    layout = ChannelLayout(input, channel_axis)
    weights = _check_weights(weights)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    origin = as_origin(origin)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    shape = weights.shape
    if convolution:
        # scipy.ndimage.convolve: flip the kernel, negate the origin, and move the
        # anchor by one along axes whose (zero-inserted) extent is even.
        weights = weights[::-1, ::-1]
    check_origin_fits(origin, shape, dilation)
    if convolution:
        origin = tuple(-o - (1 - extent(k, d) % 2) for o, k, d in zip(origin, shape, dilation))
    direct = layout.engine_out(output)
    y = correlate_stack(
        layout.pixels,
        weights[None],
        mode=engine_mode,
        cval=cval,
        dilation=dilation,
        num_threads=threads,
        origin=origin,
        scale=layout.scale,
        out=direct,
        method=method,
    )
    return output if direct is not None else _finish_output(layout.restore(y[:, 0]), output)


def correlate(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    origin: IntPair = 0,
    *,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
    method: Method = "auto",
) -> FloatArray:
    """Multidimensional correlation of a 2-D (or multichannel) image, as scipy.ndimage.

    Parameters
    ----------
    input : ndarray, shape (H, W), or 3-D with a channel axis
        bool, integer or float image (integers are scaled to [0, 1] / [-1, 1],
        see the module notes).
    weights : array_like, shape (kh, kw)
        Correlation kernel (not flipped), any size, even sizes included.
    output : ndarray or dtype, optional
        Array of the image's shape to fill (float32 or float64), or the float
        dtype of the result.  Default: the compute dtype.
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'}
        Border extension (scipy names, default 'reflect'); see the module notes.
    cval : float, default 0.0
        Value outside the image for ``mode='constant'``.
    origin : int or (int, int), default 0
        Shift of the kernel anchor, as scipy: the anchor is ``K // 2 + origin``
        along each axis, with ``K = d (k - 1) + 1`` the dilated extent.
    dilation : int or (int, int), default 1, keyword-only
        Spacing of the kernel taps.
    channel_axis : int, optional, keyword-only
        Axis of `input` holding channels (each correlated with `weights`);
        None: `input` is 2-D.
    num_threads : int, optional, keyword-only
        Engine threads; None uses :func:`imgconv.get_num_threads`.
    method : {'auto', 'direct', 'fft'}, default 'auto', keyword-only
        Algorithm (``scipy.signal.convolve``'s convention); 'auto' lets the
        engine's planner choose, see :func:`imgconv.choose_method`.

    Returns
    -------
    result : ndarray
        Same shape as `input`; float32 or float64 (or `output`).

    Raises
    ------
    TypeError
        Non-real `input` or `weights`, non-int `origin` / `dilation`, unknown
        type of `mode`, `cval` or `output`.
    ValueError
        `weights` not 2-D or empty, `input` not 2-D (without `channel_axis`)
        or 3-D (with it), `channel_axis` out of range, unknown `mode`, `origin`
        out of range, `dilation` < 1, `output` of the wrong shape.

    See Also
    --------
    scipy.ndimage.correlate, convolve

    Notes
    -----
    ``result[i, j] = sum_{u, v} weights[u, v] * ext[i + u*dh - ah, j + v*dw - aw]``
    with anchor ``a = K // 2 + origin`` per axis and ``ext`` the image extended
    by `mode`.  At dilation ``d`` this equals :func:`scipy.ndimage.correlate`
    with the kernel zero-inserted (``d - 1`` zeros between taps) and the same
    `origin`.  Even kernels are anchored exactly as scipy anchors them (the
    extra tap before the centre), which differs from PyTorch's ``'same'``.

    Departures from scipy: integer images are converted to float (scipy keeps
    the input dtype and truncates); only 2-D kernels on 2-D images (plus a
    channel axis); scipy's ``axes`` argument and complex data are not
    supported.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> image = np.arange(9.0).reshape(3, 3)
    >>> filters.correlate(image, [[0, 0, 1]], mode="nearest")
    array([[1., 2., 2.],
           [4., 5., 5.],
           [7., 8., 8.]])
    >>> filters.correlate(np.eye(5), [[1, 0, 1]], mode="constant", dilation=2)[2]
    array([1., 0., 0., 0., 1.])
    """
    return _correlate_or_convolve(
        input,
        weights,
        output,
        mode,
        cval,
        origin,
        dilation,
        channel_axis,
        num_threads,
        convolution=False,
        method=method,
    )


def convolve(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    origin: IntPair = 0,
    *,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
    method: Method = "auto",
) -> FloatArray:
    """Multidimensional convolution of a 2-D (or multichannel) image, as scipy.ndimage.

    Parameters
    ----------
    input : ndarray, shape (H, W), or 3-D with a channel axis
    weights : array_like, shape (kh, kw)
        Convolution kernel (flipped before it is applied).
    output, mode, cval, origin, dilation, channel_axis, num_threads, method
        As for :func:`correlate`.

    Returns
    -------
    result : ndarray
        Same shape as `input`.

    Raises
    ------
    TypeError, ValueError
        As for :func:`correlate`.

    See Also
    --------
    scipy.ndimage.convolve, correlate

    Notes
    -----
    As scipy: ``convolve(x, w, origin=o)`` is ``correlate(x, w[::-1, ::-1],
    origin=-o - 1)`` along axes where the (dilated) kernel extent ``K`` is even,
    ``origin=-o`` where it is odd.  At dilation ``d`` the result equals
    :func:`scipy.ndimage.convolve` with the zero-inserted kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> image = np.arange(9.0).reshape(3, 3)
    >>> filters.convolve(image, [[0, 0, 1]], mode="nearest")
    array([[0., 0., 1.],
           [3., 3., 4.],
           [6., 6., 7.]])
    """
    return _correlate_or_convolve(
        input, weights, output, mode, cval, origin, dilation, channel_axis, num_threads, convolution=True, method=method
    )
