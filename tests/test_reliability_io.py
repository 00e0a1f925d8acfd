"""Reliability of imgconv.io.imread against hostile or unusual files.

Files are written by tifffile, Pillow or NumPy directly, or patched byte by
byte from such files, so that what they hold is known by construction. Every
case that could hang or exhaust memory runs in a child process with a
timeout (and, on Linux, an address-space limit), so that a regression fails
the test instead of stalling or killing the test run.
"""

import json
import os
import re
import socket
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile

import imgconv.io as io_mod
from imgconv.io import DEFAULT_MAX_PIXELS, ImageReadError, imread, imwrite

POSIX = os.name == "posix"
CHILD_TIMEOUT = 120  # seconds; generous for a loaded machine, short of a hang


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


class Decoded(BaseException):
    """Raised by the patched decoders; a BaseException so no `except Exception` hides it."""


def forbid_decoding(monkeypatch):
    def boom(*args, **kwargs):
        raise Decoded("pixel data were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", boom)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", boom)
    monkeypatch.setattr(tifffile.TiffFile, "asarray", boom)
    monkeypatch.setattr(np, "load", boom)


def random_image(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == bool:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


def smooth_rgb(height, width):
    y, x = np.mgrid[0:height, 0:width]
    base = 128 + 60 * np.sin(x / 7.0) * np.cos(y / 9.0)
    return np.stack([base, 255 - base, np.clip(2 * x + y, 0, 255)], axis=-1).astype(np.uint8)


def patch_tiff_tags(path, **values):
    """Overwrite the values of first-page tags in place (e.g. ImageWidth=4096)."""
    data = bytearray(Path(path).read_bytes())
    with tifffile.TiffFile(path) as tif:
        order = tif.byteorder
        for name, value in values.items():
            tag = tif.pages[0].tags[name]
            code = {3: "H", 4: "I", 16: "Q"}[int(tag.dtype)]
            data[tag.valueoffset : tag.valueoffset + struct.calcsize(code)] = struct.pack(order + code, value)
    Path(path).write_bytes(bytes(data))


def png_chunk(kind, payload, length=None):
    body = kind + payload
    size = len(payload) if length is None else length
    return struct.pack(">I", size) + body + struct.pack(">I", zlib.crc32(body))


def gray_png_with(chunks, width=4, height=3):
    """An 8-bit gray PNG of zeros, with extra chunks between IHDR and IDAT."""
    raw = b"".join(b"\x00" + bytes(width) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + chunks
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def patched_png(path, mode, width, height):
    """A 1 x 1 PNG of `mode` whose IHDR announces width x height."""
    Image.new(mode, (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def patched_jpeg(path, mode, width, height):
    """An 8 x 8 baseline JPEG of `mode` whose SOF0 announces width x height."""
    Image.new(mode, (8, 8)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------
# 1. max_pixels counts every sample: H x W x C (x pages)
# --------------------------------------------------------------------------


def _samples_message(name, shape, limit):
    count = int(np.prod(shape))
    shape_text = re.escape(str(tuple(shape)))
    return (
        rf"{re.escape(name)}' decodes to an array of shape {shape_text} = {count} samples, "
        rf"more than max_pixels={limit}"
    )


def test_tiff_with_64_samples_per_pixel_is_refused_from_the_header(tmp_path, monkeypatch):
    # 16 x 16 x 64 zeros, deflated; the header then claims 4096 x 4096 x 64,
    # 1 GiB of uint8 but only 16.8 M pixels, far under the pixel-count limit
    path = tmp_path / "bands.tif"
    tifffile.imwrite(
        path,
        np.zeros((16, 16, 64), np.uint8),
        photometric="minisblack",
        planarconfig="contig",
        compression="zlib",
    )
    patch_tiff_tags(path, ImageWidth=4096, ImageLength=4096)
    assert path.stat().st_size < 17_000
    forbid_decoding(monkeypatch)
    with pytest.raises(ValueError, match=_samples_message("bands.tif", (4096, 4096, 64), DEFAULT_MAX_PIXELS)) as info:
        imread(path)
    assert not isinstance(info.value, ImageReadError)
    assert "1073741824 samples" in str(info.value)


def _write_known(path, kind):
    """Write a file of known decoded shape with Pillow, tifffile or NumPy."""
    if kind == "rgba.png":
        Image.fromarray(random_image(np.uint8, (5, 6, 4))).save(path)
        return (5, 6, 4)
    if kind == "palette.png":  # decodes to RGB: 3 samples per pixel
        pil = Image.fromarray((np.arange(30, dtype=np.uint8) % 4).reshape(5, 6))
        pil.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
        pil.save(path)
        return (5, 6, 3)
    if kind == "rgb.jpg":
        Image.fromarray(smooth_rgb(5, 6)).save(path, quality=90)
        return (5, 6, 3)
    if kind == "rgb.bmp":
        Image.fromarray(random_image(np.uint8, (5, 6, 3))).save(path)
        return (5, 6, 3)
    if kind == "bands.tif":
        tifffile.imwrite(
            path,
            random_image(np.uint16, (5, 6, 7)),
            photometric="minisblack",
            planarconfig="contig",
        )
        return (5, 6, 7)
    if kind == "planar.tif":
        tifffile.imwrite(path, random_image(np.uint8, (3, 5, 6)), photometric="rgb", planarconfig="separate")
        return (5, 6, 3)
    if kind == "palette.tif":  # one index sample, three uint16 colour samples out
        colormap = np.random.default_rng(1).integers(0, 65535, (3, 256), dtype=np.uint16)
        tifffile.imwrite(path, random_image(np.uint8, (5, 6)), photometric="palette", colormap=colormap)
        return (5, 6, 3)
    if kind == "bands.npy":
        np.save(path, random_image(np.float32, (5, 6, 9)))
        return (5, 6, 9)
    raise AssertionError(kind)


KNOWN_FILES = [
    "rgba.png",
    "palette.png",
    "rgb.jpg",
    "rgb.bmp",
    "bands.tif",
    "planar.tif",
    "palette.tif",
    "bands.npy",
]


@pytest.mark.parametrize("kind", KNOWN_FILES)
def test_max_pixels_counts_every_sample(tmp_path, kind):
    path = tmp_path / kind
    shape = _write_known(path, kind)
    samples = int(np.prod(shape))
    with pytest.raises(ValueError, match=_samples_message(kind, shape, samples - 1)):
        imread(path, max_pixels=samples - 1)
    assert imread(path, max_pixels=samples).shape == shape


@pytest.mark.parametrize(
    "name, make, shape",
    [
        # 10^8 pixels: under the pixel-count limit, over it in samples
        ("rgba.png", lambda p: patched_png(p, "RGBA", 10_000, 10_000), (10_000, 10_000, 4)),
        ("rgb.png", lambda p: patched_png(p, "RGB", 10_000, 10_000), (10_000, 10_000, 3)),
        ("rgb.jpg", lambda p: patched_jpeg(p, "RGB", 10_000, 10_000), (10_000, 10_000, 3)),
        ("cmyk.jpg", lambda p: patched_jpeg(p, "CMYK", 9_000, 9_000), (9_000, 9_000, 4)),
    ],
)
def test_tiny_colour_png_or_jpeg_with_huge_dimensions(tmp_path, monkeypatch, name, make, shape):
    path = tmp_path / name
    make(path)
    assert path.stat().st_size < 2_000
    assert shape[0] * shape[1] < DEFAULT_MAX_PIXELS < np.prod(shape)
    forbid_decoding(monkeypatch)
    with pytest.raises(ValueError, match=_samples_message(name, shape, DEFAULT_MAX_PIXELS)):
        imread(path)


@pytest.mark.parametrize("layout", ["stack", "pages-without-metadata"])
def test_tiff_stack_over_the_limit_is_refused_before_decoding(tmp_path, monkeypatch, layout):
    path = tmp_path / "pages.tif"
    if layout == "stack":  # one series of shape (3, 4, 5), described by tifffile
        tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint8), photometric="minisblack")
    else:  # three alike pages, as libtiff writes them: grouped into one series
        with tifffile.TiffWriter(path) as tif:
            for page in range(3):
                tif.write(np.full((4, 5), page, np.uint8), photometric="minisblack", metadata=None)
    forbid_decoding(monkeypatch)
    for limit in (20, 59, None):  # each page fits in 20; all three in 60
        with pytest.raises(ImageReadError, match=r"pages\.tif.*series of shape \(3, 4, 5\)"):
            imread(path, max_pixels=limit)


def test_tiff_of_several_series_counts_the_first_only(tmp_path):
    path = tmp_path / "series.tif"
    with tifffile.TiffWriter(path) as tif:  # three series of one page each
        for page in range(3):
            tif.write(np.full((4, 5), page + 1, np.uint8), photometric="minisblack")
    np.testing.assert_array_equal(imread(path, max_pixels=20), np.ones((4, 5), np.uint8))
    with pytest.raises(ValueError, match=_samples_message("series.tif", (4, 5), 19)):
        imread(path, max_pixels=19)


def test_tiff_tiles_count_against_the_limit(tmp_path, monkeypatch):
    # a 16 x 16 image whose one tile is 256 x 256: decoding a tile allocates
    # the whole tile, so a tiny image with huge tiles is a bomb too
    path = tmp_path / "tile.tif"
    tifffile.imwrite(path, np.zeros((256, 256), np.uint8), tile=(256, 256), compression="zlib")
    patch_tiff_tags(path, ImageWidth=16, ImageLength=16)
    forbid_decoding(monkeypatch)
    with pytest.raises(
        ValueError,
        match=r"tile\.tif' stores its image in tiles of shape \(256, 256\) = 65536 samples, "
        r"more than max_pixels=1000",
    ):
        imread(path, max_pixels=1000)
    monkeypatch.undo()
    np.testing.assert_array_equal(imread(path, max_pixels=65536), np.zeros((16, 16), np.uint8))


def test_tiff_data_past_the_end_of_the_file(tmp_path):
    image = random_image(np.uint16, (40, 50))
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, image, compression="zlib", rowsperstrip=40)
    with tifffile.TiffFile(path) as tif:
        (offset,), (count,) = tif.pages[0].dataoffsets, tif.pages[0].databytecounts
    path.write_bytes(path.read_bytes()[: offset + count // 2])
    with pytest.raises(
        ImageReadError,
        match=rf"cut\.tif': the TIFF is truncated: its strip of {count} bytes at offset "
        rf"{offset} ends past the end of the file \({offset + count // 2} bytes\)",
    ):
        imread(path)


def test_valid_tiff_shortcuts_still_read(tmp_path):
    # one uncompressed strip holding the whole image, RowsPerStrip saying 4:
    # libtiff and tifffile both read it, so must imread
    image = random_image(np.uint8, (16, 16))
    path = tmp_path / "one_strip.tif"
    tifffile.imwrite(path, image, rowsperstrip=16)
    patch_tiff_tags(path, RowsPerStrip=4)
    np.testing.assert_array_equal(imread(path), image)
    # sparse tiles (offset and byte count 0, as GDAL writes empty blocks) are zeros
    path = tmp_path / "sparse.tif"
    tifffile.imwrite(path, np.ones((32, 32), np.uint8), tile=(16, 16))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        for name in ("TileOffsets", "TileByteCounts"):
            tag = tif.pages[0].tags[name]
            data[tag.valueoffset : tag.valueoffset + 4 * tag.count] = bytes(4 * tag.count)
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(imread(path), np.zeros((32, 32), np.uint8))


@pytest.mark.parametrize("shape", [(-1, 30), (-2, -3), (5, 6, -1)])
def test_npy_header_with_negative_axes(tmp_path, shape):
    path = tmp_path / "negative.npy"
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": "|u1", "fortran_order": False, "shape": shape})
        file.write(bytes(30))
    shape_text = re.escape(str(shape))
    for limit in (DEFAULT_MAX_PIXELS, None):
        with pytest.raises(ImageReadError, match=rf"negative\.npy': the \.npy array has shape {shape_text}; an image"):
            imread(path, max_pixels=limit)


def test_default_limit_unchanged_and_documented_as_samples():
    assert DEFAULT_MAX_PIXELS == 178_956_970
    doc = " ".join(imread.__doc__.split())
    assert "number of samples" in doc and "H * W * C" in doc


# --------------------------------------------------------------------------
# 2. bool images with channels round-trip through TIFF
# --------------------------------------------------------------------------


def _bilevel_planes_by_the_spec(path):
    """Decode a 1-bit TIFF with numpy and zlib only (tifffile for the tags): (H, W, C)."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.bitspersample == 1 and page.compression in (1, 8)
        height, width, samples = page.imagelength, page.imagewidth, page.samplesperpixel
        planar = page.planarconfig == 2
        rows_per_strip = min(page.rowsperstrip, height)
        handle = tif.filehandle
        strips = []
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            handle.seek(offset)
            raw = handle.read(count)
            strips.append(zlib.decompress(raw) if page.compression == 8 else raw)
    values_per_row = width if planar else width * samples
    row_bytes = (values_per_row + 7) // 8  # each row starts on a byte boundary
    rows = np.frombuffer(b"".join(strips), np.uint8).reshape(-1, row_bytes)
    bits = np.unpackbits(rows, axis=1)[:, :values_per_row].astype(bool)
    if planar:  # all rows of sample 0, then of sample 1, ...
        strips_per_plane = -(-height // rows_per_strip)
        assert len(strips) == strips_per_plane * samples
        return np.moveaxis(bits.reshape(samples, height, width), 0, -1)
    return bits.reshape(height, width, samples)  # samples interleaved per pixel


@pytest.mark.parametrize("shape", [(13, 17, 2), (13, 17, 3), (13, 17, 5), (1, 9, 2), (6, 1, 3)])
def test_bool_with_channels_round_trips_through_tiff(tmp_path, shape):
    image = random_image(bool, shape, seed=3)
    path = tmp_path / "mask.tif"
    imwrite(path, image)
    back = imread(path)
    assert back.dtype == bool and back.shape == shape
    np.testing.assert_array_equal(back, image)
    # and the file itself holds those bits, by the TIFF rules
    np.testing.assert_array_equal(_bilevel_planes_by_the_spec(path), image)


def test_tiff_writer_accepts_a_file_object_without_a_path_name(tmp_path):
    # os.fdopen gives a file whose .name is an int, which tifffile cannot split
    image = random_image(np.uint16, (4, 5, 3))
    descriptor = os.open(tmp_path / "fd.tif", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        io_mod._write_tiff(file, image, "TIFF")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "fd.tif"), image)


# --------------------------------------------------------------------------
# 3. compressed TIFF (imagecodecs is a runtime dependency)
# --------------------------------------------------------------------------


def test_imagecodecs_is_a_runtime_dependency():
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not a source checkout")
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0].lower() for spec in dependencies}
    assert "imagecodecs" in names


COMPRESSED_CASES = [
    # (compression, dtype, shape, extra tifffile options)
    ("lzw", np.uint16, (13, 17), {}),
    ("lzw", np.uint8, (13, 17, 3), {"predictor": True, "photometric": "rgb"}),
    ("zstd", np.float32, (13, 17, 2), {"photometric": "minisblack", "planarconfig": "contig"}),
    ("packbits", np.uint8, (13, 17), {}),
    ("lzma", np.int16, (13, 17), {}),
    ("deflate", np.uint8, (13, 17, 3), {"photometric": "rgb"}),
    ("zlib", np.uint16, (13, 17), {"predictor": True}),
]


@pytest.mark.parametrize(
    "compression, dtype, shape, options",
    COMPRESSED_CASES,
    ids=[f"{c}-{np.dtype(d).name}" for c, d, _, _ in COMPRESSED_CASES],
)
def test_compressed_tiff_reads_exactly(tmp_path, compression, dtype, shape, options):
    image = random_image(dtype, shape, seed=5)
    path = tmp_path / f"{compression}.tif"
    tifffile.imwrite(path, image, compression=compression, **options)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].compression != 1  # really compressed
    back = imread(path)
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


def test_jpeg_compressed_tiff_reads_closely(tmp_path):
    image = smooth_rgb(32, 48)
    path = tmp_path / "jpeg.tif"
    tifffile.imwrite(path, image, compression="jpeg", compressionargs={"level": 95}, photometric="rgb")
    back = imread(path)
    assert back.dtype == np.uint8 and back.shape == image.shape
    error = np.abs(back.astype(np.int16) - image)
    assert error.mean() < 2.0 and error.max() <= 24


@pytest.mark.skipif(not imagecodecs.WEBP.available, reason="imagecodecs built without WebP")
def test_lossless_webp_compressed_tiff(tmp_path):
    image = smooth_rgb(16, 16)
    path = tmp_path / "webp.tif"
    tifffile.imwrite(path, image, compression="webp", compressionargs={"lossless": True}, photometric="rgb")
    np.testing.assert_array_equal(imread(path), image)


def test_bigtiff_reads(tmp_path):
    image = random_image(np.uint16, (7, 9, 3))
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, image, bigtiff=True, photometric="rgb", compression="zlib")
    assert path.read_bytes()[:4] == b"II+\x00"
    np.testing.assert_array_equal(imread(path), image)


# --------------------------------------------------------------------------
# 4. never block on, and never read, anything but a regular file
# --------------------------------------------------------------------------

_FIFO_CHILD = r"""
import os, sys
import imgconv.io as io_mod
path = sys.argv[1]
if len(sys.argv) > 2:  # the race: os.stat still sees a regular file, the open must not block
    real_stat, regular = os.stat, os.stat(sys.argv[2])
    os.stat = lambda p, *a, **k: regular if os.fspath(p) == path else real_stat(p, *a, **k)
try:
    io_mod.imread(path)
except io_mod.ImageReadError as exc:
    print("ImageReadError:", exc)
except BaseException as exc:
    print(type(exc).__name__ + ":", exc)
else:
    print("no error")
"""


def _run_child(script, *args):
    try:
        result = subprocess.run(
            [sys.executable, "-c", script, *map(str, args)],
            check=False,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"imread did not return within {CHILD_TIMEOUT} s (it blocked)")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
@pytest.mark.parametrize("race", [False, True], ids=["fifo", "fifo-after-stat"])
def test_fifo_is_refused_without_blocking(tmp_path, race):
    fifo = tmp_path / "x.tif"
    os.mkfifo(fifo)  # no writer ever opens it: a blocking open would wait forever
    regular = tmp_path / "regular.tif"
    imwrite(regular, np.zeros((2, 3), np.uint8))
    out = _run_child(_FIFO_CHILD, fifo, *([regular] if race else []))
    assert out.startswith("ImageReadError:"), out
    assert re.search(r"x\.tif': it is a FIFO \(named pipe\), not a regular file", out), out


def test_directory_is_refused(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(ImageReadError, match=r"folder\.png': it is a directory, not a regular file"):
        imread(folder)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_character_device_is_refused():
    with pytest.raises(ImageReadError, match=r"'/dev/null': it is a character device, not a regular file"):
        imread("/dev/null")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix sockets")
def test_socket_is_refused(tmp_path):
    path = tmp_path / "s.png"
    if len(os.fsencode(path)) > 100:
        pytest.skip("temporary path too long for a Unix socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(os.fspath(path))
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        with pytest.raises(ImageReadError, match=r"s\.png': it is a socket, not a regular file"):
            imread(path)


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_symbolic_link_loop_is_refused(tmp_path):
    (tmp_path / "a.png").symlink_to("b.png")
    (tmp_path / "b.png").symlink_to("a.png")
    with pytest.raises(ImageReadError, match=r"a\.png'.*symbolic link.*loop"):
        imread(tmp_path / "a.png")


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_symbolic_link_to_an_image_is_read(tmp_path):
    image = random_image(np.uint8, (4, 5, 3))
    Image.fromarray(image).save(tmp_path / "real.png")
    (tmp_path / "link.png").symlink_to("real.png")
    np.testing.assert_array_equal(imread(tmp_path / "link.png"), image)


# --------------------------------------------------------------------------
# 5. file names that are not UTF-8
# --------------------------------------------------------------------------


def _undecodable(tmp_path, suffix):
    """tmp_path / b'caf\\xe9' + suffix as a str (surrogateescape), or skip."""
    if not POSIX or sys.platform == "darwin" or sys.getfilesystemencoding().lower() != "utf-8":
        pytest.skip("needs a file system that stores arbitrary bytes in names")
    return os.path.join(os.fspath(tmp_path), os.fsdecode(b"caf\xe9" + suffix.encode()))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".npy", ".bmp"])
def test_undecodable_file_name_is_read(tmp_path, suffix):
    path = _undecodable(tmp_path, suffix)
    image = smooth_rgb(8, 10)
    plain = tmp_path / f"plain{suffix}"
    if suffix == ".npy":
        np.save(plain, image)
    elif suffix == ".tif":
        tifffile.imwrite(plain, image, photometric="rgb")
    else:
        Image.fromarray(image).save(plain, quality=95)
    os.rename(plain, path)
    back = imread(path)
    assert back.shape == image.shape
    if suffix != ".jpg":
        np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize(
    "suffix, content, max_pixels, error",
    [
        (".png", b"", None, ImageReadError),  # empty
        (".png", b"GIF89a", None, ImageReadError),  # unknown format
        (".png", b"\x89PNG\r\n\x1a\n" + b"broken" * 4, None, ImageReadError),  # Pillow's error
        (".tif", b"II*\x00" + b"\xff" * 12, None, ImageReadError),  # tifffile's error
        (".npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}   ", None, ImageReadError),
        (".png", None, 5, ValueError),  # over max_pixels
    ],
)
def test_messages_for_undecodable_file_names_encode(tmp_path, suffix, content, max_pixels, error):
    path = _undecodable(tmp_path, suffix)
    if content is None:
        Image.new("L", (4, 4)).save(tmp_path / "plain.png")
        os.rename(tmp_path / "plain.png", path)
    else:
        Path(path).write_bytes(content)
    with pytest.raises(error) as info:
        imread(path, max_pixels=max_pixels)
    message = str(info.value)
    message.encode("utf-8")  # no lone surrogate: printable, loggable
    assert "caf\\\\xe9" in message or "caf\\xe9" in message, message


# --------------------------------------------------------------------------
# 6. hostile files: a clear ImageReadError/ValueError, never a MemoryError,
#    a hang or another exception, even under a 1 GiB address-space limit
# --------------------------------------------------------------------------


def _hostile_files(folder):
    """Build the hostile files; return {name: (max_pixels, expected type, message regex)}."""
    cases = {}

    # TIFF whose header claims 10000 x 10000 (10^8 samples, under the limit)
    path = folder / "claims_huge_tiled.tif"
    tifffile.imwrite(path, np.ones((16, 16), np.uint8), tile=(16, 16), compression="zlib")
    patch_tiff_tags(path, ImageWidth=10_000, ImageLength=10_000)
    cases[path.name] = ("default", "ImageReadError", r"lists 1 of the 390625 tiles")

    path = folder / "claims_huge_strip.tif"
    tifffile.imwrite(path, np.ones((16, 16), np.uint8))
    patch_tiff_tags(path, ImageWidth=10_000, ImageLength=10_000)
    cases[path.name] = ("default", "ImageReadError", r"claims_huge_strip\.tif'.*truncated")

    path = folder / "claims_huge_deflate.tif"
    tifffile.imwrite(path, np.ones((16, 16), np.uint8), compression="zlib")
    patch_tiff_tags(path, ImageWidth=10_000, ImageLength=10_000)
    cases[path.name] = ("default", "ImageReadError", r"lists 1 of the 625 strips")

    path = folder / "bands.tif"  # 64 samples per pixel: 1 GiB from 566 bytes
    tifffile.imwrite(
        path,
        np.zeros((16, 16, 64), np.uint8),
        photometric="minisblack",
        planarconfig="contig",
        compression="zlib",
    )
    patch_tiff_tags(path, ImageWidth=4096, ImageLength=4096)
    cases[path.name] = ("default", "ValueError", r"1073741824 samples, more than max_pixels")
    cases["bands.tif none"] = (None, "ImageReadError", r"lists 1 of the 256 strips")

    path = folder / "bigtiff_claims_huge.tif"
    tifffile.imwrite(path, np.ones((16, 16), np.uint8), bigtiff=True)
    patch_tiff_tags(path, ImageWidth=2**31, ImageLength=2**31)
    cases[path.name] = ("default", "ValueError", r"more than max_pixels")

    # zero pages: first IFD offset 0, or outside the file; classic and BigTIFF
    (folder / "no_page.tif").write_bytes(b"II*\x00" + bytes(4) + bytes(32))
    (folder / "ifd_outside.tif").write_bytes(b"MM\x00*" + b"\xff\xff\xff\x00" + bytes(32))
    (folder / "no_page_bigtiff.tif").write_bytes(b"II+\x00\x08\x00\x00\x00" + bytes(8) + bytes(32))
    for name in ("no_page.tif", "ifd_outside.tif", "no_page_bigtiff.tif"):
        cases[name] = ("default", "ImageReadError", rf"{re.escape(name)}'.*holds no image")

    path = folder / "zero_width.tif"
    tifffile.imwrite(path, np.ones((16, 16), np.uint8))
    patch_tiff_tags(path, ImageWidth=0)
    cases[path.name] = ("default", "ImageReadError", r"zero_width\.tif'.*empty")

    # PNG with a zlib bomb in iCCP or zTXt (16 MiB from 16 KiB), and a text
    # chunk announcing 2 GiB in a 60-byte file
    bomb = zlib.compress(bytes(16 << 20), 9)
    (folder / "iccp.png").write_bytes(gray_png_with(png_chunk(b"iCCP", b"icc\x00\x00" + bomb)))
    (folder / "ztxt.png").write_bytes(gray_png_with(png_chunk(b"zTXt", b"Comment\x00\x00" + bomb)))
    text = struct.pack(">I", 0x7FFFFFFF) + b"tEXtComment\x00abc"
    (folder / "text_length.png").write_bytes(gray_png_with(b"")[:33] + text)
    for name in ("iccp.png", "ztxt.png", "text_length.png"):
        cases[name] = ("default", "ImageReadError", rf"{re.escape(name)}' as PNG")

    # .npy: header length of 4 GiB, data missing, shape beyond any memory
    (folder / "header_length.npy").write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{'descr'")
    cases["header_length.npy"] = ("default", "ImageReadError", r"header_length\.npy'.*header")
    with open(folder / "truncated.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": "<f8", "fortran_order": False, "shape": (20_000, 20_000)})
        file.write(bytes(100))
    cases["truncated.npy"] = (None, "ImageReadError", r"truncated\.npy'.*truncated.*3200000000 bytes.*holds 100")
    cases["truncated.npy default"] = ("default", "ValueError", r"400000000 samples, more than")
    with open(folder / "huge_shape.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 10**12)})
    cases["huge_shape.npy"] = ("default", "ValueError", r"more than max_pixels")
    cases["huge_shape.npy none"] = (None, "ImageReadError", r"huge_shape\.npy'")

    # colour PNG/JPEG headers claiming 10^8 pixels, 3 or 4 samples each
    patched_png(folder / "rgba.png", "RGBA", 10_000, 10_000)
    patched_jpeg(folder / "rgb.jpg", "RGB", 10_000, 10_000)
    for name in ("rgba.png", "rgb.jpg"):
        cases[name] = ("default", "ValueError", r"samples, more than max_pixels")

    if POSIX:
        (folder / "loop.png").symlink_to("loop2.png")
        (folder / "loop2.png").symlink_to("loop.png")
        cases["loop.png"] = ("default", "ImageReadError", r"loop\.png'.*symbolic link")
    return cases


_HOSTILE_CHILD = r"""
import json, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
except (ImportError, ValueError, OSError):
    pass
import imgconv.io as io_mod
results = {}
for key, path, limit in json.loads(sys.argv[1]):
    kwargs = {} if limit == "default" else {"max_pixels": limit}
    try:
        io_mod.imread(path, **kwargs)
    except BaseException as exc:
        results[key] = [type(exc).__name__, str(exc)]
    else:
        results[key] = ["no error", ""]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    cases = _hostile_files(folder)
    for key in cases:
        path = folder / key.split()[0]
        assert path.is_symlink() or path.stat().st_size < 20_000, key
    jobs = [[key, os.fspath(folder / key.split()[0]), cases[key][0]] for key in cases]
    results = json.loads(_run_child(_HOSTILE_CHILD, json.dumps(jobs)))
    return cases, results


HOSTILE_KEYS = [
    "claims_huge_tiled.tif",
    "claims_huge_strip.tif",
    "claims_huge_deflate.tif",
    "bands.tif",
    "bands.tif none",
    "bigtiff_claims_huge.tif",
    "no_page.tif",
    "ifd_outside.tif",
    "no_page_bigtiff.tif",
    "zero_width.tif",
    "iccp.png",
    "ztxt.png",
    "text_length.png",
    "header_length.npy",
    "truncated.npy",
    "truncated.npy default",
    "huge_shape.npy",
    "huge_shape.npy none",
    "rgba.png",
    "rgb.jpg",
    "loop.png",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_file(hostile, key):
    cases, results = hostile
    if key not in cases:
        pytest.skip("not built on this platform")
    _, expected_type, pattern = cases[key]
    got_type, message = results[key]
    assert got_type == expected_type, f"{got_type}: {message}"
    assert re.search(pattern, message), message


def test_hostile_list_is_complete(hostile):
    cases, _ = hostile
    assert set(cases) <= set(HOSTILE_KEYS)
