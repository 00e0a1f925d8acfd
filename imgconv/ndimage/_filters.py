"""The separable and derivative filters of scipy.ndimage, as sequences of :func:`correlate1d` passes.

Each function follows scipy's own composition (``scipy/ndimage/_filters.py``,
BSD licence) pass for pass -- the intermediate of a multi-axis filter is stored
in the output dtype between passes, as scipy stores it -- so that results agree
with scipy's to float64 rounding, integer outputs included (float32 outputs:
to float32 rounding, see :func:`imgconv.ndimage._correlate.work_dtype`).  Every pass is one
engine call (:func:`imgconv.ndimage._correlate.run_pass`), except that two passes over the
last two axes into a float output run as one (:func:`_chain`,
:func:`imgconv._engine.correlate_passes`), bit-equal to running them one after the other.
"""

import functools
import numbers
from collections.abc import Sequence
from typing import Any, SupportsIndex

import numpy as np
import numpy.typing as npt

from .. import _engine
from .._shared import scratch
from .._shared.blocks import blockwise
from .._shared.geometry import gaussian_radius
from .._shared.ndpasses import axis_view, gaussian_kernel1d, round_taps
from .._threads import effective_num_threads
from .._typing import Int, IntSequence, Real, RealSequence, ScipyAxes, ScipyCval, ScipyMode, ScipyModes, ScipyOutput
from .._validation import check_pass_taps
from . import _support
from ._correlate import (
    _direct_out,
    correlate1d,
    engine_pixels,
    exact_uniform_sums,
    paired_into,
    planned_pass,
    run_pass,
    scipy_symmetry,
    store,
    sum_dtype,
)

__all__ = [
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]


class _Step:
    """One pass of a separable filter: ``step(x, out)``, and, when it is a plain correlation along
    `axis` (float64 `weights`, engine `mode`, sums divided by `divisor`), what :func:`_chain` needs
    to fuse it with the next pass."""

    def __init__(self, run, axis=None, weights=None, mode=None, cval=0.0, origin=0, divisor=1, pairs=True):
        self.run, self.axis, self.weights, self.mode = run, axis, weights, mode
        self.cval, self.origin, self.divisor = cval, origin, divisor
        # whether a float64 pass pairs its taps as scipy's correlate1d does (not the uniform filter: scipy
        # computes it by running sums, which no order of a correlation reproduces)
        self.pairs = pairs

    def paired(self, dtype):
        """Whether this pass, summed in `dtype`, runs paired (:func:`imgconv.ndimage._correlate.run_pass`)."""
        return self.pairs and dtype == np.float64 and bool(scipy_symmetry(self.weights))

    def __call__(self, x, out):
        self.run(x, out)


def _fusable(first, second, x, output):
    """Whether passes `first` and `second` (on `x`, into the dtype of `output`) run as one engine call.

    The last two axes, one after the other (in either order), with one border rule, a float `output` (its dtype
    is then the work dtype the intermediate is stored in) and `x` already in it.
    """
    ndim = x.ndim
    return (
        ndim >= 2
        and first.weights is not None
        and second.weights is not None
        and {first.axis, second.axis} == {ndim - 2, ndim - 1}
        and first.mode == second.mode
        and first.cval == second.cval
        and output.dtype in (np.float32, np.float64)
        and x.dtype == output.dtype
        and x.size > 0
        # float64 passes of weights scipy pairs run paired, scipy's roundings (run_pass), not fused
        and not (first.paired(output.dtype) or second.paired(output.dtype))
    )


def _fused(first, second, num_threads):
    """The step running `first` then `second` (:func:`_fusable`) as one engine call, no intermediate array."""

    rows_first = first.axis > second.axis
    column, row = (second, first) if rows_first else (first, second)

    def run(x, out):
        x = np.asarray(x)
        dtype = out.dtype
        pads = []
        for p in (column, row):
            before = len(p.weights) // 2 + p.origin
            pads += [before, len(p.weights) - 1 - before]
        target = _direct_out(out, x, dtype)
        result = _engine.correlate_passes(
            x.reshape((-1,) + x.shape[-2:]),
            round_taps(column.weights, dtype)[0],
            round_taps(row.weights, dtype)[0],
            pads=tuple(pads),
            mode=first.mode,
            cval=float(first.cval),
            out=None if target is None else target.reshape((-1,) + x.shape[-2:]),
            num_threads=num_threads,
            divisors=(column.divisor, row.divisor),
            rows_first=rows_first,
        )
        store(result.reshape(x.shape), out)

    return _Step(run)


def _chain(input, output, steps, num_threads=None):
    """Run the passes `steps` (``step(x, out)``) in turn, each on the result of the one before, the last into `output`.

    Intermediates are in the output dtype (scipy's rule: float32 and integer
    outputs round between passes) and alternate between `output` and one spare
    array, so that no pass writes the array it reads (the engine then fills
    each in place: no temporary and copy per pass), the spare borrowed
    (:mod:`imgconv._shared.scratch`: no fresh pages per call).  Passes along the last two
    axes (the engine's plane) run fused, bit-equal to running them one after
    the other (:func:`imgconv._engine.correlate_passes`).
    """
    input = np.asarray(input)
    runs = []
    for step in steps:
        if (
            runs
            and isinstance(runs[-1], _Step)
            and _fusable(runs[-1], step, input if len(runs) == 1 else output, output)
        ):
            runs[-1] = _fused(runs[-1], step, num_threads)
        else:
            runs.append(step)
    if len(runs) == 1:
        runs[0](input, output)
        return output
    with scratch.borrow(output.shape, output.dtype) as spare:
        x = input
        for i, step in enumerate(runs):
            dest = output if (len(runs) - 1 - i) % 2 == 0 else spare
            step(x, dest)
            x = dest
    return output


def gaussian_filter1d(
    input: npt.ArrayLike,
    sigma: Real,
    axis: SupportsIndex = -1,
    order: Int = 0,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: ScipyCval = 0.0,
    truncate: Real = 4.0,
    *,
    radius: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """1-D Gaussian filter (``scipy.ndimage.gaussian_filter1d``).

    Parameters
    ----------
    input : array_like
    sigma : scalar
        Standard deviation of the Gaussian kernel.
    axis : int, default -1
    order : int, default 0
        0 smooths; 1, 2, 3 convolve with that derivative of a Gaussian.
    output : ndarray or dtype, optional
    mode : str, default 'reflect'
        A scipy border mode (see :func:`correlate1d`).
    cval : scalar, default 0.0
    truncate : float, default 4.0
        The radius is ``int(truncate * sigma + 0.5)`` unless `radius` is given.
    radius : int, optional
        Radius of the kernel (keyword only); overrides `truncate`.
    num_threads : int, optional
        Threads of the engine (keyword only).

    Returns
    -------
    result : ndarray

    Examples
    --------
    >>> from imgconv.ndimage import gaussian_filter1d
    >>> gaussian_filter1d([1.0, 2.0, 3.0, 4.0, 5.0], 1).round(6)
    array([1.427041, 2.067822, 3.      , 3.932178, 4.572959])
    """
    sd = float(sigma)
    lw = gaussian_radius(sd, truncate)
    if radius is not None:
        lw = radius
    if not isinstance(lw, numbers.Integral) or lw < 0:
        raise ValueError(f"Radius must be a nonnegative integer; got radius={lw!r}")
    if order < 0:
        raise ValueError(f"`order` must be non-negative; got {order}")
    weights = gaussian_kernel1d(sigma, order, lw)  # the one builder of scipy's kernel, as correlation weights
    return correlate1d(input, weights, axis, output, mode, cval, 0, num_threads=num_threads)


def gaussian_filter(
    input: npt.ArrayLike,
    sigma: RealSequence,
    order: IntSequence = 0,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    truncate: Real = 4.0,
    *,
    radius: Int | Sequence[Int | None] | npt.NDArray[np.integer] | None = None,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Multidimensional Gaussian filter (``scipy.ndimage.gaussian_filter``).

    Parameters
    ----------
    input : array_like
    sigma : scalar or sequence of scalars
        Standard deviation per filtered axis; axes with ``sigma <= 1e-15`` are skipped.
    order : int or sequence of ints, default 0
        Derivative order per axis.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        One scipy border mode, or one per filtered axis.
    cval : scalar, default 0.0
    truncate : float, default 4.0
    radius : int or sequence of ints, optional (keyword only)
    axes : tuple of int, optional (keyword only)
        The axes to filter; sequences of `sigma`, `order`, `mode`, `radius` follow them.
    num_threads : int, optional (keyword only)

    Returns
    -------
    result : ndarray

    Notes
    -----
    One :func:`gaussian_filter1d` pass per axis, the intermediate stored in
    the output dtype (scipy's rule: float32 and integer outputs round between
    passes, as they do in scipy).

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import gaussian_filter
    >>> gaussian_filter(np.arange(50, step=2).reshape(5, 5), sigma=1)[0]
    array([ 4,  6,  8,  9, 11])
    """
    input = np.asarray(input)
    output = _support.get_output(output, input)
    axes = _support.check_axes(axes, input.ndim)
    n = len(axes)
    orders = _support.normalize_sequence(order, n, "order")
    sigmas = _support.normalize_sequence(sigma, n, "sigma")
    modes = _support.normalize_sequence(mode, n, "mode")
    radiuses = _support.normalize_sequence(radius, n, "radius")
    passes = [(axes[i], sigmas[i], orders[i], modes[i], radiuses[i]) for i in range(n) if sigmas[i] > 1e-15]
    if not passes:
        output[...] = input[...]
        return output

    def step(axis, sd, o, m, r):
        def run(x, out):
            gaussian_filter1d(x, sd, axis, o, out, m, cval, truncate, radius=r, num_threads=num_threads)

        lw = gaussian_radius(float(sd), truncate) if r is None else r  # as gaussian_filter1d computes it
        if not isinstance(lw, numbers.Integral) or lw < 0 or o < 0:
            return _Step(run)  # gaussian_filter1d refuses it
        weights = gaussian_kernel1d(sd, o, lw)

        def planned(x, out):  # gaussian_filter1d's correlation, with the taps built once
            correlate1d(x, weights, axis, out, m, cval, 0, num_threads=num_threads)

        return _Step(planned, axis, weights, _support.engine_mode(m), cval)

    return _chain(input, output, [step(*p) for p in passes], num_threads)


def _taps(*weights):
    """Read-only float64 correlation weights, shared by every call (their plans are keyed by their bytes)."""
    taps = np.array(weights, np.float64)
    taps.flags.writeable = False
    return taps


_DIFFERENCE, _PREWITT_SMOOTH, _SOBEL_SMOOTH = _taps(-1, 0, 1), _taps(1, 1, 1), _taps(1, 2, 1)
_SECOND_DIFFERENCE = _taps(1, -2, 1)


def _edge_filter(input, axis, output, mode, cval, smoothing, num_threads):
    """sobel / prewitt: [-1, 0, 1] along `axis`, then `smoothing` along every other axis."""
    input = np.asarray(input)
    axis = _support.normalize_axis(axis, input.ndim)
    output = _support.get_output(output, input)
    modes = _support.normalize_sequence(mode, input.ndim, "mode")

    def step(weights, i):
        def run(x, out):
            correlate1d(x, weights, i, out, modes[i], cval, 0, num_threads=num_threads)

        return _Step(run, i, weights, _support.engine_mode(modes[i]), cval)

    steps = [step(_DIFFERENCE, axis)] + [step(smoothing, i) for i in range(input.ndim) if i != axis]
    return _chain(input, output, steps, num_threads)


def prewitt(
    input: npt.ArrayLike,
    axis: SupportsIndex = -1,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    *,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Calculate a Prewitt filter (``scipy.ndimage.prewitt``).

    Parameters
    ----------
    input : array_like
    axis : int, default -1
        The axis of the derivative ([-1, 0, 1]); every other axis is smoothed with [1, 1, 1].
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        One scipy border mode, or one per axis of `input`.
    cval : scalar, default 0.0
    num_threads : int, optional (keyword only)

    Returns
    -------
    result : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import prewitt
    >>> prewitt(np.array([[0, 0, 1, 1]] * 3))[0]
    array([0, 3, 3, 0])
    """
    return _edge_filter(input, axis, output, mode, cval, _PREWITT_SMOOTH, num_threads)


def sobel(
    input: npt.ArrayLike,
    axis: SupportsIndex = -1,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    *,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Calculate a Sobel filter (``scipy.ndimage.sobel``).

    Parameters
    ----------
    input : array_like
    axis : int, default -1
        The axis of the derivative ([-1, 0, 1]); every other axis is smoothed with [1, 2, 1].
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        One scipy border mode, or one per axis of `input`.
    cval : scalar, default 0.0
    num_threads : int, optional (keyword only)

    Returns
    -------
    result : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import sobel
    >>> sobel(np.array([[0, 0, 1, 1]] * 3))[0]
    array([0, 4, 4, 0])
    """
    return _edge_filter(input, axis, output, mode, cval, _SOBEL_SMOOTH, num_threads)


def _generic_laplace(input, derivative2, output, mode, cval, axes):
    """Sum of second derivatives along `axes` (scipy's ``generic_laplace``)."""
    input = np.asarray(input)
    output = _support.get_output(output, input)
    axes = _support.check_axes(axes, input.ndim)
    if not axes:
        output[...] = input[...]
        return output
    modes = _support.normalize_sequence(mode, len(axes), "mode")
    derivative2(input, axes[0], output, modes[0], cval)
    if len(axes) > 1:
        with scratch.borrow(output.shape, output.dtype) as term:
            for i in range(1, len(axes)):
                output += derivative2(input, axes[i], term, modes[i], cval)
    return output


def laplace(
    input: npt.ArrayLike,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    *,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """N-D Laplace filter based on approximate second derivatives (``scipy.ndimage.laplace``).

    Parameters
    ----------
    input : array_like
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        One scipy border mode, or one per filtered axis.
    cval : scalar, default 0.0
    axes : tuple of int, optional (keyword only)
    num_threads : int, optional (keyword only)

    Returns
    -------
    result : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import laplace
    >>> laplace(np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), mode='constant')
    array([[ 0,  1,  0],
           [ 1, -4,  1],
           [ 0,  1,  0]])
    """

    def derivative2(x, axis, out, m, c):
        return correlate1d(x, _SECOND_DIFFERENCE, axis, out, m, c, 0, num_threads=num_threads)

    input = np.asarray(input)
    output = _support.get_output(output, input)
    axes_ = _support.check_axes(axes, input.ndim)
    modes = _support.normalize_sequence(mode, len(axes_), "mode")
    if (
        list(axes_) == [input.ndim - 2, input.ndim - 1]
        and modes[0] == modes[1]
        and output.dtype == np.float32
        and input.dtype == output.dtype
        and input.size > 0
        and isinstance(cval, numbers.Real)
    ):
        # The second derivative along each axis of the plane, each rounded, and their sum: one engine
        # call (the column pass into the output, the row pass through per-thread buffers), bit-equal
        # to generic_laplace's two correlate1d calls and sum.  (float64: the two paired passes of
        # correlate1d, scipy's roundings.)
        taps = round_taps(np.array([1.0, -2.0, 1.0]), output.dtype)[0]
        target = _direct_out(output, input, output.dtype)
        result = _engine.correlate_passes(
            input.reshape((-1,) + input.shape[-2:]),
            taps,
            taps,
            pads=(1, 1, 1, 1),
            mode=_support.engine_mode(modes[0]),
            cval=float(cval),
            out=None if target is None else target.reshape((-1,) + input.shape[-2:]),
            num_threads=num_threads,
            summed=True,
        )
        return store(result.reshape(input.shape), output)
    return _generic_laplace(input, derivative2, output, mode, cval, axes)


def _sigmas_on_axes(sigma, axes, ndim):
    """Per-axis sigmas of `input` (0 on the axes that are not filtered)."""
    axes = _support.check_axes(axes, ndim)
    sigma = _support.normalize_sequence(sigma, len(axes), "sigma")
    if len(axes) < ndim:
        full = [0] * ndim
        for s, ax in zip(sigma, axes):
            full[ax] = s
        sigma = full
    return sigma, axes


def gaussian_laplace(
    input: npt.ArrayLike,
    sigma: RealSequence,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    *,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Multidimensional Laplace filter using Gaussian second derivatives (``scipy.ndimage.gaussian_laplace``).

    Parameters
    ----------
    input : array_like
    sigma : scalar or sequence of scalars
        Standard deviation per filtered axis.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0
    axes : tuple of int, optional (keyword only)
    num_threads : int, optional (keyword only)
    **kwargs
        `truncate` and `radius`, passed to :func:`gaussian_filter`.

    Returns
    -------
    result : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import gaussian_laplace
    >>> x = np.zeros((5, 5)); x[2, 2] = 1
    >>> float(gaussian_laplace(x, 1)[2, 2].round(6))
    -0.318312
    """
    input = np.asarray(input)
    sigma, axes = _sigmas_on_axes(sigma, axes, input.ndim)

    def derivative2(x, axis, out, m, c):
        order = [0] * x.ndim
        order[axis] = 2
        return gaussian_filter(x, sigma, order, out, m, c, num_threads=num_threads, **kwargs)

    return _generic_laplace(input, derivative2, output, mode, cval, axes)


def gaussian_gradient_magnitude(
    input: npt.ArrayLike,
    sigma: RealSequence,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    *,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Multidimensional gradient magnitude using Gaussian derivatives (``scipy.ndimage.gaussian_gradient_magnitude``).

    Parameters
    ----------
    input : array_like
    sigma : scalar or sequence of scalars
        Standard deviation per filtered axis.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0
    axes : tuple of int, optional (keyword only)
    num_threads : int, optional (keyword only)
    **kwargs
        `truncate` and `radius`, passed to :func:`gaussian_filter`.

    Returns
    -------
    result : ndarray
        ``sqrt(sum over axes of (d/d axis)**2)``, computed in the output dtype as scipy does.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import gaussian_gradient_magnitude
    >>> x = np.zeros((5, 5)); x[:, 3:] = 1
    >>> gaussian_gradient_magnitude(x, 1)[2].round(4)
    array([0.0133, 0.1218, 0.3638, 0.3632, 0.108 ])
    """
    input = np.asarray(input)
    sigma, axes = _sigmas_on_axes(sigma, axes, input.ndim)
    output = _support.get_output(output, input)
    if not axes:
        output[...] = input[...]
        return output
    modes = _support.normalize_sequence(mode, len(axes), "mode")

    def derivative(x, axis, out, m):
        order = [0] * x.ndim
        order[axis] = 1
        return gaussian_filter(x, sigma, order, out, m, cval, num_threads=num_threads, **kwargs)

    derivative(input, axes[0], output, modes[0])
    np.multiply(output, output, output)
    if len(axes) > 1:
        with scratch.borrow(output.shape, output.dtype) as tmp:
            for i in range(1, len(axes)):
                derivative(input, axes[i], tmp, modes[i])
                np.multiply(tmp, tmp, tmp)
                output += tmp
    _sqrt_in_place(output, num_threads)
    return output


def _sqrt_in_place(output, num_threads):
    """``np.sqrt(output, output, casting='unsafe')``, scipy's last step, by table for 8- and 16-bit integers.

    NumPy computes the square root of an 8-bit integer in float16 (56 ms for 2048² uint8, more than
    the four Gaussian passes before it); a table of the same ufunc over every value the dtype holds gives the
    same bits, looked up in threads.
    """
    small = output.size < 1 << 16 or not output.flags.c_contiguous
    if small or output.dtype.kind not in "ui" or output.dtype.itemsize > 2:
        np.sqrt(output, output, casting="unsafe")
        return
    table = _sqrt_table(output.dtype)
    codes = output.view(np.uint8 if output.dtype.itemsize == 1 else np.uint16)
    flat = codes.reshape(len(codes), -1)  # a view: C-contiguous
    blockwise(len(flat), effective_num_threads(num_threads), lambda rows: np.take(table, flat[rows], out=flat[rows]),
              block_rows=max(1, (1 << 16) // flat.shape[1]))  # fmt: skip


@functools.lru_cache(maxsize=4)
def _sqrt_table(dtype):
    """``np.sqrt(v, out, casting='unsafe')`` for every value `v` of the integer `dtype`, indexed by its bits."""
    bits = np.arange(1 << (8 * dtype.itemsize)).astype(np.uint8 if dtype.itemsize == 1 else np.uint16)
    values = bits.view(dtype)
    roots = np.empty_like(values)
    with np.errstate(invalid="ignore"):  # negative values: NaN, cast as NumPy casts it
        np.sqrt(values, roots, casting="unsafe")
    return roots.view(bits.dtype)


def uniform_filter1d(
    input: npt.ArrayLike,
    size: Int,
    axis: SupportsIndex = -1,
    output: ScipyOutput = None,
    mode: ScipyMode = "reflect",
    cval: ScipyCval = 0.0,
    origin: Int = 0,
    *,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Calculate a 1-D uniform filter along the given axis (``scipy.ndimage.uniform_filter1d``).

    Parameters
    ----------
    input : array_like
    size : int
        Length of the uniform filter.
    axis : int, default -1
    output : ndarray or dtype, optional
    mode : str, default 'reflect'
    cval : scalar, default 0.0
    origin : int, default 0
    num_threads : int, optional (keyword only)

    Returns
    -------
    result : ndarray

    Notes
    -----
    The engine sums the window with weights 1 and the sum is divided by
    `size`, as scipy's running sum is: integer inputs give exact sums, so a
    mean that is a whole number stays one before the cast to an integer output.

    Examples
    --------
    >>> from imgconv.ndimage import uniform_filter1d
    >>> uniform_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    run = planned_pass(input, size, axis, output, mode, cval, origin, num_threads, uniform=True)
    if run is not None:
        return run(input, output)
    input = np.asarray(input)
    axis = _support.normalize_axis(axis, input.ndim)
    if size < 1:
        raise RuntimeError(f"incorrect filter size: `size` must be at least 1; got {size}")
    check_pass_taps(size, "a uniform filter", size=size)
    complex_output = input.dtype.kind == "c"
    output = _support.get_output(output, input, complex_output=complex_output)
    if size // 2 + origin < 0 or size // 2 + origin >= size:
        raise ValueError(
            f"invalid origin: `origin` must satisfy -(size // 2) <= origin <= (size - 1) // 2; "
            f"got origin={origin} for size={size}"
        )
    mode = _support.engine_mode(mode)
    if not complex_output:
        _support.check_array_dtypes(input, output)
    parts = (
        [(input, output, cval)]
        if not complex_output
        else [(input.real, output.real, np.real(cval)), (input.imag, output.imag, np.imag(cval))]
    )
    ones = np.ones(int(size), np.float64)
    for x, out, c in parts:
        dtype = sum_dtype(x, ones, out, mode, c, divisor=size)
        if exact_uniform_sums(x, dtype, out, size, mode, c):
            # integers sum exactly in float64 in any order (in float32 too, where sum_dtype says so): the
            # paired kernel (odd sizes) divides each sum and stores it, C cast and all, no array of sums
            x = engine_pixels(x, dtype)
            view, along = axis_view(x, axis)
            engine = dict(mode=mode, cval=c, num_threads=num_threads)  # the engine takes float(cval)
            paired_into(out, x, view, ones, 1, along, engine, dtype, origin, divisor=size)
            continue
        # a float output holds the sums, divided in place; an integer one takes the mean with a C cast
        total = out if out.dtype == dtype else np.empty(x.shape, dtype)
        if (
            x.ndim >= 2
            and axis >= x.ndim - 2
            and x.dtype == dtype
            and x.size
            and _direct_out(total, x, dtype) is not None
        ):
            # a pass of [1] along the other axis of the plane carries the division into the same
            # engine call (x * 1 + 0 is x): no second sweep of the result to divide it
            step = _Step(None, axis, ones, mode, c, origin, size, pairs=False)
            other = _Step(None, 2 * x.ndim - 3 - axis, np.ones(1), mode, c, pairs=False)
            _fused(step, other, num_threads).run(x, total)
        else:
            run_pass(x, ones, axis, total, mode, c, origin, num_threads, dtype, pair=False)
            total /= size
        store(total, out)
    return output


@functools.lru_cache(maxsize=64)
def _ones(size):
    """The uniform filter's `size` weights, read-only and shared (a plan is keyed by their bytes)."""
    return _taps(*([1] * size))


def uniform_filter(
    input: npt.ArrayLike,
    size: IntSequence = 3,
    output: ScipyOutput = None,
    mode: ScipyModes = "reflect",
    cval: ScipyCval = 0.0,
    origin: IntSequence = 0,
    *,
    axes: ScipyAxes | None = None,
    num_threads: SupportsIndex | None = None,
) -> np.ndarray:
    """Multidimensional uniform filter (``scipy.ndimage.uniform_filter``).

    Parameters
    ----------
    input : array_like
    size : int or sequence of ints, default 3
        Per filtered axis; axes of size 1 are skipped.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0
    origin : int or sequence of ints, default 0
    axes : tuple of int, optional (keyword only)
    num_threads : int, optional (keyword only)

    Returns
    -------
    result : ndarray
        One :func:`uniform_filter1d` pass per axis, the intermediate in the output dtype (scipy's rule).

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.ndimage import uniform_filter
    >>> uniform_filter(np.arange(9.0).reshape(3, 3))[1]
    array([3.33333333, 4.        , 4.66666667])
    """
    input = np.asarray(input)
    output = _support.get_output(output, input, complex_output=input.dtype.kind == "c")
    axes = _support.check_axes(axes, input.ndim)
    n = len(axes)
    sizes = _support.normalize_sequence(size, n, "size")
    origins = _support.normalize_sequence(origin, n, "origin")
    modes = _support.normalize_sequence(mode, n, "mode")
    passes = [(axes[i], sizes[i], origins[i], modes[i]) for i in range(n) if sizes[i] > 1]
    for _, s, _, _ in passes:
        check_pass_taps(s, "a uniform filter", size=size)  # before any pass builds its weights
    if not passes:
        output[...] = input[...]
        return output

    def step(axis, s, o, m):
        def run(x, out):
            uniform_filter1d(x, int(s), axis, out, m, cval, o, num_threads=num_threads)

        if input.dtype.kind == "c" or _support.invalid_origin(o, int(s)):
            return _Step(run)  # by real components, or refused by uniform_filter1d
        ones = _ones(int(s)) if s <= 4097 else np.ones(int(s))
        return _Step(run, axis, ones, _support.engine_mode(m), cval, o, int(s), pairs=False)

    return _chain(input, output, [step(*p) for p in passes], num_threads)
