"""A faster drop-in for scipy.ndimage's convolution filters: the same signatures, defaults and results.

``from imgconv import ndimage`` in place of ``from scipy import ndimage`` for

``correlate1d``, ``convolve1d``
    a 1-D pass: one engine call (axis as H or W, other axes batch);
``correlate``, ``convolve``
    N-D: sums of 2-D engine correlations over the kernel's leading axes;
``gaussian_filter1d``, ``gaussian_filter``, ``uniform_filter1d``, ``uniform_filter``
    one 1-D pass per axis, per-axis `mode` / `radius` / `order`;
``sobel``, ``prewitt``, ``laplace``, ``gaussian_laplace``, ``gaussian_gradient_magnitude``
    scipy's compositions of 1-D passes.

Every function takes scipy's parameters (``output`` as array or dtype, ``mode``
as a scipy name or, where scipy allows it, one per axis, ``cval``, ``origin``,
``axes``, ``truncate``, ``radius``, ``order``) and keyword-only ``num_threads``.
Every multiply-add runs in :func:`imgconv._engine.correlate`.

Rules kept from scipy, on purpose:

* arithmetic in float64 (scipy's line buffers are ``double``), then a C cast
  into the output dtype -- truncation toward zero into integer outputs;
  multi-axis filters store their intermediate in the output dtype, as scipy
  does;
* complex input or weights as real correlations of the real and imaginary parts;
* scipy's exception types (RuntimeError for a bad `output`, an unknown mode or
  a sequence of the wrong length), so code that catches them keeps working.

Known differences: a float32 output is summed in float32 (as cuCIM and OpenCV
do; float64 sums cost the engine about 3x and a float32 result cannot hold
them), so it is within a few float32 ulps of scipy's, not equal to its last
bit -- the taps are rounded keeping their sum, so a normalised kernel keeps its
gain; other results equal scipy's to float64 rounding (the engine sums in
another order), so an integer output can differ by one where the exact
float64 value is within rounding of a whole number; an inf or NaN under a zero
tap of `weights` gives NaN (scipy's correlate skips zero taps); a Gaussian
or uniform filter longer than 2**20 + 1 taps along an axis (sigma above about
131000) is a ValueError before anything is allocated (scipy tries to allocate
it); and
``gaussian_gradient_magnitude(..., axes=...)`` smooths only `axes` (scipy 1.17
also smooths the other axes with `sigma`, unlike its ``gaussian_laplace``).
"""

from ._correlate import convolve, convolve1d, correlate, correlate1d
from ._filters import (
    gaussian_filter,
    gaussian_filter1d,
    gaussian_gradient_magnitude,
    gaussian_laplace,
    laplace,
    prewitt,
    sobel,
    uniform_filter,
    uniform_filter1d,
)

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]
