/* The 2-D multiscale feature stack (imgconv.feature.multiscale_basic_features) from the smoothed
 * images, one output row at a time for every scale, with scikit-image's roundings in its order.
 *
 * For scale s, pixel (i, j) of the smoothed image S = smoothed[s], into
 * out[i * row_stride + j * px_stride + s * n + 0, 1, ...], each group if asked for:
 *
 *     intensity  S[i, j];
 *     edges      skimage.filters.sobel: each axis's ndi.convolve with the 3 x 3 kernel (mode 'reflect',
 *                which reads what 'nearest' reads at one pixel), summed in float64 over the non-zero
 *                taps in scipy's order and stored as float32, then sqrt(r0 * r0 + r1 * r1) / root2;
 *     texture    the eigenvalues, largest first, of np.gradient(np.gradient(S)[a], axis=b) for
 *                (a, b) = (0, 0), (0, 1), (1, 1), as skimage.feature.hessian_matrix_eigvals:
 *                h = sqrt(m01 * m01 + ((m00 - m11) * 0.5) ** 2), mean = (m00 + m11) * 0.5,
 *                mean + h, mean - h.
 *
 * np.gradient: (f[k + 1] - f[k - 1]) / 2 inside, f[1] - f[0] and f[n - 1] - f[n - 2] at the ends (an
 * axis of one pixel gives f[0] - f[0], where NumPy refuses).
 *
 * Every float32 product and sum is its own rounding (no fused multiply-add), so the values are those
 * of scikit-image's NumPy and SciPy calls bit for bit.  All scales of a row are written before the
 * next row: a row of the stack stays in cache until its every value is in (writing one scale of the
 * whole image at a time touched each cache line of the stack once per scale).
 */
#ifndef IMGCONV_POINTWISE_H
#define IMGCONV_POINTWISE_H

#include <math.h>
#include <stddef.h>
#include "_no_contract.h"

IMGCONV_NO_CONTRACT_BEGIN

/* The scratch floats a call of imgconv_features_row_f32 needs, for an image `width` wide. */
#define IMGCONV_FEATURES_SCRATCH(width) (8 * (width))

static inline ptrdiff_t imgconv_below(ptrdiff_t k) { return k > 0 ? k - 1 : 0; }
static inline ptrdiff_t imgconv_above(ptrdiff_t k, ptrdiff_t n) { return k + 1 < n ? k + 1 : n - 1; }
/* np.gradient's divisor as a factor: 1/2 between two neighbours, 1 at an end */
static inline float imgconv_gradient_scale(ptrdiff_t k, ptrdiff_t n) { return k > 0 && k + 1 < n ? 0.5f : 1.0f; }

/* g = np.gradient(f) along a line of n values */
static void imgconv_gradient_line(ptrdiff_t n, const float *f, float *g)
{
    IMGCONV_NO_CONTRACT
    if (n == 1) {
        g[0] = f[0] - f[0];
        return;
    }
    g[0] = f[1] - f[0];
    for (ptrdiff_t j = 1; j < n - 1; j++)
        g[j] = (f[j + 1] - f[j - 1]) * 0.5f;
    g[n - 1] = f[n - 1] - f[n - 2];
}

/* g = (a - b) * scale, element-wise */
static void imgconv_difference_line(ptrdiff_t n, const float *a, const float *b, float scale, float *g)
{
    IMGCONV_NO_CONTRACT
    for (ptrdiff_t j = 0; j < n; j++)
        g[j] = (a[j] - b[j]) * scale;
}

/* The two Sobel responses at column j from rows up, mid, down; jl, jr the columns either side. */
static inline void imgconv_sobel_at(const float *up, const float *mid, const float *dn, ptrdiff_t jl, ptrdiff_t j,
                                    ptrdiff_t jr, float *r0, float *r1)
{
    IMGCONV_NO_CONTRACT
    double t = 0.0;  /* axis 0: the convolution's flipped kernel, non-zero taps in C order */
    t += (double)up[jl] * -0.25;
    t += (double)up[j] * -0.5;
    t += (double)up[jr] * -0.25;
    t += (double)dn[jl] * 0.25;
    t += (double)dn[j] * 0.5;
    t += (double)dn[jr] * 0.25;
    *r0 = (float)t;
    t = 0.0;  /* axis 1 */
    t += (double)up[jl] * -0.25;
    t += (double)up[jr] * 0.25;
    t += (double)mid[jl] * -0.5;
    t += (double)mid[jr] * 0.5;
    t += (double)dn[jl] * -0.25;
    t += (double)dn[jr] * 0.25;
    *r1 = (float)t;
}

static inline float imgconv_magnitude(float r0, float r1, float root2)
{
    IMGCONV_NO_CONTRACT
    float a = r0 * r0;
    float b = r1 * r1;
    float m = a + b;
    return sqrtf(m) / root2;
}

/* Row i of every scale's features.  smoothed: nscales C-contiguous (height, width) images; out: row i's
 * first value, pixel j at out + j * px_stride; scratch: IMGCONV_FEATURES_SCRATCH(width) floats. */
static void imgconv_features_row_f32(ptrdiff_t i, ptrdiff_t height, ptrdiff_t width, ptrdiff_t nscales,
                                     const float *const *smoothed, int intensity, int edges, int texture,
                                     float root2, float *out, ptrdiff_t px_stride, float *scratch)
{
    IMGCONV_NO_CONTRACT
    const ptrdiff_t n = (intensity != 0) + (edges != 0) + 2 * (texture != 0), w = width;
    float *mag = scratch, *m00 = scratch + w, *g0 = scratch + 2 * w, *m01 = scratch + 3 * w;
    float *g1 = scratch + 4 * w, *m11 = scratch + 5 * w, *e0 = scratch + 6 * w, *e1 = scratch + 7 * w;
    const ptrdiff_t a = imgconv_below(i), b = imgconv_above(i, height);
    const float sa = imgconv_gradient_scale(a, height), sb = imgconv_gradient_scale(b, height);
    const float si = imgconv_gradient_scale(i, height);
    for (ptrdiff_t s = 0; s < nscales; s++) {
        const float *img = smoothed[s];
        const float *mid = img + i * w, *up = img + a * w, *dn = img + b * w;
        float *o = out + s * n;
        if (edges) {
            float r0, r1;
            imgconv_sobel_at(up, mid, dn, 0, 0, imgconv_above(0, w), &r0, &r1);
            mag[0] = imgconv_magnitude(r0, r1, root2);
            for (ptrdiff_t j = 1; j < w - 1; j++) {
                imgconv_sobel_at(up, mid, dn, j - 1, j, j + 1, &r0, &r1);
                mag[j] = imgconv_magnitude(r0, r1, root2);
            }
            if (w > 1) {
                imgconv_sobel_at(up, mid, dn, w - 2, w - 1, w - 1, &r0, &r1);
                mag[w - 1] = imgconv_magnitude(r0, r1, root2);
            }
        }
        if (texture) {
            /* m00 = gradient along axis 0 of g0 = gradient along axis 0: rows a and b of g0 */
            imgconv_difference_line(w, img + imgconv_above(a, height) * w, img + imgconv_below(a) * w, sa, m00);
            imgconv_difference_line(w, img + imgconv_above(b, height) * w, img + imgconv_below(b) * w, sb, g0);
            imgconv_difference_line(w, g0, m00, si, m00);
            imgconv_difference_line(w, dn, up, si, g0);  /* row i of g0 */
            imgconv_gradient_line(w, g0, m01);
            imgconv_gradient_line(w, mid, g1);
            imgconv_gradient_line(w, g1, m11);
            for (ptrdiff_t j = 0; j < w; j++) {
                float half = (m00[j] - m11[j]) * 0.5f;
                float sq = half * half;
                float h = m01[j] * m01[j];
                h = h + sq;
                h = sqrtf(h);
                float mean = (m00[j] + m11[j]) * 0.5f;
                e0[j] = mean + h;
                e1[j] = mean - h;
            }
        }
        for (ptrdiff_t j = 0; j < w; j++) {
            float *p = o + j * px_stride;
            if (intensity)
                *p++ = mid[j];
            if (edges)
                *p++ = mag[j];
            if (texture) {
                p[0] = e0[j];
                p[1] = e1[j];
            }
        }
    }
}

IMGCONV_NO_CONTRACT_END

#endif /* IMGCONV_POINTWISE_H */
