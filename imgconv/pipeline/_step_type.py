"""Step types: what a step name means (parameters, checks, how to run it, its geometry)."""

import difflib
import inspect

from .._validation import as_pair
from .._validation import show as _show
from ._params import _REQUIRED, _any_json, _describe_function, _json_value


class _StepType:
    """What a step name means: parameters with defaults and checks, and how to run it.

    ``prepare(params) -> cache`` does cross-parameter checks and builds what the
    step needs (a FilterBank, a weight array); ``run(image, params, cache)``
    filters; ``halo(params, cache)`` and ``stride(params, cache)`` give the
    geometry; ``names(params, cache, in_names)`` the output channel labels.
    ``whole_image(params) -> str or None`` says why an output pixel depends on
    the whole image (a statistic of it), so that no halo makes tiles exact.
    """

    def __init__(
        self,
        name,
        run,
        params=None,
        *,
        prepare=None,
        halo=None,
        stride=None,
        names=None,
        whole_image=None,
        summary="",
        function=None,
    ):
        self.name = name
        self.params = dict(params or {})
        self._run = run
        self._prepare = prepare
        self._halo = halo
        self._stride = stride
        self._names = names
        self._whole_image = whole_image
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
        return as_pair(value, "halo", minimum=0)

    def whole_image(self, params):
        return self._whole_image(params) if self._whole_image is not None else None

    def stride(self, params, cache):
        return self._stride(params, cache) if self._stride is not None else (1, 1)

    def names(self, params, cache, in_names):
        if self._names is None:
            return in_names
        return self._names(params, cache, in_names)


def _registered_type(name, function, halo):
    """The step type of a registered function (also rebuilds it when a pickled step is loaded)."""
    params = {}
    for i, p in enumerate(inspect.signature(function).parameters.values()):
        if i == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = _REQUIRED if p.default is p.empty else _json_value(p.default, p.name)
        params[p.name] = (default, _any_json(p.name))
    return _StepType(
        name,
        _run_registered,
        params,
        halo=halo,
        function=function,
        summary=f"registered: {_describe_function(function)}",
    )


def _run_registered(image, params, cache, *, function):
    return function(image, **params)
