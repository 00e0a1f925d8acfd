/* The element-wise end of a 2-D multiscale feature stack (imgconv.feature.multiscale_basic_features),
 * with NumPy's float32 roundings in NumPy's order, written straight into the channels-last stack.
 *
 * Per pixel p, into out[p * stride + 0, 1, ...], each group present when its inputs are not NULL:
 *
 *     the smoothed value;
 *     the Sobel magnitude   sqrt(r0 * r0 + r1 * r1) / root2         (skimage.filters.sobel);
 *     the Hessian's eigenvalues, largest first:
 *         h = sqrt(m01 * m01 + ((m00 - m11) * 0.5) ** 2),  mean = (m00 + m11) * 0.5,
 *         mean + h, mean - h                                   (skimage.feature.hessian_matrix_eigvals).
 *
 * Every product and sum is its own float32 rounding (no fused multiply-add), sqrt and the division
 * are correctly rounded, so the values are those of the NumPy expressions bit for bit.
 */
#ifndef IMGCONV_POINTWISE_H
#define IMGCONV_POINTWISE_H

#include <math.h>
#include <stddef.h>
#include "_no_contract.h"

IMGCONV_NO_CONTRACT_BEGIN

static void imgconv_features_row_f32(ptrdiff_t n, const float *smoothed, const float *r0, const float *r1,
                                     float root2, const float *m00, const float *m01, const float *m11,
                                     float *out, ptrdiff_t stride)
{
    IMGCONV_NO_CONTRACT
    for (ptrdiff_t p = 0; p < n; p++) {
        float *o = out + p * stride;
        if (smoothed)
            *o++ = smoothed[p];
        if (r0) {
            float a = r0[p] * r0[p];
            float b = r1[p] * r1[p];
            float m = a + b;
            *o++ = sqrtf(m) / root2;
        }
        if (m00) {
            float half = (m00[p] - m11[p]) * 0.5f;
            float sq = half * half;
            float h = m01[p] * m01[p];
            h = h + sq;
            h = sqrtf(h);
            float mean = (m00[p] + m11[p]) * 0.5f;
            o[0] = mean + h;
            o[1] = mean - h;
        }
    }
}

IMGCONV_NO_CONTRACT_END

#endif /* IMGCONV_POINTWISE_H */
