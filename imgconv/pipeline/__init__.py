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
* asked for its halo (:attr:`Pipeline.halo`, for tiling).

All convolution arithmetic happens in imgconv's engine, through the public
layers (:mod:`imgconv.filters`, :class:`imgconv.banks.FilterBank`,
:func:`imgconv.conv2d`, :mod:`imgconv.wavelet`).

Where things are
----------------
:class:`Step` and :class:`Pipeline` live here; the rest in private modules:
``_params.py`` (checks of parameter values, spec limits, function references),
``_step_type.py`` (what a step name means: parameters, run, halo, stride),
``_steps.py`` (the built-in steps), ``_filter_steps.py`` (the functions of
:mod:`imgconv.filters` as steps), ``_registry.py`` (step names, lookup,
:func:`register_step`), ``_spec.py`` (reading and writing spec files).  A new
built-in step goes into ``_steps.py`` and its table ``_builtin_types``; its halo
comes from :mod:`imgconv._shared.geometry`, the pads its filter uses.

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
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Self, SupportsIndex, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from .. import __version__
from .._threads import num_threads as threads_context
from .._typing import Bool, StrPath
from .._validation import show as _show
from ..banks import FilterBank
from ..conv import Conv2d
from ._params import _REQUIRED, MAX_SPEC_BYTES, MAX_SPEC_DEPTH, MAX_SPEC_VALUES, _describe_function, _import_path
from ._registry import _lookup, register_step, step_names, step_parameters
from ._spec import _canonical_json, _check_spec_shape, _read_spec_file, _write_spec_file
from ._step_type import _registered_type  # noqa: F401  (pickles of registered steps made before the split)
from ._steps import _conv2d_layer_params

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

    __hash__ = None  # type: ignore[assignment]  # unhashable (compared by value)

    def __init__(self, name: str, /, **params: Any) -> None:
        kind = _lookup(name)
        self._init(kind, kind.normalise(params))

    def _init(self, kind, params):
        self._kind = kind
        self._name = kind.name
        self._params = params
        self._cache = kind.prepare(params)

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def __call__(self, image: npt.ArrayLike) -> Any:
        return self._kind.run(image, self._params, self._cache)

    @property
    def halo(self) -> tuple[int, int]:
        """(int, int): pixels read on each side of an output pixel, in this step's input grid."""
        return self._kind.halo(self._params, self._cache)

    @property
    def stride(self) -> tuple[int, int]:
        """(int, int): input pixels between adjacent outputs (1 except for strided conv2d)."""
        return self._kind.stride(self._params, self._cache)

    @property
    def whole_image(self) -> str | None:
        """str or None: why an output pixel depends on the whole image, or None when :attr:`halo` bounds it.

        ``rescale_intensity`` with ``in_range='image'`` and ``starlet_denoise``
        with ``sigma=None`` read a statistic of the whole image: no halo makes
        tiles of them exact, and :func:`imgconv.dask.apply` refuses to tile them.
        """
        return self._kind.whole_image(self._params)

    @property
    def prepared(self) -> Any:
        """What the step built once from its parameters, or None: the FilterBank of a 'bank' step."""
        return self._cache

    @property
    def user_function(self) -> Callable[..., Any] | str | None:
        """The user's function this step runs ('callable' and registered steps), or None for imgconv's own."""
        if self._name == "callable":
            return self._params["function"]
        return self._kind.function

    def output_names(self, in_names: Sequence[str] | None) -> list[str] | None:
        """Labels of the output channels given those of the input (None: unknown)."""
        return self._kind.names(self._params, self._cache, in_names)

    def to_spec(self) -> dict[str, Any]:
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
                    "to a module"
                )
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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self._name == other._name and self._params == other._params

    def __repr__(self) -> str:
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


#: What a pipeline takes as a step: a Step, a step name, a mapping ``{'step': name, ...}``, a
#: ``(name, params)`` pair, a Conv2d, a FilterBank or a callable (``_coerce_step``).
StepLike: TypeAlias = Step | str | dict[str, Any] | Sequence[Any] | Conv2d | FilterBank | Callable[..., Any]


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
                raise ValueError(
                    f"a step mapping needs a 'step' key naming the step; got keys {sorted(map(str, item))}"
                )
            name = item["step"]
            params = {k: v for k, v in item.items() if k != "step"}
            if name == "callable" and not allow_callables:
                raise ValueError(
                    "a spec step that names a Python function imports code; pass allow_callables=True "
                    "(command line: --allow-callables) if you trust this spec"
                )
            return Step(name, **params)
        if (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], dict)
            and not from_spec
        ):
            name = item[0]
            return Step(item[0], **item[1])
        if from_spec:
            raise TypeError(f"a step must be a mapping with a 'step' key or a step name; got {_show(item)}")
        if isinstance(item, Conv2d):
            name = "conv2d"
            return Step("conv2d", **_conv2d_layer_params(item))
        if isinstance(item, FilterBank):
            name = "bank"
            return Step(
                "bank",
                kernels={n: k.tolist() for n, k in item.items()},
                kernel_dilations=[list(d) for d in item.dilations],
            )
        if callable(item):
            name = "callable"
            return Step("callable", function=item)
        raise TypeError(
            "a step must be a Step, a step name, a mapping {'step': name, ...}, a (name, params) pair, "
            f"a Conv2d, a FilterBank or a callable; got {_show(item)} of type {type(item).__name__}"
        )
    except (ValueError, TypeError, ImportError, AttributeError, ArithmeticError) as exc:
        label = _step_label(index, name if isinstance(name, str) else None)
        raise _with_prefix(exc, label) from None


def _with_prefix(exc, label):
    # ArithmeticError (an OverflowError from a value no check foresaw) is a bad value too.
    kind = (
        type(exc)
        if type(exc) in (ValueError, TypeError)
        else (ValueError if isinstance(exc, (ValueError, ImportError, AttributeError, ArithmeticError)) else TypeError)
    )
    return kind(f"{label}: {exc}")


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
    >>> pipe.halo
    (2, 2)
    """

    __hash__ = None  # type: ignore[assignment]  # unhashable (compared by value)

    def __init__(self, steps: Iterable[StepLike] | None = None) -> None:
        if steps is None:
            steps = []
        if isinstance(steps, (str, bytes, dict)) or not hasattr(steps, "__iter__"):
            raise TypeError(
                f"`steps` must be a sequence of steps; got {_show(steps)} "
                "(use Pipeline.from_spec for a spec mapping or file)"
            )
        self._steps = [_coerce_step(item, i) for i, item in enumerate(steps)]

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def default(cls) -> "Pipeline":
        """The documented default pipeline (:data:`DEFAULT_PIPELINE`)."""
        return cls.from_spec(DEFAULT_PIPELINE)

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | list[Any] | StrPath, *, allow_callables: Bool = False) -> "Pipeline":
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
                raise ValueError(
                    f"{where}: unsupported 'version' {_show(version)}; this imgconv reads version {SPEC_VERSION}"
                )
            steps = data["steps"]
            if not isinstance(steps, list):
                raise TypeError(f"{where}: 'steps' must be a list; got {_show(steps)}")
        else:
            raise TypeError(
                f"`spec` must be a mapping, a list of steps or the path of a JSON/YAML file; "
                f"got {_show(data)} of type {type(data).__name__}"
            )
        pipeline = cls.__new__(cls)
        pipeline._steps = [
            _coerce_step(item, i, allow_callables=allow_callables, from_spec=True) for i, item in enumerate(steps)
        ]
        return pipeline

    @classmethod
    def coerce(cls, pipeline: "PipelineLike", *, allow_callables: Bool = False) -> "Pipeline":
        """A Pipeline from a Pipeline (returned as is), a spec, a spec file, or None (the default)."""
        if pipeline is None:
            return cls.default()
        if isinstance(pipeline, Pipeline):
            return pipeline
        if isinstance(pipeline, (dict, str, os.PathLike)):
            return cls.from_spec(pipeline, allow_callables=allow_callables)
        if isinstance(pipeline, (list, tuple)):
            return cls(pipeline)
        raise TypeError(
            f"`pipeline` must be a Pipeline, a spec mapping, a spec file path or None; "
            f"got {_show(pipeline)} of type {type(pipeline).__name__}"
        )

    def append(self, step: StepLike, **params: Any) -> Self:
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

    def to_spec(self, path: StrPath | None = None) -> dict[str, Any]:
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
            _write_spec_file(path, spec)
        return spec

    def fingerprint(self) -> str:
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
        data = {
            "imgconv": __version__,
            "pipeline": {"version": SPEC_VERSION, "steps": [s._fingerprint_data() for s in self._steps]},
        }
        return hashlib.sha256(_canonical_json(data).encode("ascii")).hexdigest()

    def __getstate__(self):
        return {"steps": self._steps}

    def __setstate__(self, state):
        self._steps = list(state["steps"])

    # -- geometry -------------------------------------------------------------------------------

    @property
    def halo(self) -> tuple[int, int]:
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

    @property
    def whole_image(self) -> str | None:
        """str or None: why the output depends on the whole image (the first such step), or None.

        See :attr:`Step.whole_image`; :func:`imgconv.dask.apply` refuses to tile
        a pipeline for which this is not None.
        """
        for index, step in enumerate(self._steps):
            reason = step.whole_image
            if reason is not None:
                return f"{_step_label(index, step.name)}: {reason}"
        return None

    @property
    def receptive_field(self) -> tuple[int, int]:
        """Deprecated alias of :attr:`halo` (a pair of ints), kept for 0.1 code; it warns.

        :func:`imgconv.receptive_field` and :attr:`imgconv.Conv2d.receptive_field`
        describe a :class:`imgconv.ReceptiveField` (extent, jump, start); the
        pipeline's pair is a halo, hence the new name.
        """
        warnings.warn(
            "Pipeline.receptive_field is deprecated and will be removed in imgconv 0.3; use Pipeline.halo "
            "(the same (rows, cols) pair)",
            FutureWarning,
            stacklevel=2,
        )
        return self.halo

    def channel_names(self, in_channels: int = 1) -> list[str] | None:
        """Labels of the output channels for an input with `in_channels` channels, or None if unknown."""
        names = [""] if in_channels == 1 else [f"c{c}" for c in range(in_channels)]
        for step in self._steps:
            names = step.output_names(names)
            if names is None:
                return None
        return names

    # -- application ----------------------------------------------------------------------------

    def __call__(self, image: npt.ArrayLike, *, num_threads: SupportsIndex | None = None) -> np.ndarray:
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
            context = threads_context(num_threads)
        with context:
            for index, step in enumerate(self._steps):
                try:
                    y = step(x)
                    y = y if isinstance(y, np.ndarray) else np.asarray(y)
                    if y.dtype.kind not in "biuf" or y.ndim not in (2, 3):
                        raise ValueError(
                            f"returned an array of dtype {y.dtype} and shape {y.shape}; a step must "
                            "return a bool, integer or float array of shape (H, W) or (H, W, C)"
                        )
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
    def steps(self) -> tuple[Step, ...]:
        return tuple(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Step: ...
    @overload
    def __getitem__(self, index: slice) -> "Pipeline": ...
    def __getitem__(self, index: SupportsIndex | slice) -> "Step | Pipeline":
        if isinstance(index, slice):
            return Pipeline(self._steps[index])
        return self._steps[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return self._steps == other._steps

    def __repr__(self) -> str:
        return f"Pipeline([{', '.join(repr(s) for s in self._steps)}])"

    def describe(self) -> str:
        """A multi-line, human-readable summary: one line per step, then the halo."""
        lines = []
        for index, step in enumerate(self._steps):
            lines.append(f"{index}: {step!r}"[:200])
        if not lines:
            lines.append("(no steps: identity)")
        lines.append(f"receptive field (halo per side, (h, w)): {self.halo}")
        return "\n".join(lines)


#: What :meth:`Pipeline.coerce` (and so :func:`imgconv.batch.process`) takes: a Pipeline, a spec mapping,
#: a list of steps, a spec file path, or None (the default pipeline).
PipelineLike: TypeAlias = Pipeline | dict[str, Any] | list[Any] | tuple[Any, ...] | StrPath | None
