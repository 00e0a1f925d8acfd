"""1-D passes along any axis of an N-D image, through the engine: scipy.ndimage's ``correlate1d``.

scikit-image's N-D filters (``gaussian_filter`` with derivative orders, ``sobel``,
``np.gradient``) are sequences of 1-D correlations, each extending its input by
the border mode along its own axis.  The engine correlates 2-D planes, and a
1-D pass along axis ``a`` of an N-D array is a 2-D correlation of the array seen
as ``(prod(shape[:a]), 1, shape[a], prod(shape[a + 1:]))`` with a ``(k, 1)``
kernel (or ``(1, k)`` for the last axis): the pads reach along that axis only,
so every border mode means what it means for ``correlate1d``.

Several kernels on the same input are one engine call (a bank of ``O``
filters), which reads the input once.  Two plain passes over the last two axes
(no paired taps, no dilation, the input's own dtype) run as one engine call
whose first pass stays in per-thread buffers (:func:`imgconv._engine.correlate_passes`),
bit-equal to the two passes one after the other.

Kernels with a symmetry are applied as scipy applies them (``NI_Correlate1D``
pairs their taps), by one engine call for all the paired kernels of a bank
(:func:`imgconv._engine.correlate_paired`): the centre tap first, then the
pairs from the outermost in, each pair summed or subtracted before its
product, with no fused multiply-add, so that float64 sums are scipy's bit for
bit:

* antisymmetric (``w[::-1] == -w``: odd Gaussian derivatives, central
  differences), always: ``w[r] x[i] + sum_k w[r - k] (x[i - k] - x[i + k])``.
  On a constant region each difference is exactly 0, as in scipy; a tap-by-tap
  sum leaves ~1e-17, which filters that normalise by their maximum (Frangi,
  Meijering) turn into structure.  ``[-w, 0, w]`` with ``w`` a power of two is
  one plain correlation instead (its products are exact, so the plain sum is
  the same single rounding).
* symmetric (``w[::-1] == w``, 3 taps or more: Gaussians, even derivatives,
  smoothing weights), on request only (``pair_symmetric=True``, see
  :func:`correlate1d_bank` for the cost): ``w[r] x[i] + sum_k w[r - k]
  (x[i - k] + x[i + k])``.  Smoothing antisymmetric data gives exact zeros on
  its axis of symmetry, symmetric data stays exactly symmetric, and a
  normalised Gaussian of a constant is the constant wherever scipy's is.

The centre tap is always multiplied (0 for an antisymmetric kernel), so a
non-finite pixel makes its own output non-finite as in scipy: ``0 * inf`` is
NaN, and an inf pixel reaching an output from both sides gives inf (or NaN with
opposite signs), as scipy's pair ``x[i - k] + x[i + k]`` does.  The FFT path
(``method='fft'``) pairs by correlating one half of the kernel with the input
and with the input reversed, and combining the two: the same symmetries, not
scipy's rounding.
"""

import functools
import math

import numpy as np

from .. import _engine
from .._validation import check_pass_taps
from .modes import check_scipy_mode

__all__ = [
    "axis_pass",
    "axis_view",
    "correlate1d_bank",
    "fix_gradient_edges",
    "gaussian_kernel1d",
    "gaussian_passes",
    "gradient_kernel",
    "paired_pass",
    "round_taps",
    "separable_bank",
]


def gaussian_kernel1d(sigma, order, radius):
    """scipy.ndimage's 1-D Gaussian (derivative of `order`) *as correlation weights* (already reversed).

    The one builder of Gaussian taps: :mod:`imgconv.kernels`, :func:`imgconv.filters.gaussian`,
    :mod:`imgconv.ndimage` and :mod:`imgconv.feature` all take theirs from here.

    ``scipy.ndimage.gaussian_filter1d`` correlates with the reversed kernel of
    ``_gaussian_kernel1d``; this returns those reversed weights.
    """
    check_pass_taps(2 * radius + 1, "a Gaussian kernel", sigma=sigma, radius=radius)  # before the arange
    if radius <= 2048:
        # kept: every pass of a filter, every call, builds the same taps (a copy, the caller's to change)
        return _gaussian_taps(sigma, order, radius).copy()
    return _gaussian_weights(sigma, order, radius)


@functools.lru_cache(maxsize=128, typed=True)  # typed: a float32 sigma computes in float32, as scipy's does
def _gaussian_taps(sigma, order, radius):
    """:func:`gaussian_kernel1d`, read-only (kept for the next call)."""
    taps = _gaussian_weights(sigma, order, radius)
    taps.flags.writeable = False
    return taps


def _gaussian_weights(sigma, order, radius):
    """scipy's ``_gaussian_kernel1d``, reversed: the arithmetic of :func:`gaussian_kernel1d`."""
    x = np.arange(-radius, radius + 1)
    sigma2 = sigma * sigma
    if order == 0 and (sigma2 == 0 or math.isinf(0.5 / sigma2)):
        # sigma below ~1e-154: exp(-inf * 0) would be NaN; the limit is a unit impulse
        return (x == 0).astype(np.float64)
    phi = np.exp(-0.5 / sigma2 * x**2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    exponents = np.arange(order + 1)
    q = np.zeros(order + 1)
    q[0] = 1
    deriv = np.diag(exponents[1:], 1) + np.diag(np.ones(order) / -sigma2, -1)
    for _ in range(order):
        q = deriv.dot(q)
    q = (x[:, None] ** exponents).dot(q)
    return (q * phi)[::-1]


def gradient_kernel():
    """``[-0.5, 0, 0.5]``: the central difference of ``np.gradient`` as correlation weights.

    With a ``'nearest'`` (or ``'reflect'``) border the first output along the
    axis is ``(f[1] - f[0]) / 2``; :func:`fix_gradient_edges` doubles the two end
    slices, which gives ``np.gradient``'s one-sided ``f[1] - f[0]`` exactly
    (a product by 2 is exact).
    """
    return np.array([-0.5, 0.0, 0.5])


def fix_gradient_edges(y, axis):
    """Double the first and last slices of `y` along `axis` in place (see :func:`gradient_kernel`)."""
    first = [slice(None)] * y.ndim
    last = [slice(None)] * y.ndim
    first[axis] = 0
    last[axis] = -1
    y[tuple(first)] *= 2
    y[tuple(last)] *= 2
    return y


def correlate1d_bank(
    x,
    kernels,
    axis,
    *,
    mode,
    cval=0.0,
    num_threads=1,
    method="auto",
    pair_symmetric=False,
    dilation=1,
    dtype=None,
    out_dtype=None,
):
    """Correlate every image of the batch `x` ``(B, *spatial)`` with each 1-D kernel along `axis`.

    Parameters
    ----------
    x : ndarray, (B, *spatial), float32 or float64, C-contiguous
    kernels : ndarray, (O, k), k odd
        Centred correlation weights (scipy's anchor ``k // 2``).
    axis : int
        Spatial axis (0-based, not counting the batch axis).
    mode : str
        scipy border mode.
    pair_symmetric : bool, default False
        Also pair the taps of symmetric kernels (module notes).  Antisymmetric
        kernels are always paired; symmetric ones only on request: the paired
        loop buffers each line and has no fused multiply-add, which on short
        kernels costs up to 2x the plain pass (2048x2048, 2 threads, a sigma 1
        Gaussian: 1.3 ms plain, 2.4 ms paired along the last axis; from sigma 8
        up it is the faster of the two).  Ask for it where the last bits decide
        the result (the Hessian of Gaussian derivatives, whose eigenvalues the
        ridge filters normalise by their maximum, and scikit-image's tests that
        compare Hessian elements computed in another order).
    dilation : int, default 1
        Spacing of the taps along `axis` (the engine's dilation along that
        axis): scipy's correlate1d with the kernel's taps ``dilation`` pixels
        apart (``dilation - 1`` zeros between them, which are not multiplied:
        no ``0 * inf``); the pads reach ``dilation * (k // 2)`` pixels.
    dtype : dtype, optional
        The compute dtype (default: that of `x`): float64 for float32 `x` sums
        as scipy sums (the engine converts the pixels as it reads them).
    out_dtype : dtype, optional
        The result dtype (default: `dtype`): float32 stores float64 sums rounded
        once, as scipy's float32 output, without a float64 copy of the result
        for the paired kernels.

    Returns
    -------
    y : ndarray, (B, O, *spatial), `out_dtype`.
    """
    kernels = np.atleast_2d(np.asarray(kernels, dtype=np.float64))
    n_out = kernels.shape[0]
    batch, spatial = x.shape[0], x.shape[1:]
    pre = math.prod(spatial[:axis])
    length = spatial[axis]
    post = math.prod(spatial[axis + 1 :])
    view, along = axis_view(np.ascontiguousarray(x), axis + 1)
    engine = dict(mode=check_scipy_mode(mode), cval=float(cval), num_threads=num_threads, method=method)
    engine["dilation"] = (int(dilation), 1) if along == 2 else (1, int(dilation))
    kinds = np.array([_route(w, pair_symmetric) for w in kernels], dtype=np.intc)
    compute = view.dtype if dtype is None else np.dtype(dtype)
    store = compute if out_dtype is None else np.dtype(out_dtype)
    paired = kinds != _PLAIN
    parts = []
    if method == "fft":
        parts += [
            (kinds == kind, _halves_pass(view, kernels[kinds == kind], kind, along, engine, compute))
            for kind in (_ANTI, _SYM)
            if (kinds == kind).any()
        ]
    elif paired.any():
        # every paired kernel in one call, which reads (and converts) each line once
        parts.append((paired, paired_pass(view, kernels[paired], kinds[paired], along, engine, compute, store)))
    if not paired.all():
        r = kernels.shape[1] // 2
        parts.append((~paired, axis_pass(view, kernels[~paired], along, (r, r), engine, dtype=compute)))
    if len(parts) == 1:
        y = parts[0][1].astype(store, copy=False)
    else:
        y = np.empty(view.shape[:1] + (n_out,) + view.shape[2:], store)
        for mask, part in parts:
            y[:, mask] = part
    y = y.reshape(batch, pre, n_out, length * post)
    if n_out > 1 and pre > 1:
        y = np.ascontiguousarray(np.moveaxis(y, 2, 1))
    return y.reshape((batch, n_out) + tuple(spatial))


def axis_view(x, axis):
    """The C-contiguous `x` as an engine batch in which `axis` is axis `along` (2 or 3): ``(view, along)``.

    ``(prod(shape[:axis]), 1, shape[axis], prod(shape[axis + 1:]))`` with
    ``along = 2``, or ``(prod(shape[:axis]), 1, 1, shape[axis])`` with ``along = 3``
    when nothing follows `axis` (rows the engine reads in place).  A reshape, never a copy.
    """
    lead, length, trail = math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :])
    if trail == 1:
        return x.reshape(lead, 1, 1, length), 3
    return x.reshape(lead, 1, length, trail), 2


def axis_pass(view, kernels, along, pads, engine, out=None, dtype=None):
    """One engine call: the 1-D `kernels` ``(O, k)`` along axis `along` of an :func:`axis_view`, with `pads`.

    `pads` are ``(before, after)`` taps along that axis (multiplied by the
    dilation along it, if `engine` holds one); `engine` holds the keyword
    arguments of :func:`imgconv._engine.correlate` (mode, cval, num_threads,
    method, and optionally dilation: a pair, whose item `along` - 2 is the one
    that spaces these taps).  `dtype`: the compute (and result) dtype, by
    default the dtype of `view`.
    """
    n_out, k = kernels.shape
    shape = (n_out, 1, k, 1) if along == 2 else (n_out, 1, 1, k)
    weight = round_taps(kernels, view.dtype if dtype is None else dtype).reshape(shape)
    d = engine.get("dilation", (1, 1))[along - 2]
    pads = tuple(d * p for p in pads)
    pads = (*pads, 0, 0) if along == 2 else (0, 0, *pads)
    if along == 3 and n_out == 1 and view.shape[0] > 1:
        # the rows as one image of `lead` rows, not `lead` images of one row (the engine's cost per image
        # made a 64 x 512 x 512 pass along the last axis 1.4x slower); the same taps, a reshape
        lead, length = view.shape[0], view.shape[3]
        plane = None if out is None else out.reshape(1, 1, lead, length)
        result = _engine.correlate(view.reshape(1, 1, lead, length), weight, pads=pads, out=plane, **engine)
        return result.reshape(lead, 1, 1, length)
    return _engine.correlate(view, weight, pads=pads, out=out, **engine)


def round_taps(kernels, dtype):
    """The 1-D `kernels` ``(O, k)`` in `dtype`, each keeping the sum of its taps to the rounding of its largest.

    Rounding taps to float32 one by one moves their sum -- the gain on a
    constant region -- by up to ``k / 2`` ulps: a normalised Gaussian then
    brightens or darkens every image by a few parts in 1e8, which sums of many
    outputs show.  The residual goes to the largest tap (where it is the
    smallest relative change), so a float32 Gaussian of a constant region is
    the constant to float32 rounding, as with float64 sums.
    """
    kernels = np.asarray(kernels)
    rounded = np.array(kernels, dtype=dtype, order="C", ndmin=2)
    if rounded.dtype == kernels.dtype or rounded.dtype != np.float32:
        return rounded
    if kernels.size <= 1024:
        # kept per kernel: each pass of each call rounds the same taps, which cost a small image more
        # than its sums (a copy: the caller's to change)
        key = (kernels.dtype.str, np.ascontiguousarray(kernels).tobytes(), kernels.shape)
        return _float32_taps(key).copy()
    return _keep_the_gain(kernels, rounded)


@functools.lru_cache(maxsize=256)
def _float32_taps(key):
    """:func:`round_taps` into float32 of the kernels whose (dtype, bytes, shape) are `key`, read-only."""
    kernels = np.frombuffer(key[1], np.dtype(key[0])).reshape(key[2])
    rounded = _keep_the_gain(kernels, np.array(kernels, dtype=np.float32, order="C", ndmin=2))
    rounded.flags.writeable = False
    return rounded


def _keep_the_gain(kernels, rounded):
    """`rounded` (the float32 `kernels`, 2-D) with each row's residual to the float64 sum on its largest tap."""
    wide = np.atleast_2d(kernels).astype(np.float64)
    residual = wide.sum(axis=1) - rounded.astype(np.float64).sum(axis=1)
    largest = np.abs(wide).argmax(axis=1)
    rows = np.arange(len(rounded))
    rounded[rows, largest] = (rounded[rows, largest].astype(np.float64) + residual).astype(np.float32)
    return rounded


_ANTI, _SYM, _PLAIN = -1, 1, 0


def _symmetry(w, pair_symmetric):
    """-1 for an antisymmetric kernel, 1 for a symmetric one (3 taps or more, if asked for), 0 otherwise."""
    if w.size < 3:
        return _PLAIN
    if np.array_equal(w[::-1], -w):
        return _ANTI
    if pair_symmetric and np.array_equal(w[::-1], w):
        return _SYM
    return _PLAIN


def _route(w, pair_symmetric):
    """How :func:`correlate1d_bank` runs the 1-D kernel `w`: paired as its symmetry (-1, 1) or plain (0)."""
    kind = _symmetry(w, pair_symmetric)
    if kind == _ANTI and len(w) == 3 and _powers_of_two(w[2:]):
        # [-w, 0, w] with w a power of two (central differences, np.gradient, Sobel's derivative): the
        # products are exact, so the plain sum -w a + 0 c + w b is one rounding of w b - w a, as the
        # paired difference is (with or without fused multiply-adds), non-finite pixels included
        return _PLAIN
    return kind


def _halves_pass(view, kernels, kind, along, engine, dtype):
    """Kernels ``(O, k)`` of the symmetry `kind`, paired from one half of each: the FFT path's pairing."""
    r = kernels.shape[1] // 2
    if kind == _ANTI:
        return _paired_pass(view, kernels[:, r:], (0, r), along, engine, kind, dtype)
    # the left half, outer taps first: each half sums w[0] x[i - r] ... w[r] / 2 x[i] in that order, which
    # on a constant region matches scipy's sum (centre, then the pairs from the outermost in) far more often
    # than the right half does (centre first, then inner to outer)
    halves = kernels[:, : r + 1].copy()
    halves[:, -1] *= 0.5  # counted in both halves; halving (and doubling) is exact
    return _paired_pass(view, halves, (r, 0), along, engine, kind, dtype)


def paired_pass(view, kernels, signs, along, engine, dtype, out_dtype=None, origin=0, *, divisor=1, out=None):
    """Paired kernels ``(O, k)`` along axis `along` of an :func:`axis_view`: one engine call, scipy's order.

    The paired counterpart of :func:`axis_pass`, through
    :func:`imgconv._engine.correlate_paired`: each kernel with its sign (1
    symmetric, -1 antisymmetric), summed in `dtype`, stored in `out_dtype`
    (default `dtype`; float32, float64, uint8 or uint16), centred ``origin`` taps off (scipy's
    ``origin``), each sum divided by `divisor`, into `out` when given (C-contiguous, of the result's
    size and `out_dtype`, not overlapping `view`).  `engine` holds mode, cval, num_threads and
    optionally dilation, as for :func:`axis_pass`.  Returns ``(B, O, length, trail)`` or ``(B, O, 1, length)``, as
    :func:`axis_pass` would.
    """
    lead, _, length, trail = view.shape if along == 2 else (view.shape[0], 1, view.shape[3], 1)
    y = _engine.correlate_paired(
        view.reshape(lead, length, trail),
        round_taps(kernels, dtype),
        signs=signs,
        mode=engine["mode"],
        cval=engine["cval"],
        dilation=engine.get("dilation", (1, 1))[along - 2],
        origin=origin,
        dtype=dtype,
        out_dtype=out_dtype,
        divisor=divisor,
        out=None if out is None else out.reshape(lead, len(kernels), length, trail),
        num_threads=engine["num_threads"],
    )
    return y if along == 2 else y.reshape(lead, len(kernels), 1, length)


def _powers_of_two(w):
    """Whether every weight of `w` is a signed power of two (a product by it is exact)."""
    mantissa, _ = np.frexp(np.asarray(w, dtype=np.float64))
    return bool(np.all(np.abs(mantissa) == 0.5))


def _plain(w, pair_symmetric):
    """Whether :func:`correlate1d_bank` runs the 1-D kernel `w` as one plain correlation (no paired taps)."""
    return _route(w, pair_symmetric) == _PLAIN


def _fused_pair(x, column, row, *, mode, cval, num_threads):
    """`column` along axis -2 of `x` (a float array, N-D), then `row` along axis -1, in one engine call.

    Bit-equal to two plain :func:`correlate1d_bank` passes (the intermediate rounded to the dtype of
    `x`), through :func:`imgconv._engine.correlate_passes`: no intermediate array.
    """
    dtype = x.dtype
    kh, kw = len(column), len(row)
    y = _engine.correlate_passes(
        np.ascontiguousarray(x).reshape((-1,) + x.shape[-2:]),
        round_taps(column, dtype)[0],
        round_taps(row, dtype)[0],
        pads=(kh // 2, kh // 2, kw // 2, kw // 2),
        mode=check_scipy_mode(mode),
        cval=float(cval),
        num_threads=num_threads,
    )
    return y.reshape(x.shape)


def _fuses(x, axis, method, dtype, dilation):
    """Whether passes along `axis` and the next (the last two axes of the spatial `x`) may run fused."""
    return (
        x.ndim >= 2
        and axis == x.ndim - 2
        and method != "fft"
        and (dtype is None or np.dtype(dtype) == x.dtype)
        and x.dtype in (np.float32, np.float64)
        and x.size > 0
        and (dilation is None or all(d == 1 for d in dilation[-2:]))
    )


def _paired_pass(view, halves, pads, along, engine, sign, dtype=None):
    """A kernel with the symmetry `sign` along `along`, from one half of it, `halves` ``(O, r + 1)``, taps paired.

    The half with `pads` (``(0, r)``: the right half, centre first; ``(r, 0)``:
    the left half, centre last) correlated with the input, plus `sign` times the
    same sum on the input reversed along the axis (which is the other half), in
    place in the first.  The centre tap stays in both (0 for an antisymmetric
    kernel, half the centre weight for a symmetric one), so a non-finite pixel
    makes its own output non-finite, as in scipy and the direct path.  Reversal
    commutes with every border mode (each extends both ends alike).
    """
    reverse = [slice(None)] * 4
    reverse[along] = slice(None, None, -1)
    reverse = tuple(reverse)
    ahead = axis_pass(view, halves, along, pads, engine, dtype=dtype)
    behind = axis_pass(np.ascontiguousarray(view[reverse]), halves, along, pads, engine, dtype=dtype)[reverse]
    return np.subtract(ahead, behind, out=ahead) if sign < 0 else np.add(ahead, behind, out=ahead)


def gaussian_passes(x, sigmas, orders, *, mode, cval, truncate, num_threads, method="auto", exact=False, dilation=None):
    """``scipy.ndimage.gaussian_filter(x[b], sigmas, order=orders, mode, cval, truncate)`` for each `b`.

    `x` is ``(B, *spatial)``; one pass per axis whose sigma exceeds 1e-15,
    axis 0 first, as scipy.  ``exact=True``: scipy's computation, bit for bit
    (module notes): each pass summed in float64 with the taps paired and a
    float32 `x` rounded to float32 after each, as scipy's lines are; for results
    that finite differences follow, where float32 accumulation error would be
    amplified by cancellation.
    `dilation`: one tap spacing per spatial axis (None: 1 everywhere), as for
    :func:`correlate1d_bank`.
    """
    dtype = x.dtype
    for axis, (sigma, order) in enumerate(zip(sigmas, orders)):
        if sigma <= 1e-15:
            continue
        radius = int(truncate * sigma + 0.5)
        last = len(sigmas) - 1
        if (
            axis == last - 1
            and sigmas[last] > 1e-15
            and _fuses(x[0], axis, method, np.float64 if exact else None, dilation)
        ):
            # the last two axes in one engine call, when both kernels are plain (odd derivatives pair their taps)
            column = gaussian_kernel1d(sigma, order, radius)
            row = gaussian_kernel1d(sigmas[last], orders[last], int(truncate * sigmas[last] + 0.5))
            if _plain(column, False) and _plain(row, False):
                return _fused_pair(x, column, row, mode=mode, cval=cval, num_threads=num_threads)
        x = correlate1d_bank(
            x,
            gaussian_kernel1d(sigma, order, radius)[None],
            axis,
            mode=mode,
            cval=cval,
            num_threads=num_threads,
            method=method,
            dilation=1 if dilation is None else dilation[axis],
            dtype=np.float64 if exact else None,  # the engine reads the float32 pixels: no float64 copy
            out_dtype=dtype,
            pair_symmetric=exact,
        )[:, 0]
    return x


def separable_bank(
    x, codes, kernel_of, *, mode, cval, num_threads, method="auto", pair_symmetric=False, dilation=None, exact=False
):
    """Many separable filters of one image, sharing their passes: ``{code: array}``.

    `x` is one image ``(*spatial)``; each entry of `codes` is a tuple with one
    item per spatial axis, and ``kernel_of(axis, item)`` gives the 1-D
    correlation weights of that item along that axis (None: no pass along it).
    Filters are applied axis 0 first, as scipy's separable filters.  Filters
    whose codes agree on the first axes share those passes, and all the
    distinct kernels of one length applied to one intermediate are one engine
    call (a bank read in one sweep of the input).  `pair_symmetric`: as for
    :func:`correlate1d_bank`; `dilation`: one tap spacing per axis (None: 1
    everywhere), as for :func:`correlate1d_bank`.  ``exact=True``: a float32
    `x` is summed in float64 and each pass rounded to float32, as scipy's
    filters compute (see :func:`gaussian_passes`).
    """
    ndim = x.ndim
    results = {}

    def walk(image, axis, members):
        if axis == ndim:
            for code in members:
                results[code] = image
            return
        children = {}
        for code in members:
            children.setdefault(code[axis], []).append(code)
        kernels = {item: kernel_of(axis, item) for item in children}
        by_length = {}
        for item, kernel in kernels.items():
            if kernel is None:
                walk(image, axis + 1, children[item])
            else:
                by_length.setdefault(len(kernel), []).append(item)
        if _fuses(image, axis, method, np.float64 if exact else None, dilation):
            # Each plain kernel along the last axis but one whose filters all end with a plain kernel
            # along the last: one fused engine call per filter, no intermediate.
            for item in [i for i, k in kernels.items() if k is not None and _plain(k, pair_symmetric)]:
                rows = [code[axis + 1] for code in children[item]]
                if all(
                    kernel_of(axis + 1, r) is not None and _plain(kernel_of(axis + 1, r), pair_symmetric) for r in rows
                ):
                    for code in children[item]:
                        results[code] = _fused_pair(
                            image,
                            kernels[item],
                            kernel_of(axis + 1, code[axis + 1]),
                            mode=mode,
                            cval=cval,
                            num_threads=num_threads,
                        )
                    for items in by_length.values():
                        if item in items:
                            items.remove(item)
        for items in by_length.values():
            if not items:
                continue
            y = correlate1d_bank(
                image[None],
                np.stack([kernels[i] for i in items]),
                axis,
                mode=mode,
                cval=cval,
                num_threads=num_threads,
                method=method,
                pair_symmetric=pair_symmetric,
                dilation=1 if dilation is None else dilation[axis],
                dtype=np.float64 if exact else None,
                out_dtype=image.dtype,
            )[0]
            for i, item in enumerate(items):
                walk(y[i], axis + 1, children[item])

    walk(np.ascontiguousarray(x), 0, list(dict.fromkeys(codes)))
    return results
