"""Spec files: reading and writing JSON / YAML, the limits of what is read, canonical JSON."""

import errno
import json
import math
import os

from .. import _output
from ._params import MAX_SPEC_BYTES, MAX_SPEC_DEPTH, MAX_SPEC_VALUES


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
        raise ValueError(
            f"spec {path!r} is larger than {MAX_SPEC_BYTES} bytes (imgconv.pipeline.MAX_SPEC_BYTES); "
            "a spec is a small JSON or YAML file"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"spec {path!r} is not UTF-8 text: byte {raw[exc.start]:#04x} at offset {exc.start} "
            f"({exc.reason}); save it as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")  # the byte-order mark some Windows editors write
    if not text.strip():
        raise ValueError(
            f'spec {path!r} is empty; a spec is a mapping {{"version": 1, "steps": [...]}} or a list of steps'
        )
    too_deep = f"spec {path!r} nests lists and mappings too deeply (at most {MAX_SPEC_DEPTH} levels)"
    if extension in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(
                f"reading the YAML spec {path!r} needs PyYAML (pip install pyyaml); or write the spec as JSON"
            ) from None
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


def _write_spec_file(path, spec):
    """Write `spec` to `path`: YAML for ``.yaml`` / ``.yml`` (needs PyYAML), JSON (indent 2) otherwise."""
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(
                f"writing the YAML spec {path!r} needs PyYAML (pip install pyyaml); or write the spec as JSON"
            ) from None
        text = yaml.safe_dump(spec, sort_keys=False)
    else:
        text = json.dumps(spec, indent=2) + "\n"
    # imgconv._output owns every write: atomic, never through a link
    _output.write_atomic(path, lambda file: file.write(text.encode("utf-8")), what="`path`")


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
                raise ValueError(
                    f"{where} nests lists and mappings more than {MAX_SPEC_DEPTH} levels deep "
                    "(imgconv.pipeline.MAX_SPEC_DEPTH): a list or mapping contains itself"
                )
            open_ids.add(id(value))
            stack.append((value, children))
            stack.extend((child, None) for child in children if isinstance(child, (dict, list, tuple)))
            continue
        values, depth = 1, 1
        for child in children:
            child_values, child_depth = (
                measured.get(id(child), (1, 1)) if isinstance(child, (dict, list, tuple)) else (1, 1)
            )
            values, depth = values + child_values, max(depth, child_depth + 1)
        if depth > MAX_SPEC_DEPTH:
            raise ValueError(
                f"{where} nests lists and mappings more than {MAX_SPEC_DEPTH} levels deep "
                "(imgconv.pipeline.MAX_SPEC_DEPTH)"
            )
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
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_canonical_numbers(v) for v in value]
    if isinstance(value, dict):
        return {key: _canonical_numbers(v) for key, v in value.items()}
    return value


def _canonical_json(data):
    return json.dumps(
        _canonical_numbers(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
