"""FFT cross-correlation with the engine's contract, in overlap-save tiles.

:func:`correlate` computes exactly what :func:`imgconv._engine.correlate`'s direct
kernels compute -- NCHW input, OIHW weight, pads ``(top, bottom, left, right)``
with every engine border mode at any width, ``cval``, stride, dilation, groups,
bias, ``out`` and uint8/uint16 pixels -- with :mod:`scipy.fft` (pocketfft:
multithreaded through ``workers=``, single precision for float32).  The engine's
planner calls it; nothing else should.

How the work is laid out
------------------------
* **Dilation** inserts zeros between the taps: the kernel becomes dense with
  extent ``d*(k-1)+1`` per axis.
* **Stride** is split into phases: with ``s`` per axis,
  ``y[i] = sum_u w[u] xp[i*s + u]`` is the sum over the ``s`` phases ``r`` of the
  stride-1 correlations of ``xp[r::s]`` with ``w[r::s]``.  Each phase is one more
  input channel, so a strided call costs about its input, not ``s**2`` times its
  output.  Phases without a tap (``dilation == stride``, say) are skipped.
* **Overlap-save tiles**: the output is cut into tiles of ``th x tw`` pixels;
  each tile's input window, ``(th + kh' - 1) x (tw + kw' - 1)``, is gathered from
  the image through the border mode's index map (no padded copy of the image is
  ever made) into an FFT buffer of a fast length (zeros in the rest), and the
  circular correlation is exact on the ``th x tw`` outputs it keeps.
* **Banks**: per tile, one forward transform per input channel (and phase) is
  shared by all the output filters of its group; channels are summed in the
  frequency domain, then one inverse transform per output filter.  Kernel
  spectra are cached by content (a hash of the weight bytes, their shape and
  dtype, the dilation, stride and FFT size), so tiles, and later calls with the
  same weights (a ``FilterBank`` or ``Conv2d`` applied to many images), reuse
  them; changing a weight array in place changes its key.
* **Tile shapes** come from :func:`plan_tiles`'s cost model, which counts the
  rounds of batches each thread runs.  On a 2048² image a single filter is cut
  into strips as wide as the image: neighbouring strips share only the kernel's
  rows, where square tiles would also transform the shared columns twice.
* **Threads**: several batches go to threads of the kept pool
  (:func:`imgconv._shared.blocks.in_threads`), each with single-threaded
  transforms and buffers of its own, borrowed from :mod:`imgconv._shared.scratch`
  (fresh buffers fault their pages in on every call).

Memory: the output, one tile's buffers per thread (``C/groups * phases`` forward
spectra, a chunk of output spectra), and the cached kernel spectra, which
:func:`plan_tiles` keeps within :data:`SPECTRUM_BYTES`.

Non-finite input: one NaN or inf in a tile's input window makes every output of
that tile NaN (a Fourier transform mixes every sample into every frequency).
With ``finite_only=True`` (the planner's calls) :func:`correlate` raises
:class:`NonFiniteInput` instead, as soon as a tile's DC coefficient -- the sum of
its input window -- is not finite, and the engine runs the direct path;
``method='fft'`` does what it is told.
"""

import collections
import contextlib
import functools
import hashlib
import itertools
import math
import threading

import numpy as np
import scipy.fft

from ._shared import scratch
from ._shared.blocks import in_threads
from ._shared.geometry import output_size
from ._shared.modes import source_index

__all__ = ["SPECTRUM_BYTES", "NonFiniteInput", "axis_segments", "correlate", "cost_ns", "plan_tiles"]

#: Upper bound, in bytes, on the kernel spectra one call keeps (and the cache holds).
SPECTRUM_BYTES = 256 << 20
# Bytes of tile buffers (input, and output spectra) transformed per batch.
_BATCH_BYTES = 2 << 20
# FFT lengths tried per axis; each is a 5-smooth number (pocketfft is fastest there).
_LENGTHS = tuple(
    sorted(
        {
            scipy.fft.next_fast_len(n, real=True)
            for n in (16, 24, 32, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024, 1280, 1536, 2048)
        }
    )
)
# Cost model, fitted to alternating runs on the project's benchmark machine (2 shared
# cores, pocketfft, float32; float64 transforms cost about 1.6 times as much).
# ns per sample of one forward / one inverse transform of a batch of tiles, which
# grows with the transform size (cache); the inverse of a bank's many filters
# batches better than a single tile's forward.
# Refitted on the AVX2 machine (2026-12-03): 17 single filters and banks from 256² to
# 2048² ran at 0.61-0.95 (median 0.74) of the AVX-512 machine's figures, so the
# per-sample figures below are those times 0.75.
# Remeasured on the AMD EPYC machine (2026-12-07, one thread, rfft2 and the pruned inverse of
# batches of tiles from 64² to 2160², a noisy grid): 2.7-4.8 ns per sample each way up to 2**20
# samples, strips of 192-576 x 2160 included, with no trend in the size; 5-9 ns beyond (1080², 2160²).
# Remeasured (2026-12-08, one thread, 384 x 2160 strips of a 2048² image): 4.6 ns per sample for rfft2,
# 4.7 for the pruned inverse.  With forward 5.2 (was 6.4) the planner's choice between direct and FFT
# cost at most 8% more than the faster path on 51 of 53 measured calls (256² to 4096², 1 to 32 filters
# of 9x9 to 31x31, warm spectra), against 5 calls 11-18% slower before: one 21x21 filter on 2048² and
# 4096² now takes the FFT (1.02-1.20x faster than direct in 4 runs, ratios of medians), 8 filters of
# 15x15 on 512² too when their spectra are cached (1.09-1.18x).  No tile shape of those calls or of
# the benchmark's banks changed.
_SIZE_FACTOR = ((10, 1.0), (20, 1.0), (21, 1.2), (22, 1.6), (24, 2.2))  # (log2 samples, factor)
_FORWARD_NS, _INVERSE_NS = 5.2, 4.9
# ns per sample to gather a tile's input window and per sample and (filter, channel)
# spectrum product; the Python cost of one tile and of one call (hashing the weights,
# looking their spectra up, allocating the buffers).
_GATHER_NS, _MAC_NS, _TILE_NS, _CALL_NS = 0.45, 0.75, 30e3, 1e6
# pocketfft's threads help little on two shared cores (about 1.3 times at workers=2): a
# call of one tile and one filter gains that; calls of several tiles or filters run them
# on threads of their own (:func:`correlate`), 1.6-1.8 times at 2 threads.
# (Several batches on 2 threads gained 1.55-1.98x on 2048² and 4096² but 0.74-1.3x on 512² and 1024²,
# 2026-12-08; a larger figure cut one 101x101 filter on 512² into two tiles, 6% slower than one.)
_THREAD_GAIN, _TILE_THREAD_GAIN = 0.3, 0.75
# ns to start each helper thread's share of a call (waking a pool thread, then sharing the GIL with
# it for the Python between transforms): on 256² with k = 45 (2026-12-07), two tiles on 2 threads
# took 1.5-2.0 ms and one tile 1.1-1.6 ms; the machine's noise at that scale is about 30%.
_TEAM_NS = 0.5e6


class NonFiniteInput(ArithmeticError):
    """A tile's input window holds a NaN or inf (raised by :func:`correlate` with ``finite_only=True``)."""


def _size_factor(samples, itemsize):
    """Cost per sample of a transform of `samples` samples, relative to a small one."""
    t = math.log2(max(samples, 1))
    factor = _SIZE_FACTOR[-1][1]
    for (t0, f0), (t1, f1) in itertools.pairwise(_SIZE_FACTOR):
        if t <= t1:
            factor = f0 + (f1 - f0) * max(0.0, t - t0) / (t1 - t0)
            break
    return factor * (1.6 if itemsize == 8 else 1.0)


def _axis_lengths(out_len, reach):
    """FFT lengths worth trying along one axis: from the smallest holding the kernel to one tile."""
    whole = scipy.fft.next_fast_len(out_len + reach, real=True)
    lengths = [n for n in _LENGTHS if reach < n < whole]
    return lengths + [whole]


def _phase_count(kernel_size, stride, dilation):
    """Stride phases per axis that hold at least one tap."""
    return len({(u * dilation) % stride for u in range(min(kernel_size, stride))})


def _tile_cost(fh, fw, th, tw, n_in, n_out, macs, itemsize):
    """Modelled ns for one tile: `n_in` forward planes, `n_out` inverse planes, `macs` spectrum products."""
    samples = fh * fw
    size = _size_factor(samples, itemsize)
    # The inverse's last pass (along the rows) runs only for the th rows a tile keeps (_inverse_chunks);
    # pruning 19-20% of the rows saved 11-14% of a call; counting that pass as half an inverse is a
    # rough estimate from those runs, not a separate measurement.
    inverse = _INVERSE_NS * (0.5 + 0.5 * min(th, fh) / fh)
    return (
        _TILE_NS
        + samples * (n_in * (_GATHER_NS + _FORWARD_NS * size) + n_out * inverse * size + macs * _MAC_NS)
        + n_out * th * tw
    )


def _batching(tiles, tile_bytes, num_threads):
    """Tiles per batch and batches for `tiles` tiles of `tile_bytes` input bytes each (:func:`correlate`'s split)."""
    batch = max(1, min(tiles, _BATCH_BYTES // tile_bytes))
    if num_threads > 1 and tiles > 1:
        batch = min(batch, -(-tiles // num_threads))
    return batch, -(-tiles // batch)


def _wall_ns(tiles, tile_ns, tile_bytes, n_out, num_threads):
    """Modelled wall time of `tiles` tiles of `tile_ns` each on `num_threads` threads, as :func:`correlate` runs them.

    Several batches: each thread takes whole batches, so the slowest thread runs
    ``ceil(batches / threads)`` of them (3 equal batches on 2 threads take 2 rounds).
    One batch: the threads share its filters, or with one filter pocketfft's own
    threads split the transforms.
    """
    batch, batches = _batching(tiles, tile_bytes, num_threads)
    teams = min(num_threads, batches)
    if teams > 1:
        rounds = -(-batches // teams)
        return rounds * batch * tile_ns * teams / (1 + _TILE_THREAD_GAIN * (teams - 1)) + _TEAM_NS * (teams - 1)
    if n_out > 1 and num_threads > 1:
        return tiles * tile_ns / (1 + _TILE_THREAD_GAIN * (num_threads - 1)) + _TEAM_NS * (num_threads - 1)
    return tiles * tile_ns / (1 + _THREAD_GAIN * (num_threads - 1))


@functools.lru_cache(maxsize=1024)
def plan_tiles(out_h, out_w, reach_h, reach_w, n_in=1, n_out=1, macs=1, itemsize=4, images=1, num_threads=1):
    """FFT buffer size ``(fh, fw)`` for `images` outputs ``out_h x out_w`` of a kernel spanning ``reach + 1``.

    Minimises the modelled wall time of all tiles on `num_threads` threads
    (:func:`_tile_cost`, :func:`_wall_ns`; a tile keeps ``(fh - reach_h) x (fw - reach_w)``
    outputs) over fast lengths such that the `macs` kernel spectra stay within
    :data:`SPECTRUM_BYTES`.  Returns ``((fh, fw), cost_ns)``.

    Examples
    --------
    A 31x31 kernel on 2048² (30 rows and columns of overlap) is cut into strips as
    wide as the image rather than into squares, which would transform the overlap twice:

    >>> plan_tiles(2048, 2048, 30, 30, num_threads=2)[0]
    (384, 2160)
    """
    best = None
    for fh in _axis_lengths(out_h, reach_h):
        th = min(fh - reach_h, out_h)
        for fw in _axis_lengths(out_w, reach_w):
            tw = min(fw - reach_w, out_w)
            too_big = fh * (fw // 2 + 1) * macs * 2 * itemsize > SPECTRUM_BYTES
            tiles = images * -(-out_h // th) * -(-out_w // tw)
            tile_ns = _tile_cost(fh, fw, th, tw, n_in, n_out, macs, itemsize)
            cost = _wall_ns(tiles, tile_ns, n_in * fh * fw * itemsize, n_out, num_threads)
            if best is None or (too_big, cost) < best[0]:
                best = ((too_big, cost), (fh, fw))
    return best[1], best[0][1]


def cost_ns(x_shape, weight, *, pads, stride, dilation, groups, itemsize, num_threads):
    """Modelled wall time (ns) of :func:`correlate` and its FFT size: ``(cost, (fh, fw))``.

    `weight`: the weight array, or only its shape (then its spectra are counted as not cached).
    """
    n, c, h, w = x_shape
    o, cg, kh, kw = weight.shape if isinstance(weight, np.ndarray) else weight
    (sh, sw), (dh, dw) = stride, dilation
    top, bottom, left, right = pads
    hout = output_size(h, kh, sh, dh, top, bottom)
    wout = output_size(w, kw, sw, dw, left, right)
    kph, kpw = -(-((kh - 1) * dh + 1) // sh), -(-((kw - 1) * dw + 1) // sw)
    phases = _phase_count(kh, sh, dh) * _phase_count(kw, sw, dw)
    shape, tiles_ns = plan_tiles(
        hout,
        wout,
        kph - 1,
        kpw - 1,
        n_in=c * phases,
        n_out=o,
        macs=o * cg * phases,
        itemsize=itemsize,
        images=n,
        num_threads=num_threads,
    )
    # The kernel spectra, unless an earlier call left them in the cache (a bank applied to a folder).
    cached = isinstance(weight, np.ndarray) and _CACHE.get(_spectra_key(weight, groups, stride, dilation, shape))
    # Their transform along the rows covers the kernel's kph rows only (_kernel_spectra): 0.58-0.67
    # of a whole forward transform in the runs quoted there.
    samples = shape[0] * shape[1]
    spectra_ns = 0.0 if cached else o * cg * phases * samples * _FORWARD_NS * _size_factor(samples, itemsize)
    spectra_ns *= 0.6 + 0.5 * min(kph, shape[0]) / shape[0]
    # The spectra are one batch of transforms with pocketfft's threads.
    return _CALL_NS + tiles_ns + spectra_ns / (1 + _THREAD_GAIN * (num_threads - 1)), shape


def axis_segments(start, count, step, pad_before, length, mode):
    """How to read `count` padded samples ``start, start + step, ...`` along one axis.

    Returns ``[(dest, source)]``: `dest` a slice of the ``count`` positions,
    `source` a slice of the image (the samples inside it, read in place), an
    index array (border samples, through :func:`imgconv._shared.modes.source_index`) or None (a
    constant border: ``cval``).
    """
    coords = start + step * np.arange(count) - pad_before
    inside = np.flatnonzero((coords >= 0) & (coords < length))
    segments = []
    lo, hi = (int(inside[0]), int(inside[-1]) + 1) if inside.size else (count, count)
    if lo > 0:
        segments.append((slice(0, lo), None if mode == "constant" else source_index(coords[:lo], length, mode)))
    if hi > lo:
        first = int(coords[lo])
        segments.append((slice(lo, hi), slice(first, first + step * (hi - lo - 1) + 1, step)))
    if hi < count:
        segments.append((slice(hi, count), None if mode == "constant" else source_index(coords[hi:], length, mode)))
    return segments


def _gather(plane, row_segments, col_segments, dest, cval):
    """Fill `dest` with the padded window of `plane` the segments describe (:func:`axis_segments`)."""
    for rd, rs in row_segments:
        for cd, cs in col_segments:
            block = dest[rd, cd]
            if rs is None or cs is None:
                block.fill(cval)
            elif isinstance(rs, slice) or isinstance(cs, slice):
                block[...] = plane[rs][:, cs] if isinstance(rs, slice) else plane[:, cs][rs]
            else:
                block[...] = plane[np.ix_(rs, cs)]


class _SpectrumCache:
    """Kernel spectra by content, least recently used out first, at most SPECTRUM_BYTES in all."""

    def __init__(self, capacity=SPECTRUM_BYTES):
        self.capacity = capacity
        self._entries = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key, value, nbytes):
        if nbytes > self.capacity:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (value, nbytes)
            self._bytes += nbytes
            while self._bytes > self.capacity:
                _, (_, old) = self._entries.popitem(last=False)
                self._bytes -= old

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_CACHE = _SpectrumCache()


def _phase_kernels(weight, stride, dilation):
    """Dense, phase-split kernels ``(O, Cg * P, kph, kpw)`` and the phases ``[(rh, rw)]`` they use.

    ``w'[o, c*P + p, a, b] = wd[o, c, a*sh + rh_p, b*sw + rw_p]`` with ``wd`` the
    zero-inserted (dilated) kernel; only phases holding at least one tap are kept.
    """
    o, cg, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    keh, kew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if (dh, dw) != (1, 1):
        dense = np.zeros((o, cg, keh, kew), weight.dtype)
        dense[:, :, ::dh, ::dw] = weight
    else:
        dense = weight
    if (sh, sw) == (1, 1):
        return dense, [(0, 0)], (keh, kew)
    kph, kpw = -(-keh // sh), -(-kew // sw)
    phases_h = sorted({(u * dh) % sh for u in range(kh)})
    phases_w = sorted({(v * dw) % sw for v in range(kw)})
    phases = [(rh, rw) for rh in phases_h for rw in phases_w]
    split = np.zeros((o, cg, len(phases), kph, kpw), weight.dtype)
    for p, (rh, rw) in enumerate(phases):
        sub = dense[:, :, rh::sh, rw::sw]
        split[:, :, p, : sub.shape[2], : sub.shape[3]] = sub
    return split.reshape(o, cg * len(phases), kph, kpw), phases, (kph, kpw)


def _spectra_key(weight, groups, stride, dilation, shape):
    """The cache key of `weight`'s spectra: its content, shape and dtype, and what the spectra depend on."""
    digest = hashlib.blake2b(weight.tobytes(), digest_size=16).digest()
    return (digest, weight.shape, weight.dtype.str, groups, tuple(stride), tuple(dilation), tuple(shape))


def _kernel_spectra(weight, groups, stride, dilation, shape, workers):
    """Conjugated kernel spectra ``(groups, O/groups, Cg*P, fh, fw//2+1)``, the phases, the phase kernel size."""
    key = _spectra_key(weight, groups, stride, dilation, shape)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    split, phases, ksize = _phase_kernels(weight, stride, dilation)
    o, cp = split.shape[:2]
    # Along the rows first, for the kernel's rows only: the other fh - kph rows are zeros, whose
    # transforms are zeros (rfft2 would transform them too).  The same numbers as rfft2, 1.5-1.7x
    # faster for 1 to 48 kernels of 15x15 to 49x49 on 270² to 1080² buffers (2 threads, 2026-12-08).
    spectra = scipy.fft.rfft(split, n=shape[1], axis=-1, workers=workers)
    spectra = scipy.fft.fft(spectra, n=shape[0], axis=-2, workers=workers, overwrite_x=True)
    # The correlation of x with w is the convolution with w reversed: X * conj(W).
    np.conjugate(spectra, out=spectra)
    spectra = spectra.reshape(groups, o // groups, cp, *spectra.shape[-2:])
    value = (spectra, phases, ksize)
    _CACHE.put(key, value, spectra.nbytes)
    return value


def _run_batches(
    work, *, x, out, spectra, phases, maps, geometry, bias_col, cval, shape, workers, filter_threads, non_finite
):
    """Gather, transform, multiply and store the batches of tiles that `work` yields, with buffers of its own.

    Several threads may run this on one shared iterator `work` (next() on a list
    iterator is atomic under the GIL); each batch writes its own tiles of `out`.
    `maps` is shared too: tile origin -> the row and column segments of its input window.
    ``filter_threads > 1`` (one thread running one batch): that many threads share the
    batch's filters, each with single-threaded inverse transforms.
    `non_finite`: None, or a :class:`threading.Event` set (and :class:`NonFiniteInput`
    raised) when a tile's input window holds a NaN or inf; every thread then stops.
    """
    fh, fw, th, tw, kph, kpw, hout, wout, sh, sw, top, left, h, w, mode = geometry
    groups, cg, cp, og, batch, chunk = shape
    n_phases, c = len(phases), groups * cg
    dtype = out.dtype
    complex_dtype = np.result_type(dtype, np.complex64)
    # Scratch buffers, kept between calls: fresh ones fault their pages in on every call (2048² and
    # smaller).  Each tile fills every sample of its input buffer it transforms, zeros included.
    with contextlib.ExitStack() as stack:
        buf = stack.enter_context(scratch.borrow((batch, groups * cp, fh, fw), dtype))
        acc = tmp = None  # with filter threads, each thread borrows its own (_inverse_chunks)
        if filter_threads <= 1:
            acc = stack.enter_context(scratch.borrow((batch, chunk, fh, fw // 2 + 1), complex_dtype))
            tmp = stack.enter_context(scratch.borrow((batch, chunk, fh, fw // 2 + 1), complex_dtype))
        for tiles in work:
            if non_finite is not None and non_finite.is_set():
                return
            for slot, (b, i0, j0) in enumerate(tiles):
                ti, tj = min(th, hout - i0), min(tw, wout - j0)
                nr, nc = ti + kph - 1, tj + kpw - 1  # input rows/columns (per phase) the kept outputs read
                segments = maps.get((i0, j0))
                if segments is None:  # (the same for every image of the batch; threads may both compute one)
                    segments = maps[(i0, j0)] = (
                        [axis_segments(i0 * sh + rh, nr, sh, top, h, mode) for rh, _ in phases],
                        [axis_segments(j0 * sw + rw, nc, sw, left, w, mode) for _, rw in phases],
                    )
                row_maps, col_maps = segments
                # The circular wrap must read zeros, never what another tile left there.
                if nr < fh:
                    buf[slot, :, nr:].fill(0)
                if nc < fw:
                    buf[slot, :, :nr, nc:].fill(0)
                for ch in range(c):
                    g, ci = divmod(ch, cg)
                    for p in range(n_phases):
                        dest = buf[slot, g * cp + ci * n_phases + p, :nr, :nc]
                        _gather(x[b, ch], row_maps[p], col_maps[p], dest, cval)
            m_items = len(tiles)
            spectra_x = scipy.fft.rfft2(buf[:m_items], axes=(-2, -1), workers=workers).reshape(
                m_items, groups, cp, fh, fw // 2 + 1
            )
            if non_finite is not None and not np.isfinite(spectra_x[..., 0, 0]).all():
                non_finite.set()  # (the DC coefficient: the sum of the tile's input window)
                raise NonFiniteInput("a tile's input window holds a NaN or inf")
            chunks = [(g, f0) for g in range(groups) for f0 in range(0, og, chunk)]
            inverse = functools.partial(
                _inverse_chunks, tiles=tiles, spectra_x=spectra_x, spectra=spectra, out=out, bias_col=bias_col,
                geometry=(fh, fw, th, tw, hout, wout, og, cp, chunk),
            )  # fmt: skip
            if filter_threads > 1 and len(chunks) > 1:
                # one batch (a bank on an image of one tile): the threads share its filters instead
                shared = iter(chunks)
                in_threads([functools.partial(inverse, shared, workers=1)] * filter_threads)
            else:
                inverse(iter(chunks), workers=workers, acc=acc, tmp=tmp)


def _inverse_chunks(chunks, *, tiles, spectra_x, spectra, out, bias_col, geometry, workers, acc=None, tmp=None):
    """The filters of `chunks` (group, first filter) for a batch of `tiles`: spectrum products, inverse, store."""
    fh, fw, th, tw, hout, wout, og, cp, chunk = geometry
    m_items = len(tiles)
    rows = min(th, max(hout - i0 for _, i0, _ in tiles))
    with contextlib.ExitStack() as stack:
        if acc is None:  # a filter thread: buffers of its own
            acc = stack.enter_context(scratch.borrow((m_items, chunk, fh, fw // 2 + 1), spectra_x.dtype))
            tmp = stack.enter_context(scratch.borrow((m_items, chunk, fh, fw // 2 + 1), spectra_x.dtype))
        for g, f0 in chunks:
            m = min(chunk, og - f0)
            y_spec, t = acc[:m_items, :m], tmp[:m_items, :m]
            kern = spectra[g, f0 : f0 + m]
            np.multiply(kern[None, :, 0], spectra_x[:, g, 0, None], out=y_spec)
            for k in range(1, cp):
                np.multiply(kern[None, :, k], spectra_x[:, g, k, None], out=t)
                y_spec += t
            # The inverse along the columns (in place: pocketfft reuses an overwritable complex input), then
            # along the rows only for the rows a tile keeps (irfft2 transforms every row): 1.11-1.14x faster
            # in alternating runs for mr8 on 2048² (256 x 768 tiles, 208 rows kept) and k = 63, 101.
            y_spec = scipy.fft.ifft(y_spec, axis=-2, workers=workers, overwrite_x=True)
            y = scipy.fft.irfft(y_spec[:, :, :rows], n=fw, axis=-1, workers=workers, overwrite_x=True)
            o0 = g * og + f0
            for slot, (b, i0, j0) in enumerate(tiles):
                ti, tj = min(th, hout - i0), min(tw, wout - j0)
                dest = out[b, o0 : o0 + m, i0 : i0 + ti, j0 : j0 + tj]
                if bias_col is None:
                    dest[...] = y[slot, :, :ti, :tj]
                else:
                    np.add(y[slot, :, :ti, :tj], bias_col[o0 : o0 + m], out=dest)


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
    num_threads=1,
    tile_shape=None,
    finite_only=False,
):
    """FFT version of :func:`imgconv._engine.correlate` (same arguments, same result).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), float32, float64, uint8 or uint16
        C-contiguous, native byte order.  Integer pixels are converted to the
        weight dtype tile by tile (any scaling is already in the weights).
    weight : ndarray, shape (O, C // groups, kh, kw), float32 or float64
    bias, pads, mode, cval, stride, dilation, groups, out
        As for :func:`imgconv._engine.correlate`.
    num_threads : int
        ``workers`` of every :mod:`scipy.fft` call.
    tile_shape : pair of ints, optional
        FFT buffer size ``(fh, fw)`` (tests use it to force several tiles);
        default :func:`plan_tiles`.
    finite_only : bool, default False
        Raise :class:`NonFiniteInput` if an input sample that some output reads is
        NaN or inf (then `out` may be partly written); by default every output of such
        a tile is NaN.

    Returns
    -------
    y : ndarray, shape (N, O, Hout, Wout), the weight dtype

    Raises
    ------
    NonFiniteInput
        With ``finite_only=True``, for NaN or inf input (or a tile whose sum overflows).
    """
    dtype = weight.dtype
    n, _, h, w = x.shape
    o, cg, kh, kw = weight.shape
    og = o // groups
    top, bottom, left, right = pads
    (sh, sw), (dh, dw) = stride, dilation
    hout = output_size(h, kh, sh, dh, top, bottom)
    wout = output_size(w, kw, sw, dw, left, right)
    if out is None:
        out = np.empty((n, o, hout, wout), dtype)
    kph = -(-((kh - 1) * dh + 1) // sh)
    kpw = -(-((kw - 1) * dw + 1) // sw)
    if tile_shape is None:
        _, tile_shape = cost_ns(
            x.shape,
            weight.shape,
            pads=pads,
            stride=stride,
            dilation=dilation,
            groups=groups,
            itemsize=dtype.itemsize,
            num_threads=num_threads,
        )
    fh, fw = tile_shape
    th, tw = fh - kph + 1, fw - kpw + 1
    spectra, phases, _ = _kernel_spectra(weight, groups, stride, dilation, (fh, fw), num_threads)
    n_phases = len(phases)
    cp = cg * n_phases
    fbins = fh * (fw // 2 + 1)
    complex_dtype = np.result_type(dtype, np.complex64)
    # Tiles are transformed in batches: the Python cost is paid once per batch, and the batch
    # and the output filters per inverse transform keep the working set within _BATCH_BYTES
    # whatever the image and the bank.  With several threads and several batches, each thread
    # runs whole batches with single-threaded transforms (its own buffers; tiles write disjoint
    # parts of `out`): pocketfft's own threads split one transform's lines and gained only about
    # 1.3x at 2 threads, independent tiles nearly 2x.  One batch keeps pocketfft's threads.
    tiles = [(b, i0, j0) for b in range(n) for i0 in range(0, hout, th) for j0 in range(0, wout, tw)]
    batch, _ = _batching(len(tiles), groups * cp * fh * fw * dtype.itemsize, num_threads)
    batches = [tiles[t0 : t0 + batch] for t0 in range(0, len(tiles), batch)]
    teams = min(num_threads, len(batches))
    chunk = max(1, min(og, _BATCH_BYTES // (batch * fbins * complex_dtype.itemsize * 2)))
    if teams == 1 and num_threads > 1:
        chunk = min(chunk, -(-og // num_threads))  # the threads share the filters: at least one chunk each
    run = functools.partial(
        _run_batches,
        x=x,
        out=out,
        spectra=spectra,
        phases=phases,
        maps={},
        geometry=(fh, fw, th, tw, kph, kpw, hout, wout, sh, sw, top, left, h, w, mode),
        bias_col=None if bias is None else bias.astype(dtype, copy=False)[:, None, None],
        cval=dtype.type(cval),
        shape=(groups, cg, cp, og, batch, chunk),
        workers=num_threads if teams == 1 else 1,
        filter_threads=num_threads if teams == 1 else 1,
        non_finite=threading.Event() if finite_only and x.dtype.kind == "f" else None,
    )
    if teams == 1:
        run(iter(batches))
    else:
        work = iter(batches)  # shared: each thread takes the next batch when it is done with one
        in_threads([functools.partial(run, work)] * teams)
    return out
