"""imgconv.feature's multiscale feature stack as a pipeline step: pixel-classifier features for a folder."""

from .. import feature
from .._shared.geometry import gaussian_radius
from .._validation import check_kernel_size
from ._params import _boolean, _channel_axis, _positive_int, _real
from ._step_type import _StepType
from ._steps import _apply_channel_axis

# A stack holds (intensity + edges + 2 eigenvalues) x scales float32 values a pixel: 64 scales is
# already 1 KB a pixel, and far more than any pixel classifier uses.
MAX_FEATURE_SCALES = 64


def _prepare(params):
    sigma_max = params["sigma_max"]
    check_kernel_size(2 * gaussian_radius(sigma_max, 4.0) + 1, "a Gaussian kernel", sigma_max=sigma_max)
    features = feature.MultiscaleFeatures(
        params["intensity"], params["edges"], params["texture"], params["sigma_min"], sigma_max, params["num_sigma"]
    )
    if len(features.sigmas) > MAX_FEATURE_SCALES:  # the powers of 2 between a tiny sigma_min and sigma_max
        raise ValueError(
            f"`sigma_min` and `sigma_max` give {len(features.sigmas)} scales (one per power of 2 between them); "
            f"the step computes at most {MAX_FEATURE_SCALES}: raise sigma_min or pass num_sigma; "
            f"got sigma_min={params['sigma_min']!r}, sigma_max={sigma_max!r}"
        )
    return features


def _run(image, params, cache):
    axis = _apply_channel_axis(image, params["channel_axis"])
    if image.ndim == 3 and axis is None:
        raise ValueError(
            "the multiscale_basic_features step featurises each channel of an (H, W, C) image; "
            "`channel_axis` must be an axis, got None"
        )
    return cache(image, channel_axis=axis)


def _names(params, cache, in_names):
    if in_names is None:
        return None
    return cache.names() if len(in_names) == 1 else cache.names(channels=in_names)


def _feature_step_types():
    positive = {"rule": "a positive number", "minimum": 0, "exclusive": True}
    return {
        "multiscale_basic_features": _StepType(
            "multiscale_basic_features",
            _run,
            {
                "intensity": (True, _boolean("intensity")),
                "edges": (True, _boolean("edges")),
                "texture": (True, _boolean("texture")),
                "sigma_min": (0.5, _real("sigma_min", **positive)),
                "sigma_max": (16.0, _real("sigma_max", **positive)),
                "num_sigma": (None, lambda v: None if v is None else _positive_int("num_sigma", MAX_FEATURE_SCALES)(v)),
                "channel_axis": (-1, _channel_axis("channel_axis")),
            },
            prepare=_prepare,
            halo=lambda params, cache: cache.halo,
            names=_names,
            summary="imgconv.feature.multiscale_basic_features, features on the last axis",
        ),
    }
