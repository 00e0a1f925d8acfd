"""Outputs that describe themselves: channel names, imgconv's metadata, resolution and colour profile.

Oracle: tifffile and Pillow reading the files on their own; the pipeline's channel names.
"""

import json
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

import imgconv
from imgconv.batch import MANIFEST_NAME, process
from imgconv.cli import main
from imgconv.io import imread, imwrite, read_info
from imgconv.pipeline import Pipeline

FAKE_ICC = b"\x00\x00\x02\x0cimgconv-test-profile" + bytes(range(64))


def test_multichannel_tiff_is_a_labelled_imagej_hyperstack(tmp_path, rng):
    data = rng.random((9, 7, 5)).astype(np.float32)
    names = [f"band{k}" for k in range(5)]
    imwrite(tmp_path / "r.tif", data, dtype_policy="float", channel_names=names, metadata={"note": "x"})
    with tifffile.TiffFile(tmp_path / "r.tif") as tif:  # what Fiji and napari see
        assert tif.is_imagej and tif.series[0].axes == "CYX"
        assert list(tif.imagej_metadata["Labels"]) == names
        assert json.loads(tif.imagej_metadata["Info"]) == {"channels": names, "note": "x"}
    np.testing.assert_array_equal(imread(tmp_path / "r.tif"), data)
    info = read_info(tmp_path / "r.tif")
    assert (info["shape"], info["dtype"], info["channel_names"], info["metadata"]) == (
        (9, 7, 5),
        "float32",
        names,
        {"note": "x"},
    )


@pytest.mark.parametrize(
    "shape, dtype, name",
    [
        ((6, 5, 3), np.float32, "r.tif"),
        ((6, 5), np.float32, "g.tif"),
        ((6, 5, 4), np.float64, "f.tif"),
        ((6, 5), np.uint8, "g.png"),
    ],
)
def test_other_layouts_keep_names_in_a_description(tmp_path, rng, shape, dtype, name):
    data = rng.random(shape).astype(dtype) if dtype != np.uint8 else (rng.random(shape) * 255).astype(dtype)
    channels = 1 if len(shape) == 2 else shape[2]
    names = [f"c{k}" for k in range(channels)]
    imwrite(
        tmp_path / name,
        data,
        dtype_policy="float" if name.endswith(".tif") else "clip",
        channel_names=names,
        metadata={"imgconv": "test"},
    )
    info = read_info(tmp_path / name)
    assert info["channel_names"] == names and info["metadata"] == {"imgconv": "test"}
    expected = data.astype(np.float32) if dtype == np.float64 else data
    np.testing.assert_array_equal(imread(tmp_path / name), expected)
    if name.endswith(".png"):
        with Image.open(tmp_path / name) as image:
            assert json.loads(image.info["imgconv"])["channels"] == names


def test_resolution_and_icc_round_trip(tmp_path, rng):
    rgb = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
    for name in ("a.tif", "a.png", "a.jpg"):
        imwrite(tmp_path / name, rgb, resolution=(300, 150), icc_profile=FAKE_ICC)
        info = read_info(tmp_path / name)
        np.testing.assert_allclose(info["resolution"], (300, 150), rtol=1e-3)
        assert info["icc_profile"] == FAKE_ICC


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"channel_names": ["a"]}, ValueError, r"`channel_names` must name each of the 2 channels; got 1 names"),
        ({"channel_names": "ab"}, TypeError, r"`channel_names` must be a sequence of str or None"),
        ({"metadata": {"x": object()}}, ValueError, r"`metadata` must be JSON-serialisable"),
        ({"resolution": (0, 72)}, ValueError, r"`resolution` must be \(x, y\) pixels per inch, positive"),
        ({"icc_profile": "text"}, TypeError, r"`icc_profile` must be bytes or None; got str"),
    ],
)
def test_bad_description_options(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        imwrite(tmp_path / "x.tif", np.zeros((3, 3, 2), np.uint8), **kwargs)
    assert os.listdir(tmp_path) == []


def test_batch_outputs_carry_names_spec_resolution_and_profile(tmp_path, rng, capsys):
    src = tmp_path / "src"
    os.makedirs(src)
    rgb = (rng.random((20, 16, 3)) * 255).astype(np.uint8)
    imwrite(src / "photo.png", rgb, resolution=(300, 300), icc_profile=FAKE_ICC)
    pipeline = Pipeline.default()
    process(src, tmp_path / "edges", pipeline, progress=False)
    info = read_info(tmp_path / "edges" / "photo.tif")
    assert info["channel_names"] == pipeline.channel_names(3)
    assert info["metadata"]["imgconv"] == imgconv.__version__
    assert Pipeline.from_spec(info["metadata"]["pipeline"]).fingerprint() == pipeline.fingerprint()
    np.testing.assert_allclose(info["resolution"], (300, 300), rtol=1e-3)
    assert info["icc_profile"] is None  # an RGB profile does not describe 18 responses
    with open(tmp_path / "edges" / MANIFEST_NAME) as file:
        assert json.loads(file.readline())["channels"] == pipeline.channel_names(3)
    # a strided step halves the resolution; a colour-preserving one keeps the profile
    smooth = Pipeline.from_spec([{"step": "gaussian", "sigma": 1}, {"step": "conv2d", "weight": [[1.0]], "stride": 2}])
    process(src, tmp_path / "smooth", smooth, out_format=".tif", progress=False)
    info = read_info(tmp_path / "smooth" / "photo.tif")
    np.testing.assert_allclose(info["resolution"], (150, 150), rtol=1e-3)
    assert info["icc_profile"] == FAKE_ICC
    assert main(["info", str(tmp_path / "edges" / "photo.tif")]) == 0
    out = capsys.readouterr().out
    assert "TIFF 20x16x18 float32" in out and "channels    : sobel_h@d1, sobel_v@d1" in out
    assert main(["info", str(tmp_path / "missing.tif")]) == 2


def test_intensities_are_kept_in_8_bit_outputs(tmp_path, rng, capsys):
    skimage_filters = pytest.importorskip("skimage.filters")
    dim = (62 + rng.random((40, 30)) * 125).astype(np.uint8)  # an input range of 62-187
    imwrite(tmp_path / "dim.png", dim)
    assert (
        main(
            [
                "filter",
                str(tmp_path / "dim.png"),
                str(tmp_path / "out.png"),
                "--filter",
                "gaussian",
                "--param",
                "sigma=1",
                "-q",
            ]
        )
        == 0
    )
    expected = skimage_filters.gaussian(dim, sigma=1, preserve_range=True)  # float, in the input's range
    assert np.abs(imread(tmp_path / "out.png").astype(float) - expected).max() <= 1.0
    # through batch, with the mapping recorded
    src = tmp_path / "src"
    os.makedirs(src)
    imwrite(src / "dim.png", dim)
    process(src, tmp_path / "b", [{"step": "gaussian", "sigma": 1}], progress=False)
    assert np.abs(imread(tmp_path / "b" / "dim.png").astype(float) - expected).max() <= 1.0
    with open(tmp_path / "b" / MANIFEST_NAME) as file:
        assert json.loads(file.readline())["stored"] == {"scale": 255, "offset": 0.0}
    # a signed response is mapped to the full range, and the mapping lets a user recover the values
    process(src, tmp_path / "s", [{"step": "sobel_h"}], out_format=".png", progress=False)
    with open(tmp_path / "s" / MANIFEST_NAME) as file:
        mapping = json.loads(file.readline())["stored"]
    sobel = Pipeline.from_spec([{"step": "sobel_h"}])(dim)
    recovered = (imread(tmp_path / "s" / "dim.png") - mapping["offset"]) / mapping["scale"]
    assert np.abs(recovered - sobel).max() <= 0.5 / mapping["scale"] + 1e-6


@pytest.mark.parametrize("shape, dtype", [((7, 9), np.uint8), ((5, 6, 18), np.float32), ((4, 3, 2), np.float64)])
def test_read_info_of_a_npy_file_reads_its_header(tmp_path, shape, dtype):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(shape, dtype))  # numpy's own writer: the header is the reference
    info = read_info(path)
    assert info["shape"] == shape and info["dtype"] == np.dtype(dtype).name


def test_batch_writes_the_multiscale_feature_stack_with_its_names(tmp_path, rng):
    # `imgconv batch ... --filter multiscale_basic_features`: the stack of each file, labelled feature by
    # feature, with scikit-image's values (its own function on the same float32 gray image)
    skimage_feature = pytest.importorskip("skimage.feature")
    from skimage.util import img_as_float32

    src = tmp_path / "src"
    os.makedirs(src)
    gray = (rng.random((24, 30)) * 255).astype(np.uint8)
    imwrite(src / "gray.png", gray)
    args = ["batch", str(src), str(tmp_path / "out"), "--filter", "multiscale_basic_features"]
    assert main([*args, "--param", "sigma_min=1", "--param", "sigma_max=4", "--quiet"]) == 0
    info = read_info(tmp_path / "out" / "gray.tif")
    labels = [f"{kind}_sigma{s}" for s in (1, 2, 4) for kind in ("intensity", "edges", "texture0", "texture1")]
    assert info["channel_names"] == labels
    expected = skimage_feature.multiscale_basic_features(img_as_float32(gray), sigma_min=1, sigma_max=4)
    np.testing.assert_array_equal(imread(tmp_path / "out" / "gray.tif"), expected)
