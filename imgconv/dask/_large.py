"""Out of core: a large TIFF or zarr image filtered tile by tile into a zarr store."""

import contextlib
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, SupportsIndex

import dask
import dask.array as da
import numpy as np
import numpy.typing as npt
import tifffile

from .. import __version__, _ngff, _output
from .._shared.layout import pipeline_channel_names
from .._typing import Bool, Int, IntPair, Real, ScipyMode, StrPath
from .._validation import as_int, as_pair
from ._optional import _require
from ._tasks import _check_client, _open_client

if TYPE_CHECKING:  # zarr is imported when a function needs it (_optional._require)
    import zarr
from ._tiled import (
    _check_correlate_args,
    _halo_of,
    _output_layout,
    _plan,
    _regular_chunks,
    _spatial_layout,
    apply,
    correlate,
    graph_threads,
)


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
        except Exception as exc:  # noqa: BLE001 - an OME-Zarr image is a group
            if _ngff.is_ngff_image(path):
                return _ngff.open_level0(path), path
            raise ValueError(
                f"`src` must be a TIFF file (.tif/.tiff), a zarr array or an OME-Zarr image; "
                f"could not open {path!r} as a zarr array ({exc})"
            ) from None
    raise TypeError(f"`src` must be a path, a zarr array or a dask array; got {type(src).__name__}")


def _chunk_source(source, chunks):
    if isinstance(source, da.Array):
        return source.rechunk(chunks)
    return da.from_array(source, chunks=chunks, lock=False, asarray=True)


def process_large(
    src: "StrPath | zarr.Array | da.Array",
    dst: StrPath,
    operation: npt.ArrayLike | Callable[[np.ndarray], Any],
    *,
    tile: IntPair = 2048,
    halo: IntPair | None = None,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    origin: IntPair = 0,
    dilation: IntPair = 1,
    channel_axis: Int | None = None,
    dtype: npt.DTypeLike | None = None,
    client: Any = None,
    workers: Int | None = None,
    overwrite: Bool = False,
    num_threads: SupportsIndex | None = None,
    series: Int = 0,
    level: Int = 0,
    zarr_options: dict[str, Any] | None = None,
) -> "zarr.Array":
    """Filter an image larger than memory, tile by tile, into a zarr store.

    Parameters
    ----------
    src : str, os.PathLike, zarr.Array or dask.array.Array
        A TIFF file (read region by region through ``tifffile``'s zarr
        interface; tiled TIFFs read fastest), a zarr array store, or an array.
        Shape (H, W), or 3-D with `channel_axis`.
    dst : str or os.PathLike
        The OME-Zarr (NGFF) image to create: a zarr group whose array
        ``"0"`` holds the result with the channel axis first (``(C, H, W)``,
        or ``(H, W)``), one chunk per channel and ``(tile, tile)``; its
        metadata names the channels (a Pipeline's names, e.g.
        ``sobel_h@d1``), their display ranges and, for a TIFF source with a
        resolution, the pixel size in micrometres, so napari and the
        ``ome-zarr`` reader show them. Zarr format 3 writes NGFF 0.5,
        ``zarr_options={"zarr_format": 2}`` NGFF 0.4.
    operation : ndarray or callable
        A 2-D kernel ``(kh, kw)``: :func:`correlate` (that is,
        :func:`imgconv.filters.correlate`) with `mode`, `cval`, `origin`,
        `dilation` and `dtype`. A callable (a scikit-image-style filter, an
        ``imgconv.Pipeline``): :func:`apply` with `halo` (taken from the
        object's ``halo`` when not given, see :func:`imgconv.dask.apply`).
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
    num_threads : int, optional
        Engine threads per tile; None (default) uses :func:`imgconv.get_num_threads`
        (see :func:`imgconv.dask.apply`).
    series, level : int, default 0
        TIFF series and pyramid level.
    zarr_options : dict, optional
        Extra keyword arguments of ``zarr.create_array`` for `dst`, e.g.
        ``{"compressors": None}`` (faster, larger) or ``{"zarr_format": 2}``.

    Returns
    -------
    result : zarr.Array
        The written level-0 array ``dst/0``, opened read-only, in NGFF
        axis order (channels first). ``imgconv.io.imread(dst)`` reads it
        back in imgconv's ``(H, W, C)`` layout.

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
    _output.replace_folder(
        dst, None, overwrite=bool(overwrite), is_ours=_ngff.is_imgconv_store, protect=sources, check_only=True
    )
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
    num_threads = graph_threads(num_threads)
    if channel_axis is None and _ngff.axes_of(source) == "cyx":  # an OME-Zarr image keeps channels first
        channel_axis = 0

    shape = tuple(source.shape)
    channel_axis, spatial = _spatial_layout(_Shape(shape), channel_axis, name="src")
    if isinstance(operation, np.ndarray) or (not callable(operation) and hasattr(operation, "__array__")):
        weights, _, _, dilation, pads, _ = _check_correlate_args(
            source.dtype, operation, mode, cval, origin, dilation, dtype
        )
        plans = _plan([shape[a] for a in spatial], weights.shape, (1, 1), dilation, pads, tile=tile)
        chunks = [-1] * len(shape)
        for axis, plan in zip(spatial, plans):
            chunks[axis] = plan.input_chunks
        image = _chunk_source(source, tuple(chunks))
        result = correlate(
            image,
            weights,
            mode=mode,
            cval=cval,
            origin=origin,
            dilation=dilation,
            channel_axis=channel_axis,
            dtype=dtype,
            chunks=tile,
            num_threads=num_threads,
        )
    elif callable(operation):
        halo = _halo_of(operation, halo)
        chunks = [-1] * len(shape)
        for axis, t in zip(spatial, tile):
            chunks[axis] = _regular_chunks(shape[axis], t)
        image = _chunk_source(source, tuple(chunks))
        result = apply(image, operation, halo=halo, channel_axis=channel_axis, num_threads=num_threads)
    else:
        raise TypeError(f"`operation` must be a 2-D kernel array or a callable; got {type(operation).__name__}")

    # OME-Zarr order: the channel axis first (c, y, x), one zarr chunk per channel and tile.
    out_spatial = _output_layout(len(shape), channel_axis, result.ndim)[0]
    if result.ndim == 3:
        result = result.transpose((next(a for a in range(3) if a not in out_spatial), *out_spatial))
        axes, zchunks = "cyx", (1, *tile)
    else:
        axes, zchunks = "yx", tile
    names = (
        None
        if result.ndim == 2
        else pipeline_channel_names(
            operation, 1 if channel_axis is None else source.shape[channel_axis], result.shape[0]
        )
    )
    resolution = _source_resolution(src)
    record = {
        "version": __version__,
        "source": str(src) if isinstance(src, (str, os.PathLike)) else type(src).__name__,
        "tile": list(tile),
    }
    # display ranges, computed with the tiles that are stored (not a second pass over the result)
    planes = result if axes == "cyx" else result[None]
    ranges = (da.nanmin(planes, axis=(1, 2)), da.nanmax(planes, axis=(1, 2)))

    def build(store):
        target = _ngff.create_store(
            store,
            result.shape,
            result.dtype,
            axes=axes,
            chunks=tuple(min(c, n) for c, n in zip(zchunks, result.shape)),
            channel_names=names,
            resolution=resolution,
            record=record,
            title=os.path.splitext(os.path.basename(dst))[0],
            zarr_options=zarr_options,
        )
        stored = da.store(result, target, lock=False, compute=False)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
            if client is None:
                _, low, high = dask.compute(stored, *ranges, scheduler="threads", num_workers=workers)
            else:
                distributed_client, owned = _open_client(client, None)
                try:
                    _, low, high = distributed_client.gather(distributed_client.compute([stored, *ranges]))
                finally:
                    for obj in owned:
                        obj.close()
        _ngff.set_windows(store, list(zip(np.ravel(low), np.ravel(high))))

    # Built under a temporary name next to dst and renamed into place: a failure or a kill never
    # leaves a partial store at dst, and overwrite=True replaces only an earlier result of imgconv.
    _output.replace_folder(dst, build, overwrite=bool(overwrite), is_ours=_ngff.is_imgconv_store, protect=sources)
    return zarr.open_group(dst, mode="r")["0"]


def _source_resolution(src):
    """Pixels per inch (x, y) of a TIFF source, or None (the output keeps the input's pixel size)."""
    if not isinstance(src, (str, os.PathLike)) or not os.fspath(src).lower().endswith((".tif", ".tiff")):
        return None
    from ..io import read_info

    try:
        return read_info(src)["resolution"]
    except (OSError, ValueError):
        return None


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
