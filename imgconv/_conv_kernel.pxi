# Compiled convolution driver: loops only, no Python objects inside the kernel,
# GIL released, work shared among OpenMP threads with prange.  Included by each
# _conv_<target>_cy.pyx so the same source is compiled once per instruction set.
#
# Work item = a block of consecutive output rows of one group of one image.  For
# each column segment the driver lists the contributing taps of the block's first
# row (see _microkernel.h) and lets the register-blocked microkernel accumulate
# them for blocks of output channels, row after row (the taps of the next row are
# the same pointers moved by a fixed stride):
#   * interior columns read the input rows in place (no padded copy at all);
#   * border columns, and every column when the horizontal stride is > 1, read a
#     small per-thread buffer holding just the padded columns they need, split
#     into `stride` phases so that every tap still reads consecutive memory; each
#     input row of the block is converted into it once, however many output rows
#     and kernel rows read it;
#   * blocks whose rows reach past the top or bottom edge run row by row: rows
#     outside the image are skipped (zero padding), point to a row of `cval`
#     (constant padding) or are mapped back into the image (other modes).

from cython.parallel cimport parallel, prange
from cython cimport floating

# Input pixels: the compute type itself, or 8/16-bit unsigned images, read
# directly and converted row by row into the phase buffers (never a float copy
# of the whole image).
ctypedef fused pixel_t:
    float
    double
    unsigned char
    unsigned short

cdef extern from "_openmp_shim.h" nogil:
    int IMGCONV_OPENMP
    int omp_get_thread_num()

cdef extern from "_microkernel.h" nogil:
    const char *IMGCONV_SIMD_NAME
    void imgconv_taps_f32(int ob, Py_ssize_t ntaps, const float **taps, const int *tw,
                          const float *w, Py_ssize_t ncols, float **outs, const float *bias,
                          Py_ssize_t nrows, Py_ssize_t in_stride, Py_ssize_t out_stride)
    void imgconv_taps_f64(int ob, Py_ssize_t ntaps, const double **taps, const int *tw,
                          const double *w, Py_ssize_t ncols, double **outs, const double *bias,
                          Py_ssize_t nrows, Py_ssize_t in_stride, Py_ssize_t out_stride)
    int imgconv_cpu_has(const char *name)

# Border modes, in numpy.pad vocabulary (order shared with imgconv._engine).
cdef enum:
    CONSTANT = 0
    EDGE = 1
    REFLECT = 2
    SYMMETRIC = 3
    WRAP = 4


def simd_name():
    """Instruction set this module was compiled for."""
    return IMGCONV_SIMD_NAME.decode()


def openmp_enabled():
    """Whether this module was compiled with OpenMP."""
    return bool(IMGCONV_OPENMP)


def cpu_has(name):
    """Whether the running CPU (and OS) support 'avx2' or 'avx512'."""
    return bool(imgconv_cpu_has(name.encode()))


cdef inline Py_ssize_t _map_index(Py_ssize_t i, Py_ssize_t n, int mode) noexcept nogil:
    """Index into [0, n) for a position outside it, as numpy.pad extends an axis.

    Repeated reflection and wrapping are periodic, so one modulo handles pads of
    any width.
    """
    cdef Py_ssize_t period
    if mode == EDGE:
        return 0 if i < 0 else n - 1
    if mode == WRAP:
        period = n
    elif mode == REFLECT:
        if n == 1:
            return 0
        period = 2 * n - 2
    else:  # SYMMETRIC
        period = 2 * n
    i = i % period
    if i < 0:
        i = i + period
    if mode == REFLECT and i >= n:
        i = period - i
    elif mode == SYMMETRIC and i >= n:
        i = period - 1 - i
    return i


cdef inline floating _border_value(const pixel_t *row, Py_ssize_t col, Py_ssize_t width, int mode,
                                   floating cval) noexcept nogil:
    if mode == CONSTANT:
        return cval
    return <floating>row[_map_index(col, width, mode)]


cdef inline Py_ssize_t _first_at_least(Py_ssize_t start, Py_ssize_t step, Py_ssize_t bound,
                                       Py_ssize_t limit) noexcept nogil:
    """Smallest m in [0, limit] with start + m*step >= bound."""
    cdef Py_ssize_t m
    if start >= bound:
        return 0
    m = (bound - start + step - 1) // step
    return m if m < limit else limit


cdef inline void _fill_phases(floating *dst, const pixel_t *row, Py_ssize_t col0, Py_ssize_t lq,
                              int sw, Py_ssize_t width, int mode, floating cval) noexcept nogil:
    """dst[r*lq + m] = padded row value at column col0 + m*sw + r (unpadded coordinates).

    The columns inside the row are one tight (vectorisable) copy-and-convert loop;
    only the few columns in the padding go through the border-mode mapping.
    """
    cdef Py_ssize_t m, lo, hi, start
    cdef floating *d
    cdef const pixel_t *src
    cdef int r
    for r in range(sw):
        d = dst + r * lq
        start = col0 + r
        lo = _first_at_least(start, sw, 0, lq)
        hi = _first_at_least(start, sw, width, lq)
        if hi < lo:
            hi = lo
        for m in range(lo):
            d[m] = _border_value(row, start + m * sw, width, mode, cval)
        src = row + (start + lo * sw)
        if sw == 1:
            for m in range(hi - lo):
                d[lo + m] = <floating>src[m]
        else:
            for m in range(hi - lo):
                d[lo + m] = <floating>src[m * sw]
        for m in range(hi, lq):
            d[m] = _border_value(row, start + m * sw, width, mode, cval)


cdef inline void _run_channel_blocks(floating *out, Py_ssize_t out_ch, Py_ssize_t hout, Py_ssize_t wout,
                                     Py_ssize_t n, Py_ssize_t i, Py_ssize_t g, Py_ssize_t j0, Py_ssize_t j1,
                                     Py_ssize_t nrows_out, Py_ssize_t in_stride, Py_ssize_t ntaps,
                                     const floating **taps, const int *tw, floating **outs,
                                     const floating *wpack, const int *blk_start, const int *blk_size,
                                     const Py_ssize_t *blk_woff, Py_ssize_t nblk, const floating *bias,
                                     Py_ssize_t og) noexcept nogil:
    """Columns [j0, j1) of output rows i .. i + nrows_out - 1: every channel block of group g."""
    cdef Py_ssize_t b, k, ch0
    for b in range(nblk):
        ch0 = g * og + blk_start[b]
        for k in range(blk_size[b]):
            outs[k] = out + ((n * out_ch + ch0 + k) * hout + i) * wout + j0
        if floating is float:
            imgconv_taps_f32(blk_size[b], ntaps, taps, tw, wpack + blk_woff[g * nblk + b], j1 - j0,
                             outs, bias + ch0 if bias != NULL else NULL, nrows_out, in_stride, wout)
        else:
            imgconv_taps_f64(blk_size[b], ntaps, taps, tw, wpack + blk_woff[g * nblk + b], j1 - j0,
                             outs, bias + ch0 if bias != NULL else NULL, nrows_out, in_stride, wout)


cdef inline Py_ssize_t _phase_taps(const floating **taps, int *tw, Py_ssize_t ntaps, const floating *phases,
                                   Py_ssize_t lq, Py_ssize_t rr, int sw, int dw, int kw) noexcept nogil:
    """Append kernel row rr's taps, read from its phase buffer, to the tap list."""
    cdef int v
    for v in range(kw):
        taps[ntaps] = phases + ((v * dw) % sw) * lq + (v * dw) // sw
        tw[ntaps] = <int>(rr * kw + v)
        ntaps += 1
    return ntaps


cdef inline Py_ssize_t _direct_taps(const floating **taps, int *tw, Py_ssize_t ntaps, const floating *row,
                                    Py_ssize_t rr, int dw, int kw) noexcept nogil:
    """Append kernel row rr's taps, read in place from `row` (already offset to the segment), to the tap list."""
    cdef int v
    for v in range(kw):
        taps[ntaps] = row + v * dw
        tw[ntaps] = <int>(rr * kw + v)
        ntaps += 1
    return ntaps


cdef inline void _segment(floating *out, Py_ssize_t out_ch, Py_ssize_t hout, Py_ssize_t wout, Py_ssize_t n, Py_ssize_t i, Py_ssize_t g,
                          Py_ssize_t j0, Py_ssize_t j1, bint direct,
                          const pixel_t **rowp, const floating **taps, int *tw, floating *buf,
                          floating **outs, const floating *wpack, const int *blk_start,
                          const int *blk_size, const Py_ssize_t *blk_woff, Py_ssize_t nblk,
                          const floating *bias, Py_ssize_t nrows, Py_ssize_t og,
                          int pad_left, int mode, floating cval, int sw, int dw, int kw,
                          Py_ssize_t width) noexcept nogil:
    """Output columns [j0, j1) of the single row i whose kernel rows are rowp[rr]."""
    cdef Py_ssize_t ntaps = 0, rr, lq
    cdef const pixel_t *row
    cdef floating *phases
    lq = (j1 - j0) + ((kw - 1) * dw) // sw
    for rr in range(nrows):
        row = rowp[rr]
        if row == NULL:            # zero padding: the tap row adds nothing
            continue
        if direct:                 # stride 1, all taps inside the row, pixel_t is floating
            ntaps = _direct_taps(taps, tw, ntaps, (<const floating *>row) + (j0 - pad_left), rr, dw, kw)
        else:
            phases = buf + rr * sw * lq
            _fill_phases(phases, row, j0 * sw - pad_left, lq, sw, width, mode, cval)
            ntaps = _phase_taps(taps, tw, ntaps, phases, lq, rr, sw, dw, kw)
    _run_channel_blocks(out, out_ch, hout, wout, n, i, g, j0, j1, 1, 0, ntaps, taps, tw, outs, wpack,
                        blk_start, blk_size, blk_woff, nblk, bias, og)


cdef inline void _block_segment(floating *out, Py_ssize_t out_ch, Py_ssize_t hout, Py_ssize_t wout,
                                Py_ssize_t n, Py_ssize_t i0, Py_ssize_t nrows_out, Py_ssize_t g,
                                Py_ssize_t j0, Py_ssize_t j1, bint direct, const pixel_t *plane0,
                                Py_ssize_t plane_size, Py_ssize_t row0, Py_ssize_t nin,
                                const floating **taps, int *tw, floating *buf, floating **outs,
                                const floating *wpack, const int *blk_start, const int *blk_size,
                                const Py_ssize_t *blk_woff, Py_ssize_t nblk, const floating *bias,
                                Py_ssize_t cg, Py_ssize_t og, int pad_left, int mode, floating cval,
                                int sh, int sw, int dh, int dw, int kh, int kw,
                                Py_ssize_t width) noexcept nogil:
    """Output columns [j0, j1) of rows i0 .. i0 + nrows_out - 1, all of whose input rows
    row0 .. row0 + nin - 1 lie inside the image (channel c's rows start at plane0 + c * plane_size)."""
    cdef Py_ssize_t ntaps = 0, c, u, m, lq, phase_size
    cdef const pixel_t *row
    if direct:
        for c in range(cg):
            for u in range(kh):
                row = plane0 + c * plane_size + (row0 + u * dh) * width
                ntaps = _direct_taps(taps, tw, ntaps, (<const floating *>row) + (j0 - pad_left), c * kh + u,
                                     dw, kw)
        _run_channel_blocks(out, out_ch, hout, wout, n, i0, g, j0, j1, nrows_out, sh * width, ntaps, taps, tw,
                            outs, wpack, blk_start, blk_size, blk_woff, nblk, bias, og)
        return
    lq = (j1 - j0) + ((kw - 1) * dw) // sw
    phase_size = sw * lq
    for c in range(cg):            # every input row of the block into the buffer, once
        for m in range(nin):
            _fill_phases(buf + (c * nin + m) * phase_size, plane0 + c * plane_size + (row0 + m) * width,
                         j0 * sw - pad_left, lq, sw, width, mode, cval)
    for c in range(cg):
        for u in range(kh):
            ntaps = _phase_taps(taps, tw, ntaps, buf + (c * nin + u * dh) * phase_size, lq, c * kh + u,
                                sw, dw, kw)
    _run_channel_blocks(out, out_ch, hout, wout, n, i0, g, j0, j1, nrows_out, sh * phase_size, ntaps, taps,
                        tw, outs, wpack, blk_start, blk_size, blk_woff, nblk, bias, og)


def correlate_nchw(const pixel_t[:, :, :, ::1] x, const floating[::1] wpack,
                   const int[::1] blk_start, const int[::1] blk_size, const Py_ssize_t[::1] blk_woff,
                   const floating[::1] bias, bint has_bias, floating[:, :, :, ::1] out,
                   const floating[::1] cval_row, Py_ssize_t[:, ::1] ptr_scratch, int[:, ::1] tap_scratch,
                   floating[:, ::1] buf_scratch, int pad_top, int pad_left, int mode, double cval,
                   int sh, int sw, int dh, int dw, int groups, int kh, int kw,
                   Py_ssize_t ja, Py_ssize_t jb, int num_threads, Py_ssize_t block_rows):
    """Fill `out` (N, O, Hout, Wout) with the correlation of `x` (see imgconv._engine).

    Columns [ja, jb) are read in place (stride 1, floating input of the compute
    type only; the caller passes ja = jb = Wout otherwise); the rest go through the
    per-thread phase buffers, which must hold ``C/groups * nin * sw * lq`` values,
    ``nin = (block_rows - 1) * sh + (kh - 1) * dh + 1`` (and ``C/groups * kh`` row
    pointers).  Scratch arrays have one row per thread.  Blocks of `block_rows`
    output rows are handed out with guided scheduling: each thread first takes a
    long run of consecutive blocks, then shorter ones, so a busy core does not hold
    up the others.  Long runs matter for fresh outputs: the kernel zeroes a 2 MB
    huge page on first touch, and threads writing interleaved rows of the same
    pages wait on each other's page faults (with dynamic scheduling 2 threads were
    only 1.4-1.6x faster than 1 on a fresh output, 1.9x with guided).
    """
    cdef Py_ssize_t nimg = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t O = out.shape[1], Hout = out.shape[2], Wout = out.shape[3]
    cdef Py_ssize_t cg = C // groups, og = O // groups, nblk = blk_start.shape[0]
    cdef Py_ssize_t nrows = cg * kh, nbr = (Hout + block_rows - 1) // block_rows
    cdef Py_ssize_t total = nimg * groups * nbr
    cdef Py_ssize_t item, n, g, i, i0, i1, j0, j1, rem, c, u, rr, r, row0, nin
    cdef int seg
    cdef int tid
    cdef floating cv = <floating>cval
    cdef const floating *bias_ptr = &bias[0] if has_bias else NULL
    cdef const pixel_t **rowp
    cdef const floating **taps
    cdef floating **outs
    cdef int *tw
    cdef floating *buf
    if total == 0:
        return
    with nogil, parallel(num_threads=num_threads):
        for item in prange(total, schedule="guided"):
            tid = omp_get_thread_num()
            rowp = <const pixel_t **>&ptr_scratch[tid, 0]
            outs = <floating **>&ptr_scratch[tid, nrows]
            taps = <const floating **>&ptr_scratch[tid, nrows + 8]
            tw = &tap_scratch[tid, 0]
            buf = &buf_scratch[tid, 0]
            n = item // (groups * nbr)
            rem = item % (groups * nbr)
            g = rem // nbr
            i0 = (rem % nbr) * block_rows
            i1 = min(i0 + block_rows, Hout)
            row0 = i0 * sh - pad_top
            nin = (i1 - 1 - i0) * sh + (kh - 1) * dh + 1
            if row0 >= 0 and row0 + nin <= H:
                # Every input row of the block is inside the image: one tap list per segment.
                for seg in range(3):
                    j0 = 0 if seg == 0 else (ja if seg == 1 else jb)
                    j1 = ja if seg == 0 else (jb if seg == 1 else Wout)
                    if j1 > j0:
                        _block_segment(&out[0, 0, 0, 0], O, Hout, Wout, n, i0, i1 - i0, g, j0, j1, seg == 1,
                                       &x[n, g * cg, 0, 0], H * W, row0, nin, taps, tw, buf, outs, &wpack[0],
                                       &blk_start[0], &blk_size[0], &blk_woff[0], nblk, bias_ptr, cg, og,
                                       pad_left, mode, cv, sh, sw, dh, dw, kh, kw, W)
                continue
            for i in range(i0, i1):
                for c in range(cg):
                    for u in range(kh):
                        rr = c * kh + u
                        r = i * sh + u * dh - pad_top
                        if 0 <= r < H:
                            rowp[rr] = &x[n, g * cg + c, r, 0]
                        elif mode == CONSTANT:
                            # (integer input comes with cval 0: the caller converts otherwise)
                            rowp[rr] = <const pixel_t *>&cval_row[0] if cv != 0 else NULL
                        else:
                            rowp[rr] = &x[n, g * cg + c, _map_index(r, H, mode), 0]
                for seg in range(3):
                    j0 = 0 if seg == 0 else (ja if seg == 1 else jb)
                    j1 = ja if seg == 0 else (jb if seg == 1 else Wout)
                    if j1 > j0:
                        _segment(&out[0, 0, 0, 0], O, Hout, Wout, n, i, g, j0, j1, seg == 1, rowp, taps, tw, buf,
                                 outs, &wpack[0], &blk_start[0], &blk_size[0], &blk_woff[0], nblk, bias_ptr, nrows,
                                 og, pad_left, mode, cv, sw, dw, kw, W)
