"""Halos checked by behaviour, never by restating their formula.

For every pipeline step type (:func:`imgconv.pipeline.step_names`), for stacks of
steps and for the :mod:`imgconv.filters` functions, with the halo the public API
reports (:attr:`Step.halo`, :attr:`Pipeline.halo`):

* **nothing outside the halo counts**: every pixel farther than the halo from an
  output pixel (``|di| > h`` or ``|dj| > w``; the nearest of them at distance
  halo + 1) is perturbed at once, and that output does not change;
* **the halo is tight**: perturbing the pixels at distance exactly ``h`` (rows)
  or ``w`` (columns) from it changes it, for at least one of a few random
  perturbations (a halo of 0: the pixel itself);
* **tiled equals whole**: :func:`imgconv.dask.apply` with that halo, on tiles a
  few pixels wider than the halo, gives the in-memory result (for the periodic
  border modes, 'wrap' and 'circular', away from the image edges: there an
  output reads the opposite edge, which no tile holds).

The halo of a stack is an upper bound (the sum of its steps' halos): a stack
may read less, as ``istarlet`` after ``starlet`` (the identity) shows.

"Does not change" allows rounding noise (far below any tap's contribution), so
that an engine path that mixes all pixels, such as an FFT, still passes.
"""

import functools

import numpy as np
import pytest
import scipy.ndimage as ndi

import imgconv
from imgconv import filters
from imgconv.pipeline import Pipeline, Step, step_names

da = pytest.importorskip("dask.array")
icd = pytest.importorskip("imgconv.dask")

STEP_NAMES = step_names()  # at collection, before any test registers a step of its own


def box3(image):
    """A user function for the 'callable' step: a 3x3 mean, halo 1."""
    return ndi.uniform_filter(np.asarray(image, np.float64), 3, mode="nearest")


_WEIGHT = np.random.default_rng(7).standard_normal((2, 1, 3, 4)).tolist()  # even kw: an asymmetric halo
_KERNEL = np.random.default_rng(8).standard_normal((4, 3)).tolist()

# (step name, params, input kind).  Inputs: 'gray' float64 (H, W) in [0.25, 0.75]; 'signed' in [-1, 1];
# 'rgb' (H, W, 3); 'uint8' (H, W); 'planes' (H, W, 3), three starlet planes.
STEP_CASES = [
    ("abs", {}, "signed"),
    ("bank", {"name": "edges", "dilations": [1, 2]}, "gray"),
    (
        "bank",
        {
            "name": "gabor",
            "options": {"frequencies": [0.2], "n_orientations": 2},
            "dilations": [1, 3],
            "mode": "mirror",
        },
        "gray",
    ),
    ("bank", {"kernels": {"k": _KERNEL}, "dilations": [[1, 2]], "mode": "wrap"}, "gray"),
    ("callable", {"function": box3, "halo": 1}, "gray"),
    ("clip", {"min": 0.3, "max": 0.7}, "gray"),
    (
        "conv2d",
        {"weight": _WEIGHT, "padding": "same", "dilation": [2, 1], "padding_mode": "reflect", "dtype": "float64"},
        "gray",
    ),
    (
        "conv2d",
        {"weight": _WEIGHT, "padding": "same", "dilation": [1, 2], "padding_mode": "circular", "dtype": "float64"},
        "gray",
    ),
    ("difference_of_gaussians", {"low_sigma": 1, "high_sigma": 2}, "gray"),
    ("difference_of_gaussians", {"low_sigma": 1.5}, "gray"),
    ("difference_of_gaussians", {"low_sigma": [0, 1]}, "gray"),
    ("gabor", {"frequency": 0.25, "theta": 0.3}, "gray"),
    ("gaussian", {"sigma": 2}, "gray"),
    ("gaussian", {"sigma": 1, "dilation": 3}, "gray"),
    ("gaussian", {"sigma": [1, 2], "truncate": 2.0, "mode": "reflect"}, "gray"),
    ("gaussian", {"sigma": 1.5}, "rgb"),
    ("gaussian", {"sigma": [0.0, 2.0]}, "gray"),  # sigma 0: no smoothing along rows, a halo of 0 there
    ("istarlet", {}, "planes"),
    ("laplace", {}, "gray"),
    ("laplace", {"dilation": 2, "mode": "wrap"}, "gray"),
    ("multiscale_basic_features", {"sigma_min": 1, "sigma_max": 2}, "gray"),
    ("multiscale_basic_features", {"edges": False, "sigma_min": 0.7, "num_sigma": 2}, "rgb"),
    ("prewitt", {}, "gray"),
    ("prewitt_h", {"dilation": 2}, "gray"),
    ("prewitt_v", {}, "gray"),
    ("rescale_intensity", {"in_range": [0.0, 1.0], "out_range": [-1.0, 1.0]}, "gray"),
    ("scharr", {}, "gray"),
    ("scharr_h", {}, "gray"),
    ("scharr_v", {"dilation": 3}, "gray"),
    ("sobel", {"dilation": [2, 5]}, "gray"),
    ("sobel_h", {}, "gray"),
    ("sobel_v", {"mode": "constant", "cval": 0.5}, "gray"),
    ("starlet", {"n_scales": 2}, "gray"),
    ("starlet", {"n_scales": 3}, "gray"),
    ("starlet_denoise", {"n_scales": 2, "sigma": 0.05}, "gray"),
    ("to_float32", {}, "uint8"),
    ("to_gray", {}, "rgb"),
]

# Stacks: the halos of the steps add up, scaled by the strides before them.  (name, pipeline, input kind,
# whether the sum is tight for this stack.)
PIPELINE_CASES = [
    ("default", Pipeline.default, "rgb", True),
    ("gaussian+laplace", lambda: Pipeline([("gaussian", {"sigma": 1}), ("laplace", {"dilation": 2})]), "gray", True),
    ("starlet+clip", lambda: Pipeline([("starlet", {"n_scales": 2}), ("clip", {"min": -0.1})]), "gray", True),
    ("starlet+istarlet", lambda: Pipeline([("starlet", {"n_scales": 3}), "istarlet"]), "gray", False),  # identity
    (
        "strided conv2d+gaussian",
        lambda: Pipeline(
            [
                {"step": "conv2d", "weight": np.ones((1, 1, 3, 3)).tolist(), "stride": 2, "dtype": "float64"},
                ("gaussian", {"sigma": 1}),
            ]
        ),
        "gray",
        True,
    ),
]


# Steps whose outputs a pixel they do not read leaves unchanged bit for bit (direct sums in a fixed
# order), checked so: nothing beyond the halo changes them at all, and any change from the ring at the
# halo shows it is read.  Their ring reaches an output only through a Gaussian's 4-sigma tail (exp(-8)
# of its centre) and then two differences: a few float32 ulps, below the noise floor of the others.
EXACT_STEPS = {"multiscale_basic_features"}


def _case_id(case):
    name, params, kind = case
    shown = ",".join(f"{k}={v}" for k, v in params.items() if k not in ("weight", "kernels", "function"))
    return f"{name}[{shown}]({kind})"


def _image(kind, shape, rng):
    h, w = shape
    if kind == "uint8":
        return rng.integers(60, 196, (h, w)).astype(np.uint8)
    if kind == "signed":
        return rng.uniform(-1, 1, (h, w))
    if kind in ("rgb", "planes"):
        return rng.uniform(0.25, 0.75, (h, w, 3))
    return rng.uniform(0.25, 0.75, (h, w))


def _perturb(image, where, rng):
    """A copy of `image` with the pixels where `where` (H, W) is True moved by a random 0.05 to 0.15 (uint8: 10-40)."""
    out = image.astype(np.float64)
    noise = rng.choice([-1.0, 1.0], out.shape) * rng.uniform(0.05, 0.15, out.shape)
    if image.dtype == np.uint8:
        noise = np.round(noise * 266)
    mask = where if out.ndim == 2 else where[:, :, None]
    out = np.where(mask, out + noise, out)
    return out.astype(image.dtype)


def _stride(func):
    steps = func.steps if isinstance(func, Pipeline) else [func] if isinstance(func, Step) else []
    sh = sw = 1
    for step in steps:
        sh, sw = sh * step.stride[0], sw * step.stride[1]
    return sh, sw


def _noise_floor(y):
    eps = 1e-12 if y.dtype == np.float64 else 3e-6
    return eps * (1.0 + float(np.abs(y).max()))


class Probe:
    """One output pixel far from the image edges, and the box of input pixels its halo allows."""

    def __init__(self, func, halo, kind, rng, *, room=None):
        self.func, self.kind, self.rng = func, kind, rng
        self.h, self.w = halo
        self.sh, self.sw = _stride(func)
        # the output pixel's input anchor at least `room` (default: the halo) + 3 pixels from every edge
        room = halo if room is None else room
        size = [2 * (r + 3) * s + 1 for r, s in ((room[0], self.sh), (room[1], self.sw))]
        self.image = _image(kind, size, rng)
        self.y = np.asarray(func(self.image))
        self.out = (self.y.shape[0] // 2, self.y.shape[1] // 2)
        self.anchor = (self.out[0] * self.sh, self.out[1] * self.sw)
        (ci, cj), (H, W) = self.anchor, self.image.shape[:2]
        assert self.h + 1 <= ci <= H - self.h - 2 and self.w + 1 <= cj <= W - self.w - 2, "probe too close to an edge"
        rows, cols = np.ogrid[:H, :W]
        self.di, self.dj = rows - ci, cols - cj

    def change(self, where):
        """Largest change of the output pixel when the pixels `where` are perturbed."""
        moved = np.asarray(self.func(_perturb(self.image, where, self.rng)))
        return float(np.abs(moved[self.out].astype(np.float64) - self.y[self.out]).max())

    def outside(self):
        return (np.abs(self.di) > self.h) | (np.abs(self.dj) > self.w)

    def ring(self, axis):
        """Pixels inside the box at distance exactly the halo along `axis` (the pixel itself for a halo of 0)."""
        inside = (np.abs(self.di) <= self.h) & (np.abs(self.dj) <= self.w)
        d, r = (self.di, self.h) if axis == 0 else (self.dj, self.w)
        return inside & (np.abs(d) == r)


def check_nothing_outside_counts(func, halo, kind, seed=0, *, room=None, exact=False):
    probe = Probe(func, halo, kind, np.random.default_rng(seed), room=room)
    for _ in range(2):
        change = probe.change(probe.outside())
        assert change <= (0.0 if exact else _noise_floor(probe.y)), (
            f"perturbing every pixel beyond the halo {halo} changed the output by {change:.3g}"
        )


def check_halo_is_tight(func, halo, kind, seed=0, *, exact=False):
    rng = np.random.default_rng(seed)
    for axis in (0, 1):
        changes = []
        for _ in range(3):  # a few random images and perturbations: one that shows the dependence suffices
            probe = Probe(func, halo, kind, rng)
            changes.append(probe.change(probe.ring(axis)))
            if changes[-1] > (0.0 if exact else 100 * _noise_floor(probe.y)):
                break
        else:
            pytest.fail(
                f"halo {halo}: the pixels at distance {halo[axis]} along axis {axis} never changed the "
                f"output (changes {changes}); the halo is larger than what the step reads"
            )


def _periodic(params):
    return params.get("mode") == "wrap" or params.get("padding_mode") == "circular"


def check_tiled_equals_whole(func, halo, kind, *, halo_arg=True, periodic=False, seed=1):
    rng = np.random.default_rng(seed)
    tile = max(halo) + 4
    image = _image(kind, (3 * tile + 3, 3 * tile + 5), rng)
    channel_axis = -1 if image.ndim == 3 else None
    kwargs = {"halo": halo} if halo_arg else {}
    tiled = icd.apply(da.from_array(image, chunks=tile), func, channel_axis=channel_axis, **kwargs)
    got = tiled.compute(scheduler="synchronous")
    whole = np.asarray(func(image))
    assert got.shape == whole.shape and got.dtype == whole.dtype
    if periodic:  # edge outputs read the opposite edge: compare the pixels farther than the halo from it
        got, whole = (a[halo[0] : a.shape[0] - halo[0], halo[1] : a.shape[1] - halo[1]] for a in (got, whole))
    rtol = 1e-12 if whole.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, whole, rtol=rtol, atol=_noise_floor(whole))


# -- every step type --------------------------------------------------------------------------------


def test_every_step_type_has_a_case():
    covered = {name for name, _, _ in STEP_CASES}
    missing = sorted(set(STEP_NAMES) - covered)
    assert not missing, f"add a case to tests/test_halos.py for the step types {missing}"


@pytest.mark.parametrize("case", STEP_CASES, ids=_case_id)
def test_step_reads_nothing_outside_its_halo(case):
    name, params, kind = case
    step = Step(name, **params)
    check_nothing_outside_counts(step, step.halo, kind, exact=name in EXACT_STEPS)


@pytest.mark.parametrize("case", STEP_CASES, ids=_case_id)
def test_step_halo_is_tight(case):
    name, params, kind = case
    step = Step(name, **params)
    check_halo_is_tight(step, step.halo, kind, exact=name in EXACT_STEPS)


@pytest.mark.parametrize("case", STEP_CASES, ids=_case_id)
def test_step_tiled_equals_whole(case):
    name, params, kind = case
    step = Step(name, **params)
    check_tiled_equals_whole(step, step.halo, kind, periodic=_periodic(params))


def test_a_strided_step_reads_its_halo_around_its_anchor():
    """conv2d with stride 2: output (i, j) reads around input (2i, 2j), within the reported halo."""
    step = Step("conv2d", weight=_WEIGHT, stride=2, padding=[1, 2], dilation=[1, 2], dtype="float64")
    check_nothing_outside_counts(step, step.halo, "gray")
    check_halo_is_tight(step, step.halo, "gray")


# -- stacks: Pipeline.halo -----------------------------------------------------------


@pytest.mark.parametrize("name, make, kind, tight", PIPELINE_CASES, ids=[c[0] for c in PIPELINE_CASES])
def test_pipeline_halo_is_exact(name, make, kind, tight):
    pipe = make()
    check_nothing_outside_counts(pipe, pipe.halo, kind)
    if tight:
        check_halo_is_tight(pipe, pipe.halo, kind)
    else:  # the bound holds, but this stack reads only the pixel itself
        check_nothing_outside_counts(pipe, (0, 0), kind, room=pipe.halo)
    if _stride(pipe) == (1, 1):  # imgconv.dask.apply tiles size-preserving functions
        check_tiled_equals_whole(pipe, pipe.halo, kind, halo_arg=False)  # apply reads Pipeline.halo


# -- imgconv.filters, called directly, with the halo of their step ---------------------------------

FILTER_CASES = [(name, params, kind) for name, params, kind in STEP_CASES if name in filters.__all__ and kind != "rgb"]


@pytest.mark.parametrize("case", FILTER_CASES, ids=_case_id)
def test_filter_function_reads_only_its_halo(case):
    name, params, kind = case
    halo = Step(name, **params).halo
    function = functools.partial(getattr(filters, name), **params)
    if name == "gabor":
        function = functools.partial(lambda f, image: np.stack(f(image), axis=-1), function)
    check_nothing_outside_counts(function, halo, kind)
    check_halo_is_tight(function, halo, kind)


class _Layer:
    """An imgconv.Conv2d as an image -> image function that carries its receptive field."""

    def __init__(self, layer):
        self.layer, self.receptive_field = layer, layer.receptive_field

    def __call__(self, image):
        return np.moveaxis(self.layer(image[None]), 0, -1)


def test_conv2d_layer_receptive_field_is_its_halo():
    """imgconv.Conv2d.receptive_field: output i reads inputs i + start ... i + start + extent - 1."""
    layer = imgconv.Conv2d(
        1, 2, (3, 4), padding="same", dilation=(2, 1), padding_mode="reflect", seed=3, dtype=np.float64
    )
    field = layer.receptive_field
    halo = tuple(max(-start, extent - 1 + start) for extent, start in zip(field.extent, field.start, strict=True))
    check_nothing_outside_counts(_Layer(layer), halo, "gray")
    check_halo_is_tight(_Layer(layer), halo, "gray")
    check_tiled_equals_whole(_Layer(layer), halo, "gray", halo_arg=False)  # apply reads receptive_field


# -- steps whose output depends on the whole image ----------------------------------------------


def _tiles_differ_in_range_and_noise():
    rng = np.random.default_rng(2)
    image = 0.5 + 0.02 * rng.standard_normal((60, 60))
    image[:, 30:] += 0.3 * rng.standard_normal((60, 30))
    return image


_WHOLE_IMAGE = pytest.mark.parametrize(
    "name, params, fixed, reason",
    [
        ("rescale_intensity", {}, {"in_range": [0.0, 1.5]}, "in_range='image'"),
        ("starlet_denoise", {"n_scales": 2}, {"n_scales": 2, "sigma": 0.05}, "sigma=None"),
    ],
    ids=["rescale_intensity[in_range=image]", "starlet_denoise[sigma=None]"],
)


@_WHOLE_IMAGE
def test_whole_image_statistics_are_not_tiled(name, params, fixed, reason):
    """No halo makes tiles of a whole-image statistic exact: the step says so and dask.apply refuses it."""
    step = Step(name, **params)
    image = _tiles_differ_in_range_and_noise()
    tiled = np.concatenate([step(image[:, :30]), step(image[:, 30:])], axis=1)
    assert np.abs(tiled - step(image)).max() > 1e-3  # what tiling would get wrong
    assert reason in step.whole_image
    pipe = Pipeline(["abs", step])
    assert pipe.whole_image.startswith(f"step 1 ({name!r}): ") and reason in pipe.whole_image
    for func in (step, pipe):
        for halo in (None, (30, 30)):
            with pytest.raises(ValueError, match=r"^`func` depends on the whole image, so tiles of it cannot be exact"):
                icd.apply(da.from_array(image, chunks=20), func, halo=halo)


@_WHOLE_IMAGE
def test_the_same_steps_with_the_statistic_given_are_tiled_exactly(name, params, fixed, reason):
    step = Step(name, **fixed)
    assert step.whole_image is None and Pipeline([step]).whole_image is None
    image = _tiles_differ_in_range_and_noise()
    got = icd.apply(da.from_array(image, chunks=20), step).compute(scheduler="synchronous")
    np.testing.assert_allclose(got, step(image), rtol=1e-12, atol=1e-12)
