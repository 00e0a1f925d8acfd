/* Template body, included by _microkernel.h once per (MK_T, MK_OB); see there.
 * Defines imgconv_taps_<MK_SUFFIX>_ob<MK_OB>. No include guard on purpose. */

#define MK_CAT3(a, b, c) a##b##c
#define MK_NAME3(a, b, c) MK_CAT3(a, b, c)
#define MK_FN(name) MK_NAME3(name, MK_SUFFIX, MK_NAME3(_ob, MK_OB, ))
#define MK_NAME MK_NAME3(imgconv_taps_, MK_SUFFIX, MK_NAME3(_ob, MK_OB, ))

#if IMGCONV_HAVE_VECTOR_EXT
#define MK_VL ((ptrdiff_t)(sizeof(MK_V) / sizeof(MK_T)))

/* `nv` is a compile-time constant after inlining, so the accumulator arrays are
 * fully unrolled and live in registers. */
IMGCONV_INLINE void MK_FN(imgconv_tile_)(const int nv, ptrdiff_t j, ptrdiff_t ntaps,
                                         const MK_T **taps, const int *tw, const MK_T *w,
                                         MK_T **outs, const MK_T *bias, ptrdiff_t in_off,
                                         ptrdiff_t out_off)
{
    MK_V acc[MK_OB][MK_NV];
    MK_V zero = {0};
    for (int k = 0; k < MK_OB; k++)
        for (int v = 0; v < nv; v++)
            acc[k][v] = zero + (bias ? bias[k] : (MK_T)0);
    for (ptrdiff_t t = 0; t < ntaps; t++) {
        const MK_T *p = taps[t] + in_off + j;
        const MK_T *wt = w + (ptrdiff_t)tw[t] * MK_OB;
        MK_V x[MK_NV];
        for (int v = 0; v < nv; v++)
            x[v] = *(const MK_VU *)(p + v * MK_VL);
        /* vector * scalar splats the weight; `zero + wt[k]` would cost a scalar
         * add per weight (0 + -0.0 is +0.0, so the compiler must keep it). */
        for (int k = 0; k < MK_OB; k++)
            for (int v = 0; v < nv; v++)
                acc[k][v] += x[v] * wt[k];
    }
    for (int k = 0; k < MK_OB; k++)
        for (int v = 0; v < nv; v++)
            *(MK_VU *)(outs[k] + out_off + j + v * MK_VL) = acc[k][v];
}
#endif

#if IMGCONV_HAVE_VECTOR_EXT && MK_OB <= 2
/* Kernels of one input channel (depthwise, single filters, the column pass of a
 * separable filter).  Tap (u, v) of output row i reads input row i + u, so MK_CR
 * output rows at once load each (input row, kernel column) vector once and feed
 * it to every output row it contributes to, instead of once per tap from rows a
 * whole image row apart (which missed L1: a 25-row column pass ran at a fraction
 * of the FMA rate).  Each output still sums its taps in the tap list's order
 * (u, then v), so the result is bit-identical to the tap loop.  Output rows are
 * `out_step` apart, input rows `step`; kernel column v is `voff[v]` further
 * along the row, and `wc` holds tap (u, v)'s weights at wc[(u * kw + v) * MK_OB + k]. */
/* Output rows x 2 vectors of columns per chain tile: MK_CR * MK_OB * 2 accumulators
 * plus the loaded row fit the register file (32 vector registers with AVX-512, 16
 * otherwise).  Two vectors per row: with AVX2, one 32-byte vector per row and tile
 * stored half cache lines and measured slower than the tap loop on column kernels. */
#define MK_CR ((IMGCONV_VBYTES == 64 ? 8 : 6) / MK_OB)
#define MK_CNV 2
/* From how many kernel rows the chain runs MK_CR rows at once.  With AVX-512, kernels
 * of 3-7 rows measured 0.5-0.85x of the tap loop (runtime-guarded ramps), from 9 rows
 * 1.1-2x; with AVX2, a 7x7 single filter on 2048^2 ran 1.4x faster chained than in the
 * tap loop (whose 5 loads per 4 FMAs, a row of the image apart, miss L1). */
#define MK_CHAIN_MIN_ROWS (IMGCONV_VBYTES == 32 && MK_OB == 1 ? MK_CR : 8)
/* With AVX2, shorter kernels of one filter chain fewer rows: MK_CR_SHORT (4) for 4 and 5
 * kernel rows, 3 for 3 (2048^2 single filters: 5x5 1.28x, 3x3 1.14x the tap loop;
 * the uniform and Gaussian column passes unchanged within noise). */
#if IMGCONV_VBYTES == 32
#  define MK_CR_SHORT (4 / MK_OB)
#  define MK_CHAIN_SHORT_MIN_ROWS (MK_OB == 1 ? 3 : MK_CHAIN_MIN_ROWS)
#else
#  define MK_CR_SHORT MK_CR
#  define MK_CHAIN_SHORT_MIN_ROWS MK_CHAIN_MIN_ROWS
#endif
#define MK_CHAIN_MAX_TAPS 1024

IMGCONV_INLINE void MK_FN(imgconv_chain_tile_)(const int cr, const int nv, ptrdiff_t j, ptrdiff_t kh, ptrdiff_t kw,
                                               const ptrdiff_t *voff, const MK_T *in0, ptrdiff_t step,
                                               const MK_T *wc, MK_T **outs, const MK_T *bias,
                                               ptrdiff_t out0, ptrdiff_t out_step)
{
    MK_V acc[MK_CR][MK_OB][MK_CNV];
    MK_V zero = {0};
    for (int i = 0; i < cr; i++)
        for (int k = 0; k < MK_OB; k++)
            for (int v = 0; v < nv; v++)
                acc[i][k][v] = zero + (bias ? bias[k] : (MK_T)0);
    /* Input row m feeds output row i with kernel row u = m - i.  With kh >= cr
     * (the caller's choice; cr <= MK_CR is a constant after inlining) every u < kh while rows
     * ramp up (m < MK_CR - 1, rows i <= m) and every u >= 0 while they ramp down
     * (m = kh + s, rows i > s): the unrolled ramps test only compile-time
     * conditions, and the rows in between feed every output row. */
#define MK_CHAIN_ROW(M, GUARD)                                                    \
    for (ptrdiff_t c = 0; c < kw; c++) {                                          \
        const MK_T *p = in0 + (M) * step + voff[c] + j;                           \
        MK_V x[MK_CNV];                                                           \
        for (int v = 0; v < nv; v++)                                              \
            x[v] = *(const MK_VU *)(p + v * MK_VL);                               \
        for (int i = 0; i < cr; i++) {                                         \
            if (GUARD) {                                                          \
                const MK_T *wt = wc + (((M) - i) * kw + c) * MK_OB;               \
                for (int k = 0; k < MK_OB; k++)                                   \
                    for (int v = 0; v < nv; v++)                                  \
                        acc[i][k][v] += x[v] * wt[k];                             \
            }                                                                     \
        }                                                                         \
    }
    IMGCONV_UNROLL
    for (int m = 0; m < cr - 1; m++)
        MK_CHAIN_ROW(m, i <= m)
    for (ptrdiff_t m = cr - 1; m < kh; m++)
        MK_CHAIN_ROW(m, 1)
    IMGCONV_UNROLL
    for (int s = 0; s < cr - 1; s++)
        MK_CHAIN_ROW(kh + s, i > s)
#undef MK_CHAIN_ROW
    for (int i = 0; i < cr; i++)
        for (int k = 0; k < MK_OB; k++)
            for (int v = 0; v < nv; v++)
                *(MK_VU *)(outs[k] + out0 + i * out_step + j + v * MK_VL) = acc[i][k][v];
}

/* Whole chains of `cr` output rows (a constant after inlining) of rows 0 <= r < nrows:
 * rows c, c + q, c + 2q, ... form a chain (kernel row u of one is kernel row u - 1 of
 * the next).  Returns the first row left to the tap loop. */
IMGCONV_INLINE ptrdiff_t MK_FN(imgconv_chains_)(const int cr, ptrdiff_t q, ptrdiff_t kh, ptrdiff_t kw,
                                                const ptrdiff_t *voff, const MK_T *in, ptrdiff_t in_stride,
                                                const MK_T *wc, ptrdiff_t ncols, MK_T **outs, const MK_T *bias,
                                                ptrdiff_t nrows, ptrdiff_t out_stride)
{
    const ptrdiff_t chained = nrows / (q * cr) * (q * cr), step = q * in_stride;
    for (ptrdiff_t base = 0; base < chained; base += q * cr)
        for (ptrdiff_t c = 0; c < q; c++) {
            const ptrdiff_t r0 = base + c;
            const MK_T *in0 = in + r0 * in_stride;
            ptrdiff_t j = 0;
            for (; j + MK_CNV * MK_VL <= ncols; j += MK_CNV * MK_VL)
                MK_FN(imgconv_chain_tile_)(cr, MK_CNV, j, kh, kw, voff, in0, step, wc, outs, bias,
                                           r0 * out_stride, q * out_stride);
            for (; j + MK_VL <= ncols; j += MK_VL)
                MK_FN(imgconv_chain_tile_)(cr, 1, j, kh, kw, voff, in0, step, wc, outs, bias,
                                           r0 * out_stride, q * out_stride);
            if (j < ncols)  /* overlapping last vector, as in the tap loop */
                MK_FN(imgconv_chain_tile_)(cr, 1, ncols - MK_VL, kh, kw, voff, in0, step, wc, outs,
                                           bias, r0 * out_stride, q * out_stride);
        }
    return chained;
}

/* The tap list as kernel rows: q > 0 and kw when tap u * kw + v reads
 * taps[v] + u * q * in_stride for every (u, v) (kernel rows q block rows apart:
 * the dilation, in units of the row stride); 0 otherwise. */
static ptrdiff_t MK_FN(imgconv_chain_step_)(ptrdiff_t ntaps, const MK_T **taps, ptrdiff_t in_stride,
                                            ptrdiff_t *kw_out)
{
    if (ntaps < 2 || in_stride <= 0)
        return 0;
    for (ptrdiff_t kw = 1; kw < ntaps; kw++) {
        const ptrdiff_t d = taps[kw] - taps[0];
        if (ntaps % kw != 0 || d <= 0 || d % in_stride != 0)
            continue;
        ptrdiff_t t = kw;
        while (t < ntaps && taps[t] - taps[t - kw] == d)
            t++;
        if (t < ntaps)
            return 0;  /* the first candidate fails: not a single-channel kernel */
        *kw_out = kw;
        return d / in_stride;
    }
    return 0;
}
#endif

/* Output row r of a block (see MK_NAME), tap after tap. */
static void MK_FN(imgconv_row_)(ptrdiff_t r, ptrdiff_t ntaps, const MK_T **taps, const int *tw,
                                const MK_T *w, ptrdiff_t ncols, MK_T **outs, const MK_T *bias,
                                ptrdiff_t in_stride, ptrdiff_t out_stride)
{
    const ptrdiff_t in_off = r * in_stride, out_off = r * out_stride;
    ptrdiff_t j = 0;
#if IMGCONV_HAVE_VECTOR_EXT
    for (; j + MK_NV * MK_VL <= ncols; j += MK_NV * MK_VL)
        MK_FN(imgconv_tile_)(MK_NV, j, ntaps, taps, tw, w, outs, bias, in_off, out_off);
    for (; j + MK_VL <= ncols; j += MK_VL)
        MK_FN(imgconv_tile_)(1, j, ntaps, taps, tw, w, outs, bias, in_off, out_off);
    /* A last vector that overlaps the previous one: the overlapped outputs are
     * recomputed with the same arithmetic, so they are stored unchanged. */
    if (j < ncols && ncols >= MK_VL) {
        MK_FN(imgconv_tile_)(1, ncols - MK_VL, ntaps, taps, tw, w, outs, bias, in_off, out_off);
        j = ncols;
    }
#endif
    /* Remaining columns, same order of summation as the vector tiles. */
    for (; j < ncols; j++) {
        MK_T acc[MK_OB];
        for (int k = 0; k < MK_OB; k++)
            acc[k] = bias ? bias[k] : (MK_T)0;
        for (ptrdiff_t t = 0; t < ntaps; t++) {
            const MK_T x = taps[t][in_off + j];
            const MK_T *wt = w + (ptrdiff_t)tw[t] * MK_OB;
            for (int k = 0; k < MK_OB; k++)
                acc[k] += wt[k] * x;
        }
        for (int k = 0; k < MK_OB; k++)
            outs[k][out_off + j] = acc[k];
    }
}

/* Rows 0 <= r < nrows of a block: row r reads taps[t] + r * in_stride and writes
 * outs[k] + r * out_stride (consecutive output rows whose taps all move by the
 * same distance, so one tap list serves the whole block). */
static void MK_NAME(ptrdiff_t ntaps, const MK_T **taps, const int *tw, const MK_T *w,
                    ptrdiff_t ncols, MK_T **outs, const MK_T *bias, ptrdiff_t nrows,
                    ptrdiff_t in_stride, ptrdiff_t out_stride)
{
    ptrdiff_t first_free = 0;  /* rows before this one are done */
#if IMGCONV_HAVE_VECTOR_EXT && MK_OB <= 2
    MK_T wc[MK_CHAIN_MAX_TAPS * MK_OB];
    ptrdiff_t voff[MK_CHAIN_MAX_TAPS], kw = 0;
    const ptrdiff_t q = MK_FN(imgconv_chain_step_)(ntaps, taps, in_stride, &kw);
    /* A column kernel (kw == 1) gains only when its rows share L1 sets, i.e. lie a
     * multiple of 4 KB apart (widths like 1024, 2048, 4096 floats): on 512-float
     * rows the tap loop already hit L1 and the chain measured 0.66-0.96x of it. */
    if (q > 0 && ncols >= MK_VL && ntaps <= MK_CHAIN_MAX_TAPS
        && nrows >= q * MK_CR
        && ntaps / kw >= MK_CHAIN_SHORT_MIN_ROWS
        && (kw > 1 || (q * in_stride * (ptrdiff_t)sizeof(MK_T)) % 4096 == 0)) {
        const ptrdiff_t kh = ntaps / kw;
        for (ptrdiff_t t = 0; t < ntaps; t++)
            for (int k = 0; k < MK_OB; k++)
                wc[t * MK_OB + k] = w[(ptrdiff_t)tw[t] * MK_OB + k];
        for (ptrdiff_t c = 0; c < kw; c++)
            voff[c] = taps[c] - taps[0];
        if (kh >= MK_CHAIN_MIN_ROWS)
            first_free = MK_FN(imgconv_chains_)(MK_CR, q, kh, kw, voff, taps[0], in_stride, wc, ncols, outs,
                                                bias, nrows, out_stride);
        else if (kh >= MK_CR_SHORT)
            first_free = MK_FN(imgconv_chains_)(MK_CR_SHORT, q, kh, kw, voff, taps[0], in_stride, wc, ncols,
                                                outs, bias, nrows, out_stride);
        else
            first_free = MK_FN(imgconv_chains_)(MK_CR_SHORT - 1, q, kh, kw, voff, taps[0], in_stride, wc, ncols,
                                                outs, bias, nrows, out_stride);
    }
#endif
    for (ptrdiff_t r = first_free; r < nrows; r++)
        MK_FN(imgconv_row_)(r, ntaps, taps, tw, w, ncols, outs, bias, in_stride, out_stride);
}

#undef MK_VL
#undef MK_CR
#undef MK_CR_SHORT
#undef MK_CHAIN_SHORT_MIN_ROWS
#undef MK_CNV
#undef MK_CHAIN_MAX_TAPS
#undef MK_CHAIN_MIN_ROWS
#undef MK_NAME
#undef MK_FN
#undef MK_NAME3
#undef MK_CAT3
#undef MK_OB
#undef MK_NV
