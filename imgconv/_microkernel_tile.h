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

/* Rows 0 <= r < nrows of a block: row r reads taps[t] + r * in_stride and writes
 * outs[k] + r * out_stride (consecutive output rows whose taps all move by the
 * same distance, so one tap list serves the whole block). */
static void MK_NAME(ptrdiff_t ntaps, const MK_T **taps, const int *tw, const MK_T *w,
                    ptrdiff_t ncols, MK_T **outs, const MK_T *bias, ptrdiff_t nrows,
                    ptrdiff_t in_stride, ptrdiff_t out_stride)
{
    for (ptrdiff_t r = 0; r < nrows; r++) {
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
}

#undef MK_VL
#undef MK_NAME
#undef MK_FN
#undef MK_NAME3
#undef MK_CAT3
#undef MK_OB
#undef MK_NV
