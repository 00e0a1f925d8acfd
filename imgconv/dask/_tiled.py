"""Tiled filtering of dask arrays: conv2d, correlate, and any local function with a halo."""

import math
from collections.abc import Callable
from typing import Any, SupportsIndex

import dask.array as da
import numpy as np
import numpy.typing as npt

from .. import _engine
from .._shared.convert import as_engine_image, compute_dtype
from .._shared.geometry import check_origin_fits, extent, output_hw, output_size, scipy_pads
from .._shared.layout import check_channel_axis, spatial_axes
from .._shared.modes import check_scipy_mode
from .._threads import get_num_threads
from .._threads import num_threads as threads_context
from .._typing import Int, IntPair, Padding, PaddingMode, Real, ScipyMode
from .._validation import as_array, as_cval, as_int, as_origin, as_pair
from ..conv import Conv2dArguments


def _as_dask(array, name):
    if isinstance(array, da.Array):
        if any(math.isnan(c) for chunks in array.chunks for c in chunks):
            raise ValueError(f"`{name}` must have known chunk sizes; call `{name}.compute_chunk_sizes()` first")
        return array
    if isinstance(array, np.ndarray) or hasattr(array, "__array__"):
        return da.from_array(array)
    raise TypeError(f"`{name}` must be a dask array or an array; got {type(array).__name__}")


def _index_runs(index):
    """Split an index vector into runs of step +1, -1 or 0: ``[(first, step, count), ...]``."""
    runs, i, n = [], 0, len(index)
    while i < n:
        step = int(index[i + 1] - index[i]) if i + 1 < n else 1
        if step not in (-1, 0, 1):
            step = 1
        j = i + 1
        while j < n and index[j] - index[j - 1] == step:
            j += 1
        runs.append((int(index[i]), step, j - i))
        i = j
    return runs


def _take_axis(x, axis, index):
    """``x`` at positions `index` along `axis`, built from slices (no fancy indexing)."""
    pieces = []
    for first, step, count in _index_runs(index):
        if step == 1:
            pieces.append(_slice_axis(x, axis, first, first + count))
        elif step == -1:
            piece = _slice_axis(x, axis, first - count + 1, first + 1)
            pieces.append(_slice_axis(piece, axis, None, None, -1))
        else:
            pieces.append(da.repeat(_slice_axis(x, axis, first, first + 1), count, axis=axis))
    return pieces


def _slice_axis(x, axis, start, stop, step=None):
    key = [slice(None)] * x.ndim
    key[axis] = slice(start, stop, step)
    return x[tuple(key)]


def _pad_axis(x, axis, before, after, mode, cval):
    """``numpy.pad(x, (before, after), mode)`` along one axis of a dask array, for any width.

    ``da.pad`` departs from ``numpy.pad`` for 'reflect', 'symmetric' and 'wrap'
    pads wider than the array, so the pad is built here from numpy's own index
    map: position ``i`` of the padded axis holds ``x[np.pad(arange(L), ...)[i]]``.
    """
    if before == 0 and after == 0:
        return x
    if mode == "constant":

        def block(size):
            shape = list(x.shape)
            shape[axis] = size
            chunks = list(x.chunks)
            chunks[axis] = (size,)
            return da.full(tuple(shape), cval, dtype=x.dtype, chunks=tuple(chunks))

        pieces = [block(before), x, block(after)]
    else:
        length = x.shape[axis]
        index = np.pad(np.arange(length), (before, after), mode=mode)
        pieces = _take_axis(x, axis, index[:before]) + [x] + _take_axis(x, axis, index[before + length :])
    return da.concatenate([p for p in pieces if p.shape[axis]], axis=axis)


class _AxisPlan:
    """How one spatial axis is tiled: chunks of the padded input and of the output.

    Output chunk ``j`` covers outputs ``[O_j, O_{j+1})`` and reads padded samples
    ``[O_j * s, (O_{j+1} - 1) * s + keff)``. The padded input is rechunked at
    ``O_j * s`` (every chunk starts on the stride grid of the first output) and
    each block borrows ``depth = max(0, keff - s)`` samples from the next block,
    so a valid correlation of the block gives exactly its output chunk.
    """

    def __init__(self, length, kernel, stride, dilation, before, after, cuts):
        padded = length + before + after
        keff = extent(kernel, dilation)
        lout = output_size(length, kernel, stride, dilation, before, after)
        self.depth = max(0, keff - stride)
        min_out = max(1, -(-self.depth // stride))
        bounds = [0]
        for cut in sorted({int(c) for c in cuts}):
            if cut - bounds[-1] >= min_out and cut < lout:
                bounds.append(cut)
        self.out_chunks = tuple(np.diff(bounds + [lout]).tolist())
        padded_bounds = [b * stride for b in bounds] + [padded]
        self.padded_chunks = tuple(np.diff(padded_bounds).tolist())
        # Chunks of the unpadded input that make the rechunk trivial (pads merge into edge chunks).
        input_bounds = sorted({min(max(b - before, 0), length) for b in padded_bounds} | {0, length})
        self.input_chunks = tuple(c for c in np.diff(input_bounds).tolist() if c > 0)


def _cuts_from_chunks(chunks, before, stride):
    """Output boundaries nearest the input chunk boundaries."""
    bounds = np.cumsum(chunks)[:-1]
    return [-(-(int(b) + before) // stride) for b in bounds]


def _plan(shape_hw, kernel, stride, dilation, pads, chunks_hw=None, tile=None):
    """Two :class:`_AxisPlan` (rows, columns); cuts from `tile` or from the input chunks."""
    plans = []
    for axis in range(2):
        length, k, s, d = shape_hw[axis], kernel[axis], stride[axis], dilation[axis]
        before, after = pads[2 * axis], pads[2 * axis + 1]
        if tile is not None:
            lout = output_size(length, k, s, d, before, after)
            cuts = range(tile[axis], lout, tile[axis])
        else:
            cuts = _cuts_from_chunks(chunks_hw[axis], before, s)
        plans.append(_AxisPlan(length, k, s, d, before, after, cuts))
    return plans


def graph_threads(num_threads):
    """Engine threads per tile: `num_threads` checked, or None -> :func:`imgconv.get_num_threads` now.

    Read when the graph is built (as every imgconv function reads it when
    called), so a graph computes the same way wherever its tasks run.
    """
    return get_num_threads() if num_threads is None else as_int(num_threads, "num_threads", minimum=1)


def _correlate_block(block, weight, bias, stride, dilation, groups, convert, num_threads, scale):
    """One tile: valid correlation of the block with its halo (the border is already there)."""
    block = np.asarray(block) if convert is None else convert(block)
    return _engine.correlate(
        block, weight, bias, stride=stride, dilation=dilation, groups=groups, num_threads=num_threads, scale=scale
    )


def _convert_block(block, convert, to):
    return convert(block).astype(to, copy=False)


def _tiled_correlate(
    x,
    weight,
    bias,
    *,
    pads,
    mode,
    cval,
    stride,
    dilation,
    groups,
    dtype,
    convert=None,
    tile=None,
    num_threads=1,
    scale=1.0,
):
    """Engine semantics (``numpy.pad`` + valid correlation) on a dask NCHW array.

    Callers validate. ``convert`` (elementwise, to a dtype the engine reads)
    runs inside each tile, so the border, rechunk and halo exchange move the
    source dtype (a quarter of the bytes for uint8). Elementwise conversion
    commutes with the border modes, except a 'constant' border of a non-zero
    `cval`, which is built after converting to `dtype` (as the engine itself
    does for integer pixels).  `scale`: the engine's (`cval` is in the units
    of ``x * scale``).
    """
    cval = cval / scale  # the border is built here, in the units of `x`
    kh, kw = weight.shape[2:]
    plans = _plan(x.shape[2:], (kh, kw), stride, dilation, pads, x.chunks[2:], tile)
    if convert is not None and mode == "constant" and cval != 0:
        x = x.map_blocks(_convert_block, convert=convert, to=dtype, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype))
        convert = None
    x = x.rechunk({1: -1, 2: plans[0].input_chunks, 3: plans[1].input_chunks})
    x = _pad_axis(x, 2, pads[0], pads[1], mode, cval)
    x = _pad_axis(x, 3, pads[2], pads[3], mode, cval)
    x = x.rechunk({1: -1, 2: plans[0].padded_chunks, 3: plans[1].padded_chunks})
    depth = {0: 0, 1: 0}
    for axis, plan in zip((2, 3), plans):
        depth[axis] = (0, plan.depth) if plan.depth else 0
    out_chunks = (x.chunks[0], (weight.shape[0],), plans[0].out_chunks, plans[1].out_chunks)
    return da.map_overlap(
        _correlate_block,
        x,
        depth=depth,
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=out_chunks,
        dtype=dtype,
        meta=np.empty((0, 0, 0, 0), dtype),
        weight=weight,
        bias=bias,
        stride=stride,
        dilation=dilation,
        groups=groups,
        convert=convert,
        num_threads=num_threads,
        scale=scale,
    )


def _check_tile(chunks, name="chunks"):
    return None if chunks is None else as_pair(chunks, name)


def conv2d(
    input: da.Array | npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: Int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    chunks: IntPair | None = None,
    num_threads: SupportsIndex | None = None,
) -> da.Array:
    """:func:`imgconv.conv2d` on a dask array, tile by tile.

    Same parameters, semantics, errors and result as :func:`imgconv.conv2d` on
    the computed array (PyTorch ``Conv2d``), for every padding mode, stride,
    dilation and group count, whatever the chunking of `input`.

    Parameters
    ----------
    input : dask.array.Array, shape (N, C, H, W) or (C, H, W), float32 or float64
        Any chunking, including chunks smaller than the kernel. A NumPy array is
        wrapped with ``dask.array.from_array``.
    weight : ndarray, shape (O, C // groups, kh, kw)
        Same dtype as `input`.
    bias : ndarray, shape (O,), optional
    stride, padding, dilation, groups, padding_mode
        As :func:`imgconv.conv2d`.
    chunks : int or pair of ints, optional
        Spatial chunk size ``(rows, cols)`` of the output. Default: output chunk
        boundaries follow the input's.
    num_threads : int, optional
        Engine threads per tile; None (default) uses
        :func:`imgconv.get_num_threads`, read when the graph is built, as
        every other imgconv function does.  Dask's threaded scheduler already
        runs tiles in parallel: pass 1 to keep one engine thread per tile.

    Returns
    -------
    output : dask.array.Array, shape (N, O, H_out, W_out) or (O, H_out, W_out)
        Lazy; the channel axis is one chunk.

    Raises
    ------
    TypeError, ValueError
        As :func:`imgconv.conv2d`, checked before any tile is computed.

    See Also
    --------
    imgconv.conv2d : the in-memory function.
    correlate : scikit-image-style interface (2-D kernel, scipy border modes).

    Notes
    -----
    The border is built once at the true image edges (``numpy.pad`` semantics,
    as the engine does), then each output tile is a valid correlation of its
    input tile and a halo of ``max(0, dilation*(k-1) + 1 - stride)`` samples
    borrowed from the next tile (Dask ``map_overlap`` with asymmetric depth and
    ``boundary='none'``). Along a strided axis every input tile starts on the
    stride grid of the first output sample, so no output is computed twice or
    dropped.

    Examples
    --------
    >>> import numpy as np, dask.array as da, imgconv, imgconv.dask
    >>> x = np.arange(2 * 9 * 11, dtype=np.float64).reshape(1, 2, 9, 11)
    >>> w = np.ones((3, 2, 3, 3))
    >>> y = imgconv.dask.conv2d(da.from_array(x, chunks=(1, 1, 4, 4)), w, stride=2, padding=1,
    ...                         padding_mode="reflect")
    >>> bool(np.array_equal(y.compute(), imgconv.conv2d(x, w, stride=2, padding=1, padding_mode="reflect")))
    True
    """
    input = _as_dask(input, "input")
    tile = _check_tile(chunks)
    num_threads = graph_threads(num_threads)
    # Validated exactly as imgconv.conv2d validates, on a zero-memory stand-in with
    # the dask array's shape and dtype (nothing is computed).
    stand_in = np.broadcast_to(np.zeros((), dtype=input.dtype), input.shape)
    call = Conv2dArguments(stand_in, weight, bias, stride, padding, dilation, groups, padding_mode, None)
    dtype, stride, dilation, groups, pads = call.dtype, call.stride, call.dilation, call.groups, call.pads
    weight, bias, unbatched = call.weight, call.bias, call.unbatched
    x = input[None] if unbatched else input
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape

    weight = np.ascontiguousarray(weight, dtype=dtype)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    if n == 0 or h == 0 or w == 0:
        hout, wout = output_hw((h, w), (kh, kw), stride, dilation, pads)
        result = da.empty((n, o, hout, wout), dtype=dtype)
    else:
        result = _tiled_correlate(
            x,
            weight,
            bias,
            pads=pads,
            mode=call.engine_mode,
            cval=0.0,
            stride=stride,
            dilation=dilation,
            groups=groups,
            dtype=dtype,
            tile=tile,
            num_threads=num_threads,
        )
    return result[0] if unbatched else result


def _spatial_layout(image, channel_axis, name="image"):
    """Return ``(channel_axis or None, (row_axis, col_axis))`` for a 2-D or 3-D image (or dask array)."""
    channel_axis = check_channel_axis(channel_axis, image.ndim, image.shape, name)
    return channel_axis, spatial_axes(channel_axis)


def _float_dtype(dtype, name="dtype"):
    if dtype is None:
        return None
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"`{name}` must be None, float32 or float64; got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"`{name}` must be None, float32 or float64; got dtype {dtype}")
    return dtype


def _image_pixels(image_dtype):
    """What :mod:`imgconv.filters` does with images of this dtype: (compute dtype, scale).

    Probed on an empty array; see :func:`imgconv._shared.convert.as_engine_image`.
    """
    empty, scale = as_engine_image(np.empty((0,), dtype=image_dtype))
    return compute_dtype(empty), scale


def _to_engine_block(block):
    """A tile as :mod:`imgconv.filters` hands a whole image to the engine (uint8/uint16 as stored)."""
    return as_engine_image(np.asarray(block))[0]


def _check_weights_2d(weights):
    weights = as_array(weights, "weights")
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"`weights` must be a real numeric array; got dtype {weights.dtype}")
    if weights.ndim != 2:
        raise ValueError(f"`weights` must be a 2-D kernel (kh, kw); got shape {weights.shape}")
    if 0 in weights.shape:
        raise ValueError(f"`weights` must be at least 1x1; got shape {weights.shape}")
    return weights


def _check_correlate_args(image_dtype, weights, mode, cval, origin, dilation, dtype):
    """Shared checks of :func:`correlate` and :func:`process_large` (kernel path)."""
    if np.dtype(image_dtype).kind not in "biuf":
        raise TypeError(f"`image` must be a real-valued array (bool, integer or float); got dtype {image_dtype}")
    weights = _check_weights_2d(weights)
    engine_mode = check_scipy_mode(mode)
    cval = as_cval(cval)
    dilation = as_pair(dilation, "dilation")
    origin = check_origin_fits(as_origin(origin), weights.shape, dilation)
    pads = scipy_pads(weights.shape, dilation, origin)
    return weights, engine_mode, cval, dilation, pads, _float_dtype(dtype)


def _image_to_nchw(image, channel_axis):
    """(H, W) -> (1, 1, H, W); 3-D with a channel axis -> (C, 1, H, W): channels go to the batch."""
    if channel_axis is None:
        return image[None, None]
    return da.moveaxis(image, channel_axis, 0)[:, None]


def _nchw_to_image(y, channel_axis):
    if channel_axis is None:
        return y[0, 0]
    return da.moveaxis(y[:, 0], 0, channel_axis)


def correlate(
    image: da.Array | npt.ArrayLike,
    weights: npt.ArrayLike,
    dtype: npt.DTypeLike | None = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    origin: IntPair = 0,
    *,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    chunks: IntPair | None = None,
    num_threads: SupportsIndex | None = None,
) -> da.Array:
    """:func:`imgconv.filters.correlate` on a dask image, tile by tile.

    Same semantics and result as ``imgconv.filters.correlate(image, weights,
    mode=mode, cval=cval, origin=origin, dilation=dilation,
    channel_axis=channel_axis)`` on the computed image (which equals
    ``scipy.ndimage.correlate`` on the image converted to float), for every
    border mode and any chunking.  The arguments are those of
    :func:`imgconv.filters.correlate`, in its order: `dtype`, `mode`, `cval`
    and `origin` may be given by position (`dtype` in the place of its
    `output`), the rest by keyword.

    Parameters
    ----------
    image : dask.array.Array, shape (H, W), or 3-D with `channel_axis`
        bool, integer or float image, chunks of any size; converted tile by
        tile as :mod:`imgconv.filters` converts images (integers scaled to
        [0, 1] / [-1, 1]; float32 compute up to 16-bit integers and float32,
        float64 above). A NumPy array is wrapped.
    weights : array_like, shape (kh, kw)
        Correlation kernel (not flipped), any size, even sizes included.
    dtype : {None, numpy.float32, numpy.float64}, optional
        Output dtype (as ``output=dtype`` of :func:`imgconv.filters.correlate`;
        there is no array to fill); default: the compute dtype.
    mode : {'constant', 'grid-constant', 'grid-mirror', 'grid-wrap', 'mirror', 'nearest', 'reflect', 'wrap'}
        Default 'reflect'. scipy.ndimage names: 'reflect' repeats the edge sample (half-sample
        symmetric), 'mirror' does not (whole-sample, torch's 'reflect').
        Kernels wider than the image repeat the reflection or wrap, as
        ``numpy.pad`` does.
    cval : float, default 0.0
        Value outside the image for 'constant'.
    origin : int or pair of ints, default 0
        Shift of the kernel anchor, as scipy: the anchor is ``K // 2 + origin``
        with ``K = dilation*(k-1) + 1``.
    dilation : int or pair of ints, default 1, keyword-only
        Spacing of the kernel taps.
    channel_axis : int, optional, keyword-only
        Axis of a 3-D image holding channels (each correlated with `weights`).
        None: the image is 2-D.
    chunks : int or pair of ints, optional, keyword-only
        Spatial chunk size of the output; default follows the input's chunks.
    num_threads : int, optional, keyword-only
        Engine threads per tile; None (default) uses
        :func:`imgconv.get_num_threads`, read when the graph is built, as
        every other imgconv function does.  Dask's threaded scheduler already
        runs tiles in parallel: pass 1 to keep one engine thread per tile.

    Returns
    -------
    output : dask.array.Array
        Same shape as `image`.

    Raises
    ------
    TypeError
        Non-real `image` or `weights`, bad `mode` type, `cval` or `dtype`.
    ValueError
        Bad shapes, `mode`, `origin`, `dilation` or `channel_axis`.

    See Also
    --------
    imgconv.filters.correlate : the in-memory function.
    conv2d : the torch-compatible interface.
    apply : any local filter function with a given halo.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi, imgconv.dask
    >>> x = np.arange(35.0).reshape(5, 7)
    >>> k = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> y = imgconv.dask.correlate(da.from_array(x, chunks=2), k, mode="mirror")
    >>> bool(np.allclose(y.compute(), ndi.correlate(x, k, mode="mirror")))
    True
    """
    image = _as_dask(image, "image")
    weights, engine_mode, cval, dilation, pads, dtype = _check_correlate_args(
        image.dtype, weights, mode, cval, origin, dilation, dtype
    )
    channel_axis, _ = _spatial_layout(image, channel_axis)
    if 0 in image.shape:
        raise ValueError(f"`image` must have non-empty spatial and channel axes; got shape {image.shape}")
    tile = _check_tile(chunks)
    num_threads = graph_threads(num_threads)
    compute, scale = _image_pixels(image.dtype)
    x = _image_to_nchw(image, channel_axis)
    # As imgconv.filters: uint8/uint16 tiles read as stored, the engine applies `scale`.
    weight = np.ascontiguousarray(weights, dtype=compute)[None, None]
    y = _tiled_correlate(
        x,
        weight,
        None,
        pads=pads,
        mode=engine_mode,
        cval=cval,
        scale=scale,
        stride=(1, 1),
        dilation=dilation,
        groups=1,
        dtype=compute,
        convert=_to_engine_block,
        tile=tile,
        num_threads=num_threads,
    )
    y = _nchw_to_image(y, channel_axis)
    return y if dtype is None or dtype == compute else y.astype(dtype)


# ---------------------------------------------------------------------------
# any local function, with an explicit halo
# ---------------------------------------------------------------------------


def _halo_of(func, halo):
    """Halo per side ``(rows, cols)``: the argument, or what `func` says about itself."""
    whole = getattr(func, "whole_image", None)  # Pipeline and Step
    if isinstance(whole, str):
        raise ValueError(
            f"`func` depends on the whole image, so tiles of it cannot be exact whatever the halo: {whole}; "
            "give the statistic explicitly (e.g. in_range=[lo, hi], sigma=...)"
        )
    if halo is not None:
        return as_pair(halo, "halo", minimum=0)
    own = getattr(func, "halo", None)  # Pipeline and Step
    if isinstance(own, (tuple, list)) and len(own) == 2:
        return as_pair(tuple(own), "halo", minimum=0)
    field = getattr(func, "receptive_field", None)  # a Conv2d's ReceptiveField (or a pair, as 0.1's Pipeline)
    if isinstance(field, (tuple, list)) and len(field) == 2:
        return as_pair(tuple(field), "receptive_field", minimum=0)
    if field is not None and hasattr(field, "extent") and hasattr(field, "start"):
        # A ReceptiveField of a size-preserving stack: output i reads [i + start, i + start + extent - 1].
        if tuple(getattr(field, "jump", (1, 1))) != (1, 1):
            raise ValueError(f"`func` must preserve the image size (stride 1); its receptive field is {field}")
        return tuple(max(-s, e - 1 + s, 0) for e, s in zip(field.extent, field.start))
    raise TypeError(
        f"`halo` is needed: {type(func).__name__} has no `halo` or `receptive_field`; pass halo=(rows, cols), "
        "the number of pixels per side one output pixel depends on"
    )


def _run_filter(func, block, num_threads):
    with threads_context(num_threads):
        return np.asarray(func(block))


def _apply_block(block, filter_func, halo, in_spatial, out_spatial, num_threads, block_info=None):
    """Run `filter_func` on a tile with its halo, then drop the halo on the sides that have one."""
    info = block_info[0]
    location, count = info["chunk-location"], info["num-chunks"]
    result = _run_filter(filter_func, block, num_threads)
    key = [slice(None)] * result.ndim
    for in_axis, out_axis, h in zip(in_spatial, out_spatial, halo):
        lo = h if location[in_axis] > 0 else 0
        hi = h if location[in_axis] < count[in_axis] - 1 else 0
        key[out_axis] = slice(lo, result.shape[out_axis] - hi)
    return result[tuple(key)]


def _output_layout(image_ndim, channel_axis, sample_ndim):
    """Spatial axes of the output and the map_blocks axis change, from a probe's ndim."""
    if sample_ndim == 2:
        return (0, 1), ({"drop_axis": channel_axis} if image_ndim == 3 else {})
    if image_ndim == 3:
        return tuple(a for a in range(3) if a != channel_axis), {}
    return (0, 1), {"new_axis": 2}  # a 2-D image gains trailing channels


def _probe(func, image, spatial, channel_axis, halo, num_threads):
    """Call `func` on a small zero tile: output dtype and layout."""
    shape = list(image.shape)
    for axis, h in zip(spatial, halo):
        shape[axis] = min(image.shape[axis], 2 * h + 16)
    sample = np.zeros(shape, dtype=image.dtype)
    result = _run_filter(func, sample, num_threads)
    if result.ndim in (2, 3):
        out_spatial, _ = _output_layout(image.ndim, channel_axis, result.ndim)
        if tuple(result.shape[a] for a in out_spatial) == tuple(sample.shape[a] for a in spatial):
            return result, out_spatial
    raise ValueError(
        f"`func` must return an image of the spatial size of its input, (H, W) or 3-D (a local filter); "
        f"on an input of shape {sample.shape} it returned shape {result.shape}"
    )


def apply(
    image: da.Array | npt.ArrayLike,
    func: Callable[[np.ndarray], Any],
    *,
    halo: IntPair | None = None,
    channel_axis: Int | None = None,
    chunks: IntPair | None = None,
    num_threads: SupportsIndex | None = None,
) -> da.Array:
    """Apply a local filter function to a dask image, tile by tile, exactly.

    Each tile is extended by `halo` pixels taken from its neighbours, `func` runs
    on the extended tile and the halo is cut off again. At the true image edges
    nothing is added: `func` sees the real edge and handles the border itself
    (its own `mode`), so the result equals ``func(image)`` on the whole image
    whenever one output pixel depends on at most `halo` pixels per side, also
    for stacks of filters that each handle the border.

    Parameters
    ----------
    image : dask.array.Array, shape (H, W), or 3-D with `channel_axis`
        A NumPy array is wrapped.
    func : callable
        ``func(tile) -> array``: a tile in the layout of `image` in, an image
        of the same spatial size out, (H, W) or 3-D (dtype and channel count
        may change; a 2-D image may gain trailing channels, a 3-D one keeps its
        channel axis in place or loses it). An :class:`imgconv.pipeline.Pipeline`
        (or any object with a ``halo`` pair), or an :class:`imgconv.Conv2d` of
        stride 1 (its ``receptive_field``), gives its own halo.
    halo : int or pair of ints, optional
        Pixels per side ``(rows, cols)`` one output pixel depends on; e.g. 1 for
        a 3x3 filter, ``ceil(truncate * sigma)`` for a Gaussian. Required
        unless `func` gives its own (see `func`).
    channel_axis : int, optional
        Channel axis of a 3-D image (one chunk; never split).
    chunks : int or pair of ints, optional
        Spatial tile size; default keeps the image's chunks. Tiles smaller than
        the halo are merged with a neighbour.
    num_threads : int, optional
        imgconv engine threads used by `func` inside a tile (through
        :func:`imgconv.num_threads`); None (default) uses
        :func:`imgconv.get_num_threads`, read when the graph is built.  Dask's
        threaded scheduler already runs tiles in parallel: pass 1 to keep one
        engine thread per tile.

    Returns
    -------
    output : dask.array.Array
        Lazy; spatial shape of `image`.

    Raises
    ------
    TypeError
        If `func` is not callable or no halo is known.
    ValueError
        If `func` changes the spatial size, or bad shapes/axes.

    Notes
    -----
    `func` is called once on a small zero tile when the graph is built, to learn
    the output dtype and channels. Too small a halo gives wrong values near
    tile seams, silently: the halo is not checked.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi, imgconv.dask
    >>> x = np.random.default_rng(0).random((40, 50))
    >>> smooth = lambda t: ndi.gaussian_filter(ndi.sobel(t, axis=0), sigma=1.0, truncate=2.0)
    >>> y = imgconv.dask.apply(da.from_array(x, chunks=8), smooth, halo=3)  # 1 (sobel) + 2 (gaussian)
    >>> bool(np.array_equal(y.compute(), smooth(x)))
    True
    """
    image = _as_dask(image, "image")
    if not callable(func):
        raise TypeError(f"`func` must be callable; got {type(func).__name__}")
    channel_axis, spatial = _spatial_layout(image, channel_axis)
    halo = _halo_of(func, halo)
    tile = _check_tile(chunks)
    num_threads = graph_threads(num_threads)
    if 0 in image.shape:
        raise ValueError(f"`image` must have non-empty spatial and channel axes; got shape {image.shape}")
    rechunk = {}
    if channel_axis is not None:
        rechunk[channel_axis] = -1
    for axis, h, t in zip(spatial, halo, tile or (None, None)):
        current = image.chunks[axis] if t is None else _regular_chunks(image.shape[axis], t)
        rechunk[axis] = _merge_small(current, h)
    image = image.rechunk(rechunk)
    sample, out_spatial = _probe(func, image, spatial, channel_axis, halo, num_threads)
    _, axis_change = _output_layout(image.ndim, channel_axis, sample.ndim)
    out_chunks = [(n,) for n in sample.shape]
    for in_axis, out_axis in zip(spatial, out_spatial):
        out_chunks[out_axis] = image.chunks[in_axis]
    # An axis in one chunk needs no overlap (and may be shorter than the halo).
    depth = {axis: (h if len(image.chunks[axis]) > 1 else 0) for axis, h in zip(spatial, halo)}
    return da.map_overlap(
        _apply_block,
        image,
        depth=depth,
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=tuple(out_chunks),
        dtype=sample.dtype,
        meta=np.empty((0,) * sample.ndim, sample.dtype),
        filter_func=func,
        halo=halo,
        in_spatial=spatial,
        out_spatial=out_spatial,
        num_threads=num_threads,
        **axis_change,
    )


def _regular_chunks(length, tile):
    return (tile,) * (length // tile) + ((length % tile,) if length % tile else ())


def _merge_small(chunks, minimum):
    """Merge chunks smaller than `minimum` (the halo) into a neighbour.

    Boundaries are only removed, never moved, so output tiles stay inside the
    store's chunks (``dask.array.overlap.ensure_minimum_chunksize`` may move them).
    """
    out = []
    for c in chunks:
        if out and (out[-1] < minimum or c < minimum):
            out[-1] += c
        else:
            out.append(c)
    return tuple(out)
