"""The one engine entry point every public layer calls.

Public functions validate and normalise user input once, then call
:func:`correlate` with a plain description of the work: NCHW input, OIHW weight,
pads as ``(top, bottom, left, right)``, a border mode in ``numpy.pad`` vocabulary,
stride, dilation, groups.  The engine picks the compiled kernel for this CPU,
allocates the output (Python allocates, the kernel fills) and releases the GIL.

Border modes are ``numpy.pad`` names (:data:`ENGINE_MODES`); what torch and
scipy call them, the tables between the vocabularies and their checkers live in
:mod:`imgconv._shared.modes` (re-exported here: :data:`SCIPY_TO_ENGINE_MODE`,
:data:`TORCH_TO_ENGINE_MODE`).

Pads wider than the image follow ``numpy.pad`` (repeated reflection / wrapping);
torch's narrower limits are enforced by the torch-compatible layer, not here.
"""

import collections
import functools
import hashlib
import threading
from collections.abc import Sequence
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from . import _dispatch
from ._shared.convert import compute_dtype
from ._shared.geometry import output_size
from ._shared.modes import ENGINE_MODE_CODES as _MODE_CODES
from ._shared.modes import ENGINE_MODES, SCIPY_TO_ENGINE_MODE, TORCH_TO_ENGINE_MODE
from ._shared.modes import source_index as _source_index
from ._threads import check_num_threads, effective_num_threads, team_starting
from ._typing import EngineMode, Method, Real

__all__ = [
    "ENGINE_MODES",
    "METHODS",
    "SCIPY_TO_ENGINE_MODE",
    "TORCH_TO_ENGINE_MODE",
    "Plan",
    "check_method",
    "choose_method",
    "correlate",
    "correlate_separable",
    "output_size",
]

_CHECKED_KERNELS: set[str] = set()


def _kernel():
    """The dispatched kernel module, its contract checked once: it says which code means which mode.

    Checked on first use, not at import, so that `import imgconv` stays cheap and works before a build.
    """
    kernel = _dispatch.kernel_module()
    if kernel.__name__ not in _CHECKED_KERNELS:
        if kernel.mode_codes() != _MODE_CODES:  # pragma: no cover - a stale build
            raise ImportError(
                f"imgconv's compiled kernels and imgconv._shared.modes disagree on the border-mode "
                f"codes ({kernel.mode_codes()} != {_MODE_CODES}): rebuild imgconv (pip install .)"
            )
        _CHECKED_KERNELS.add(kernel.__name__)
    return kernel


#: Values of the ``method`` argument (``scipy.signal.convolve``'s convention).
METHODS = ("auto", "direct", "fft")

# ENGINE_MODES, the mode tables and output_size live in imgconv._shared (re-exported here).
# Depthwise kernels at least this size in both axes are checked for rank 1 and then
# run as two 1-D passes.
_SEPARABLE_MIN_SIZE = 5
# Widest SIMD vector in columns (16 float32 lanes with AVX-512).
_VECTOR_COLUMNS = 16
# Planner rates, fitted to alternating runs on the benchmark machine (2 shared cores;
# benchmarks/bench_methods.py): ns per multiply-add per thread of the direct
# kernels for float32 -- banks (8 output channels share each input load), single
# filters up to 32 columns wide, wider single filters -- float64 costing 1.5 times as
# much; border columns (a kernel's reach on either side) cost about 2 times an
# interior column; and the fixed cost of a compiled call.  Refitted on the AVX2
# machine (2026-12-03): banks of 8 to 64 filters of 9x9 to 49x49 ran at 0.036-0.049,
# single 21x21 and 31x31 filters at 0.031-0.049 (the AVX-512 machine's 0.024 and 0.03
# sent 512² banks such as gabor's 18 x 35x35 to a direct loop 4x slower than the FFT).
_DIRECT_NS_PER_MAC = {"bank": 0.045, "narrow": 0.04, "wide": 0.06}
_DIRECT_FLOAT64 = 1.5
_DIRECT_BORDER = 2.0
_DIRECT_CALL_NS = 15e3
# Low-rank: depthwise kernels at least this size whose numerical rank is at most
# _LOWRANK_MAX_RANK run as that many separable passes when the model says so (a
# Laplacian of Gaussian has rank 2, a Gabor kernel with a round envelope rank 2): each
# pair of passes costs what one rank-1 kernel's do (_passes_ns), and adding it into the
# output _ACCUMULATE_NS per pixel (0.21-0.34 ns for 128² to 2048² float32).  Before the
# passes were fused the model charged an intermediate per pair.  On rank-2 Laplacians of
# Gaussians of 9x9 to 31x31 on 128² to 2048² (2026-12-08) the old model read 2.1-3.4x their
# measured time and sent the 15x15 ones to a direct loop 1.5-1.8x slower, the 31x31 on 2048²
# to the FFT 1.5x slower; this one read 0.6-1.5x, and each of the nine took the fastest of
# direct, low-rank and FFT.  At most _LOWRANK_MAX_SVD kernels are decomposed per call
# (an SVD costs about a millisecond at 63x63), and the factors are kept by the weights' content.
_LOWRANK_MIN_SIZE = 9
_LOWRANK_MAX_RANK = 8
_ACCUMULATE_NS = 0.3
_LOWRANK_MAX_SVD = 16
# Rank-1 depthwise kernels: two 1-D passes or one direct loop (_separable_plan).  Fitted to alternating
# runs of both on 32² to 2048², kernels 5x5 to 31x31, 1 and 3 channels (2026-12-08, 2 threads): a
# direct call of a 5x5 to 9x9 kernel costs about 4 us plus 0.07 ns per multiply-add and thread
# (0.05-0.09: the smaller the kernel, the more a pixel's store weighs), 20 us more to start a
# team of threads (a 5x5 kernel on 256²: 93 us, against 53 at 0.06 ns on two threads), and with a
# stride 5 ns per output and thread more (the 5x5 on 2048² with stride 2: 3.3 ms, 0.9 at 0.07 ns a
# multiply-add; 9x9 and 15x15, stride 3, 256² to 2048²: 2.5-5 ns); the fused
# passes 7 us per kernel call plus 0.4 ns per output pixel plus 0.06 ns per tap and thread;
# two separate passes (strided, dilated, a constant border other than 0, integer input) 20 us plus
# 0.7 ns per pixel of each pass (their intermediate is written to memory and read back).
_DEPTHWISE_CALL_NS, _DEPTHWISE_NS_PER_MAC, _TEAM_START_NS, _STRIDED_NS = 4e3, 0.07, 20e3, 5.0
_FUSED_CALL_NS, _FUSED_NS_PER_PIXEL, _PASS_TAP_NS = 7e3, 0.4, 0.06
# The Python of correlate_separable around the fused kernel (its checks and views): a rank-2 9x9 on
# 24² took 34 us as two pairs of passes, against 7 us as one direct loop; on small images this fixed
# cost is what decides (a 9x9 Gaussian on 32²: 8 us as one loop, 17-20 through correlate_separable).
_SEPARABLE_PYTHON_NS = 9e3
_TWO_PASS_CALL_NS, _TWO_PASS_NS_PER_PIXEL = 20e3, 0.7
# Lower bounds of the other paths' modelled costs: an FFT call's fixed cost (imgconv._fft._CALL_NS),
# two pairs of fused passes.  A direct call modelled below them is planned without their models.
_FFT_FLOOR_NS = 1e6
_LOWRANK_FLOOR_NS = 2 * (_FUSED_CALL_NS + _SEPARABLE_PYTHON_NS)
# Calls with fewer multiply-adds (about 30 us on one thread) run on one thread.
_MIN_MACS_FOR_A_TEAM = 1 << 20
# Below this many taps per output (per filter and input channel) an FFT never pays:
# its transforms cost tens of ns per pixel, the direct loop a fraction of a ns per tap.
_FFT_MIN_TAPS = 64


def correlate(
    x,
    weight,
    bias=None,
    *,
    pads=(0, 0, 0, 0),
    mode="constant",
    cval=0.0,
    stride=(1, 1),
    dilation=(1, 1),
    groups=1,
    out=None,
    num_threads=None,
    scale=1.0,
    method="auto",
):
    """Cross-correlate a batch of multichannel images with a bank of filters.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), float32, float64, uint8 or uint16
        Integer images are read as they are (raw pixel values, no scaling) and
        converted row by row inside the kernel; their weights are float32.
        The direct kernels read any layout with contiguous rows in place (a
        view whose images overlap, such as a volume's consecutive planes as
        channels, too); other layouts are copied.
    weight : ndarray, shape (O, C // groups, kh, kw)
        float32 or float64: the compute and output dtype.  A float `x` of the
        other precision is converted row by row as it is read (float32 pixels
        filtered in float64: :mod:`imgconv.ndimage`'s rule), never copied whole.
    bias : ndarray, shape (O,), optional
    pads : tuple of 4 non-negative ints
        ``(top, bottom, left, right)``; any width.
    mode : {'constant', 'edge', 'reflect', 'symmetric', 'wrap'}
        ``numpy.pad`` semantics for the padded border.
    cval : float
        Border value for ``mode='constant'``.
    stride, dilation : pair of positive ints
    groups : int
    out : ndarray, optional
        C-contiguous ``(N, O, Hout, Wout)`` array of the weight dtype to fill.
    num_threads : int, optional
    scale : float, default 1
        Compute the correlation of ``x * scale`` (`cval` in those units too),
        by scaling the weights instead of the image: how the scikit-image-style
        layers read uint8/uint16 images as stored yet filter them in [0, 1].
    method : {'auto', 'direct', 'fft'}, default 'auto'
        Algorithm, as in ``scipy.signal.convolve``: 'direct' runs the compiled
        kernels (rank-1 depthwise kernels of at least 5x5 as two 1-D passes where
        the model says they cost less than one loop),
        'fft' the overlap-save FFT path (:mod:`imgconv._fft`), 'auto' whichever
        :func:`choose_method` predicts is faster, never the FFT for input with
        NaN or inf.  With 'fft', a NaN or inf makes every output of its FFT tile
        NaN (in a direct correlation it reaches only the outputs whose window
        holds it).

    Returns
    -------
    y : ndarray, shape (N, O, Hout, Wout)

    Notes
    -----
    Callers validate; this function trusts its arguments.

    Besides `out`, memory is a per-thread scratch sized by the kernel taps and
    the output width (times a block of at most 64 output rows), never by the
    dilation or the stride: no padded copy of the input is made, and taps that
    fall in the border are mapped back into the image (or read `cval`) index by
    index, so ``dilation=100000`` on a 16x16 image costs no more than
    ``dilation=1``.
    """
    x = _native_rows(x)
    weight = _native(weight)
    if scale != 1.0:
        # One rounding of w * scale: float32 weights are exact in float64.
        weight = (weight.astype(np.float64) * scale).astype(weight.dtype)
        cval = cval / scale
    plan = _plan(x, weight, bias, pads, mode, cval, stride, dilation, groups, num_threads, method, explain=False)
    where = {"pads": pads, "mode": mode, "cval": cval, "stride": stride, "dilation": dilation, "out": out}
    if plan.method == "fft":
        from . import _fft  # scipy.fft costs 0.4 s to import: only calls that take the FFT pay it

        try:
            return _fft.correlate(
                _native(x),
                weight,
                None if bias is None else _native(bias),
                groups=groups,
                num_threads=effective_num_threads(num_threads),
                finite_only=method != "fft",
                **where,
            )
        except _fft.NonFiniteInput:
            pass  # 'auto' and a NaN or inf in the input: the direct path confines it to the windows holding it
    if plan.method == "lowrank":  # rank-r kernels: r (kh + kw) taps per pixel
        return _correlate_lowrank(x, *plan.factors, bias, num_threads=num_threads, **where)
    if plan.method == "separable":  # rank-1 kernels: kh + kw taps per pixel instead of kh * kw
        return correlate_separable(x, *plan.factors, bias, num_threads=num_threads, **where)
    return _correlate_direct(x, weight, bias, groups=groups, num_threads=num_threads, **where)


def _correlate_direct(x, weight, bias, *, pads, mode, cval, stride, dilation, groups, out, num_threads):
    """The compiled direct kernels (what :func:`correlate` runs for ``method='direct'``)."""
    dtype = weight.dtype
    # Input of another dtype than the weights (integers; float32 pixels for float64 weights) is
    # converted row by row in the kernel's buffers, never read in place; its constant border rows
    # would be rows of pixels, so a border value other than 0 takes a converted copy (rare).
    converted = x.dtype != dtype
    if converted and mode == "constant" and cval != 0:
        x = x.astype(dtype)
        converted = False
    kernel = _kernel()
    key = (x.shape, weight.shape, dtype, converted, tuple(pads), tuple(stride), tuple(dilation), groups)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _direct_layout(key, kernel)
    hout, wout, macs, team = layout[:4]
    blk_start, blk_size, offsets, uniform, no_bias, zero_row = layout[11:17]
    fresh = out is None
    if fresh:
        out = np.empty((x.shape[0], weight.shape[0], hout, wout), dtype=dtype)
    if macs < _MIN_MACS_FOR_A_TEAM:
        check_num_threads(num_threads)  # still refused when invalid, though the call runs on one thread
        num_threads = 1  # waking a thread team costs more than this work (milliseconds on a busy machine)
    else:
        num_threads = min(effective_num_threads(num_threads), team)
    sizes = layout[-1].get(num_threads)
    if sizes is None:
        sizes = _thread_sizes(key, layout, num_threads)
    ptr_scratch, tap_scratch, buf_scratch = _scratch(sizes, num_threads, dtype)
    # A fresh `out` cannot overlap the weights: then the weights of a single-block layout need no copy.
    wpack = _packed_weights(weight, groups, uniform, fresh)
    has_bias = bias is not None
    bias_arr = _native(bias).astype(dtype, copy=False) if has_bias else no_bias
    # Rows wholly in a constant border point at this row (only when cval != 0; else it is never read).
    cval_row = np.full(max(x.shape[3], 1), cval, dtype=dtype) if mode == "constant" and cval != 0 else zero_row
    if num_threads > 1:
        team_starting(num_threads)
    kernel.correlate_nchw(
        x, wpack, blk_start, blk_size, offsets, bias_arr, has_bias, out, cval_row,
        ptr_scratch, tap_scratch, buf_scratch,
        *_direct_tail(layout, sizes, pads, mode, cval, groups, weight.shape, num_threads),
    )  # fmt: skip
    return out


def _direct_tail(layout, sizes, pads, mode, cval, groups, wshape, num_threads):
    """``correlate_nchw``'s arguments after the scratch arrays, in its order (positional: a keyword
    call cost 1 us more); the kernel checks every size against the arrays (_check_call)."""
    sh, sw, dh, dw, ja, jb = layout[4:10]
    return (
        pads[0], pads[2], _MODE_CODES[mode], float(cval), sh, sw, dh, dw, groups, wshape[2], wshape[3],
        ja, jb, num_threads, sizes[0], sizes[1], sizes[-1],
    )  # fmt: skip


# What a direct call needs besides its arrays depends on the shapes, the dtype, the pads, stride,
# dilation and groups (and the thread count): worked out once per such geometry, kept here.  Values are
# tuples of ints and read-only arrays (threads share them; each call still allocates its own output and
# scratch), plus a dict thread count -> sizes that only ever gains entries.  Cleared when it grows past
# _MAX_LAYOUTS geometries (an application sweeping shapes), which only costs the next calls a rebuild.
_LAYOUTS: dict[tuple, tuple] = {}
_MAX_LAYOUTS = 1024
# Each Python thread keeps the scratch of its last small call for the next call of the same layout
# and thread count: scratch is never shared between calls that can run at once (a thread runs one
# call at a time; the kernel calls no Python), and its contents are never read before written.
_SCRATCH_KEEP_BYTES = 1 << 16
_thread_state = threading.local()


def _frozen(a):
    a.flags.writeable = False
    return a


def _scratch(sizes, num_threads, dtype):
    """Per-thread pointer, tap and buffer scratch (one row per kernel thread) for a call of these `sizes`."""
    kept = getattr(_thread_state, "scratch", None)
    if kept is not None and kept[0] is sizes:
        return kept[1]
    _, _, ptr_len, tap_len, buf_len, nbytes, _ = sizes
    arrays = (
        np.empty((num_threads, ptr_len), np.intp),
        np.empty((num_threads, tap_len), np.intc),
        np.empty((num_threads, buf_len), dtype),
    )
    if nbytes <= _SCRATCH_KEEP_BYTES:
        _thread_state.scratch = (sizes, arrays)
    return arrays


def _direct_layout(key, kernel):
    """The thread-independent part of a direct call's layout (see `_LAYOUTS`), stored under `key`."""
    (n, _, h, w), (o, cg, kh, kw), dtype, converted, pads, stride, dilation, groups = key
    top, bottom, left, right = pads
    hout = output_size(h, kh, stride[0], dilation[0], top, bottom)
    wout = output_size(w, kw, stride[1], dilation[1], left, right)
    macs = n * o * hout * wout * cg * kh * kw
    og = o // groups
    blocks = _channel_blocks(og)
    block_macs = cg * kh * kw
    offsets = [(g * og + start) * block_macs for g in range(groups) for start, _ in blocks]
    sizes = {size for _, size in blocks}
    # A stride with a single output, or a dilation with a single tap, has no effect:
    # as 1 it keeps the kernel's index arithmetic small (stride=2**31 is a valid call).
    sh, sw = (1 if hout == 1 else stride[0]), (1 if wout == 1 else stride[1])
    dh, dw = (1 if kh == 1 else dilation[0]), (1 if kw == 1 else dilation[1])
    reach = (kw - 1) * dw
    # Columns [ja, jb) read the input rows in place: stride 1 and every tap inside the row.
    ja, jb = min(left, wout), min(wout, w - reach + left)
    # Border segments (where there is a border) at least one vector wide, so they run in SIMD too.
    if ja > 0:
        ja = max(ja, min(wout, _VECTOR_COLUMNS))
    if jb < wout:
        jb = min(jb, wout - _VECTOR_COLUMNS)
    col_chunk = _column_chunk(wout, cg, (kh - 1) * dh, dtype.itemsize)
    if sw != 1 or jb <= ja or converted or (col_chunk < wout and kh > 12 and w * dtype.itemsize % 4096 == 0):
        # (more kernel rows than cache ways, a multiple of 4 KB apart, read in place, evict each
        # other: a 65-row column pass over rows of 262144 floats ran at 7 GMAC/s, 16 buffered)
        ja = jb = wout
    # Values per buffered input row: bounded by kw * (widest buffered segment, at most a chunk).
    row_len = kernel.row_buffer_length(min(max(ja, wout - jb) if jb > ja else wout, col_chunk), sw, dw, kw)
    layout = (
        hout,
        wout,
        macs,
        max(1, n * groups * hout),  # the most threads a call can keep busy
        sh,
        sw,
        dh,
        dw,
        ja,
        jb,
        row_len,
        _frozen(np.array([b[0] for b in blocks], np.intc)),
        _frozen(np.array([b[1] for b in blocks], np.intc)),
        _frozen(np.array(offsets, dtype=np.intp)),
        blocks[0][1] if len(sizes) == 1 else None,  # the one block size, when all blocks have it
        _frozen(np.zeros(0, dtype)),  # the bias of a call without one
        _frozen(np.zeros(1, dtype)),  # the border row of a call that never reads it
        col_chunk,
        {},  # thread count -> _thread_sizes
    )
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.clear()
    _LAYOUTS[key] = layout
    return layout


def _thread_sizes(key, layout, num_threads):
    """Rows per work item, buffered rows and the padded scratch lengths of a call on `num_threads` threads."""
    (n, _, _, _), (o, cg, kh, kw), dtype, _, _, _, _, groups = key
    hout, wout, sh, dh, row_len, by_threads = layout[0], layout[1], layout[4], layout[6], layout[10], layout[-1]
    ja, jb, col_chunk = layout[8], layout[9], layout[-2]
    nrows = cg * kh
    block_rows = _block_rows(
        n * groups * -(-wout // col_chunk),
        hout,
        o // groups * cg * kh * kw * col_chunk,
        num_threads,
        phase_row_bytes=cg * row_len * dtype.itemsize,
        sh=sh,
        reach_h=(kh - 1) * dh,
        mostly_buffered=2 * (wout - max(0, jb - ja)) >= wout,
    )
    buf_rows = _buffer_rows(block_rows, kh, sh, dh)
    ptr_len = _padded(2 * nrows + 8 + nrows * kw, np.dtype(np.intp).itemsize)
    tap_len = _padded(nrows * kw, np.dtype(np.intc).itemsize)
    buf_len = _padded(cg * buf_rows * row_len, dtype.itemsize)
    nbytes = num_threads * (ptr_len * np.dtype(np.intp).itemsize + tap_len * np.dtype(np.intc).itemsize)
    nbytes += num_threads * buf_len * dtype.itemsize
    sizes = (block_rows, buf_rows, ptr_len, tap_len, buf_len, nbytes, col_chunk)
    by_threads[num_threads] = sizes
    return sizes


def small_call(x, weight, bias, *, pads, mode, stride, dilation, groups):
    """A compiled direct correlation planned once for every call with these shapes, or None.

    Returns ``run(x, weight, bias) -> out``, which is :func:`correlate` (``method='auto'``
    or 'direct', ``cval=0``, a fresh output, any `num_threads`) for arrays of the shapes,
    dtypes and strides of these, when its plan cannot depend on their values or the thread
    count: work small enough for one thread, and no FFT, separable or low-rank candidate
    (fewer than ``_FFT_MIN_TAPS`` taps per output and filter, not a depthwise kernel of at
    least ``_SEPARABLE_MIN_SIZE`` in both axes) or a candidate whose one direct loop the
    model prefers whatever the weights (:func:`_direct_for_any_values`: a 5x5 Gaussian on
    32², 81 taps of 16 channels on 16²).  What such a call costs is the set-up
    (about 10 us in Python for a 3x3 filter on 64², against 3 of arithmetic), so this
    does it once: the layout, the scratch sizes and the compiled entry point.  The caller
    keys it by everything it validated and keeps it; it trusts its arguments.

    None for every other call (and when `x` would be copied or converted).
    """
    n, c = x.shape[:2]
    o, cg, kh, kw = weight.shape
    if (
        x.dtype != weight.dtype
        or not weight.dtype.isnative
        or _native_rows(x) is not x
        or (bias is not None and bias.dtype != weight.dtype)
    ):
        return None
    candidate = cg * kh * kw >= _FFT_MIN_TAPS or (groups == c == o and min(kh, kw) >= _SEPARABLE_MIN_SIZE)
    if candidate and not _direct_for_any_values(x.shape, weight.shape, pads, stride, dilation, groups, x.itemsize):
        return None
    dtype = weight.dtype
    kernel = _kernel()
    key = (x.shape, weight.shape, dtype, False, tuple(pads), tuple(stride), tuple(dilation), groups)
    layout = _LAYOUTS.get(key) or _direct_layout(key, kernel)
    hout, wout, macs = layout[:3]
    blk_start, blk_size, offsets, uniform, no_bias, zero_row = layout[11:17]
    if macs >= _MIN_MACS_FOR_A_TEAM:
        return None
    sizes = layout[-1].get(1) or _thread_sizes(key, layout, 1)
    entry = kernel.correlate_nchw
    shape = (n, o, hout, wout)
    head = (blk_start, blk_size, offsets)
    tail = _direct_tail(layout, sizes, pads, mode, 0.0, groups, weight.shape, 1)
    empty = np.empty
    packed = uniform == 1  # a fresh output: the OIHW weights themselves (see _packed_weights)

    def run(x, weight, bias):
        out = empty(shape, dtype)
        wpack = weight.reshape(-1) if packed else _packed_weights(weight, groups, uniform, True)
        if bias is None:
            entry(x, wpack, *head, no_bias, False, out, zero_row, *_scratch(sizes, 1, dtype), *tail)
        else:
            entry(x, wpack, *head, np.ascontiguousarray(bias), True, out, zero_row, *_scratch(sizes, 1, dtype), *tail)
        return out

    return run


def correlate_separable(
    x,
    column,
    row,
    bias=None,
    *,
    pads=(0, 0, 0, 0),
    mode="constant",
    cval=0.0,
    stride=(1, 1),
    dilation=(1, 1),
    out=None,
    num_threads=None,
):
    """Filter every channel with the separable kernel ``outer(column[c], row[c])``.

    Two passes of :func:`correlate` (a column pass, then a row pass), each
    depthwise (``groups = C``): ``kh + kw`` multiply-adds per pixel instead of
    ``kh * kw``.  Equal to ``correlate(x, w, groups=C)`` with
    ``w[c, 0] = outer(column[c], row[c])`` for every border mode, because the
    modes extend each axis independently (a constant border: the row pass pads
    with ``cval * sum(column)``).  Not scipy's separable filters, whose row pass
    pads with ``cval`` again: that convention is
    :func:`imgconv._shared.passes.correlate_1d_passes`.

    Unstrided and undilated float input, with any border but a constant other
    than 0, runs both passes in the fused kernel of :func:`correlate_passes`
    (the column pass of a block of rows stays in a per-thread buffer; the same
    sums, bit for bit, as the two passes apart; a bias is added after them):
    1.4-3x faster on 1024² and 2048² than an intermediate written to memory.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    column : ndarray, shape (C, kh)
    row : ndarray, shape (C, kw)
    bias : ndarray, shape (C,), optional
    pads, mode, cval, stride, dilation, out, num_threads
        As for :func:`correlate`.

    Returns
    -------
    y : ndarray, shape (N, C, Hout, Wout)
    """
    x = _native(x)
    c = x.shape[1]
    dtype = compute_dtype(x)
    column = np.ascontiguousarray(column, dtype=dtype).reshape(c, -1)
    row = np.ascontiguousarray(row, dtype=dtype).reshape(c, -1)
    calls = _fused_calls(x, dtype, column, row, mode, cval, stride, dilation)
    if calls and (out is None or out.flags.c_contiguous):  # (the fused kernel writes whole planes)
        return _separable_fused(x, column, row, bias, calls, pads=pads, mode=mode, out=out, num_threads=num_threads)
    column = column.reshape(c, 1, -1, 1)
    row = row.reshape(c, 1, 1, -1)
    top, bottom, left, right = pads
    tmp = correlate(
        x,
        column,
        pads=(top, bottom, 0, 0),
        mode=mode,
        cval=cval,
        stride=(stride[0], 1),
        dilation=(dilation[0], 1),
        groups=c,
        num_threads=num_threads,
        method="direct",
    )
    # A column of constant border pixels has been filtered into cval * sum(column).
    row_cvals = cval * column.reshape(c, -1).sum(axis=1) if mode == "constant" else [cval] * c
    if mode == "constant" and len(set(np.asarray(row_cvals).tolist())) > 1:
        # Channels with different column sums need different border values.
        parts = [
            correlate(
                tmp[:, k : k + 1],
                row[k : k + 1],
                None if bias is None else bias[k : k + 1],
                pads=(0, 0, left, right),
                mode=mode,
                cval=float(row_cvals[k]),
                stride=(1, stride[1]),
                dilation=(1, dilation[1]),
                num_threads=num_threads,
                method="direct",
            )
            for k in range(c)
        ]
        result = np.concatenate(parts, axis=1)
        if out is None:
            return result
        out[...] = result
        return out
    return correlate(
        tmp,
        row,
        bias,
        pads=(0, 0, left, right),
        mode=mode,
        cval=float(row_cvals[0]),
        stride=(1, stride[1]),
        dilation=(1, dilation[1]),
        groups=c,
        out=out,
        num_threads=num_threads,
        method="direct",
    )


def _fused_calls(x, dtype, column, row, mode, cval, stride, dilation):
    """Calls of the fused kernel (:func:`correlate_passes`) that run :func:`correlate_separable`, or 0.

    The fused kernel reads float planes of the compute dtype, unstrided and undilated, and
    pads the row pass's input like its own (with `cval`: the same as ``cval * sum(column)``
    only for 0).  One call when every channel has the same factors (all ``N * C`` planes
    at once), else one per channel of a single image; 0 when the two passes run apart.
    """
    n, c = x.shape[:2]
    if x.dtype != dtype or tuple(stride) != (1, 1) or tuple(dilation) != (1, 1) or (mode == "constant" and cval != 0):
        return 0
    # Every row equal to the next, as bytes: 0.3 us where numpy's comparisons cost 1.5-2 each.
    if c == 1 or (column[1:].tobytes() == column[:-1].tobytes() and row[1:].tobytes() == row[:-1].tobytes()):
        return 1
    return c if n == 1 else 0


def _separable_fused(x, column, row, bias, calls, *, pads, mode, out, num_threads):
    """:func:`correlate_separable` through the fused kernel, in `calls` calls (:func:`_fused_calls`)."""
    n, c, h, w = x.shape
    top, bottom, left, right = pads
    hout = output_size(h, column.shape[1], 1, 1, top, bottom)
    wout = output_size(w, row.shape[1], 1, 1, left, right)
    if out is None:
        out = np.empty((n, c, hout, wout), x.dtype)
    where = {"pads": pads, "mode": mode, "num_threads": num_threads}
    if calls == 1:
        correlate_passes(x.reshape(n * c, h, w), column[0], row[0], out=out.reshape(n * c, hout, wout), **where)
    else:
        for k in range(c):  # one image: channel k's plane and its output are (1, H, W) views
            correlate_passes(x[:, k], column[k], row[k], out=out[:, k], **where)
    if bias is not None:
        out += bias.reshape(1, c, 1, 1).astype(out.dtype, copy=False)
    return out


def correlate_passes(
    x,
    column,
    row,
    *,
    pads,
    mode,
    cval=0.0,
    out=None,
    num_threads=None,
    divisors=(1, 1),
    rows_first=False,
    summed=False,
):
    """scipy's two 1-D passes over each plane of `x` (N, H, W): `column` along H, then `row` along W.

    Each pass extends its own input by `mode` (a constant border is `cval` in both
    passes, unlike :func:`correlate_separable`), and the result equals two
    :func:`correlate` calls, a ``(kh, 1)`` kernel and then a ``(1, kw)`` one over
    its rounded result, bit for bit: the same products summed in the same order.
    Fused in the kernel per block of output rows, the intermediate stays in a
    per-thread buffer instead of a whole array written and read back.

    Parameters
    ----------
    x : ndarray, shape (N, H, W), float32 or float64
        Rows contiguous, other strides any (other layouts are copied).
    column, row : ndarray, shape (kh,) and (kw,)
        Correlation weights, in the dtype of `x` (the compute dtype).
    pads : tuple of 4 non-negative ints
        ``(top, bottom, left, right)``.
    mode : {'constant', 'edge', 'reflect', 'symmetric', 'wrap'}
    cval : float
    out : ndarray, optional
        C-contiguous ``(N, Hout, Wout)`` of the dtype of `x`, not overlapping it.
    num_threads : int, optional
    divisors : pair of numbers, default (1, 1)
        Divide each pass's sums by these (as ``y /= d`` on the pass's result):
        scipy's uniform filter, sums of ones divided by the size.
    rows_first : bool, default False
        The row pass first, then the column pass (as ``scipy.ndimage.sobel``
        along the last axis orders them).
    summed : bool, default False
        Instead, the sum of the two passes each over `x` (the column pass's
        result plus the row pass's, each rounded, as ``scipy.ndimage.laplace``
        adds them); `pads` must keep the shape.

    Returns
    -------
    y : ndarray, shape (N, Hout, Wout)
    """
    x = _native_rows(x[:, None])[:, 0]
    dtype = x.dtype  # native byte order
    column = np.ascontiguousarray(column, dtype=dtype)
    row = np.ascontiguousarray(row, dtype=dtype)
    top, bottom, left, right = pads
    n, h, w = x.shape
    kh, kw = len(column), len(row)
    hout, wout = output_size(h, kh, 1, 1, top, bottom), output_size(w, kw, 1, 1, left, right)
    if out is None:
        out = np.empty((n, hout, wout), dtype)
    line = wout + kw - 1
    if n * hout * wout * (kh + kw) < _MIN_MACS_FOR_A_TEAM:
        check_num_threads(num_threads)
        threads = 1
    else:
        threads = min(effective_num_threads(num_threads), max(1, n * hout))
    # Blocks whose buffered rows (the second pass's input) stay in L2, at least 8 per thread when the image allows.
    row_bytes = (2 * wout + kw - 1 if rows_first else line) * dtype.itemsize
    block_rows = max(1, min(64, max(4, (1 << 18) // row_bytes), -(-n * hout // (8 * threads))))
    buffer = (block_rows + kh - 1) * (line + wout) if rows_first else block_rows * (line + wout if summed else line)
    kmax = max(kh, kw)
    cval_row = np.full(max(w, 1), cval, dtype) if mode == "constant" else np.zeros(1, dtype)
    if threads > 1:
        team_starting(threads)
    _kernel().separable_planes(
        x,
        column,
        row,
        out,
        cval_row,
        np.empty((threads, 2 * kmax), np.intp),
        np.empty((threads, kmax), np.intc),
        np.empty((threads, buffer), dtype),
        top,
        left,
        _MODE_CODES[mode],
        float(cval),
        threads,
        block_rows,
        float(divisors[0]),
        float(divisors[1]),
        bool(rows_first),
        bool(summed),
    )
    return out


_PAIRED_STRIP, _PAIRED_CHUNK, _PAIRED_BUFFER_BYTES, _PAIRED_MAX_BUFFER_BYTES = 32, (8, 256), 1 << 16, 1 << 22


# Plans of lines up to this many padded positions are kept (their index arrays, at most 512 KB each).
_PAIRED_PLANS_UP_TO = 1 << 16

PAIRED_STORES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.uint8, np.uint16))


def correlate_paired(
    x,
    weights,
    *,
    signs,
    mode,
    cval=0.0,
    dilation=1,
    origin=0,
    dtype=None,
    out_dtype=None,
    divisor=1,
    out=None,
    num_threads=None,
):
    """scipy's ``correlate1d`` along axis 1 of `x` (lead, length, trail) with symmetric or antisymmetric weights.

    Each row of `weights` (O, 2r + 1) is correlated as scipy's ``NI_Correlate1D``
    pairs such taps: the centre, then the pairs from the outermost in, each pair
    summed (sign 1) or subtracted (sign -1) before its product, and no
    fused multiply-add.  So a symmetric kernel gives exact zeros on an axis of
    antisymmetry, an antisymmetric one on constant regions, and float64 results
    are scipy's bit for bit.  The weights are taken as given: that they have the
    symmetry is the caller's rule.

    Parameters
    ----------
    x : ndarray, shape (lead, length, trail)
        float32, float64, uint8 or uint16 (a C-contiguous copy if it is not one).
    weights : ndarray, shape (O, 2r + 1)
    signs : int or sequence of int
        Per row of `weights` (or one for all): 1, symmetric; -1, antisymmetric.
    mode : {'constant', 'edge', 'reflect', 'symmetric', 'wrap'}
        How the axis is extended, at any width.
    cval : float
    dilation : int, default 1
        Spacing of the taps along the axis.
    origin : int, default 0
        Shift of the kernel: the centre tap of output ``i`` reads position ``i - origin`` (scipy's
        ``origin`` of a 1-D correlation).
    dtype : dtype, optional
        The compute dtype (float32 or float64; default that of `x`, float64 for integers).
    out_dtype : dtype, optional
        The result's dtype (float32, float64, uint8 or uint16; default `dtype`, that of `out` when
        given): each sum is stored with a C cast, rounded to a float and truncated to an integer
        (scipy's rule), with no array of sums in between.
    divisor : float, default 1
        Divide each sum by it (in `dtype`) before it is stored, as ``y /= divisor``.
    out : ndarray, optional
        C-contiguous ``(lead, O, length, trail)`` array of `out_dtype` to fill, not overlapping `x`.
    num_threads : int, optional

    Returns
    -------
    y : ndarray, shape (lead, O, length, trail)
    """
    dtype = np.dtype(dtype or (x.dtype if x.dtype.kind == "f" else np.float64))
    out_dtype = np.dtype(out_dtype or (dtype if out is None else out.dtype))
    if out_dtype not in PAIRED_STORES:
        raise TypeError(f"correlate_paired: `out_dtype` must be one of {[d.name for d in PAIRED_STORES]}; "
                        f"got {out_dtype}")  # fmt: skip
    x = np.ascontiguousarray(x)
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    weights = np.ascontiguousarray(np.atleast_2d(weights), dtype=dtype)
    lead, length, trail = x.shape
    n_out, nw = weights.shape
    signs = _paired_signs(int(signs) if np.ndim(signs) == 0 else tuple(int(s) for s in np.ravel(signs)), n_out)
    reach = (nw // 2) * int(dilation)
    if out is None:
        out = np.empty((lead, n_out, length, trail), out_dtype)
    elif (
        out.dtype != out_dtype
        or out.shape != (lead, n_out, length, trail)
        or not out.flags.c_contiguous
        or np.may_share_memory(out, x)
    ):
        raise ValueError(
            f"correlate_paired: `out` must be a C-contiguous {out_dtype} array of shape "
            f"{(lead, n_out, length, trail)} not overlapping `x`; got {out.dtype} {out.shape}"
        )
    if out.size == 0:
        return out
    origin = int(origin)
    work = lead * n_out * length * trail * nw
    threads = 1 if work < _MIN_MACS_FOR_A_TEAM else min(effective_num_threads(num_threads), max(1, lead * length))
    if threads == 1:
        check_num_threads(num_threads)
    plan = _paired_plan if length + 2 * reach <= _PAIRED_PLANS_UP_TO else _paired_plan.__wrapped__
    index, strip, chunk, buf_len, res_len = plan(length, trail, reach, origin, mode, dtype.itemsize)
    if threads > 1:
        team_starting(threads)
    kernel = _kernel()
    kernel.paired_lines(
        x,
        weights,
        out.reshape(lead, n_out, length, -1).view(np.uint8),  # its bytes; the kernel casts into its dtype
        _store_kind(out_dtype),
        index,
        np.empty((threads, buf_len), dtype),
        np.empty((threads, res_len), dtype),
        int(dilation),
        signs,
        float(cval),
        threads,
        strip,
        chunk,
        origin,
        float(divisor),
    )
    return out


def paired_call(shape, weights, sign, *, mode, cval, origin, dtype, out_dtype, divisor=1):
    """:func:`correlate_paired` planned once for every call on `x` of `shape` (lead, length, trail), or None.

    Returns ``run(x, out)``, which fills `out` (C-contiguous ``(lead, 1, length, trail)`` of
    `out_dtype`, not overlapping `x`) as ``correlate_paired(x, weights, signs=sign, ...,
    divisor=divisor, out=out)`` would, for a C-contiguous native `x` of `shape` and a dtype the kernel reads,
    when the work is small enough for one thread (so the plan cannot depend on the thread count).
    Such a call is mostly set-up (a 3-tap pass on 64² float64: 35-45 us through correlate1d's full
    path, 11 us planned): this does it once.  The caller keys the plan by everything it validated;
    `run` trusts its arguments.
    """
    lead, length, trail = shape
    weights = np.ascontiguousarray(np.atleast_2d(weights), dtype=dtype)
    nw = weights.shape[1]
    dtype, out_dtype = np.dtype(dtype), np.dtype(out_dtype)
    if lead * length * trail * nw >= _MIN_MACS_FOR_A_TEAM or out_dtype not in PAIRED_STORES or nw % 2 == 0:
        return None
    reach = nw // 2
    index, strip, chunk, buf_len, res_len = _paired_plan(length, trail, reach, int(origin), mode, dtype.itemsize)
    weights.flags.writeable = False
    entry, kind, signs, empty = _kernel().paired_lines, _store_kind(out_dtype), _paired_signs(int(sign), 1), np.empty
    tail = (1, signs, float(cval), 1, strip, chunk, int(origin), float(divisor))
    lines = (lead, 1, length, trail * out_dtype.itemsize)

    def run(x, out):
        entry(x, weights, out.view(np.uint8).reshape(lines), kind, index, empty((1, buf_len), dtype),
              empty((1, res_len), dtype), *tail)  # fmt: skip
        return out

    return run


@functools.lru_cache(maxsize=8)
def _store_kind(dtype):
    """The kernel's code for storing results of `dtype` (one of PAIRED_STORES)."""
    return _kernel().store_kinds()[dtype.name]


@functools.lru_cache(maxsize=64)
def _paired_signs(signs, n_out):
    """:func:`correlate_paired`'s `signs` (an int or a tuple) as the kernel's read-only intc array of `n_out`."""
    array = np.ascontiguousarray(np.broadcast_to(np.asarray(signs, dtype=np.intc), (n_out,)))
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=256)
def _paired_plan(length, trail, reach, origin, mode, itemsize):
    """What :func:`correlate_paired`'s kernel needs beyond the arrays, which depends on the geometry only.

    ``(index, strip, chunk, buf_len, res_len)``: the source position of each padded position of a
    line (read-only), the strip and chunk of a work item, the lengths of a thread's buffers.  Planned
    once per geometry, as scipy's line buffers are sized once per call: for a small image the
    Python of the plan cost more than the sums.
    """
    index = _source_index(np.arange(-reach - origin, length + reach - origin), length, mode).astype(np.intp, copy=False)
    index.flags.writeable = False
    # A work item buffers `chunk` positions plus the 2 reach of halo, for a strip of columns: chunks
    # long against the halo, and strips as wide as fit about 64 KB of buffered rows (2048² uint8 into
    # float64 sums: 3 taps 6.5 -> 4.2 ms with strips of 2048 x 8 rows instead of 32 x 256; 103 taps
    # best at 32 x 256)
    chunk = max(_PAIRED_CHUNK[0], min(_PAIRED_CHUNK[1], 8 * reach), 2 * reach)
    row_bytes = (min(chunk, length) + 2 * reach) * itemsize
    strip = max(_PAIRED_STRIP, _PAIRED_BUFFER_BYTES // row_bytes)
    if strip * row_bytes > _PAIRED_MAX_BUFFER_BYTES:
        # a kernel far longer than the axis (sigma 1e6 on a few pixels): one column at a time, as scipy's
        # one line buffer, not 32 of them per thread
        strip = max(1, _PAIRED_MAX_BUFFER_BYTES // row_bytes)
    if trail == 1:
        buf_len, res_len = length + 2 * reach, length
    else:
        rows = min(chunk, length) + 2 * reach
        buf_len, res_len = rows * min(strip, trail), min(chunk, length) * min(strip, trail)
    return index, strip, chunk, max(buf_len, 1), max(res_len, 1)


def interleave(planes, out, num_threads=None):
    """Write the planes ``(n, *shape)`` into the last axis of `out` ``(*shape, n)``, a view of any row stride.

    ``out[..., f] = planes[f]`` for float32 or float64 arrays of one dtype, in
    threads: the feature stacks' channels-last layout without one strided copy
    per plane.
    """
    planes = np.ascontiguousarray(planes)
    flat_out = out.reshape(-1, out.shape[-1])
    if not np.shares_memory(flat_out, out):  # pragma: no cover - callers pass views whose rows reshape
        raise ValueError("interleave: `out` must reshape to (pixels, n) without a copy")
    threads = effective_num_threads(num_threads) if planes.size >= _MIN_MACS_FOR_A_TEAM else 1
    _kernel().interleave(planes.reshape(len(planes), -1), flat_out, threads)
    return out


def features_2d(out, smoothed, *, intensity=True, edges=True, texture=True, num_threads=None):
    """The 2-D feature stack from the smoothed images, written into the channels-last `out` ``(H, W, n * S)``.

    For each of the S float32 ``(H, W)`` images of `smoothed`, ``n`` values a
    pixel, in this order, each group if asked for: the smoothed value; the
    Sobel magnitude (:func:`skimage.filters.sobel`); the two eigenvalues,
    largest first, of the ``np.gradient``-twice Hessian
    (:func:`skimage.feature.hessian_matrix_eigvals`) -- scikit-image's SciPy
    and NumPy roundings bit for bit (the kernel's _pointwise.h), one threaded
    pass over the rows, every scale of a row before the next row.
    """
    planes = [np.ascontiguousarray(s, np.float32) for s in smoothed]
    threads = effective_num_threads(num_threads) if out.size >= _MIN_MACS_FOR_A_TEAM else 1
    scratch = np.empty((threads, 8 * max(out.shape[1], 1)), np.float32)
    root2 = np.sqrt(2, dtype=np.float32)
    _kernel().features_2d(out, planes, bool(intensity), bool(edges), bool(texture), root2, scratch, threads)
    return out


Plan = collections.namedtuple("Plan", ["method", "reason", "costs", "factors"])
Plan.__doc__ = """The algorithm a :func:`correlate` call takes.

method : {'direct', 'separable', 'lowrank', 'fft'}
reason : str
    Why, in a sentence.
costs : dict
    Modelled wall time in seconds of each path considered ('direct',
    'lowrank', 'fft'); empty when `method` was forced.
factors : tuple of two ndarrays or None
    The column and row factors: ``(C, kh)`` and ``(C, kw)`` of a rank-1 kernel
    ('separable'), ``(C, r, kh)`` and ``(C, r, kw)`` of a rank-``r`` one ('lowrank').
"""


def check_method(method):
    """Validate a ``method`` argument: one of :data:`METHODS`; returns it."""
    if not isinstance(method, str):
        raise TypeError(f"`method` must be one of {sorted(METHODS)}; got {method!r} of type {type(method).__name__}")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {sorted(METHODS)}; got {method!r}")
    return method


def _all_finite(*arrays_or_numbers):
    """Whether every value is finite (integer pixels always are)."""
    for a in arrays_or_numbers:
        if a is None:
            continue
        a = np.asarray(a)
        if a.size > 1 and not any(a.strides):  # one value broadcast (a stand-in of a shape): test that value
            a = a.reshape(-1)[:1]
        # A finite sum proves every value finite (a NaN or inf never cancels out) in one
        # pass without a temporary; only an overflowing sum needs the element test.
        if a.dtype.kind != "f":
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            total = a.sum()
        if not np.isfinite(total) and not np.isfinite(a).all():
            return False
    return True


# The plan of an engine call that takes the direct kernels without weighing them (the engine reads
# only `method` and `factors`; choose_method gets a Plan of its own with the reason).
_DIRECT_UNEXPLAINED = Plan("direct", "", {}, None)


def _plan(x, weight, bias, pads, mode, cval, stride, dilation, groups, num_threads, method, *, explain=True):
    """Choose the path of one :func:`correlate` call (see :func:`choose_method`).

    ``explain=False`` (the engine's own calls) may return a shared Plan without a reason for the
    direct cases decided without a cost model: a tiny call should not pay for formatting one.
    """
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if method == "fft":
        return Plan("fft", "method='fft' was asked for", {}, None)
    factors = None
    if groups == c == o and min(kh, kw) >= _SEPARABLE_MIN_SIZE:
        factors = separable_factors(weight)
    if factors is not None:
        return _separable_plan(x, weight, factors, pads, mode, cval, stride, dilation, num_threads, method, explain)
    if method == "direct":
        return Plan("direct", "method='direct' was asked for", {}, None) if explain else _DIRECT_UNEXPLAINED
    if cg * kh * kw < _FFT_MIN_TAPS:
        if not explain:
            return _DIRECT_UNEXPLAINED
        return Plan(
            "direct", f"{cg * kh * kw} taps per output and filter: below {_FFT_MIN_TAPS}, an FFT never pays", {}, None
        )
    top, bottom, left, right = pads
    hout = output_size(h, kh, stride[0], dilation[0], top, bottom)
    wout = output_size(w, kw, stride[1], dilation[1], left, right)
    itemsize = weight.dtype.itemsize
    macs = n * o * hout * wout * cg * kh * kw
    # (effective_num_threads reads the environment and the CPU affinity: a few us, more than a tiny call)
    team = 1 if macs < _MIN_MACS_FOR_A_TEAM else effective_num_threads(num_threads)
    direct_ns = _direct_ns(macs, o // groups, kw, dilation[1], wout, itemsize, team)
    lowrank_candidate = groups == c == o and min(kh, kw) >= _LOWRANK_MIN_SIZE and c <= _LOWRANK_MAX_SVD
    if not explain and direct_ns < _other_paths_floor(lowrank_candidate):
        # No other path can cost less: skip their models (on 32², 2-3 times the direct call itself).
        return _DIRECT_UNEXPLAINED
    threads = team if team > 1 else effective_num_threads(num_threads)
    from . import _fft  # imported on the first call that weighs an FFT, not by `import imgconv`

    fft_ns, shape = _fft.cost_ns(
        x.shape,
        weight,
        pads=pads,
        stride=stride,
        dilation=dilation,
        groups=groups,
        itemsize=itemsize,
        num_threads=threads,
    )
    costs = {"direct": direct_ns * 1e-9, "fft": fft_ns * 1e-9}
    lowrank = lowrank_factors(weight) if lowrank_candidate else None
    if lowrank is not None:
        columns, rows = lowrank
        rank = columns.shape[1]
        # rank pairs of passes, each added into the output (the first written there)
        calls = _fused_calls(x, compute_dtype(x), columns[:, 0], rows[:, 0], mode, cval, stride, dilation)
        pass_ns = _passes_ns(n * c, h, w, hout, wout, kh, kw, calls, itemsize, threads)
        lowrank_ns = rank * pass_ns + (rank - 1) * n * c * hout * wout * _ACCUMULATE_NS
        costs["lowrank"] = lowrank_ns * 1e-9
        if lowrank_ns < min(direct_ns, fft_ns):
            return Plan(
                "lowrank",
                f"the {kh}x{kw} kernels have rank {rank}: {rank * (kh + kw)} taps per pixel in {rank} pairs of "
                f"1-D passes, modelled {min(direct_ns, fft_ns) / lowrank_ns:.3g}x faster than "
                f"{'direct' if direct_ns <= fft_ns else 'FFT'}",
                costs,
                lowrank,
            )
    ratio = direct_ns / fft_ns
    if ratio <= 1:
        return Plan(
            "direct", f"direct modelled {1 / ratio:.3g}x faster than FFT ({macs:.3g} multiply-adds)", costs, None
        )
    # The engine's own calls leave the input to the FFT (correlate's finite_only): a tile's DC coefficient
    # is the sum of its input window, so a NaN or inf shows there for free, and the call falls back to
    # direct. Summing a 2048² image first took 1.2-1.4 ms, 4% of a 31x31 filter's FFT.
    if not _all_finite(weight, bias, cval) or (explain and not _all_finite(x)):
        return Plan(
            "direct",
            f"FFT modelled {ratio:.3g}x faster, but the input holds NaN or inf, which an FFT "
            "would spread through its whole tile",
            costs,
            None,
        )
    return Plan(
        "fft", f"FFT modelled {ratio:.3g}x faster than direct ({shape[0]}x{shape[1]} overlap-save tiles)", costs, None
    )


def _direct_ns(macs, filters_per_group, kw, dilation_w, wout, itemsize, team):
    """Modelled ns of a direct call of `macs` multiply-adds on `team` threads (:func:`_plan`'s rates)."""
    kind = "bank" if filters_per_group >= 8 else "narrow" if kw <= 32 else "wide"
    rate = _DIRECT_NS_PER_MAC[kind] * (_DIRECT_FLOAT64 if itemsize == 8 else 1.0)
    # Below _MIN_MACS_FOR_A_TEAM the kernel runs on one thread, in blocks of rows at least twice the
    # kernel's height, so the border columns' input rows are converted about once (a 21x21 on 32²:
    # 0.03 ns per multiply-add); a team costs its start-up, and its shorter blocks convert them again.
    if team > 1:
        rate *= 1 + _DIRECT_BORDER * min(1.0, (kw - 1) * dilation_w / max(wout, 1))
    return _DIRECT_CALL_NS + macs * rate / team + _TEAM_START_NS * (team > 1)


def _other_paths_floor(lowrank_candidate):
    """Below this modelled direct cost no FFT (nor, for a candidate, low-rank pairs) can cost less."""
    return min(_FFT_FLOOR_NS, _LOWRANK_FLOOR_NS) if lowrank_candidate else _FFT_FLOOR_NS


def _depthwise_direct_ns(planes, hout, wout, kh, kw, stride, itemsize, team):
    """Modelled ns of one direct loop over `planes` depthwise planes (against two 1-D passes)."""
    macs = planes * hout * wout * kh * kw
    strided = planes * hout * wout * _STRIDED_NS if tuple(stride) != (1, 1) else 0.0
    scale = _DIRECT_FLOAT64 if itemsize == 8 else 1.0
    return _DEPTHWISE_CALL_NS + _TEAM_START_NS * (team > 1) + (macs * _DEPTHWISE_NS_PER_MAC * scale + strided) / team


def _direct_for_any_values(x_shape, w_shape, pads, stride, dilation, groups, itemsize):
    """Whether :func:`_plan` takes the direct path on one thread for every weight of `w_shape`.

    The call must be too small for a team; then the plan cannot depend on the values if one loop
    is modelled cheaper than the cheapest two 1-D passes (rank-1 candidates) and than every other
    path's floor (kernels of at least ``_FFT_MIN_TAPS`` taps).
    """
    n, c, h, w = x_shape
    o, cg, kh, kw = w_shape
    hout = output_size(h, kh, stride[0], dilation[0], pads[0], pads[1])
    wout = output_size(w, kw, stride[1], dilation[1], pads[2], pads[3])
    macs = n * o * hout * wout * cg * kh * kw
    if macs >= _MIN_MACS_FOR_A_TEAM:
        return False
    depthwise = groups == c == o
    if depthwise and min(kh, kw) >= _SEPARABLE_MIN_SIZE:
        one_loop = _depthwise_direct_ns(n * c, hout, wout, kh, kw, stride, itemsize, 1)
        if one_loop >= _passes_ns(n * c, h, w, hout, wout, kh, kw, 1, itemsize, 1):
            return False
    if cg * kh * kw >= _FFT_MIN_TAPS:
        lowrank_candidate = depthwise and min(kh, kw) >= _LOWRANK_MIN_SIZE and c <= _LOWRANK_MAX_SVD
        if _direct_ns(macs, o // groups, kw, dilation[1], wout, itemsize, 1) >= _other_paths_floor(lowrank_candidate):
            return False
    return True


def _separable_plan(x, weight, factors, pads, mode, cval, stride, dilation, num_threads, method, explain):
    """Rank-1 depthwise kernels: two 1-D passes, unless the model says one direct loop costs less.

    Small calls are where it can: two passes cost a fixed 7 us more (fused, the intermediate in a
    per-thread buffer; 20 us as two separate calls), which a 5x5 kernel on 32² or 64² does not win back.
    """
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    hout = output_size(h, kh, stride[0], dilation[0], pads[0], pads[1])
    wout = output_size(w, kw, stride[1], dilation[1], pads[2], pads[3])
    macs = n * c * hout * wout * kh * kw
    # effective_num_threads reads the environment and the CPU affinity: a few us, more than a tiny call.
    team = effective_num_threads(num_threads) if macs >= _MIN_MACS_FOR_A_TEAM else 1
    direct_ns = _depthwise_direct_ns(n * c, hout, wout, kh, kw, stride, weight.dtype.itemsize, team)
    calls = _fused_calls(x, compute_dtype(x), *factors, mode, cval, stride, dilation)
    passes_ns = _passes_ns(n * c, h, w, hout, wout, kh, kw, calls, weight.dtype.itemsize, team)
    costs = {"direct": direct_ns * 1e-9, "separable": passes_ns * 1e-9}
    asked = "method='direct' was asked for; " if method == "direct" else ""
    if not explain:  # the engine's own call: no reason to format
        return Plan("separable", "", costs, factors) if passes_ns <= direct_ns else _DIRECT_UNEXPLAINED
    if passes_ns <= direct_ns:
        return Plan(
            "separable",
            f"{asked}the {kh}x{kw} kernels have rank 1: {kh + kw} taps per pixel in two 1-D passes instead of "
            f"{kh * kw}, modelled {direct_ns / passes_ns:.3g}x faster",
            costs,
            factors,
        )
    return Plan(
        "direct",
        f"{asked}the {kh}x{kw} kernels have rank 1, but one direct loop over {hout}x{wout} outputs is modelled "
        f"{passes_ns / direct_ns:.3g}x faster than two 1-D passes",
        costs,
        None,
    )


def _passes_ns(planes, h, w, hout, wout, kh, kw, calls, itemsize, team):
    """Modelled ns of :func:`correlate_separable` over `planes` planes (`calls`: :func:`_fused_calls`).

    `team`: the call's thread count (only work of at least :data:`_MIN_MACS_FOR_A_TEAM` taps uses it).
    """
    scale = _DIRECT_FLOAT64 if itemsize == 8 else 1.0
    if calls:
        pixels = planes * hout * wout
        taps = pixels * (kh + kw)
        per_tap = _PASS_TAP_NS * scale / (1 if taps < _MIN_MACS_FOR_A_TEAM else team)
        return _SEPARABLE_PYTHON_NS + calls * _FUSED_CALL_NS + pixels * _FUSED_NS_PER_PIXEL + taps * per_tap
    # the column pass over every input column of the output rows, then the row pass
    column_pixels, pixels = planes * hout * w, planes * hout * wout
    taps = column_pixels * kh + pixels * kw
    return (
        _TWO_PASS_CALL_NS
        + (column_pixels + pixels) * _TWO_PASS_NS_PER_PIXEL
        + taps * _PASS_TAP_NS * scale / (1 if taps < _MIN_MACS_FOR_A_TEAM else team)
    )


def choose_method(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    *,
    pads: int | np.integer | Sequence[int | np.integer] = (0, 0, 0, 0),
    mode: EngineMode = "constant",
    cval: Real = 0.0,
    stride: int | np.integer | Sequence[int | np.integer] = (1, 1),
    dilation: int | np.integer | Sequence[int | np.integer] = (1, 1),
    groups: int | np.integer = 1,
    bias: npt.ArrayLike | None = None,
    num_threads: SupportsIndex | None = None,
    method: Method = "auto",
) -> "Plan":
    """Which algorithm :func:`imgconv._engine.correlate` would take for these arguments, and why.

    Like ``scipy.signal.choose_conv_method``, but from a cost model (no timing).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        The input (its values matter: 'auto' never takes the FFT for NaN or inf).
    weight : ndarray, shape (O, C // groups, kh, kw)
    pads : int or tuple of 4 non-negative ints, default 0
        ``(top, bottom, left, right)``.
    mode, cval, bias, num_threads, method
        As for :func:`imgconv._engine.correlate`.
    stride, dilation : int or pair of ints, default 1
    groups : int, default 1

    Returns
    -------
    plan : Plan
        ``plan.method`` is 'direct', 'separable', 'lowrank' or 'fft'; ``plan.reason`` says
        why; ``plan.costs`` has the modelled seconds of the paths compared.

    Raises
    ------
    TypeError, ValueError
        For a `method` not in {'auto', 'direct', 'fft'}, or arrays that are not 4-D.

    Examples
    --------
    >>> import numpy as np, imgconv
    >>> x = np.zeros((1, 1, 1024, 1024), np.float32)
    >>> imgconv.choose_method(x, np.ones((1, 1, 3, 3), np.float32), pads=1).method
    'direct'
    >>> imgconv.choose_method(x, np.random.rand(1, 1, 63, 63).astype(np.float32), pads=31).method
    'fft'
    """
    check_method(method)
    x, weight = np.asarray(x), np.asarray(weight)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"`x` and `weight` must be 4-D (NCHW, OIHW); got shapes {x.shape} and {weight.shape}")
    pads = (pads,) * 4 if np.ndim(pads) == 0 else tuple(pads)  # type: ignore[arg-type]
    stride = (stride,) * 2 if np.ndim(stride) == 0 else tuple(stride)  # type: ignore[arg-type]
    dilation = (dilation,) * 2 if np.ndim(dilation) == 0 else tuple(dilation)  # type: ignore[arg-type]
    return _plan(x, weight, bias, pads, mode, cval, stride, dilation, groups, num_threads, method)


# Factors of kernels, by content (the weight bytes, shape and dtype): a call with the weights of an
# earlier one skips the factorisation (about 70 us for one 7x7 kernel, most of a small image's call).
_FACTORS_CACHE_SIZE = 64


def _kept_by_content(factorise):
    """`factorise(weight, *args)`, its results kept by the weight's content (the last _FACTORS_CACHE_SIZE).

    The factors are read-only: every call with those weights gets the same arrays.
    """
    cache = collections.OrderedDict()
    lock = threading.Lock()

    @functools.wraps(factorise)
    def kept(weight, *args):
        key = (
            weight.shape,
            weight.dtype.str,
            args,
            hashlib.blake2b(np.ascontiguousarray(weight), digest_size=16).digest(),
        )
        with lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        factors = factorise(weight, *args)
        if factors is not None:
            factors = tuple(_frozen(np.ascontiguousarray(f)) for f in factors)
        with lock:
            cache[key] = factors
            if len(cache) > _FACTORS_CACHE_SIZE:
                cache.popitem(last=False)
        return factors

    return kept


@_kept_by_content
def separable_factors(weight):
    """Split depthwise kernels ``weight`` (C, 1, kh, kw) into column and row factors.

    Returns ``(column (C, kh), row (C, kw))`` when every kernel has rank 1 to
    rounding (reconstruction error within a few ulps of the largest tap), else None.
    """
    c, _, kh, kw = weight.shape
    kernels = weight.reshape(c, kh, kw).astype(np.float64)
    if not np.isfinite(kernels).all():
        return None  # NaN/inf taps: the direct kernels give their exact meaning
    tolerance = 16 * np.finfo(weight.dtype).eps
    # A cheap test first, without LAPACK (whose BLAS threads keep spinning into the
    # next call: a 63x63 FFT ran 1.6 times slower after an SVD): the cross through a
    # rank-1 kernel's largest tap reproduces it to a few times its rounding, so a
    # cross error far above the tolerance rules rank 1 out.
    taps = np.arange(c)
    i, j = np.divmod(np.abs(kernels).reshape(c, -1).argmax(axis=1), kw)
    pivots = kernels[taps, i, j]
    scale = np.abs(pivots)
    column, row = kernels[taps, :, j], kernels[taps, i, :] / np.where(scale > 0, pivots, 1)[:, None]
    cross_error = np.abs(np.einsum("ci,cj->cij", column, row) - kernels).max(axis=(1, 2))
    if np.any(cross_error > 64 * tolerance * scale):
        return None
    if np.all(cross_error <= tolerance * scale):
        return column, row
    u, s, vt = np.linalg.svd(kernels)
    column = u[:, :, 0] * np.sqrt(s[:, :1])
    row = vt[:, 0, :] * np.sqrt(s[:, :1])
    error = np.abs(np.einsum("ci,cj->cij", column, row) - kernels).max(axis=(1, 2))
    if np.all(error <= tolerance * scale):
        return column, row
    return None


@_kept_by_content
def lowrank_factors(weight, max_rank=_LOWRANK_MAX_RANK):
    """Split depthwise kernels ``weight`` (C, 1, kh, kw) into rank-``r`` sums of outer products.

    Returns ``(columns (C, r, kh), rows (C, r, kw))`` with ``weight[c, 0] ~= sum_i
    outer(columns[c, i], rows[c, i])`` when every kernel's singular values beyond
    the ``r``-th are below ``16 eps`` of its largest (the dtype's rounding: the
    reconstruction is as exact as the kernel's own taps), for the smallest such
    ``r`` common to all kernels, ``2 <= r <= max_rank``; else None (rank 1 is
    :func:`separable_factors`' case; NaN or inf taps are left to the direct path).
    """
    c, _, kh, kw = weight.shape
    kernels = weight.reshape(c, kh, kw).astype(np.float64)
    factors = None
    if np.isfinite(kernels).all():
        u, s, vt = np.linalg.svd(kernels)
        tolerance = 16 * np.finfo(weight.dtype).eps * s[:, :1]
        rank = int((s > tolerance).sum(axis=1).max())
        if 2 <= rank <= max_rank:
            root = np.sqrt(s[:, :rank])
            factors = (
                np.ascontiguousarray(np.moveaxis(u[:, :, :rank], 2, 1) * root[:, :, None]),
                np.ascontiguousarray(vt[:, :rank, :] * root[:, :, None]),
            )
    return factors


def _correlate_lowrank(x, columns, rows, bias, *, pads, mode, cval, stride, dilation, out, num_threads):
    """``sum_i correlate_separable(x, columns[:, i], rows[:, i])``: a rank-``r`` depthwise correlation."""
    rank = columns.shape[1]
    out = correlate_separable(
        x,
        columns[:, 0],
        rows[:, 0],
        bias,
        pads=pads,
        mode=mode,
        cval=cval,
        stride=stride,
        dilation=dilation,
        out=out,
        num_threads=num_threads,
    )
    part = None
    for i in range(1, rank):
        part = correlate_separable(
            x,
            columns[:, i],
            rows[:, i],
            pads=pads,
            mode=mode,
            cval=cval,
            stride=stride,
            dilation=dilation,
            out=part,
            num_threads=num_threads,
        )
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in the direct kernels (which do not warn)
            out += part
    return out


def _padded(length, itemsize):
    """Per-thread scratch row length: rows padded apart so threads never share a cache line."""
    return -(-max(1, length) * itemsize // 128) * 128 // itemsize + 128 // itemsize


# A work item whose input rows (64 output rows' worth) exceed this is split into column chunks of
# about _CHUNK_BYTES of input rows; below it (every width up to 4096 floats with short kernels) items
# span the whole width.
_CHUNK_ABOVE_BYTES = 1 << 21
_CHUNK_BYTES = 1 << 19


def _column_chunk(wout, cg, reach_h, itemsize):
    """Output columns per work item: the whole width, or chunks whose input rows stay in cache.

    A work item reads ``cg * (rows + reach_h)`` input rows; when rows are so wide
    that these no longer fit the cache (a pass along the first axis of a volume
    is rows of ``H * W`` values), every output row would read its kernel's rows
    from memory again.  Chunks are an odd multiple of 64 columns (whole SIMD
    tiles), at least 320.
    """
    row_bytes = cg * (64 + reach_h) * itemsize
    if wout * row_bytes <= _CHUNK_ABOVE_BYTES:
        return max(1, wout)
    tiles = max(5, _CHUNK_BYTES // row_bytes // 64)
    tiles -= 1 - tiles % 2  # odd: buffered chunks of floats are then never a multiple of 4 KB long
    return min(wout, tiles * 64)


def _block_rows(planes, hout, macs_per_row, num_threads, *, phase_row_bytes, sh, reach_h, mostly_buffered=False):
    """Output rows per work item.

    `planes` counts the images, groups and column chunks that share the output
    rows (work items are blocks of rows of each).

    Enough rows for about 2**17 multiply-adds (a small plane's per-row set-up is
    then shared by many rows) and at least 4 so that border columns convert each
    input row once for several output rows; with tall kernels at least twice the
    kernel's reach in output rows, since a block converts the `reach_h` input rows
    it shares with the next block again (a 25-row column pass on uint8 converted
    every input row 7 times with 4-row blocks).  At most 64, at least 8 items per
    thread when the image allows it and there is more than one thread (on one, a
    64x64 3x3 call ran a third of its time in the set-up of 8-row blocks), and a
    phase buffer of at most 1 MB per thread.  When at least half the output columns
    are `mostly_buffered` (border segments: a kernel wide for the image) the kernel's
    reach wins over the balance: on 64² with 2 threads a 21x21 kernel in 4-row blocks
    converted each input row 6 times and ran 2.2x slower (31x31: 1.9x) than in 40-row
    blocks, which leave one thread idle part of the time.
    """
    floor = -(-2 * reach_h // sh)
    rows = max(4, (1 << 17) // max(1, macs_per_row), floor)
    if num_threads == 1:
        rows = min(rows, 64)
    else:
        rows = min(rows, 64, max(min(floor, 64) if mostly_buffered else 1, planes * hout // (8 * num_threads)))
    fit = ((1 << 20) // max(1, phase_row_bytes) - reach_h - 1) // sh + 1  # rows whose input fits 1 MB
    return max(1, min(rows, fit))


def _buffer_rows(block_rows, kh, sh, dh):
    """Input rows per channel the per-thread buffer holds (at least `kh`).

    A block of output rows inside the image buffers each of its
    ``(block_rows - 1) * sh + (kh - 1) * dh + 1`` input rows once, which pays
    while that is at most the ``kh`` rows per output row that row-by-row work
    converts.  Farther apart (large dilation or stride) the rows in between are
    never read, so the buffer holds just one output row's `kh` rows and such
    blocks buffer row by row: the scratch depends on the kernel and the output,
    never on the dilation or the stride.
    """
    nin = (block_rows - 1) * sh + (kh - 1) * dh + 1
    return nin if nin <= kh * block_rows else kh


def _channel_blocks(og):
    """Split a group's `og` output channels into blocks of 8, 4, 2 and 1 (kernel sizes)."""
    blocks, start = [], 0
    for size in (8, 4, 2, 1):
        while og - start >= size:
            blocks.append((start, size))
            start += size
    return blocks


# Packed weights of small banks, by content (the bytes, shape, dtype and groups): packing takes a
# few NumPy calls, about 2.5 us, half the Python cost of a 3x3 bank on a small image; hashing the bytes
# of a bank of at most _PACKED_MAX_BYTES costs 0.4 us.  Read-only arrays of the engine's own (never a
# caller's `out`), so a kept one is never written; cleared when it outgrows _PACKED_SIZE entries.
_PACKED: dict[tuple, np.ndarray] = {}
_PACKED_SIZE = 256
_PACKED_MAX_BYTES = 4096


def _packed_weights(weight, groups, uniform, fresh):
    """:func:`_pack_weights` of `weight` for a call that writes a `fresh` output (else a copy), kept for small banks."""
    if uniform == 1 and fresh:
        return weight.reshape(-1)  # the OIHW order itself: a view
    if weight.nbytes > _PACKED_MAX_BYTES:
        return _pack_weights(weight, groups, uniform)
    key = (weight.tobytes(), weight.shape, weight.dtype.char, groups)
    wpack = _PACKED.get(key)
    if wpack is None:
        if len(_PACKED) >= _PACKED_SIZE:
            _PACKED.clear()
        wpack = _PACKED[key] = _frozen(_pack_weights(weight, groups, uniform))
    return wpack


def _pack_weights(weight, groups, uniform, *, copy=True):
    """Weights per (group, block) laid out [c][u][v][k] so a tap's OB weights are adjacent.

    Block after block, in the order of `_channel_blocks` within each group.  `uniform` is the block
    size when every block has it (then one transpose packs them all), else None.  A copy, except
    with ``copy=False`` for blocks of one channel (one output channel per group), whose packing is
    `weight` itself: then a view.
    """
    o, cg, kh, kw = weight.shape
    og = o // groups
    if uniform == 1:  # [c][u][v][k] with one k is the OIHW order itself
        return weight.reshape(-1).copy() if copy else weight.reshape(-1)
    if uniform is not None:
        blocks = weight.reshape(groups, og // uniform, uniform, cg, kh, kw)
        return blocks.transpose(0, 1, 3, 4, 5, 2).copy().reshape(-1)
    parts = []
    for g in range(groups):
        for start, size in _channel_blocks(og):
            block = weight[g * og + start : g * og + start + size]
            parts.append(np.ascontiguousarray(block.transpose(1, 2, 3, 0)).ravel())
    return np.concatenate(parts)


def _native(a):
    """C-contiguous, native-byte-order view or copy of `a` (never modifies `a`)."""
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return np.ascontiguousarray(a)


def _native_rows(x):
    """`x` (N, C, H, W) as the direct kernels read it: contiguous rows, other strides any whole number of
    elements (a view of overlapping planes too), native byte order; a C-contiguous copy otherwise."""
    if not x.dtype.isnative:
        return _native(x)
    if x.flags.c_contiguous:
        return x
    itemsize = x.dtype.itemsize
    if x.strides[3] == itemsize and all(s >= 0 and s % itemsize == 0 for s in x.strides[:3]):
        return x
    return _native(x)
