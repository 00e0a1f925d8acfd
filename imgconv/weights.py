"""Weights in the format torch users share them in: ``.safetensors``, read and written without torch.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header
naming each tensor's dtype, shape and byte range, then the raw little-endian
data (https://huggingface.co/docs/safetensors, the format's own description).
:func:`load_safetensors` checks every entry against the file's size before it
reads anything, so a small or hostile file can never ask for a huge
allocation; :func:`save_safetensors` writes atomically through
:mod:`imgconv._output`.  :meth:`imgconv.Conv2d.load_state_dict` takes the
result (or a torch ``state_dict``).
"""

import json
import math
import os
import struct
import zipfile
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from . import _output
from ._typing import StrPath

__all__ = ["load_safetensors", "load_weights", "save_safetensors"]

#: Largest JSON header accepted (the format's own readers use 100 MB).
MAX_HEADER_BYTES = 100_000_000

_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_CODES = {dtype.newbyteorder("=").str: code for code, dtype in _DTYPES.items()}


def _bad(path, detail):
    return ValueError(f"`path` {_output.shown(path)!r} is not a valid .safetensors file: {detail}")


def load_safetensors(path: StrPath) -> dict[str, np.ndarray]:
    """Read every tensor of a ``.safetensors`` file into NumPy arrays.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    tensors : dict of str to ndarray
        Native byte order, C-contiguous, writeable copies. ``BF16`` tensors
        become ``float32`` (exactly: bfloat16 is the top half of a float32).

    Raises
    ------
    ValueError
        If the file is not a valid ``.safetensors`` file: a header longer than
        the file or than :data:`MAX_HEADER_BYTES`, header JSON that does not
        parse, an unknown dtype, a byte range outside the data or that does
        not match the shape. The message names the file and the problem.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from imgconv.weights import load_safetensors, save_safetensors
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "layer.safetensors")
    ...     _ = save_safetensors(path, {"weight": np.ones((2, 1, 3, 3), np.float32)})
    ...     loaded = load_safetensors(path)
    >>> loaded["weight"].shape, loaded["weight"].dtype
    ((2, 1, 3, 3), dtype('float32'))
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        raw = file.read(8)
        if len(raw) < 8:
            raise _bad(path, f"{size} bytes, shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", raw)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise _bad(path, f"the header announces {length} bytes; the file holds {size - 8} after its length")
        try:
            header = json.loads(file.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise _bad(path, f"the header is not JSON ({type(exc).__name__})") from None
        if not isinstance(header, dict):
            raise _bad(path, "the header is not a JSON object")
        data_size = size - 8 - length
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            try:
                code, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            except (KeyError, TypeError, ValueError):
                raise _bad(path, f"the entry {name!r} lacks dtype, shape or data_offsets") from None
            if code not in _DTYPES and code != "BF16":
                raise _bad(path, f"tensor {name!r} has the unsupported dtype {code!r}")
            if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
                raise _bad(path, f"tensor {name!r} has the shape {shape!r}")
            itemsize = 2 if code == "BF16" else _DTYPES[code].itemsize
            if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_size):
                raise _bad(
                    path, f"tensor {name!r} has the byte range {[begin, end]!r}, outside the {data_size} bytes of data"
                )
            if end - begin != math.prod(shape) * itemsize:
                raise _bad(
                    path,
                    f"tensor {name!r} of shape {shape} and dtype {code} needs "
                    f"{math.prod(shape) * itemsize} bytes; its range holds {end - begin}",
                )
            file.seek(8 + length + begin)
            buffer = file.read(end - begin)
            if code == "BF16":
                halves = np.frombuffer(buffer, dtype="<u2").astype(np.uint32) << 16
                array = halves.view(np.float32)
            else:
                array = np.frombuffer(buffer, dtype=_DTYPES[code]).astype(_DTYPES[code].newbyteorder("="))
            tensors[name] = np.array(array.reshape(shape), order="C", copy=True)
    return tensors


def save_safetensors(
    path: StrPath, tensors: Mapping[str, npt.ArrayLike], *, metadata: dict[str, str] | None = None
) -> str:
    """Write NumPy arrays as a ``.safetensors`` file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Written through :mod:`imgconv._output`: atomically, never through a link.
    tensors : mapping of str to array_like
        Bool, integer (8 to 64 bits) or float (16 to 64 bits) arrays.
    metadata : mapping of str to str, optional
        The file's ``__metadata__``.

    Raises
    ------
    TypeError
        If a name is not a str, a tensor's dtype has no safetensors code, or
        `metadata` is not a mapping of str to str.
    """
    entries, chunks, offset = {}, [], 0
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise TypeError(f"`tensors` keys must be str other than '__metadata__'; got {name!r}")
        array = np.ascontiguousarray(value)
        code = _CODES.get(array.dtype.newbyteorder("=").str)
        if code is None:
            raise TypeError(f"`tensors[{name!r}]` has dtype {array.dtype}, which .safetensors cannot hold")
        data = array.astype(_DTYPES[code], copy=False).tobytes()
        entries[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError(f"`metadata` must be a mapping of str to str or None; got {metadata!r}")
        entries["__metadata__"] = dict(metadata)
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # the data start 8-byte aligned, as the format's writers do

    def encode(file):
        file.write(struct.pack("<Q", len(header)))
        file.write(header)
        for chunk in chunks:
            file.write(chunk)

    return _output.write_atomic(os.fspath(path), encode, what="`path`")


def load_weights(path: StrPath) -> dict[str, np.ndarray]:
    """Tensors of a ``.safetensors`` or NumPy ``.npz`` file, by its content (not its name).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    tensors : dict of str to ndarray

    Raises
    ------
    ValueError
        If the file is neither (or a corrupt one); ``.npz`` is read with
        ``allow_pickle=False``.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        head = file.read(4)
    if head.startswith(b"PK"):  # a zip archive: NumPy's .npz
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {name: np.array(archive[name]) for name in archive.files}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ValueError(f"`path` {_output.shown(path)!r} is not a valid .npz file: {exc}") from None
    return load_safetensors(path)
