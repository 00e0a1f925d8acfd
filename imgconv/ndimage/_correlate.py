"""correlate1d / convolve1d / correlate / convolve: scipy.ndimage's, every multiply-add in the 2-D engine.

How an N-D array becomes engine work, without a transpose:

* a 1-D pass along ``axis`` of an array of shape ``S``: the axis is the engine's
  H with ``prod(S[axis+1:])`` as W and ``prod(S[:axis])`` as the batch, the kernel
  ``(k, 1)``; along the last axis the axis is W and every other axis folds into H
  (kernel ``(1, k)``).  Both are reshapes of a C-contiguous array: one engine call.
* an N-D correlation with ``N > 2``: the last two axes are the engine's plane, and
  the kernel's last leading axis (a volume's depth, ``kd`` taps) folds into the
  engine's input channels: output plane ``i`` is image ``i`` of a strided view
  whose channels are the input planes ``i - before .. i - before + kd - 1`` (no
  copy; the engine reads overlapping views), so a 3-D correlation is one engine
  call plus a small one at each end, whose planes are copied as the border mode
  extends the volume.  Axes before it (4-D and up) are extended by the border mode
  (``numpy.pad``) and summed over tap by tap (zero taps skipped).

scipy computes in float64 whatever the input (``double`` line buffers) and casts
the result to the output dtype (C casts: truncation toward zero into integers).
This module sums in float64 too, except where the output is float32
(:func:`work_dtype`): there the sums are float32, as cuCIM's and OpenCV's
are, because a float32 result cannot hold the extra bits and float64
arithmetic costs the engine about 3x (twice the bytes per vector, a float64
copy of the input); such results are within a few float32 ulps (``k * eps``
relative for ``k`` taps) of scipy's, not equal to its last bit.  Integer
outputs keep float64 sums, so that their truncation agrees with scipy's, except
where float32 sums are exact (:func:`sum_dtype`: integer weights on images of
up to 16 bits, the derivatives, Sobel, Prewitt, Laplace and box sums), which
equal scipy's float64 ones and take half the vector width.
Where scipy pairs the taps (odd weights symmetric or antisymmetric within
``DBL_EPSILON``: Gaussians and their derivatives, Sobel, Prewitt, Laplace,
most smoothing weights), float64 sums are made in its order of operations
(:func:`scipy_symmetry`, :func:`imgconv._engine.correlate_paired`), so float64
and integer outputs equal scipy's bit for bit; other weights are summed tap by
tap with fused multiply-adds (to float64 rounding).
The engine reads float32, float64, uint8 and uint16 pixels as they are
(:func:`engine_pixels`); other dtypes are converted once.  Like scipy's C
correlate, taps of the N-D `weights` whose magnitude is at most ``DBL_EPSILON``
count as 0.  A difference: scipy skips zero taps, the engine multiplies by them,
so an inf or NaN under a zero tap gives NaN here (finite input is unaffected).
"""

import functools
import math
from typing import Any, SupportsIndex

import numpy as np
import numpy.typing as npt

from .. import _engine
from .._shared import scratch
from .._shared.modes import source_index
from .._shared.ndpasses import axis_pass, axis_view, paired_pass, round_taps
from .._threads import check_num_threads
from .._typing import Int, IntSequence, ScipyAxes, ScipyCval, ScipyMode, ScipyOutput
from . import _support

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "engine_pixels",
    "exact_uniform_sums",
    "planned_pass",
    "run_pass",
    "scipy_symmetry",
    "store",
    "sum_dtype",
    "work_dtype",
]

_DBL_EPSILON = np.finfo(np.float64).eps
# The pixel dtypes the engine reads in place (others are converted to the work dtype first).
_ENGINE_PIXELS = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.uint8, np.uint16))


def work_dtype(output):
    """The dtype the sums of a pass into `output` are made in: float32 for a float32 `output`, else float64."""
    return np.dtype(np.float32) if output.dtype == np.float32 else np.dtype(np.float64)


# Integers up to 2**24 are float32's exact range: every sum and partial sum below it is exact.
_FLOAT32_EXACT = 1 << 24


def sum_dtype(x, weights, output, mode, cval, divisor=1):
    """The dtype of a pass's sums: float32 where that gives scipy's float64 result exactly, else :func:`work_dtype`.

    float32 is exact when `x` holds integers of at most 16 bits, `weights` are
    integers (derivatives, Sobel, Prewitt, Laplace, box sums), a constant
    border is an integer, and ``max|x| * sum|weights| < 2**24``: every partial
    sum is then an integer float32 holds, whatever the order of addition, so
    the sums are scipy's and so is any cast of them.  A sum divided by
    `divisor` (the uniform filter's mean) is exact only where it is truncated
    into an integer `output`: for ``max|x| * divisor < 2**24`` the float32
    quotient is within ``max|x| * 2**-24 < 1 / divisor`` of the true one, which
    lies at least ``1 / divisor`` from the next integer unless it is one.
    float32 vectors hold twice the lanes of float64 ones.
    """
    if output.dtype == np.float32 or x.dtype.kind not in "bui" or x.dtype.itemsize > 2:
        return work_dtype(output)
    if divisor != 1 and output.dtype.kind not in "bui":
        return work_dtype(output)  # a float mean keeps scipy's float64 quotient
    peak = _peak(x.dtype)
    if mode == "constant":
        if not (np.isreal(cval) and float(np.real(cval)).is_integer()):
            return work_dtype(output)
        peak = max(peak, abs(float(np.real(cval))))
    weights = np.ascontiguousarray(weights, np.float64)
    total = _integer_taps_total(weights.tobytes()) if weights.size <= 4097 else None
    if total is None or peak * max(total, float(divisor)) >= _FLOAT32_EXACT:
        return work_dtype(output)
    return np.dtype(np.float32)


@functools.lru_cache(maxsize=16)
def _peak(dtype):
    """The largest magnitude a value of the integer (or bool) `dtype` has."""
    if dtype.kind == "b":
        return 1
    info = np.iinfo(dtype)
    return max(-int(info.min), int(info.max))


@functools.lru_cache(maxsize=256)
def _integer_taps_total(taps):
    """``sum |w|`` of the float64 weights whose bytes are `taps` when all are integers, else None."""
    weights = np.frombuffer(taps, np.float64)
    if not np.all(np.isfinite(weights)) or not np.array_equal(weights, np.round(weights)):
        return None
    return float(np.abs(weights).sum())


def exact_uniform_sums(x, dtype, out, size, mode, cval):
    """Whether a uniform pass over `x` in `dtype` into `out` runs paired: sums of integers (float64 of up
    to 32 bits, or float32 sums :func:`sum_dtype` found exact), a whole border value, which no order of
    addition rounds, over an odd window."""
    return (
        (dtype == np.float64 or out.dtype != np.float32)
        and x.dtype.kind in "ui"
        and x.dtype.itemsize <= 4
        and size % 2 == 1
        and x.size > 0
        and (mode != "constant" or float(cval).is_integer())
    )


def engine_pixels(x, dtype):
    """`x` C-contiguous in a dtype the engine reads: its own (float32/64, uint8/16, native) or `dtype`."""
    x = np.asarray(x)
    if x.dtype in _ENGINE_PIXELS:  # == compares byte order too: a big-endian array is converted
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(x, dtype=dtype)


def store(result, output):
    """Write `result` (the work dtype) into `output` with a C cast (scipy's truncation into integers)."""
    if result is not output:
        with np.errstate(invalid="ignore", over="ignore"):  # a C cast warns of nothing
            np.copyto(output, result, casting="unsafe")
    return output


def _direct_out(output, x, dtype):
    """`output` when the engine may fill it directly (`dtype`, C-contiguous, not overlapping `x`), else None."""
    if (
        output.dtype == dtype
        and output.dtype.isnative
        and output.flags.c_contiguous
        and not np.may_share_memory(output, x)
    ):
        return output
    return None


def scipy_symmetry(weights):
    """1 or -1 where scipy's ``NI_Correlate1D`` pairs the taps of the 1-D `weights`, else 0.

    Its rule: an odd length, and every ``w[r + i]`` within ``DBL_EPSILON`` of
    ``w[r - i]`` (symmetric, 1) or of ``-w[r - i]`` (antisymmetric, -1).  It then
    multiplies each pair by the left weight ``w[r - i]``, as
    :func:`imgconv._engine.correlate_paired` does.
    """
    k = len(weights)
    if k % 2 == 0 or k < 3:
        return 0
    test = _symmetry_of if k <= 4097 else _symmetry_of.__wrapped__  # (long kernels are not kept)
    return test(np.ascontiguousarray(weights, np.float64).tobytes())


@functools.lru_cache(maxsize=256)
def _symmetry_of(taps):
    """:func:`scipy_symmetry` of the float64 weights whose bytes are `taps` (an odd number, at least 3).

    Kept per weights: the same filter runs pass after pass, call after call, and the test cost
    more than a small image's sums."""
    weights = np.frombuffer(taps, np.float64)
    r = len(weights) // 2
    left, right = weights[r - 1 :: -1], weights[r + 1 :]
    if np.all(np.abs(right - left) <= _DBL_EPSILON):
        return 1
    if np.all(np.abs(right + left) <= _DBL_EPSILON):
        return -1
    return 0


def run_pass(x, weights, axis, output, mode, cval, origin, num_threads, dtype=None, pair=True):
    """Correlate `x` with 1-D float64 `weights` along `axis` into `output`: one engine call.

    The sums are made in `dtype` (default: :func:`work_dtype` of `output`);
    `x` is read as :func:`engine_pixels` gives it.  `mode` is an engine mode;
    `origin` has been checked.  Float64 sums of weights that scipy pairs
    (:func:`scipy_symmetry`) are scipy's bit for bit
    (:func:`imgconv._engine.correlate_paired`; ``pair=False``: tap by tap
    whatever the weights).  Returns `output`.
    """
    if x.size == 0:
        return output
    x = np.asarray(x)
    dtype = sum_dtype(x, weights, output, mode, cval) if dtype is None else np.dtype(dtype)
    exact = dtype == np.float32 and output.dtype != np.float32  # (integer sums: any order is scipy's)
    x = engine_pixels(x, dtype)
    k = len(weights)
    sign = scipy_symmetry(weights) if pair and (dtype == np.float64 or exact) else 0
    view, along = axis_view(x, axis)
    engine = dict(mode=mode, cval=float(cval), num_threads=num_threads)
    if sign:
        return paired_into(output, x, view, weights, sign, along, engine, dtype, origin)
    before = k // 2 + origin
    out = _direct_out(output, x, dtype)
    if (
        out is None
        and output.dtype != dtype
        and output.flags.c_contiguous
        and view.size * dtype.itemsize > 2 * _CHUNK_BYTES
        and not np.may_share_memory(output, x)  # (a chunk's store must not reach lines a later chunk reads)
    ):
        return _chunked_pass(output, view, along, weights, (before, k - 1 - before), engine, dtype)
    taps = (weights.reshape(1, k), along, (before, k - 1 - before), dict(engine, method="direct"))
    if out is not None:
        axis_pass(view, *taps, out=out.reshape(view.shape), dtype=dtype)
        return output
    with scratch.borrow(view.shape, dtype) as sums:
        axis_pass(view, *taps, out=sums, dtype=dtype)
        return store(sums.reshape(x.shape), output)


# Sums of a pass into an output of another dtype (an integer one) go through a buffer of about this
# size, reused chunk after chunk, then C-cast into the output: a whole float64 array of sums was
# fresh pages to fault in and zero (a fifth of a 9-tap correlate1d on 2048² uint8) and a cast out of
# memory rather than cache.
_CHUNK_BYTES = 1 << 21


def _chunked_pass(output, view, along, weights, pads, engine, dtype):
    """:func:`run_pass`'s engine call and store, chunk by chunk of independent lines of `view`."""
    lead, _, length, trail = view.shape
    target = output.reshape(view.shape)  # C-contiguous: a view
    k = len(weights)
    # lines of the pass: `lead` images (along 3: rows; along 2: images of `length` x `trail`), or columns
    by_columns = along == 2 and lead == 1
    size = length * (1 if by_columns else trail)
    step = max(1, _CHUNK_BYTES // (size * dtype.itemsize))
    total = trail if by_columns else lead
    with scratch.borrow((min(step, total) * size,), dtype) as buffer:
        for start in range(0, total, step):
            stop = min(start + step, total)
            part = view[:, :, :, start:stop] if by_columns else view[start:stop]
            sums = buffer[: part.size].reshape(part.shape)
            axis_pass(part, weights.reshape(1, k), along, pads, dict(engine, method="direct"), out=sums, dtype=dtype)
            store(sums, target[:, :, :, start:stop] if by_columns else target[start:stop])
    return output


def paired_into(output, x, view, weights, sign, along, engine, dtype, origin, divisor=1):
    """One paired pass of `view` (the :func:`axis_view` of `x`) into `output`: filled by the kernel when
    it can be (a C-contiguous `output` of a dtype the kernel stores, apart from `x`), else stored."""
    direct = output.dtype in _engine.PAIRED_STORES and _direct_out(output, x, output.dtype) is not None
    out_dtype = output.dtype if output.dtype in _engine.PAIRED_STORES[:2] or direct else dtype
    run = dict(signs=[sign], along=along, engine=engine, dtype=dtype, out_dtype=out_dtype, origin=origin)
    if direct:
        paired_pass(view, weights.reshape(1, -1), divisor=divisor, out=output, **run)
        return output
    with scratch.borrow(x.shape, out_dtype) as y:  # (in place, or an output the kernel cannot fill)
        paired_pass(view, weights.reshape(1, -1), divisor=divisor, out=y, **run)
        return store(y, output)


def _complex_via_real_components(func, input, weights, output, cval, **kwargs):
    """Complex correlation as real ones: real and imaginary parts each through the engine (scipy's rule)."""
    complex_input = input.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if complex_input and complex_weights:
        func(input.real, weights.real, output=output.real, cval=np.real(cval), **kwargs)
        output.real -= func(input.imag, weights.imag, output=None, cval=np.imag(cval), **kwargs)
        func(input.real, weights.imag, output=output.imag, cval=np.real(cval), **kwargs)
        output.imag += func(input.imag, weights.real, output=None, cval=np.imag(cval), **kwargs)
    elif complex_input:
        func(input.real, weights, output=output.real, cval=np.real(cval), **kwargs)
        func(input.imag, weights, output=output.imag, cval=np.imag(cval), **kwargs)
    else:
        if np.iscomplexobj(cval):
            raise ValueError(f"Cannot provide a complex-valued cval when the input is real; got cval={cval!r}")
        func(input, weights.real, output=output.real, cval=cval, **kwargs)
        func(input, weights.imag, output=output.imag, cval=cval, **kwargs)
    return output


def correlate1d(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    axis: SupportsIndex = -1,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: ScipyCval = 0.0,
    origin: Int = 0,
    *,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Calculate a 1-D correlation along the given axis (``scipy.ndimage.correlate1d``).

    The lines of the array along the given axis are correlated with the given
    weights.

    Parameters
    ----------
    input : array_like
        The input array, any number of dimensions, real or complex.
    weights : array_like, shape (k,)
        1-D sequence of numbers (complex weights are conjugated, as ``numpy.correlate``).
    axis : int, default -1
        The axis of `input` along which to calculate.
    output : ndarray or dtype, optional
        The array in which to place the output, or its dtype; by default the dtype of `input`.
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'}
        How the input is extended beyond its border, default 'reflect' (scipy's names).
    cval : scalar, default 0.0
        Value beyond the border for 'constant' / 'grid-constant'.
    origin : int, default 0
        Shift of the filter: the tap ``k // 2 + origin`` sits on each output.
    num_threads : int, optional
        Threads of the engine (keyword only); None: all the process may use.

    Returns
    -------
    result : ndarray
        Same shape as `input`.

    Notes
    -----
    Computed in float64 as scipy computes (float32 for a float32 output), then
    cast to the output dtype (truncation toward zero into integers).  One
    engine call per real pass.

    Examples
    --------
    >>> from imgconv.ndimage import correlate1d
    >>> correlate1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    run = planned_pass(input, weights, axis, output, mode, cval, origin, num_threads)
    if run is not None:
        return run(input, output)
    input = np.asarray(input)
    weights = np.asarray(weights)
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        if weights.dtype.kind == "c":
            weights = weights.conj().astype(np.complex128, copy=False)
        output = _support.get_output(output, input, complex_output=True)
        return _complex_via_real_components(
            correlate1d, input, weights, output, cval, axis=axis, mode=mode, origin=origin, num_threads=num_threads
        )
    output = _support.get_output(output, input)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.ndim != 1 or weights.shape[0] < 1:
        raise RuntimeError(f"no filter weights given: `weights` must be 1-D and not empty; got shape {weights.shape}")
    axis = _support.normalize_axis(axis, input.ndim)
    _support.check_array_dtypes(input, output)
    if _support.invalid_origin(origin, len(weights)):
        raise ValueError(
            "Invalid origin; origin must satisfy -(len(weights) // 2) <= origin <= "
            f"(len(weights)-1) // 2; got origin={origin} for {len(weights)} weights"
        )
    return run_pass(input, weights, axis, output, _support.engine_mode(mode), cval, origin, num_threads)


# correlate1d calls validated and planned once (:func:`_plan_pass`): keyed by every argument with exact
# types (1 == 1.0 == True as keys), None for a key whose calls take the full path.
_PLANNED_PASSES: dict[tuple, Any] = {}
_PLANNED_PASSES_SIZE = 256
_UNPLANNED = object()
_EXACT_NUMBERS = (int, float)


def planned_pass(input, weights, axis, output, mode, cval, origin, num_threads, uniform=False):
    """The kept plan ``run(input, output)`` of this :func:`correlate1d` call, or None (the full path).

    ``uniform=True``: of ``uniform_filter1d(input, weights, ...)``, `weights` its size.  A plan is
    only used when `output` does not overlap `input` (the kernel fills it as it reads).
    """
    key = _pass_key(input, weights, axis, output, mode, cval, origin, num_threads, uniform)
    if key is None:
        return None
    run = _PLANNED_PASSES.get(key, _UNPLANNED)
    if run is _UNPLANNED:
        run = _plan_pass(key, input, weights, axis, output, mode, cval, origin, num_threads, uniform)
    if run is None or (output is not None and np.may_share_memory(output, input)):
        return None
    return run


def _pass_key(input, weights, axis, output, mode, cval, origin, num_threads, uniform):
    """The plan key of a :func:`correlate1d` call, or None when its arguments are not of the plain kinds
    (ndarrays, a short list or array of weights, Python ints, floats and strings) a plan is kept for."""
    if type(input) is not np.ndarray or type(axis) is not int or type(mode) is not str:
        return None
    if type(cval) not in _EXACT_NUMBERS or type(origin) is not int:
        return None
    if not (num_threads is None or type(num_threads) is int):
        return None
    if cval != cval:  # NaN: never equal to itself, so never found again
        return None
    kind = type(weights)
    if uniform:
        if kind is not int or not 1 <= weights <= 64:
            return None
        taps = ("uniform", weights)
    elif kind is np.ndarray:
        if weights.ndim != 1 or weights.size > 64:
            return None
        taps = (weights.dtype.str, weights.tobytes())
    elif (kind is list or kind is tuple) and len(weights) <= 64 and all(type(w) in _EXACT_NUMBERS for w in weights):
        taps = tuple((type(w), w) for w in weights)
    else:
        return None
    if output is None:
        target = None
    elif type(output) is np.ndarray:
        flags = output.flags
        target = (output.dtype.str, output.shape, flags.c_contiguous, flags.aligned, flags.writeable)
    else:
        return None
    flags = (input.flags.c_contiguous, input.flags.aligned)
    return (input.shape, input.dtype.str, flags, taps, axis, target, mode, type(cval), cval, origin, num_threads)


def _plan_pass(key, input, weights, axis, output, mode, cval, origin, num_threads, uniform):
    """Validate a :func:`correlate1d` (or uniform) call as the full path does and, when it is one small
    pass, paired (:func:`imgconv._engine.paired_call`) or plain (:func:`_planned_direct`), keep its plan
    under `key` (None, for the full path, when it is not)."""
    run = None
    try:
        divisor = weights if uniform else 1
        weights = np.ones(weights) if uniform else np.asarray(weights)
        if input.dtype.kind == "c" or weights.dtype.kind == "c":
            raise ValueError  # by real components: the full path
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        if weights.ndim != 1 or weights.shape[0] < 1 or _support.invalid_origin(origin, len(weights)):
            raise ValueError
        if output is not None and (output.shape != input.shape or not output.flags.writeable):
            raise ValueError
        axis_ = _support.normalize_axis(axis, input.ndim)
        engine_mode = _support.engine_mode(mode)
        out_dtype = input.dtype.newbyteorder("=") if output is None else output.dtype
        _support.check_array_dtypes(input, np.empty(0, out_dtype))
        check_num_threads(num_threads)
        stand_in = np.empty(0, out_dtype)
        dtype = sum_dtype(input, weights, stand_in, engine_mode, cval, divisor)
        exact = dtype == np.float32 and out_dtype != np.float32
        if uniform:  # paired (of ones) only where the sums are exact: see uniform_filter1d
            sign = int(exact_uniform_sums(input, dtype, stand_in, divisor, engine_mode, cval))
        else:
            sign = scipy_symmetry(weights) if dtype == np.float64 or exact else 0
        if (
            sign
            and input.size
            and input.dtype in _ENGINE_PIXELS
            and input.flags.c_contiguous
            and input.flags.aligned
            and out_dtype.isnative
            and (output is None or output.flags.aligned)
            and (output is None or output.flags.c_contiguous)
        ):
            lead, length = math.prod(input.shape[:axis_]), input.shape[axis_]
            trail = math.prod(input.shape[axis_ + 1 :])
            taps = round_taps(weights.reshape(1, -1), dtype)
            call = _engine.paired_call(
                (lead, length, trail), taps, sign, mode=engine_mode, cval=float(cval), origin=origin,
                dtype=dtype, out_dtype=out_dtype, divisor=divisor,
            )  # fmt: skip
            if call is not None:
                run = _planned(call, input.shape, (lead, length, trail), out_dtype)
        elif (
            not sign
            and not uniform
            and input.size
            and input.dtype == dtype == out_dtype
            and input.flags.c_contiguous
            and input.flags.aligned
            and (output is None or output.flags.aligned)
            and (engine_mode != "constant" or cval == 0)
        ):
            run = _planned_direct(input, weights, axis_, origin, engine_mode, dtype)
    except (ValueError, TypeError, RuntimeError):  # the full path raises it with its message
        run = None
    return _keep_plan(key, run)


def _keep_plan(key, run):
    """Keep `run` (a plan, or None for the full path) under `key`, the table bounded; returns `run`."""
    if len(_PLANNED_PASSES) >= _PLANNED_PASSES_SIZE:
        _PLANNED_PASSES.clear()
    _PLANNED_PASSES[key] = run
    return run


def _result_into(result, output):
    """A planned call's `result` (a new array) as the caller asked for it: itself, or copied into `output`."""
    if output is None:
        return result
    output[...] = result
    return output


def _planned_direct(input, weights, axis, origin, mode, dtype):
    """``run(input, output)`` of a small plain pass (:func:`imgconv._engine.small_call`), or None: the
    engine call :func:`run_pass` makes, with the layout of :func:`axis_view` and :func:`axis_pass`."""
    k = len(weights)
    before = k // 2 + origin
    view, along = axis_view(input, axis)
    if along == 3 and view.shape[0] > 1:
        view = view.reshape(1, 1, view.shape[0], view.shape[3])  # rows as one image, as axis_pass runs them
    shape = (1, 1, k, 1) if along == 2 else (1, 1, 1, k)
    pads = (before, k - 1 - before, 0, 0) if along == 2 else (0, 0, before, k - 1 - before)
    weight = round_taps(weights.reshape(1, k), dtype).reshape(shape)
    weight.flags.writeable = False
    call = _engine.small_call(view, weight, None, pads=pads, mode=mode, stride=(1, 1), dilation=(1, 1), groups=1)
    if call is None:
        return None
    lines, shape = view.shape, input.shape

    def run(input, output):
        return _result_into(call(input.reshape(lines), weight, None).reshape(shape), output)

    return run


def _planned(call, shape, lines, out_dtype):
    """``run(input, output)`` of a planned pass: `output` a new array when None."""
    lead, length, trail = lines
    empty = np.empty

    def run(input, output):
        out = empty(shape, out_dtype) if output is None else output
        call(input.reshape(lines), out.reshape(lead, 1, length, trail))
        return out

    return run


def convolve1d(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    axis: SupportsIndex = -1,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: ScipyCval = 0.0,
    origin: Int = 0,
    *,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Calculate a 1-D convolution along the given axis (``scipy.ndimage.convolve1d``).

    Parameters are those of :func:`correlate1d`; the weights are reversed (and,
    for an even length, the origin moved by one) as scipy does.

    Examples
    --------
    >>> from imgconv.ndimage import convolve1d
    >>> convolve1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    weights = np.asarray(weights)
    weights = weights[::-1]
    origin = -origin
    if not weights.shape[0] & 1:
        origin -= 1
    if weights.dtype.kind == "c":
        weights = weights.conj()  # undone by correlate1d's conjugation
    return correlate1d(input, weights, axis, output, mode, cval, origin, num_threads=num_threads)


def _expand_weights(ndim, axes, weights):
    """`weights` with length-1 axes inserted for the axes of `input` that are not filtered."""
    if len(axes) < ndim:
        if weights.ndim != len(axes):
            raise RuntimeError(f"weights.ndim ({weights.ndim}) must match len(axes) ({len(axes)})")
        weights = np.expand_dims(weights, tuple(ax for ax in range(ndim) if ax not in axes))
    return weights


def _expand_origin(ndim, axes, origin):
    """Per-axis origins of `input` (0 on the axes that are not filtered)."""
    origins = _support.normalize_sequence(origin, len(axes), "origin")
    if len(axes) < ndim:
        full = [0] * ndim
        for o, ax in zip(origins, axes):
            full[ax] = o
        origins = full
    return origins


def _correlate_nd(x, weights, origins, mode, cval, num_threads, dtype, out=None):
    """N-D correlation in `dtype` of `x` (:func:`engine_pixels`) with float64 `weights` of the same ndim.

    Into `out` (C-contiguous, `dtype`, not overlapping `x`: :func:`_direct_out`) when given, else a
    new array.
    """
    if x.ndim < 2:
        shape2 = (1,) * (2 - x.ndim) + x.shape
        w2 = weights.reshape((1,) * (2 - weights.ndim) + weights.shape)
        o2 = [0] * (2 - x.ndim) + list(origins)
        out2 = None if out is None else out.reshape(shape2)
        return _correlate_nd(x.reshape(shape2), w2, o2, mode, cval, num_threads, dtype, out2).reshape(x.shape)
    pads = []
    for k, o in zip(weights.shape, origins):
        before = k // 2 + o
        pads.append((before, k - 1 - before))
    (top, bottom), (left, right) = pads[-2:]
    plane = dict(pads=(top, bottom, left, right), mode=mode, cval=float(cval), num_threads=num_threads)
    result = np.empty(x.shape, dtype) if out is None else out
    if x.ndim == 2:
        _engine.correlate(
            x[None, None],
            np.ascontiguousarray(weights, dtype=dtype)[None, None],
            out=result[None, None],
            method="direct",
            **plane,
        )
        return result
    # The kernel's last leading axis (a volume's depth) folds into the engine's channels; the
    # axes before it, if any, are extended by the border rule (numpy.pad, data movement only)
    # and summed over tap by tap, image by image.
    outer = x.ndim - 3
    if outer and any(p != (0, 0) for p in pads[:outer]):
        pad_kw = {"constant_values": cval} if mode == "constant" else {}
        extended = np.pad(x, pads[:outer] + [(0, 0)] * 3, mode=mode, **pad_kw)
    else:
        extended = x
    first = True
    for t in np.ndindex(weights.shape[:outer]):
        if not weights[t].any():
            continue
        slab = extended[tuple(slice(i, i + n) for i, n in zip(t, x.shape[:outer]))]
        for e in np.ndindex(x.shape[:outer]):
            target = result[e] if first else np.empty(x.shape[outer:], dtype)
            _fold_depth(slab[e], weights[t], pads[outer], target, plane, dtype)
            if not first:
                result[e] += target
        first = False
    if first:  # every tap of the kernel is zero
        result[...] = 0
    return result


def _fold_depth(volume, weights, depth_pads, out, plane, dtype):
    """3-D correlation of `volume` (D, H, W) with `weights` (kd, kh, kw) into `out`, in engine calls whose
    input channels are the `kd` consecutive planes each output plane reads.

    The output planes whose planes all lie inside the volume read a strided view of it (no copy);
    the few at each end read a copy of their planes as the border mode extends the volume
    (:func:`imgconv._shared.modes.source_index`).  `plane` holds the engine's in-plane arguments.
    """
    d, h, w = volume.shape
    kd = weights.shape[0]
    before = depth_pads[0]
    weight = np.ascontiguousarray(weights, dtype=dtype)[None]
    inner = d - kd + 1  # output planes before .. before + inner - 1 read planes inside the volume
    lo = min(before, d)
    hi = min(before + inner, d) if inner > 0 else lo
    if hi > lo:
        _engine.correlate(_planes(volume, hi - lo, kd), weight, out=out[lo:hi, None], method="direct", **plane)
    mode, cval = plane["mode"], plane["cval"]
    for a, b in ((0, lo), (hi, d)):
        if b <= a:
            continue
        index = source_index(np.arange(a - before, b - before + kd - 1), d, mode)
        # A constant border other than 0 holds cval, which the input's dtype may not.
        fill = mode == "constant" and cval != 0
        gathered = np.empty((len(index), h, w), dtype if fill else volume.dtype)
        gathered[index >= 0] = volume[index[index >= 0]]
        gathered[index < 0] = cval
        _engine.correlate(_planes(gathered, b - a, kd), weight, out=out[a:b, None], method="direct", **plane)


def _planes(volume, count, kd):
    """The read-only view (count, kd, H, W) of `volume` (D, H, W) whose image n has planes n .. n + kd - 1."""
    step = volume.strides[0]
    return np.lib.stride_tricks.as_strided(
        volume, shape=(count, kd) + volume.shape[1:], strides=(step, step) + volume.strides[1:], writeable=False
    )


def _correlate_or_convolve(input, weights, output, mode, cval, origin, convolution, axes, num_threads):
    run = _planned_correlate(input, weights, output, mode, cval, origin, convolution, axes, num_threads)
    if run is not None:
        return run(input, output)
    input = np.asarray(input)
    weights = np.asarray(weights)
    complex_input = input.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if complex_input or complex_weights:
        if complex_weights and not convolution:
            weights = weights.conj()  # as numpy.correlate: conjugate the weights, not the input
        output = _support.get_output(output, input, complex_output=True)
        return _complex_via_real_components(
            _correlate_or_convolve_real,
            input,
            weights,
            output,
            cval,
            mode=mode,
            origin=origin,
            convolution=convolution,
            axes=axes,
            num_threads=num_threads,
        )
    return _correlate_or_convolve_real(
        input,
        weights,
        output=output,
        mode=mode,
        cval=cval,
        origin=origin,
        convolution=convolution,
        axes=axes,
        num_threads=num_threads,
    )


def _correlate_or_convolve_real(input, weights, *, output, mode, cval, origin, convolution, axes, num_threads):
    input, weights, origins, output, mode = _prepared(input, weights, output, mode, origin, convolution, axes)
    if input.size == 0:
        return output
    dtype = sum_dtype(input, weights, output, mode, cval)
    x = engine_pixels(input, dtype)
    result = _correlate_nd(x, weights, origins, mode, cval, num_threads, dtype, _direct_out(output, x, dtype))
    return store(result, output)


def _prepared(input, weights, output, mode, origin, convolution, axes):
    """correlate / convolve's arguments validated as scipy's: ``(input, weights, origins, output, mode)``,
    the weights float64 correlation weights of the input's ndim (taps at most DBL_EPSILON made 0), the
    origins per axis, `output` the array to fill, `mode` the engine's name."""
    input = np.asarray(input)
    axes = _support.check_axes(axes, input.ndim)
    weights = np.asarray(weights, dtype=np.float64)
    weights = _expand_weights(input.ndim, axes, weights)
    origins = _expand_origin(input.ndim, axes, origin)
    wshape = [n for n in weights.shape if n > 0]
    if len(wshape) != input.ndim:
        raise RuntimeError(f"weights.ndim ({len(wshape)}) must match len(axes) ({len(axes)})")
    if convolution:
        weights = weights[(slice(None, None, -1),) * weights.ndim]
        for i in range(len(origins)):
            origins[i] = -origins[i]
            if not weights.shape[i] & 1:
                origins[i] -= 1
    for o, n in zip(origins, wshape):
        if _support.invalid_origin(o, n):
            raise ValueError(
                "Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= origin[k] <= "
                f"(weights.shape[k]-1) // 2; got origin={tuple(origins)} for weights of shape "
                f"{weights.shape}"
            )
    output = _support.get_output(output, input)
    if _support.is_mode_sequence(mode):
        raise RuntimeError(f"A sequence of modes is not supported by correlate / convolve; got mode={mode!r}")
    mode = _support.engine_mode(mode)
    _support.check_array_dtypes(input, output)
    # scipy's C correlate leaves out the taps with |w| <= DBL_EPSILON.
    weights = np.where(np.abs(weights) > _DBL_EPSILON, weights, 0.0)
    return input, weights, origins, output, mode


def _planned_correlate(input, weights, output, mode, cval, origin, convolution, axes, num_threads):
    """The kept plan ``run(input, output)`` of a small 2-D correlate / convolve call, or None (the full
    path): plain arguments (as :func:`_pass_key` takes them), a float image and a kernel of at most
    64 taps, run by :func:`imgconv._engine.small_call` as :func:`_correlate_nd` would run it."""
    if (
        type(input) is not np.ndarray
        or input.ndim != 2
        or type(weights) is not np.ndarray
        or weights.ndim != 2
        or weights.size > 64
        or axes is not None
        or not (type(origin) is int or (type(origin) is tuple and all(type(o) is int for o in origin)))
    ):
        return None
    key = _pass_key(input, weights.ravel(), 0, output, mode, cval, 0, num_threads, False)
    if key is None:
        return None
    key = ("correlate", convolution, weights.shape, origin) + key
    run = _PLANNED_PASSES.get(key, _UNPLANNED)
    if run is _UNPLANNED:
        run = None
        try:
            if weights.dtype.kind == "c" or input.dtype not in (np.float32, np.float64):
                raise TypeError
            x, w, origins, out, engine_mode = _prepared(input, weights, output, mode, origin, convolution, axes)
            dtype = sum_dtype(x, w, out, engine_mode, cval)
            check_num_threads(num_threads)
            if (
                x.size
                and x.dtype == dtype == out.dtype
                and x.flags.c_contiguous
                and x.flags.aligned
                and out.flags.aligned
                and (engine_mode != "constant" or cval == 0)
            ):
                pads = []
                for k, o in zip(w.shape, origins):
                    pads += [k // 2 + o, k - 1 - (k // 2 + o)]
                w4 = np.ascontiguousarray(w, dtype=dtype)[None, None]
                w4.flags.writeable = False
                one = dict(stride=(1, 1), dilation=(1, 1), groups=1)
                call = _engine.small_call(x[None, None], w4, None, pads=tuple(pads), mode=engine_mode, **one)
                if call is not None:
                    run = _planned_plane(call, w4)
        except (ValueError, TypeError, RuntimeError):  # the full path raises it with its message
            run = None
        _keep_plan(key, run)
    if run is None or (output is not None and np.may_share_memory(output, input)):
        return None
    return run


def _planned_plane(call, weight):
    """``run(input, output)`` of a planned 2-D correlation: `output` a new array when None."""

    def run(input, output):
        return _result_into(call(input[None, None], weight, None)[0, 0], output)

    return run


def correlate(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: ScipyCval = 0.0,
    origin: IntSequence = 0,
    *,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Multidimensional correlation (``scipy.ndimage.correlate``).

    The array is correlated with the given kernel.

    Parameters
    ----------
    input : array_like
        The input array, any number of dimensions, real or complex.
    weights : array_like
        Array of weights, same number of dimensions as `input` (or as ``len(axes)``).
    output : ndarray or dtype, optional
        The array in which to place the output, or its dtype; by default the dtype of `input`.
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'}
        How the input is extended beyond its border, default 'reflect'.  One name
        (scipy refuses a sequence here, and so does this function).
    cval : scalar, default 0.0
        Value beyond the border for 'constant'.
    origin : int or sequence of int, default 0
        Per-axis shift of the kernel.
    axes : tuple of int, optional
        The axes to filter; `weights` then has ``len(axes)`` dimensions.
    num_threads : int, optional
        Threads of the engine (keyword only).

    Returns
    -------
    result : ndarray
        Same shape as `input`.

    Notes
    -----
    The last two axes are correlated by the 2-D engine; a kernel's leading axes
    are sums of such 2-D correlations (one engine call per nonzero plane of the
    kernel).  float64 arithmetic (float32 for a float32 output), then a C cast
    to the output dtype, as scipy.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import correlate
    >>> correlate(np.arange(25).reshape(5, 5), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])[2]
    array([51, 55, 60, 65, 69])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, False, axes, num_threads)


def convolve(
    input: npt.ArrayLike,
    weights: npt.ArrayLike,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: ScipyCval = 0.0,
    origin: IntSequence = 0,
    *,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Multidimensional convolution (``scipy.ndimage.convolve``).

    Parameters are those of :func:`correlate`; the kernel is reversed along
    every axis (and the origin moved by one along even axes) as scipy does.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import convolve
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> convolve(a, [[1, 1, 1], [1, 1, 0], [1, 0, 0]], mode='constant')[0]
    array([11, 10,  7,  4])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, True, axes, num_threads)
