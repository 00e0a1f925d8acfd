"""The built-in steps: dtype and intensity steps, filter banks, conv2d, user functions, starlets."""

import inspect
import math

import numpy as np

from .. import banks, wavelet
from .._shared import geometry
from .._shared.convert import to_float32
from .._shared.geometry import check_same_stride, torch_pads
from .._shared.modes import SCIPY_MODES, TORCH_PADDING_MODES
from .._validation import MAX_KERNEL_SIZE, as_padding, check_dilation
from .._validation import is_int as _is_int
from .._validation import show as _show
from ..conv import conv2d
from ._params import (
    _REQUIRED,
    _any_json,
    _boolean,
    _channel_axis,
    _choice,
    _json_value,
    _pair,
    _pair_json,
    _positive_int,
    _range_pair,
    _rates,
    _real,
    _resolve,
)
from ._step_type import _StepType

# -- dtype / scale steps --------------------------------------------------------------


def _float_image(image):
    """float32 (float64 stays float64); integers scaled like skimage.util.img_as_float32."""
    image = np.asarray(image)
    if image.dtype == np.float64:
        return image
    return to_float32(image)


def _run_to_float32(image, params, cache):
    return to_float32(image)  # imgconv.io.image_to_float32


_LUMA = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray


def _run_to_gray(image, params, cache):
    x = _float_image(image)
    if x.ndim == 2:
        return x
    channels = x.shape[2]
    if channels in (1, 2):  # gray, gray + alpha
        return np.ascontiguousarray(x[:, :, 0])
    if channels not in (3, 4):
        raise ValueError(
            f"`to_gray` needs a gray, gray+alpha, RGB or RGBA image (1 to 4 channels last); got shape {x.shape}"
        )
    weight = np.asarray(_LUMA, dtype=x.dtype).reshape(1, 3, 1, 1)
    return conv2d(np.moveaxis(x[:, :, :3], -1, 0), weight)[0]


def _run_abs(image, params, cache):
    return np.abs(image)


def _prepare_clip(params):
    low, high = params["min"], params["max"]
    if low is None and high is None:
        raise ValueError("at least one of `min` and `max` must be given; got both None")
    if low is not None and high is not None and low > high:
        raise ValueError(f"`min` must not exceed `max`; got min={low!r}, max={high!r}")


def _run_clip(image, params, cache):
    image = np.asarray(image)
    low, high = params["min"], params["max"]
    return np.clip(image, -np.inf if low is None else low, np.inf if high is None else high).astype(
        image.dtype, copy=False
    )


def _run_rescale(image, params, cache):
    x = _float_image(image)
    if params["in_range"] == "image":
        low, high = float(np.min(x)), float(np.max(x))
    else:
        low, high = params["in_range"]
    out_low, out_high = params["out_range"]
    if high == low:  # constant image: like skimage, everything maps to out_low
        return np.full(x.shape, out_low, dtype=x.dtype)
    scale = (out_high - out_low) / (high - low)
    y = (np.clip(x, low, high) - low) * scale + out_low
    return np.clip(y, out_low, out_high).astype(x.dtype, copy=False)


# -- filter bank ----------------------------------------------------------------------

_BANK_FACTORIES = ("edges", "gabor", "leung_malik", "mr8", "schmid")


def _bank_factory(name):
    return getattr(banks, name)


def _keyword_names(function, skip=1):
    sig = inspect.signature(function)
    names = []
    for i, p in enumerate(sig.parameters.values()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if i < skip and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            continue
        names.append(p.name)
    return names


def _prepare_bank(params):
    name, kernels = params["name"], params["kernels"]
    if (name is None) == (kernels is None):
        raise ValueError(
            "exactly one of `name` (a standard bank) and `kernels` (inline kernels) must be given; "
            f"got name={_show(name)} and kernels={'None' if kernels is None else '...'}"
        )
    if name is not None:
        if name not in _BANK_FACTORIES:
            raise ValueError(f"`name` must be one of {list(_BANK_FACTORIES)}; got {_show(name)}")
        factory = _bank_factory(name)
        options = params["options"]
        valid = sorted(_keyword_names(factory, skip=0))
        for key in options:
            if key not in valid:
                raise ValueError(f"unknown option {key!r} for bank {name!r}; valid options: {valid}")
        bank = factory(**options)
        if params["kernel_dilations"] is not None:
            raise ValueError("`kernel_dilations` goes with inline `kernels`; got it with a named bank")
    else:
        if params["options"]:
            raise ValueError(f"`options` goes with a named bank; got {_show(params['options'])} with inline `kernels`")
        if not isinstance(kernels, dict) or not kernels:
            raise TypeError(f"`kernels` must be a non-empty mapping name -> 2-D list; got {_show(kernels)}")
        bank = banks.FilterBank(kernels, dilations=params["kernel_dilations"])
    rates = params["dilations"]
    if rates != [1]:
        bank = bank.at_dilations([tuple(r) if isinstance(r, list) else r for r in rates])
    return bank


def _apply_channel_axis(image, channel_axis):
    """The channel_axis to pass to a filter: None for a 2-D image, the step's setting otherwise."""
    if np.ndim(image) == 2:
        return None
    return channel_axis


def _channel_axis_last(result, image, channel_axis):
    """Move the channel axis of a filter result to the end (the pipeline's layout)."""
    if np.ndim(image) == 3 and channel_axis is not None and result.ndim == 3 and channel_axis % 3 != 2:
        return np.ascontiguousarray(np.moveaxis(result, channel_axis, -1))
    return result


def _run_bank(image, params, cache):
    image = np.asarray(image)
    axis = _apply_channel_axis(image, params["channel_axis"])
    responses = cache.apply(
        image, mode=params["mode"], cval=params["cval"], channel_axis=axis, per_channel=params["per_channel"]
    )
    if responses.ndim == 4:  # (H, W, C, F) -> (H, W, C * F), channel-major
        h, w, c, f = responses.shape
        responses = responses.reshape(h, w, c * f)
    return responses


def _bank_halo(params, cache):
    # the bank pads each rate as torch 'same' does; the widest rate, widest side per axis
    pads = [geometry.halo(cache.kernel_size, d, anchor="same") for d in cache.dilations]
    return (max(max(p[0], p[1]) for p in pads), max(max(p[2], p[3]) for p in pads))


def _bank_names(params, cache, in_names):
    if in_names is None or len(in_names) == 1 or not params["per_channel"]:
        return list(cache.names)
    return [f"{c}:{n}" for c in in_names for n in cache.names]


def _bank_params():
    return {
        "name": (None, lambda v: v if v is None else _choice("name", _BANK_FACTORIES)(v)),
        "kernels": (None, _any_json("kernels")),
        "kernel_dilations": (None, lambda v: None if v is None else _rates("kernel_dilations")(v)),
        "options": ({}, _options_check),
        "dilations": ([1], _rates("dilations")),
        "mode": ("reflect", _choice("mode", SCIPY_MODES)),
        "cval": (0.0, _real("cval")),
        "per_channel": (True, _boolean("per_channel")),
        "channel_axis": (-1, _channel_axis("channel_axis")),
    }


def _options_check(value):
    if not isinstance(value, dict):
        raise TypeError(f"`options` must be a mapping of keyword arguments; got {_show(value)}")
    return _json_value(value, "options")


# -- conv2d ---------------------------------------------------------------------------


def _numbers(value, name):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be nested lists of numbers of one rectangular shape ({exc})") from None


def _in_dtype(array, dtype, name):
    """`array` (float64) cast to the compute dtype, refused if a value does not fit it (1e308 in float32)."""
    with np.errstate(over="ignore"):
        cast = array.astype(dtype)
    if not np.all(np.isfinite(cast)):
        largest = float(np.max(np.abs(array))) if np.all(np.isfinite(array)) else math.inf
        raise ValueError(
            f"`{name}` must be finite in the compute dtype {dtype} (magnitudes up to "
            f"{np.finfo(dtype).max:.4g}); got a value of magnitude {largest:.4g}"
        )
    return cast


def _prepare_conv2d(params):
    dtype = np.dtype(params["dtype"])
    weight = _numbers(params["weight"], "weight")
    if weight.ndim not in (2, 4) or weight.size == 0:
        raise ValueError(
            f"`weight` must have shape (kh, kw) or (out_channels, in_channels // groups, kh, kw); "
            f"got shape {weight.shape}"
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("`weight` must contain only finite values")
    bias = params["bias"]
    if bias is not None:
        bias = _numbers(bias, "bias")
        if weight.ndim == 2:
            raise ValueError("`bias` goes with a 4-D `weight`; a 2-D weight is applied to each channel without bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(
                f"`bias` must have one value per output channel ({weight.shape[0]}); got shape {bias.shape}"
            )
    groups = _show(params["groups"])
    if weight.ndim == 2 and params["groups"] != 1:
        raise ValueError(f"`groups` goes with a 4-D `weight`; got groups={groups} with a 2-D weight")
    if weight.ndim == 4 and weight.shape[0] % params["groups"]:
        raise ValueError(f"`weight` out_channels ({weight.shape[0]}) must be divisible by groups={groups}")
    check_same_stride(as_padding(params["padding"]), _pair_tuple(params["stride"]))
    check_dilation(weight.shape[-2:], _pair_tuple(params["dilation"]), "dilation", params["dilation"])
    return {
        "weight": _in_dtype(weight, dtype, "weight"),
        "bias": None if bias is None else _in_dtype(bias, dtype, "bias"),
        "dtype": dtype,
    }


def _run_conv2d(image, params, cache):
    x = np.asarray(image)
    dtype = cache["dtype"]
    x = _float_image(x).astype(dtype, copy=False)
    chw = x[None] if x.ndim == 2 else np.moveaxis(x, -1, 0)
    weight, groups = cache["weight"], params["groups"]
    if weight.ndim == 2:  # one kernel for every channel: depthwise
        c = chw.shape[0]
        weight = np.ascontiguousarray(np.broadcast_to(weight, (c, 1) + weight.shape))
        groups = c
    y = conv2d(
        chw,
        weight,
        cache["bias"],
        stride=params["stride"],
        padding=params["padding"] if isinstance(params["padding"], str) else _pad_tuple(params["padding"]),
        dilation=_pair_tuple(params["dilation"]),
        groups=groups,
        padding_mode=params["padding_mode"],
    )
    if y.shape[0] == 1:
        return y[0]
    return np.ascontiguousarray(np.moveaxis(y, 0, -1))


def _pair_tuple(value):
    return (value, value) if _is_int(value) else tuple(value)


def _pad_tuple(value):
    return _pair_tuple(value)


def _conv2d_geometry(params, cache):
    weight = cache["weight"]
    kernel = weight.shape[-2:]
    dilation = _pair_tuple(params["dilation"])
    padding = params["padding"] if isinstance(params["padding"], str) else _pad_tuple(params["padding"])
    top, _, left, _ = torch_pads(padding, kernel, dilation)
    th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
    return (max(top, th - top), max(left, tw - left))


def _conv2d_stride(params, cache):
    return _pair_tuple(params["stride"])


def _conv2d_names(params, cache, in_names):
    weight = cache["weight"]
    if weight.ndim == 2:
        return in_names
    out = weight.shape[0]
    return None if out == 1 else [f"conv{o}" for o in range(out)]


def _padding_check(value):
    if isinstance(value, tuple):
        value = list(value)
    padding = as_padding(value)
    if not isinstance(padding, str) and max(padding) > MAX_KERNEL_SIZE:  # an output this much larger is a typo
        raise ValueError(
            f"`padding` must be at most {MAX_KERNEL_SIZE} per side (imgconv.kernels.MAX_KERNEL_SIZE); "
            f"got {_show(value)}"
        )
    return padding if isinstance(padding, str) else _pair_json(padding)


def _conv2d_params():
    return {
        "weight": (_REQUIRED, _any_json("weight")),
        "bias": (None, _any_json("bias")),
        "stride": (1, _pair("stride", maximum=MAX_KERNEL_SIZE)),
        "padding": (0, _padding_check),
        "dilation": (1, _pair("dilation")),
        "groups": (1, _positive_int("groups")),
        "padding_mode": ("zeros", _choice("padding_mode", TORCH_PADDING_MODES)),
        "dtype": ("float32", _choice("dtype", ("float32", "float64"))),
    }


def _conv2d_layer_params(layer):
    padding = layer.padding if isinstance(layer.padding, str) else list(layer.padding)
    return {
        "weight": layer.weight.tolist(),
        "bias": None if layer.bias is None else layer.bias.tolist(),
        "stride": list(layer.stride),
        "padding": padding,
        "dilation": list(layer.dilation),
        "groups": layer.groups,
        "padding_mode": layer.padding_mode,
        "dtype": layer.dtype.name,
    }


# -- callable -------------------------------------------------------------------------


def _function_check(value):
    if isinstance(value, str):
        _resolve(value)  # fail early, with the path in the message
        return value
    if callable(value):
        return value
    raise TypeError(f"`function` must be a callable or 'module:qualified_name'; got {_show(value)}")


def _prepare_callable(params):
    function = params["function"]
    return _resolve(function) if isinstance(function, str) else function


def _run_callable(image, params, cache):
    return cache(image, **params["kwargs"])


def _kwargs_check(value):
    if not isinstance(value, dict):
        raise TypeError(f"`kwargs` must be a mapping of keyword arguments; got {_show(value)}")
    return _json_value(value, "kwargs")


def _callable_params():
    return {
        "function": (_REQUIRED, _function_check),
        "kwargs": ({}, _kwargs_check),
        "halo": (0, _pair("halo", minimum=0)),
    }


# -- wavelet --------------------------------------------------------------------------

# The widest starlet smoothing kernel, 4 * 2**(J - 1) + 1 taps, within MAX_KERNEL_SIZE.
_MAX_STARLET_SCALES = int(math.log2((MAX_KERNEL_SIZE - 1) / 4)) + 1


def _starlet_halo(params, cache):
    # c_J is J passes of the B3 spline at dilations 1, 2, ..., 2**(J-1): 2 (2**J - 1) pixels per side
    taps = (len(wavelet.B3_SPLINE),) * 2
    return sum(max(geometry.halo(taps, (d, d))) for d in (2**j for j in range(params["n_scales"])))


def _run_starlet(image, params, cache):
    axis = _apply_channel_axis(image, params["channel_axis"])
    coeffs = wavelet.starlet(image, params["n_scales"], mode=params["mode"], channel_axis=axis)
    planes = np.moveaxis(coeffs, 0, -1)  # (H, W, J + 1) or the image layout + planes last
    if planes.ndim == 4:  # (.., C, J + 1) with channels last -> (H, W, C * (J + 1)), channel-major
        if axis is not None and axis % 3 != 2:
            planes = np.moveaxis(planes, axis % 3, 2)
        h, w, c, j = planes.shape
        planes = planes.reshape(h, w, c * j)
    return np.ascontiguousarray(planes)


def _starlet_names(params, cache, in_names):
    planes = [f"w{j + 1}" for j in range(params["n_scales"])] + [f"c{params['n_scales']}"]
    if in_names is None or len(in_names) == 1:
        return planes
    return [f"{c}:{p}" for c in in_names for p in planes]


def _run_istarlet(image, params, cache):
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"`istarlet` needs the planes on the last axis, shape (H, W, J + 1); got shape {image.shape}")
    return wavelet.istarlet(np.moveaxis(image, -1, 0))


def _run_starlet_denoise(image, params, cache):
    axis = _apply_channel_axis(image, params["channel_axis"])
    kwargs = {k: v for k, v in params.items() if k != "channel_axis"}
    return _channel_axis_last(wavelet.starlet_denoise(image, channel_axis=axis, **kwargs), image, axis)


def _make_wavelet_types():
    common = {"mode": ("nearest", _choice("mode", SCIPY_MODES)), "channel_axis": (-1, _channel_axis("channel_axis"))}
    return {
        "starlet": _StepType(
            "starlet",
            _run_starlet,
            {"n_scales": (_REQUIRED, _positive_int("n_scales", _MAX_STARLET_SCALES)), **common},
            halo=_starlet_halo,
            names=_starlet_names,
            summary="imgconv.wavelet.starlet, planes on the last axis",
        ),
        "istarlet": _StepType(
            "istarlet",
            _run_istarlet,
            names=lambda p, c, n: ["image"],
            summary="imgconv.wavelet.istarlet of planes on the last axis",
        ),
        "starlet_denoise": _StepType(
            "starlet_denoise",
            _run_starlet_denoise,
            {
                "n_scales": (4, _positive_int("n_scales", _MAX_STARLET_SCALES)),
                "k": (3.0, _real("k", rule="a positive number", minimum=0, exclusive=True)),
                "sigma": (None, _real("sigma", rule="a positive number", minimum=0, exclusive=True, optional=True)),
                **common,
            },
            halo=_starlet_halo,
            whole_image=lambda p: (
                "sigma=None estimates the noise level from the whole image (the MAD of its finest plane)"
                if p["sigma"] is None
                else None
            ),
            summary="imgconv.wavelet.starlet_denoise",
        ),
    }


# -- the table of built-in steps ------------------------------------------------------


def _builtin_types():
    return {
        "to_float32": _StepType("to_float32", _run_to_float32, summary="integers to float32 in [0, 1]"),
        "to_gray": _StepType(
            "to_gray", _run_to_gray, summary="luminance, skimage.color.rgb2gray weights", names=lambda p, c, n: ["gray"]
        ),
        "abs": _StepType("abs", _run_abs, summary="absolute value"),
        "clip": _StepType(
            "clip",
            _run_clip,
            {"min": (None, _real("min", optional=True)), "max": (None, _real("max", optional=True))},
            prepare=_prepare_clip,
            summary="clip to [min, max]",
        ),
        "rescale_intensity": _StepType(
            "rescale_intensity",
            _run_rescale,
            {
                "in_range": ("image", _range_pair("in_range", allow_image=True)),
                "out_range": ([0.0, 1.0], _range_pair("out_range")),
            },
            whole_image=lambda p: (
                "in_range='image' maps the image's own minimum and maximum" if p["in_range"] == "image" else None
            ),
            summary="linear map of in_range to out_range",
        ),
        "bank": _StepType(
            "bank",
            _run_bank,
            _bank_params(),
            prepare=_prepare_bank,
            halo=_bank_halo,
            names=_bank_names,
            summary="imgconv.banks.FilterBank responses",
        ),
        "conv2d": _StepType(
            "conv2d",
            _run_conv2d,
            _conv2d_params(),
            prepare=_prepare_conv2d,
            halo=_conv2d_geometry,
            stride=_conv2d_stride,
            names=_conv2d_names,
            summary="imgconv.conv2d with inline weights",
        ),
        "callable": _StepType(
            "callable",
            _run_callable,
            _callable_params(),
            prepare=_prepare_callable,
            halo=lambda p, c: p["halo"],
            names=lambda p, c, n: None,
            summary="a user function image -> image",
        ),
    }
