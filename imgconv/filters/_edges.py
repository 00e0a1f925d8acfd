"""Edge filters: Sobel, Scharr and Prewitt (magnitude and each derivative), and the Laplace operator.

The nine Sobel / Scharr / Prewitt functions differ only in their kernels, so
their docstrings are made from two templates (:data:`_MAGNITUDE_DOC` and
:data:`_DERIVATIVE_DOC`) by :func:`_edge_doc`, with each operator's name and
kernels; every function keeps its own signature.
"""

from string import Template

import numpy as np

from .. import _engine
from .. import kernels as _kernels
from .._shared.blocks import blockwise
from .._shared.geometry import scipy_pads
from .._shared.layout import ChannelLayout
from .._shared.modes import check_scipy_mode
from .._threads import effective_num_threads
from .._validation import as_array as _as_array
from .._validation import as_cval, as_pair
from .._validation import is_int as _is_int
from .._validation import show as _show
from ._correlate import correlate_stack

__all__ = [
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

# --------------------------------------------------------------------------------------
# the docstrings of the nine gradient filters
# --------------------------------------------------------------------------------------

#: Per operator: its name in prose, and its kernels ``(rows, columns)`` as the docstrings show them
#: (those of :mod:`imgconv.kernels`; scikit-image's ``H<NAME>_WEIGHTS`` / ``V<NAME>_WEIGHTS`` rotated
#: by 180 degrees, because scikit-image convolves).
_OPERATORS = {
    "sobel": ("Sobel", "[[-1, -2, -1], [0, 0, 0], [1, 2, 1]] / 4", "[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] / 4"),
    "scharr": ("Scharr", "[[-3, -10, -3], [0, 0, 0], [3, 10, 3]] / 16", "[[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]] / 16"),
    "prewitt": ("Prewitt", "[[-1, -1, -1], [0, 0, 0], [1, 1, 1]] / 3", "[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]] / 3"),
}

# The parameters every gradient filter shares (after `axis`, which only the magnitude has).
_COMMON_PARAMETERS = """\
mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'}
    Border extension, default 'reflect'; keyword-only.$mode_note
cval : float, default 0.0, keyword-only
    Value outside the image for ``mode='constant'``.
dilation : int or (int, int), default 1, keyword-only
    Spacing of the kernel taps.
channel_axis : int, optional, keyword-only
    Channel axis of a multichannel image; each channel is filtered on its
    own (scikit-image applied to each channel).  None: `image` is 2-D.
num_threads : int, optional, keyword-only
    Engine threads; None uses :func:`imgconv.get_num_threads`."""

_MASK_NOTE = """\
With a mask, the mask is eroded by the kernel's tap footprint (the 3x3 block
at dilation 1, as scikit-image; its taps ``d`` apart at dilation ``d``),
pixels outside the image counting as masked, and the result is multiplied by
it."""

_MAGNITUDE_DOC = """\
Find edges in an image using the $Name filter, as scikit-image.

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
$parameters

Returns
-------
output : ndarray
    The $Name edge map, shape of `image`, float32 or float64 (see the
    module notes of :mod:`imgconv.filters`).

Raises
------
TypeError, ValueError
    Bad `image`, `axis`, `mode`, `cval`, `dilation`, `channel_axis`,
    `num_threads`, or a `mask` of the wrong shape; the message names the
    parameter and repeats the value.

See Also
--------
skimage.filters.$name, ${name}_h, ${name}_v, $others

Notes
-----
The derivative along rows correlates with :func:`imgconv.kernels.${name}_h`,
the derivative along columns with :func:`imgconv.kernels.${name}_v`, each in
its own engine call (scikit-image's ``H${NAME}_WEIGHTS`` and ``V${NAME}_WEIGHTS``
rotated by 180 degrees, because scikit-image convolves)::

    ${name}_h: $kernel_h
    ${name}_v: $kernel_v

The magnitude is computed as scikit-image 0.26 computes it::

    sqrt(sum(response_a ** 2 for a in axes)) / sqrt(2)

-- the divisor is the square root of the number of spatial axes, however
many axes are listed.

$mask_note

Examples
--------
>>> import numpy as np
>>> from imgconv import filters
>>> step = np.zeros((5, 5)); step[:, 3:] = 1
>>> filters.$name(step, axis=1)[2]
array([0., 0., 1., 1., 0.])
>>> filters.$name(step)[2].round(4)
array([0.    , 0.    , 0.7071, 0.7071, 0.    ])
"""

_DERIVATIVE_DOC = """\
Find the $direction edges of an image using the $Name kernel, as scikit-image.

Parameters
----------
image : ndarray, shape (H, W), or 3-D with a channel axis
    bool, integer or float image.
mask : ndarray of bool, shape (H, W), optional
    Outputs outside the mask, and those whose kernel footprint touches a
    masked pixel or the image border, are set to 0 (see Notes).
$parameters

Returns
-------
output : ndarray
    Derivative along $along: positive where intensity increases $towards;
    shape of `image`, float32 or float64 (see the module notes of
    :mod:`imgconv.filters`).

Raises
------
TypeError, ValueError
    Bad `image`, `mode`, `cval`, `dilation`, `channel_axis`, `num_threads`,
    or a `mask` of the wrong shape; the message names the parameter and
    repeats the value.

See Also
--------
skimage.filters.$function, $name, imgconv.kernels.$function

Notes
-----
Correlates with :func:`imgconv.kernels.$function`, in one engine call::

    $kernel

$mask_note

Examples
--------
>>> import numpy as np
>>> from imgconv import filters
>>> ramp = np.repeat(np.arange(4.0)$ramp, 3, axis=$repeat_axis)
>>> filters.$function(ramp)$pick
array([1., 2., 2., 1.])
"""


def _edge_doc(name, axis=None):
    """The docstring of gradient filter `name`: its magnitude (`axis` None), or its derivative along `axis` (0, 1)."""
    title, kernel_h, kernel_v = _OPERATORS[name]
    fields = dict(name=name, Name=title, NAME=name.upper(), mask_note=_MASK_NOTE)
    if axis is None:
        fields.update(
            others=", ".join(other for other in _OPERATORS if other != name),
            kernel_h=kernel_h,
            kernel_v=kernel_v,
            parameters=Template(_COMMON_PARAMETERS).substitute(mode_note=""),
        )
        return Template(_MAGNITUDE_DOC).substitute(fields)
    suffix = "hv"[axis]
    mode_note = f"\n    (scikit-image's ``{name}_{suffix}`` has no `mode`; its border is 'reflect', the default here.)"
    fields.update(
        function=f"{name}_{suffix}",
        kernel=(kernel_h, kernel_v)[axis],
        parameters=Template(_COMMON_PARAMETERS).substitute(mode_note=mode_note),
        direction=("horizontal", "vertical")[axis],
        along=("rows", "columns")[axis],
        towards=("downwards", "to the right")[axis],
        ramp=("[:, None]", "[None, :]")[axis],
        repeat_axis=1 - axis,
        pick=("[:, 1]", "[1]")[axis],
    )
    return Template(_DERIVATIVE_DOC).substitute(fields)


# --------------------------------------------------------------------------------------
# masks, magnitude and the shared driver
# --------------------------------------------------------------------------------------


def _check_mask(mask, spatial_shape):
    if mask is None:
        return None
    mask = _as_array(mask, "mask")
    if mask.shape != tuple(spatial_shape):
        raise ValueError(
            f"`mask` must have the spatial shape of the image {tuple(spatial_shape)}; got shape {mask.shape}"
        )
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
    counts = _engine.correlate(
        holes,
        np.ones((1, 1, 3, 3), np.float32),
        pads=scipy_pads((3, 3), dilation),
        mode="constant",
        cval=1.0,
        dilation=dilation,
        num_threads=num_threads,
    )
    result *= counts[0, 0] == 0
    return result


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
        raise TypeError(
            f"`axis` must be None, an int or a sequence of ints; got {_show(axis)} of type {type(axis).__name__}"
        )
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    mask = _check_mask(mask, layout.spatial_shape)

    # One engine call per kernel, so that the result owns exactly its memory.
    responses = {}
    for a in dict.fromkeys(axes):
        kernel = _EDGE_KERNELS[name][a]()[None]
        responses[a] = correlate_stack(
            layout.pixels,
            kernel,
            mode=engine_mode,
            cval=cval,
            dilation=dilation,
            num_threads=threads,
            scale=layout.scale,
        )[:, 0]
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


# --------------------------------------------------------------------------------------
# the gradient filters and the Laplace operator
# --------------------------------------------------------------------------------------


def sobel(image, mask=None, *, axis=None, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("sobel", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


sobel.__doc__ = _edge_doc("sobel")


def sobel_h(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("sobel", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[0])


sobel_h.__doc__ = _edge_doc("sobel", axis=0)


def sobel_v(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("sobel", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[1])


sobel_v.__doc__ = _edge_doc("sobel", axis=1)


def scharr(image, mask=None, *, axis=None, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("scharr", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


scharr.__doc__ = _edge_doc("scharr")


def scharr_h(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("scharr", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[0])


scharr_h.__doc__ = _edge_doc("scharr", axis=0)


def scharr_v(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("scharr", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[1])


scharr_v.__doc__ = _edge_doc("scharr", axis=1)


def prewitt(image, mask=None, *, axis=None, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("prewitt", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


prewitt.__doc__ = _edge_doc("prewitt")


def prewitt_h(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("prewitt", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[0])


prewitt_h.__doc__ = _edge_doc("prewitt", axis=0)


def prewitt_v(image, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
    return _edge_filter("prewitt", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[1])


prewitt_v.__doc__ = _edge_doc("prewitt", axis=1)


def laplace(image, ksize=3, mask=None, *, mode="reflect", cval=0.0, dilation=1, channel_axis=None, num_threads=None):
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
    y = correlate_stack(
        layout.pixels,
        kernel[None],
        mode=engine_mode,
        cval=cval,
        dilation=dilation,
        num_threads=threads,
        scale=layout.scale,
    )
    return layout.restore(_apply_mask(y[:, 0], mask, dilation, threads))
