"""Edge filters: Sobel, Scharr and Prewitt (magnitude and each derivative), and the Laplace operator.

The nine Sobel / Scharr / Prewitt functions differ only in their kernels, so
their docstrings are made from two templates (:data:`_MAGNITUDE_DOC` and
:data:`_DERIVATIVE_DOC`) by :func:`_edge_doc`, with each operator's name and
kernels; every function keeps its own signature.

An image with two spatial axes takes the 2-D kernels (one engine call each,
any dilation).  Any other number of spatial axes (1-D, 3-D, ...) takes
scikit-image's N-D filters, one 1-D engine pass per axis
(:mod:`imgconv._shared.ndpasses`): :class:`imgconv._shared.layout.NDLayout` is that image as a batch,
:func:`edge_filter_nd` the separable derivatives (also farid's) and
:func:`mask_nd` the N-D mask.
"""

from string import Template
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from .. import _engine
from .. import kernels as _kernels
from .._edges_extra import FARID_EDGE, FARID_SMOOTH
from .._shared.blocks import blockwise
from .._shared.convert import compute_dtype
from .._shared.geometry import scipy_pads
from .._shared.layout import ChannelLayout, NDLayout, is_planar
from .._shared.modes import check_scipy_mode
from .._shared.ndpasses import correlate1d_bank, round_taps, separable_bank
from .._threads import effective_num_threads
from .._typing import FloatArray, Int, IntPair, IntSequence, Real, ScipyMode
from .._validation import as_array as _as_array
from .._validation import as_cval, as_pair, check_dilations
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

#: Per operator: its smoothing weights in prose (the N-D filter's, and the factor of the 2-D kernels).
_SMOOTHING = {"sobel": "[1, 2, 1] / 4", "scharr": "[3, 10, 3] / 16", "prewitt": "[1, 1, 1] / 3"}

# The parameters every gradient filter shares (after `axis`, which only the magnitude has).
_COMMON_PARAMETERS = """\
mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'}
    Border extension, default 'reflect'; keyword-only.$mode_note
cval : float, default 0.0, keyword-only
    Value outside the image for ``mode='constant'``.
dilation : int or sequence of int, default 1, keyword-only
    Spacing of the kernel taps: one for every spatial axis, or one per
    spatial axis.$dilation_note
channel_axis : int, optional, keyword-only
    Channel axis of a multichannel image; each channel is filtered on its
    own (scikit-image applied to each channel).  None: $no_channels
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
image : ndarray, 2-D, N-D, or with a channel axis
    bool, integer or float image.  Two spatial axes: the 2-D kernels below;
    any other number (1-D, 3-D, ...): scikit-image's N-D filter (see Notes).
mask : ndarray of bool, the spatial shape of `image`, optional
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
    Bad `image`, `axis`, `mode`, `cval`, `dilation` (not a positive int, or
    not one per spatial axis), `channel_axis`, `num_threads`, or a `mask` of
    the wrong shape; the message names the parameter and repeats the value.

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

With other than two spatial axes, the derivative along axis ``a`` is
scikit-image's N-D filter: ``[-1, 0, 1]`` along ``a`` and the smoothing
``$smoothing`` along every other spatial axis, one 1-D engine pass per axis
(the derivatives share the passes they have in common; with
``mode='constant'`` each pass sees the border the N-D correlation sees).

The magnitude is computed as scikit-image 0.26 computes it::

    sqrt(sum(response_a ** 2 for a in axes)) / sqrt(N)

-- ``N`` is the number of spatial axes, however many axes are listed.

$mask_note  With other than two spatial axes the footprint is the full
``3 x ... x 3`` block (its taps `dilation` apart along each axis).

Examples
--------
>>> import numpy as np
>>> from imgconv import filters
>>> step = np.zeros((5, 5)); step[:, 3:] = 1
>>> filters.$name(step, axis=1)[2]
array([0., 0., 1., 1., 0.])
>>> filters.$name(step)[2].round(4)
array([0.    , 0.    , 0.7071, 0.7071, 0.    ])
>>> cube = np.zeros((4, 4, 4)); cube[2:] = 1
>>> filters.$name(cube, axis=0)[:, 1, 1]
array([0., 1., 1., 0.])
"""

_DERIVATIVE_DOC = """\
Find the $direction edges of an image using the $Name kernel, as scikit-image.

Parameters
----------
image : ndarray, shape (H, W), or 3-D with a channel axis
    bool, integer or float image (2-D only, as in scikit-image; the
    magnitude function :func:`$name` takes any number of axes).
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
        parameters = Template(_COMMON_PARAMETERS).substitute(
            mode_note="",
            dilation_note=(
                "  With other than two spatial axes, the taps of every 1-D pass are\n    that far apart along its axis."
            ),
            no_channels="every axis of `image` is spatial.",
        )
        fields.update(
            others=", ".join(other for other in _OPERATORS if other != name),
            kernel_h=kernel_h,
            kernel_v=kernel_v,
            smoothing=_SMOOTHING[name],
            parameters=parameters,
        )
        return Template(_MAGNITUDE_DOC).substitute(fields)
    suffix = "hv"[axis]
    mode_note = f"\n    (scikit-image's ``{name}_{suffix}`` has no `mode`; its border is 'reflect', the default here.)"
    fields.update(
        function=f"{name}_{suffix}",
        kernel=(kernel_h, kernel_v)[axis],
        parameters=Template(_COMMON_PARAMETERS).substitute(
            mode_note=mode_note, dilation_note="", no_channels="`image` is 2-D."
        ),
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


def fused_responses(layout, weights, axes, engine_mode, mode, cval, dilation, num_threads):
    """The derivative along each of `axes` of a planar :class:`ChannelLayout`, ``{axis: (C, H, W)}``, when the
    operator's 2-D kernels are ``outer`` products of ``weights = (smooth, edge)`` (correlation weights).

    One engine call each, the two 1-D passes fused (:func:`imgconv._engine.correlate_passes`), as
    scikit-image's own N-D filter applies them.  Empty when that does not hold the 2-D kernel's
    result: a dilation, integer pixels (read scaled), or a constant border of ``cval != 0`` (the 2-D
    kernel's corners read `cval`, the second pass reads the first one's border).
    """
    pixels = layout.pixels
    if (
        weights is None
        or tuple(dilation) != (1, 1)
        or layout.scale != 1.0
        or pixels.dtype != compute_dtype(pixels)
        or pixels.size == 0
        or (mode in _CONSTANT_MODES and cval != 0)
    ):
        return {}
    smooth, edge = (round_taps(w, pixels.dtype)[0] for w in weights)
    rs, re = len(smooth) // 2, len(edge) // 2
    return {
        a: _engine.correlate_passes(
            pixels[:, 0],
            edge if a == 0 else smooth,
            smooth if a == 0 else edge,
            pads=(re, re, rs, rs) if a == 0 else (rs, rs, re, re),
            mode=engine_mode,
            cval=cval,
            num_threads=num_threads,
        )
        for a in dict.fromkeys(axes)
    }


def edge_magnitude(responses, num_threads):
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


def parse_axes(layout, axis):
    """`axis` of an edge filter as a list of spatial axes of `layout` (None: all of them, in order)."""
    if axis is None:
        return list(range(len(layout.spatial_shape)))
    if _is_int(axis):
        return [layout.spatial_axis(axis)]
    if isinstance(axis, (tuple, list, np.ndarray)):
        items = np.asarray(axis).ravel().tolist() if isinstance(axis, np.ndarray) else list(axis)
        if not items:
            raise ValueError(f"`axis` must name at least one axis; got {_show(axis)}")
        return [layout.spatial_axis(a) for a in items]
    raise TypeError(
        f"`axis` must be None, an int or a sequence of ints; got {_show(axis)} of type {type(axis).__name__}"
    )


def _edge_filter(name, image, mask, axis, mode, cval, dilation, channel_axis, num_threads, spatial_axes=None):
    if spatial_axes is None and not is_planar(image, channel_axis):
        smooth, edge = ND_WEIGHTS[name]
        return edge_filter_nd(image, mask, axis, smooth, edge, mode, cval, dilation, channel_axis, num_threads)
    layout = ChannelLayout(image, channel_axis)
    axes = spatial_axes if spatial_axes is not None else parse_axes(layout, axis)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    threads = effective_num_threads(num_threads)
    mask = _check_mask(mask, layout.spatial_shape)

    # One engine call per kernel, so that the result owns exactly its memory.
    responses = fused_responses(layout, ND_WEIGHTS.get(name), axes, engine_mode, mode, cval, dilation, threads)
    for a in dict.fromkeys(axes):
        if a in responses:
            continue
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
        result = edge_magnitude([responses[a] for a in axes], threads)
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
# images with other than two spatial axes: 1-D engine passes along every axis
# --------------------------------------------------------------------------------------

#: Per operator: its N-D weights ``(smoothing, derivative)`` as correlation weights, the factors of
#: its 2-D kernels (scikit-image's ``<NAME>_SMOOTH`` and its edge weights ``[1, 0, -1]`` reversed,
#: because scikit-image convolves).
ND_WEIGHTS = {
    "farid": (FARID_SMOOTH, FARID_EDGE[::-1]),
    "sobel": (np.array([1.0, 2.0, 1.0]) / 4, np.array([-1.0, 0.0, 1.0])),
    "scharr": (np.array([3.0, 10.0, 3.0]) / 16, np.array([-1.0, 0.0, 1.0])),
    "prewitt": (np.full(3, 1 / 3), np.array([-1.0, 0.0, 1.0])),
}

_CONSTANT_MODES = ("constant", "grid-constant")


def _nd_dilation(dilation, layout, kernel_size):
    """`dilation` of an N-D filter as one tap spacing per spatial axis of `layout` (its `kernel_size`-tap passes)."""
    return check_dilations(dilation, layout.ndim, kernel_sizes=(kernel_size,) * layout.ndim)


def check_nd_mask(mask, layout):
    """`mask` as a bool array of the spatial shape of `layout`, or None."""
    return _check_mask(mask, layout.spatial_shape)


def mask_nd(result, mask, num_threads, dilation=None):
    """scikit-image's ``_mask_filter_result`` in N-D, on a ``(C, *spatial)`` result we own.

    The mask is eroded by the full ``3**N`` block (``generate_binary_structure(N, N)``),
    its taps ``dilation[a]`` apart along axis ``a`` (None: 1, scikit-image's block),
    pixels outside the image counting as masked: one box pass per axis counts the
    masked pixels under the block (``cval=1`` keeps every count near the border
    positive), and outputs whose count is not 0 are set to 0.
    """
    if mask is None:
        return result
    holes = np.logical_not(mask).astype(np.float32)
    code = (0,) * holes.ndim
    counts = separable_bank(
        holes,
        [code],
        lambda axis, item: np.ones(3),
        mode="constant",
        cval=1.0,
        num_threads=num_threads,
        dilation=dilation,
    )[code]
    result *= counts == 0
    return result


def _constant_chain(x, kernels, mode, cval, num_threads, dilation):
    """The separable filter of one image along axes 0, 1, ... as the N-D correlation extends it by `cval`.

    A constant border seen by the pass along axis ``a`` is ``cval`` times the sums of the
    kernels of the passes before (the border region filtered along those axes), not ``cval``.
    """
    for axis, kernel in enumerate(kernels):
        x = correlate1d_bank(
            x[None], kernel[None], axis, mode=mode, cval=cval, num_threads=num_threads, dilation=dilation[axis]
        )[0, 0]
        cval = cval * float(np.sum(kernel))
    return x


def edge_filter_nd(image, mask, axis, smooth, edge, mode, cval, dilation, channel_axis, num_threads):
    """scikit-image's ``_generic_edge_filter`` and mask for an image of any number of spatial axes.

    `edge` (correlation weights, antisymmetric) along each axis of `axis`,
    `smooth` along every other spatial axis: one 1-D engine pass per axis,
    :func:`imgconv._shared.ndpasses.separable_bank` sharing the passes the
    derivatives have in common.  One axis: that derivative; None or several:
    ``sqrt(sum r**2) / sqrt(N)`` for N spatial axes.  With ``mode='constant'``
    and a non-zero `cval`, each pass sees the border the N-D correlation sees
    (:func:`_constant_chain`).  `dilation` spaces the taps of every pass (one
    spacing per spatial axis, or one for all), and the mask's footprint with them.
    Used by sobel, scharr, prewitt and farid.
    """
    layout = NDLayout(image, channel_axis)
    axes = parse_axes(layout, axis)
    check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = _nd_dilation(dilation, layout, len(edge))
    threads = effective_num_threads(num_threads)
    mask = check_nd_mask(mask, layout)
    codes = [tuple(i == a for i in range(layout.ndim)) for a in axes]
    weights = {True: np.asarray(edge, np.float64), False: np.asarray(smooth, np.float64)}
    chain = mode in _CONSTANT_MODES and cval != 0
    planes = []
    for x in layout.batch:
        if chain:
            responses = {
                code: _constant_chain(x, [weights[item] for item in code], mode, cval, threads, dilation)
                for code in dict.fromkeys(codes)
            }
        else:
            responses = separable_bank(
                x, codes, lambda a, item: weights[item], mode=mode, cval=cval, num_threads=threads, dilation=dilation
            )
        if len(codes) == 1:
            planes.append(responses[codes[0]])
            continue
        acc = None
        for code in codes:
            square = responses[code] * responses[code]
            acc = square if acc is None else np.add(acc, square, out=acc)
        np.sqrt(acc, out=acc)
        acc /= np.sqrt(layout.ndim, dtype=acc.dtype)
        planes.append(acc)
    result = np.stack(planes)
    return layout.restore(mask_nd(result, mask, threads, dilation))


def _laplace_nd(image, mask, mode, cval, dilation, channel_axis, num_threads):
    """The N-D Laplace operator (``2 N`` at the centre, -1 at the ``2 N`` face neighbours) as one pass per axis."""
    layout = NDLayout(image, channel_axis)
    check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = _nd_dilation(dilation, layout, 3)
    threads = effective_num_threads(num_threads)
    mask = check_nd_mask(mask, layout)
    second = np.array([[-1.0, 2.0, -1.0]])
    result = None
    for axis in range(layout.ndim):
        y = correlate1d_bank(
            layout.batch, second, axis, mode=mode, cval=cval, num_threads=threads, dilation=dilation[axis]
        )[:, 0]
        result = y if result is None else np.add(result, y, out=result)
    return layout.restore(mask_nd(result, mask, threads, dilation))


# --------------------------------------------------------------------------------------
# the gradient filters and the Laplace operator
# --------------------------------------------------------------------------------------


def sobel(
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
    return _edge_filter("sobel", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


sobel.__doc__ = _edge_doc("sobel")


def sobel_h(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    return _edge_filter("sobel", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[0])


sobel_h.__doc__ = _edge_doc("sobel", axis=0)


def sobel_v(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    return _edge_filter("sobel", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[1])


sobel_v.__doc__ = _edge_doc("sobel", axis=1)


def scharr(
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
    return _edge_filter("scharr", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


scharr.__doc__ = _edge_doc("scharr")


def scharr_h(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    return _edge_filter("scharr", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[0])


scharr_h.__doc__ = _edge_doc("scharr", axis=0)


def scharr_v(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    return _edge_filter("scharr", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[1])


scharr_v.__doc__ = _edge_doc("scharr", axis=1)


def prewitt(
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
    return _edge_filter("prewitt", image, mask, axis, mode, cval, dilation, channel_axis, num_threads)


prewitt.__doc__ = _edge_doc("prewitt")


def prewitt_h(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    return _edge_filter("prewitt", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[0])


prewitt_h.__doc__ = _edge_doc("prewitt", axis=0)


def prewitt_v(
    image: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    return _edge_filter("prewitt", image, mask, None, mode, cval, dilation, channel_axis, num_threads, spatial_axes=[1])


prewitt_v.__doc__ = _edge_doc("prewitt", axis=1)


def laplace(
    image: npt.ArrayLike,
    ksize: Int = 3,
    mask: npt.ArrayLike | None = None,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    dilation: IntSequence = 1,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Find the edges of an image using the Laplace operator, as scikit-image.

    Parameters
    ----------
    image : ndarray, 2-D, N-D, or with a channel axis
        Two spatial axes: the 3x3 operator below; any other number (1-D,
        3-D, ...): scikit-image's N-D operator, ``2 N`` at the centre and -1
        at the ``2 N`` face neighbours (see Notes).
    ksize : int, default 3
        Size of the discrete Laplace operator; only 3 exists (scikit-image
        accepts any value and silently uses the 3x3 operator; imgconv refuses
        other values).
    mask : ndarray of bool, the spatial shape of `image`, optional
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

    Notes
    -----
    With other than two spatial axes, the operator is the sum over the axes
    of the 1-D ``[-1, 2, -1]``, one engine pass each (its taps ``dilation``
    apart along that axis).

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import filters
    >>> dot = np.zeros((3, 3)); dot[1, 1] = 1
    >>> filters.laplace(dot, mode="constant")
    array([[ 0., -1.,  0.],
           [-1.,  4., -1.],
           [ 0., -1.,  0.]])
    >>> filters.laplace(np.eye(3)[1], mode="constant")
    array([-1.,  2., -1.])
    """
    if not is_planar(image, channel_axis):
        _kernels.laplace(ksize)  # the same check of `ksize`
        return _laplace_nd(image, mask, mode, cval, dilation, channel_axis, num_threads)
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
