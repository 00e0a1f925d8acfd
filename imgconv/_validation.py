"""Normalisers for hyper-parameters, shared by every public layer.

Unlike PyTorch's ``_ntuple`` these check length, type and sign, and every message
names the parameter and repeats the value received.
"""

import numbers

import numpy as np

from ._engine import INTEGER_PIXELS

__all__ = ["as_array", "as_engine_image", "as_float_image", "as_int", "as_pair", "as_padding", "check_float_dtypes",
           "is_int", "is_real", "show"]


def is_int(value):
    """True for Python and NumPy integers, False for bools."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value):
    """True for Python and NumPy real numbers, False for bools."""
    return (isinstance(value, (numbers.Real, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def show(value):
    """Readable form of a user value for error messages (no ``np.float64(...)``, no huge dumps)."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return repr(value.item())
        return repr(tuple(value.tolist())) if value.ndim == 1 and value.size <= 8 else (
            f"array of shape {value.shape}")
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, (tuple, list)):
        text = repr(tuple(v.item() if isinstance(v, np.generic) else v for v in value))
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_array(value, name):
    """`value` as an ndarray; a TypeError naming `name` for things that are not arrays."""
    if isinstance(value, np.ndarray):
        return value
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"`{name}` must be an array; got {type(value).__name__}")
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"`{name}` must be an array; got {type(value).__name__} ({exc})") from None


def as_float_image(image, preserve_range=False, name="image"):
    """Convert an image to its compute dtype the way scikit-image converts images.

    float64 (and wider) stays float64; float32/float16 compute in float32; bool
    and integers of at most 16 bits become float32, wider integers float64,
    scaled to [0, 1] (unsigned) or [-1, 1] (signed) exactly like
    ``skimage.util.img_as_float32`` / ``img_as_float64`` unless `preserve_range`.
    """
    image = as_array(image, name)
    kind = image.dtype.kind
    if kind == "f":
        return image.astype(np.float32 if image.dtype.itemsize <= 4 else np.float64, copy=False)
    if kind == "b":
        return image.astype(np.float32)
    if kind in "ui":
        compute = np.float32 if image.dtype.itemsize <= 2 else np.float64
        if preserve_range:
            return image.astype(compute)
        out = np.multiply(image, 1.0 / np.iinfo(image.dtype).max, dtype=compute)
        if kind == "i":
            np.maximum(out, -1.0, out=out)
        return out
    raise TypeError(f"`{name}` must be a real-valued array (bool, integer or float); got dtype {image.dtype}")


def as_engine_image(image, preserve_range=False, name="image"):
    """An image as the engine reads it, and the factor that converts its values like :func:`as_float_image`.

    Returns ``(pixels, scale)``.  uint8 and uint16 images come back as stored:
    the engine reads them directly into float32 arithmetic, so the image is
    never copied to float, and their scaling to [0, 1] (``1 / iinfo.max``; 1
    with `preserve_range`) is left to the engine (its ``scale`` argument folds
    it into the weights).  Any other image is converted by
    :func:`as_float_image`, with scale 1.  ``pixels * scale`` computed in the
    compute dtype equals ``as_float_image(image, preserve_range)``.
    """
    image = as_array(image, name)
    if image.dtype.newbyteorder("=") not in INTEGER_PIXELS:
        return as_float_image(image, preserve_range, name), 1.0
    return image, 1.0 if preserve_range else 1.0 / np.iinfo(image.dtype).max


def as_int(value, name, *, minimum=None):
    """Return `value` as a Python int, refusing floats, bools and strings."""
    if not is_int(value):
        raise TypeError(f"`{name}` must be an int; got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        rule = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"`{name}` must be {rule}; got {value}")
    return value


def as_pair(value, name, *, minimum=1, odd=False):
    """Normalise an int, a 1-tuple or a pair to a tuple ``(h, w)`` of ints.

    Parameters
    ----------
    value : int or sequence of 1 or 2 ints
    name : str
        Parameter name used in error messages.
    minimum : int, default 1
        Smallest accepted component.
    odd : bool, default False
        Also require odd components (centred kernel sizes).

    Raises
    ------
    TypeError
        If a component is not an int (floats, bools and strings are refused).
    ValueError
        If the sequence length is not 1 or 2, or a component is below `minimum`.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    rule = "a positive int or a pair of positive ints" if minimum == 1 else (
        f"an int >= {minimum} or a pair of such ints")
    if odd:
        rule = "an odd positive int or a pair of odd positive ints"
    if is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list, np.ndarray)) and not isinstance(value, str):
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        if len(items) not in (1, 2):
            raise ValueError(f"`{name}` must be {rule}; got {show(value)} (length {len(items)})")
        if not all(is_int(v) for v in items):
            raise TypeError(f"`{name}` must be {rule}; got {show(value)}")
        pair = (int(items[0]), int(items[-1]))
    else:
        raise TypeError(f"`{name}` must be {rule}; got {show(value)} of type {type(value).__name__}")
    if min(pair) < minimum or (odd and not all(v % 2 == 1 for v in pair)):
        raise ValueError(f"`{name}` must be {rule}; got {show(value)}")
    return pair


def as_padding(padding):
    """Normalise torch-style `padding`: 'same', 'valid', int, 1-tuple or pair.

    Returns either the string ``'same'``/``'valid'`` or a pair of non-negative ints.
    Negative padding is refused in every mode (imgconv departs from torch here).
    """
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(
                f"`padding` must be 'same', 'valid', an int or a pair of ints; got {padding!r} "
                "(strings are case-sensitive)")
        return padding
    return as_pair(padding, "padding", minimum=0)


def check_float_dtypes(**arrays):
    """Check that the given arrays share one float32/float64 dtype; return it.

    ``None`` entries are ignored.  The first array named decides the dtype; the
    message points integer and other inputs to ``astype(np.float32)`` or to
    :mod:`imgconv.filters`, which converts images.
    """
    items = [(name, a) for name, a in arrays.items() if a is not None]
    first_name, first = items[0]
    dtype = first.dtype.newbyteorder("=")
    if dtype not in (np.float32, np.float64):
        raise TypeError(
            f"`{first_name}` must be float32 or float64; got dtype {dtype}. Convert with "
            f"`{first_name}.astype(np.float32)`, or use imgconv.filters, which converts images.")
    for name, a in items[1:]:
        if a.dtype.newbyteorder("=") != dtype:
            raise TypeError(
                f"`{name}` must have the same dtype as `{first_name}` ({dtype}); got {a.dtype}. "
                "imgconv does not promote dtypes.")
    return dtype
