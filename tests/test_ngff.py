"""OME-Zarr (NGFF) outputs and the ``.npy`` description file.

Oracles: ``ome_zarr_models`` (the NGFF 0.4 / 0.5 metadata models, pydantic)
validating each store, the ``ome-zarr`` reader (what napari's ome-zarr plugin
uses) reading names, scale and display ranges, zarr reading the arrays on its
own, and the in-memory pipeline for the values.
"""

import json
import os
import sys

import numpy as np
import pytest
import tifffile

from imgconv import filters
from imgconv._output import UnsafePathError
from imgconv.batch import MANIFEST_NAME
from imgconv.cli import main
from imgconv.io import imread, imwrite, read_info
from imgconv.pipeline import Pipeline

zarr = pytest.importorskip("zarr")
ome_zarr_models = pytest.importorskip("ome_zarr_models")


def _model(path):
    """The NGFF model the store validates against (raises if it validates against none)."""
    return ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"))


def _reader_node(path):
    """The image node of the ome-zarr reader (napari-ome-zarr reads through it)."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    return next(iter(Reader(parse_url(str(path)))()))


# ---------------------------------------------------------------------------------------------
# imwrite / imread / read_info
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, stack, axes",
    [((9, 7), False, "yx"), ((9, 7, 5), False, "cyx"), ((3, 9, 7), True, "zyx"), ((3, 9, 7, 2), True, "czyx")],
)
def test_zarr_round_trip_in_ngff_order(tmp_path, rng, shape, stack, axes):
    data = rng.random(shape).astype(np.float32)
    channels = shape[-1] if axes[0] == "c" else 1
    names = [f"band{k}" for k in range(channels)]
    path = tmp_path / "r.zarr"
    imwrite(
        path,
        data,
        dtype_policy="float",
        channel_names=names,
        metadata={"note": "x"},
        stack=stack,
        resolution=(254, 127),
    )
    stored = zarr.open_group(str(path), mode="r")["0"]
    order = {"yx": (0, 1), "cyx": (2, 0, 1), "zyx": (0, 1, 2), "czyx": (3, 0, 1, 2)}[axes]
    np.testing.assert_array_equal(stored[...], np.transpose(data, order))  # channels first, as NGFF requires
    assert list(stored.metadata.dimension_names) == list(axes)
    model = _model(path)
    assert type(model).__module__.startswith("ome_zarr_models.v05")
    attrs = zarr.open_group(str(path), mode="r").attrs.asdict()["ome"]
    assert [a["name"] for a in attrs["multiscales"][0]["axes"]] == list(axes)
    scale = attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale[-2:] == [200.0, 100.0]  # micrometres per pixel: 25400 / (127, 254) ppi (y, x)
    assert [c["label"] for c in attrs["omero"]["channels"]] == names
    np.testing.assert_array_equal(imread(path, stack=stack), data)
    info = read_info(path)
    assert (info["format"], info["shape"], info["dtype"], info["channel_names"], info["metadata"]) == (
        "ZARR",
        shape,
        "float32",
        names,
        {"note": "x"},
    )
    np.testing.assert_allclose(info["resolution"], (254, 127))


def test_zarr_policies_and_dtypes(tmp_path, rng):
    data = rng.random((6, 5, 3))
    imwrite(tmp_path / "a.zarr", data, dtype_policy="float")
    assert imread(tmp_path / "a.zarr").dtype == np.float64  # 'float' keeps the dtype, as .npy
    imwrite(tmp_path / "h.zarr", data, dtype_policy="float16")
    np.testing.assert_array_equal(imread(tmp_path / "h.zarr"), data.astype(np.float16))
    imwrite(tmp_path / "c.zarr", data)  # 'clip' to uint16, as TIFF
    np.testing.assert_array_equal(imread(tmp_path / "c.zarr"), np.rint(data * 65535).astype(np.uint16))
    labels = rng.integers(0, 9, (6, 5)).astype(np.int32)
    imwrite(tmp_path / "l.zarr", labels)
    np.testing.assert_array_equal(imread(tmp_path / "l.zarr"), labels)
    imwrite(tmp_path / "s.zarr", rng.random((2, 4, 4)), stack=True, dtype_policy="float")
    with pytest.raises(ValueError, match="a stack of 2 planes; read it with stack=True"):
        imread(tmp_path / "s.zarr")


@pytest.mark.parametrize(
    "compression, level, codec",
    [(None, None, "zstd"), ("zstd", 9, "zstd"), ("zlib", 6, "gzip"), ("none", None, None)],
)
def test_zarr_codecs(tmp_path, rng, compression, level, codec):
    data = rng.random((40, 30)).astype(np.float32)
    imwrite(tmp_path / "a.zarr", data, dtype_policy="float", compression=compression, level=level)
    compressors = zarr.open_group(str(tmp_path / "a.zarr"), mode="r")["0"].compressors
    if codec is None:
        assert not compressors
    else:
        assert type(compressors[0]).__name__.lower().startswith(codec)
        if level is not None:
            assert compressors[0].level == level
    np.testing.assert_array_equal(imread(tmp_path / "a.zarr"), data)


def test_zarr_bad_options_are_clear_errors(tmp_path):
    image = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match=r"`compression` must be one of 'none', 'zlib', 'zstd'.*got 'lzw'"):
        imwrite(tmp_path / "a.zarr", image, compression="lzw")
    with pytest.raises(ValueError, match="`level` must be from 1 to 22 for 'zstd'; got 30"):
        imwrite(tmp_path / "a.zarr", image, compression="zstd", level=30)
    with pytest.raises(ValueError, match="`level` goes with compression 'zlib' or 'zstd'; got level=3"):
        imwrite(tmp_path / "a.zarr", image, compression="none", level=3)
    with pytest.raises(ValueError, match="`predictor` goes with a compressed TIFF"):
        imwrite(tmp_path / "a.zarr", image, predictor=True)
    with pytest.raises(ValueError, match="`icc_profile` cannot be stored in an OME-Zarr store"):
        imwrite(tmp_path / "a.zarr", image, icc_profile=b"icc")
    assert not (tmp_path / "a.zarr").exists()


def test_zarr_replaces_only_its_own_store(tmp_path, rng):
    imwrite(tmp_path / "a.zarr", rng.random((4, 4)), dtype_policy="float")
    data = rng.random((5, 6)).astype(np.float32)
    imwrite(tmp_path / "a.zarr", data, dtype_policy="float")  # an earlier store of imgconv: replaced
    np.testing.assert_array_equal(imread(tmp_path / "a.zarr"), data)
    assert sorted(os.listdir(tmp_path)) == ["a.zarr"]  # no temporary folder left
    mine = tmp_path / "mine.zarr"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(UnsafePathError, match="holds data imgconv did not write"):
        imwrite(mine, data, dtype_policy="float")
    assert (mine / "notes.txt").read_text() == "keep me"
    foreign = tmp_path / "foreign.zarr"
    zarr.open_group(str(foreign), mode="w").create_array("0", shape=(2, 2), dtype="f4")
    with pytest.raises(UnsafePathError):
        imwrite(foreign, data, dtype_policy="float")
    (tmp_path / "file.zarr").write_bytes(b"a file")
    with pytest.raises(UnsafePathError):
        imwrite(tmp_path / "file.zarr", data, dtype_policy="float")
    assert (tmp_path / "file.zarr").read_bytes() == b"a file"
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(target, tmp_path / "link.zarr")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        imwrite(tmp_path / "link.zarr", data, dtype_policy="float")
    assert os.listdir(target) == []


def test_a_store_of_another_tool_reads_with_its_labels(tmp_path, rng):
    """A plain NGFF 0.4 image (no imgconv record): imread and read_info follow its metadata."""
    data = rng.random((3, 8, 9)).astype(np.float32)
    group = zarr.open_group(str(tmp_path / "o.zarr"), mode="w", zarr_format=2)
    group.create_array("s0", shape=data.shape, dtype="f4")[...] = data
    group.attrs.update(
        {
            "multiscales": [
                {
                    "version": "0.4",
                    "axes": [
                        {"name": "c", "type": "channel"},
                        {"name": "y", "type": "space"},
                        {"name": "x", "type": "space"},
                    ],
                    "datasets": [{"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}],
                }
            ],
            "omero": {"channels": [{"label": n, "window": {"min": 0, "max": 1, "start": 0, "end": 1}} for n in "RGB"]},
        }
    )
    np.testing.assert_array_equal(imread(tmp_path / "o.zarr"), np.moveaxis(data, 0, -1))
    assert read_info(tmp_path / "o.zarr")["channel_names"] == ["R", "G", "B"]


def test_zarr_without_the_zarr_package_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'imgconv\[dask\]'"):
        imwrite(tmp_path / "a.zarr", np.zeros((4, 4)), dtype_policy="float")
    src = tmp_path / "src"
    src.mkdir()
    imwrite(src / "a.png", np.zeros((4, 4), np.uint8))
    assert main(["batch", str(src), str(tmp_path / "out"), "--out-format", ".zarr"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "zarr" in err[0] and "Traceback" not in err[0]


# ---------------------------------------------------------------------------------------------
# what napari's reader sees
# ---------------------------------------------------------------------------------------------


def test_ome_zarr_reader_sees_names_scale_and_ranges(tmp_path, rng):
    data = (rng.random((12, 10, 3)) * [1, 2, 3]).astype(np.float32)
    imwrite(tmp_path / "r.zarr", data, dtype_policy="float", channel_names=["a", "b", "c"], resolution=(2540, 2540))
    node = _reader_node(tmp_path / "r.zarr")
    assert node.metadata["channel_names"] == ["a", "b", "c"]
    np.testing.assert_allclose(node.metadata["coordinateTransformations"][0][0]["scale"], [1, 10, 10])
    np.testing.assert_allclose(
        node.metadata["contrast_limits"], [[data[..., k].min(), data[..., k].max()] for k in range(3)], rtol=1e-6
    )
    np.testing.assert_array_equal(np.asarray(node.data[0]), np.moveaxis(data, -1, 0))


# ---------------------------------------------------------------------------------------------
# process_large
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def rgb_tiff(tmp_path, rng):
    rgb = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, tile=(32, 32), photometric="rgb", resolution=(400, 400), resolutionunit="INCH")
    return path, rgb


@pytest.mark.parametrize("zarr_format, version", [(3, "v05"), (2, "v04")])
def test_process_large_writes_an_ngff_image(rgb_tiff, tmp_path, zarr_format, version):
    icd = pytest.importorskip("imgconv.dask")
    path, rgb = rgb_tiff
    pipe = Pipeline.default()
    z = icd.process_large(
        path, tmp_path / "p.zarr", pipe, tile=32, channel_axis=-1, zarr_options={"zarr_format": zarr_format}
    )
    expected = pipe(rgb)
    assert z.shape == (expected.shape[2], 70, 90) and z.chunks == (1, 32, 32)
    np.testing.assert_allclose(np.moveaxis(z[...], 0, -1), expected, rtol=1e-5, atol=1e-6)
    assert type(_model(tmp_path / "p.zarr")).__module__.startswith(f"ome_zarr_models.{version}")
    node = _reader_node(tmp_path / "p.zarr")
    names = pipe.channel_names(3)
    assert node.metadata["channel_names"] == names
    np.testing.assert_allclose(node.metadata["coordinateTransformations"][0][0]["scale"], [1, 63.5, 63.5])
    lows, highs = expected.min(axis=(0, 1)), expected.max(axis=(0, 1))
    np.testing.assert_allclose(node.metadata["contrast_limits"], np.stack([lows, highs], 1), rtol=1e-5, atol=1e-6)
    info = read_info(tmp_path / "p.zarr")
    assert info["shape"] == expected.shape and info["channel_names"] == names
    np.testing.assert_allclose(imread(tmp_path / "p.zarr"), expected, rtol=1e-5, atol=1e-6)


def test_process_large_reads_its_own_ngff_output(rgb_tiff, tmp_path):
    """An OME-Zarr image as src: channels first, so channel_axis defaults to 0; the result equals the in-memory one."""
    icd = pytest.importorskip("imgconv.dask")
    path, rgb = rgb_tiff
    kernel = np.array([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]])
    first = icd.process_large(path, tmp_path / "a.zarr", kernel, tile=40, channel_axis=-1)
    second = icd.process_large(tmp_path / "a.zarr", tmp_path / "b.zarr", kernel, tile=40, mode="wrap")
    once = filters.correlate(rgb, kernel, channel_axis=-1)
    np.testing.assert_allclose(np.moveaxis(first[...], 0, -1), once, rtol=1e-5, atol=1e-5)
    expected = filters.correlate(np.moveaxis(first[...], 0, -1), kernel, mode="wrap", channel_axis=-1)
    np.testing.assert_allclose(np.moveaxis(second[...], 0, -1), expected, rtol=1e-5, atol=1e-4)


def test_process_large_all_nan_channel_has_a_finite_window(tmp_path):
    icd = pytest.importorskip("imgconv.dask")
    da = pytest.importorskip("dask.array")
    data = np.full((20, 20), np.nan, np.float32)
    icd.process_large(da.from_array(data), tmp_path / "n.zarr", np.ones((3, 3)), tile=10)
    window = zarr.open_group(str(tmp_path / "n.zarr"), mode="r").attrs["ome"]["omero"]["channels"][0]["window"]
    assert window == {"min": 0.0, "max": 0.0, "start": 0.0, "end": 0.0}
    _model(tmp_path / "n.zarr")


# ---------------------------------------------------------------------------------------------
# batch --out-format .zarr, and the .npy description file
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def photos(tmp_path, rng):
    src = tmp_path / "src"
    src.mkdir()
    for k in range(3):
        imwrite(src / f"p{k}.png", rng.integers(0, 256, (40 + k, 50, 3), dtype=np.uint8), resolution=(300, 300))
    planes = rng.integers(0, 256, (4, 30, 20), dtype=np.uint8)
    tifffile.imwrite(src / "stack.tif", planes, photometric="minisblack")
    return src, planes


def test_batch_writes_ngff_stores_and_resumes(photos, tmp_path, capsys):
    src, planes = photos
    out = tmp_path / "out"
    assert main(["batch", str(src), str(out), "--out-format", ".zarr", "--no-preview", "-q"]) == 0
    pipe = Pipeline.default()
    records = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    assert sorted(os.path.basename(r["output"]) for r in records) == ["p0.zarr", "p1.zarr", "p2.zarr", "stack.zarr"]
    for k in range(3):
        store = out / f"p{k}.zarr"
        _model(store)
        expected = pipe(imread(src / f"p{k}.png"))
        np.testing.assert_allclose(imread(store), expected, rtol=1e-6, atol=1e-6)
        info = read_info(store)
        assert info["channel_names"] == pipe.channel_names(3)
        assert info["metadata"]["pipeline"] == pipe.to_spec()
        np.testing.assert_allclose(info["resolution"], read_info(src / f"p{k}.png")["resolution"])  # PNG: 299.9994
    stack = imread(out / "stack.zarr", stack=True)
    np.testing.assert_allclose(stack, np.stack([pipe(p) for p in planes]), rtol=1e-6, atol=1e-6)
    assert zarr.open_group(str(out / "stack.zarr"), mode="r")["0"].shape == (18, 4, 30, 20)  # czyx
    assert not os.listdir(out / ".imgconv" / "tmp")
    capsys.readouterr()
    assert main(["info", str(out / "p0.zarr")]) == 0
    shown = capsys.readouterr().out
    assert "ZARR 40x50x18 float32" in shown and "sobel_h@d1" in shown
    # a rerun skips what is done; a store removed by the user is made again, and only it
    before = {k: os.stat(out / f"p{k}.zarr" / "zarr.json").st_mtime_ns for k in range(3)}
    import shutil

    shutil.rmtree(out / "p1.zarr")
    assert main(["batch", str(src), str(out), "--out-format", ".zarr", "--no-preview"]) == 0
    assert "1 done, 3 skipped, 0 failed" in capsys.readouterr().out
    assert os.stat(out / "p0.zarr" / "zarr.json").st_mtime_ns == before[0]
    _model(out / "p1.zarr")


def test_batch_cleans_a_store_a_killed_run_left(photos, tmp_path):
    src, _ = photos
    out = tmp_path / "out"
    half = out / ".imgconv" / "tmp" / "0123456789abcdef.part"
    half.mkdir(parents=True)
    (half / "zarr.json").write_text("{")
    assert main(["batch", str(src), str(out), "--out-format", ".zarr", "--no-preview", "-q"]) == 0
    assert not os.listdir(out / ".imgconv" / "tmp")


def test_batch_refuses_a_folder_it_did_not_write(photos, tmp_path, capsys):
    src, _ = photos
    out = tmp_path / "out"
    (out / "p0.zarr").mkdir(parents=True)
    (out / "p0.zarr" / "mine.txt").write_text("keep me")
    assert main(["batch", str(src), str(out), "--out-format", ".zarr", "--no-preview"]) == 1
    assert (out / "p0.zarr" / "mine.txt").read_text() == "keep me"
    assert "1 failed" in capsys.readouterr().out


def test_npy_keeps_names_in_a_json_file_beside_it(tmp_path, rng, capsys):
    data = rng.random((5, 4, 2)).astype(np.float32)
    imwrite(tmp_path / "r.npy", data, dtype_policy="float", channel_names=["a", "b"], metadata={"note": "x"})
    assert json.loads((tmp_path / "r.npy.json").read_text()) == {"channels": ["a", "b"], "note": "x"}
    info = read_info(tmp_path / "r.npy")
    assert info["channel_names"] == ["a", "b"] and info["metadata"] == {"note": "x"}
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), data)  # the .npy itself is plain NumPy
    imwrite(tmp_path / "plain.npy", data, dtype_policy="float")
    assert not (tmp_path / "plain.npy.json").exists()
    assert read_info(tmp_path / "plain.npy")["channel_names"] is None
    src = tmp_path / "src"
    src.mkdir()
    imwrite(src / "a.png", rng.integers(0, 256, (9, 8), dtype=np.uint8))
    assert main(["batch", str(src), str(tmp_path / "out"), "--out-format", ".npy", "--no-preview", "-q"]) == 0
    described = json.loads((tmp_path / "out" / "a.npy.json").read_text())
    assert described["channels"] == Pipeline.default().channel_names(1)


def test_npy_description_never_goes_through_a_link(tmp_path, rng):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / "r.npy.json")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        imwrite(tmp_path / "r.npy", rng.random((3, 3)), dtype_policy="float", channel_names=["a"])
    assert victim.read_text() == "keep me"
