"""The one integer -> float rule, and the pixels the engine reads without converting.

scikit-image's ``img_as_float32`` / ``img_as_float64``: float64 (and wider)
stays float64; float32/float16 compute in float32; bool and integers of at most
16 bits become float32, wider integers float64; integers are scaled to [0, 1]
(unsigned) or [-1, 1] (signed, clipped at -1) unless `preserve_range`.
"""

import numpy as np

from .._validation import as_array

__all__ = ["INTEGER_PIXELS", "as_engine_image", "as_float_image", "compute_dtype", "to_float32"]

#: 8/16-bit images the compiled kernels read directly (float32 weights and output).
INTEGER_PIXELS = (np.dtype(np.uint8), np.dtype(np.uint16))


def compute_dtype(x):
    """Output dtype for pixels `x`: float32 for uint8/uint16 (either byte order), else x's own."""
    return np.dtype(np.float32) if x.dtype.newbyteorder("=") in INTEGER_PIXELS else x.dtype


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
        return _scaled(image, compute)
    raise TypeError(f"`{name}` must be a real-valued array (bool, integer or float); got dtype {image.dtype}")


def _scaled(image, dtype):
    """Integer `image` divided by its dtype's maximum in `dtype`, clipped at -1 for signed integers."""
    out = np.multiply(image, 1.0 / np.iinfo(image.dtype).max, dtype=dtype)
    if image.dtype.kind == "i":
        np.maximum(out, -1.0, out=out)
    return out


def to_float32(image):
    """`image` as float32 by the same rule: ``skimage.util.img_as_float32`` (:func:`imgconv.io.image_to_float32`).

    Integers of up to 32 bits are scaled in float32, 64-bit integers in float64
    and then rounded to float32, as scikit-image does; a float32 input is
    returned as is, without a copy.
    """
    image = np.asarray(image)
    kind = image.dtype.kind
    if kind == "f":
        return image.astype(np.float32, copy=False)
    if kind == "b":
        return image.astype(np.float32)
    if kind not in "ui":
        raise TypeError(f"`image` must be a bool, integer or float array; got dtype {image.dtype}")
    compute = np.float32 if image.dtype.itemsize <= 4 else np.float64
    return _scaled(image, compute).astype(np.float32, copy=False)


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
