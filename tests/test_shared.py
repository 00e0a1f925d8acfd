"""Tests for imgconv._shared: the one owner of each rule the public layers share.

The references are written out here from the libraries' own definitions
(PyTorch's ``Conv2d`` shape formula and ``'same'`` split, scipy.ndimage's
anchor, skimage's ``img_as_float32``), not imported from imgconv; the last tests
grep imgconv/ so that the rule "one owner, no private names across modules" stays kept.
"""

import ast
import itertools
import pathlib
import re
import threading

import numpy as np
import pytest
import scipy.ndimage as ndi

import imgconv
from imgconv import _engine, banks, conv, filters, io
from imgconv._shared import blocks, convert, geometry, layout, modes, passes

PACKAGE = pathlib.Path(imgconv.__file__).parent


# --------------------------------------------------------------------------------------
# modes
# --------------------------------------------------------------------------------------


def _pad_1d(row, width, engine_mode):
    """numpy.pad of a row, the engine's definition of its modes."""
    return np.pad(
        np.asarray(row, float),
        width,
        mode=engine_mode,
        **({"constant_values": -1.0} if engine_mode == "constant" else {}),
    )


@pytest.mark.parametrize("scipy_mode", sorted(modes.SCIPY_TO_ENGINE_MODE))
def test_scipy_table_agrees_with_scipy(scipy_mode):
    # scipy.ndimage.correlate1d with a one-hot kernel shifts the extended row: the extension itself
    row = np.array([1.0, 2.0, 3.0, 4.0])
    width = 2
    engine = modes.SCIPY_TO_ENGINE_MODE[scipy_mode]
    padded = _pad_1d(row, width, engine)
    for shift in range(-width, width + 1):
        kernel = np.zeros(2 * width + 1)
        kernel[width + shift] = 1.0
        got = ndi.correlate1d(row, kernel, mode=scipy_mode, cval=-1.0)
        np.testing.assert_array_equal(got, padded[width + shift : width + shift + row.size])


def test_torch_table_written_out():
    # torch.nn.functional.pad names -> numpy.pad names (torch docs, "padding_mode")
    assert modes.TORCH_TO_ENGINE_MODE == {
        "zeros": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }
    assert modes.TORCH_PADDING_MODES == ("circular", "reflect", "replicate", "zeros")


def test_vocabularies_are_one_object_everywhere():
    assert filters.MODES is modes.SCIPY_MODES
    assert banks.MODES is modes.SCIPY_MODES
    assert conv.PADDING_MODES is modes.TORCH_PADDING_MODES
    assert _engine.ENGINE_MODES is modes.ENGINE_MODES
    assert _engine.SCIPY_TO_ENGINE_MODE is modes.SCIPY_TO_ENGINE_MODE
    assert _engine.TORCH_TO_ENGINE_MODE is modes.TORCH_TO_ENGINE_MODE
    assert set(modes.SCIPY_TO_ENGINE_MODE.values()) <= set(modes.ENGINE_MODES)
    assert set(modes.TORCH_TO_ENGINE_MODE.values()) <= set(modes.ENGINE_MODES)
    assert [modes.ENGINE_MODE_CODES[m] for m in modes.ENGINE_MODES] == list(range(len(modes.ENGINE_MODES)))


def test_checkers():
    assert modes.check_scipy_mode("reflect") == "symmetric"
    assert modes.check_scipy_mode("mirror") == "reflect"
    with pytest.raises(ValueError, match=r"`mode` must be one of \['constant', .*'wrap'\]; got 'zeros'"):
        modes.check_scipy_mode("zeros")
    with pytest.raises(TypeError, match=r"`mode` must be one of .*; got 3 of type int"):
        modes.check_scipy_mode(3)
    assert modes.check_padding_mode("circular") == "circular"
    with pytest.raises(
        ValueError,
        match=r"`padding_mode` must be one of \['circular', 'reflect', 'replicate', "
        r"'zeros'\]; got None",
    ):
        modes.check_padding_mode(None)


# --------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------


def _torch_out(length, k, s, d, p0, p1):
    # torch.nn.Conv2d: floor((L + 2p - d (k - 1) - 1) / s + 1), with separate pads per side
    return int(np.floor((length + p0 + p1 - d * (k - 1) - 1) / s + 1))


@pytest.mark.parametrize(
    "length,k,s,d,p0,p1",
    [
        (L, k, s, d, p0, p1)
        for L, k, s, d, p0, p1 in itertools.product((5, 8, 13), (1, 2, 3, 4), (1, 2, 3), (1, 2), (0, 1), (0, 2))
        if L + p0 + p1 >= d * (k - 1) + 1
    ],
)
def test_output_size_is_torch_formula(length, k, s, d, p0, p1):
    assert geometry.output_size(length, k, s, d, p0, p1) == _torch_out(length, k, s, d, p0, p1)
    assert _engine.output_size is geometry.output_size
    assert (
        geometry.output_hw((length, length), (k, k), (s, s), (d, d), (p0, p1, p0, p1))
        == (_torch_out(length, k, s, d, p0, p1),) * 2
    )


def test_output_hw_refuses_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match=r"Kernel size can't be greater than actual input size"):
        geometry.output_hw((3, 3), (3, 3), (1, 1), (2, 2), (0, 0, 0, 0))


@pytest.mark.parametrize("k,d", list(itertools.product(range(1, 7), (1, 2, 3))))
def test_same_pads_keep_the_size_and_put_the_extra_pixel_after(k, d):
    total = d * (k - 1)
    top, bottom, left, right = geometry.same_pads((k, k), (d, d))
    assert top + bottom == total and (top, bottom) == (left, right)
    assert bottom - top in (0, 1)  # torch: extra row at the bottom, extra column at the right
    assert geometry.output_size(9, k, 1, d, top, bottom) == 9


@pytest.mark.parametrize(
    "k,d,origin",
    [
        (k, d, o)
        for k in range(1, 6)
        for d in (1, 2)
        for o in (-1, 0, 1)
        if -((d * (k - 1) + 1) // 2) <= o <= (d * (k - 1)) // 2
    ],
)
def test_scipy_pads_reproduce_scipy_correlate1d(k, d, origin):
    rng = np.random.default_rng(k * 10 + d)
    row = rng.random(11)
    taps = rng.random(k)
    zero_inserted = np.zeros(d * (k - 1) + 1)
    zero_inserted[::d] = taps
    expected = ndi.correlate1d(row, zero_inserted, mode="constant", origin=origin)
    before, after, _, _ = geometry.scipy_pads((k, 1), (d, 1), (origin, 0))
    padded = np.pad(row, (before, after))
    got = np.array([padded[i : i + zero_inserted.size] @ zero_inserted for i in range(row.size)])
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_anchors_differ_only_for_even_extents():
    for k in range(1, 8):
        scipy_like, same = geometry.scipy_pads((k, k), (1, 1)), geometry.same_pads((k, k), (1, 1))
        if k % 2:
            assert scipy_like == same
        else:  # scipy reaches one more pixel before, torch 'same' one more after
            assert scipy_like[0] == same[0] + 1 and scipy_like[1] == same[1] - 1


def test_halo_is_the_padding_of_its_anchor():
    assert geometry.halo((5, 3), (2, 1)) == geometry.scipy_pads((5, 3), (2, 1)) == (4, 4, 1, 1)
    assert geometry.halo((4, 4), anchor="same") == geometry.same_pads((4, 4), (1, 1)) == (1, 2, 1, 2)
    with pytest.raises(ValueError, match="`anchor` must be one of"):
        geometry.halo((3, 3), anchor="torch")


def test_origin_range_and_same_stride_messages():
    assert geometry.check_origin_fits((1, -1), (3, 3), (1, 1)) == (1, -1)
    with pytest.raises(ValueError, match=r"`origin` must satisfy .* got origin=\(2, 0\) and K=3 along axis 0"):
        geometry.check_origin_fits((2, 0), (3, 3), (1, 1))
    geometry.check_same_stride("same", (1, 1))
    geometry.check_same_stride((1, 1), (2, 2))
    with pytest.raises(
        ValueError,
        match=r"^padding='same' is not supported for strided convolutions; "
        r"got stride=\(2, 1\)$",
    ):
        geometry.check_same_stride("same", (2, 1))
    # every layer raises that one message
    for call in (
        lambda: imgconv.conv_output_shape((8, 8), 3, stride=2, padding="same"),
        lambda: imgconv.Conv2d(1, 1, 3, stride=2, padding="same"),
        lambda: imgconv.conv2d(
            np.zeros((1, 5, 5), np.float32), np.zeros((1, 1, 3, 3), np.float32), stride=2, padding="same"
        ),
        lambda: imgconv.receptive_field([{"kernel_size": 3, "stride": 2, "padding": "same"}]),
    ):
        with pytest.raises(ValueError, match=r"padding='same' is not supported for strided convolutions"):
            call()


@pytest.mark.parametrize("sigma,truncate", [(1.0, 4.0), (0.3, 4.0), (2.5, 3.0), (1e-9, 4.0), (7.0, 0.5)])
def test_gaussian_radius_is_scipys(sigma, truncate):
    # scipy.ndimage.gaussian_filter1d: radius = int(truncate * sd + 0.5), kernel of 2 radius + 1 taps
    radius = geometry.gaussian_radius(sigma, truncate)
    assert radius == int(truncate * float(sigma) + 0.5)
    impulse = np.zeros(4 * radius + 9)
    impulse[impulse.size // 2] = 1
    support = np.flatnonzero(ndi.gaussian_filter1d(impulse, sigma, truncate=truncate, mode="constant"))
    assert support.size == 2 * radius + 1
    assert geometry.gaussian_radius(np.inf, 4.0) == np.inf


# --------------------------------------------------------------------------------------
# convert
# --------------------------------------------------------------------------------------


def _img_as_float32(image):
    # skimage.util.img_as_float32, written out: unsigned / max, signed / max clipped at -1
    if image.dtype.kind == "f":
        return image.astype(np.float32)
    if image.dtype.kind == "b":
        return image.astype(np.float32)
    info = np.iinfo(image.dtype)
    compute = np.float32 if image.dtype.itemsize <= 4 else np.float64
    out = image.astype(compute) * compute(1.0 / info.max)
    return np.maximum(out, -1.0).astype(np.float32) if info.min < 0 else out.astype(np.float32)


@pytest.mark.parametrize(
    "dtype",
    [
        np.uint8,
        np.uint16,
        np.int8,
        np.int16,
        np.int32,
        np.uint32,
        np.int64,
        np.uint64,
        bool,
        np.float16,
        np.float32,
        np.float64,
    ],
)
def test_one_integer_to_float_rule(dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    values = [info.min, 0, 1, info.max // 3, info.max] if info else [0, 1, 0.25, -2.5]
    image = np.array(values * 3, dtype=dtype)
    got = convert.to_float32(image)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, _img_as_float32(image))
    np.testing.assert_array_equal(io.image_to_float32(image), got)
    if np.dtype(dtype).kind in "ub" or np.dtype(dtype).itemsize <= 2:
        np.testing.assert_allclose(convert.as_float_image(image), got, rtol=1e-6)


def test_engine_image_reads_uint8_as_stored():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    pixels, scale = convert.as_engine_image(image)
    assert pixels is image and scale == 1 / 255
    np.testing.assert_array_equal(np.multiply(pixels, scale, dtype=np.float32), convert.as_float_image(image))
    assert convert.compute_dtype(image) == np.float32
    assert _engine.compute_dtype is convert.compute_dtype  # the engine's one rule for the pixels it reads


# --------------------------------------------------------------------------------------
# layout
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel_axis", [None, 0, 1, 2, -1])
def test_layout_round_trip(channel_axis):
    rng = np.random.default_rng(0)
    image = rng.random((5, 6) if channel_axis is None else (5, 6, 3)[:3])
    if channel_axis is not None:
        image = np.moveaxis(rng.random((3, 5, 6)), 0, channel_axis)
    lay = layout.ChannelLayout(image, channel_axis)
    assert lay.spatial_shape == (5, 6)
    assert lay.pixels.shape == ((1,) if channel_axis is None else (3,)) + (1, 5, 6)
    assert lay.channels_first.shape == (1, lay.channels, 5, 6)
    np.testing.assert_array_equal(lay.restore(lay.pixels[:, 0]), image)
    assert lay.restore_planes(np.stack([lay.pixels[:, 0]] * 2)).shape == (2,) + image.shape


def test_layout_messages():
    with pytest.raises(ValueError, match=r"`image` must be 2-D when `channel_axis` is None"):
        layout.check_channel_axis(None, 3, (2, 2, 3))
    with pytest.raises(TypeError, match=r"`channel_axis` must be an int or None; got 1.0"):
        layout.check_channel_axis(1.0, 3, (2, 2, 3))
    with pytest.raises(ValueError, match=r"`channel_axis` must be in \[-3, 2\] for a 3-D image; got 3"):
        layout.check_channel_axis(3, 3, (2, 2, 3))
    assert layout.check_channel_axis(-1, 3, (2, 2, 3)) == 2
    assert layout.spatial_axes(1) == (0, 2) and layout.spatial_axes(None) == (0, 1)


@pytest.mark.parametrize("shape,channel_axis", [((7,), None), ((4, 5, 6), None), ((3, 4, 5, 6), 0), ((4, 5, 6, 2), -1)])
def test_nd_layout_round_trip(shape, channel_axis):
    image = np.random.default_rng(2).random(shape)
    assert not layout.is_planar(image, channel_axis)
    lay = layout.NDLayout(image, channel_axis)
    channels = 1 if channel_axis is None else shape[channel_axis]
    spatial = tuple(n for a, n in enumerate(shape) if channel_axis is None or a != channel_axis % len(shape))
    assert lay.batch.shape == (channels, *spatial) and lay.batch.flags.c_contiguous
    assert lay.spatial_shape == spatial and lay.ndim == len(spatial)
    np.testing.assert_array_equal(lay.restore(lay.batch), image)


def test_planar_and_nd_layouts_share_their_rules():
    assert layout.is_planar(np.zeros((4, 5)), None) and layout.is_planar(np.zeros((4, 5, 3)), -1)
    assert not layout.is_planar(np.zeros((4, 5, 3)), None) and not layout.is_planar(np.zeros((2, 4, 5, 3)), -1)
    planar = layout.ChannelLayout(np.zeros((4, 5, 3)), -1)
    nd = layout.NDLayout(np.zeros((2, 4, 5, 3)), -1)
    assert planar.spatial_axis(-2) == 1 and nd.spatial_axis(-2) == 2
    for lay in (planar, nd):
        with pytest.raises(ValueError, match=r"`axis` must be a spatial axis; got -1, which is the channel axis"):
            lay.spatial_axis(-1)
        with pytest.raises(TypeError, match=r"`axis` must be an int or a sequence of ints; got 1.5"):
            lay.spatial_axis(1.5)
    with pytest.raises(ValueError, match=r"`channel_axis` must be in \[-4, 3\] for a 4-D image; got 4"):
        layout.NDLayout(np.zeros((2, 4, 5, 3)), 4)
    with pytest.raises(TypeError, match=r"`channel_axis` must be an int or None; got 1.0"):
        layout.NDLayout(np.zeros((2, 4, 5, 3)), 1.0)


def test_nd_dilation_checker():
    from imgconv._validation import check_dilations

    assert check_dilations(2, 3) == (2, 2, 2)
    assert check_dilations([3], 2) == (3, 3) and check_dilations(np.array([1, 2, 3]), 3) == (1, 2, 3)
    with pytest.raises(TypeError, match=r"`dilation` must be a positive int or one per spatial axis \(2\); got True"):
        check_dilations(True, 2)
    with pytest.raises(ValueError, match=r"one per spatial axis \(3\); got \(1, 2\) \(length 2\)"):
        check_dilations((1, 2), 3)
    with pytest.raises(ValueError, match=r"spreads a 9-tap kernel over 4801 pixels"):
        check_dilations((1, 600), 2, kernel_sizes=(9, 9))


def test_one_sigma_checker():
    from imgconv._validation import check_sigmas

    assert check_sigmas(2, 3) == (2.0, 2.0, 2.0)
    assert check_sigmas(np.array(1.5), 2) == (1.5, 1.5)
    assert check_sigmas([0, 1.0], 2) == (0.0, 1.0)
    assert check_sigmas((1,), 3) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"`s` must be a non-negative number or one per image axis \(3\); got \(1,\)"):
        check_sigmas((1,), 3, "s", per="image axis", broadcast=False)
    with pytest.raises(ValueError, match=r"`sigma` must be non-negative and finite; got \(1.0, nan\)"):
        check_sigmas([1.0, float("nan")], 2)
    with pytest.raises(TypeError, match=r"`sigma` must be a non-negative number or one per spatial axis; got 'a'"):
        check_sigmas("a", 2)
    with pytest.raises(TypeError, match=r"got \(True, 1\)"):
        check_sigmas((True, 1), 2)


# --------------------------------------------------------------------------------------
# passes and blocks
# --------------------------------------------------------------------------------------


def test_two_separable_conventions_differ_only_at_a_constant_border():
    rng = np.random.default_rng(1)
    x = rng.random((1, 1, 7, 8))
    column, row = np.array([1.0, 2.0, 1.0]), np.array([0.5, 1.0, 0.5])
    for mode in ("edge", "symmetric", "wrap"):
        a = passes.correlate_1d_passes(x, column, row, mode=mode, cval=0.0, dilation=(1, 1), num_threads=1)
        b = _engine.correlate_separable(x, column[None], row[None], pads=(1, 1, 1, 1), mode=mode)
        np.testing.assert_allclose(a, b, rtol=1e-12)
    a = passes.correlate_1d_passes(x, column, row, mode="constant", cval=1.0, dilation=(1, 1), num_threads=1)
    b = _engine.correlate_separable(x, column[None], row[None], pads=(1, 1, 1, 1), mode="constant", cval=1.0)
    # scipy's separable filters: each pass pads with cval
    expected = ndi.correlate1d(
        ndi.correlate1d(x[0, 0], column, axis=0, mode="constant", cval=1.0), row, axis=1, mode="constant", cval=1.0
    )
    np.testing.assert_allclose(a[0, 0], expected, rtol=1e-12)
    # the engine's: the 2-D correlation with the outer product
    np.testing.assert_allclose(
        b[0, 0], ndi.correlate(x[0, 0], np.outer(column, row), mode="constant", cval=1.0), rtol=1e-12
    )
    assert not np.allclose(a, b)
    np.testing.assert_allclose(a[0, 0, 2:-2, 2:-2], b[0, 0, 2:-2, 2:-2], rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 3])
def test_blockwise_visits_every_row_once(threads):
    seen = np.zeros(700, int)

    def work(rows):
        seen[rows] += 1

    blocks.blockwise(seen.size, threads, work)
    assert (seen == 1).all()


def test_in_threads_runs_the_first_call_in_the_callers_thread_and_raises_what_a_helper_raised():
    where = {}
    blocks.in_threads([lambda: where.setdefault("first", threading.get_ident()), lambda: where.setdefault("x", 1)])
    assert where == {"first": threading.get_ident(), "x": 1}

    def fails():
        raise KeyError("from a helper")

    with pytest.raises(KeyError, match="from a helper"):
        blocks.in_threads([lambda: None, fails])


# --------------------------------------------------------------------------------------
# the rule stays kept
# --------------------------------------------------------------------------------------

# Crossings still to remove, each with the module that owns the fix (empty the list as they go).
_KNOWN_CROSSINGS = {
    ("cli.py", "batch", "_normalise_extension"),
    ("cli.py", "batch", "_policy_for"),
    ("cli.py", "pipeline", "_lookup"),
}


def _top_level_modules():
    """Every module of imgconv/, subpackages included."""
    return sorted(PACKAGE.rglob("*.py"))


def _private_imports(path):
    """(target module, private name) for every ``from X import _name`` that leaves `path`'s own package."""
    tree = ast.parse(path.read_text())
    relative = path.relative_to(PACKAGE)
    package = relative.parts[:-1]
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        target = base + tuple(node.module.split(".")) if node.module else base
        for alias in node.names:
            name = alias.name
            if not name.startswith("_") or name.startswith("__"):
                continue
            where = PACKAGE.joinpath(*target[1:] if target[:1] == ("imgconv",) else target, name)
            if where.with_suffix(".py").exists() or (where / "__init__.py").exists():
                continue  # a private module (``from . import _engine``): its public names are meant to be shared
            # the target module's own package: sibling private modules of a subpackage share helpers
            if target[: len(package)] == package and len(package) > 0 and len(target) > len(package):
                if target[len(package)].startswith("_"):
                    continue
            yield ".".join(target) or "imgconv", name


def test_no_private_names_cross_modules():
    found = set()
    for path in _top_level_modules():
        for target, name in _private_imports(path):
            found.add((str(path.relative_to(PACKAGE)), target, name))
    unexpected = sorted(found - _KNOWN_CROSSINGS)
    assert not unexpected, f"private names imported across modules (move them to imgconv._shared): {unexpected}"


def test_no_private_attribute_reads_of_steps_outside_pipeline():
    for path in _top_level_modules():
        if "pipeline" in path.relative_to(PACKAGE).parts[0]:
            continue
        text = path.read_text()
        assert not re.search(r"\bstep\._(cache|kind|params)\b", text), path


def test_no_copies_of_the_mode_tables():
    tuple_literal = re.compile(r"\(\s*\"circular\",\s*\"reflect\",\s*\"replicate\",\s*\"zeros\"\s*\)")
    sorted_table = re.compile(r"tuple\(sorted\(\s*_?engine\.SCIPY_TO_ENGINE_MODE")
    definition = re.compile(r"^\s*(SCIPY_TO_ENGINE_MODE|TORCH_TO_ENGINE_MODE|ENGINE_MODES)\s*=", re.M)
    engine_tuple = re.compile(r"\(\s*\"constant\",\s*\"edge\",\s*\"reflect\",\s*\"symmetric\",\s*\"wrap\"\s*\)")
    for path in _top_level_modules():
        if path == PACKAGE / "_shared" / "modes.py":
            continue
        text = path.read_text()
        for pattern in (tuple_literal, sorted_table, definition, engine_tuple):
            assert not pattern.search(text), f"{path}: a copy of a border-mode table ({pattern.pattern})"


def test_one_same_stride_message():
    message = "padding='same' is not supported for strided convolutions"
    owners = {path.relative_to(PACKAGE) for path in _top_level_modules() if message in path.read_text()}
    assert owners == {pathlib.Path("_shared/geometry.py")}, owners


def test_pipeline_channel_names_says_the_names_or_none():
    from imgconv._shared.layout import pipeline_channel_names

    class Says:
        def channel_names(self, n):
            return [f"c{i}" for i in range(2 * n)]

    class Fails:
        def channel_names(self, n):
            raise RuntimeError("cannot tell")

    assert pipeline_channel_names(Says(), 3, 6) == ["c0", "c1", "c2", "c3", "c4", "c5"]
    assert pipeline_channel_names(Says(), 3, 5) is None  # names another number of channels
    assert pipeline_channel_names(Fails(), 1, 2) is None
    assert pipeline_channel_names(object(), 1, 1) is None  # a plain callable has no names


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["reflect", "nearest", "mirror", "wrap", "constant"])
def test_fused_plane_passes_in_ndpasses_equal_the_passes_one_by_one(dtype, mode, monkeypatch):
    """gaussian_passes and separable_bank run plain passes over the last two axes fused
    (_engine.correlate_passes): bit-equal to the same passes made one by one, and to scipy."""
    from imgconv._shared import ndpasses

    rng = np.random.default_rng(4)
    smooth, edge = np.array([1.0, 2.0, 1.0]) / 4, np.array([-1.0, 0.0, 1.0])
    kernels = {"s": smooth, "e": edge, "w": rng.standard_normal(5), None: None}
    codes = [("e", "s"), ("s", "e"), ("w", "e"), (None, "w"), ("s", None)]
    for shape in [(41, 37), (5, 19, 23)]:
        x = rng.standard_normal(shape).astype(dtype)
        sigmas = (1.5,) * x.ndim
        args = dict(mode=mode, cval=0.5, truncate=4.0, num_threads=2)
        codes_nd = [(None,) * (x.ndim - 2) + c for c in codes]
        fused = ndpasses.gaussian_passes(x[None], sigmas, (0,) * x.ndim, **args)[0]
        derivative = ndpasses.gaussian_passes(x[None], sigmas, (0,) * (x.ndim - 1) + (1,), **args)[0]
        bank = ndpasses.separable_bank(x, codes_nd, lambda a, item: kernels[item], mode=mode, cval=0.5, num_threads=2)
        with monkeypatch.context() as m:
            m.setattr(ndpasses, "_fuses", lambda *a: False)
            one_by_one = ndpasses.gaussian_passes(x[None], sigmas, (0,) * x.ndim, **args)[0]
            derivative_one_by_one = ndpasses.gaussian_passes(x[None], sigmas, (0,) * (x.ndim - 1) + (1,), **args)[0]
            bank_one_by_one = ndpasses.separable_bank(
                x, codes_nd, lambda a, item: kernels[item], mode=mode, cval=0.5, num_threads=2
            )
        np.testing.assert_array_equal(fused, one_by_one)
        # an odd derivative pairs its taps (exact zeros on constant regions): never fused
        np.testing.assert_array_equal(derivative, derivative_one_by_one)
        expected = ndi.gaussian_filter(x.astype(np.float64), 1.5, mode=mode, cval=0.5)
        np.testing.assert_allclose(
            fused, expected, atol=(1e-12 if dtype == np.float64 else 2e-6) * np.abs(expected).max()
        )
        assert bank.keys() == bank_one_by_one.keys()
        for code in bank:
            np.testing.assert_array_equal(bank[code], bank_one_by_one[code])
            want = x.astype(np.float64)
            for axis, item in enumerate(code):
                if kernels[item] is not None:
                    want = ndi.correlate1d(want, kernels[item], axis, mode=mode, cval=0.5)
            np.testing.assert_allclose(
                bank[code], want, atol=(1e-12 if dtype == np.float64 else 4e-6) * np.abs(want).max()
            )
