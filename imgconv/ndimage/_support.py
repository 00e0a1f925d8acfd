"""scipy.ndimage's argument rules (``_ni_support``), kept once for the functions of :mod:`imgconv.ndimage`.

Written from scipy's ``scipy/ndimage/_ni_support.py`` (BSD licence) so that the
same calls are accepted and refused with the same exception types: scipy raises
RuntimeError for a bad `output`, a sequence of the wrong length and an unknown
border mode, and a drop-in must too.
"""

import operator
import warnings
from collections.abc import Iterable

import numpy as np

from .._shared.modes import SCIPY_MODES, SCIPY_TO_ENGINE_MODE

__all__ = [
    "check_array_dtypes",
    "check_axes",
    "engine_mode",
    "get_output",
    "invalid_origin",
    "is_mode_sequence",
    "normalize_axis",
    "normalize_sequence",
]


#: The real dtypes scipy.ndimage's C filters accept (kinds bool, int, uint, float of 32 and 64 bits).
_SUPPORTED = frozenset(
    np.dtype(t)
    for t in (
        np.bool_,
        np.int8,
        np.uint8,
        np.int16,
        np.uint16,
        np.int32,
        np.uint32,
        np.int64,
        np.uint64,
        np.float32,
        np.float64,
    )
)


def check_array_dtypes(input, output):
    """Refuse, as scipy does (RuntimeError), input or output dtypes its C filters do not support (float16, ...)."""
    for name, a in (("input", input), ("output", output)):
        if a.dtype.newbyteorder("=") not in _SUPPORTED:
            raise RuntimeError(
                f"array type not supported: `{name}` has dtype {a.dtype}; expected one of "
                f"{sorted(t.name for t in _SUPPORTED)}"
            )


def engine_mode(mode):
    """The engine's (``numpy.pad``) name of scipy border `mode`; RuntimeError (scipy's type) for others."""
    if isinstance(mode, str) and mode in SCIPY_TO_ENGINE_MODE:
        return SCIPY_TO_ENGINE_MODE[mode]
    raise RuntimeError(f"`mode` must be one of {list(SCIPY_MODES)} (boundary mode not supported); got {mode!r}")


def is_mode_sequence(mode):
    """Whether `mode` is a per-axis sequence of names rather than one name."""
    return not isinstance(mode, str) and isinstance(mode, Iterable)


def normalize_sequence(value, rank, name="argument"):
    """`value` repeated `rank` times, or the sequence `value` checked to have length `rank`."""
    if not isinstance(value, str) and np.iterable(value):
        values = list(value)
        if len(values) != rank:
            raise RuntimeError(
                f"sequence argument must have length equal to input rank: `{name}` has "
                f"{len(values)} entries for {rank} axes"
            )
        return values
    return [value] * rank


def normalize_axis(axis, ndim):
    """`axis` in ``range(ndim)`` (negative counts from the end); numpy's AxisError otherwise."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def check_axes(axes, ndim):
    """`axes` as a tuple of distinct axes in ``range(ndim)``; all axes for None."""
    if axes is None:
        return tuple(range(ndim))
    if np.isscalar(axes):
        axes = (operator.index(axes),)
    elif isinstance(axes, Iterable):
        axes = tuple(operator.index(ax) for ax in axes)
        for ax in axes:
            if ax < -ndim or ax > ndim - 1:
                raise ValueError(f"specified axis: {ax} is out of range")
        axes = tuple(ax % ndim for ax in axes)
    else:
        raise ValueError(f"axes must be an integer, iterable of integers, or None; got {axes!r}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes must be unique; got {axes}")
    return axes


def invalid_origin(origin, length):
    """Whether `origin` moves the anchor ``length // 2 + origin`` off a kernel of `length` taps."""
    return origin < -(length // 2) or origin > (length - 1) // 2


def get_output(output, input, shape=None, complex_output=False):
    """The output array scipy's rule gives: `input`'s dtype, a dtype asked for, or the array passed.

    A new array is left uninitialised (scipy's is zeroed): every filter writes all of it, and np.zeros
    of a large array is fresh pages that fault on first write, about 1 ms of a 2 ms filter on 2048².
    """
    if shape is None:
        shape = input.shape
    if output is None:
        dtype = np.promote_types(input.dtype, np.complex64) if complex_output else input.dtype.newbyteorder("=")
        return np.empty(shape, dtype=dtype)
    if isinstance(output, type | np.dtype):
        if complex_output and np.dtype(output).kind != "c":
            warnings.warn("promoting specified output dtype to complex", stacklevel=3)
            output = np.promote_types(output, np.complex64)
        return np.empty(shape, dtype=output)
    if isinstance(output, str):
        output = np.dtype(output)
        if complex_output and output.kind != "c":
            raise RuntimeError(f"output must have complex dtype; got {output}")
        if not issubclass(output.type, np.number):
            raise RuntimeError(f"output must have numeric dtype; got {output}")
        return np.empty(shape, dtype=output)
    output = np.asarray(output)
    if output.shape != shape:
        raise RuntimeError(f"output shape not correct: expected {shape}, got {output.shape}")
    if complex_output and output.dtype.kind != "c":
        raise RuntimeError(f"output must have complex dtype; got {output.dtype}")
    return output
