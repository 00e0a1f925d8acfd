"""Dask layer: folders of images on a cluster, and images larger than memory.

Two independent tools, both thin layers over the one engine
(:func:`imgconv._engine.correlate`):

* :func:`run_tasks` runs a picklable function over many small tasks (one image
  file each) on a Dask cluster and yields the small result records in
  completion order.  :func:`imgconv.batch.process` uses it for
  ``backend="dask"``.  Only task descriptions (paths) and records travel over
  the network; workers read and write the files themselves.
* :func:`conv2d`, :func:`correlate` and :func:`apply` filter a
  :class:`dask.array.Array` tile by tile, and :func:`process_large` streams a
  large TIFF or zarr image to a zarr store with memory bounded by the tile size.
  Every tiled result equals the in-memory result on the whole image, for every
  border mode: the border is built at the true image edges only, and tiles
  share a halo computed from the kernel size, dilation and stride.

This module needs the optional dependencies ``dask[distributed]`` and ``zarr``::

    pip install "imgconv[dask]"

It is imported on demand (``import imgconv.dask``); ``import imgconv`` does not
need Dask.
"""

import itertools
import math
import numbers
import os
import uuid

import numpy as np

_INSTALL_HINT = 'pip install "imgconv[dask]"'

try:
    import dask
    import dask.array as da
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"imgconv.dask needs the optional dependency 'dask' ({_exc}). Install it with: {_INSTALL_HINT}"
    ) from _exc

from . import _engine, _output
from ._validation import as_engine_image, as_int, as_pair
from .conv import _as_array, _Checked
from .shape import _output_hw

__all__ = ["apply", "conv2d", "correlate", "process_large", "run_tasks"]

#: Border modes of :func:`correlate` (scipy.ndimage / scikit-image names, sorted).
SCIPY_MODES = tuple(sorted(_engine.SCIPY_TO_ENGINE_MODE))


def _require(module):
    """Import an optional dependency or raise an ImportError that says how to install it."""
    try:
        if module == "distributed":
            import distributed
            return distributed
        if module == "zarr":
            import zarr
            return zarr
        raise AssertionError(module)  # pragma: no cover - internal misuse
    except ImportError as exc:
        raise ImportError(
            f"imgconv.dask needs the optional dependency {module!r} for this function ({exc}). "
            f"Install it with: {_INSTALL_HINT}") from exc


# =============================================================================
# Folders of files on a cluster
# =============================================================================

def run_tasks(tasks, func, *, client=None, workers=None, retries=2, max_in_flight=None, on_error=None):
    """Run ``func(task)`` for every task on a Dask cluster; yield the results as they finish.

    Parameters
    ----------
    tasks : iterable
        Picklable task descriptions (for :func:`imgconv.batch.process`, one
        ``BatchTask`` per image: paths only, never pixels). Consumed lazily, so
        a generator over millions of files is fine.
    func : callable
        Picklable function (a module-level function or a ``functools.partial``
        of one) called on a worker as ``func(task)``; it reads and writes the
        files itself and returns a small record (a dict). Outputs should be
        written atomically (temporary file + ``os.replace``, as
        :func:`imgconv.io.imwrite` does), so that a retried task never leaves a
        partial file.
    client : distributed.Client, distributed cluster, str or None, optional
        Where to run: an existing ``Client`` (left open), a cluster object such
        as ``LocalCluster`` or a scheduler address such as
        ``"tcp://10.0.0.5:8786"`` (a client is opened and closed here), or
        ``None`` to start a local cluster of `workers` processes with one thread
        each on the loopback interface, closed when the iteration ends.
    workers : int, optional
        Worker processes of the local cluster started when `client` is None
        (default 2). Ignored otherwise.
    retries : int, default 2
        Extra attempts for a task whose function raised. A task whose worker
        died is rescheduled on another worker by the scheduler (up to the
        ``distributed.scheduler.allowed-failures`` setting, default 3).
    max_in_flight : int, optional
        Most tasks submitted but not yet yielded (default ``max(4, 4 * total
        worker threads)``): memory on the client stays bounded for any number
        of tasks.
    on_error : callable, optional
        ``on_error(task, exception) -> record`` turns a task that failed for
        good into a record. By default the exception is raised (after the
        remaining tasks are cancelled).

    Yields
    ------
    record : object
        The return value of ``func(task)``, exactly once per task, in
        completion order (not submission order).

    Raises
    ------
    TypeError
        If `func` or `on_error` is not callable, or `client` has the wrong type.
    ValueError
        If `workers`, `retries` or `max_in_flight` is out of range.

    See Also
    --------
    imgconv.batch.process : the folder driver that uses this with ``backend="dask"``.

    Notes
    -----
    Arguments are checked at once; the cluster is started, and tasks are
    submitted, only when the iteration starts. Closing the iterator early
    (``break``) cancels the tasks still in flight.

    Examples
    --------
    >>> records = run_tasks(["a.png", "b.png"], process_one_file, workers=2)  # doctest: +SKIP
    >>> sorted(r["input"] for r in records)  # doctest: +SKIP
    ['a.png', 'b.png']
    """
    _require("distributed")
    if not callable(func):
        raise TypeError(f"`func` must be callable; got {type(func).__name__}")
    if on_error is not None and not callable(on_error):
        raise TypeError(f"`on_error` must be callable or None; got {type(on_error).__name__}")
    if workers is not None:
        workers = as_int(workers, "workers", minimum=1)
    retries = as_int(retries, "retries", minimum=0)
    if max_in_flight is not None:
        max_in_flight = as_int(max_in_flight, "max_in_flight", minimum=1)
    _check_client(client)
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"`tasks` must be an iterable of task descriptions; got {type(tasks).__name__}")
    return _run_tasks(iter(tasks), func, client, workers, retries, max_in_flight, on_error)


def _check_client(client):
    if client is None or isinstance(client, str):
        return
    distributed = _require("distributed")
    if isinstance(client, distributed.Client) or hasattr(client, "scheduler_address"):
        return
    raise TypeError(
        "`client` must be a distributed.Client, a cluster object, a scheduler address string "
        f"or None; got {type(client).__name__}")


def _start_local_cluster(workers):
    """A LocalCluster of `workers` single-threaded processes on the loopback interface."""
    import logging

    distributed = _require("distributed")
    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        # no dashboard; the scheduler's small HTTP server on a free loopback port
        dashboard_address=":0", scheduler_kwargs={"dashboard": False}, silence_logs=logging.WARNING)


def _open_client(client, workers):
    """Return ``(client, owned)``: `owned` lists what this module opened and must close."""
    distributed = _require("distributed")
    if isinstance(client, distributed.Client):
        return client, []
    if client is None:
        cluster = _start_local_cluster(workers or 2)
        try:
            opened = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return opened, [opened, cluster]
    try:  # address string or cluster object
        opened = distributed.Client(client, set_as_default=False, timeout=_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:  # distributed raises both for an unreachable scheduler
        where = client if isinstance(client, str) else type(client).__name__
        raise SchedulerError(f"`client` {where!r}: cannot reach the dask scheduler within {_CONNECT_TIMEOUT} s "
                             f"({type(exc).__name__}: {exc}); check the address and that the scheduler "
                             f"runs") from None
    return opened, [opened]


#: Seconds to wait for a scheduler given by address before giving up with SchedulerError.
_CONNECT_TIMEOUT = 10


class SchedulerError(ValueError):
    """The dask scheduler named by `client` cannot be reached."""


def _run_tasks(tasks, func, client, workers, retries, max_in_flight, on_error):
    distributed = _require("distributed")
    client, owned = _open_client(client, workers)
    pending = {}  # future -> task
    try:
        if max_in_flight is None:
            threads = sum(client.nthreads().values()) or 1
            max_in_flight = max(4, 4 * threads)
        prefix = f"imgconv-task-{uuid.uuid4().hex[:12]}"
        counter = itertools.count()
        # with_results: records are gathered concurrently in the client's event loop.
        completed = distributed.as_completed(loop=client.loop, with_results=True, raise_errors=False)

        def submit(task):
            # An explicit unique key: two equal tasks are still two tasks.
            future = client.submit(func, task, key=f"{prefix}-{next(counter)}", retries=retries, pure=False)
            pending[future] = task
            completed.add(future)

        for task in itertools.islice(tasks, max_in_flight):
            submit(task)
        for future, result in completed:
            task = pending.pop(future)
            if future.status == "error" or future.cancelled():
                # result is (type, exception, traceback) for an error, the CancelledError otherwise
                exception = result[1] if isinstance(result, tuple) else result
                if on_error is None:
                    raise exception
                record = on_error(task, exception)
            else:
                record = result
            future.release()
            for task in itertools.islice(tasks, 1):  # refill before handing the record over
                submit(task)
            yield record
    finally:
        if pending:
            client.cancel(list(pending))
            pending.clear()
        for obj in owned:
            obj.close()


# =============================================================================
# Tiled filtering of dask arrays
# =============================================================================

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
        pieces = _take_axis(x, axis, index[:before]) + [x] + _take_axis(x, axis, index[before + length:])
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
        keff = dilation * (kernel - 1) + 1
        lout = (padded - keff) // stride + 1
        self.depth = max(0, keff - stride)
        min_out = max(1, -(-self.depth // stride))
        bounds = [0]
        for cut in sorted(set(int(c) for c in cuts)):
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
            lout = (length + before + after - d * (k - 1) - 1) // s + 1
            cuts = range(tile[axis], lout, tile[axis])
        else:
            cuts = _cuts_from_chunks(chunks_hw[axis], before, s)
        plans.append(_AxisPlan(length, k, s, d, before, after, cuts))
    return plans


def _correlate_block(block, weight, bias, stride, dilation, groups, convert, num_threads, scale):
    """One tile: valid correlation of the block with its halo (the border is already there)."""
    block = np.asarray(block) if convert is None else convert(block)
    return _engine.correlate(block, weight, bias, stride=stride, dilation=dilation, groups=groups,
                             num_threads=num_threads, scale=scale)


def _convert_block(block, convert, to):
    return convert(block).astype(to, copy=False)


def _tiled_correlate(x, weight, bias, *, pads, mode, cval, stride, dilation, groups, dtype,
                     convert=None, tile=None, num_threads=1, scale=1.0):
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
        _correlate_block, x, depth=depth, boundary="none", trim=False, allow_rechunk=False,
        chunks=out_chunks, dtype=dtype, meta=np.empty((0, 0, 0, 0), dtype),
        weight=weight, bias=bias, stride=stride, dilation=dilation, groups=groups,
        convert=convert, num_threads=num_threads, scale=scale)


def _check_tile(chunks, name="chunks"):
    return None if chunks is None else as_pair(chunks, name)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", *,
           chunks=None, num_threads=1):
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
    num_threads : int, default 1
        Engine threads per tile (Dask already runs tiles in parallel).

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
    num_threads = as_int(num_threads, "num_threads", minimum=1)
    # Validated exactly as imgconv.conv2d validates, on a zero-memory stand-in with
    # the dask array's shape and dtype (nothing is computed).
    stand_in = np.broadcast_to(np.zeros((), dtype=input.dtype), input.shape)
    call = _Checked(stand_in, weight, bias, stride, padding, dilation, groups, padding_mode, None)
    dtype, stride, dilation, groups, pads = call.dtype, call.stride, call.dilation, call.groups, call.pads
    weight, bias, unbatched = call.weight, call.bias, call.unbatched
    x = input[None] if unbatched else input
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape

    weight = np.ascontiguousarray(weight, dtype=dtype)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    if n == 0 or h == 0 or w == 0:
        hout, wout = _output_hw((h, w), (kh, kw), stride, dilation, pads)
        result = da.empty((n, o, hout, wout), dtype=dtype)
    else:
        result = _tiled_correlate(
            x, weight, bias, pads=pads, mode=call.engine_mode, cval=0.0,
            stride=stride, dilation=dilation, groups=groups, dtype=dtype, tile=tile, num_threads=num_threads)
    return result[0] if unbatched else result


def _spatial_layout(image, channel_axis, name="image"):
    """Return ``(channel_axis or None, (row_axis, col_axis))`` for a 2-D or 3-D image."""
    if channel_axis is None:
        if image.ndim != 2:
            raise ValueError(
                f"`{name}` must be 2-D (H, W) when channel_axis is None, or 3-D with a channel_axis; "
                f"got shape {image.shape}")
        return None, (0, 1)
    channel_axis = as_int(channel_axis, "channel_axis")
    if image.ndim != 3:
        raise ValueError(f"`{name}` must be 3-D when channel_axis is given; got shape {image.shape}")
    if not -3 <= channel_axis < 3:
        raise ValueError(f"`channel_axis` must be in [-3, 2] for a 3-D `{name}`; got {channel_axis}")
    channel_axis %= 3
    return channel_axis, tuple(a for a in range(3) if a != channel_axis)


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

    Probed on an empty array; see :func:`imgconv._validation.as_engine_image`.
    """
    empty, scale = as_engine_image(np.empty((0,), dtype=image_dtype))
    return _engine.compute_dtype(empty), scale


def _to_engine_block(block):
    """A tile as :mod:`imgconv.filters` hands a whole image to the engine (uint8/uint16 as stored)."""
    return as_engine_image(np.asarray(block))[0]


def _check_weights_2d(weights):
    weights = _as_array(weights, "weights")
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"`weights` must be a real numeric array; got dtype {weights.dtype}")
    if weights.ndim != 2:
        raise ValueError(f"`weights` must be a 2-D kernel (kh, kw); got shape {weights.shape}")
    if 0 in weights.shape:
        raise ValueError(f"`weights` must be at least 1x1; got shape {weights.shape}")
    return weights


def _check_scipy_mode(mode):
    if not isinstance(mode, str):
        raise TypeError(f"`mode` must be one of {list(SCIPY_MODES)}; got {mode!r} of type {type(mode).__name__}")
    if mode not in _engine.SCIPY_TO_ENGINE_MODE:
        raise ValueError(f"`mode` must be one of {list(SCIPY_MODES)}; got {mode!r}")
    return _engine.SCIPY_TO_ENGINE_MODE[mode]


def _scipy_pads(kernel, dilation, origin):
    """Pads that put scipy's anchor ``K // 2 + origin`` on the output pixel (``K = d (k - 1) + 1``)."""
    pads = []
    for axis, (k, d, o) in enumerate(zip(kernel, dilation, origin)):
        extent = d * (k - 1) + 1
        if not -(extent // 2) <= o <= (extent - 1) // 2:
            raise ValueError(
                f"`origin` must satisfy -(K // 2) <= origin <= (K - 1) // 2 along each axis, with K the "
                f"(dilated) kernel extent; got origin={tuple(origin)} and K={extent} along axis {axis}")
        before = extent // 2 + o
        pads += [before, extent - 1 - before]
    return tuple(pads)


def _check_correlate_args(image_dtype, weights, mode, cval, origin, dilation, dtype):
    """Shared checks of :func:`correlate` and :func:`process_large` (kernel path)."""
    if np.dtype(image_dtype).kind not in "biuf":
        raise TypeError(f"`image` must be a real-valued array (bool, integer or float); got dtype {image_dtype}")
    weights = _check_weights_2d(weights)
    engine_mode = _check_scipy_mode(mode)
    if not isinstance(cval, (numbers.Real, np.integer, np.floating)) or isinstance(cval, (bool, np.bool_)):
        raise TypeError(f"`cval` must be a real number; got {cval!r} of type {type(cval).__name__}")
    dilation = as_pair(dilation, "dilation")
    from .filters import _check_origin

    origin = _check_origin(origin)
    pads = _scipy_pads(weights.shape, dilation, origin)
    return weights, engine_mode, float(cval), dilation, pads, _float_dtype(dtype)


def _image_to_nchw(image, channel_axis):
    """(H, W) -> (1, 1, H, W); 3-D with a channel axis -> (C, 1, H, W): channels go to the batch."""
    if channel_axis is None:
        return image[None, None]
    return da.moveaxis(image, channel_axis, 0)[:, None]


def _nchw_to_image(y, channel_axis):
    if channel_axis is None:
        return y[0, 0]
    return da.moveaxis(y[:, 0], 0, channel_axis)


def correlate(image, weights, *, mode="reflect", cval=0.0, origin=0, dilation=1, channel_axis=None,
              dtype=None, chunks=None, num_threads=1):
    """:func:`imgconv.filters.correlate` on a dask image, tile by tile.

    Same semantics and result as ``imgconv.filters.correlate(image, weights,
    mode=mode, cval=cval, origin=origin, dilation=dilation,
    channel_axis=channel_axis)`` on the computed image (which equals
    ``scipy.ndimage.correlate`` on the image converted to float), for every
    border mode and any chunking.

    Parameters
    ----------
    image : dask.array.Array, shape (H, W), or 3-D with `channel_axis`
        bool, integer or float image, chunks of any size; converted tile by
        tile as :mod:`imgconv.filters` converts images (integers scaled to
        [0, 1] / [-1, 1]; float32 compute up to 16-bit integers and float32,
        float64 above). A NumPy array is wrapped.
    weights : array_like, shape (kh, kw)
        Correlation kernel (not flipped), any size, even sizes included.
    mode : {'constant', 'grid-constant', 'grid-mirror', 'grid-wrap', 'mirror', 'nearest', 'reflect', 'wrap'}, default 'reflect'
        scipy.ndimage names: 'reflect' repeats the edge sample (half-sample
        symmetric), 'mirror' does not (whole-sample, torch's 'reflect').
        Kernels wider than the image repeat the reflection or wrap, as
        ``numpy.pad`` does.
    cval : float, default 0.0
        Value outside the image for 'constant'.
    origin : int or pair of ints, default 0
        Shift of the kernel anchor, as scipy: the anchor is ``K // 2 + origin``
        with ``K = dilation*(k-1) + 1``.
    dilation : int or pair of ints, default 1
        Spacing of the kernel taps.
    channel_axis : int, optional
        Axis of a 3-D image holding channels (each correlated with `weights`).
        None: the image is 2-D.
    dtype : {None, numpy.float32, numpy.float64}
        Output dtype (as ``output=dtype`` of :func:`imgconv.filters.correlate`);
        default: the compute dtype.
    chunks : int or pair of ints, optional
        Spatial chunk size of the output; default follows the input's chunks.
    num_threads : int, default 1
        Engine threads per tile (Dask already runs tiles in parallel).

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
        image.dtype, weights, mode, cval, origin, dilation, dtype)
    channel_axis, _ = _spatial_layout(image, channel_axis)
    if 0 in image.shape:
        raise ValueError(f"`image` must have non-empty spatial and channel axes; got shape {image.shape}")
    tile = _check_tile(chunks)
    num_threads = as_int(num_threads, "num_threads", minimum=1)
    compute, scale = _image_pixels(image.dtype)
    x = _image_to_nchw(image, channel_axis)
    # As imgconv.filters: uint8/uint16 tiles read as stored, the engine applies `scale`.
    weight = np.ascontiguousarray(weights, dtype=compute)[None, None]
    y = _tiled_correlate(x, weight, None, pads=pads, mode=engine_mode, cval=cval, scale=scale, stride=(1, 1),
                         dilation=dilation, groups=1, dtype=compute, convert=_to_engine_block, tile=tile,
                         num_threads=num_threads)
    y = _nchw_to_image(y, channel_axis)
    return y if dtype is None or dtype == compute else y.astype(dtype)


# ---------------------------------------------------------------------------
# any local function, with an explicit halo
# ---------------------------------------------------------------------------

def _halo_of(func, halo):
    """Halo per side ``(rows, cols)``: the argument, or what `func` says about itself."""
    if halo is not None:
        return as_pair(halo, "halo", minimum=0)
    field = getattr(func, "receptive_field", None)
    if isinstance(field, (tuple, list)) and len(field) == 2:
        return as_pair(tuple(field), "receptive_field", minimum=0)
    if field is not None and hasattr(field, "extent") and hasattr(field, "start"):
        # A ReceptiveField of a size-preserving stack: output i reads [i + start, i + start + extent - 1].
        if tuple(getattr(field, "jump", (1, 1))) != (1, 1):
            raise ValueError(f"`func` must preserve the image size (stride 1); its receptive field is {field}")
        return tuple(max(-s, e - 1 + s, 0) for e, s in zip(field.extent, field.start))
    raise TypeError(
        f"`halo` is needed: {type(func).__name__} has no `receptive_field`; pass halo=(rows, cols), "
        "the number of pixels per side one output pixel depends on")


def _run_filter(func, block, num_threads):
    from ._threads import num_threads as threads_context

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
        f"on an input of shape {sample.shape} it returned shape {result.shape}")


def apply(image, func, *, halo=None, channel_axis=None, chunks=None, num_threads=1):
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
        channel axis in place or loses it). An :class:`imgconv.pipeline.Pipeline`,
        or any object with a ``receptive_field`` attribute, gives its own halo.
    halo : int or pair of ints, optional
        Pixels per side ``(rows, cols)`` one output pixel depends on; e.g. 1 for
        a 3x3 filter, ``ceil(truncate * sigma)`` for a Gaussian. Required
        unless `func` has a ``receptive_field``.
    channel_axis : int, optional
        Channel axis of a 3-D image (one chunk; never split).
    chunks : int or pair of ints, optional
        Spatial tile size; default keeps the image's chunks. Tiles smaller than
        the halo are merged with a neighbour.
    num_threads : int, default 1
        imgconv engine threads used by `func` inside a tile (through
        :func:`imgconv.num_threads`; Dask already runs tiles in parallel).

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
    num_threads = as_int(num_threads, "num_threads", minimum=1)
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
        _apply_block, image, depth=depth, boundary="none", trim=False, allow_rechunk=False,
        chunks=tuple(out_chunks), dtype=sample.dtype, meta=np.empty((0,) * sample.ndim, sample.dtype),
        filter_func=func, halo=halo, in_spatial=spatial, out_spatial=out_spatial, num_threads=num_threads,
        **axis_change)


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


# =============================================================================
# Out-of-core: a large TIFF or zarr image to a zarr store
# =============================================================================

class _TiffReader:
    """Array-like view of one TIFF series/level, read region by region through tifffile's zarr store.

    Picklable (it holds the path, not an open file), so Dask workers open the
    file themselves; each read opens and closes the file.
    """

    def __init__(self, path, series=0, level=0):
        self.path, self.series, self.level = os.fspath(path), series, level
        with self._open() as z:
            self.shape, self.dtype = tuple(z.shape), np.dtype(z.dtype)
        self.ndim = len(self.shape)

    def _open(self):
        import contextlib

        import tifffile
        zarr = _require("zarr")

        @contextlib.contextmanager
        def opened():
            store = tifffile.imread(self.path, aszarr=True, series=self.series, level=self.level)
            try:
                yield zarr.open_array(store, mode="r")
            finally:
                store.close()
        return opened()

    def __getitem__(self, key):
        with self._open() as z:
            return np.asarray(z[key])

    def __dask_tokenize__(self):
        stat = os.stat(self.path)
        return ("imgconv-tiff", self.path, self.series, self.level, stat.st_size, stat.st_mtime_ns)


def _open_source(src, series, level):
    """A (not yet chunked) array-like for `src` and a short description."""
    zarr = _require("zarr")
    if isinstance(src, da.Array):
        return src, "dask array"
    if isinstance(src, zarr.Array):
        return src, "zarr array"
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if path.lower().endswith((".tif", ".tiff")):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"`src` TIFF file not found: {path!r}")
            return _TiffReader(path, series, level), path
        try:
            return zarr.open_array(path, mode="r"), path
        except Exception as exc:
            raise ValueError(f"`src` must be a TIFF file (.tif/.tiff) or a zarr array store; "
                             f"could not open {path!r} as a zarr array ({exc})") from None
    raise TypeError(f"`src` must be a path, a zarr array or a dask array; got {type(src).__name__}")


def _chunk_source(source, chunks):
    if isinstance(source, da.Array):
        return source.rechunk(chunks)
    return da.from_array(source, chunks=chunks, lock=False, asarray=True)


def process_large(src, dst, operation, *, tile=2048, halo=None, mode="reflect", cval=0.0, origin=0,
                  dilation=1, channel_axis=None, dtype=None, client=None, workers=None, overwrite=False,
                  num_threads=1, series=0, level=0, zarr_options=None):
    """Filter an image larger than memory, tile by tile, into a zarr store.

    Parameters
    ----------
    src : str, os.PathLike, zarr.Array or dask.array.Array
        A TIFF file (read region by region through ``tifffile``'s zarr
        interface; tiled TIFFs read fastest), a zarr array store, or an array.
        Shape (H, W), or 3-D with `channel_axis`.
    dst : str or os.PathLike
        Zarr store to create, chunked ``(tile, tile)`` (plus the channel axis).
    operation : ndarray or callable
        A 2-D kernel ``(kh, kw)``: :func:`correlate` (that is,
        :func:`imgconv.filters.correlate`) with `mode`, `cval`, `origin`,
        `dilation` and `dtype`. A callable (a scikit-image-style filter, an
        ``imgconv.Pipeline``): :func:`apply` with `halo` (taken from the
        object's ``receptive_field`` when not given).
    tile : int or pair of ints, default 2048
        Output tile size. Memory per running tile is about the tile plus
        its halo, in the compute dtype, a few times over.
    halo : int or pair of ints, optional
        For a callable `operation`: pixels per side one output depends on.
    mode, cval, origin, dilation, dtype
        For a kernel `operation`, as :func:`correlate`.
    channel_axis : int, optional
        Channel axis of a 3-D image.
    client : distributed.Client, str or None, optional
        Run on this Dask cluster (client or scheduler address; workers must see
        `src` and `dst` at the same paths). None: threads of this process.
    workers : int, optional
        Threads when `client` is None (default: Dask's, the CPU count).
    overwrite : bool, default False
        Replace an existing `dst`, which must be an earlier result of
        `process_large` (a zarr store carrying its mark); anything else at
        `dst` is refused and left untouched.
    num_threads : int, default 1
        Engine threads per tile.
    series, level : int, default 0
        TIFF series and pyramid level.
    zarr_options : dict, optional
        Extra keyword arguments of ``zarr.create_array`` for `dst`, e.g.
        ``{"compressors": None}`` (faster, larger) or ``{"zarr_format": 2}``.

    Returns
    -------
    result : zarr.Array
        The written array, opened read-only.

    Raises
    ------
    FileExistsError
        If `dst` exists and `overwrite` is False.
    imgconv._output.UnsafePathError
        (a `ValueError`) If `dst` is, holds or lies inside `src`, is a
        symbolic link, or (with `overwrite`) holds anything but an earlier
        result of `process_large`.
    TypeError, ValueError
        Bad arguments (checked before anything is read or written).

    Notes
    -----
    The input is read in tiles whose boundaries are shifted by the top/left
    border width, so each output tile is computed from one input tile plus a
    halo borrowed from its neighbours; every output tile is written once
    (output chunks never straddle zarr chunks), so there are no write races.
    The store is built under a hidden temporary name next to `dst` and
    renamed into place when complete (:func:`imgconv._output.replace_folder`):
    a run that fails leaves `dst` as it was, and a killed run leaves at most
    a hidden ``.imgconv-*.part`` folder.

    Examples
    --------
    >>> sobel_y = np.array([[1., 2., 1.], [0., 0., 0.], [-1., -2., -1.]])  # doctest: +SKIP
    >>> z = imgconv.dask.process_large("scan.tif", "edges.zarr", sobel_y, tile=4096)  # doctest: +SKIP
    """
    zarr = _require("zarr")
    tile = as_pair(tile, "tile")
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"`dst` must be a path to a zarr store; got {type(dst).__name__}")
    dst = os.path.abspath(os.fspath(dst))
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"`overwrite` must be True or False; got {overwrite!r}")
    sources = _source_paths(src)
    _output.replace_folder(dst, None, overwrite=bool(overwrite), is_ours=_written_by_imgconv, protect=sources,
                           check_only=True)
    _check_client(client)
    if workers is not None:
        workers = as_int(workers, "workers", minimum=1)
    if zarr_options is None:
        zarr_options = {}
    elif not isinstance(zarr_options, dict):
        raise TypeError(f"`zarr_options` must be a dict or None; got {type(zarr_options).__name__}")
    reserved = sorted({"store", "shape", "chunks", "dtype", "overwrite"} & set(zarr_options))
    if reserved:
        raise ValueError(f"`zarr_options` must not set {reserved}: process_large sets them")
    source, _ = _open_source(src, series, level)
    num_threads = as_int(num_threads, "num_threads", minimum=1)

    shape = tuple(source.shape)
    channel_axis, spatial = _spatial_layout(_Shape(shape), channel_axis, name="src")
    if isinstance(operation, np.ndarray) or (not callable(operation) and hasattr(operation, "__array__")):
        weights, _, _, dilation, pads, _ = _check_correlate_args(
            source.dtype, operation, mode, cval, origin, dilation, dtype)
        plans = _plan([shape[a] for a in spatial], weights.shape, (1, 1), dilation, pads, tile=tile)
        chunks = [-1] * len(shape)
        for axis, plan in zip(spatial, plans):
            chunks[axis] = plan.input_chunks
        image = _chunk_source(source, tuple(chunks))
        result = correlate(image, weights, mode=mode, cval=cval, origin=origin, dilation=dilation,
                           channel_axis=channel_axis, dtype=dtype, chunks=tile, num_threads=num_threads)
    elif callable(operation):
        halo = _halo_of(operation, halo)
        chunks = [-1] * len(shape)
        for axis, t in zip(spatial, tile):
            chunks[axis] = _regular_chunks(shape[axis], t)
        image = _chunk_source(source, tuple(chunks))
        result = apply(image, operation, halo=halo, channel_axis=channel_axis, num_threads=num_threads)
    else:
        raise TypeError(f"`operation` must be a 2-D kernel array or a callable; got {type(operation).__name__}")

    zchunks = list(result.shape)
    for axis, t in zip(_output_layout(len(shape), channel_axis, result.ndim)[0], tile):
        zchunks[axis] = t

    def build(store):
        target = zarr.create_array(store=store, shape=result.shape, chunks=tuple(zchunks), dtype=result.dtype,
                                   **zarr_options)
        source = str(src) if isinstance(src, (str, os.PathLike)) else type(src).__name__
        target.attrs[_MARK] = {"source": source, "tile": list(tile)}
        stored = da.store(result, target, lock=False, compute=False)
        if client is None:
            dask.compute(stored, scheduler="threads", num_workers=workers)
        else:
            distributed_client, owned = _open_client(client, None)
            try:
                distributed_client.compute(stored).result()
            finally:
                for obj in owned:
                    obj.close()

    # Built under a temporary name next to dst and renamed into place: a failure or a kill never
    # leaves a partial store at dst, and overwrite=True replaces only an earlier result of imgconv.
    _output.replace_folder(dst, build, overwrite=bool(overwrite), is_ours=_written_by_imgconv, protect=sources)
    return zarr.open_array(dst, mode="r")


#: Attribute that marks a zarr store written by process_large (what overwrite=True may replace).
_MARK = "imgconv"


def _written_by_imgconv(path):
    """True for a zarr array store that process_large wrote (its attributes carry the mark)."""
    zarr = _require("zarr")
    try:
        return _MARK in zarr.open_array(path, mode="r").attrs
    except Exception:  # not a zarr array at all: not ours  # noqa: BLE001
        return False


def _source_paths(src):
    """Paths on disk that `src` reads (for the never-overwrite-the-input check)."""
    if isinstance(src, (str, os.PathLike)):
        return [os.fspath(src)]
    store = getattr(src, "store", None)  # a zarr.Array on a local store
    root = getattr(store, "root", None) or getattr(store, "path", None)
    return [os.fspath(root)] if isinstance(root, (str, os.PathLike)) else []


class _Shape:
    """Just enough of an array for shape checks (``ndim`` and ``shape``)."""

    def __init__(self, shape):
        self.shape, self.ndim = tuple(shape), len(shape)
