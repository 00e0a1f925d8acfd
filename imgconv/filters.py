"""Image filters with scikit-image's names, defaults and numbers, plus dilation.

Every function here has the signature and defaults of the scikit-image 0.26
function of the same name (:func:`correlate` / :func:`convolve`: of
:func:`scipy.ndimage.correlate` / :func:`scipy.ndimage.convolve`) and returns the
same values at ``dilation=1``, plus three keyword-only parameters:

``dilation``
    int or pair ``(dh, dw)``: the kernel taps are ``d`` pixels apart
    ("à trous" / atrous filtering).  The result equals the undilated function
    applied with the kernel zero-inserted (``d - 1`` zeros between taps), but
    costs no more than the undilated filter.
``channel_axis``
    None (default): the image is 2-D and both axes are spatial (a trailing
    axis of size 3 is never taken for colour).  An int: the image is 3-D and
    that axis holds channels, each filtered on its own.
``num_threads``
    Threads for the engine; None uses :func:`imgconv.get_num_threads`.

All arithmetic happens in :func:`imgconv._engine.correlate`; this module only
validates, converts, chooses pads and combines responses.

Notes
-----
*Border modes* use the scipy / scikit-image names and map to the engine through
:data:`imgconv._shared.modes.SCIPY_TO_ENGINE_MODE`:

=================================  ==========================================
mode                               extension of ``a b c d``
=================================  ==========================================
'reflect' (= 'grid-mirror')        ``c b a | a b c d | d c b`` (half-sample)
'mirror'                           ``d c b | a b c d | c b a`` (whole-sample)
'nearest'                          ``a a a | a b c d | d d d``
'wrap' (= 'grid-wrap')             ``b c d | a b c d | a b c``
'constant' (= 'grid-constant')     ``k k k | a b c d | k k k`` with ``k = cval``
=================================  ==========================================

Pads wider than the image repeat the reflection / wrapping (``numpy.pad``
semantics), which is what scipy.ndimage's *filters* do for every mode: in
filters scipy's ``'wrap'`` and ``'grid-wrap'`` agree for any width (they only
differ in scipy's interpolation functions such as ``ndimage.shift``), and so
do ``'constant'`` / ``'grid-constant'`` and ``'reflect'`` / ``'grid-mirror'``.
(scipy 1.17's N-D ``ndimage.correlate`` / ``convolve`` return wrong values in
``'reflect'`` mode once an extension reaches four times the axis length, e.g. a
17-tap kernel on a 2-pixel axis; its ``correlate1d`` and imgconv agree with
``numpy.pad``.)

*Compute dtype.* float64 images are filtered in float64; float32 and float16 images, bool
images and integer images of at most 16 bits in float32; wider integers in
float64.  Integers are scaled as :func:`skimage.util.img_as_float32` scales
them (uint8 255 -> 1.0, int16 -32768 -> -1.0).  scikit-image converts integer
images to float64 instead (``img_as_float``), so for uint8/uint16 input the
values agree with scikit-image to float32 rounding (about 1e-7 relative) and
the result is float32 where scikit-image returns float64.  ``cval`` is in the
units of the converted image (1.0 is white for uint8).  uint8 and uint16 images
are not copied to float: the engine reads the stored pixels and the scaling
goes into the kernel weights, which agrees with filtering the converted image
to float32 rounding.
"""

import numpy as np

from . import _engine
from . import kernels as _kernels
from ._shared.blocks import blockwise
from ._shared.convert import compute_dtype
from ._shared.geometry import check_origin_fits, extent, gaussian_radius, scipy_pads
from ._shared.layout import ChannelLayout
from ._shared.modes import SCIPY_MODES, check_scipy_mode
from ._shared.passes import correlate_1d_passes
from ._threads import effective_num_threads
from ._validation import as_array as _as_array
from ._validation import as_cval, as_origin, as_pair, check_kernel_size, check_positive_real, check_sigma_pair
from ._validation import is_int as _is_int
from ._validation import show as _show

__all__ = [
    "MODES",
    "apply_bank",
    "convolve",
    "correlate",
    "difference_of_gaussians",
    "gabor",
    "gaussian",
    "laplace",
    "prewitt",
    "prewitt_h",
    "prewitt_v",
    "scharr",
    "scharr_h",
    "scharr_v",
    "sobel",
    "sobel_h",
    "sobel_v",
]

#: Border modes accepted by every function (scipy.ndimage names, sorted;
#: :data:`imgconv._shared.modes.SCIPY_MODES`).
MODES = SCIPY_MODES


# --------------------------------------------------------------------------------------
# validation (the shared checkers live in imgconv._validation and imgconv._shared)
# --------------------------------------------------------------------------------------

def _check_mask(mask, spatial_shape):
    if mask is None:
        return None
    mask = _as_array(mask, "mask")
    if mask.shape != tuple(spatial_shape):
        raise ValueError(f"`mask` must have the spatial shape of the image {tuple(spatial_shape)}; "
                         f"got shape {mask.shape}")
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"`mask` must be a boolean (or numeric) array; got dtype {mask.dtype}")
    return mask.astype(bool)


def _apply_mask(result, mask, dilation, num_threads):
    """skimage's ``_mask_filter_result`` with the footprint of a dilated 3x3 kernel.

    The mask is eroded (outside the image counts as masked) by the taps of a
    3x3 kernel ``dilation`` pixels apart -- at dilation 1 scikit-image's full
    3x3 structure, ``binary_erosion(mask, ones((3, 3)), border_value=0)`` --
    so that no output keeps a value computed from a masked pixel; masked
    outputs are set to 0.  `result` is ``(C, H, W)``.  The erosion counts the
    masked pixels under the taps with one engine call (exact in float32).
    """
    if mask is None:
        return result
    holes = np.logical_not(mask).astype(np.float32)[None, None]
    counts = _engine.correlate(holes, np.ones((1, 1, 3, 3), np.float32), pads=scipy_pads((3, 3), dilation),
                               mode="constant", cval=1.0, dilation=dilation, num_threads=num_threads)
    result *= counts[0, 0] == 0
    return result


# --------------------------------------------------------------------------------------
# engine calls
# --------------------------------------------------------------------------------------

def _correlate_stack(x, stack, *, mode, cval, dilation, num_threads, origin=(0, 0), scale=1.0, out=None,
                     method="auto"):
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
    return _engine.correlate(x, weight, pads=scipy_pads(stack.shape[1:], dilation, origin), mode=mode,
                             cval=cval, dilation=dilation, out=out, num_threads=num_threads, scale=scale,
                             method=method)


def _gaussian_1d(sigma, truncate):
    """scipy.ndimage's normalised 1-D Gaussian: radius ``int(truncate * sigma + 0.5)``."""
    radius = gaussian_radius(sigma, truncate)
    # refused before anything is allocated: a tiny job never asks for a huge kernel
    check_kernel_size(2 * radius + 1, "a Gaussian kernel", sigma=sigma, truncate=truncate)
    if radius == 0:  # also sigma -> 0, where the formula below is 0/0
        return np.ones(1)
    t = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * t ** 2)
    return phi / phi.sum()


# --------------------------------------------------------------------------------------
# correlate / convolve
# --------------------------------------------------------------------------------------

def _check_weights(weights):
    weights = _as_array(weights, "weights")
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"`weights` must be a real-valued array; got dtype {weights.dtype}")
    if weights.ndim != 2:
        raise ValueError(f"`weights` must be a 2-D array (kh, kw); got a {weights.ndim}-D array of shape "
                         f"{weights.shape}")
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


def _correlate_or_convolve(input, weights, output, mode, cval, origin, dilation, channel_axis, num_threads,
                           convolution, method="auto"):
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
    y = _correlate_stack(layout.pixels, weights[None], mode=engine_mode, cval=cval, dilation=dilation,
                         num_threads=threads, origin=origin, scale=layout.scale, out=direct, method=method)
    return output if direct is not None else _finish_output(layout.restore(y[:, 0]), output)


def correlate(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, dilation=1,
              channel_axis=None, num_threads=None, method="auto"):
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
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, dilation, channel_axis,
                                  num_threads, convolution=False, method=method)


def convolve(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, dilation=1,
             channel_axis=None, num_threads=None, method="auto"):
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
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, dilation, channel_axis,
                                  num_threads, convolution=True, method=method)


# --------------------------------------------------------------------------------------
# edge filters
# --------------------------------------------------------------------------------------

def _magnitude(responses, num_threads):
    """``sqrt(sum r**2) / sqrt(2)`` in place in ``responses[0]`` (all ``(C, H, W)`` arrays we own)."""
    acc = responses[0]
    root2 = np.sqrt(2, dtype=acc.dtype)

    def work(rows):
        a = acc[:, rows]
        np.multiply(a, a, out=a)
        for r in responses[1:]:
            b = r[:, rows]
            np.multiply(b, b, out=b)
            np.add(a, b, out=a)
        np.sqrt(a, out=a)
        np.divide(a, root2, out=a)

    blockwise(acc.shape[1], num_threads, work)
    return acc


_EDGE_KERNELS = {
    "sobel": (_kernels.sobel_h, _kernels.sobel_v),
    "scharr": (_kernels.scharr_h, _kernels.scharr_v),
    "prewitt": (_kernels.prewitt_h, _kernels.prewitt_v),
}


def _edge_filter(name, image, mask, axis, mode, cval, dilation, channel_axis, num_threads, spatial_axes=None):
    layout = ChannelLayout(image, channel_axis)
    if spatial_axes is not None:
        axes = spatial_axes
    elif axis is None:
        axes = [0, 1]
    elif _is_int(axis):
        axes = [layout.spatial_axis(axis)]
    elif isinstance(axis, (tuple, list, np.ndarray)):
        items = np.asarray(axis).ravel().tolist() if isinstance(axis, np.ndarray) else list(axis)
        if not items:
            raise ValueError(f"`axis` must name at least one axis; got {_show(axis)}")
        axes = [layout.spatial_axis(a) for a in items]
    else:
        raise TypeError(f"`axis` must be None, an int or a sequence of ints; got {_show(axis)} of type "
                        f"{type(axis).__name__}")
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    mask = _check_mask(mask, layout.spatial_shape)

    # One engine call per kernel, so that the result owns exactly its memory.
    responses = {}
    for a in dict.fromkeys(axes):
        kernel = _EDGE_KERNELS[name][a]()[None]
        responses[a] = _correlate_stack(layout.pixels, kernel, mode=engine_mode, cval=cval, dilation=dilation,
                                        num_threads=threads, scale=layout.scale)[:, 0]
    if len(axes) == 1:
        result = responses[axes[0]]
    elif len(set(axes)) == len(axes):
        result = _magnitude([responses[a] for a in axes], threads)
    else:
        # Repeated axes (skimage adds the repeated squares): plain NumPy.
        result = np.zeros_like(responses[axes[0]])
        for a in axes:
            result += responses[a] * responses[a]
        result = np.sqrt(result, out=result)
        result /= np.sqrt(2, dtype=result.dtype)
    result = _apply_mask(np.ascontiguousarray(result), mask, dilation, threads)
    return layout.restore(result)


def sobel(image, mask=None, *, axis=None, mode="reflect", cval=0.0, dilation=1, channel_axis=None,
          num_threads=None):
    """Find edges in an image using the Sobel filter, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
        bool, integer or float image.
    mask : ndarray of bool, shape (H, W), optional
        Outputs outside the mask, and those whose kernel footprint touches a
        masked pixel or the image border, are set to 0 (see Notes).
    axis : int or sequence of int, optional, keyword-only
        Image axis along which to differentiate (negative values allowed; not
        the channel axis).  None (default), or a sequence of more than one
        axis: the edge magnitude (see Notes).
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'}
        Border extension, default 'reflect'; keyword-only.
    cval : float, default 0.0, keyword-only
        Value outside the image for ``mode='constant'``.
    dilation : int or (int, int), default 1, keyword-only
        Spacing of the kernel taps.
    channel_axis : int, optional, keyword-only
        Channel axis of a multichannel image; each channel is filtered on its
        own (scikit-image applied to each channel).  None: `image` is 2-D.
    num_threads : int, optional, keyword-only
        Engine threads; None uses :func:`imgconv.get_num_threads`.

    Returns
    -------
    output : ndarray
        The Sobel edge map, shape of `image`, float32 or float64 (see the
        module notes).

    Raises
    ------
    TypeError, ValueError
        Bad `image`, `axis`, `mode`, `cval`, `dilation`, `channel_axis`,
        `num_threads`, or a `mask` of the wrong shape; the message names the
        parameter and repeats the value.

    See Also
    --------
    skimage.filters.sobel, sobel_h, sobel_v, scharr, prewitt

    Notes
    -----
    The derivative along rows correlates with :func:`imgconv.kernels.sobel_h`
    (``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]] / 4``, scikit-image's
    ``HSOBEL_WEIGHTS`` rotated by 180 degrees because scikit-image convolves),
    along columns with :func:`imgconv.kernels.sobel_v`; both come from one
    engine call.  The magnitude is computed as scikit-image 0.26 computes it::

        sqrt(sum(response_a ** 2 for a in axes)) / sqrt(2)

    -- the divisor is the square root of the number of spatial axes, however
    many axes are listed.  With a mask, the mask is eroded by the kernel's tap
    footprint (the 3x3 block at dilation 1, as scikit-image; its taps ``d``
    apart at dilation ``d``), pixels outside the image counting as masked, and
    the result is multiplied by it.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> step = np.zeros((5, 5)); step[:, 3:] = 1
    >>> filters.sobel(step, axis=1)[2]
    array([0., 0., 1., 1., 0.])
    >>> filters.sobel(step)[2].round(4)
    array([0.    , 0.    , 0.7071, 0.7071, 0.    ])
    """
    return _edge_filter("sobel", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


def sobel_h(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    """Find the horizontal edges of an image using the Sobel kernel, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel` (scikit-image's ``sobel_h`` has no `mode`; its
        border is 'reflect', the default here).

    Returns
    -------
    output : ndarray
        Derivative along rows: positive where intensity increases downwards.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.sobel_h, sobel, imgconv.kernels.sobel_h

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> ramp = np.repeat(np.arange(4.0)[:, None], 3, axis=1)
    >>> filters.sobel_h(ramp)[:, 1]
    array([1., 2., 2., 1.])
    """
    return _edge_filter("sobel", image, mask, None, mode, cval, dilation, channel_axis, num_threads,
                        spatial_axes=[0])


def sobel_v(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    """Find the vertical edges of an image using the Sobel kernel, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        Derivative along columns: positive where intensity increases to the right.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.sobel_v, sobel, imgconv.kernels.sobel_v

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> ramp = np.repeat(np.arange(4.0)[None, :], 3, axis=0)
    >>> filters.sobel_v(ramp)[1]
    array([1., 2., 2., 1.])
    """
    return _edge_filter("sobel", image, mask, None, mode, cval, dilation, channel_axis, num_threads,
                        spatial_axes=[1])


def scharr(image, mask=None, *, axis=None, mode="reflect", cval=0.0, dilation=1, channel_axis=None,
           num_threads=None):
    """Find edges in an image using the Scharr filter, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    axis : int or sequence of int, optional, keyword-only
        As for :func:`sobel`; None gives the magnitude.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        The Scharr edge map, shape of `image`.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.scharr, scharr_h, scharr_v, sobel

    Notes
    -----
    Kernels :func:`imgconv.kernels.scharr_h` (``[[-3, -10, -3], [0, 0, 0],
    [3, 10, 3]] / 16``) and :func:`imgconv.kernels.scharr_v`; magnitude and
    mask as for :func:`sobel`.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> step = np.zeros((5, 5)); step[:, 3:] = 1
    >>> filters.scharr(step, axis=1)[2]
    array([0., 0., 1., 1., 0.])
    """
    return _edge_filter("scharr", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


def scharr_h(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    """Find the horizontal edges of an image using the Scharr kernel, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        Derivative along rows: positive where intensity increases downwards.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.scharr_h, scharr, imgconv.kernels.scharr_h

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> ramp = np.repeat(np.arange(4.0)[:, None], 3, axis=1)
    >>> filters.scharr_h(ramp)[:, 1]
    array([1., 2., 2., 1.])
    """
    return _edge_filter("scharr", image, mask, None, mode, cval, dilation, channel_axis, num_threads,
                        spatial_axes=[0])


def scharr_v(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    """Find the vertical edges of an image using the Scharr kernel, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        Derivative along columns: positive where intensity increases to the right.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.scharr_v, scharr, imgconv.kernels.scharr_v

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> ramp = np.repeat(np.arange(4.0)[None, :], 3, axis=0)
    >>> filters.scharr_v(ramp)[1]
    array([1., 2., 2., 1.])
    """
    return _edge_filter("scharr", image, mask, None, mode, cval, dilation, channel_axis, num_threads,
                        spatial_axes=[1])


def prewitt(image, mask=None, *, axis=None, mode="reflect", cval=0.0, dilation=1, channel_axis=None,
            num_threads=None):
    """Find edges in an image using the Prewitt filter, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    axis : int or sequence of int, optional, keyword-only
        As for :func:`sobel`; None gives the magnitude.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        The Prewitt edge map, shape of `image`.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.prewitt, prewitt_h, prewitt_v, sobel

    Notes
    -----
    Kernels :func:`imgconv.kernels.prewitt_h` (``[[-1, -1, -1], [0, 0, 0],
    [1, 1, 1]] / 3``) and :func:`imgconv.kernels.prewitt_v`; magnitude and
    mask as for :func:`sobel`.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> step = np.zeros((5, 5)); step[:, 3:] = 1
    >>> filters.prewitt(step, axis=1)[2]
    array([0., 0., 1., 1., 0.])
    """
    return _edge_filter("prewitt", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


def prewitt_h(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    """Find the horizontal edges of an image using the Prewitt kernel, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        Derivative along rows: positive where intensity increases downwards.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.prewitt_h, prewitt, imgconv.kernels.prewitt_h

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> ramp = np.repeat(np.arange(4.0)[:, None], 3, axis=1)
    >>> filters.prewitt_h(ramp)[:, 1]
    array([1., 2., 2., 1.])
    """
    return _edge_filter("prewitt", image, mask, None, mode, cval, dilation, channel_axis, num_threads,
                        spatial_axes=[0])


def prewitt_v(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    """Find the vertical edges of an image using the Prewitt kernel, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode, cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        Derivative along columns: positive where intensity increases to the right.

    Raises
    ------
    TypeError, ValueError
        As for :func:`sobel`.

    See Also
    --------
    skimage.filters.prewitt_v, prewitt, imgconv.kernels.prewitt_v

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> ramp = np.repeat(np.arange(4.0)[None, :], 3, axis=0)
    >>> filters.prewitt_v(ramp)[1]
    array([1., 2., 2., 1.])
    """
    return _edge_filter("prewitt", image, mask, None, mode, cval, dilation, channel_axis, num_threads,
                        spatial_axes=[1])


def laplace(image, ksize=3, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None,
            num_threads=None):
    """Find the edges of an image using the Laplace operator, as scikit-image.

    Parameters
    ----------
    image : ndarray, shape (H, W), or 3-D with a channel axis
    ksize : int, default 3
        Size of the discrete Laplace operator; only 3 exists (scikit-image
        accepts any value and silently uses the 3x3 operator; imgconv refuses
        other values).
    mask : ndarray of bool, shape (H, W), optional
        As for :func:`sobel`.
    mode : str, default 'reflect', keyword-only
        Border extension (scikit-image always uses 'reflect').
    cval, dilation, channel_axis, num_threads : keyword-only
        As for :func:`sobel`.

    Returns
    -------
    output : ndarray
        Response to ``[[0, -1, 0], [-1, 4, -1], [0, -1, 0]]`` (positive on
        bright spots), shape of `image`.

    Raises
    ------
    TypeError, ValueError
        Bad `ksize` or any parameter of :func:`sobel`.

    See Also
    --------
    skimage.filters.laplace, imgconv.kernels.laplace

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> dot = np.zeros((3, 3)); dot[1, 1] = 1
    >>> filters.laplace(dot, mode="constant")
    array([[ 0., -1.,  0.],
           [-1.,  4., -1.],
           [ 0., -1.,  0.]])
    """
    layout = ChannelLayout(image, channel_axis)
    kernel = _kernels.laplace(ksize)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    mask = _check_mask(mask, layout.spatial_shape)
    y = _correlate_stack(layout.pixels, kernel[None], mode=engine_mode, cval=cval, dilation=dilation,
                         num_threads=threads, scale=layout.scale)
    return layout.restore(_apply_mask(y[:, 0], mask, dilation, threads))


# --------------------------------------------------------------------------------------
# Gaussian family
# --------------------------------------------------------------------------------------

def _check_truncate(truncate):
    return check_positive_real(truncate, "truncate")


def gaussian(image, sigma=1.0, *, mode="nearest", cval=0, preserve_range=False, truncate=4.0, channel_axis=None,
             out=None, dilation=1, num_threads=None):
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
    y = correlate_1d_passes(layout.pixels, _gaussian_1d(sy, truncate), _gaussian_1d(sx, truncate),
                             mode=engine_mode, cval=cval, dilation=dilation, num_threads=threads,
                             scale=layout.scale, out=direct)
    if direct is not None:
        return out
    result = layout.restore(y[:, 0])
    if out is not None:
        out[...] = result
        return out
    return result


def difference_of_gaussians(image, low_sigma, high_sigma=None, *, mode="nearest", cval=0, channel_axis=None,
                            truncate=4.0, dilation=1, num_threads=None):
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
        raise ValueError(f"`high_sigma` must be equal to or larger than `low_sigma` on every axis; got "
                         f"low_sigma={_show(low_sigma)}, high_sigma={_show(high_sigma)}")
    truncate = _check_truncate(truncate)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    low_pass, high_pass = (
        correlate_1d_passes(layout.pixels, _gaussian_1d(s[0], truncate), _gaussian_1d(s[1], truncate),
                             mode=engine_mode, cval=cval, dilation=dilation, num_threads=threads,
                             scale=layout.scale)[:, 0]
        for s in (low, high))

    def work(rows):
        np.subtract(low_pass[:, rows], high_pass[:, rows], out=low_pass[:, rows])

    blockwise(low_pass.shape[1], threads, work)
    return layout.restore(low_pass)


# --------------------------------------------------------------------------------------
# Gabor and banks
# --------------------------------------------------------------------------------------

def gabor(image, frequency, theta=0, bandwidth=1, sigma_x=None, sigma_y=None, n_stds=3, offset=0,
          mode="reflect", cval=0, *, dilation=1, channel_axis=None, num_threads=None):
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
    real, imag = _kernels.gabor(frequency, theta=theta, bandwidth=bandwidth, sigma_x=sigma_x, sigma_y=sigma_y,
                                n_stds=n_stds, offset=offset)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    stack = np.stack([real[::-1, ::-1], imag[::-1, ::-1]])
    y = _correlate_stack(layout.pixels, stack, mode=engine_mode, cval=cval, dilation=dilation, num_threads=threads,
                         scale=layout.scale)
    return layout.restore(y[:, 0]), layout.restore(y[:, 1])


def apply_bank(image, bank, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, per_channel=True,
               num_threads=None):
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
    from .banks import FilterBank

    if not isinstance(bank, FilterBank):
        bank = FilterBank(bank)
    return bank.apply(image, dilation=dilation, mode=mode, cval=cval, channel_axis=channel_axis,
                      per_channel=per_channel, num_threads=num_threads)
