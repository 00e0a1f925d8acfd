"""OME-Zarr (NGFF) image stores: the one owner of how imgconv lays out, describes and reads zarr results.

A result of imgconv is ``(H, W)``, ``(H, W, C)``, or a stack of planes
``(P, H, W)`` / ``(P, H, W, C)``. OME-Zarr stores axes in the order time,
channel, space, so a store holds ``yx``, ``cyx``, ``zyx`` or ``czyx``: the
channel axis comes first. The group carries the multiscales metadata (one
level, path ``"0"``, a scale in micrometres when the input's resolution is
known), ``omero`` channel labels (what napari and the ``ome-zarr`` reader show)
and imgconv's own record (``"imgconv"``: version, pipeline, channel names),
which is also the mark that lets ``overwrite`` replace an earlier result and
nothing else.

Zarr format 3 stores follow NGFF 0.5 (metadata under ``"ome"``); zarr format
2 stores follow NGFF 0.4. `zarr` is optional (the ``dask`` extra); it is
imported when a store is made or read.

References
----------
.. [1] OME-NGFF specification, https://ngff.openmicroscopy.org/
"""

import math
import os

import numpy as np

__all__ = [
    "COMPRESSIONS",
    "DEFAULT_COMPRESSION",
    "LEVELS",
    "axes_of",
    "create_store",
    "is_imgconv_store",
    "is_ngff_image",
    "ngff_order",
    "open_level0",
    "read_image",
    "read_info",
    "require_zarr",
    "set_windows",
    "write_image",
]

#: Codecs of a zarr store written by imgconv, and the levels each accepts (``imgconv.io.check_compression``
#: checks the options against them, as for the other formats).
COMPRESSIONS = ("none", "zlib", "zstd")
LEVELS = {"zlib": (0, 9), "zstd": (1, 22)}
#: ``(codec, level)`` when not told: zstd level 1 (fast, read by every zarr implementation).
DEFAULT_COMPRESSION = ("zstd", 1)

#: The attribute of imgconv's record in a store's group (and its mark).
MARK = "imgconv"
_MICROMETRES_PER_INCH = 25400.0


def require_zarr():
    """Raise ImportError (with the install hint) now, before any work, if zarr is missing."""
    _zarr()


def _zarr():
    try:
        import zarr
    except ImportError:
        raise ImportError(
            "zarr output needs the zarr package: pip install 'imgconv[dask]' (or pip install zarr)"
        ) from None
    return zarr


def ngff_order(ndim, stack):
    """(axis names, permutation) that take an imgconv result of `ndim` dims to NGFF order.

    Examples
    --------
    >>> ngff_order(3, stack=False)
    ('cyx', (2, 0, 1))
    >>> ngff_order(4, stack=True)
    ('czyx', (3, 0, 1, 2))
    """
    spatial = ndim - (1 if stack else 0)
    if stack and ndim == 3:
        return "zyx", (0, 1, 2)
    if stack:
        return "czyx", (3, 0, 1, 2)
    return ("yx", (0, 1)) if spatial == 2 else ("cyx", (2, 0, 1))


def _axes(names, unit):
    kinds = {"c": "channel", "z": "space", "y": "space", "x": "space", "t": "time"}
    axes = []
    for name in names:
        axis = {"name": name, "type": kinds[name]}
        if kinds[name] == "space" and unit is not None:
            axis["unit"] = unit
        axes.append(axis)
    return axes


def _scale(names, resolution):
    """NGFF scale per axis (micrometres per pixel from pixels-per-inch `resolution` (x, y)), and the unit."""
    scale = [1.0] * len(names)
    if resolution is None:
        return scale, None
    x, y = (float(v) for v in resolution)
    if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
        return scale, None
    scale[names.index("x")] = _MICROMETRES_PER_INCH / x
    scale[names.index("y")] = _MICROMETRES_PER_INCH / y
    return scale, "micrometer"


def _codecs(zarr, zarr_format, compression):
    name, level = compression
    if name == "none":
        return {"compressors": None}
    level = {} if level is None else {"level": level}  # None: the codec's own default
    if zarr_format == 2:  # numcodecs configurations, which zarr resolves itself
        return {"compressors": {"id": name, **level}}
    codec = zarr.codecs.ZstdCodec(**level) if name == "zstd" else zarr.codecs.GzipCodec(**level)
    return {"compressors": codec}


def _channel_entries(names, count, windows):
    entries = []
    for i in range(count):
        entry = {"label": names[i] if names is not None else f"c{i}", "color": "FFFFFF", "active": True}
        if windows is not None:
            low, high = windows[i]
            entry["window"] = {"min": low, "max": high, "start": low, "end": high}
        entries.append(entry)
    return entries


def _group_attributes(zarr_format, names, scale, unit, channels, title):
    """The group's attributes: NGFF 0.5 (under ``"ome"``) for zarr format 3, NGFF 0.4 for format 2."""
    multiscale = {
        "name": title,
        "axes": _axes(names, unit),
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}],
    }
    ome = {"multiscales": [multiscale], "omero": {"channels": channels, "rdefs": {"model": "greyscale"}}}
    if zarr_format == 2:
        multiscale["version"] = "0.4"
        return ome
    return {"ome": {"version": "0.5", **ome}}


def create_store(
    path,
    shape,
    dtype,
    *,
    axes,
    chunks,
    channel_names=None,
    resolution=None,
    windows=None,
    record=None,
    title="",
    compression=None,
    zarr_options=None,
):
    """Create an OME-Zarr image group at `path` and return its level-0 array, to be filled.

    Parameters
    ----------
    path : str
        A new folder (the store).
    shape, dtype, chunks
        Of the level-0 array, in NGFF order (`axes`).
    axes : str
        ``'yx'``, ``'cyx'``, ``'zyx'`` or ``'czyx'`` (see `ngff_order`).
    channel_names : sequence of str, optional
        One per channel (``omero`` labels); default ``c0, c1, ...``.
    resolution : (float, float), optional
        Pixels per inch (x, y) of the result; stored as micrometres per pixel.
    windows : sequence of (float, float), optional
        Display range per channel (``omero`` window).
    record : dict, optional
        imgconv's record (version, pipeline, ...), stored as the ``"imgconv"``
        attribute with the channel names.
    compression : (str, int), optional
        From ``imgconv.io.check_compression('ZARR', ...)``; default
        `DEFAULT_COMPRESSION`.
    zarr_options : dict, optional
        More keyword arguments of ``zarr.create_array``; ``zarr_format`` 2
        writes NGFF 0.4 instead of 0.5.
    """
    zarr = _zarr()
    options = dict(zarr_options or {})
    zarr_format = options.pop("zarr_format", 3)
    if compression is not None or "compressors" not in options:
        options.update(_codecs(zarr, zarr_format, compression or DEFAULT_COMPRESSION))
    names = list(axes)
    scale, unit = _scale(names, resolution)
    count = shape[0] if names[0] == "c" else 1
    if channel_names is not None:
        channel_names = [str(n) for n in channel_names]
        if len(channel_names) != count:
            raise ValueError(f"`channel_names` has {len(channel_names)} names for {count} channels")
    channels = _channel_entries(channel_names, count, windows)
    attributes = _group_attributes(zarr_format, names, scale, unit, channels, title)
    attributes[MARK] = {**(record or {}), "channels": channel_names, "axes": axes}
    if zarr_format == 3:
        options.setdefault("dimension_names", names)  # what plain zarr tools show
    group = zarr.open_group(path, mode="w-", zarr_format=zarr_format)
    array = group.create_array("0", shape=tuple(shape), chunks=tuple(chunks), dtype=dtype, **options)
    group.attrs.update(attributes)
    return array


def set_windows(path, windows):
    """Store the display range (min, max) of each channel, once the data are written (``omero`` windows)."""
    group = _zarr().open_group(os.fspath(path), mode="r+")
    attributes = dict(group.attrs)
    omero = (attributes["ome"] if "ome" in attributes else attributes)["omero"]
    for entry, (low, high) in zip(omero["channels"], windows):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)):
            low = high = 0.0
        entry["window"] = {"min": low, "max": high, "start": low, "end": high}
    group.attrs.update(attributes)


def _default_chunks(shape, axes):
    return tuple(1 if a in "cz" else min(n, 1024) for a, n in zip(axes, shape))


def write_image(path, data, *, stack=False, channel_names=None, metadata=None, resolution=None, compression=None):
    """Write an in-memory result `data` (imgconv layout) as an OME-Zarr store at the new folder `path`."""
    axes, order = ngff_order(data.ndim, stack)
    stored = np.transpose(data, order)
    windows = None
    if stored.size and data.dtype.kind in "uif":
        planes = stored.reshape((stored.shape[0] if axes[0] == "c" else 1), -1)
        with np.errstate(invalid="ignore"):
            finite = [p[np.isfinite(p)] if data.dtype.kind == "f" else p for p in planes]
        windows = [(float(p.min()), float(p.max())) if p.size else (0.0, 0.0) for p in finite]
    array = create_store(
        path,
        stored.shape,
        stored.dtype,
        axes=axes,
        chunks=_default_chunks(stored.shape, axes),
        channel_names=channel_names,
        resolution=resolution,
        windows=windows,
        record=metadata,
        title=os.path.splitext(os.path.basename(path))[0],
        compression=compression,
    )
    array[...] = stored


def _open(path):
    zarr = _zarr()
    try:
        group = zarr.open_group(os.fspath(path), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises many kinds for "not a group"
        raise ValueError(f"{os.fspath(path)!r} is not a zarr group ({type(exc).__name__}: {exc})") from None
    attributes = dict(group.attrs)
    ome = attributes.get("ome", attributes)
    multiscales = ome.get("multiscales") if isinstance(ome, dict) else None
    if not multiscales or not isinstance(multiscales, list) or not isinstance(multiscales[0], dict):
        raise ValueError(f"{os.fspath(path)!r} is a zarr group without OME-Zarr multiscales metadata")
    first = multiscales[0]
    axes = "".join(str(a.get("name", "?"))[:1] if isinstance(a, dict) else str(a)[:1] for a in first.get("axes", []))
    dataset = first["datasets"][0]
    return group, attributes, ome, first, axes, dataset


def _imgconv_layout(axes):
    """(permutation from NGFF order back to imgconv's, stack?) for the axes imgconv can hold."""
    table = {"yx": ((0, 1), False), "cyx": ((1, 2, 0), False), "zyx": ((0, 1, 2), True), "czyx": ((1, 2, 3, 0), True)}
    if axes not in table:
        raise ValueError(f"OME-Zarr axes {axes!r} are not an image imgconv reads (yx, cyx, zyx or czyx)")
    return table[axes]


def read_info(path):
    """``imgconv.io.read_info``'s record of an OME-Zarr store (shape and names in imgconv layout)."""
    group, attributes, ome, first, axes, dataset = _open(path)
    array = group[dataset["path"]]
    order, stack = _imgconv_layout(axes)
    shape = tuple(int(array.shape[i]) for i in order)
    if not stack and len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    record = attributes.get(MARK) if isinstance(attributes.get(MARK), dict) else {}
    names = record.get("channels")
    if not record:  # a store of another tool: its omero labels
        channels = (ome.get("omero") or {}).get("channels") or []
        labels = [c.get("label") for c in channels if isinstance(c, dict)]
        names = labels if labels and all(isinstance(n, str) for n in labels) else None
    resolution = None
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            units = {a.get("name"): a.get("unit") for a in first.get("axes", []) if isinstance(a, dict)}
            if units.get("x") == "micrometer":
                scale = dict(zip(axes, transform["scale"]))
                resolution = (_MICROMETRES_PER_INCH / scale["x"], _MICROMETRES_PER_INCH / scale["y"])
    return {
        "format": "ZARR",
        "shape": shape,
        "dtype": str(array.dtype),
        "channel_names": list(names) if names is not None else None,
        "metadata": {k: v for k, v in record.items() if k not in ("channels", "axes")},
        "resolution": resolution,
        "icc_profile": None,
        "stack": stack,
    }


def read_image(path, max_pixels=None, stack=False):
    """The level-0 image of an OME-Zarr store in imgconv layout; a stack only with `stack`."""
    group, _, _, _, axes, dataset = _open(path)
    array = group[dataset["path"]]
    order, is_stack = _imgconv_layout(axes)
    samples = math.prod(int(n) for n in array.shape)
    if max_pixels is not None and samples > max_pixels:
        raise ValueError(
            f"{os.fspath(path)!r} holds {samples} samples, more than max_pixels={max_pixels}; pass a larger "
            f"max_pixels (or None) if you trust the file"
        )
    data = np.ascontiguousarray(np.transpose(np.asarray(array[...]), order))
    if not is_stack and data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if is_stack and not stack:
        raise ValueError(f"{os.fspath(path)!r} is a stack of {data.shape[0]} planes; read it with stack=True")
    return data if not stack or is_stack else data[np.newaxis]


def is_ngff_image(path):
    """True for an OME-Zarr image group (multiscales metadata) that imgconv can read."""
    try:
        _, _, _, _, axes, _ = _open(path)
        _imgconv_layout(axes)
    except Exception:  # noqa: BLE001 - not zarr, not NGFF, or another layout
        return False
    return True


class _Level0:
    """The level-0 array of an OME-Zarr image, with its NGFF axes (``axes_of``)."""

    def __init__(self, array, axes):
        self.array, self.axes = array, axes
        self.shape, self.dtype, self.ndim = tuple(array.shape), array.dtype, array.ndim

    def __getitem__(self, key):
        return np.asarray(self.array[key])


def open_level0(path):
    """The level-0 array (read-only) of the OME-Zarr image at `path`, array-like with its axes."""
    group, _, _, _, axes, dataset = _open(path)
    return _Level0(group[dataset["path"]], axes)


def axes_of(source):
    """NGFF axes (``'cyx'``, ...) of what `open_level0` returned, else None."""
    return getattr(source, "axes", None) if isinstance(source, _Level0) else None


def is_imgconv_store(path):
    """True for a zarr group or array imgconv wrote (its attributes carry the mark)."""
    try:
        zarr = _zarr()
        return MARK in zarr.open(os.fspath(path), mode="r").attrs
    except Exception:  # not zarr, or no zarr package: not ours  # noqa: BLE001
        return False
