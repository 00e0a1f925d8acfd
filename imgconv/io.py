"""Read and write images as NumPy arrays.

`imread` and `imwrite` handle PNG, JPEG, TIFF, BMP and NumPy ``.npy`` files
with Pillow, tifffile and NumPy, and OME-Zarr image stores (``.zarr``
folders, with the optional `zarr` package; :mod:`imgconv._ngff` owns their
layout). They keep the data as it is on disk: no
silent change of dtype, no silent loss of channels or bits, and a
decompression-bomb limit that is checked from the file header before any
pixel is decoded. Writes are atomic.

Writing follows the rules of :mod:`imgconv._output`, the one owner of what
imgconv may write; reading depends on nothing else of imgconv.
"""

import collections
import errno
import json
import math
import numbers
import os
import stat
import struct
from collections.abc import Callable, Iterable
from typing import IO, Any

import imagecodecs
import numpy as np
import numpy.typing as npt
import tifffile
from PIL import BmpImagePlugin, GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from . import _ngff, _output
from ._shared.convert import to_float32
from ._typing import Bool, DtypePolicy, Int, Real, StrPath

__all__ = [
    "COMPRESSIONS",
    "DEFAULT_COMPRESSION",
    "DEFAULT_MAX_PIXELS",
    "DTYPE_POLICIES",
    "READ_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "ImageReadError",
    "can_store",
    "check_compression",
    "encoder",
    "image_to_float32",
    "imread",
    "imwrite",
    "output_codec_format",
    "read_info",
    "stored_mapping",
]

#: Default limit of `imread` on the number of samples (values) a file may
#: decode to, H * W * C: twice Pillow's default ``Image.MAX_IMAGE_PIXELS``
#: (``2 * 89_478_485``), the size at which Pillow itself refuses a file as a
#: decompression bomb (Pillow counts pixels; imgconv counts every channel, so
#: that 64 samples per pixel cannot multiply the memory by 64). Kept as a
#: constant so that a change of Pillow's global setting does not change
#: imgconv's limit.
DEFAULT_MAX_PIXELS = 178_956_970

#: File extensions understood by `imwrite` (lower case, sorted). Matching is
#: case-insensitive.
SUPPORTED_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".npy", ".png", ".tif", ".tiff", ".zarr")

#: File extensions `imread` reads by name in a folder (lower case, sorted): those
#: of `SUPPORTED_EXTENSIONS` plus GIF (its first frame) and WebP, read-only.
READ_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".npy", ".png", ".tif", ".tiff", ".webp")

#: Accepted values of ``imwrite(..., dtype_policy=...)`` (sorted).
DTYPE_POLICIES = ("clip", "float", "float16", "rescale")

#: Accepted values of ``imwrite(..., compression=...)`` per format (sorted); ``None``
#: means the format's default, `DEFAULT_COMPRESSION`.
COMPRESSIONS = {
    "TIFF": ("lzma", "lzw", "none", "packbits", "zlib", "zstd"),
    "PNG": ("none", "zlib"),
    "JPEG": ("none",),
    "BMP": ("none",),
    "NPY": ("none",),
    "ZARR": _ngff.COMPRESSIONS,
}

#: ``(compression, level)`` used when `imwrite` is not told: TIFF is Adobe
#: deflate at level 1 (libdeflate through imagecodecs: about 8x faster than
#: zlib's level 6 at 6% more bytes on filter responses, and read by every TIFF
#: reader: libtiff, Pillow, ImageJ/Fiji, napari, GDAL); PNG keeps zlib's 6.
DEFAULT_COMPRESSION = {"TIFF": ("zlib", 1), "PNG": ("zlib", 6), "ZARR": _ngff.DEFAULT_COMPRESSION}

_LEVELS = {"zlib": (0, 12), "zstd": (1, 22), "lzma": (0, 9)}  # accepted level ranges
_FORMAT_LEVELS = {"ZARR": _ngff.LEVELS}  # where a format's codec library takes other ranges

_EXTENSION_TO_FORMAT = {
    ".bmp": "BMP",
    ".jpeg": "JPEG",
    ".jpg": "JPEG",
    ".npy": "NPY",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".zarr": "ZARR",
}

# What the Pillow formats can hold: dtype -> allowed channel counts, plus the
# sentence used in error messages.
_PILLOW_CAPABILITIES: dict[str, tuple[dict[str, tuple[int, ...]], str]] = {
    "PNG": (
        {"bool": (1,), "uint8": (1, 2, 3, 4), "uint16": (1, 2, 3, 4)},
        "bool, uint8 or uint16 with 1 to 4 channels (gray, gray+alpha, RGB, RGBA)",
    ),
    "JPEG": (
        {"uint8": (1, 3)},
        "uint8 with 1 or 3 channels (gray or RGB)",
    ),
    "BMP": (
        {"bool": (1,), "uint8": (1, 3)},
        "bool or uint8 with 1 or 3 channels (gray or RGB)",
    ),
}

# Header-only openers: constructing the plugin class parses the header but,
# unlike ``PIL.Image.open``, does not apply Pillow's global
# ``MAX_IMAGE_PIXELS`` check, so that `max_pixels` alone decides.
_PILLOW_OPENERS = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}

_JPEG_OPTIONS = {"quality": 95, "subsampling": 0}  # 0 = 4:4:4 chroma
_PNG_COLOUR_TYPES = {0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA"}


class ImageReadError(ValueError):
    """A file could not be read as an image.

    Raised by `imread` for empty, truncated, corrupt or unsupported files.
    The message names the file. Subclass of `ValueError`.
    """


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------


def _check_path(path, name="path"):
    if isinstance(path, str):
        return path
    if isinstance(path, os.PathLike):
        fspath = os.fspath(path)
        if isinstance(fspath, str):
            return fspath
    raise TypeError(f"`{name}` must be a str or os.PathLike (str); got {type(path).__name__} {path!r}")


def _check_max_pixels(max_pixels):
    if max_pixels is None:
        return None
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral):
        raise TypeError(f"`max_pixels` must be a positive int or None; got {type(max_pixels).__name__} {max_pixels!r}")
    if max_pixels < 1:
        raise ValueError(f"`max_pixels` must be a positive int or None; got {max_pixels!r}")
    return int(max_pixels)


def _format_from_extension(path):
    extension = os.path.splitext(path)[1].lower()
    try:
        return _EXTENSION_TO_FORMAT[extension]
    except KeyError:
        raise ValueError(
            f"`path` must end with one of {', '.join(SUPPORTED_EXTENSIONS)} (case-insensitive); got {path!r}"
        ) from None


def _check_policy(dtype_policy):
    if not isinstance(dtype_policy, str):
        raise TypeError(
            f"`dtype_policy` must be one of {', '.join(map(repr, DTYPE_POLICIES))}; "
            f"got {type(dtype_policy).__name__} {dtype_policy!r}"
        )
    if dtype_policy not in DTYPE_POLICIES:
        raise ValueError(f"`dtype_policy` must be one of {', '.join(map(repr, DTYPE_POLICIES))}; got {dtype_policy!r}")
    return dtype_policy


def _check_array(array, stack=False):
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`array` must be a bool, integer or float array; got dtype {array.dtype}")
    if stack and array.ndim not in (3, 4):
        raise ValueError(f"`array` must have shape (P, H, W) or (P, H, W, C) with stack=True; got shape {array.shape}")
    if not stack and array.ndim not in (2, 3):
        raise ValueError(f"`array` must have shape (H, W) or (H, W, C); got shape {array.shape}")
    if 0 in array.shape:
        raise ValueError(f"`array` must not be empty; got shape {array.shape}")
    # native byte order for Pillow and tifffile; no copy when already native
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def _channels(array):
    return 1 if array.ndim == 2 else array.shape[2]


def can_store(extension: str, dtype: npt.DTypeLike | None, channels: Int) -> bool:
    """Whether `imwrite` stores an array of `dtype` with `channels` channels in that format as is.

    As is: without a `dtype_policy` conversion, so that reading the file back
    gives the same dtype and values (JPEG's compression aside).

    Parameters
    ----------
    extension : str
        A file extension of :data:`SUPPORTED_EXTENSIONS` (any case, with or
        without the dot).
    dtype : dtype_like
    channels : int
        1 for an ``(H, W)`` array, else the size of the last axis.

    Returns
    -------
    bool
        TIFF and NPY store any bool, integer or float array; PNG, JPEG and BMP
        what Pillow writes (see the formats table in the module notes).

    Raises
    ------
    ValueError
        For an extension imgconv does not write.

    Examples
    --------
    >>> from imgconv.io import can_store
    >>> can_store(".png", "uint16", 3), can_store(".png", "uint16", 5), can_store(".tif", "float32", 7)
    (True, False, True)
    """
    ext = extension.lower() if isinstance(extension, str) else extension
    ext = ext if not isinstance(ext, str) or ext.startswith(".") else "." + ext
    if ext not in _EXTENSION_TO_FORMAT:
        raise ValueError(f"`extension` must be one of {list(SUPPORTED_EXTENSIONS)}; got {extension!r}")
    fmt = _EXTENSION_TO_FORMAT[ext]
    dtype = np.dtype(dtype)
    if fmt not in _PILLOW_CAPABILITIES:
        return dtype.kind in "biuf"
    allowed, _ = _PILLOW_CAPABILITIES[fmt]
    return channels in allowed.get(dtype.name, ())


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------


def _sniff(head):
    """Format name from the first bytes of a file, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"\x93NUMPY"):
        return "NPY"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _shown(path):
    """`path` quoted for messages: printable, even with undecodable bytes (non-UTF-8 names)."""
    return repr(os.fsencode(path).decode("utf-8", "backslashreplace"))


def _check_samples(path, shape, max_pixels, what="decodes to an array"):
    """Refuse, from the header, more than `max_pixels` samples (every channel counts)."""
    shape = tuple(int(n) for n in shape)
    samples = math.prod(shape)
    if max_pixels is not None and samples > max_pixels:
        raise ValueError(
            f"{_shown(path)} {what} of shape {shape} = {samples} samples, more than "
            f"max_pixels={max_pixels} (possible decompression bomb; the limit counts "
            f"every value, H x W x C); pass a larger max_pixels, or max_pixels=None, "
            f"to read it anyway"
        )


def _read_error(path, fmt, exc):
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    # a library may quote the file name with its undecodable bytes (lone surrogates)
    detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
    return ImageReadError(f"cannot read {_shown(path)} as {fmt}: {detail}")


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

# opening a FIFO for reading waits for a writer, forever, unless non-blocking
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_READ_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _refuse_special(path, mode):
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
        raise ImageReadError(
            f"cannot read {_shown(path)}: it is {kind}, not a regular file; imread reads regular files only"
        )


def _open_regular(path):
    """Open `path` for binary reading, refusing anything but a regular file without blocking."""
    try:
        _refuse_special(path, os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno != getattr(errno, "ELOOP", None):
            raise
        raise ImageReadError(
            f"cannot read {_shown(path)}: too many levels of symbolic links (a symbolic link loop)"
        ) from None

    def opener(name, flags):
        descriptor = os.open(name, _READ_FLAGS)
        try:
            # checked again on what was opened: the path may have changed since the stat
            _refuse_special(path, os.fstat(descriptor).st_mode)
            if _NONBLOCK:  # a regular file: back to ordinary reads
                os.set_blocking(descriptor, True)
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor

    return open(path, "rb", opener=opener)


def _is_16bit_colour_png(head):
    """True for a 16-bit gray+alpha, RGB or RGBA PNG (from its IHDR chunk)."""
    return (
        head.startswith(b"\x89PNG")
        and head[12:16] == b"IHDR"
        and len(head) >= 26
        and head[24] == 16
        and head[25] in (2, 4, 6)
    )


def _read_pillow(file, path, fmt, head, max_pixels):
    try:
        image = _PILLOW_OPENERS[fmt](file)
    except MemoryError:
        raise
    except Exception as exc:
        raise _read_error(path, fmt, exc) from exc
    with image:
        width, height = image.size
        bands = len(image.getbands())  # CMYK decodes to 4 bands before it becomes RGB
        if image.mode in ("P", "PA"):  # expanded to RGB or RGBA below
            bands = 4 if image.mode == "PA" or "transparency" in image.info else 3
        _check_samples(path, (height, width) if bands == 1 else (height, width, bands), max_pixels)
        if _is_16bit_colour_png(head):  # Pillow would cut it to 8 bits: libpng through imagecodecs
            try:
                file.seek(0)
                return np.asarray(imagecodecs.png_decode(file.read()))
            except MemoryError:
                raise
            except Exception as exc:
                raise _read_error(path, fmt, exc) from exc
        try:
            image.load()
            mode = image.mode
            if mode in ("P", "PA"):
                has_alpha = mode == "PA" or "transparency" in image.info
                converted = image.convert("RGBA" if has_alpha else "RGB")
            elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                converted = image.convert("RGB")
            else:
                converted = image
            array = np.array(converted)
        except MemoryError:
            raise
        except Exception as exc:
            raise _read_error(path, fmt, exc) from exc
    if mode == "I" and fmt == "PNG":  # 16-bit gray decoded as int32 by old Pillow
        array = array.astype(np.uint16)
    return array


def _tiff_layout(path, shape, axes):
    """Return (height, width, axis order to (H, W[, C])) of a TIFF series."""
    extra = [axis for axis in axes if axis not in "YX"]
    if "Y" not in axes or "X" not in axes or len(extra) > 1 or (extra and extra[0] not in "SC"):
        raise ImageReadError(
            f"cannot read {_shown(path)}: the TIFF holds a series of shape {shape} with "
            f"axes {axes!r}; imread reads one image of shape (H, W) or (H, W, C) "
            f"(use tifffile.imread for stacks)"
        )
    order = [axes.index("Y"), axes.index("X")] + [axes.index(a) for a in extra]
    return shape[axes.index("Y")], shape[axes.index("X")], order


_TiffData = collections.namedtuple("_TiffData", "tiled compression chunks needed offsets counts shape bits")


def _tiff_data(series):
    """Where each page of `series` keeps its pixels, from its tags (None: a missing page)."""
    data = []
    for page in series.pages:
        key = None if page is None else page.keyframe
        data.append(
            None
            if key is None
            else _TiffData(
                key.is_tiled,
                key.compression,
                key.chunks,
                math.prod(key.chunked),
                page.dataoffsets,
                page.databytecounts,
                key.shape,
                key.bitspersample,
            )
        )
    return data


def _check_tiff_data(path, data, file_size, max_pixels):
    """Refuse, before decoding, huge tiles, missing tiles and data past the end of the file."""
    for page in data:
        if page is None:
            raise ImageReadError(f"cannot read {_shown(path)}: a page of the TIFF image is missing")
        kind = "tiles" if page.tiled else "strips"
        if page.tiled:  # each tile is decoded whole, however small the image
            _check_samples(path, page.chunks, max_pixels, what="stores its image in tiles")
        if len(page.offsets) < page.needed:
            # tifffile fills missing tiles with zeros; only one uncompressed strip
            # holding the whole image is a common, valid shortcut
            if page.tiled or page.compression != 1 or not page.offsets:
                raise ImageReadError(
                    f"cannot read {_shown(path)}: the TIFF lists {len(page.offsets)} of the "
                    f"{page.needed} {kind} of its image (corrupt or truncated)"
                )
            least = math.prod(page.shape) * page.bits // 8
            if page.offsets[0] + least > file_size:
                raise ImageReadError(
                    f"cannot read {_shown(path)}: the TIFF is truncated: its uncompressed "
                    f"image of shape {page.shape} needs {least} bytes from offset "
                    f"{page.offsets[0]}, past the end of the file ({file_size} bytes)"
                )
        for offset, count in zip(page.offsets, page.counts):
            if count and offset + count > file_size:
                raise ImageReadError(
                    f"cannot read {_shown(path)}: the TIFF is truncated: its {kind[:-1]} of "
                    f"{count} bytes at offset {offset} ends past the end of the file "
                    f"({file_size} bytes)"
                )


def _tiff_stack_layout(path, shape, axes):
    """(axis order to (planes..., Y, X[, C]), decoded shape (P, H, W[, C])) of a TIFF series."""
    channels = [a for a in axes if a in "SC"]
    planes = [a for a in axes if a not in "YXSC"]
    if "Y" not in axes or "X" not in axes or len(channels) > 1:
        raise ImageReadError(
            f"cannot read {_shown(path)}: the TIFF holds a series of shape {shape} with "
            f"axes {axes!r}, not a stack of (H, W) or (H, W, C) planes"
        )
    order = [axes.index(a) for a in planes] + [axes.index("Y"), axes.index("X")] + [axes.index(a) for a in channels]
    count = math.prod(shape[axes.index(a)] for a in planes)
    plane = (shape[axes.index("Y")], shape[axes.index("X")]) + tuple(shape[axes.index(a)] for a in channels)
    return order, (count,) + plane


def _read_tiff(file, path, fmt, head, max_pixels, stack=False):
    file_size = os.fstat(file.fileno()).st_size
    try:
        tif = tifffile.TiffFile(file)
    except MemoryError:
        raise
    except Exception as exc:
        raise _read_error(path, fmt, exc) from exc
    with tif:
        try:
            first = tif.pages[0] if len(tif.pages) else None
            empty = first is not None and 0 in first.shape
            series = tif.series[0] if first is not None and not empty and tif.series else None
            if series is not None:
                shape, axes, dtype = tuple(series.shape), series.axes, series.dtype
                colormap = first.colormap if first.photometric == tifffile.PHOTOMETRIC.PALETTE else None
                data = _tiff_data(series)
        except MemoryError:
            raise
        except Exception as exc:
            raise _read_error(path, fmt, exc) from exc
        if empty:
            raise ImageReadError(f"cannot read {_shown(path)}: the TIFF image is empty (shape {first.shape})")
        if series is None:
            raise ImageReadError(
                f"cannot read {_shown(path)}: the TIFF holds no image (no readable IFD; "
                f"the first IFD offset is 0 or invalid)"
            )
        if stack:
            order, decoded = _tiff_stack_layout(path, shape, axes)
            if colormap is not None and len(decoded) == 3:
                decoded = decoded + (3,)  # indices become RGB
        else:
            height, width, order = _tiff_layout(path, shape, axes)  # refuses stacks
            decoded = tuple(shape[axis] for axis in order)
            if colormap is not None and len(decoded) == 2:
                decoded = (height, width, 3)  # indices become RGB
        _check_samples(path, decoded, max_pixels)
        if dtype is None or dtype.kind not in "biuf":
            raise ImageReadError(
                f"cannot read {_shown(path)}: TIFF sample type {dtype} is not supported "
                f"(only bool, integer and float images are)"
            )
        _check_tiff_data(path, data, file_size, max_pixels)
        try:
            array = series.asarray()
        except MemoryError:
            raise
        except Exception as exc:
            raise _read_error(path, fmt, exc) from exc
    array = np.transpose(array, order)
    if stack:
        n_planes = sum(a not in "YXSC" for a in axes)
        array = array.reshape((-1,) + array.shape[n_planes:])
        if colormap is not None and array.ndim == 3:
            try:
                array = np.moveaxis(np.asarray(colormap)[:, array], 0, -1)
            except IndexError as exc:
                raise _read_error(path, fmt, exc) from exc
        return array
    if colormap is not None and array.ndim == 2:
        # palette -> RGB with the file's 16-bit colour map, (H, W, 3)
        try:
            array = np.moveaxis(np.asarray(colormap)[:, array], 0, -1)
        except IndexError as exc:
            raise _read_error(path, fmt, exc) from exc
    return array


def _npy_header(file, file_size):
    """(shape, dtype, data offset) from a .npy header, without reading the data."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(file)
    elif version in ((2, 0), (3, 0)):
        # numpy reads (allocates) a header of any announced length: check it first
        start = file.tell()
        raw = file.read(4)
        if len(raw) < 4:
            raise ValueError("the file ends inside the .npy header")
        (length,) = struct.unpack("<I", raw)
        if start + 4 + length > file_size:
            raise ValueError(
                f"the .npy header announces {length} bytes, the file holds only "
                f"{file_size - start - 4} after the header length"
            )
        file.seek(start)
        # 3.0 is 2.0 with a UTF-8 header, which only matters to the field names
        # of structured dtypes, refused anyway
        shape, _, dtype = np.lib.format.read_array_header_2_0(file)
    else:
        raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
    return shape, dtype, file.tell()


def _read_npy(file, path, fmt, head, max_pixels):
    file_size = os.fstat(file.fileno()).st_size
    try:
        shape, dtype, data_offset = _npy_header(file, file_size)
    except MemoryError:
        raise
    except Exception as exc:
        raise _read_error(path, fmt, exc) from exc
    if len(shape) not in (2, 3) or min(shape) < 1:  # a header may say -1
        raise ImageReadError(
            f"cannot read {_shown(path)}: the .npy array has shape {shape}; "
            f"an image needs shape (H, W) or (H, W, C) with no empty axis"
        )
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise ImageReadError(
            f"cannot read {_shown(path)}: .npy dtype {dtype} is not supported (only bool, integer and float images are)"
        )
    _check_samples(path, shape, max_pixels)
    data_bytes = math.prod(shape) * dtype.itemsize
    if data_bytes > file_size - data_offset:  # before numpy allocates the array
        raise ImageReadError(
            f"cannot read {_shown(path)}: the file is truncated: its .npy header "
            f"announces a {dtype} array of shape {shape}, {data_bytes} bytes of data; "
            f"the file holds {file_size - data_offset}"
        )
    try:
        file.seek(0)
        return np.load(file, allow_pickle=False)
    except MemoryError:
        raise
    except Exception as exc:
        raise _read_error(path, fmt, exc) from exc


_READERS = {
    "PNG": _read_pillow,
    "JPEG": _read_pillow,
    "BMP": _read_pillow,
    "GIF": _read_pillow,
    "WEBP": _read_pillow,
    "TIFF": _read_tiff,
    "NPY": _read_npy,
}


def imread(path: StrPath, *, max_pixels: Int | None = DEFAULT_MAX_PIXELS, stack: Bool = False) -> np.ndarray:
    """Read an image file into a NumPy array, in the file's own dtype.

    Parameters
    ----------
    path : str or os.PathLike
        Regular file to read (a symbolic link to one is followed). The format
        is recognised from the file's first bytes, not from its name: PNG,
        JPEG, TIFF (classic and BigTIFF, any compression imagecodecs
        decodes), BMP, GIF (the first frame), WebP or a NumPy ``.npy`` file.
    max_pixels : int or None, optional
        Largest accepted number of samples (values) decoded, ``H * W * C``:
        every channel counts, so an RGB image of ``H * W`` pixels counts
        ``3 * H * W``. It is read from the file header before any pixel is
        decoded, so that a decompression bomb costs neither time nor memory.
        What counts is the larger of what is decoded and what is returned:
        a palette image counts its RGB (or RGBA) expansion, CMYK JPEG its
        4 bands, a TIFF its whole first series; each tile of a tiled TIFF
        must fit the limit too, as it is decoded whole. Default
        `DEFAULT_MAX_PIXELS` (178_956_970, the pixel count at which Pillow
        refuses a file). ``None`` disables the check. Pillow's global
        ``Image.MAX_IMAGE_PIXELS`` is not consulted.
    stack : bool, default False
        Return every plane: shape ``(P, H, W)`` or ``(P, H, W, C)``. A TIFF
        stack (multi-page, or any series with axes beyond Y, X and the
        channels, e.g. ZYX or TZCYX) gives its planes in file order, the
        extra axes flattened; any other image gives ``P = 1``. Without it a
        stack is refused. `max_pixels` counts the whole stack.

    Returns
    -------
    image : ndarray, shape (H, W) or (H, W, C)
        C-contiguous, writeable, native byte order. The dtype is the file's:
        ``bool`` for 1-bit images, ``uint8`` for 8-bit, ``uint16`` for
        16-bit, ``float32`` for float TIFF, any bool/integer/float dtype for
        TIFF and ``.npy``. Channels are kept: gray+alpha gives C = 2, RGBA
        gives C = 4, multi-channel TIFF gives all C channels.

    Raises
    ------
    TypeError
        If `path` is not a str or os.PathLike, or `max_pixels` is not an int
        or None.
    ValueError
        If `max_pixels` is not positive, or if the header announces more than
        `max_pixels` samples (the message names the file, the shape, its
        sample count and the limit).
    ImageReadError
        (a `ValueError`) If the file is empty, truncated, corrupt, of an
        unknown format, or holds data that is not one image (a TIFF stack or
        a TIFF without pages, a complex or object
        array); if `path` is not a regular file (a directory, FIFO, socket
        or device, refused without waiting on it) or is a symbolic link
        loop. The message names the file.
    FileNotFoundError
        If `path` does not exist.
    OSError
        If the file cannot be opened (e.g. permission denied).

    See Also
    --------
    imwrite : The inverse.
    image_to_float32 : Convert the result to float32 in [0, 1].

    Notes
    -----
    Conversions, all lossless:

    - palette images (PNG, BMP) become RGB, or RGBA if the palette has
      transparency; palette TIFF becomes RGB ``uint16`` through the file's
      colour map;
    - CMYK and YCbCr JPEG become RGB;
    - planar TIFF (``(C, H, W)`` on disk) is returned as ``(H, W, C)``.

    Not applied: EXIF orientation (pixels come in stored order), colour
    profiles and the colour-key transparency of gray or RGB PNG. A
    multi-frame file (animated PNG, MPO) gives its first frame; a TIFF gives
    its first series and refuses it if it is a stack.

    16-bit PNG is read as ``uint16``, gray or colour (16-bit gray+alpha, RGB
    and RGBA through libpng, since Pillow decodes them only to 8 bits).  A GIF
    gives its first frame, as RGB (RGBA with transparency) or gray.

    The file is opened read-only, once, and never modified: the checks
    apply to the opened file, whatever happens to `path` meanwhile. Names
    that are not valid UTF-8 (``os.fsdecode`` of raw bytes) are read as any
    other; messages show their undecodable bytes as ``\\xNN``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from imgconv.io import imread, imwrite
    >>> ramp = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "ramp.png")
    ...     imwrite(path, ramp)
    ...     image = imread(path)
    >>> image.dtype, image.shape
    (dtype('uint16'), (3, 4))
    >>> bool(np.array_equal(image, ramp))
    True
    """
    path = _check_path(path)
    max_pixels = _check_max_pixels(max_pixels)
    if _is_zarr_store(path):
        try:
            return _ngff.read_image(path, max_pixels, stack=bool(stack))
        except ValueError as exc:
            raise ImageReadError(f"cannot read {_shown(path)}: {exc}") from None
    with _open_regular(path) as file:
        head = file.read(64)
        if not head:
            raise ImageReadError(f"cannot read {_shown(path)}: the file is empty (0 bytes)")
        fmt = _sniff(head)
        if fmt is None:
            raise ImageReadError(
                f"cannot read {_shown(path)}: not a PNG, JPEG, TIFF, BMP, GIF, WebP or NPY file "
                f"(it starts with {head[:8]!r})"
            )
        file.seek(0)
        if stack and fmt == "TIFF":
            array = _read_tiff(file, path, fmt, head, max_pixels, stack=True)
        else:
            array = _READERS[fmt](file, path, fmt, head, max_pixels)
            array = array[None] if stack else array
    if array.dtype.kind not in "biuf" or array.ndim - bool(stack) not in (2, 3):
        raise ImageReadError(
            f"cannot read {_shown(path)}: decoded to an unsupported array (dtype {array.dtype}, shape {array.shape})"
        )
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
    if not array.flags.writeable:
        array = array.copy()
    return array


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


def _is_zarr_store(path):
    return path.lower().endswith(".zarr") and os.path.isdir(path) and not os.path.islink(path)


def _float_target_dtype(fmt):
    return np.uint8 if fmt in _PILLOW_CAPABILITIES else np.uint16


def _apply_dtype_policy(array, fmt, dtype_policy, path):
    """Array to store: integer/bool unchanged, float by `dtype_policy`."""
    if array.dtype.kind != "f":
        return array
    if dtype_policy in ("float", "float16"):
        if fmt in ("NPY", "ZARR") and dtype_policy == "float":
            return array
        if fmt in ("NPY", "TIFF", "ZARR"):
            return array.astype(np.float16 if dtype_policy == "float16" else np.float32, copy=False)
        raise ValueError(
            f"`dtype_policy` {dtype_policy!r} writes float TIFF (.tif, .tiff), .npy or .zarr "
            f"only; {fmt} stores integers; got path {path!r}; use "
            f"dtype_policy='clip' or 'rescale' for {fmt}"
        )
    target = _float_target_dtype(fmt)
    maxval = np.iinfo(target).max
    values = array.astype(np.float64)
    if dtype_policy == "clip":
        if np.isnan(values).any():
            raise ValueError(
                "`array` contains NaN, which dtype_policy='clip' cannot map to an "
                "integer; replace it (numpy.nan_to_num) or use dtype_policy='float'"
            )
        scaled = np.clip(values, 0.0, 1.0) * maxval
    else:  # rescale
        if not np.isfinite(values).all():
            raise ValueError(
                "`array` contains NaN or infinity, which dtype_policy='rescale' "
                "cannot scale; replace it (numpy.nan_to_num) or use dtype_policy='float'"
            )
        low, high = values.min(), values.max()
        if high == low:
            return np.zeros(array.shape, dtype=target)
        with np.errstate(over="ignore"):
            span = high - low
        if np.isfinite(span):
            unit = (values - low) / span
        else:  # range overflows float64: work on halves
            unit = (values / 2 - low / 2) / (high / 2 - low / 2)
        scaled = np.clip(unit, 0.0, 1.0) * maxval
    return np.rint(scaled).astype(target)


def stored_mapping(
    path: StrPath, array: npt.ArrayLike, *, dtype_policy: DtypePolicy = "clip"
) -> dict[str, float] | None:
    """How `imwrite` maps a float `array` to the integers of the format of `path`: scale and offset.

    Parameters
    ----------
    path, array, dtype_policy
        As for `imwrite`.

    Returns
    -------
    mapping : dict or None
        ``{"scale": s, "offset": o}`` with ``stored = round(value * s + o)``
        (for 'clip', values first clipped to [0, 1]); a user recovers
        ``value = (stored - o) / s``. None when the values are stored as they
        are (integer or bool arrays, the 'float' policies).

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.io import stored_mapping
    >>> stored_mapping("a.png", np.array([[-1.0, 1.0]]), dtype_policy="rescale")
    {'scale': 127.5, 'offset': 127.5}
    """
    array = np.asarray(array)
    if array.dtype.kind != "f" or _check_policy(dtype_policy) in ("float", "float16"):
        return None
    maxval = float(np.iinfo(_float_target_dtype(_format_from_extension(_check_path(path)))).max)
    if dtype_policy == "clip":
        return {"scale": maxval, "offset": 0.0}
    low, high = float(np.min(array)), float(np.max(array))  # the same range _apply_dtype_policy maps
    if high == low:
        return {"scale": 0.0, "offset": 0.0}
    scale = maxval / (high - low)
    return {"scale": scale, "offset": -low * scale}


def _check_can_hold(fmt, data, array):
    """Refuse data that `fmt` cannot store, naming format, dtype and shape."""
    if fmt in ("NPY", "TIFF", "ZARR"):  # any channel count; floats are float32 for TIFF
        return
    allowed, description = _PILLOW_CAPABILITIES[fmt]
    if _channels(data) in allowed.get(data.dtype.name, ()):
        return
    if data.dtype == np.uint16 and fmt == "PNG":
        hint = "use .tif or .npy for 16-bit images with more than one channel"
    elif data.dtype == np.uint16:
        hint = "use .png (1 channel), .tif or .npy for 16-bit images"
    else:
        hint = "use .tif or .npy"
    stored = "" if data.dtype == array.dtype else f" (stored as {data.dtype})"
    raise ValueError(
        f"{fmt} cannot store a {array.dtype}{stored} array of shape {array.shape}; {fmt} holds {description}; {hint}"
    )


def _write_pillow(file, data, fmt, options=None):
    options = options or {}
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if fmt == "PNG" and data.dtype == np.uint16 and data.ndim == 3:  # Pillow has no 16-bit colour modes
        name, level = options.get("compression") or check_compression("PNG", None, None, False)
        file.write(imagecodecs.png_encode(np.ascontiguousarray(data), level=0 if name == "none" else level))
        return
    image = Image.fromarray(np.ascontiguousarray(data))
    save = dict(_JPEG_OPTIONS) if fmt == "JPEG" else {}
    if fmt == "PNG":
        name, level = options.get("compression") or check_compression("PNG", None, None, False)
        save["compress_level"] = 0 if name == "none" else level
        text = _description(options)
        if text is not None:
            info = PngImagePlugin.PngInfo()
            info.add_itxt("imgconv", text)
            save["pnginfo"] = info
    if options.get("resolution") is not None:
        save["dpi"] = options["resolution"]
    if options.get("icc") is not None:
        save["icc_profile"] = options["icc"]
    image.save(file, format=fmt, **save)


def _description(options):
    """The JSON that describes a result (channel names, imgconv's metadata), or None."""
    names, info = options.get("names"), options.get("info")
    if names is None and info is None:
        return None
    return json.dumps({"channels": names, **(info or {})}, ensure_ascii=True, allow_nan=False)


def _write_tiff(file, data, fmt, options=None):
    options = options or {}
    if options.get("stack"):
        return _write_tiff_stack(file, data, options)
    names, text = options.get("names"), _description(options)
    tags = {}
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if (
        names is not None
        and data.ndim == 3
        and data.shape[2] not in (3, 4)
        and data.dtype in (np.uint8, np.uint16, np.float32)
    ):
        # An ImageJ hyperstack, one plane per channel, labelled: Fiji and napari show the names;
        # imread reads the planes back as (H, W, C).
        data = np.moveaxis(data, -1, 0)
        tags = {"imagej": True, "metadata": {"axes": "CYX", "Labels": list(names), "Info": text}}
    elif data.ndim == 2:
        layout = {"photometric": "minisblack"}
    elif data.dtype == bool:
        # tifffile packs contiguous 1-bit samples plane by plane, not pixel by
        # pixel as TIFF requires, and so cannot read them back; separate
        # planes are plain bilevel images, read back as (H, W, C)
        data = np.moveaxis(data, -1, 0)
        layout = {"photometric": "minisblack", "planarconfig": "separate"}
    elif data.shape[2] in (3, 4):
        # 3 channels: RGB; 4 channels: RGB + unassociated alpha
        layout = {"photometric": "rgb", "planarconfig": "contig"}
    else:
        layout = {"photometric": "minisblack", "planarconfig": "contig"}
    if tags:
        layout = tags
    elif text is not None:
        layout["description"], layout["metadata"] = text, None  # our JSON instead of tifffile's shape
    _tiff_save(file, data, layout, options)


def _tiff_save(file, data, layout, options):
    """Write `data` with the layout tags chosen by the caller plus the codec, resolution and ICC profile."""
    name, level, predictor = options.get("compression") or check_compression("TIFF", None, None, False)
    if name != "none":
        layout["compression"] = name
        if level is not None:
            layout["compressionargs"] = {"level": level}
        if predictor and data.dtype != bool:  # horizontal for integers, floating point for floats
            layout["predictor"] = True
    if options.get("resolution") is not None:
        layout["resolution"], layout["resolutionunit"] = options["resolution"], "INCH"
    if options.get("icc") is not None:
        layout["iccprofile"] = options["icc"]
    if not isinstance(getattr(file, "name", ""), str):
        # tifffile splits a file object's name as a path: os.fdopen gives an int
        file = tifffile.FileHandle(file, name="image.tif")
    tifffile.imwrite(file, data, **layout)


def _write_tiff_stack(file, data, options):
    """A stack (P, H, W[, C]) as one page per plane (and channel), labelled as an ImageJ hyperstack if it can be."""
    names = options.get("names")
    layout = {}
    if data.dtype in (np.uint8, np.uint16, np.float32):
        axes = "ZYX" if data.ndim == 3 else "ZCYX"
        planes = data if data.ndim == 3 else np.moveaxis(data, -1, 1)
        metadata = {"axes": axes}
        if _description(options) is not None:
            metadata["Info"] = _description(options)
        if names is not None and data.ndim == 4:
            metadata["Labels"] = list(names) * data.shape[0]
        layout = {"imagej": True, "metadata": metadata}
    elif data.dtype == bool and data.ndim == 4:  # 1-bit samples as separate planes (see _write_tiff)
        planes = np.moveaxis(data, -1, 1)
        layout = {"photometric": "minisblack", "planarconfig": "separate"}
    else:  # tifffile's own shape record: read back as the same (P, H, W[, C]) series
        planes = data
        layout = {"photometric": "minisblack", "planarconfig": "contig" if data.ndim == 4 else None}
    _tiff_save(file, planes, layout, options)


def _write_npy(file, data, fmt, options=None):
    np.save(file, data, allow_pickle=False)


_WRITERS = {
    "PNG": _write_pillow,
    "JPEG": _write_pillow,
    "BMP": _write_pillow,
    "TIFF": _write_tiff,
    "NPY": _write_npy,
}


def _one_of(names):
    """``'a', 'b' or 'c'``."""
    names = [repr(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def output_codec_format(extension: str | None) -> str:
    """The format whose codec options a batch or ``imgconv filter`` output of `extension` takes.

    'ZARR' for an OME-Zarr store (``.zarr`` or ``zarr``, any case), else 'TIFF'
    (the format those options exist for); the key of :func:`check_compression`.

    Examples
    --------
    >>> from imgconv.io import output_codec_format
    >>> output_codec_format('.zarr'), output_codec_format('.tif'), output_codec_format(None)
    ('ZARR', 'TIFF', 'TIFF')
    """
    return "ZARR" if (extension or "").lower().lstrip(".") == "zarr" else "TIFF"


def check_compression(
    fmt: str, compression: str | None, level: Int | None, predictor: Bool
) -> tuple[str, int | None, bool] | tuple[str, int | None]:
    """Check the codec options of `imwrite` for format `fmt` ('TIFF', 'PNG', ...) before any work.

    Returns ``(compression, level, predictor)`` for TIFF, ``(compression,
    level)`` for the other formats, defaults filled in; raises
    ValueError/TypeError naming the bad option (see `imwrite`).
    """
    choices = COMPRESSIONS[fmt]
    if compression is None:
        compression, default_level = DEFAULT_COMPRESSION.get(fmt, ("none", None))
        level = default_level if level is None else level
    if not isinstance(compression, str) or compression.lower() not in choices:
        raise ValueError(
            f"`compression` must be one of {', '.join(map(repr, choices))} or None for {fmt}; got {compression!r}"
        )
    compression = compression.lower()
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, numbers.Integral):
            raise TypeError(f"`level` must be an int or None; got {type(level).__name__} {level!r}")
        levels = _FORMAT_LEVELS.get(fmt, _LEVELS)
        low, high = levels.get(compression, (None, None))
        if low is None:
            raise ValueError(
                f"`level` goes with compression {_one_of(levels)}; got level={level!r} with compression {compression!r}"
            )
        if not low <= level <= high:
            raise ValueError(f"`level` must be from {low} to {high} for {compression!r}; got {level!r}")
        level = int(level)
    elif compression in _LEVELS and fmt == "PNG":
        level = DEFAULT_COMPRESSION["PNG"][1]
    if not isinstance(predictor, (bool, np.bool_)):
        raise TypeError(f"`predictor` must be True or False; got {predictor!r}")
    if predictor and (fmt != "TIFF" or compression == "none"):
        raise ValueError(
            f"`predictor` goes with a compressed TIFF; got predictor=True for {fmt} with compression {compression!r}"
        )
    return (compression, level, bool(predictor)) if fmt == "TIFF" else (compression, level)


def imwrite(
    path: StrPath,
    array: npt.ArrayLike,
    *,
    dtype_policy: DtypePolicy = "clip",
    compression: str | None = None,
    level: Int | None = None,
    predictor: Bool = False,
    channel_names: Iterable[str] | None = None,
    metadata: dict[str, Any] | None = None,
    resolution: Iterable[Real] | None = None,
    icc_profile: bytes | None = None,
    stack: Bool = False,
) -> None:
    """Write an array to an image file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Target file. The format comes from the extension, case-insensitive:
        ``.png``, ``.jpg``/``.jpeg``, ``.tif``/``.tiff``, ``.bmp``, ``.npy``
        (see `SUPPORTED_EXTENSIONS`). The folder must exist. An existing file
        is replaced (keeping its permission bits); a symbolic link is
        refused (`imgconv._output.UnsafePathError`, a `ValueError`): imgconv
        never writes through a link it did not create.
    array : array_like, shape (H, W) or (H, W, C)
        Bool, integer or float image. ``(H, W, 1)`` is stored as a
        single-channel image (it reads back as ``(H, W)``, except from
        ``.npy``). The array is not modified.
    dtype_policy : {'clip', 'float', 'rescale'}, optional
        How a float `array` is stored; ignored for bool and integer arrays,
        which are always written as they are. Default ``'clip'``.

        - ``'clip'``: clip to [0, 1], multiply by the largest value of the
          integer target and round to nearest (``numpy.rint``). The target is
          ``uint8`` for PNG, JPEG and BMP, and ``uint16`` for TIFF and
          ``.npy``. NaN is refused.
        - ``'rescale'``: map the image's own minimum to 0 and maximum to the
          largest value of the same integer target, rounding to nearest; a
          constant image becomes all zeros. NaN and infinity are refused.
        - ``'float'``: keep floats: TIFF stores ``float32`` (float16 and
          float64 are cast to float32), ``.npy`` stores the array's own
          dtype unchanged. Refused for PNG, JPEG and BMP.
        - ``'float16'``: as ``'float'``, in half precision (TIFF and
          ``.npy``): half the bytes, about 3 significant digits, values
          beyond 65504 become infinite. For users who accept that.
    compression : str or None, optional
        Codec, one of `COMPRESSIONS` for the format: TIFF ``'zlib'`` (Adobe
        deflate), ``'zstd'``, ``'lzw'``, ``'lzma'``, ``'packbits'`` or
        ``'none'``; PNG ``'zlib'`` or ``'none'``. None (default): the
        format's `DEFAULT_COMPRESSION` (TIFF deflate level 1, PNG level 6).
    level : int or None, optional
        Compression level of ``'zlib'`` (0-12; libdeflate goes past zlib's
        9), ``'zstd'`` (1-22) or ``'lzma'`` (0-9); None: the codec's default
        (or the format default's level).
    predictor : bool, default False
        TIFF only: apply the horizontal (integers) or floating-point
        (floats) predictor before compressing; smaller files for smooth
        images, slower to write.
    channel_names : sequence of str, optional
        A name per channel (``'sobel_h@d1'``), stored with the image: a
        multi-channel uint8/uint16/float32 TIFF becomes an ImageJ hyperstack
        (one plane per channel, the names as its labels, so Fiji and napari
        show them); other TIFFs and PNG keep a JSON description. `read_info`
        reads them back. For ``.npy``, a JSON file beside it
        (``result.npy.json``, written after the array) holds them. In a
        ``.zarr`` store, OME-Zarr ``omero`` labels.
    metadata : dict, optional
        JSON-serialisable description (imgconv stores its version and the
        pipeline), kept beside the channel names.
    resolution : (float, float), optional
        Pixels per inch (x, y), for TIFF, PNG, JPEG and BMP.
    icc_profile : bytes, optional
        An ICC colour profile, for TIFF, PNG and JPEG.
    stack : bool, default False
        `array` is a stack of planes ``(P, H, W)`` or ``(P, H, W, C)``,
        written as a multi-page TIFF (an ImageJ hyperstack, ZYX or ZCYX, for
        uint8/uint16/float32); ``imread(path, stack=True)`` reads it back.

    Raises
    ------
    TypeError
        If `path` is not a str or os.PathLike, `array` is not bool, integer or
        float (e.g. complex or object), or `dtype_policy` is not a str.
    ValueError
        If the extension is not supported (the message lists the supported
        ones), `dtype_policy` is unknown, `array` is not 2-D or 3-D or is
        empty, or the format cannot hold the data (the message names the
        format, dtype and shape): more than 4 channels to PNG, JPEG or BMP
        (use .tif or .npy), 16-bit to JPEG or BMP, 16-bit multi-channel to
        PNG, 2 or 4 channels to JPEG, alpha to BMP, integer types other
        than uint8/uint16 (and bool) to PNG, JPEG or BMP, ``'float'`` to PNG,
        JPEG or BMP; or `path` is a symbolic link or not a regular file.
    OSError
        If the file cannot be written (e.g. the folder does not exist).

    See Also
    --------
    imread : The inverse.

    Notes
    -----
    What each format holds:

    ====== ======================================== ================
    format dtypes                                   channels
    ====== ======================================== ================
    PNG    bool, uint8; uint16                      1-4; 1
    JPEG   uint8 (quality 95, 4:4:4 chroma; lossy)  1, 3
    BMP    bool, uint8                              1, 3
    TIFF   bool, any int, float32 (zlib/deflate)    any
    NPY    bool, any int, any float                 any
    ====== ======================================== ================

    TIFF with 3 or 4 channels is tagged RGB (4: RGB + unassociated alpha);
    other channel counts are stored as contiguous gray samples
    (``photometric='minisblack'``).

    The data go to a temporary file ``.imgconv-<16 hex digits>.part`` in the
    target folder (a name of fixed length, so a target name at the file
    system's limit works), which is flushed, ``os.fsync``-ed and moved onto
    the target with ``os.replace`` (:mod:`imgconv._output` owns these rules
    for every writer of imgconv). A reader never sees a half-written file,
    and on any error (including KeyboardInterrupt) the temporary file is
    removed and an existing target stays as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from imgconv.io import imread, imwrite
    >>> image = np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     imwrite(os.path.join(folder, "a.png"), image)  # 'clip'
    ...     imwrite(os.path.join(folder, "b.png"), image, dtype_policy="rescale")
    ...     imwrite(os.path.join(folder, "c.tif"), image, dtype_policy="float")
    ...     clipped = imread(os.path.join(folder, "a.png"))
    ...     rescaled = imread(os.path.join(folder, "b.png"))
    ...     floats = imread(os.path.join(folder, "c.tif"))
    >>> clipped
    array([[  0,   0, 128, 255, 255]], dtype=uint8)
    >>> rescaled
    array([[  0,  51, 102, 153, 255]], dtype=uint8)
    >>> floats
    array([[-0.5,  0. ,  0.5,  1. ,  2. ]], dtype=float32)

    Data a format cannot hold are refused, never truncated:

    >>> imwrite("bands.png", np.zeros((4, 4, 6), np.uint8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: PNG cannot store a uint8 array of shape (4, 4, 6); ...; use .tif or .npy
    """
    _output.write_atomic(
        path,
        encoder(
            path,
            array,
            dtype_policy=dtype_policy,
            compression=compression,
            level=level,
            predictor=predictor,
            channel_names=channel_names,
            metadata=metadata,
            resolution=resolution,
            icc_profile=icc_profile,
            stack=stack,
        ),
    )


def _check_description(array, channel_names, metadata, resolution, icc_profile):
    """The options that describe a result, checked: names, metadata, resolution, ICC profile."""
    if channel_names is not None:
        if isinstance(channel_names, str) or not all(isinstance(n, str) for n in channel_names):
            raise TypeError(f"`channel_names` must be a sequence of str or None; got {channel_names!r}")
        channel_names = list(channel_names)
        if len(channel_names) != _channels(array):
            raise ValueError(
                f"`channel_names` must name each of the {_channels(array)} channels; got {len(channel_names)} names"
            )
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"`metadata` must be a dict or None; got {type(metadata).__name__}")
        try:
            json.dumps(metadata, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`metadata` must be JSON-serialisable; {exc}") from None
    if resolution is not None:
        try:
            resolution = tuple(float(v) for v in resolution)
        except (TypeError, ValueError):
            resolution = ()
        if len(resolution) != 2 or not all(math.isfinite(v) and v > 0 for v in resolution):
            raise ValueError(f"`resolution` must be (x, y) pixels per inch, positive; got {resolution!r}")
    if icc_profile is not None and not isinstance(icc_profile, bytes):
        raise TypeError(f"`icc_profile` must be bytes or None; got {type(icc_profile).__name__}")
    return {"names": channel_names, "info": metadata, "resolution": resolution, "icc": icc_profile}


def encoder(
    path: StrPath,
    array: npt.ArrayLike,
    *,
    dtype_policy: DtypePolicy = "clip",
    compression: str | None = None,
    level: Int | None = None,
    predictor: Bool = False,
    channel_names: Iterable[str] | None = None,
    metadata: dict[str, Any] | None = None,
    resolution: Iterable[Real] | None = None,
    icc_profile: bytes | None = None,
    stack: Bool = False,
) -> Callable[[IO[bytes]], None] | _output.FolderContent:
    """Check `array` for the format of `path` and return ``encode(file)``, which writes it.

    The checks and conversions of `imwrite`, without the writing: every
    writer of imgconv (`imwrite`, the batch outputs, the contact sheet)
    encodes with it and writes through :mod:`imgconv._output`.

    Parameters
    ----------
    path, array, dtype_policy
        As for `imwrite`.

    Returns
    -------
    encode : callable or imgconv._output.FolderContent
        ``encode(file)`` writes the image to a binary file object; for a
        ``.zarr`` store, what builds the folder.
    """
    path = _check_path(path)
    fmt = _format_from_extension(path)
    dtype_policy = _check_policy(dtype_policy)
    if not isinstance(stack, (bool, np.bool_)):
        raise TypeError(f"`stack` must be True or False; got {stack!r}")
    if stack and fmt not in ("TIFF", "ZARR"):
        raise ValueError(f"`stack` writes a stack of planes to TIFF (.tif, .tiff) or .zarr only; got path {path!r}")
    array = _check_array(array, stack)
    if fmt in _PILLOW_CAPABILITIES and _channels(array) > 4:
        _check_can_hold(fmt, array, array)  # raises: names format, dtype, shape
    options = _check_description(array[0] if stack else array, channel_names, metadata, resolution, icc_profile)
    options["stack"] = bool(stack)
    options["compression"] = check_compression(fmt, compression, level, predictor)
    data = _apply_dtype_policy(array, fmt, dtype_policy, path)
    _check_can_hold(fmt, data, array)
    if fmt == "ZARR":
        if icc_profile is not None:
            raise ValueError("`icc_profile` cannot be stored in an OME-Zarr store; pass None for .zarr")
        _ngff.require_zarr()

        def build(folder):
            _ngff.write_image(
                folder,
                data,
                stack=bool(stack),
                channel_names=options["names"],
                metadata=options["info"],
                resolution=options["resolution"],
                compression=options["compression"],
            )

        return _output.FolderContent(build, _ngff.is_imgconv_store)
    writer = _WRITERS[fmt]

    def encode(file):
        writer(file, data, fmt, options)

    text = _description(options)
    if fmt == "NPY" and text is not None:  # .npy has no place for names: a JSON file beside it
        encoded = text.encode("ascii")
        encode.sidecar = (path + SIDECAR_SUFFIX, lambda file: file.write(encoded))  # type: ignore[attr-defined]
    return encode


#: What follows the name of a ``.npy`` file for its description: ``result.npy`` -> ``result.npy.json``.
SIDECAR_SUFFIX = ".json"


def _read_sidecar(path):
    """The JSON description next to a ``.npy`` file, or {} (none, unreadable, or not imgconv's)."""
    try:
        with open(path + SIDECAR_SUFFIX, "rb") as file:
            text = file.read(1 << 22)  # a description is small; a huge file is not ours
    except OSError:
        return {}
    return _parse_description(text)


def _parse_description(text):
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def read_info(path: StrPath) -> dict[str, Any]:
    """What a file says about its image, from its header: no pixel is decoded.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    info : dict
        ``format``, ``shape`` (as `imread` returns it), ``dtype``,
        ``channel_names`` (list or None), ``metadata`` (imgconv's JSON, e.g.
        ``{"imgconv": "0.1.0", "pipeline": {...}}``, or {}), ``resolution``
        ((x, y) pixels per inch, or None), ``icc_profile`` (bytes or None).

    Raises
    ------
    ImageReadError
        If the file is not an image `imread` reads.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from imgconv.io import imwrite, read_info
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "r.tif")
    ...     imwrite(path, np.zeros((4, 5, 2), np.float32), dtype_policy="float", channel_names=["a", "b"])
    ...     info = read_info(path)
    >>> info["shape"], info["dtype"], info["channel_names"]
    ((4, 5, 2), 'float32', ['a', 'b'])
    """
    path = _check_path(path)
    if _is_zarr_store(path):
        try:
            info = _ngff.read_info(path)
        except ValueError as exc:
            raise ImageReadError(f"cannot read {_shown(path)}: {exc}") from None
        info.pop("stack")
        return info
    with open(path, "rb") as file:
        head = file.read(64)
    fmt = _sniff(head)
    if fmt is None:
        raise ImageReadError(f"cannot read {_shown(path)}: not a PNG, JPEG, TIFF, BMP, GIF, WebP or NPY file")
    info = {
        "format": fmt,
        "shape": None,
        "dtype": None,
        "channel_names": None,
        "metadata": {},
        "resolution": None,
        "icc_profile": None,
    }
    try:
        if fmt == "TIFF":
            with tifffile.TiffFile(path) as tif:
                series, page = tif.series[0], tif.pages[0]
                try:
                    _, _, order = _tiff_layout(path, tuple(series.shape), series.axes)
                    info["shape"] = tuple(int(series.shape[i]) for i in order)
                except ImageReadError:  # a stack: (P, H, W[, C]), as imread(path, stack=True) gives it
                    info["shape"] = tuple(int(n) for n in _tiff_stack_layout(path, series.shape, series.axes)[1])
                info["dtype"] = str(series.dtype)
                described = {}
                if tif.is_imagej:
                    meta = tif.imagej_metadata or {}
                    labels = meta.get("Labels")
                    info["channel_names"] = list(labels) if labels else None
                    described = _parse_description(meta.get("Info"))
                elif page.description:  # type: ignore[union-attr]  # pages[0] is a TiffPage, never a TiffFrame
                    described = _parse_description(page.description)  # type: ignore[union-attr]
                    if "channels" not in described:  # not imgconv's (tifffile's own shape record, say)
                        described = {}
                    if isinstance(described.get("channels"), list):
                        info["channel_names"] = described["channels"]
                info["metadata"] = {k: v for k, v in described.items() if k != "channels"}
                tags = page.tags  # type: ignore[union-attr]
                if "XResolution" in tags and "YResolution" in tags:
                    x, y = (tags[n].value for n in ("XResolution", "YResolution"))
                    unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
                    scale = 2.54 if unit == 3 else 1.0  # centimetres to inches
                    if unit in (2, 3) and x[1] and y[1]:
                        info["resolution"] = (x[0] / x[1] * scale, y[0] / y[1] * scale)
                if "InterColorProfile" in tags:
                    info["icc_profile"] = bytes(tags["InterColorProfile"].value)
        elif fmt == "NPY":
            with open(path, "rb") as file:  # the header only, as imread checks it before reading any data
                shape, dtype, _ = _npy_header(file, os.fstat(file.fileno()).st_size)
            info["shape"], info["dtype"] = tuple(int(n) for n in shape), str(dtype)
            described = _read_sidecar(path)
            if isinstance(described.get("channels"), list):
                info["channel_names"] = described["channels"]
            info["metadata"] = {k: v for k, v in described.items() if k != "channels"}
        else:
            with Image.open(path) as image:
                bands = len(image.getbands())
                mode = image.mode
                info["shape"] = (image.height, image.width) if bands == 1 else (image.height, image.width, bands)
                info["dtype"] = "uint16" if mode.startswith("I") else "bool" if mode == "1" else "uint8"
                described = _parse_description(image.info.get("imgconv"))
                if isinstance(described.get("channels"), list):
                    info["channel_names"] = described["channels"]
                info["metadata"] = {k: v for k, v in described.items() if k != "channels"}
                if "dpi" in image.info:
                    info["resolution"] = tuple(float(v) for v in image.info["dpi"])
                info["icc_profile"] = image.info.get("icc_profile")
    except ImageReadError:
        raise
    except Exception as exc:  # a corrupt header: named, never a traceback  # noqa: BLE001
        raise ImageReadError(f"cannot read {_shown(path)}: {type(exc).__name__}: {exc}") from exc
    return info


# --------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------


def image_to_float32(image: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Convert an image to float32, integers scaled to [0, 1] (or [-1, 1]).

    Same result as ``skimage.util.img_as_float32``.

    Parameters
    ----------
    image : array_like
        Bool, integer or float image of any shape.

    Returns
    -------
    out : ndarray of float32, same shape
        ``uint8`` is divided by 255, ``uint16`` by 65535, any unsigned
        integer by its dtype's maximum; signed integers are divided by their
        maximum and clipped at -1; bool gives 0.0 and 1.0; float values are
        kept (float64/float16 are cast to float32). A float32 input is
        returned as is, without a copy.

    Raises
    ------
    TypeError
        If `image` is not bool, integer or float (e.g. complex or object).

    See Also
    --------
    imread : Returns integer images in the file's dtype.

    Notes
    -----
    Integers are multiplied by ``1 / max`` in float32 (8- to 32-bit input)
    or float64 (64-bit input) and then cast to float32, exactly as
    scikit-image does, so results match it bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.io import image_to_float32
    >>> image_to_float32(np.array([0, 255], dtype=np.uint8))
    array([0., 1.], dtype=float32)
    >>> image_to_float32(np.array([0, 65535], dtype=np.uint16))
    array([0., 1.], dtype=float32)
    """
    return to_float32(image)  # the one integer -> float rule: imgconv._shared.convert
