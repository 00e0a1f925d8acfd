"""Tests for imgconv.io: imread / imwrite / image_to_float32.

Oracles are plain NumPy computations written out here, files built byte by
byte (zlib, struct) and, for image_to_float32, scikit-image.
"""

import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile

import imgconv.io as io_mod
from imgconv.io import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    ImageReadError,
    image_to_float32,
    imread,
    imwrite,
)

DATA_IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
POSIX = os.name == "posix"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def random_image(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == bool:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 3).astype(dtype)


def smooth_image(shape):
    """Smooth uint8 content, for JPEG (lossy) round trips."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = 128 + 60 * np.sin(x / 7.0) * np.cos(y / 9.0)
    if len(shape) == 2:
        return base.astype(np.uint8)
    planes = [base, 255 - base, 2 * x + y][: shape[2]]
    return np.stack([np.clip(p, 0, 255) for p in planes], axis=-1).astype(np.uint8)


def png_chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_bytes(array, bit_depth, colour_type):
    """Minimal PNG encoder (filter 0, one IDAT), independent of Pillow."""
    height, width = array.shape[:2]
    big_endian = array.astype(">u2") if bit_depth == 16 else array.astype(np.uint8)
    rows = big_endian.reshape(height, -1).view(np.uint8).reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def expected_clip(values, maxval):
    """round-half-away-from-zero of clip(x, 0, 1) * maxval (no exact halves in data)."""
    return np.floor(np.minimum(np.maximum(values.astype(np.float64), 0), 1) * maxval + 0.5)


def expected_rescale(values, maxval):
    v = values.astype(np.float64)
    return np.floor((v - v.min()) / (v.max() - v.min()) * maxval + 0.5)


# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------


def test_constants():
    assert DEFAULT_MAX_PIXELS == 178_956_970 == 2 * 89_478_485
    assert SUPPORTED_EXTENSIONS == tuple(sorted(SUPPORTED_EXTENSIONS))
    assert set(SUPPORTED_EXTENSIONS) == {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy", ".zarr"}


# --------------------------------------------------------------------------
# lossless round trips
# --------------------------------------------------------------------------

LOSSLESS_CASES = [
    # (extension, dtype, shape)
    (".png", bool, (13, 17)),
    (".png", np.uint8, (13, 17)),
    (".png", np.uint8, (13, 17, 2)),
    (".png", np.uint8, (13, 17, 3)),
    (".png", np.uint8, (13, 17, 4)),
    (".png", np.uint16, (13, 17)),
    (".bmp", bool, (13, 17)),
    (".bmp", np.uint8, (13, 17)),
    (".bmp", np.uint8, (13, 17, 3)),
    (".tif", bool, (13, 17)),
    (".tif", np.uint8, (13, 17)),
    (".tif", np.uint8, (13, 17, 2)),
    (".tif", np.uint8, (13, 17, 3)),
    (".tif", np.uint8, (13, 17, 4)),
    (".tif", np.uint8, (13, 17, 5)),
    (".tiff", np.uint16, (13, 17)),
    (".tiff", np.uint16, (13, 17, 3)),
    (".tif", np.uint16, (13, 17, 7)),
    (".tif", np.int8, (13, 17)),
    (".tif", np.int16, (13, 17)),
    (".tif", np.int32, (13, 17, 3)),
    (".tif", np.uint32, (13, 17)),
    (".tif", np.int64, (13, 17)),
    (".tif", np.float32, (13, 17)),
    (".tif", np.float32, (13, 17, 3)),
    (".tif", np.float32, (13, 17, 6)),
    (".npy", bool, (13, 17)),
    (".npy", np.uint8, (13, 17, 3)),
    (".npy", np.uint16, (13, 17, 9)),
    (".npy", np.int32, (13, 17)),
    (".npy", np.float16, (13, 17)),
    (".npy", np.float32, (13, 17, 5)),
    (".npy", np.float64, (13, 17, 2)),
]


@pytest.mark.parametrize(
    "ext, dtype, shape",
    LOSSLESS_CASES,
    ids=[f"{e[1:]}-{np.dtype(d).name}-{'x'.join(map(str, s))}" for e, d, s in LOSSLESS_CASES],
)
def test_lossless_round_trip(tmp_path, ext, dtype, shape):
    image = random_image(dtype, shape)
    path = tmp_path / f"image{ext}"
    imwrite(path, image, dtype_policy="float")  # policy only matters for floats
    back = imread(path)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == shape
    np.testing.assert_array_equal(back, image)
    assert back.flags.c_contiguous and back.flags.writeable
    assert back.dtype.isnative


@pytest.mark.parametrize("ext", [".PNG", ".Tif", ".TIFF", ".BMP", ".NPY"])
def test_extension_is_case_insensitive(tmp_path, ext):
    image = random_image(np.uint8, (5, 6, 3))
    path = tmp_path / f"image{ext}"
    imwrite(path, image)
    np.testing.assert_array_equal(imread(path), image)


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".jpg"])
def test_single_channel_axis_is_dropped(tmp_path, ext):
    image = smooth_image((16, 24))
    imwrite(tmp_path / f"a{ext}", image[:, :, np.newaxis])
    back = imread(tmp_path / f"a{ext}")
    assert back.shape == (16, 24)
    if ext != ".jpg":
        np.testing.assert_array_equal(back, image)


def test_npy_keeps_single_channel_axis(tmp_path):
    image = random_image(np.uint8, (4, 5, 1))
    imwrite(tmp_path / "a.npy", image)
    assert imread(tmp_path / "a.npy").shape == (4, 5, 1)


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".JPG"])
@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 3)])
def test_jpeg_round_trip_within_tolerance(tmp_path, ext, shape):
    image = smooth_image(shape)
    path = tmp_path / f"image{ext}"
    imwrite(path, image)
    back = imread(path)
    assert back.dtype == np.uint8 and back.shape == shape
    error = np.abs(back.astype(np.int16) - image)
    assert error.mean() < 1.5
    assert error.max() <= 12


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    ext=st.sampled_from([".png", ".tif", ".npy", ".bmp"]),
)
def test_round_trip_property(tmp_path_factory, data, ext):
    channels = {".png": [1, 2, 3, 4], ".bmp": [1, 3]}.get(ext, [1, 2, 3, 5])
    dtypes = {".png": [np.uint8, np.uint16], ".bmp": [np.uint8]}.get(ext, [np.uint8, np.uint16, np.int16, np.float32])
    dtype = data.draw(st.sampled_from(dtypes))
    c = data.draw(st.sampled_from(channels))
    if dtype == np.uint16 and ext == ".png":
        c = 1
    h, w = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    shape = (h, w) if c == 1 else (h, w, c)
    elements = st.floats(-1e6, 1e6, width=32) if dtype == np.float32 else None
    image = data.draw(hnp.arrays(dtype, shape, elements=elements))
    path = tmp_path_factory.mktemp("prop") / f"image{ext}"
    imwrite(path, image, dtype_policy="float")
    back = imread(path)
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


# --------------------------------------------------------------------------
# float policies, checked against NumPy computations written out here
# --------------------------------------------------------------------------

FLOAT_DATA = np.array([[-np.inf, -3.0, -1e-9, 0.0, 0.2, 0.3337, 0.5001, 0.999, 1.0, 1.7, np.inf]])


@pytest.mark.parametrize("ext, maxval", [(".png", 255), (".bmp", 255), (".tif", 65535), (".npy", 65535)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_policy(tmp_path, ext, maxval, dtype):
    rng = np.random.default_rng(1)
    image = np.concatenate([FLOAT_DATA, rng.uniform(-0.5, 1.5, (3, FLOAT_DATA.shape[1]))]).astype(dtype)
    before = image.copy()
    imwrite(tmp_path / f"a{ext}", image, dtype_policy="clip")
    back = imread(tmp_path / f"a{ext}")
    assert back.dtype == (np.uint8 if maxval == 255 else np.uint16)
    np.testing.assert_array_equal(back, expected_clip(image, maxval))
    np.testing.assert_array_equal(image, before)  # input untouched


def test_clip_is_the_default_policy(tmp_path):
    image = np.linspace(-0.2, 1.2, 30).reshape(5, 6)
    imwrite(tmp_path / "a.png", image)
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), expected_clip(image, 255))


def test_clip_policy_jpeg(tmp_path):
    image = smooth_image((32, 40, 3)) / 255.0
    imwrite(tmp_path / "a.jpg", image)
    back = imread(tmp_path / "a.jpg")
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - expected_clip(image, 255)).mean() < 1.5


@pytest.mark.parametrize("ext, maxval", [(".png", 255), (".bmp", 255), (".tif", 65535), (".npy", 65535)])
@pytest.mark.parametrize("shape", [(6, 7), (6, 7, 3)])
def test_rescale_policy(tmp_path, ext, maxval, shape):
    image = np.random.default_rng(2).uniform(-40.0, 13.0, shape)
    imwrite(tmp_path / f"a{ext}", image, dtype_policy="rescale")
    back = imread(tmp_path / f"a{ext}")
    assert back.dtype == (np.uint8 if maxval == 255 else np.uint16)
    np.testing.assert_array_equal(back, expected_rescale(image, maxval))
    assert back.min() == 0 and back.max() == maxval


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_rescale_constant_image_gives_zeros(tmp_path, ext):
    imwrite(tmp_path / f"a{ext}", np.full((4, 5), 0.7), dtype_policy="rescale")
    back = imread(tmp_path / f"a{ext}")
    assert back.dtype.kind == "u"
    np.testing.assert_array_equal(back, np.zeros((4, 5)))


def test_rescale_huge_range(tmp_path):
    image = np.array([[-1e308, 0.0, 1e308]])
    imwrite(tmp_path / "a.png", image, dtype_policy="rescale")
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), [[0, 128, 255]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_policy_tiff_is_float32(tmp_path, dtype):
    image = np.random.default_rng(3).normal(size=(5, 6, 3)).astype(dtype)
    image[0, 0, 0] = np.nan
    image[0, 1, 0] = -np.inf
    imwrite(tmp_path / "a.tif", image, dtype_policy="float")
    back = imread(tmp_path / "a.tif")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_policy_npy_keeps_dtype(tmp_path, dtype):
    image = np.random.default_rng(4).normal(size=(5, 6)).astype(dtype)
    imwrite(tmp_path / "a.npy", image, dtype_policy="float")
    back = imread(tmp_path / "a.npy")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".bmp"])
def test_float_policy_refused_for_integer_formats(tmp_path, ext):
    with pytest.raises(ValueError, match=r"dtype_policy.*'float'.*\.tif.*\.npy"):
        imwrite(tmp_path / f"a{ext}", np.zeros((3, 4)), dtype_policy="float")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("policy", ["clip", "rescale", "float"])
def test_policy_ignored_for_integer_arrays(tmp_path, policy):
    image = random_image(np.uint8, (5, 6))
    imwrite(tmp_path / "a.png", image, dtype_policy=policy)
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), image)


def test_clip_refuses_nan(tmp_path):
    with pytest.raises(ValueError, match=r"`array` contains NaN.*'clip'"):
        imwrite(tmp_path / "a.png", np.array([[0.5, np.nan]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_rescale_refuses_non_finite(tmp_path, bad):
    with pytest.raises(ValueError, match=r"NaN or infinity.*'rescale'"):
        imwrite(tmp_path / "a.png", np.array([[0.5, bad]]), dtype_policy="rescale")


# --------------------------------------------------------------------------
# refusals on write
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_more_than_four_channels_refused(tmp_path, ext, dtype):
    fmt = {".png": "PNG", ".jpg": "JPEG", ".bmp": "BMP"}[ext]
    image = np.zeros((4, 5, 6), dtype)
    with pytest.raises(
        ValueError,
        match=rf"{fmt} cannot store a {np.dtype(dtype).name} array of shape "
        rf"\(4, 5, 6\).*use \.tif or \.npy",
    ):
        imwrite(tmp_path / f"a{ext}", image)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "ext, dtype, shape, pattern",
    [
        (".jpg", np.uint16, (4, 5), r"JPEG cannot store a uint16 array of shape \(4, 5\)"),
        (".bmp", np.uint16, (4, 5), r"BMP cannot store a uint16 array of shape \(4, 5\)"),
        (".jpg", np.uint8, (4, 5, 2), r"JPEG cannot store a uint8 array of shape \(4, 5, 2\)"),
        (".jpg", np.uint8, (4, 5, 4), r"JPEG cannot store a uint8 array of shape \(4, 5, 4\)"),
        (".jpg", np.float64, (4, 5, 2), r"JPEG cannot store a float64 \(stored as uint8\)"),
        (".jpg", bool, (4, 5), r"JPEG cannot store a bool array"),
        (".bmp", np.uint8, (4, 5, 4), r"BMP cannot store a uint8 array of shape \(4, 5, 4\)"),
        (".bmp", np.uint8, (4, 5, 2), r"BMP cannot store a uint8 array of shape \(4, 5, 2\)"),
        (".png", np.uint16, (4, 5, 5), r"PNG cannot store a uint16 array of shape \(4, 5, 5\).*\.tif"),
        (".png", np.int32, (4, 5), r"PNG cannot store a int32 array of shape \(4, 5\)"),
        (".png", np.int8, (4, 5), r"PNG cannot store a int8 array"),
        (".bmp", np.uint32, (4, 5), r"BMP cannot store a uint32 array"),
    ],
)
def test_format_cannot_hold(tmp_path, ext, dtype, shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        imwrite(tmp_path / f"a{ext}", np.zeros(shape, dtype))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a.gif", "a.webp", "a", "a.png.txt"])
def test_unknown_extension(tmp_path, name):
    listed = r"\.bmp, \.jpeg, \.jpg, \.npy, \.png, \.tif, \.tiff"
    with pytest.raises(ValueError, match=rf"`path` must end with one of {listed}"):
        imwrite(tmp_path / name, np.zeros((3, 4), np.uint8))


@pytest.mark.parametrize(
    "policy, error, pattern",
    [
        ("round", ValueError, r"`dtype_policy` must be one of 'clip', 'float', 'float16', 'rescale'; got 'round'"),
        ("CLIP", ValueError, r"got 'CLIP'"),
        (None, TypeError, r"`dtype_policy` must be one of .*; got NoneType None"),
    ],
)
def test_bad_dtype_policy(tmp_path, policy, error, pattern):
    with pytest.raises(error, match=pattern):
        imwrite(tmp_path / "a.png", np.zeros((3, 4), np.uint8), dtype_policy=policy)


@pytest.mark.parametrize(
    "array, error, pattern",
    [
        (np.zeros((3, 4), complex), TypeError, r"`array` must be a bool, integer or float array; got dtype complex128"),
        (np.array([[None]], dtype=object), TypeError, r"got dtype object"),
        (np.array([["a"]]), TypeError, r"got dtype <U1"),
        (np.zeros(5, np.uint8), ValueError, r"`array` must have shape \(H, W\) or \(H, W, C\); got shape \(5,\)"),
        (np.zeros((2, 3, 4, 5), np.uint8), ValueError, r"got shape \(2, 3, 4, 5\)"),
        (np.zeros((0, 4), np.uint8), ValueError, r"`array` must not be empty; got shape \(0, 4\)"),
        (np.zeros((3, 4, 0), np.uint8), ValueError, r"must not be empty"),
    ],
)
def test_bad_array(tmp_path, array, error, pattern):
    with pytest.raises(error, match=pattern):
        imwrite(tmp_path / "a.tif", array)


def test_array_like_accepted(tmp_path):
    imwrite(tmp_path / "a.npy", [[1, 2], [3, 4]])
    np.testing.assert_array_equal(imread(tmp_path / "a.npy"), [[1, 2], [3, 4]])


@pytest.mark.parametrize("path", [123, None, b"a.png", ["a.png"]])
def test_bad_path_type(path):
    with pytest.raises(TypeError, match=r"`path` must be a str or os.PathLike"):
        imwrite(path, np.zeros((3, 4), np.uint8))
    with pytest.raises(TypeError, match=r"`path` must be a str or os.PathLike"):
        imread(path)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        imwrite(tmp_path / "nope" / "a.png", np.zeros((3, 4), np.uint8))


def test_big_endian_input_written(tmp_path):
    image = random_image(np.uint16, (4, 5)).astype(">u2")
    for ext in (".png", ".tif", ".npy"):
        imwrite(tmp_path / f"a{ext}", image)
        back = imread(tmp_path / f"a{ext}")
        assert back.dtype == np.uint16 and back.dtype.isnative
        np.testing.assert_array_equal(back, image)


# --------------------------------------------------------------------------
# reading: natural arrays
# --------------------------------------------------------------------------


def test_palette_png_becomes_rgb(tmp_path):
    index = np.arange(12, dtype=np.uint8).reshape(3, 4) % 4
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    pil = Image.fromarray(index)
    pil.putpalette(palette)
    assert pil.mode == "P"
    pil.save(tmp_path / "p.png")
    back = imread(tmp_path / "p.png")
    expected = np.array(palette, np.uint8).reshape(4, 3)[index]
    assert back.shape == (3, 4, 3)
    np.testing.assert_array_equal(back, expected)


def test_palette_png_with_transparency_becomes_rgba(tmp_path):
    index = np.arange(12, dtype=np.uint8).reshape(3, 4) % 4
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    pil = Image.fromarray(index)
    pil.putpalette(palette)
    pil.save(tmp_path / "p.png", transparency=bytes([255, 0, 128, 255]))
    back = imread(tmp_path / "p.png")
    assert back.shape == (3, 4, 4)
    np.testing.assert_array_equal(back[..., :3], np.array(palette, np.uint8).reshape(4, 3)[index])
    np.testing.assert_array_equal(back[..., 3], np.array([255, 0, 128, 255])[index])


def test_palette_bmp_becomes_rgb(tmp_path):
    index = np.arange(12, dtype=np.uint8).reshape(3, 4) % 3
    palette = [1, 2, 3, 40, 50, 60, 200, 100, 0]
    pil = Image.fromarray(index)
    pil.putpalette(palette)
    pil.save(tmp_path / "p.bmp")
    back = imread(tmp_path / "p.bmp")
    np.testing.assert_array_equal(back, np.array(palette, np.uint8).reshape(3, 3)[index])


def test_gray_alpha_png_keeps_alpha(tmp_path):
    image = random_image(np.uint8, (5, 6, 2))
    Image.fromarray(image).save(tmp_path / "la.png")
    np.testing.assert_array_equal(imread(tmp_path / "la.png"), image)


def test_one_bit_png_is_bool(tmp_path):
    image = random_image(bool, (7, 9))
    Image.fromarray(image).save(tmp_path / "b.png")
    back = imread(tmp_path / "b.png")
    assert back.dtype == bool
    np.testing.assert_array_equal(back, image)


def test_16bit_gray_png_written_by_hand(tmp_path):
    image = random_image(np.uint16, (5, 7))
    (tmp_path / "g16.png").write_bytes(png_bytes(image, 16, 0))
    back = imread(tmp_path / "g16.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("colour_type, channels", [(2, 3), (6, 4), (4, 2)])
def test_16bit_colour_png_is_read_in_full_not_truncated(tmp_path, colour_type, channels):
    image = random_image(np.uint16, (5, 7, channels))
    (tmp_path / "c16.png").write_bytes(png_bytes(image, 16, colour_type))  # this file's own PNG encoder
    back = imread(tmp_path / "c16.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    back = imread(tmp_path / "cmyk.jpg")
    assert back.shape == (6, 8, 3) and back.dtype == np.uint8
    assert np.abs(back.astype(int) - [255, 0, 0]).max() <= 3


def test_planar_tiff_becomes_channels_last(tmp_path):
    image = random_image(np.uint16, (6, 7, 3))
    tifffile.imwrite(
        tmp_path / "planar.tif",
        np.moveaxis(image, -1, 0),
        photometric="rgb",
        planarconfig="separate",
    )
    np.testing.assert_array_equal(imread(tmp_path / "planar.tif"), image)


def test_palette_tiff_becomes_rgb(tmp_path):
    index = random_image(np.uint8, (6, 7))
    colormap = np.random.default_rng(5).integers(0, 65535, (3, 256), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "pal.tif", index, photometric="palette", colormap=colormap)
    back = imread(tmp_path / "pal.tif")
    assert back.shape == (6, 7, 3) and back.dtype == np.uint16
    np.testing.assert_array_equal(back, colormap.T[index])


def test_big_endian_tiff_and_npy_come_back_native(tmp_path):
    image = random_image(np.float32, (4, 5))
    tifffile.imwrite(tmp_path / "be.tif", image, byteorder=">")
    np.save(tmp_path / "be.npy", image.astype(">f4"))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(image))
    for name in ("be.tif", "be.npy", "fortran.npy"):
        back = imread(tmp_path / name)
        assert back.dtype == np.float32 and back.dtype.isnative
        assert back.flags.c_contiguous
        np.testing.assert_array_equal(back, image)


def test_tiff_stack_refused(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((3, 4, 5), np.uint8), photometric="minisblack")
    with pytest.raises(ImageReadError, match=r"stack\.tif.*series of shape \(3, 4, 5\).*tifffile\.imread"):
        imread(tmp_path / "stack.tif")


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 5), (0, 4)])
def test_npy_wrong_shape_refused(tmp_path, shape):
    np.save(tmp_path / "a.npy", np.zeros(shape))
    with pytest.raises(ImageReadError, match=r"a\.npy.*shape"):
        imread(tmp_path / "a.npy")


@pytest.mark.parametrize("dtype", [complex, "U3"])
def test_npy_wrong_dtype_refused(tmp_path, dtype):
    np.save(tmp_path / "a.npy", np.zeros((3, 4), dtype))
    with pytest.raises(ImageReadError, match=r"a\.npy.*dtype .* is not supported"):
        imread(tmp_path / "a.npy")


def test_pickled_npy_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    with pytest.raises(ImageReadError, match=r"a\.npy"):
        imread(tmp_path / "a.npy")


def test_format_comes_from_content_not_name(tmp_path):
    image = random_image(np.uint8, (5, 6, 3))
    Image.fromarray(image).save(tmp_path / "really_a_png.jpg", format="PNG")
    np.testing.assert_array_equal(imread(tmp_path / "really_a_png.jpg"), image)
    with open(tmp_path / "array.dat", "wb") as file:
        np.save(file, image)
    np.testing.assert_array_equal(imread(tmp_path / "array.dat"), image)


# --------------------------------------------------------------------------
# max_pixels, checked from the header
# --------------------------------------------------------------------------


def _forbid_decoding(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("pixel data were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", boom)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", boom)
    monkeypatch.setattr(tifffile.TiffFile, "asarray", boom)
    monkeypatch.setattr(np, "load", boom)


def _bomb_png(path, width, height):
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # CRC of type+data
    path.write_bytes(bytes(data))


def _bomb_jpeg(path, width, height):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


def _bomb_bmp(path, width, height):
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    data[18:26] = struct.pack("<ii", width, height)
    path.write_bytes(bytes(data))


def _bomb_tiff(path, width, height):
    tifffile.imwrite(path, np.zeros((1, 1), np.uint8))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        order = tif.byteorder
        for name, value in (("ImageWidth", width), ("ImageLength", height)):
            tag = tif.pages[0].tags[name]
            code = {3: "H", 4: "I"}[int(tag.dtype)]
            data[tag.valueoffset : tag.valueoffset + struct.calcsize(code)] = struct.pack(order + code, value)
    path.write_bytes(bytes(data))


def _bomb_npy(path, width, height):
    with open(path, "wb") as file:  # header only, no data
        np.lib.format.write_array_header_1_0(file, {"descr": "|u1", "fortran_order": False, "shape": (height, width)})


BOMBS = {
    "png": (_bomb_png, 100_000, 100_000),
    "jpg": (_bomb_jpeg, 60_000, 60_000),
    "bmp": (_bomb_bmp, 100_000, 100_000),
    "tif": (_bomb_tiff, 60_000, 60_000),
    "npy": (_bomb_npy, 100_000, 100_000),
}


@pytest.mark.parametrize("ext", sorted(BOMBS))
def test_decompression_bomb_refused_from_header(tmp_path, monkeypatch, ext):
    make, width, height = BOMBS[ext]
    path = tmp_path / f"bomb.{ext}"
    make(path, width, height)
    assert path.stat().st_size < 2000
    _forbid_decoding(monkeypatch)
    samples = width * height  # all gray: one sample per pixel
    with pytest.raises(
        ValueError,
        match=rf"bomb\.{ext}' decodes to an array of shape \({height}, {width}\) = {samples} "
        rf"samples, more than max_pixels={DEFAULT_MAX_PIXELS}",
    ) as info:
        imread(path)
    assert not isinstance(info.value, ImageReadError)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif", ".npy"])
def test_max_pixels_per_call(tmp_path, ext):
    path = tmp_path / f"a{ext}"
    imwrite(path, smooth_image((20, 30)))
    with pytest.raises(ValueError, match=r"shape \(20, 30\) = 600 samples, more than max_pixels=599"):
        imread(path, max_pixels=599)
    assert imread(path, max_pixels=600).shape == (20, 30)
    assert imread(path, max_pixels=None).shape == (20, 30)
    assert imread(path, max_pixels=np.int64(600)).shape == (20, 30)


def test_pillow_global_limit_not_used(tmp_path, monkeypatch):
    imwrite(tmp_path / "a.png", smooth_image((20, 30)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    assert imread(tmp_path / "a.png").shape == (20, 30)


@pytest.mark.parametrize(
    "value, error, pattern",
    [
        (0, ValueError, r"`max_pixels` must be a positive int or None; got 0"),
        (-5, ValueError, r"got -5"),
        (1e6, TypeError, r"`max_pixels` must be a positive int or None; got float 1000000.0"),
        ("100", TypeError, r"got str '100'"),
        (True, TypeError, r"got bool True"),
    ],
)
def test_bad_max_pixels(tmp_path, value, error, pattern):
    imwrite(tmp_path / "a.png", np.zeros((3, 4), np.uint8))
    with pytest.raises(error, match=pattern):
        imread(tmp_path / "a.png", max_pixels=value)


# --------------------------------------------------------------------------
# broken files
# --------------------------------------------------------------------------


def test_corrupt_png(tmp_path):
    imwrite(tmp_path / "a.png", random_image(np.uint8, (20, 30, 3)))
    data = bytearray((tmp_path / "a.png").read_bytes())
    start = data.index(b"IDAT") + 4
    data[start : start + 40] = b"\xff" * 40  # garbage in the zlib stream
    (tmp_path / "a.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"cannot read '.*a\.png' as PNG"):
        imread(tmp_path / "a.png")


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif", ".npy"])
def test_truncated_file(tmp_path, ext):
    path = tmp_path / f"a{ext}"
    imwrite(path, smooth_image((40, 50, 3)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=rf"cannot read '.*a\{ext}'"):
        imread(path)


def test_truncated_jpeg_header_only(tmp_path):
    path = tmp_path / "a.jpg"
    imwrite(path, smooth_image((40, 50, 3)))
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(ImageReadError, match=r"a\.jpg' as JPEG"):
        imread(path)


@pytest.mark.parametrize("name", ["empty.png", "empty.jpg", "empty.tif", "empty.npy", "empty"])
def test_zero_byte_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(ImageReadError, match=rf"'.*{name}': the file is empty \(0 bytes\)"):
        imread(tmp_path / name)


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("hello, this is not an image\n")
    with pytest.raises(
        ImageReadError,
        match=r"notes\.png': not a PNG, JPEG, TIFF, BMP, GIF, WebP or NPY file \(it starts with b'hello, t'\)",
    ):
        imread(tmp_path / "notes.png")


def test_unsupported_format(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.ico")
    with pytest.raises(ImageReadError, match=r"a\.ico': not a PNG, JPEG, TIFF, BMP, GIF, WebP or NPY file"):
        imread(tmp_path / "a.ico")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        imread(tmp_path / "missing.png")


def test_image_read_error_is_value_error():
    assert issubclass(ImageReadError, ValueError)


# --------------------------------------------------------------------------
# the input file is never modified
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif", ".npy"])
def test_imread_leaves_file_untouched(tmp_path, ext):
    path = tmp_path / f"a{ext}"
    imwrite(path, smooth_image((20, 30, 3)))
    digest, stat_before = sha256(path), path.stat()
    if POSIX:
        path.chmod(0o444)  # read-only file is fine too
    image = imread(path)
    image[...] = 0  # the returned array is ours, not a view of the file
    assert sha256(path) == digest
    assert path.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# --------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------


def _failing_writer(file, data, fmt, options):
    file.write(b"partial data")
    file.flush()
    raise OSError("disk full (simulated)")


def _interrupting_writer(file, data, fmt, options):
    file.write(b"partial data")
    raise KeyboardInterrupt


@pytest.mark.parametrize("fmt, ext", [("PNG", ".png"), ("TIFF", ".tif"), ("NPY", ".npy")])
def test_failed_write_leaves_no_file(tmp_path, monkeypatch, fmt, ext):
    monkeypatch.setitem(io_mod._WRITERS, fmt, _failing_writer)
    with pytest.raises(OSError, match="disk full"):
        imwrite(tmp_path / f"a{ext}", np.zeros((3, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("writer, error", [(_failing_writer, OSError), (_interrupting_writer, KeyboardInterrupt)])
def test_failed_write_keeps_existing_target(tmp_path, monkeypatch, writer, error):
    target = tmp_path / "a.png"
    original = random_image(np.uint8, (5, 6, 3))
    imwrite(target, original)
    digest = sha256(target)
    monkeypatch.setitem(io_mod._WRITERS, "PNG", writer)
    with pytest.raises(error):
        imwrite(target, np.zeros((5, 6, 3), np.uint8))
    assert sha256(target) == digest
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    np.testing.assert_array_equal(imread(target), original)


def test_failed_replace_removes_temp(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise PermissionError("target locked (simulated)")

    monkeypatch.setattr(io_mod.os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        imwrite(tmp_path / "a.tif", np.zeros((3, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_write_goes_through_synced_temp_file_in_target_folder(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync")
        real_fsync(fd)

    def replace(src, dst):
        src, dst = Path(src), Path(dst)
        events.append("replace")
        assert src.parent == dst.parent == tmp_path
        assert src.name.startswith(".imgconv-") and src.suffix == ".part" and len(src.name) == 30
        image = imread(src)  # complete before it is moved
        np.testing.assert_array_equal(image, np.full((3, 4), 7, np.uint16))
        real_replace(src, dst)

    monkeypatch.setattr(io_mod.os, "fsync", fsync)
    monkeypatch.setattr(io_mod.os, "replace", replace)
    imwrite(tmp_path / "a.tiff", np.full((3, 4), 7, np.uint16))
    assert events[:2] == ["fsync", "replace"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.tiff"]


def test_overwrite_existing_file(tmp_path):
    target = tmp_path / "a.npy"
    imwrite(target, np.zeros((3, 4), np.uint8))
    imwrite(target, np.ones((5, 6), np.uint16))
    np.testing.assert_array_equal(imread(target), np.ones((5, 6), np.uint16))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_file_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    new = tmp_path / "new.png"
    imwrite(new, np.zeros((3, 4), np.uint8))
    assert new.stat().st_mode & 0o777 == 0o666 & ~mask
    new.chmod(0o640)
    imwrite(new, np.ones((3, 4), np.uint8))
    assert new.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_symlink_is_never_written_through(tmp_path):
    real = tmp_path / "real.png"
    imwrite(real, np.zeros((3, 4), np.uint8))
    link = tmp_path / "link.png"
    link.symlink_to(real)
    with pytest.raises(ValueError, match=r"is a symbolic link; imgconv never writes through a link"):
        imwrite(link, np.full((3, 4), 9, np.uint8))
    assert link.is_symlink()
    np.testing.assert_array_equal(imread(real), np.zeros((3, 4), np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["link.png", "real.png"]  # no temporary left


def test_imwrite_leaves_array_untouched(tmp_path):
    image = np.random.default_rng(6).uniform(-1, 2, (5, 6, 3))
    before = image.copy()
    for ext, policy in [(".png", "clip"), (".tif", "rescale"), (".npy", "float")]:
        imwrite(tmp_path / f"a{ext}", image, dtype_policy=policy)
    np.testing.assert_array_equal(image, before)


# --------------------------------------------------------------------------
# image_to_float32
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype",
    [bool, np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64, np.float16, np.float64],
)
def test_image_to_float32_matches_skimage(dtype):
    skimage_util = pytest.importorskip("skimage.util")
    image = random_image(dtype, (7, 9, 3), seed=7)
    out = image_to_float32(image)
    assert out.dtype == np.float32 and out.shape == image.shape
    np.testing.assert_array_equal(out, skimage_util.img_as_float32(image))


@pytest.mark.parametrize("dtype, maxval", [(np.uint8, 255), (np.uint16, 65535)])
def test_image_to_float32_divides_by_max(dtype, maxval):
    image = random_image(dtype, (6, 5), seed=8)
    out = image_to_float32(image)
    np.testing.assert_allclose(out, image / maxval, rtol=1e-6, atol=0)
    assert out.min() >= 0 and out.max() <= 1


def test_image_to_float32_float32_passthrough():
    image = np.array([[-1.5, 0.25, 3.0]], np.float32)
    assert image_to_float32(image) is image


def test_image_to_float32_refuses_complex():
    with pytest.raises(TypeError, match=r"`image` must be a bool, integer or float array; got dtype complex64"):
        image_to_float32(np.zeros(3, np.complex64))


# --------------------------------------------------------------------------
# bundled sample images (data/images, documented in data/README.md)
# --------------------------------------------------------------------------

SAMPLE_IMAGES = {
    "astronaut.jpg": ((512, 512, 3), np.uint8),
    "camera.png": ((512, 512), np.uint8),
    "chelsea.png": ((300, 451, 3), np.uint8),
    "clock.jpg": ((300, 400), np.uint8),
    "coffee.jpg": ((341, 512, 3), np.uint8),
    "coffee_gray16.tif": ((171, 256), np.uint16),
    "rocket.jpg": ((342, 512, 3), np.uint8),
}

needs_data = pytest.mark.skipif(not DATA_IMAGES.is_dir(), reason="data/images not available (installed package)")


@needs_data
@pytest.mark.parametrize("name", sorted(SAMPLE_IMAGES))
def test_sample_image_loads(name):
    shape, dtype = SAMPLE_IMAGES[name]
    image = imread(DATA_IMAGES / name)
    assert image.shape == shape
    assert image.dtype == dtype
    assert max(shape[:2]) <= 512
    assert image.min() < image.max()


@needs_data
def test_sample_images_are_all_documented():
    present = sorted(p.name for p in DATA_IMAGES.iterdir() if not p.name.startswith("."))
    assert present == sorted(SAMPLE_IMAGES)
    total = sum((DATA_IMAGES / name).stat().st_size for name in present)
    assert total < 2 * 1024 * 1024
    readme = DATA_IMAGES.parent / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        for name in present:
            assert name in text


@needs_data
def test_sample_tiff_uses_16_bits():
    image = imread(DATA_IMAGES / "coffee_gray16.tif")
    assert image.max() > 255
    assert np.any(image % 257 != 0)  # not just 8-bit data times 257
