"""Pipelines: ordered, picklable lists of image-filtering steps, read from and written to specs.

A :class:`Pipeline` applies its steps in order to one image.  Images flow
through it as NumPy arrays of shape ``(H, W)`` or ``(H, W, C)`` -- channels
last, the layout :func:`imgconv.io.imread` returns -- and every step receives
the previous step's output.  Steps are named, validated once when the pipeline
is built, and described by plain JSON data, so that a pipeline can be

* written to / read from a *spec* (JSON, or YAML when PyYAML is installed),
* pickled (for :mod:`concurrent.futures` process pools and dask),
* fingerprinted (:meth:`Pipeline.fingerprint`, recorded by :mod:`imgconv.batch`
  in its manifest to decide what is up to date),
* asked for its halo (:attr:`Pipeline.receptive_field`, for tiling).

All convolution arithmetic happens in imgconv's engine, through the public
layers (:mod:`imgconv.filters`, :class:`imgconv.banks.FilterBank`,
:func:`imgconv.conv2d`, :mod:`imgconv.wavelet`).

Spec format
-----------
::

    {"version": 1,
     "steps": [{"step": "to_gray"},
               {"step": "bank", "name": "edges", "dilations": [1, 2, 4], "mode": "reflect"},
               {"step": "abs"}]}

Each step is a mapping with the key ``"step"`` (the step name) and the step's
parameters as the other keys; a bare string is a step with default parameters,
and a bare list is accepted in place of the whole mapping.  ``to_spec`` writes
every parameter, defaults included, so that a spec file means the same thing
after a change of defaults.  Run ``imgconv.pipeline.step_names()`` for the list
of steps and ``imgconv.pipeline.step_parameters(name)`` for their parameters.

Built-in steps
--------------
``to_float32``
    :func:`imgconv.io.image_to_float32` (integers scaled to [0, 1]).
``to_gray``
    Luminance with the weights of :func:`skimage.color.rgb2gray`
    (``0.2125 R + 0.7154 G + 0.0721 B``), computed as a 1x1 convolution.  RGB
    and RGBA (alpha ignored, as the rgb2gray docstring says) give ``(H, W)``;
    gray+alpha gives its gray channel; gray images pass through.  Integers are
    scaled to [0, 1] first; the result is float32 (float64 for float64 input).
``bank``
    A :class:`imgconv.banks.FilterBank`: ``name`` of a standard bank
    (``'edges'``, ``'gabor'``, ``'leung_malik'``, ``'schmid'``, ``'mr8'``; their
    keyword arguments in ``options``) or inline ``kernels`` (name -> 2-D
    list), repeated at each rate of ``dilations`` (:meth:`FilterBank.at_dilations`),
    applied with ``mode``, ``cval``, ``per_channel``, ``channel_axis``.  The
    result is ``(H, W, F)``; a colour image filtered per channel gives
    ``(H, W, C * F)``, channel-major (index ``c * F + f``).
``conv2d``
    :func:`imgconv.conv2d` with an inline ``weight`` (nested lists, shape
    ``(O, C // groups, kh, kw)``, or ``(kh, kw)`` for one kernel applied to
    every channel), optional ``bias``, ``stride``, ``padding``, ``dilation``,
    ``groups``, ``padding_mode`` (torch vocabulary and torch defaults:
    ``padding=0``) and compute ``dtype``.  The result is ``(H', W', O)``, or
    ``(H', W')`` when ``O == 1``.  A :class:`imgconv.Conv2d` layer given to
    :class:`Pipeline` becomes such a step, its weights written out in full.
``starlet``, ``istarlet``, ``starlet_denoise``
    The starlet (isotropic undecimated wavelet) transform of
    :mod:`imgconv.wavelet` (``n_scales``, ``mode``): the ``n_scales + 1``
    planes go on the last axis (``(H, W, C * (J + 1))`` for colour,
    channel-major); its inverse (the sum over the last axis); denoising by
    hard thresholding of the coefficients.
``rescale_intensity``
    Linear map of ``in_range`` (``'image'``: the image's own min and max) to
    ``out_range``, values outside clipped, as :func:`skimage.exposure.rescale_intensity`.
``abs``, ``clip``
    Elementwise ``numpy.abs`` / ``numpy.clip(min, max)``.
``callable``
    A user function ``function(image, **kwargs)`` (see below).
filters
    Every public function of :mod:`imgconv.filters` whose first parameter is
    ``image`` (``gaussian``, ``sobel``, ``sobel_h``, ``laplace``,
    ``difference_of_gaussians``, ``gabor``, ...), with its own keyword
    parameters and defaults (scikit-image's), except ``mask`` (image-specific)
    and ``num_threads`` (set per call by the pipeline).  ``channel_axis``
    defaults to -1 and applies to 3-D images only; gabor's ``(real, imag)``
    pair becomes two channels.  Values are checked when the pipeline is built,
    by running the filter once on an 8x8 image.

Every engine-backed step gets ``num_threads`` from :meth:`Pipeline.__call__`.

User functions
--------------
A Python function can be a step (``Pipeline([to_gray, my_function])`` or
``{"step": "callable", "function": "package.module:my_function", "kwargs":
{...}}``).  It receives the image and returns an array of shape ``(H, W)`` or
``(H, W, C)``.  Such a step is written to a spec by import path
(``"module:qualified_name"``); a lambda, a nested function or an object without
an import path cannot be written (``to_spec`` says so) and cannot be sent to the
``processes`` or ``dask`` backends of :mod:`imgconv.batch`, which pickle the
pipeline.  Reading a spec that names functions imports their modules, so
:meth:`Pipeline.from_spec` refuses it unless ``allow_callables=True``: a spec is
then code, to be trusted like any script.  Its halo is declared with the
``halo`` parameter (default 0).  Functions can also be registered under a step
name with :func:`register_step`.

The fingerprint covers the spec (step names and parameters) and the imgconv
version, not the code of user functions: after editing a function, rerun a
batch with ``overwrite=True``.

Limits
------
A spec is data from outside, so every bad one is refused with a ValueError or
TypeError naming the step and the parameter (or an OSError if the file cannot
be read) -- never a MemoryError, a RecursionError or a hang:

* a spec file is UTF-8 JSON (or YAML) of at most :data:`MAX_SPEC_BYTES`
  (64 MiB); numbers lie within the float range (about +-1.8e308; JSON has no
  NaN or infinity); lists and mappings nest at most :data:`MAX_SPEC_DEPTH` (32)
  levels and hold at most :data:`MAX_SPEC_VALUES` (``2**22``) values in all;
* kernels built from parameters (``sigma`` and ``truncate`` of the Gaussian
  filters, Gabor ``frequency`` / ``sigma_x`` / ``n_stds``, bank ``support``)
  and kernels spread by a ``dilation`` (``d (k - 1) + 1``) span at most
  :data:`imgconv.kernels.MAX_KERNEL_SIZE` (4097) pixels per axis, so sigma
  is at most about 512 at truncate 4, and a 3x3 kernel's dilation at most 2048;
  a bank holds at most :data:`imgconv.banks.MAX_BANK_TAPS` taps;
* ``conv2d``: ``stride`` and ``padding`` at most 4097, and ``weight`` and
  ``bias`` finite in the compute ``dtype`` (1e308 is finite in float64 but not
  in float32);
* ``starlet`` / ``starlet_denoise``: ``n_scales`` at most 11 (the widest
  smoothing kernel, ``4 * 2**(J - 1) + 1`` taps, within 4097).
"""

import contextlib
import difflib
import errno
import hashlib
import importlib
import inspect
import json
import math
import os

import numpy as np

from . import _output
from ._validation import (
    MAX_KERNEL_SIZE,
    check_dilation,
    check_kernel_size,
    describe_params,
    gabor_half_size,
    gabor_sigmas,
    gaussian_radius,
)
from ._validation import is_int as _is_int
from ._validation import is_real as _is_real
from ._validation import show as _show
from ._validation import to_float as _to_float

__all__ = [
    "DEFAULT_PIPELINE",
    "MAX_SPEC_BYTES",
    "MAX_SPEC_DEPTH",
    "MAX_SPEC_VALUES",
    "SPEC_VERSION",
    "Pipeline",
    "Step",
    "register_step",
    "step_names",
    "step_parameters",
]

#: Version of the spec format written by :meth:`Pipeline.to_spec`.
SPEC_VERSION = 1

#: The default pipeline of ``imgconv batch`` (and of :func:`imgconv.batch.process`
#: when no pipeline is given): luminance (:func:`skimage.color.rgb2gray`
#: weights), then the six 3x3 edge kernels of :func:`imgconv.banks.edges`
#: (Sobel, Scharr, Prewitt; horizontal and vertical) at dilations 1, 2 and 4 with
#: scikit-image's ``'reflect'`` border (half-sample symmetric), then the absolute
#: value.  Any image gives float32 responses of shape ``(H, W, 18)``, in the order
#: ``sobel_h@d1, sobel_v@d1, scharr_h@d1, ..., prewitt_v@d4``; halo 4 pixels.
DEFAULT_PIPELINE = {
    "version": SPEC_VERSION,
    "steps": [
        {"step": "to_gray"},
        {"step": "bank", "name": "edges", "dilations": [1, 2, 4], "mode": "reflect"},
        {"step": "abs"},
    ],
}

#: Largest spec file read, in bytes.  Specs are small: even the inline weights of a
#: 256 x 256 x 3 x 3 conv2d step are about 12 MB of JSON.
MAX_SPEC_BYTES = 64 * 2 ** 20

#: Deepest nesting of lists and mappings in a spec (a conv2d weight sits 7 levels down).
MAX_SPEC_DEPTH = 32

#: Most values (numbers, strings, lists, mappings, ...) in a spec, a list shared by YAML
#: aliases counted at every use (the steps copy it there).  The weights of a
#: 512 x 512 x 3 x 3 conv2d step are 2.4 million numbers.
MAX_SPEC_VALUES = 2 ** 22

# The widest starlet smoothing kernel, 4 * 2**(J - 1) + 1 taps, within MAX_KERNEL_SIZE.
_MAX_STARLET_SCALES = int(math.log2((MAX_KERNEL_SIZE - 1) / 4)) + 1

_REQUIRED = object()  # marks a parameter without default


# --------------------------------------------------------------------------------------
# value checks: each returns the JSON form of a valid value or raises naming the parameter
# --------------------------------------------------------------------------------------

def _real(name, *, rule="a finite number", minimum=None, exclusive=False, optional=False):
    def check(value):
        if value is None and optional:
            return None
        if not _is_real(value):
            suffix = " or None" if optional else ""
            raise TypeError(f"`{name}` must be {rule}{suffix}; got {_show(value)} of type {type(value).__name__}")
        number = _to_float(value)
        bad = not math.isfinite(number)
        if minimum is not None:
            bad = bad or (number <= minimum if exclusive else number < minimum)
        if bad:
            raise ValueError(f"`{name}` must be {rule}; got {_show(number if math.isfinite(number) else value)}")
        return number
    return check


def _boolean(name):
    def check(value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be true or false; got {_show(value)} of type {type(value).__name__}")
        return bool(value)
    return check


def _choice(name, choices):
    def check(value):
        if not isinstance(value, str) or value not in choices:
            kind = ValueError if isinstance(value, str) else TypeError
            raise kind(f"`{name}` must be one of {sorted(choices)}; got {_show(value)}")
        return value
    return check


def _pair_json(pair):
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def _pair(name, minimum=1, maximum=None):
    def check(value):
        from ._validation import as_pair

        if isinstance(value, tuple):
            value = list(value)
        return _pair_json(as_pair(value, name, minimum=minimum, maximum=maximum))
    return check


def _rates(name):
    def check(value):
        from ._validation import as_pair

        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
            if _is_int(value):
                value = [value]
            else:
                raise TypeError(f"`{name}` must be a list of positive ints or pairs; got {_show(value)}")
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        if not items:
            raise ValueError(f"`{name}` must contain at least one rate; got []")
        return [_pair_json(as_pair(list(v) if isinstance(v, tuple) else v, f"{name}[{i}]"))
                for i, v in enumerate(items)]
    return check


def _channel_axis(name):
    def check(value):
        if value is None:
            return None
        if not _is_int(value):
            raise TypeError(f"`{name}` must be an int in [-3, 2] or None; got {_show(value)}")
        if not -3 <= int(value) <= 2:
            raise ValueError(f"`{name}` must be an int in [-3, 2] or None; got {_show(value)}")
        return int(value)
    return check


def _json_value(value, name, depth=1):
    """A deep JSON copy of `value` (tuples -> lists, NumPy scalars and arrays -> Python), or raise."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if _is_int(value):
        if math.isinf(_to_float(value)):  # no parameter takes such a number; float() of it would raise
            raise ValueError(f"`{name}` must be a number within the float range (about +-1.8e308); "
                             f"got {_show(value)}")
        return int(value)
    if _is_real(value):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"`{name}` must be finite (JSON has no NaN or infinity, and a number beyond "
                             f"+-1.8e308 reads as infinity); got {value!r}")
        return value
    if isinstance(value, (np.ndarray, list, tuple, dict)) and depth >= MAX_SPEC_DEPTH:
        raise ValueError(f"`{name.partition('[')[0]}` must nest lists and mappings at most {MAX_SPEC_DEPTH} levels "
                         "deep (imgconv.pipeline.MAX_SPEC_DEPTH)")
    if isinstance(value, np.ndarray):
        return _json_value(value.tolist(), name, depth)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{name}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"`{name}` keys must be strings; got {_show(key)}")
            out[key] = _json_value(item, f"{name}[{_show(key)}]", depth + 1)
        return out
    raise TypeError(
        f"`{name}` must be JSON data (numbers, strings, booleans, null, lists, mappings); "
        f"got {_show(value)} of type {type(value).__name__}")


def _any_json(name):
    return lambda value: _json_value(value, name)


def _range_pair(name, *, allow_image=False):
    def check(value):
        if allow_image and value == "image":
            return "image"
        rule = "'image' or a pair [low, high]" if allow_image else "a pair [low, high]"
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 2:
            raise (ValueError if isinstance(value, (list, tuple, str)) else TypeError)(
                f"`{name}` must be {rule} of finite numbers with low < high; got {_show(value)}")
        low, high = (_real(f"{name}[{i}]")(v) for i, v in enumerate(value))
        if not low < high:
            raise ValueError(f"`{name}` must be {rule} of finite numbers with low < high; got {_show(value)}")
        return [low, high]
    return check


# --------------------------------------------------------------------------------------
# step types
# --------------------------------------------------------------------------------------

class _StepType:
    """What a step name means: parameters with defaults and checks, and how to run it.

    ``prepare(params) -> cache`` does cross-parameter checks and builds what the
    step needs (a FilterBank, a weight array); ``run(image, params, cache)``
    filters; ``halo(params, cache)`` and ``stride(params, cache)`` give the
    geometry; ``names(params, cache, in_names)`` the output channel labels.
    """

    def __init__(self, name, run, params=None, *, prepare=None, halo=None, stride=None, names=None,
                 summary="", function=None):
        self.name = name
        self.params = dict(params or {})
        self._run = run
        self._prepare = prepare
        self._halo = halo
        self._stride = stride
        self._names = names
        self.summary = summary
        self.function = function  # user-registered steps: pickled with the step

    def normalise(self, params):
        valid = sorted(self.params)
        unknown = [key for key in params if key not in self.params]
        if unknown:
            key = unknown[0]
            if not isinstance(key, str):
                raise TypeError(f"parameter names must be strings; got {_show(key)}")
            close = difflib.get_close_matches(key, valid, n=1) if len(key) <= 100 else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown parameter {_show(key)}{hint}; valid: {valid}")
        out = {}
        for key, (default, check) in self.params.items():
            if key in params:
                value = params[key]
            elif default is _REQUIRED:
                raise ValueError(f"missing required parameter {key!r}; valid: {valid}")
            else:
                value = default
            out[key] = check(value) if check is not None else _json_value(value, key)
        return out

    def prepare(self, params):
        return self._prepare(params) if self._prepare is not None else None

    def run(self, image, params, cache):
        if self.function is not None:
            return self._run(image, params, cache, function=self.function)
        return self._run(image, params, cache)

    def __reduce__(self):
        # Only registered (user) step types are pickled, with their function, so that worker
        # processes need no registration; built-in types are looked up by name.
        if self.function is None:
            raise TypeError(f"built-in step type {self.name!r} is pickled by name, not by value")
        return (_registered_type, (self.name, self.function, self._halo))

    def halo(self, params, cache):
        if self._halo is None:
            return (0, 0)
        value = self._halo(params, cache) if callable(self._halo) else self._halo
        from ._validation import as_pair

        return as_pair(value, "halo", minimum=0)

    def stride(self, params, cache):
        return self._stride(params, cache) if self._stride is not None else (1, 1)

    def names(self, params, cache, in_names):
        if self._names is None:
            return in_names
        return self._names(params, cache, in_names)


def _float_image(image):
    """float32 (float64 stays float64); integers scaled like skimage.util.img_as_float32."""
    from .io import image_to_float32

    image = np.asarray(image)
    if image.dtype == np.float64:
        return image
    return image_to_float32(image)


# -- dtype / scale steps -----------------------------------------------------------------

def _run_to_float32(image, params, cache):
    from .io import image_to_float32

    return image_to_float32(image)


_LUMA = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray


def _run_to_gray(image, params, cache):
    from .conv import conv2d

    x = _float_image(image)
    if x.ndim == 2:
        return x
    channels = x.shape[2]
    if channels in (1, 2):  # gray, gray + alpha
        return np.ascontiguousarray(x[:, :, 0])
    if channels not in (3, 4):
        raise ValueError(
            f"`to_gray` needs a gray, gray+alpha, RGB or RGBA image (1 to 4 channels last); "
            f"got shape {x.shape}")
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
        image.dtype, copy=False)


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


# -- filter bank ----------------------------------------------------------------------------

_BANK_FACTORIES = ("edges", "gabor", "leung_malik", "mr8", "schmid")


def _bank_factory(name):
    from . import banks

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
    from .banks import FilterBank

    name, kernels = params["name"], params["kernels"]
    if (name is None) == (kernels is None):
        raise ValueError(
            "exactly one of `name` (a standard bank) and `kernels` (inline kernels) must be given; "
            f"got name={_show(name)} and kernels={'None' if kernels is None else '...'}")
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
        bank = FilterBank(kernels, dilations=params["kernel_dilations"])
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
    responses = cache.apply(image, mode=params["mode"], cval=params["cval"], channel_axis=axis,
                            per_channel=params["per_channel"])
    if responses.ndim == 4:  # (H, W, C, F) -> (H, W, C * F), channel-major
        h, w, c, f = responses.shape
        responses = responses.reshape(h, w, c * f)
    return responses


def _bank_halo(params, cache):
    kh, kw = cache.kernel_size
    th = max(d[0] for d in cache.dilations) * (kh - 1)
    tw = max(d[1] for d in cache.dilations) * (kw - 1)
    return (th - th // 2, tw - tw // 2)


def _bank_names(params, cache, in_names):
    if in_names is None or len(in_names) == 1 or not params["per_channel"]:
        return list(cache.names)
    return [f"{c}:{n}" for c in in_names for n in cache.names]


def _bank_params():
    from .banks import MODES

    return {
        "name": (None, lambda v: v if v is None else _choice("name", _BANK_FACTORIES)(v)),
        "kernels": (None, _any_json("kernels")),
        "kernel_dilations": (None, lambda v: None if v is None else _rates("kernel_dilations")(v)),
        "options": ({}, _options_check),
        "dilations": ([1], _rates("dilations")),
        "mode": ("reflect", _choice("mode", MODES)),
        "cval": (0.0, _real("cval")),
        "per_channel": (True, _boolean("per_channel")),
        "channel_axis": (-1, _channel_axis("channel_axis")),
    }


def _options_check(value):
    if not isinstance(value, dict):
        raise TypeError(f"`options` must be a mapping of keyword arguments; got {_show(value)}")
    return _json_value(value, "options")


# -- conv2d -----------------------------------------------------------------------------------

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
        raise ValueError(f"`{name}` must be finite in the compute dtype {dtype} (magnitudes up to "
                         f"{np.finfo(dtype).max:.4g}); got a value of magnitude {largest:.4g}")
    return cast


def _prepare_conv2d(params):
    from ._validation import as_padding

    dtype = np.dtype(params["dtype"])
    weight = _numbers(params["weight"], "weight")
    if weight.ndim not in (2, 4) or weight.size == 0:
        raise ValueError(
            f"`weight` must have shape (kh, kw) or (out_channels, in_channels // groups, kh, kw); "
            f"got shape {weight.shape}")
    if not np.all(np.isfinite(weight)):
        raise ValueError("`weight` must contain only finite values")
    bias = params["bias"]
    if bias is not None:
        bias = _numbers(bias, "bias")
        if weight.ndim == 2:
            raise ValueError("`bias` goes with a 4-D `weight`; a 2-D weight is applied to each channel without bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"`bias` must have one value per output channel ({weight.shape[0]}); got shape {bias.shape}")
    groups = _show(params["groups"])
    if weight.ndim == 2 and params["groups"] != 1:
        raise ValueError(f"`groups` goes with a 4-D `weight`; got groups={groups} with a 2-D weight")
    if weight.ndim == 4 and weight.shape[0] % params["groups"]:
        raise ValueError(f"`weight` out_channels ({weight.shape[0]}) must be divisible by groups={groups}")
    padding = as_padding(params["padding"])
    if padding == "same" and params["stride"] != 1:
        raise ValueError(f"padding='same' is not supported for strided convolutions; got stride={params['stride']}")
    check_dilation(weight.shape[-2:], _pair_tuple(params["dilation"]), "dilation", params["dilation"])
    return {"weight": _in_dtype(weight, dtype, "weight"),
            "bias": None if bias is None else _in_dtype(bias, dtype, "bias"), "dtype": dtype}


def _run_conv2d(image, params, cache):
    from .conv import conv2d

    x = np.asarray(image)
    dtype = cache["dtype"]
    x = _float_image(x).astype(dtype, copy=False)
    chw = x[None] if x.ndim == 2 else np.moveaxis(x, -1, 0)
    weight, groups = cache["weight"], params["groups"]
    if weight.ndim == 2:  # one kernel for every channel: depthwise
        c = chw.shape[0]
        weight = np.ascontiguousarray(np.broadcast_to(weight, (c, 1) + weight.shape))
        groups = c
    y = conv2d(chw, weight, cache["bias"], stride=params["stride"],
               padding=params["padding"] if isinstance(params["padding"], str) else _pad_tuple(params["padding"]),
               dilation=_pair_tuple(params["dilation"]), groups=groups, padding_mode=params["padding_mode"])
    if y.shape[0] == 1:
        return y[0]
    return np.ascontiguousarray(np.moveaxis(y, 0, -1))


def _pair_tuple(value):
    return (value, value) if _is_int(value) else tuple(value)


def _pad_tuple(value):
    return _pair_tuple(value)


def _conv2d_geometry(params, cache):
    from .shape import resolve_pads

    weight = cache["weight"]
    kernel = weight.shape[-2:]
    dilation = _pair_tuple(params["dilation"])
    padding = params["padding"] if isinstance(params["padding"], str) else _pad_tuple(params["padding"])
    top, bottom, left, right = resolve_pads(padding, kernel, dilation)
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
    from ._validation import as_padding

    if isinstance(value, tuple):
        value = list(value)
    padding = as_padding(value)
    if not isinstance(padding, str) and max(padding) > MAX_KERNEL_SIZE:  # an output this much larger is a typo
        raise ValueError(f"`padding` must be at most {MAX_KERNEL_SIZE} per side (imgconv.kernels.MAX_KERNEL_SIZE); "
                         f"got {_show(value)}")
    return padding if isinstance(padding, str) else _pair_json(padding)


def _conv2d_params():
    from .conv import PADDING_MODES

    return {
        "weight": (_REQUIRED, _any_json("weight")),
        "bias": (None, _any_json("bias")),
        "stride": (1, _pair("stride", maximum=MAX_KERNEL_SIZE)),
        "padding": (0, _padding_check),
        "dilation": (1, _pair("dilation")),
        "groups": (1, _positive_int("groups")),
        "padding_mode": ("zeros", _choice("padding_mode", PADDING_MODES)),
        "dtype": ("float32", _choice("dtype", ("float32", "float64"))),
    }


def _positive_int(name, maximum=None):
    def check(value):
        from ._validation import as_int

        return as_int(value, name, minimum=1, maximum=maximum)
    return check


# -- callable --------------------------------------------------------------------------------

def _import_path(function):
    """'module:qualname' if `function` can be imported back by that path, else None."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        return f"{module}:{qualname}" if _resolve(f"{module}:{qualname}") is function else None
    except (ImportError, AttributeError, ValueError):
        return None


def _resolve(path):
    if not isinstance(path, str) or path.count(":") != 1:
        raise ValueError(f"`function` must be 'module:qualified_name'; got {_show(path)}")
    module_name, qualname = path.split(":")
    if not module_name or not qualname:
        raise ValueError(f"`function` must be 'module:qualified_name'; got {_show(path)}")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"`function` {path!r}: cannot import module {module_name!r} ({exc})") from exc
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(f"`function` {path!r}: module {module_name!r} has no attribute {qualname!r}") \
                from None
    if not callable(obj):
        raise TypeError(f"`function` {path!r} is not callable; got {type(obj).__name__}")
    return obj


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


def _describe_function(function):
    if isinstance(function, str):
        return function
    path = _import_path(function)
    if path is not None:
        return path
    module = getattr(function, "__module__", "?")
    return f"{module}:{getattr(function, '__qualname__', type(function).__name__)}"


# -- wavelet ---------------------------------------------------------------------------------

def _starlet_halo(params, cache):
    # c_J reads sum_j 2 * 2**(j-1) = 2 (2**J - 1) pixels on each side (B3 spline radius 2).
    return 2 * (2 ** params["n_scales"] - 1)


def _run_starlet(image, params, cache):
    from .wavelet import starlet

    axis = _apply_channel_axis(image, params["channel_axis"])
    coeffs = starlet(image, params["n_scales"], mode=params["mode"], channel_axis=axis)
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
    from .wavelet import istarlet

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"`istarlet` needs the planes on the last axis, shape (H, W, J + 1); got shape {image.shape}")
    return istarlet(np.moveaxis(image, -1, 0))


def _run_starlet_denoise(image, params, cache):
    from .wavelet import starlet_denoise

    axis = _apply_channel_axis(image, params["channel_axis"])
    kwargs = {k: v for k, v in params.items() if k != "channel_axis"}
    return _channel_axis_last(starlet_denoise(image, channel_axis=axis, **kwargs), image, axis)


def _make_wavelet_types():
    from .filters import MODES

    common = {"mode": ("nearest", _choice("mode", MODES)), "channel_axis": (-1, _channel_axis("channel_axis"))}
    return {
        "starlet": _StepType("starlet", _run_starlet,
                             {"n_scales": (_REQUIRED, _positive_int("n_scales", _MAX_STARLET_SCALES)), **common},
                             halo=_starlet_halo, names=_starlet_names,
                             summary="imgconv.wavelet.starlet, planes on the last axis"),
        "istarlet": _StepType("istarlet", _run_istarlet, names=lambda p, c, n: ["image"],
                              summary="imgconv.wavelet.istarlet of planes on the last axis"),
        "starlet_denoise": _StepType(
            "starlet_denoise", _run_starlet_denoise,
            {"n_scales": (4, _positive_int("n_scales", _MAX_STARLET_SCALES)),
             "k": (3.0, _real("k", rule="a positive number", minimum=0, exclusive=True)),
             "sigma": (None, _real("sigma", rule="a positive number", minimum=0, exclusive=True, optional=True)),
             **common},
            halo=_starlet_halo, summary="imgconv.wavelet.starlet_denoise"),
    }


# -- filters (imgconv.filters) ---------------------------------------------------------------

# Parameters of imgconv.filters functions that the pipeline controls itself, or that
# describe one particular image (a mask) and so have no place in a pipeline.
_FILTER_RESERVED = ("image", "out", "output", "num_threads", "mask")
# Public functions of imgconv.filters that are not steps: apply_bank takes a FilterBank
# object (the "bank" step covers it).
_FILTER_EXCLUDED = ("apply_bank",)


def _filters_module():
    try:
        from . import filters
    except ImportError:
        return None
    return filters


def _filter_functions():
    filters = _filters_module()
    if filters is None:
        return {}
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


# Half-extent of the kernels of the fixed-size filters.
_FIXED_RADIUS = {
    "sobel": 1, "sobel_h": 1, "sobel_v": 1, "scharr": 1, "scharr_h": 1, "scharr_v": 1,
    "prewitt": 1, "prewitt_h": 1, "prewitt_v": 1, "farid": 2, "farid_h": 2, "farid_v": 2,
    "roberts": 1, "roberts_pos_diag": 1, "roberts_neg_diag": 1,
}


def _positive(value):
    """`value` as a positive finite float, or None (malformed: the filter's own check reports it)."""
    if not _is_real(value):
        return None
    number = _to_float(value)
    return number if math.isfinite(number) and number > 0 else None


def _positive_pair(value):
    if isinstance(value, list) and len(value) in (1, 2):
        pair = (_positive(value[0]), _positive(value[-1]))
    else:
        pair = (_positive(value),) * 2
    return None if None in pair else pair


def _filter_radius(name, params):
    """Kernel half-extent ``(rh, rw)`` of a filter at dilation 1 and the parameters that set it.

    The radii are floats (inf) when absurdly large.  None for a filter of unknown
    geometry, or when a parameter is malformed (the filter's dry run names it).
    """
    if name in _FIXED_RADIUS:
        return (_FIXED_RADIUS[name],) * 2, {}
    if name == "laplace":
        ksize = params.get("ksize", 3)
        return ((ksize // 2,) * 2, {}) if _is_int(ksize) and 1 <= ksize <= MAX_KERNEL_SIZE else None
    if name in ("gaussian", "difference_of_gaussians"):
        # scipy's radius int(truncate * sigma + 0.5) per axis; the wider Gaussian of the pair
        if name == "gaussian":
            key, factor = "sigma", 1.0
        elif params.get("high_sigma") is not None:
            key, factor = "high_sigma", 1.0
        else:
            key, factor = "low_sigma", 1.6
        sigma, truncate = _positive_pair(params.get(key, 1.0)), _positive(params.get("truncate", 4.0))
        if sigma is None or truncate is None:
            return None
        radii = tuple(gaussian_radius(factor * s, truncate) for s in sigma)
        return radii, {key: params.get(key, 1.0), "truncate": params.get("truncate", 4.0)}
    if name == "gabor":
        values = {key: params.get(key, default) for key, default in
                  (("frequency", None), ("bandwidth", 1), ("sigma_x", None), ("sigma_y", None), ("n_stds", 3))}
        checked = {key: None if value is None else _positive(value) for key, value in values.items()}
        theta = params.get("theta", 0)
        if checked["frequency"] is None or checked["bandwidth"] is None or checked["n_stds"] is None or any(
                values[k] is not None and checked[k] is None for k in ("sigma_x", "sigma_y")) or not (
                _is_real(theta) and math.isfinite(_to_float(theta))):
            return None
        sx, sy = gabor_sigmas(checked["frequency"], checked["bandwidth"], checked["sigma_x"], checked["sigma_y"])
        named = {k: v for k, v in values.items() if v is not None}
        return gabor_half_size(_to_float(theta), sx, sy, checked["n_stds"]), named
    return None


def _check_filter_size(name, params):
    """Refuse a filter kernel larger than MAX_KERNEL_SIZE, dilated or not, before the dry run builds it."""
    from ._validation import as_pair

    dilation = params.get("dilation", 1)
    rates = as_pair(dilation, "dilation")  # the filters' own check, and message
    found = _filter_radius(name, params)
    if found is None:
        check_dilation((1, 1), rates, "dilation", dilation)  # rates still reach the engine's C ints
        return
    (rh, rw), named = found
    size = (2 * rh + 1, 2 * rw + 1)
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
        from ._validation import as_pair

        found = _filter_radius(name, step_params)
        if found is None:
            return (0, 0)
        (rh, rw), _ = found
        dh, dw = as_pair(step_params.get("dilation", 1), "dilation")
        return (rh * dh, rw * dw)

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
            raise ValueError(f"{names} {'gives' if len(changed) == 1 else 'give'} an arithmetic error in "
                             f"imgconv.filters.{name} ({type(exc).__name__}: {exc}); got {got}") from None

    return _StepType(name, run, params, prepare=prepare, halo=halo, names=names,
                     summary=f"imgconv.filters.{name}")


def _jsonable(value):
    try:
        _json_value(value, "x")
    except (TypeError, ValueError):
        return False
    return True


# -- the registry ---------------------------------------------------------------------------------

def _builtin_types():
    return {
        "to_float32": _StepType("to_float32", _run_to_float32, summary="integers to float32 in [0, 1]"),
        "to_gray": _StepType("to_gray", _run_to_gray, summary="luminance, skimage.color.rgb2gray weights",
                             names=lambda p, c, n: ["gray"]),
        "abs": _StepType("abs", _run_abs, summary="absolute value"),
        "clip": _StepType("clip", _run_clip, {"min": (None, _real("min", optional=True)),
                                              "max": (None, _real("max", optional=True))},
                          prepare=_prepare_clip, summary="clip to [min, max]"),
        "rescale_intensity": _StepType(
            "rescale_intensity", _run_rescale,
            {"in_range": ("image", _range_pair("in_range", allow_image=True)),
             "out_range": ([0.0, 1.0], _range_pair("out_range"))},
            summary="linear map of in_range to out_range"),
        "bank": _StepType("bank", _run_bank, _bank_params(), prepare=_prepare_bank, halo=_bank_halo,
                          names=_bank_names, summary="imgconv.banks.FilterBank responses"),
        "conv2d": _StepType("conv2d", _run_conv2d, _conv2d_params(), prepare=_prepare_conv2d,
                            halo=_conv2d_geometry, stride=_conv2d_stride, names=_conv2d_names,
                            summary="imgconv.conv2d with inline weights"),
        "callable": _StepType("callable", _run_callable, _callable_params(), prepare=_prepare_callable,
                              halo=lambda p, c: p["halo"], names=lambda p, c, n: None,
                              summary="a user function image -> image"),
    }


_BUILTIN = None
_REGISTERED = {}
_FILTER_TYPES = {}
_WAVELET_TYPES = {}


def _builtins():
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = _builtin_types()
    return _BUILTIN


def _wavelet_types():
    if not _WAVELET_TYPES:
        try:
            from . import wavelet  # noqa: F401
        except ImportError:
            return {}
        _WAVELET_TYPES.update(_make_wavelet_types())
    return _WAVELET_TYPES


def _lookup(name):
    if not isinstance(name, str):
        raise TypeError(f"a step name must be a string; got {_show(name)}")
    builtin = _builtins()
    if name in builtin:
        return builtin[name]
    wavelet_types = _wavelet_types()
    if name in wavelet_types:
        return wavelet_types[name]
    if name not in _FILTER_TYPES:
        function = _filter_functions().get(name)
        if function is not None:
            _FILTER_TYPES[name] = _filter_step_type(name, function)
    if name in _FILTER_TYPES:
        return _FILTER_TYPES[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    valid = step_names()
    close = difflib.get_close_matches(name, valid, n=1) if len(name) <= 100 else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown step {_show(name)}{hint}; valid: {valid}")


def step_names():
    """Names of every step a pipeline can use, sorted.

    Returns
    -------
    names : list of str
        Built-in steps, the public filters of :mod:`imgconv.filters`, the
        wavelet transforms and the steps added with :func:`register_step`.
    """
    names = set(_builtins()) | set(_REGISTERED) | set(_wavelet_types()) | set(_filter_functions())
    return sorted(names)


def step_parameters(name):
    """Parameters of a step and their defaults.

    Parameters
    ----------
    name : str
        A step name (see :func:`step_names`).

    Returns
    -------
    params : dict
        Parameter name -> default value; required parameters map to the
        string ``'<required>'``.

    Examples
    --------
    >>> from imgconv.pipeline import step_parameters
    >>> step_parameters("clip")
    {'min': None, 'max': None}
    """
    kind = _lookup(name)
    return {key: ("<required>" if default is _REQUIRED else default) for key, (default, _) in kind.params.items()}


def register_step(name, function, *, halo=0, replace=False):
    """Make a function available as a named pipeline step.

    Parameters
    ----------
    name : str
        The step name, used in specs (``{"step": name, ...}``).  Built-in
        names cannot be reused.
    function : callable
        ``function(image, **params) -> array``.  Its keyword parameters after
        the first become the step's parameters; those with defaults are
        optional, the others required.  Parameter values must be JSON data.
        The function must be importable (defined at module level) for the
        pipeline to be pickled, e.g. by the ``processes`` backend of
        :func:`imgconv.batch.process`.
    halo : int or pair of ints, default 0
        Pixels on each side of an output pixel that the step reads (for
        :attr:`Pipeline.receptive_field`).
    replace : bool, default False
        Allow replacing an earlier registration of `name`.

    Notes
    -----
    A registered step is written to a spec by its name only: another process
    reading the spec must register the same name first.  A pickled step
    carries its function, so worker processes need no registration.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.pipeline import Pipeline, register_step
    >>> def threshold(image, *, level=0.5):
    ...     return (image > level).astype(np.float32)
    >>> register_step("threshold", threshold, replace=True)
    >>> Pipeline([("threshold", {"level": 0.25})])(np.array([[0.0, 0.5]]))
    array([[0., 1.]], dtype=float32)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"`name` must be an identifier-like string; got {_show(name)}")
    if name not in _REGISTERED and name in step_names():
        raise ValueError(f"`name` {name!r} is a built-in step and cannot be replaced")
    if not callable(function):
        raise TypeError(f"`function` must be callable; got {_show(function)}")
    if name in _REGISTERED and not replace:
        raise ValueError(f"`name` {name!r} is already registered; pass replace=True to replace it")
    from ._validation import as_pair

    halo_pair = as_pair(halo, "halo", minimum=0)
    _REGISTERED[name] = _registered_type(name, function, _pair_json(halo_pair))


def _registered_type(name, function, halo):
    """The step type of a registered function (also rebuilds it when a pickled step is loaded)."""
    params = {}
    for i, p in enumerate(inspect.signature(function).parameters.values()):
        if i == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = _REQUIRED if p.default is p.empty else _json_value(p.default, p.name)
        params[p.name] = (default, _any_json(p.name))
    return _StepType(name, _run_registered, params, halo=halo, function=function,
                     summary=f"registered: {_describe_function(function)}")


def _run_registered(image, params, cache, *, function):
    return function(image, **params)


# --------------------------------------------------------------------------------------
# Step
# --------------------------------------------------------------------------------------

class Step:
    """One named, validated step of a :class:`Pipeline`.

    Parameters
    ----------
    name : str
        A step name (see :func:`step_names`).
    **params
        The step's parameters; missing ones take their defaults.

    Attributes
    ----------
    name : str
    params : dict
        Every parameter, defaults included, as JSON data (a user function is
        kept as given).

    Raises
    ------
    ValueError, TypeError
        For an unknown step, an unknown or missing parameter, or a bad value;
        the message names the parameter.

    Examples
    --------
    >>> from imgconv.pipeline import Step
    >>> Step("clip", min=0.0)
    Step('clip', min=0.0)
    """

    __hash__ = None

    def __init__(self, name, /, **params):
        kind = _lookup(name)
        self._init(kind, kind.normalise(params))

    def _init(self, kind, params):
        self._kind = kind
        self._name = kind.name
        self._params = params
        self._cache = kind.prepare(params)

    @property
    def name(self):
        return self._name

    @property
    def params(self):
        return dict(self._params)

    def __call__(self, image):
        return self._kind.run(image, self._params, self._cache)

    @property
    def halo(self):
        """(int, int): pixels read on each side of an output pixel, in this step's input grid."""
        return self._kind.halo(self._params, self._cache)

    @property
    def stride(self):
        """(int, int): input pixels between adjacent outputs (1 except for strided conv2d)."""
        return self._kind.stride(self._params, self._cache)

    def output_names(self, in_names):
        """Labels of the output channels given those of the input (None: unknown)."""
        return self._kind.names(self._params, self._cache, in_names)

    def to_spec(self):
        """The step as a spec mapping (``{"step": name, **params}``).

        Raises
        ------
        ValueError
            For a user function that has no import path (a lambda, a nested
            function, a function of ``__main__``).
        """
        params = dict(self._params)
        if self._name == "callable" and not isinstance(params["function"], str):
            function = params["function"]
            path = _import_path(function)
            if path is None:
                raise ValueError(
                    f"the user function {_describe_function(function)} cannot be written to a spec: only "
                    "functions importable as 'module:qualified_name' (defined at module level of an importable "
                    "module, not in __main__, not a lambda) can; register it with register_step or move it "
                    "to a module")
            params["function"] = path
        return {"step": self._name, **params}

    def _fingerprint_data(self):
        params = dict(self._params)
        if self._name == "callable" and not isinstance(params["function"], str):
            params["function"] = _describe_function(params["function"])
        return {"step": self._name, **params}

    def __getstate__(self):
        user = self._kind.function is not None
        return {"name": self._name, "params": self._params, "kind": self._kind if user else None}

    def __setstate__(self, state):
        kind = state["kind"] if state["kind"] is not None else _lookup(state["name"])
        self._init(kind, state["params"])

    def __eq__(self, other):
        if not isinstance(other, Step):
            return NotImplemented
        return self._name == other._name and self._params == other._params

    def __repr__(self):
        defaults = {key: default for key, (default, _) in self._kind.params.items()}
        shown = []
        for key, value in self._params.items():
            if key in defaults and defaults[key] is not _REQUIRED and value == defaults[key]:
                continue
            if key in ("weight", "bias") and value is not None:
                shown.append(f"{key}=<array of shape {np.asarray(value).shape}>")
            elif key == "kernels" and value is not None:
                shown.append(f"kernels=<{len(value)} kernels>")
            elif key == "function":
                shown.append(f"function={_describe_function(value)!r}")
            else:
                shown.append(f"{key}={_show(value)}")
        inner = ", ".join([repr(self._name)] + shown)
        return f"Step({inner})"


# --------------------------------------------------------------------------------------
# Pipeline
# --------------------------------------------------------------------------------------

def _step_label(index, name=None):
    return f"step {index}" if name is None else f"step {index} ({_show(name)})"


def _coerce_step(item, index, *, allow_callables=True, from_spec=False):
    """A Step from any accepted form, errors prefixed with the step index and name."""
    if isinstance(item, Step):
        return item
    name = None
    try:
        if isinstance(item, str):
            name = item
            return Step(item)
        if isinstance(item, dict):
            if "step" not in item:
                raise ValueError(f"a step mapping needs a 'step' key naming the step; got keys {sorted(map(str, item))}")
            name = item["step"]
            params = {k: v for k, v in item.items() if k != "step"}
            if name == "callable" and not allow_callables:
                raise ValueError(
                    "a spec step that names a Python function imports code; pass allow_callables=True "
                    "(command line: --allow-callables) if you trust this spec")
            return Step(name, **params)
        if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) \
                and isinstance(item[1], dict) and not from_spec:
            name = item[0]
            return Step(item[0], **item[1])
        if from_spec:
            raise TypeError(f"a step must be a mapping with a 'step' key or a step name; got {_show(item)}")
        from .banks import FilterBank
        from .conv import Conv2d

        if isinstance(item, Conv2d):
            name = "conv2d"
            return Step("conv2d", **_conv2d_layer_params(item))
        if isinstance(item, FilterBank):
            name = "bank"
            return Step("bank", kernels={n: k.tolist() for n, k in item.items()},
                        kernel_dilations=[list(d) for d in item.dilations])
        if callable(item):
            name = "callable"
            return Step("callable", function=item)
        raise TypeError(
            "a step must be a Step, a step name, a mapping {'step': name, ...}, a (name, params) pair, "
            f"a Conv2d, a FilterBank or a callable; got {_show(item)} of type {type(item).__name__}")
    except (ValueError, TypeError, ImportError, AttributeError, ArithmeticError) as exc:
        label = _step_label(index, name if isinstance(name, str) else None)
        raise _with_prefix(exc, label) from None


def _with_prefix(exc, label):
    # ArithmeticError (an OverflowError from a value no check foresaw) is a bad value too.
    kind = type(exc) if type(exc) in (ValueError, TypeError) else (
        ValueError if isinstance(exc, (ValueError, ImportError, AttributeError, ArithmeticError)) else TypeError)
    return kind(f"{label}: {exc}")


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


class _NumberOutOfRange(ValueError):
    pass


def _clip_text(text):
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"


def _parse_int(text):
    # Python's int() refuses more than 4300 digits with a message about sys.set_int_max_str_digits;
    # 310 digits are already beyond the float range, which no parameter exceeds.
    if len(text.lstrip("-")) > 309:
        raise _NumberOutOfRange(f"the integer {_clip_text(text)} is beyond the float range (about +-1.8e308)")
    return int(text)


def _parse_float(text):
    value = float(text)
    if math.isinf(value):  # float('1e400') is inf, not an error
        raise _NumberOutOfRange(f"the number {_clip_text(text)} is beyond the float range (about +-1.8e308)")
    return value


def _read_spec_file(path):
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "`spec` must be a JSON or YAML file, not a directory", path)
    with open(path, "rb") as file:
        raw = file.read(MAX_SPEC_BYTES + 1)  # bounded: /dev/zero or a huge file is not read whole
    if len(raw) > MAX_SPEC_BYTES:
        raise ValueError(f"spec {path!r} is larger than {MAX_SPEC_BYTES} bytes (imgconv.pipeline.MAX_SPEC_BYTES); "
                         "a spec is a small JSON or YAML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"spec {path!r} is not UTF-8 text: byte {raw[exc.start]:#04x} at offset {exc.start} "
                         f"({exc.reason}); save it as UTF-8") from None
    text = text.removeprefix("\ufeff")  # the byte-order mark some Windows editors write
    if not text.strip():
        raise ValueError(f"spec {path!r} is empty; a spec is a mapping {{\"version\": 1, \"steps\": [...]}} "
                         "or a list of steps")
    too_deep = f"spec {path!r} nests lists and mappings too deeply (at most {MAX_SPEC_DEPTH} levels)"
    if extension in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(f"reading the YAML spec {path!r} needs PyYAML (pip install pyyaml); "
                              "or write the spec as JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"spec {path!r} is not valid YAML: {exc}") from None
        except RecursionError:
            raise ValueError(too_deep) from None
        except ValueError as exc:  # PyYAML's int(): more than 4300 digits
            raise ValueError(f"spec {path!r} is not valid YAML: {exc}") from None
        if data is None:
            raise ValueError(f"spec {path!r} holds no data (only comments or an empty document)")
        return data
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        raise ValueError(f"spec {path!r} is not valid JSON: {exc}") from None
    except _NumberOutOfRange as exc:
        raise ValueError(f"spec {path!r}: {exc}") from None
    except RecursionError:  # the C decoder's own depth limit, for [[[[...
        raise ValueError(too_deep) from None


def _spec_children(value):
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else None


def _check_spec_shape(data, where):
    """Refuse data nested deeper than MAX_SPEC_DEPTH or holding over MAX_SPEC_VALUES values.

    Iterative, so that neither a deep nesting nor a cycle (a list holding itself) can
    raise a RecursionError later.  A container met several times (a YAML alias, a
    list a Python spec reuses) is measured once but counted every time, as the copy
    the steps make will be: a 400-byte YAML file of nested aliases expands to 10**8
    values, and is refused in a few microseconds.
    """
    measured = {}  # id(container) -> (values, depth) once its children are measured
    open_ids = set()  # containers on the current path: meeting one again is a cycle
    alive = []  # the measured containers, kept so that their ids stay theirs
    stack = [(data, None)]
    while stack:
        value, children = stack.pop()
        if children is None:  # first visit
            children = _spec_children(value)
            if children is None or id(value) in measured:
                continue
            if id(value) in open_ids:
                raise ValueError(f"{where} nests lists and mappings more than {MAX_SPEC_DEPTH} levels deep "
                                 "(imgconv.pipeline.MAX_SPEC_DEPTH): a list or mapping contains itself")
            open_ids.add(id(value))
            stack.append((value, children))
            stack.extend((child, None) for child in children if isinstance(child, (dict, list, tuple)))
            continue
        values, depth = 1, 1
        for child in children:
            child_values, child_depth = measured.get(id(child), (1, 1)) if isinstance(
                child, (dict, list, tuple)) else (1, 1)
            values, depth = values + child_values, max(depth, child_depth + 1)
        if depth > MAX_SPEC_DEPTH:
            raise ValueError(f"{where} nests lists and mappings more than {MAX_SPEC_DEPTH} levels deep "
                             "(imgconv.pipeline.MAX_SPEC_DEPTH)")
        if values > MAX_SPEC_VALUES:
            raise ValueError(f"{where} holds more than {MAX_SPEC_VALUES} values (imgconv.pipeline.MAX_SPEC_VALUES)")
        measured[id(value)] = (values, depth)
        open_ids.discard(id(value))
        alive.append(value)


def _canonical_numbers(value):
    """`value` with every int-valued float below 2**53 as an int (2.0 -> 2), tuples as lists.

    Below 2**53 a float holds each int exactly, so the map is one to one.  Bools stay
    bools: ``True == 1`` in Python, but a flag and a count are different settings.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_canonical_numbers(v) for v in value]
    if isinstance(value, dict):
        return {key: _canonical_numbers(v) for key, v in value.items()}
    return value


def _canonical_json(data):
    return json.dumps(_canonical_numbers(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


class Pipeline:
    """An ordered list of image-filtering steps, applied by calling the pipeline.

    Parameters
    ----------
    steps : sequence, optional
        The steps, in order.  Each is a :class:`Step`, a step name, a mapping
        ``{"step": name, **params}``, a pair ``(name, params)``, an
        :class:`imgconv.Conv2d` layer, an :class:`imgconv.banks.FilterBank`
        or a user function ``image -> array`` (see the module notes).  Default:
        no steps (the identity).

    Attributes
    ----------
    steps : tuple of Step

    Raises
    ------
    ValueError, TypeError
        For a bad step; the message starts with the step index and name,
        e.g. ``step 2 ('gaussian'): unknown parameter 'sigmaa' (did you mean
        'sigma'?); valid: [...]``.

    See Also
    --------
    imgconv.batch.process : Apply a pipeline to folders of images.

    Notes
    -----
    Images flow as ``(H, W)`` or ``(H, W, C)`` arrays, channels last.  A
    pipeline is picklable when its user functions are (module-level
    functions); built-in steps always are.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.pipeline import Pipeline
    >>> pipe = Pipeline(["to_gray", {"step": "bank", "name": "edges", "dilations": [1, 2]}, "abs"])
    >>> pipe
    Pipeline([Step('to_gray'), Step('bank', name='edges', dilations=(1, 2)), Step('abs')])
    >>> pipe(np.zeros((16, 16, 3), np.uint8)).shape
    (16, 16, 12)
    >>> pipe.receptive_field
    (2, 2)
    """

    __hash__ = None

    def __init__(self, steps=None):
        if steps is None:
            steps = []
        if isinstance(steps, (str, bytes, dict)) or not hasattr(steps, "__iter__"):
            raise TypeError(f"`steps` must be a sequence of steps; got {_show(steps)} "
                            "(use Pipeline.from_spec for a spec mapping or file)")
        self._steps = [_coerce_step(item, i) for i, item in enumerate(steps)]

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def default(cls):
        """The documented default pipeline (:data:`DEFAULT_PIPELINE`)."""
        return cls.from_spec(DEFAULT_PIPELINE)

    @classmethod
    def from_spec(cls, spec, *, allow_callables=False):
        """Build a pipeline from a spec mapping, a list of steps, or a JSON / YAML file.

        Parameters
        ----------
        spec : dict, list, str or os.PathLike
            ``{"version": 1, "steps": [...]}``, the list of steps alone, or the
            path of a ``.json`` file (``.yaml`` / ``.yml`` with PyYAML).
        allow_callables : bool, default False
            Accept ``callable`` steps, which import the modules they name.

        Returns
        -------
        pipeline : Pipeline

        Raises
        ------
        ValueError, TypeError
            For a malformed spec, naming the step index, the step name and the
            offending key (``step 2 ('gaussian'): unknown parameter 'sigmaa';
            valid: [...]``); for a file that is not UTF-8 JSON / YAML, is
            empty, or exceeds the limits of the module notes (size, nesting,
            numbers, kernel sizes).
        ImportError
            For a YAML file without PyYAML.
        OSError
            If the file cannot be read (IsADirectoryError for a directory).
        """
        if isinstance(spec, (str, os.PathLike)):
            data = _read_spec_file(spec)
            where = f"spec {os.fspath(spec)!r}"
        else:
            data, where = spec, "spec"
        _check_spec_shape(data, where)
        if isinstance(data, list):
            steps = data
        elif isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in ("version", "steps"))
            if unknown:
                raise ValueError(f"{where}: unknown key {unknown[0]!r}; valid: ['steps', 'version']")
            if "steps" not in data:
                raise ValueError(f"{where}: missing key 'steps' (the list of steps)")
            version = data.get("version", SPEC_VERSION)
            if isinstance(version, bool) or version != SPEC_VERSION:
                raise ValueError(f"{where}: unsupported 'version' {_show(version)}; this imgconv reads version "
                                 f"{SPEC_VERSION}")
            steps = data["steps"]
            if not isinstance(steps, list):
                raise TypeError(f"{where}: 'steps' must be a list; got {_show(steps)}")
        else:
            raise TypeError(f"`spec` must be a mapping, a list of steps or the path of a JSON/YAML file; "
                            f"got {_show(data)} of type {type(data).__name__}")
        pipeline = cls.__new__(cls)
        pipeline._steps = [_coerce_step(item, i, allow_callables=allow_callables, from_spec=True)
                           for i, item in enumerate(steps)]
        return pipeline

    @classmethod
    def coerce(cls, pipeline, *, allow_callables=False):
        """A Pipeline from a Pipeline (returned as is), a spec, a spec file, or None (the default)."""
        if pipeline is None:
            return cls.default()
        if isinstance(pipeline, Pipeline):
            return pipeline
        if isinstance(pipeline, (dict, str, os.PathLike)):
            return cls.from_spec(pipeline, allow_callables=allow_callables)
        if isinstance(pipeline, (list, tuple)):
            return cls(pipeline)
        raise TypeError(f"`pipeline` must be a Pipeline, a spec mapping, a spec file path or None; "
                        f"got {_show(pipeline)} of type {type(pipeline).__name__}")

    def append(self, step, **params):
        """Add a step at the end and return the pipeline (for chaining).

        ``pipe.append("gaussian", sigma=2)`` is ``pipe.append({"step": "gaussian", "sigma": 2})``.
        """
        if params:
            if not isinstance(step, str):
                raise TypeError(f"keyword parameters go with a step name; got {_show(step)}")
            step = {"step": step, **params}
        self._steps.append(_coerce_step(step, len(self._steps)))
        return self

    # -- serialisation ----------------------------------------------------------------------

    def to_spec(self, path=None):
        """The pipeline as a spec mapping, optionally written to a file.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Write the spec there: JSON (indent 2), or YAML for ``.yaml`` /
            ``.yml`` (needs PyYAML).

        Returns
        -------
        spec : dict
            ``{"version": 1, "steps": [...]}`` with every parameter written
            out, defaults included; ``Pipeline.from_spec(spec) == self``.

        Raises
        ------
        ValueError
            If a step holds a user function without an import path (the
            message names the step).
        """
        steps = []
        for index, step in enumerate(self._steps):
            try:
                steps.append(step.to_spec())
            except ValueError as exc:
                raise ValueError(f"{_step_label(index, step.name)}: {exc}") from None
        spec = {"version": SPEC_VERSION, "steps": steps}
        if path is not None:
            path = os.fspath(path)
            if os.path.splitext(path)[1].lower() in (".yaml", ".yml"):
                try:
                    import yaml
                except ImportError:
                    raise ImportError(f"writing the YAML spec {path!r} needs PyYAML (pip install pyyaml); "
                                      "or write the spec as JSON") from None
                text = yaml.safe_dump(spec, sort_keys=False)
            else:
                text = json.dumps(spec, indent=2) + "\n"
            # imgconv._output owns every write: atomic, never through a link
            _output.write_atomic(path, lambda file: file.write(text.encode("utf-8")), what="`path`")
        return spec

    def fingerprint(self):
        """A stable hex digest of what the pipeline computes.

        Returns
        -------
        digest : str
            SHA-256 (64 hex digits) of the canonical JSON (keys sorted at every
            level, no spaces) of ``{"imgconv": version, "pipeline": spec}``.
            Numbers count by value: an int-valued float below 2**53 is written
            as an int, so ``sigma=2`` and ``sigma=2.0`` (or ``[1.0, 2]`` and
            ``(1, 2)``) give one fingerprint; booleans stay distinct from 0 and
            1 (``True == 1`` in Python, but a flag is not a count).  User
            functions count by their ``module:qualified_name`` (their code is
            not hashed).  Recorded by :func:`imgconv.batch.process` in its
            manifest, to resume only work done by the same pipeline.
        """
        from . import __version__

        data = {"imgconv": __version__,
                "pipeline": {"version": SPEC_VERSION, "steps": [s._fingerprint_data() for s in self._steps]}}
        return hashlib.sha256(_canonical_json(data).encode("ascii")).hexdigest()

    def __getstate__(self):
        return {"steps": self._steps}

    def __setstate__(self, state):
        self._steps = list(state["steps"])

    # -- geometry -------------------------------------------------------------------------------

    @property
    def receptive_field(self):
        """(int, int): the halo, pixels on each side of an output pixel that can influence it.

        The sum over steps of each step's half-extent ``(h, w)`` (for a kernel of
        size ``k`` at dilation ``d``: ``d (k - 1) - d (k - 1) // 2``), each scaled
        by the product of the strides of the steps before it.  A tile extended
        by this halo on every side gives exact results in its interior.
        """
        total, jump = [0, 0], [1, 1]
        for step in self._steps:
            halo, stride = step.halo, step.stride
            for axis in (0, 1):
                total[axis] += halo[axis] * jump[axis]
                jump[axis] *= stride[axis]
        return (total[0], total[1])

    def channel_names(self, in_channels=1):
        """Labels of the output channels for an input with `in_channels` channels, or None if unknown."""
        names = [""] if in_channels == 1 else [f"c{c}" for c in range(in_channels)]
        for step in self._steps:
            names = step.output_names(names)
            if names is None:
                return None
        return names

    # -- application ----------------------------------------------------------------------------

    def __call__(self, image, *, num_threads=None):
        """Apply the steps in order.

        Parameters
        ----------
        image : ndarray, shape (H, W) or (H, W, C)
            bool, integer or float image, channels last.
        num_threads : int, optional
            Threads for every engine call of this application (through
            :func:`imgconv.num_threads`, which is per Python thread).

        Returns
        -------
        result : ndarray, shape (H', W') or (H', W', K)

        Raises
        ------
        TypeError, ValueError
            For a bad image, or from a step (the exception carries a note
            naming the step).
        """
        x = image if isinstance(image, np.ndarray) else np.asarray(image)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"`image` must be a bool, integer or float array; got dtype {x.dtype}")
        if x.ndim not in (2, 3):
            raise ValueError(f"`image` must have shape (H, W) or (H, W, C); got shape {x.shape}")
        if num_threads is None:
            context = contextlib.nullcontext()
        else:
            from ._threads import num_threads as threads_context

            context = threads_context(num_threads)
        with context:
            for index, step in enumerate(self._steps):
                try:
                    y = step(x)
                    y = y if isinstance(y, np.ndarray) else np.asarray(y)
                    if y.dtype.kind not in "biuf" or y.ndim not in (2, 3):
                        raise ValueError(
                            f"returned an array of dtype {y.dtype} and shape {y.shape}; a step must "
                            "return a bool, integer or float array of shape (H, W) or (H, W, C)")
                except Exception as exc:
                    note = f"in {_step_label(index, step.name)} of the pipeline"
                    if isinstance(exc, ValueError) and str(exc).startswith("returned an array"):
                        raise ValueError(f"{_step_label(index, step.name)} {exc}") from None
                    if hasattr(exc, "add_note"):
                        exc.add_note(note)
                    raise
                x = y
        return x

    # -- container protocol ------------------------------------------------------------------

    @property
    def steps(self):
        return tuple(self._steps)

    def __len__(self):
        return len(self._steps)

    def __iter__(self):
        return iter(self._steps)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Pipeline(self._steps[index])
        return self._steps[index]

    def __eq__(self, other):
        if not isinstance(other, Pipeline):
            return NotImplemented
        return self._steps == other._steps

    def __repr__(self):
        return f"Pipeline([{', '.join(repr(s) for s in self._steps)}])"

    def describe(self):
        """A multi-line, human-readable summary: one line per step, then the halo."""
        lines = []
        for index, step in enumerate(self._steps):
            lines.append(f"{index}: {step!r}"[:200])
        if not lines:
            lines.append("(no steps: identity)")
        lines.append(f"receptive field (halo per side, (h, w)): {self.receptive_field}")
        return "\n".join(lines)
