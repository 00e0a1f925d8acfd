"""Regenerate the sample images in ``data/images/`` from ``skimage.data``.

Every source picture ships inside the scikit-image wheel (no download) and is
public domain or CC0 according to its ``skimage.data`` docstring; see
``data/README.md`` for the per-file table.

Usage::

    python data/make_sample_images.py            # writes into data/images/

Derivation, identical for every file:

1. load the picture with its ``skimage.data`` function (``uint8``);
2. if the longest side exceeds the target (``MAX_SIDE`` = 512 pixels; 256
   for the TIFF), shrink it with
   ``skimage.transform.resize(order=1, anti_aliasing=True, mode="reflect")``
   (Gaussian pre-filter, then bilinear interpolation) so that the longest
   side equals the target (the other side rounded to the nearest pixel);
3. gray versions of colour pictures use ``skimage.color.rgb2gray``
   (ITU-R BT.709 luma weights);
4. back to integers with ``rint(clip(x, 0, 1) * maxval)``, ``maxval`` = 255
   for ``uint8`` and 65535 for the ``uint16`` TIFF;
5. saved with Pillow (PNG: default zlib level; JPEG: quality 90, Pillow's
   default 4:2:0 chroma subsampling) or tifffile (TIFF: zlib/deflate).

JPEG and PNG bytes depend on the Pillow/libjpeg/zlib versions; the decoded
pixels of the PNG and TIFF files are reproducible exactly.

This script does not import imgconv, so it runs before the extension is built.
"""

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image
from skimage import color, data, transform

MAX_SIDE = 512
OUT_DIR = Path(__file__).resolve().parent / "images"


def _shrink(image, max_side):
    """Float image in [0, 1] whose longest side is at most `max_side`."""
    image = np.asarray(image)
    as_float = image.astype(np.float64) / 255.0 if image.dtype == np.uint8 else image
    h, w = as_float.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return as_float
    shape = (round(h * scale), round(w * scale)) + as_float.shape[2:]
    return transform.resize(
        as_float, shape, order=1, mode="reflect", anti_aliasing=True
    )


def _to_int(image, dtype):
    maxval = np.iinfo(dtype).max
    return np.rint(np.clip(image, 0.0, 1.0) * maxval).astype(dtype)


def _save_pillow(name, image):
    path = OUT_DIR / name
    pil = Image.fromarray(image)
    if path.suffix == ".jpg":
        pil.save(path, format="JPEG", quality=90)
    else:
        pil.save(path, format="PNG")
    return path


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    written = []

    # gray PNG, 512 x 512 already (no resize)
    written.append(
        _save_pillow("camera.png", _to_int(_shrink(data.camera(), MAX_SIDE), np.uint8))
    )
    # RGB PNG, 300 x 451 already (no resize)
    written.append(
        _save_pillow("chelsea.png", _to_int(_shrink(data.chelsea(), MAX_SIDE), np.uint8))
    )
    # RGB JPEG, 512 x 512 already (no resize)
    written.append(
        _save_pillow(
            "astronaut.jpg", _to_int(_shrink(data.astronaut(), MAX_SIDE), np.uint8)
        )
    )
    # RGB JPEG, 400 x 600 -> 341 x 512
    written.append(
        _save_pillow("coffee.jpg", _to_int(_shrink(data.coffee(), MAX_SIDE), np.uint8))
    )
    # RGB JPEG, 427 x 640 -> 342 x 512
    written.append(
        _save_pillow("rocket.jpg", _to_int(_shrink(data.rocket(), MAX_SIDE), np.uint8))
    )
    # gray JPEG, 300 x 400 already (no resize)
    written.append(
        _save_pillow("clock.jpg", _to_int(_shrink(data.clock(), MAX_SIDE), np.uint8))
    )
    # 16-bit gray TIFF: coffee -> gray (float) -> 256 px longest side -> uint16
    gray = color.rgb2gray(data.coffee())
    gray16 = _to_int(_shrink(gray, 256), np.uint16)
    path = OUT_DIR / "coffee_gray16.tif"
    tifffile.imwrite(path, gray16, photometric="minisblack", compression="zlib")
    written.append(path)

    total = 0
    for path in written:
        size = path.stat().st_size
        total += size
        print(f"{path.name:20s} {size / 1024:7.1f} KiB")
    print(f"{'total':20s} {total / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
