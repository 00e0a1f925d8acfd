"""The public functions of imgconv.filters as pipeline steps, and their halos."""

import inspect
import math

import numpy as np

from .. import filters, kernels
from .._shared import geometry
from .._shared.geometry import gaussian_radius
from .._validation import (
    as_pair,
    check_dilation,
    check_kernel_size,
    describe_params,
    gabor_half_size,
    gabor_sigmas,
)
from .._validation import is_real as _is_real
from .._validation import to_float as _to_float
from ._params import _REQUIRED, _any_json, _channel_axis, _json_value, _jsonable
from ._step_type import _StepType
from ._steps import _apply_channel_axis, _channel_axis_last

# Parameters of imgconv.filters functions that the pipeline controls itself, or that
# describe one particular image (a mask) and so have no place in a pipeline.
_FILTER_RESERVED = ("image", "out", "output", "num_threads", "mask")
# Public functions of imgconv.filters that are not steps: apply_bank takes a FilterBank
# object (the "bank" step covers it).  The scikit-image family added with imgconv.feature is
# not yet: the ridge filters scale by a whole-image maximum (no tile halo), and the halos of
# roberts, farid and unsharp_mask are not described here yet.
_FILTER_EXCLUDED = (
    "apply_bank",
    "farid",
    "farid_h",
    "farid_v",
    "frangi",
    "hessian",
    "meijering",
    "roberts",
    "roberts_neg_diag",
    "roberts_pos_diag",
    "sato",
    "unsharp_mask",
)


def _filter_functions():
    out = {}
    for name in getattr(filters, "__all__", ()):
        function = getattr(filters, name, None)
        if not inspect.isfunction(function):
            continue
        try:
            first = next(iter(inspect.signature(function).parameters))
        except (StopIteration, ValueError, TypeError):
            continue
        if first == "image" and name not in _FILTER_EXCLUDED:
            out[name] = function
    return out


def _positive(value, *, zero=False):
    """`value` as a positive (with `zero`: non-negative) finite float, or None (malformed: the filter reports it)."""
    if not _is_real(value):
        return None
    number = _to_float(value)
    return number if math.isfinite(number) and (number > 0 or (zero and number == 0)) else None


def _sigma_pair(value):
    """A Gaussian's sigma per axis: 0 is valid (no smoothing along that axis, as scikit-image), so halo 0 there."""
    if isinstance(value, list) and len(value) in (1, 2):
        pair = (_positive(value[0], zero=True), _positive(value[-1], zero=True))
    else:
        pair = (_positive(value, zero=True),) * 2
    return None if None in pair else pair


def _edge_kernel(name):
    """The kernel builder of an edge filter (``sobel``, ``sobel_h``, ...): ``imgconv.kernels.<name>_h``, or None."""
    return getattr(kernels, f"{name.removesuffix('_h').removesuffix('_v')}_h", None)


def _filter_kernel_size(name, params):
    """Kernel size ``(kh, kw)`` of a filter at dilation 1 and the parameters that set it.

    From the code the filter builds its kernel with: the kernels of
    :mod:`imgconv.kernels`, the Gaussian radius, the Gabor half-size.  The sizes
    are floats (inf) when absurdly large.  None for a filter of unknown
    geometry, or when a parameter is malformed (the filter's dry run names it).
    """
    edge = _edge_kernel(name)
    if edge is not None:
        return edge().shape, {}
    if name == "laplace":
        try:
            return kernels.laplace(params.get("ksize", 3)).shape, {}
        except (TypeError, ValueError):
            return None
    if name in ("gaussian", "difference_of_gaussians"):
        # scipy's radius int(truncate * sigma + 0.5) per axis; the wider Gaussian of the pair
        if name == "gaussian":
            key, factor = "sigma", 1.0
        elif params.get("high_sigma") is not None:
            key, factor = "high_sigma", 1.0
        else:
            key, factor = "low_sigma", 1.6
        sigma, truncate = _sigma_pair(params.get(key, 1.0)), _positive(params.get("truncate", 4.0))
        if sigma is None or truncate is None:
            return None
        size = tuple(2 * gaussian_radius(factor * s, truncate) + 1 for s in sigma)
        return size, {key: params.get(key, 1.0), "truncate": params.get("truncate", 4.0)}
    if name == "gabor":
        values = {
            key: params.get(key, default)
            for key, default in (
                ("frequency", None),
                ("bandwidth", 1),
                ("sigma_x", None),
                ("sigma_y", None),
                ("n_stds", 3),
            )
        }
        checked = {key: None if value is None else _positive(value) for key, value in values.items()}
        theta = params.get("theta", 0)
        if (
            checked["frequency"] is None
            or checked["bandwidth"] is None
            or checked["n_stds"] is None
            or any(values[k] is not None and checked[k] is None for k in ("sigma_x", "sigma_y"))
            or not (_is_real(theta) and math.isfinite(_to_float(theta)))
        ):
            return None
        sx, sy = gabor_sigmas(checked["frequency"], checked["bandwidth"], checked["sigma_x"], checked["sigma_y"])
        named = {k: v for k, v in values.items() if v is not None}
        size = tuple(2 * r + 1 for r in gabor_half_size(_to_float(theta), sx, sy, checked["n_stds"]))
        return size, named
    return None


def _check_filter_size(name, params):
    """Refuse a filter kernel larger than MAX_KERNEL_SIZE, dilated or not, before the dry run builds it."""
    dilation = params.get("dilation", 1)
    rates = as_pair(dilation, "dilation")  # the filters' own check, and message
    found = _filter_kernel_size(name, params)
    if found is None:
        check_dilation((1, 1), rates, "dilation", dilation)  # rates still reach the engine's C ints
        return
    size, named = found
    if named:
        check_kernel_size(max(size), f"a {name} kernel", **named)
    check_dilation(size, rates, "dilation", dilation)


def _filter_step_type(name, function):
    sig = inspect.signature(function)
    params = {}
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 or p.name in _FILTER_RESERVED or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = _REQUIRED if p.default is p.empty else p.default
        if p.name == "channel_axis":
            params[p.name] = (-1, _channel_axis("channel_axis"))
        elif default is _REQUIRED:
            params[p.name] = (default, _any_json(p.name))
        else:
            params[p.name] = (_json_value(default, p.name) if _jsonable(default) else default, _any_json(p.name))

    has_channel_axis = "channel_axis" in sig.parameters

    def run(image, step_params, cache, _function=function):
        kwargs = dict(step_params)
        if has_channel_axis:
            kwargs["channel_axis"] = _apply_channel_axis(image, step_params["channel_axis"])
        result = _function(image, **kwargs)
        if isinstance(result, tuple):  # gabor: (real, imag) -> parts on the channel axis
            parts = [_channel_axis_last(np.asarray(r), image, kwargs.get("channel_axis")) for r in result]
            parts = [r[:, :, None] if r.ndim == 2 else r for r in parts]
            return np.concatenate(parts, axis=-1)
        return _channel_axis_last(result, image, kwargs.get("channel_axis"))

    def halo(step_params, cache):
        # the pads the filter gives its kernel (scipy's anchor), widest side per axis
        found = _filter_kernel_size(name, step_params)
        if found is None:
            return (0, 0)
        top, bottom, left, right = geometry.halo(found[0], as_pair(step_params.get("dilation", 1), "dilation"))
        return (max(top, bottom), max(left, right))

    def names(step_params, cache, in_names):
        if in_names is None:
            return None
        labels = [f"{name}_real", f"{name}_imag"] if name == "gabor" else [name]
        if len(in_names) == 1:
            return labels
        return [f"{c}:{label}" for label in labels for c in in_names]

    def prepare(step_params):
        # Run once on a small image so that bad values are refused when the pipeline is
        # built (with the filter's own message), not once per image; sizes first, so that
        # the run cannot be asked for a kernel of billions of taps.
        _check_filter_size(name, step_params)
        try:
            run(np.zeros((8, 8), np.float32), step_params, None)
        except ArithmeticError as exc:  # e.g. 1 / sigma**2 for sigma = 1e-300 inside the filter
            defaults = {key: default for key, (default, _) in params.items()}
            changed = {key: value for key, value in step_params.items() if value != defaults.get(key)}
            names, got = describe_params(changed or step_params)
            raise ValueError(
                f"{names} {'gives' if len(changed) == 1 else 'give'} an arithmetic error in "
                f"imgconv.filters.{name} ({type(exc).__name__}: {exc}); got {got}"
            ) from None

    return _StepType(name, run, params, prepare=prepare, halo=halo, names=names, summary=f"imgconv.filters.{name}")
