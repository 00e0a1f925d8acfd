"""imgconv.pipeline: steps, specs, pickling, fingerprints, halos.

Oracles: scikit-image / scipy.ndimage applied step by step (dilated kernels
zero-inserted), and imgconv's own public layers for the thin wrappers.
"""

import hashlib
import json
import pickle

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.color
import skimage.exposure

import imgconv
from imgconv import banks, filters, kernels, wavelet
from imgconv.pipeline import DEFAULT_PIPELINE, Pipeline, Step, register_step, step_names, step_parameters

# --------------------------------------------------------------------------------------
# helpers (module level, so that pipelines holding them can be pickled)
# --------------------------------------------------------------------------------------


def double(image, factor=2.0):
    return np.asarray(image, dtype=np.float32) * factor


def halve_shape(image):
    return np.asarray(image)[::2, ::2]


def bad_output(image):
    return np.zeros((2, 2, 2, 2))


def zero_inserted(kernel, d):
    kh, kw = kernel.shape
    out = np.zeros((d * (kh - 1) + 1, d * (kw - 1) + 1))
    out[::d, ::d] = kernel
    return out


@pytest.fixture
def rgb(rng):
    return (rng.random((23, 31, 3)) * 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# the default pipeline
# --------------------------------------------------------------------------------------


def test_default_pipeline_matches_scipy_reference(rgb):
    result = Pipeline.default()(rgb)
    assert result.shape == (23, 31, 18) and result.dtype == np.float32
    gray = skimage.color.rgb2gray(rgb.astype(np.float64) / 255)
    names = ("sobel_h", "sobel_v", "scharr_h", "scharr_v", "prewitt_h", "prewitt_v")
    k = 0
    for d in (1, 2, 4):
        for name in names:
            # skimage 'reflect' = scipy 'reflect' (half-sample); correlation kernels
            expected = np.abs(ndi.correlate(gray, zero_inserted(getattr(kernels, name)(), d), mode="reflect"))
            np.testing.assert_allclose(result[:, :, k], expected, atol=2e-6, err_msg=f"{name}@d{d}")
            k += 1


def test_default_pipeline_spec_and_names():
    pipe = Pipeline.default()
    assert pipe == Pipeline.from_spec(DEFAULT_PIPELINE)
    assert [s.name for s in pipe] == ["to_gray", "bank", "abs"]
    assert pipe.halo == (4, 4)
    names = pipe.channel_names(3)
    assert len(names) == 18 and names[0] == "sobel_h@d1" and names[-1] == "prewitt_v@d4"


def test_default_pipeline_gray_and_uint16_inputs(rng):
    gray16 = (rng.random((12, 10)) * 65535).astype(np.uint16)
    result = Pipeline.default()(gray16)
    assert result.shape == (12, 10, 18)
    expected = np.abs(ndi.correlate(gray16 / 65535.0, kernels.sobel_v(), mode="reflect"))
    np.testing.assert_allclose(result[:, :, 1], expected, atol=2e-6)


# --------------------------------------------------------------------------------------
# individual steps
# --------------------------------------------------------------------------------------


def test_to_gray_matches_rgb2gray_and_handles_alpha(rng):
    rgba = rng.random((9, 7, 4)).astype(np.float32)
    step = Step("to_gray")
    expected = skimage.color.rgb2gray(rgba[:, :, :3])
    np.testing.assert_allclose(step(rgba), expected, atol=1e-6)
    np.testing.assert_allclose(step(rgba[:, :, :3]), expected, atol=1e-6)
    np.testing.assert_array_equal(step(rgba[:, :, :2]), rgba[:, :, 0])  # gray + alpha
    np.testing.assert_array_equal(step(rgba[:, :, 0]), rgba[:, :, 0])
    assert step(np.zeros((3, 3, 3), np.uint8)).dtype == np.float32
    assert step(np.zeros((3, 3, 3), np.float64)).dtype == np.float64
    with pytest.raises(ValueError, match=r"1 to 4 channels.*got shape \(9, 7, 5\)"):
        step(np.zeros((9, 7, 5)))


def test_filter_steps_equal_imgconv_filters(rgb):
    pipe = Pipeline([("gaussian", {"sigma": 1.5, "dilation": 2})])
    np.testing.assert_array_equal(pipe(rgb), filters.gaussian(rgb, 1.5, dilation=2, channel_axis=-1))
    gray = rgb[:, :, 0]
    np.testing.assert_array_equal(Pipeline(["sobel_h"])(gray), filters.sobel_h(gray))
    # gabor's (real, imag) pair goes to the channel axis
    real, imag = filters.gabor(gray, 0.2)
    np.testing.assert_array_equal(Pipeline([("gabor", {"frequency": 0.2})])(gray), np.stack([real, imag], -1))


# The halos of steps and stacks (Step.halo, Pipeline.halo) are checked by behaviour in tests/test_halos.py.


def test_bank_step_named_and_inline(rng):
    image = rng.random((15, 17)).astype(np.float32)
    pipe = Pipeline(
        [
            {
                "step": "bank",
                "name": "gabor",
                "options": {"frequencies": [0.2], "n_orientations": 2},
                "dilations": [1, 3],
                "mode": "mirror",
            }
        ]
    )
    bank = banks.gabor([0.2], 2).at_dilations([1, 3])
    np.testing.assert_array_equal(pipe(image), bank.apply(image, mode="mirror"))  # its halo: tests/test_halos.py

    custom = imgconv.FilterBank({"box": kernels.box(3), "lap": kernels.laplace()}).at_dilations([2])
    from_bank = Pipeline([custom])
    np.testing.assert_array_equal(from_bank(image), custom.apply(image))
    assert Pipeline.from_spec(from_bank.to_spec()) == from_bank


def test_bank_step_per_channel_colour_layout(rgb):
    out = Pipeline([{"step": "bank", "name": "edges"}])(rgb)
    assert out.shape == (23, 31, 18)  # (H, W, C * F), channel-major
    expected = banks.edges().apply(rgb, channel_axis=-1)  # (H, W, C, F)
    np.testing.assert_array_equal(out, expected.reshape(23, 31, 18))
    mean = Pipeline([{"step": "bank", "name": "edges", "per_channel": False}])(rgb)
    assert mean.shape == (23, 31, 6)


def test_conv2d_step_and_layer(rng):
    image = rng.random((11, 13, 3)).astype(np.float32)
    layer = imgconv.Conv2d(3, 4, 3, padding="same", dilation=2, padding_mode="reflect", seed=1)
    pipe = Pipeline([layer])
    expected = np.moveaxis(layer(np.moveaxis(image, -1, 0)), 0, -1)
    np.testing.assert_array_equal(pipe(image), expected)
    again = Pipeline.from_spec(json.loads(json.dumps(pipe.to_spec())))
    np.testing.assert_array_equal(again(image), expected)  # float32 weights survive JSON exactly
    assert again.fingerprint() == pipe.fingerprint()
    assert pipe.halo == (2, 2)

    strided = Pipeline(
        [{"step": "conv2d", "weight": np.ones((1, 1, 3, 3)).tolist(), "stride": 2}, ("gaussian", {"sigma": 1})]
    )
    assert strided(image[:, :, 0]).shape == (5, 6)  # its halo: tests/test_halos.py

    depthwise = Pipeline([{"step": "conv2d", "weight": kernels.laplace().tolist(), "padding": "same"}])
    out = depthwise(image)
    assert out.shape == image.shape
    np.testing.assert_allclose(
        out[:, :, 1], ndi.correlate(image[:, :, 1], kernels.laplace(), mode="constant"), atol=1e-6
    )


def test_starlet_steps(rng):
    image = rng.random((40, 36)).astype(np.float32)
    pipe = Pipeline([("starlet", {"n_scales": 3})])
    out = pipe(image)
    np.testing.assert_array_equal(out, np.moveaxis(wavelet.starlet(image, 3), 0, -1))  # halo: tests/test_halos.py
    assert pipe.channel_names() == ["w1", "w2", "w3", "c3"]
    np.testing.assert_allclose(Pipeline([("starlet", {"n_scales": 3}), "istarlet"])(image), image, atol=1e-6)


def test_scale_steps(rng):
    image = (rng.random((6, 5)) * 4 - 2).astype(np.float32)
    np.testing.assert_array_equal(Pipeline(["abs"])(image), np.abs(image))
    np.testing.assert_array_equal(Pipeline([("clip", {"min": -1, "max": 0.5})])(image), np.clip(image, -1, 0.5))
    rescaled = Pipeline([("rescale_intensity", {"out_range": [0, 10]})])(image)
    np.testing.assert_allclose(rescaled, skimage.exposure.rescale_intensity(image, out_range=(0, 10)), atol=1e-5)
    fixed = Pipeline([("rescale_intensity", {"in_range": [-1, 1]})])(image)
    np.testing.assert_allclose(
        fixed, skimage.exposure.rescale_intensity(image, in_range=(-1, 1), out_range=(0, 1)), atol=1e-6
    )
    assert Pipeline(["to_float32"])(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]


def test_callable_steps_and_registered_steps(rng):
    image = rng.random((4, 4)).astype(np.float32)
    pipe = Pipeline([double, {"step": "callable", "function": double, "kwargs": {"factor": 3}}])
    np.testing.assert_allclose(pipe(image), image * 6)
    spec = pipe.to_spec()
    assert spec["steps"][0]["function"] == "test_pipeline:double"
    assert Pipeline.from_spec(spec, allow_callables=True) == Pipeline.from_spec(spec, allow_callables=True)
    np.testing.assert_allclose(Pipeline.from_spec(spec, allow_callables=True)(image), image * 6)

    register_step("test_double", double, halo=(1, 2), replace=True)
    assert "test_double" in step_names()
    assert step_parameters("test_double") == {"factor": 2.0}
    registered = Pipeline([("test_double", {"factor": 4})])
    np.testing.assert_allclose(registered(image), image * 4)
    assert registered.halo == (1, 2)
    restored = pickle.loads(pickle.dumps(registered))
    np.testing.assert_allclose(restored(image), image * 4)
    with pytest.raises(ValueError, match="already registered"):
        register_step("test_double", double)
    with pytest.raises(ValueError, match="built-in step"):
        register_step("gaussian", double)


def test_step_output_checked(rng):
    with pytest.raises(
        ValueError,
        match=r"step 1 \('callable'\) returned an array of dtype float64 and shape "
        r"\(2, 2, 2, 2\)",
    ):
        Pipeline(["abs", bad_output])(np.zeros((4, 4)))
    assert Pipeline([halve_shape])(np.zeros((8, 6))).shape == (4, 3)


def test_step_errors_carry_a_note():
    pipe = Pipeline([("starlet", {"n_scales": 6})])
    with pytest.raises(ValueError, match="n_scales") as info:
        pipe(np.zeros((16, 16)))
    assert "in step 0 ('starlet') of the pipeline" in info.value.__notes__


def test_image_checked():
    with pytest.raises(TypeError, match="`image` must be a bool, integer or float array; got dtype complex128"):
        Pipeline.default()(np.zeros((3, 3), complex))
    with pytest.raises(ValueError, match=r"`image` must have shape \(H, W\) or \(H, W, C\); got shape \(3,\)"):
        Pipeline.default()(np.zeros(3))


def test_threads_do_not_change_results(rgb):
    pipe = Pipeline.default()
    np.testing.assert_array_equal(pipe(rgb, num_threads=1), pipe(rgb, num_threads=2))


# --------------------------------------------------------------------------------------
# specs
# --------------------------------------------------------------------------------------

FULL_SPEC = {
    "version": 1,
    "steps": [
        {"step": "to_gray"},
        {"step": "conv2d", "weight": [[[[0.5, 1.0], [1.5, 2.0]]]] * 2, "bias": [0.25, -1.0], "padding": "same"},
        {"step": "gaussian", "sigma": 1.5},
        {"step": "bank", "name": "edges", "dilations": [1, [2, 3]]},
        {"step": "starlet", "n_scales": 1},
        {"step": "rescale_intensity", "out_range": [-1, 1]},
        {"step": "clip", "max": 0.5},
        "abs",
        {"step": "to_float32"},
    ],
}


def test_spec_round_trip_json_and_yaml(tmp_path):
    pipe = Pipeline.from_spec(FULL_SPEC)
    spec = pipe.to_spec()
    assert Pipeline.from_spec(spec) == pipe
    assert Pipeline.from_spec(spec).to_spec() == spec
    assert spec["steps"][2] == {"step": "gaussian", **step_parameters("gaussian"), "sigma": 1.5}  # defaults written
    path = tmp_path / "spec.json"
    pipe.to_spec(path)
    assert Pipeline.from_spec(path) == pipe
    assert Pipeline.from_spec(str(path)).fingerprint() == pipe.fingerprint()
    assert Pipeline.from_spec(FULL_SPEC["steps"]) == pipe  # a bare list
    pytest.importorskip("yaml")
    pipe.to_spec(tmp_path / "spec.yaml")
    assert Pipeline.from_spec(tmp_path / "spec.yaml") == pipe


def test_fingerprint_is_sha256_of_canonical_spec():
    pipe = Pipeline.default()
    # numbers by value: int-valued floats are written as ints ("cval": 0.0 -> 0)
    spec = json.loads(
        json.dumps(pipe.to_spec()), parse_float=lambda t: int(float(t)) if float(t).is_integer() else float(t)
    )
    canonical = json.dumps({"imgconv": imgconv.__version__, "pipeline": spec}, sort_keys=True, separators=(",", ":"))
    assert pipe.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
    # defaults spelled out or not: same pipeline, same fingerprint
    explicit = Pipeline.from_spec(
        [
            {"step": "to_gray"},
            {
                "step": "bank",
                "name": "edges",
                "dilations": [1, 2, 4],
                "mode": "reflect",
                "cval": 0.0,
                "per_channel": True,
            },
            {"step": "abs"},
        ]
    )
    assert explicit.fingerprint() == pipe.fingerprint()
    changed = Pipeline.from_spec(
        [{"step": "to_gray"}, {"step": "bank", "name": "edges", "dilations": [1, 2]}, {"step": "abs"}]
    )
    assert changed.fingerprint() != pipe.fingerprint()


@pytest.mark.parametrize(
    "spec, error, message",
    [
        (
            [{"step": "abs"}, {"step": "to_gray"}, {"step": "gaussian", "sigmaa": 2}],
            ValueError,
            r"^step 2 \('gaussian'\): unknown parameter 'sigmaa' \(did you mean 'sigma'\?\); valid: \['channel_axis', "
            r"'cval', 'dilation', 'mode', 'preserve_range', 'sigma', 'truncate'\]$",
        ),
        (
            [{"step": "gausian"}],
            ValueError,
            r"^step 0 \('gausian'\): unknown step 'gausian' \(did you mean 'gaussian'\?\)"
            r"; valid: \[.*'abs'.*\]",
        ),
        (
            [{"sigma": 1}],
            ValueError,
            r"^step 0: a step mapping needs a 'step' key naming the step; got keys \['sigma'\]",
        ),
        ([{"step": "gaussian", "sigma": -1}], ValueError, r"^step 0 \('gaussian'\): `sigma` must be"),
        (
            [{"step": "bank", "name": "edge"}],
            ValueError,
            r"^step 0 \('bank'\): `name` must be one of \['edges', 'gabor', 'leung_malik', 'mr8', 'schmid'\]; "
            r"got 'edge'",
        ),
        (
            [{"step": "bank", "name": "edges", "dilations": [1, 0]}],
            ValueError,
            r"^step 0 \('bank'\): `dilations\[1\]` must be a positive int or a pair of positive ints; got 0",
        ),
        (
            [{"step": "bank", "name": "gabor", "options": {"freqs": [0.1]}}],
            ValueError,
            r"^step 0 \('bank'\): unknown option 'freqs' for bank 'gabor'; valid options: \['bandwidth', 'frequencies'",
        ),
        (
            [{"step": "bank", "name": "edges", "mode": "zeros"}],
            ValueError,
            r"^step 0 \('bank'\): `mode` must be one of",
        ),
        ([{"step": "conv2d"}], ValueError, r"^step 0 \('conv2d'\): missing required parameter 'weight'"),
        ([{"step": "conv2d", "weight": [[1, 2], [3]]}], TypeError, r"^step 0 \('conv2d'\): `weight` must be nested"),
        ([{"step": "clip"}], ValueError, r"^step 0 \('clip'\): at least one of `min` and `max` must be given"),
        (
            [{"step": "callable", "function": "numpy:abs"}],
            ValueError,
            r"^step 0 \('callable'\): a spec step that names a Python function imports code; pass allow_callables=True",
        ),
        ([{"step": "starlet", "n_scales": 1.5}], TypeError, r"^step 0 \('starlet'\): `n_scales` must be an int"),
        ([3], TypeError, r"^step 0: a step must be a mapping with a 'step' key or a step name; got 3"),
        ({"version": 1, "stpes": []}, ValueError, r"^spec: unknown key 'stpes'; valid: \['steps', 'version'\]$"),
        ({"version": 2, "steps": []}, ValueError, r"^spec: unsupported 'version' 2"),
        ({"version": 1}, ValueError, r"^spec: missing key 'steps'"),
        ({"steps": "abs"}, TypeError, r"^spec: 'steps' must be a list"),
        (42, TypeError, r"^`spec` must be a mapping, a list of steps or the path of a JSON/YAML file"),
    ],
)
def test_bad_specs_name_step_and_key(spec, error, message):
    with pytest.raises(error, match=message):
        Pipeline.from_spec(spec)


def test_bad_spec_files(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"steps": [')
    with pytest.raises(ValueError, match=r"^spec '.*broken.json' is not valid JSON"):
        Pipeline.from_spec(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"version": 1, "steps": [{"step": "abs"}, {"step": "sobel", "moode": "wrap"}]}))
    with pytest.raises(ValueError, match=r"^step 1 \('sobel'\): unknown parameter 'moode' \(did you mean 'mode'\?\)"):
        Pipeline.from_spec(wrong)
    with pytest.raises(FileNotFoundError):
        Pipeline.from_spec(tmp_path / "missing.json")


def test_callable_spec_loading(tmp_path):
    spec = {"version": 1, "steps": [{"step": "callable", "function": "test_pipeline:double", "kwargs": {"factor": 5}}]}
    pipe = Pipeline.from_spec(spec, allow_callables=True)
    np.testing.assert_allclose(pipe(np.ones((2, 2))), 5)
    with pytest.raises(
        ValueError,
        match=r"^step 0 \('callable'\): `function` 'test_pipeline:nope': module "
        r"'test_pipeline' has no attribute 'nope'",
    ):
        Pipeline.from_spec([{"step": "callable", "function": "test_pipeline:nope"}], allow_callables=True)
    with pytest.raises(ValueError, match=r"^step 0 \('callable'\): `function` must be 'module:qualified_name'"):
        Pipeline.from_spec([{"step": "callable", "function": "double"}], allow_callables=True)


def test_unserialisable_callables_are_refused_with_a_clear_message():
    pipe = Pipeline(["abs", lambda image: image])
    with pytest.raises(
        ValueError,
        match=r"^step 1 \('callable'\): the user function test_pipeline:.*<lambda> cannot "
        r"be written to a spec: only functions importable as 'module:qualified_name'",
    ):
        pipe.to_spec()
    assert len(pipe.fingerprint()) == 64  # still fingerprinted, by name


# --------------------------------------------------------------------------------------
# pickling and the container protocol
# --------------------------------------------------------------------------------------


def test_pickle_round_trip(rgb):
    pipe = Pipeline.from_spec(FULL_SPEC)
    pipe.append(
        double,
    )
    restored = pickle.loads(pickle.dumps(pipe))
    assert restored == pipe
    assert restored.fingerprint() == pipe.fingerprint()
    np.testing.assert_array_equal(restored(rgb), pipe(rgb))


def test_container_protocol_and_repr():
    pipe = Pipeline(["to_gray"]).append("gaussian", sigma=2).append({"step": "abs"})
    assert len(pipe) == 3 and pipe[1].name == "gaussian" and pipe[1].params["sigma"] == 2
    assert isinstance(pipe[1:], Pipeline) and len(pipe[1:]) == 2
    assert repr(pipe) == "Pipeline([Step('to_gray'), Step('gaussian', sigma=2), Step('abs')])"
    assert repr(Step("conv2d", weight=[[1.0]])) == "Step('conv2d', weight=<array of shape (1, 1)>)"
    assert "receptive field (halo per side, (h, w)): (8, 8)" in pipe.describe()
    assert Pipeline() == Pipeline([]) and Pipeline()(np.ones((2, 2))).tolist() == [[1, 1], [1, 1]]
    with pytest.raises(TypeError, match=r"use Pipeline\.from_spec"):
        Pipeline({"steps": []})
    with pytest.raises(TypeError, match=r"^step 0: a step must be a Step, a step name"):
        Pipeline([3])
    with pytest.raises(ValueError, match=r"^step 3 \('clip'\): `min` must not exceed `max`; got min=2.0, max=1.0"):
        pipe.append("clip", min=2, max=1)


def test_receptive_field_is_a_deprecated_alias_of_halo():
    pipe = Pipeline([{"step": "gaussian", "sigma": 2.0}, {"step": "sobel", "dilation": 3}])
    with pytest.warns(FutureWarning, match=r"Pipeline\.receptive_field is deprecated.*use Pipeline\.halo"):
        field = pipe.receptive_field
    assert field == pipe.halo  # (the halo itself is checked by behaviour in tests/test_halos.py)
