/* Loops whose roundings must be scipy's or NumPy's: no fused multiply-add.
 *
 * The builds compile with -ffp-contract=fast (the convolution microkernels want
 * their fused multiply-adds), which lets the compiler turn `a * b + c` into one
 * rounding.  A header that needs two roundings includes this one and brackets
 * its functions with IMGCONV_NO_CONTRACT_BEGIN / _END (GCC: an optimize
 * attribute for that region) and starts each body with IMGCONV_NO_CONTRACT
 * (clang: a statement-level pragma).
 */
#ifndef IMGCONV_NO_CONTRACT_H
#define IMGCONV_NO_CONTRACT_H

#if defined(__clang__)
#  define IMGCONV_NO_CONTRACT _Pragma("clang fp contract(off)")
#  define IMGCONV_NO_CONTRACT_BEGIN
#  define IMGCONV_NO_CONTRACT_END
#elif defined(__GNUC__)
#  define IMGCONV_NO_CONTRACT
#  define IMGCONV_NO_CONTRACT_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#  define IMGCONV_NO_CONTRACT_END _Pragma("GCC pop_options")
#else
#  define IMGCONV_NO_CONTRACT
#  define IMGCONV_NO_CONTRACT_BEGIN
#  define IMGCONV_NO_CONTRACT_END
#endif

#endif /* IMGCONV_NO_CONTRACT_H */
