/* Paired-tap 1-D correlation: scipy.ndimage's NI_Correlate1D for symmetric and
 * antisymmetric weights, with scipy's order of operations.
 *
 * For a kernel of 2r + 1 correlation weights w whose taps are `step` elements
 * apart in `buf` (the padded input, already converted to the compute type),
 *
 *     o[k] = c[k] * w[r]
 *     o[k] += (c[k - j step] + sign * c[k + j step]) * w[r - j]   for j = r, r - 1, ..., 1
 *
 * with c = buf + r step: the centre first, then the pairs from the outermost in,
 * each pair summed (or subtracted) before its product, exactly as scipy's loop
 * ``oline[ll] = iline[0] * fw[0]; for (jj = -size1; jj < 0; jj++) oline[ll] +=
 * (iline[jj] +/- iline[-jj]) * fw[jj]``.  A symmetric kernel of data that is
 * antisymmetric about k gives exactly 0 there, a constant region is summed as
 * scipy sums it, and in float64 the outputs are scipy's bit for bit.  That is why
 * the multiply and the add stay two roundings here (no fused multiply-add, which
 * the rest of the engine uses).
 *
 * The outputs k are independent, so the loop runs vectors of consecutive k
 * (four at a time for the adder latency): along a line with step = the tap
 * spacing, or across a strip of S columns laid out row after row with
 * step = spacing * S.
 */
#ifndef IMGCONV_PAIRED_H
#define IMGCONV_PAIRED_H

#include <stddef.h>
#include "_microkernel.h"

#include "_no_contract.h"

IMGCONV_NO_CONTRACT_BEGIN

#define IMGCONV_PAIRED_SCALAR(T, OP)                                              \
    for (; k < n; k++) {                                                          \
        T a = c[k] * w[r];                                                        \
        for (ptrdiff_t j = r; j >= 1; j--)                                        \
            a = a + (c[k - j * step] OP c[k + j * step]) * w[r - j];              \
        o[k] = a;                                                                 \
    }

#if IMGCONV_HAVE_VECTOR_EXT
#  define IMGCONV_PAIRED_BODY(T, V, VU, OP)                                       \
    const ptrdiff_t lanes = (ptrdiff_t)(sizeof(V) / sizeof(T));                   \
    ptrdiff_t k = 0;                                                              \
    for (; k + 4 * lanes <= n; k += 4 * lanes) {                                  \
        const T *p = c + k;                                                       \
        V wc = (V){0} + w[r];                                                     \
        V a0 = *(const VU *)(p) * wc, a1 = *(const VU *)(p + lanes) * wc;         \
        V a2 = *(const VU *)(p + 2 * lanes) * wc, a3 = *(const VU *)(p + 3 * lanes) * wc; \
        for (ptrdiff_t j = r; j >= 1; j--) {                                      \
            const T *lo = p - j * step, *hi = p + j * step;                       \
            V wj = (V){0} + w[r - j];                                             \
            a0 = a0 + (*(const VU *)(lo) OP *(const VU *)(hi)) * wj;              \
            a1 = a1 + (*(const VU *)(lo + lanes) OP *(const VU *)(hi + lanes)) * wj; \
            a2 = a2 + (*(const VU *)(lo + 2 * lanes) OP *(const VU *)(hi + 2 * lanes)) * wj; \
            a3 = a3 + (*(const VU *)(lo + 3 * lanes) OP *(const VU *)(hi + 3 * lanes)) * wj; \
        }                                                                         \
        *(VU *)(o + k) = a0;                                                      \
        *(VU *)(o + k + lanes) = a1;                                              \
        *(VU *)(o + k + 2 * lanes) = a2;                                          \
        *(VU *)(o + k + 3 * lanes) = a3;                                          \
    }                                                                             \
    for (; k + lanes <= n; k += lanes) {                                          \
        const T *p = c + k;                                                       \
        V a0 = *(const VU *)(p) * ((V){0} + w[r]);                                \
        for (ptrdiff_t j = r; j >= 1; j--)                                        \
            a0 = a0 + (*(const VU *)(p - j * step) OP *(const VU *)(p + j * step)) * ((V){0} + w[r - j]); \
        *(VU *)(o + k) = a0;                                                      \
    }                                                                             \
    IMGCONV_PAIRED_SCALAR(T, OP)
#else
#  define IMGCONV_PAIRED_BODY(T, V, VU, OP)                                       \
    ptrdiff_t k = 0;                                                              \
    IMGCONV_PAIRED_SCALAR(T, OP)
#endif

/* o[0 .. n) from buf (n + 2 r step values); `sign` > 0: symmetric pairs (sums), else differences. */
static void imgconv_paired_f32(const float *buf, ptrdiff_t n, ptrdiff_t step, const float *w, ptrdiff_t r,
                               int sign, float *o)
{
    IMGCONV_NO_CONTRACT
    const float *c = buf + r * step;
    if (sign > 0) {
        IMGCONV_PAIRED_BODY(float, imgconv_vf32, imgconv_vf32u, +)
    } else {
        IMGCONV_PAIRED_BODY(float, imgconv_vf32, imgconv_vf32u, -)
    }
}

static void imgconv_paired_f64(const double *buf, ptrdiff_t n, ptrdiff_t step, const double *w, ptrdiff_t r,
                               int sign, double *o)
{
    IMGCONV_NO_CONTRACT
    const double *c = buf + r * step;
    if (sign > 0) {
        IMGCONV_PAIRED_BODY(double, imgconv_vf64, imgconv_vf64u, +)
    } else {
        IMGCONV_PAIRED_BODY(double, imgconv_vf64, imgconv_vf64u, -)
    }
}

IMGCONV_NO_CONTRACT_END

#endif /* IMGCONV_PAIRED_H */
