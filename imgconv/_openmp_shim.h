/* Lets the kernels build without OpenMP: prange then runs serially (Cython emits
 * plain loops) and these fallbacks stand in for the few runtime calls we make. */
#ifndef IMGCONV_OPENMP_SHIM_H
#define IMGCONV_OPENMP_SHIM_H
#ifdef _OPENMP
#  include <omp.h>
#  define IMGCONV_OPENMP 1
#else
#  define IMGCONV_OPENMP 0
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_max_threads(void) { return 1; }
#endif
#endif
