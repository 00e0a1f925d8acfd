# cython: language_level=3
# The shared kernel source compiled for the avx512 instruction set (flags in setup.py).
include "_conv_kernel.pxi"
