"""The registry of step names: built-in steps, wavelets, filters and registered functions."""

import difflib
from collections.abc import Callable
from typing import Any

from .._typing import IntPair
from .._validation import as_pair
from .._validation import show as _show
from ._feature_steps import _feature_step_types
from ._filter_steps import _filter_functions, _filter_step_type
from ._params import _REQUIRED, _pair_json
from ._step_type import _registered_type, _StepType
from ._steps import _builtin_types, _make_wavelet_types

_BUILTIN: dict[str, _StepType] | None = None
_REGISTERED: dict[str, _StepType] = {}
_FILTER_TYPES: dict[str, _StepType] = {}
_WAVELET_TYPES: dict[str, _StepType] = {}


def _builtins():
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = {**_builtin_types(), **_feature_step_types()}
    return _BUILTIN


def _wavelet_types():
    if not _WAVELET_TYPES:
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


def step_names() -> list[str]:
    """Names of every step a pipeline can use, sorted.

    Returns
    -------
    names : list of str
        Built-in steps, the public filters of :mod:`imgconv.filters`, the
        wavelet transforms and the steps added with :func:`register_step`.
    """
    names = set(_builtins()) | set(_REGISTERED) | set(_wavelet_types()) | set(_filter_functions())
    return sorted(names)


def step_parameters(name: str) -> dict[str, Any]:
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


def register_step(name: str, function: Callable[..., Any], *, halo: IntPair = 0, replace: bool = False) -> None:
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
        :attr:`Pipeline.halo`).
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
    halo_pair = as_pair(halo, "halo", minimum=0)
    _REGISTERED[name] = _registered_type(name, function, _pair_json(halo_pair))
