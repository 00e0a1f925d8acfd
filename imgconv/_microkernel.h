/* Register-blocked inner kernel of the convolution engine.
 *
 * The Cython driver (_conv_kernel.pxi) turns an output row of one group into a
 * "tap list": for every (input channel, kernel row, kernel column) that
 * contributes, a pointer p_t such that p_t[j] is the (padded) input value that
 * tap t multiplies for output column j, and the index of the tap's weights.
 * This header computes, for OB output channels at once,
 *
 *     out_k[j] = bias_k + sum_t w[tw[t]*OB + k] * p_t[j],   0 <= j < ncols,
 *
 * for that row and for the following rows of a block, whose taps and outputs
 * are the same pointers moved by a fixed stride per row.
 *
 * keeping an OB x NV block of SIMD vectors of accumulators in registers while it
 * walks the taps (one vector load of input feeds OB fused multiply-adds).  The
 * same source is compiled once per instruction set (baseline, AVX2+FMA,
 * AVX-512F); the vector width follows from the target, through GCC/Clang vector
 * extensions.  Other compilers get a plain scalar loop with the same order of
 * summation.
 */
#ifndef IMGCONV_MICROKERNEL_H
#define IMGCONV_MICROKERNEL_H

#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#  define IMGCONV_SIMD_NAME "avx512"
#  define IMGCONV_VBYTES 64
#elif defined(__AVX2__) && defined(__FMA__)
#  define IMGCONV_SIMD_NAME "avx2"
#  define IMGCONV_VBYTES 32
#else
#  define IMGCONV_SIMD_NAME "baseline"
#  define IMGCONV_VBYTES 16
#endif

/* Full unrolling of short loops with compile-time trip counts (a hint only). */
#if defined(__clang__)
#  define IMGCONV_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#  define IMGCONV_UNROLL _Pragma("GCC unroll 8")
#else
#  define IMGCONV_UNROLL
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define IMGCONV_INLINE static inline __attribute__((always_inline))
#  define IMGCONV_HAVE_VECTOR_EXT 1
#else
#  define IMGCONV_INLINE static __inline
#  define IMGCONV_HAVE_VECTOR_EXT 0
#endif

/* Accumulator blocks (vectors of columns per output channel), chosen so that
 * OB x NV accumulators plus the input vectors fit the register file: 32 vector
 * registers with AVX-512, 16 otherwise.  With AVX-512, 2 vectors for 8 channels
 * measured as fast as 3 on cnn-batch and 4-13% faster on the single-image banks. */
#if IMGCONV_VBYTES == 64
#  define IMGCONV_NV_OB8 2
#  define IMGCONV_NV_OB4 4
#else
#  define IMGCONV_NV_OB8 1
#  define IMGCONV_NV_OB4 2
#endif
#define IMGCONV_NV_OB2 4
#define IMGCONV_NV_OB1 4

#if IMGCONV_HAVE_VECTOR_EXT
typedef float imgconv_vf32 __attribute__((vector_size(IMGCONV_VBYTES)));
typedef double imgconv_vf64 __attribute__((vector_size(IMGCONV_VBYTES)));
/* The same vectors at element alignment, for loads and stores at any column.
 * (memcpy into a vector array compiled to a byte-copy loop through the stack
 * with -mavx2, which also pushed the accumulators out of registers.) */
typedef float imgconv_vf32u __attribute__((vector_size(IMGCONV_VBYTES), aligned(sizeof(float))));
typedef double imgconv_vf64u __attribute__((vector_size(IMGCONV_VBYTES), aligned(sizeof(double))));
#endif

/* One instantiation per (dtype, OB): see _microkernel_tile.h. */
#define MK_T float
#define MK_V imgconv_vf32
#define MK_VU imgconv_vf32u
#define MK_SUFFIX f32
#define MK_OB 1
#define MK_NV IMGCONV_NV_OB1
#include "_microkernel_tile.h"
#define MK_OB 2
#define MK_NV IMGCONV_NV_OB2
#include "_microkernel_tile.h"
#define MK_OB 4
#define MK_NV IMGCONV_NV_OB4
#include "_microkernel_tile.h"
#define MK_OB 8
#define MK_NV IMGCONV_NV_OB8
#include "_microkernel_tile.h"
#undef MK_T
#undef MK_V
#undef MK_VU
#undef MK_SUFFIX

#define MK_T double
#define MK_V imgconv_vf64
#define MK_VU imgconv_vf64u
#define MK_SUFFIX f64
#define MK_OB 1
#define MK_NV IMGCONV_NV_OB1
#include "_microkernel_tile.h"
#define MK_OB 2
#define MK_NV IMGCONV_NV_OB2
#include "_microkernel_tile.h"
#define MK_OB 4
#define MK_NV IMGCONV_NV_OB4
#include "_microkernel_tile.h"
#define MK_OB 8
#define MK_NV IMGCONV_NV_OB8
#include "_microkernel_tile.h"
#undef MK_T
#undef MK_V
#undef MK_VU
#undef MK_SUFFIX

/* Entry points for the driver: `ob` is one of 1, 2, 4, 8 (the driver splits the
 * output channels of a group into such blocks); `nrows` output rows, the taps and
 * outputs of row r offset by r * in_stride and r * out_stride elements. */
static void imgconv_taps_f32(int ob, ptrdiff_t ntaps, const float **taps, const int *tw,
                             const float *w, ptrdiff_t ncols, float **outs, const float *bias,
                             ptrdiff_t nrows, ptrdiff_t in_stride, ptrdiff_t out_stride)
{
    switch (ob) {
    case 8: imgconv_taps_f32_ob8(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    case 4: imgconv_taps_f32_ob4(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    case 2: imgconv_taps_f32_ob2(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    default: imgconv_taps_f32_ob1(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    }
}

static void imgconv_taps_f64(int ob, ptrdiff_t ntaps, const double **taps, const int *tw,
                             const double *w, ptrdiff_t ncols, double **outs, const double *bias,
                             ptrdiff_t nrows, ptrdiff_t in_stride, ptrdiff_t out_stride)
{
    switch (ob) {
    case 8: imgconv_taps_f64_ob8(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    case 4: imgconv_taps_f64_ob4(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    case 2: imgconv_taps_f64_ob2(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    default: imgconv_taps_f64_ob1(ntaps, taps, tw, w, ncols, outs, bias, nrows, in_stride,
                                       out_stride); break;
    }
}

/* CPU features, asked of the running CPU (and OS) rather than the compiler. */
static int imgconv_cpu_has(const char *name)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")
               && __builtin_cpu_supports("fma");
#endif
    (void)name;
    return 0;
}

#endif /* IMGCONV_MICROKERNEL_H */
