"""Parameter values of pipeline steps: JSON value checks, function references, spec limits.

Each check takes a value from Python or from a spec and returns its JSON form
(tuples as lists, NumPy scalars as Python numbers, a pair of equal values as
one value) or raises a ValueError / TypeError that names the parameter.
"""

import importlib
import math

import numpy as np

from .._validation import as_int, as_pair
from .._validation import is_int as _is_int
from .._validation import is_real as _is_real
from .._validation import show as _show
from .._validation import to_float as _to_float

#: Largest spec file read, in bytes.  Specs are small: even the inline weights of a
#: 256 x 256 x 3 x 3 conv2d step are about 12 MB of JSON.
MAX_SPEC_BYTES = 64 * 2**20

#: Deepest nesting of lists and mappings in a spec (a conv2d weight sits 7 levels down).
MAX_SPEC_DEPTH = 32

#: Most values (numbers, strings, lists, mappings, ...) in a spec, a list shared by YAML
#: aliases counted at every use (the steps copy it there).  The weights of a
#: 512 x 512 x 3 x 3 conv2d step are 2.4 million numbers.
MAX_SPEC_VALUES = 2**22

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
        if isinstance(value, tuple):
            value = list(value)
        return _pair_json(as_pair(value, name, minimum=minimum, maximum=maximum))

    return check


def _rates(name):
    def check(value):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
            if _is_int(value):
                value = [value]
            else:
                raise TypeError(f"`{name}` must be a list of positive ints or pairs; got {_show(value)}")
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        if not items:
            raise ValueError(f"`{name}` must contain at least one rate; got []")
        return [
            _pair_json(as_pair(list(v) if isinstance(v, tuple) else v, f"{name}[{i}]")) for i, v in enumerate(items)
        ]

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
            raise ValueError(f"`{name}` must be a number within the float range (about +-1.8e308); got {_show(value)}")
        return int(value)
    if _is_real(value):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(
                f"`{name}` must be finite (JSON has no NaN or infinity, and a number beyond "
                f"+-1.8e308 reads as infinity); got {value!r}"
            )
        return value
    if isinstance(value, (np.ndarray, list, tuple, dict)) and depth >= MAX_SPEC_DEPTH:
        raise ValueError(
            f"`{name.partition('[')[0]}` must nest lists and mappings at most {MAX_SPEC_DEPTH} levels "
            "deep (imgconv.pipeline.MAX_SPEC_DEPTH)"
        )
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
        f"got {_show(value)} of type {type(value).__name__}"
    )


def _any_json(name):
    return lambda value: _json_value(value, name)


def _range_pair(name, *, allow_image=False):
    def check(value):
        if allow_image and value == "image":
            return "image"
        rule = "'image' or a pair [low, high]" if allow_image else "a pair [low, high]"
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 2:
            raise (ValueError if isinstance(value, (list, tuple, str)) else TypeError)(
                f"`{name}` must be {rule} of finite numbers with low < high; got {_show(value)}"
            )
        low, high = (_real(f"{name}[{i}]")(v) for i, v in enumerate(value))
        if not low < high:
            raise ValueError(f"`{name}` must be {rule} of finite numbers with low < high; got {_show(value)}")
        return [low, high]

    return check


def _positive_int(name, maximum=None):
    def check(value):
        return as_int(value, name, minimum=1, maximum=maximum)

    return check


def _jsonable(value):
    try:
        _json_value(value, "x")
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------------------
# user functions, referred to by import path ('module:qualified_name')
# --------------------------------------------------------------------------------------


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
            raise AttributeError(f"`function` {path!r}: module {module_name!r} has no attribute {qualname!r}") from None
    if not callable(obj):
        raise TypeError(f"`function` {path!r} is not callable; got {type(obj).__name__}")
    return obj


def _describe_function(function):
    if isinstance(function, str):
        return function
    path = _import_path(function)
    if path is not None:
        return path
    module = getattr(function, "__module__", "?")
    return f"{module}:{getattr(function, '__qualname__', type(function).__name__)}"
