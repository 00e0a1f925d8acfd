"""Codecs of written files: imwrite's compression, level, predictor and float16 options, and the CLI's.

Oracle: tifffile reading the files back on its own, and the TIFF tags it reports.
"""

import os

import numpy as np
import pytest
import tifffile

from imgconv.batch import process
from imgconv.cli import main
from imgconv.io import DEFAULT_COMPRESSION, ImageReadError, imread, imwrite, read_info
from imgconv.pipeline import Pipeline

TAGS = {"zlib": "ADOBE_DEFLATE", "zstd": "ZSTD", "lzw": "LZW", "lzma": "LZMA", "packbits": "PACKBITS", "none": "NONE"}


@pytest.fixture
def responses(rng):
    smooth = np.cumsum(rng.standard_normal((40, 30, 5)), axis=0).astype(np.float32)
    return smooth


def tiff_tags(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        return tifffile.COMPRESSION(page.compression).name, tifffile.PREDICTOR(page.predictor).name


@pytest.mark.parametrize("compression", sorted(TAGS))
@pytest.mark.parametrize("dtype", [np.float32, np.uint16, np.uint8])
def test_every_tiff_codec_round_trips_exactly(tmp_path, responses, compression, dtype):
    data = responses if dtype == np.float32 else (np.abs(responses) * 100).astype(dtype)
    path = tmp_path / "r.tif"
    imwrite(path, data, dtype_policy="float", compression=compression)
    assert tiff_tags(path)[0] == TAGS[compression]
    np.testing.assert_array_equal(tifffile.imread(path), data)
    np.testing.assert_array_equal(imread(path), data)


def test_default_tiff_codec_is_deflate_level_1(tmp_path, responses):
    assert DEFAULT_COMPRESSION["TIFF"] == ("zlib", 1)
    imwrite(tmp_path / "d.tif", responses, dtype_policy="float")
    imwrite(tmp_path / "z1.tif", responses, dtype_policy="float", compression="zlib", level=1)
    assert tiff_tags(tmp_path / "d.tif") == ("ADOBE_DEFLATE", "NONE")
    assert (tmp_path / "d.tif").read_bytes() == (tmp_path / "z1.tif").read_bytes()


@pytest.mark.parametrize("dtype, predictor", [(np.float32, "FLOATINGPOINT"), (np.uint16, "HORIZONTAL")])
def test_predictor(tmp_path, responses, dtype, predictor):
    data = responses if dtype == np.float32 else (np.abs(responses) * 100).astype(dtype)
    imwrite(tmp_path / "p.tif", data, dtype_policy="float", compression="zstd", level=3, predictor=True)
    assert tiff_tags(tmp_path / "p.tif") == ("ZSTD", predictor)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "p.tif"), data)


def test_png_levels(tmp_path, rng):
    image = np.add.outer(np.arange(64), np.arange(64)).astype(np.uint8)  # smooth: deflate shrinks it
    imwrite(tmp_path / "none.png", image, compression="none")
    imwrite(tmp_path / "nine.png", image, compression="zlib", level=9)
    assert os.path.getsize(tmp_path / "none.png") > 64 * 64  # stored, not deflated
    assert os.path.getsize(tmp_path / "nine.png") < os.path.getsize(tmp_path / "none.png")
    for name in ("none.png", "nine.png"):
        np.testing.assert_array_equal(imread(tmp_path / name), image)


def test_float16_policy(tmp_path, responses):
    for ext in (".tif", ".npy"):
        imwrite(tmp_path / f"h{ext}", responses, dtype_policy="float16")
        back = imread(tmp_path / f"h{ext}")
        assert back.dtype == np.float16
        np.testing.assert_array_equal(back, responses.astype(np.float16))
    with pytest.raises(ValueError, match=r"`dtype_policy` 'float16' writes float TIFF"):
        imwrite(tmp_path / "h.png", responses[:, :, 0], dtype_policy="float16")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"compression": "gzip"},
            ValueError,
            r"`compression` must be one of 'lzma', 'lzw', 'none', 'packbits', "
            r"'zlib', 'zstd' or None for TIFF; got 'gzip'",
        ),
        ({"compression": "zstd", "level": 30}, ValueError, r"`level` must be from 1 to 22 for 'zstd'; got 30"),
        ({"compression": "lzw", "level": 3}, ValueError, r"`level` goes with compression 'zlib', 'zstd' or 'lzma'"),
        ({"level": True}, TypeError, r"`level` must be an int or None; got bool True"),
        ({"predictor": "yes"}, TypeError, r"`predictor` must be True or False; got 'yes'"),
        ({"compression": "none", "predictor": True}, ValueError, r"`predictor` goes with a compressed TIFF"),
    ],
)
def test_bad_codec_options(tmp_path, responses, kwargs, error, message):
    with pytest.raises(error, match=message):
        imwrite(tmp_path / "x.tif", responses, dtype_policy="float", **kwargs)
    assert os.listdir(tmp_path) == []


def test_batch_and_cli_codec_options(tmp_path, rng, capsys):
    src = tmp_path / "src"
    os.makedirs(src)
    for i in range(2):
        imwrite(src / f"i{i}.png", (rng.random((16, 16)) * 255).astype(np.uint8))
    report = process(src, tmp_path / "a", compression="zstd", level=5, progress=False)
    assert report.done == 2 and all(tiff_tags(out)[0] == "ZSTD" for _, out in report.outputs)
    assert main(["batch", str(src), str(tmp_path / "b"), "--compression", "lzw", "--no-preview", "-q"]) == 0
    assert all(tiff_tags(tmp_path / "b" / f"i{i}.tif")[0] == "LZW" for i in range(2))
    np.testing.assert_array_equal(imread(tmp_path / "a" / "i0.tif"), imread(tmp_path / "b" / "i0.tif"))
    capsys.readouterr()
    for args in (
        ["batch", str(src), str(tmp_path / "c"), "--compression-level", "99"],
        ["filter", str(src / "i0.png"), str(tmp_path / "o.png"), "--compression", "zstd"],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "c").exists() and not (tmp_path / "o.png").exists()


def test_sixteen_bit_colour_png_round_trips(tmp_path, rng):
    imagecodecs = pytest.importorskip("imagecodecs")
    for channels in (2, 3, 4):
        data = (rng.random((7, 9, channels)) * 65535).astype(np.uint16)
        imwrite(tmp_path / f"c{channels}.png", data)
        np.testing.assert_array_equal(imagecodecs.png_decode((tmp_path / f"c{channels}.png").read_bytes()), data)
        np.testing.assert_array_equal(imread(tmp_path / f"c{channels}.png"), data)


def test_gif_and_webp_are_read(tmp_path, rng):
    from PIL import Image

    rgb = (rng.random((10, 12, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.webp", lossless=True)
    np.testing.assert_array_equal(imread(tmp_path / "a.webp"), rgb)
    gray = (rng.random((10, 12)) * 255).astype(np.uint8)
    frames = [Image.fromarray(gray, "L"), Image.fromarray(255 - gray, "L")]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "a.gif") as image:  # Pillow's reading of the first frame is the reference
        expected = np.asarray(image.convert("RGB"))
    back = imread(tmp_path / "a.gif")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back if back.ndim == 3 else np.dstack([back] * 3), expected)
    # a folder with them goes through batch, the results as TIFF
    report = process(tmp_path, tmp_path / "out", [{"step": "gaussian", "sigma": 1}], progress=False)
    # both would be a.tif: the collision rule keeps the inputs' full names
    assert sorted(os.path.basename(o) for _, o in report.outputs) == ["a.gif.tif", "a.webp.tif"]
    assert report.failed == []


def test_tiff_stacks_are_filtered_plane_by_plane_and_written_back(tmp_path, rng, capsys):
    src = tmp_path / "src"
    os.makedirs(src)
    planes = (rng.random((5, 24, 20)) * 65535).astype(np.uint16)
    tifffile.imwrite(src / "z.tif", planes, imagej=True, metadata={"axes": "ZYX"})  # as Fiji saves a z-stack
    with pytest.raises(ImageReadError, match=r"series of shape \(5, 24, 20\)"):
        imread(src / "z.tif")  # one image: refused, not cut to its first plane
    np.testing.assert_array_equal(imread(src / "z.tif", stack=True), planes)
    pipeline = Pipeline.default()
    report = process(src, tmp_path / "out", pipeline, progress=False)
    assert (report.done, report.failed) == (1, [])
    result = imread(tmp_path / "out" / "z.tif", stack=True)
    assert result.shape == (5, 24, 20, 18)
    for k in range(5):
        np.testing.assert_array_equal(result[k], pipeline(planes[k]))
    with tifffile.TiffFile(tmp_path / "out" / "z.tif") as tif:  # Fiji's view: Z slices of labelled channels
        assert tif.is_imagej and tif.series[0].axes == "ZCYX"
        assert list(tif.imagej_metadata["Labels"][:18]) == pipeline.channel_names(1)
    assert read_info(tmp_path / "out" / "z.tif")["shape"] == (5, 24, 20, 18)
    bad = process(src, tmp_path / "png", [{"step": "gaussian", "sigma": 1}], out_format=".png", progress=False)
    assert "only TIFF and OME-Zarr can hold" in bad.failed[0][1]
    with pytest.raises(ValueError, match=r"`stack` writes a stack of planes to TIFF"):
        imwrite(tmp_path / "s.png", planes, stack=True)
