# Compiled convolution driver: loops only, no Python objects inside the kernel,
# GIL released, rows shared among OpenMP threads with prange.  Included by each
# _conv_<target>_cy.pyx so the same source is compiled once per instruction set.
#
# Work item = one output row of one group of one image.  For that row the driver
# lists the contributing taps (see _microkernel.h) and lets the register-blocked
# microkernel accumulate them for blocks of output channels:
#   * interior columns read the input rows in place (no padded copy at all);
#   * border columns, and every column when the horizontal stride is > 1, read a
#     small per-thread buffer holding just the padded columns they need, split
#     into `stride` phases so that every tap still reads consecutive memory;
#   * rows outside the image are skipped (zero padding), point to a row of `cval`
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
                          const float *w, Py_ssize_t ncols, float **outs, const float *bias)
    void imgconv_taps_f64(int ob, Py_ssize_t ntaps, const double **taps, const int *tw,
                          const double *w, Py_ssize_t ncols, double **outs, const double *bias)
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


cdef inline void _segment(floating *out, Py_ssize_t out_ch, Py_ssize_t hout, Py_ssize_t wout, Py_ssize_t n, Py_ssize_t i, Py_ssize_t g,
                          Py_ssize_t j0, Py_ssize_t j1, bint direct,
                          const pixel_t **rowp, const floating **taps, int *tw, floating *buf,
                          floating **outs, const floating *wpack, const int *blk_start,
                          const int *blk_size, const Py_ssize_t *blk_woff, Py_ssize_t nblk,
                          const floating *bias, Py_ssize_t nrows, Py_ssize_t og,
                          int pad_left, int mode, floating cval, int sw, int dw, int kw,
                          Py_ssize_t width) noexcept nogil:
    """Output columns [j0, j1) of row i: build the tap list, run every channel block."""
    cdef Py_ssize_t ntaps = 0, rr, lq, q, b, k, ch0
    cdef const pixel_t *row
    cdef floating *phases
    cdef int v, r
    lq = (j1 - j0) + ((kw - 1) * dw) // sw
    for rr in range(nrows):
        row = rowp[rr]
        if row == NULL:            # zero padding: the tap row adds nothing
            continue
        if direct:                 # stride 1, all taps inside the row, pixel_t is floating
            for v in range(kw):
                taps[ntaps] = (<const floating *>row) + (j0 - pad_left + v * dw)
                tw[ntaps] = <int>(rr * kw + v)
                ntaps += 1
        else:
            phases = buf + rr * sw * lq
            _fill_phases(phases, row, j0 * sw - pad_left, lq, sw, width, mode, cval)
            for v in range(kw):
                q = (v * dw) // sw
                r = (v * dw) % sw
                taps[ntaps] = phases + r * lq + q
                tw[ntaps] = <int>(rr * kw + v)
                ntaps += 1
    for b in range(nblk):
        ch0 = g * og + blk_start[b]
        for k in range(blk_size[b]):
            outs[k] = out + ((n * out_ch + ch0 + k) * hout + i) * wout + j0
        if floating is float:
            imgconv_taps_f32(blk_size[b], ntaps, taps, tw, wpack + blk_woff[g * nblk + b], j1 - j0,
                             outs, bias + ch0 if bias != NULL else NULL)
        else:
            imgconv_taps_f64(blk_size[b], ntaps, taps, tw, wpack + blk_woff[g * nblk + b], j1 - j0,
                             outs, bias + ch0 if bias != NULL else NULL)


def correlate_nchw(const pixel_t[:, :, :, ::1] x, const floating[::1] wpack,
                   const int[::1] blk_start, const int[::1] blk_size, const Py_ssize_t[::1] blk_woff,
                   const floating[::1] bias, bint has_bias, floating[:, :, :, ::1] out,
                   const floating[::1] cval_row, Py_ssize_t[:, ::1] ptr_scratch, int[:, ::1] tap_scratch,
                   floating[:, ::1] buf_scratch, int pad_top, int pad_left, int mode, double cval,
                   int sh, int sw, int dh, int dw, int groups, int kh, int kw,
                   Py_ssize_t ja, Py_ssize_t jb, int num_threads, Py_ssize_t chunk):
    """Fill `out` (N, O, Hout, Wout) with the correlation of `x` (see imgconv._engine).

    Columns [ja, jb) are read in place (stride 1, floating input of the compute
    type only; the caller passes ja = jb = Wout otherwise); the rest go through the
    per-thread phase buffers.  Scratch arrays have one row per thread.  Rows are
    handed out with guided scheduling: each thread first takes a long run of
    consecutive rows, then shorter ones (never fewer than `chunk`), so a busy core
    does not hold up the others.  Long runs matter for fresh outputs: the kernel
    zeroes a 2 MB huge page on first touch, and threads writing interleaved rows
    of the same pages wait on each other's page faults (with dynamic scheduling
    2 threads were only 1.4-1.6x faster than 1 on a fresh output, 1.9x now).
    """
    cdef Py_ssize_t nimg = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t O = out.shape[1], Hout = out.shape[2], Wout = out.shape[3]
    cdef Py_ssize_t cg = C // groups, og = O // groups, nblk = blk_start.shape[0]
    cdef Py_ssize_t nrows = cg * kh, total = nimg * groups * Hout
    cdef Py_ssize_t item, n, g, i, rem, c, u, rr, r
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
        for item in prange(total, schedule="guided", chunksize=chunk):
            tid = omp_get_thread_num()
            rowp = <const pixel_t **>&ptr_scratch[tid, 0]
            outs = <floating **>&ptr_scratch[tid, nrows]
            taps = <const floating **>&ptr_scratch[tid, nrows + 8]
            tw = &tap_scratch[tid, 0]
            buf = &buf_scratch[tid, 0]
            n = item // (groups * Hout)
            rem = item % (groups * Hout)
            g = rem // Hout
            i = rem % Hout
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
            if ja > 0:
                _segment(&out[0, 0, 0, 0], O, Hout, Wout, n, i, g, 0, ja, False, rowp, taps, tw, buf, outs, &wpack[0],
                         &blk_start[0], &blk_size[0], &blk_woff[0], nblk, bias_ptr, nrows, og,
                         pad_left, mode, cv, sw, dw, kw, W)
            if jb > ja:
                _segment(&out[0, 0, 0, 0], O, Hout, Wout, n, i, g, ja, jb, True, rowp, taps, tw, buf, outs, &wpack[0],
                         &blk_start[0], &blk_size[0], &blk_woff[0], nblk, bias_ptr, nrows, og,
                         pad_left, mode, cv, sw, dw, kw, W)
            if Wout > jb:
                _segment(&out[0, 0, 0, 0], O, Hout, Wout, n, i, g, jb, Wout, False, rowp, taps, tw, buf, outs, &wpack[0],
                         &blk_start[0], &blk_size[0], &blk_woff[0], nblk, bias_ptr, nrows, og,
                         pad_left, mode, cv, sw, dw, kw, W)
