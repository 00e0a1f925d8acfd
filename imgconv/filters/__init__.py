"""Image filters with scikit-image's names, defaults and numbers, plus dilation.

Every function here has the signature and defaults of the scikit-image 0.26
function of the same name (:func:`correlate` / :func:`convolve`: of
:func:`scipy.ndimage.correlate` / :func:`scipy.ndimage.convolve`) and returns the
same values at ``dilation=1``, plus three keyword-only parameters:

``dilation``
    int or pair ``(dh, dw)``: the kernel taps are ``d`` pixels apart
    ("à trous" / atrous filtering).  The result equals the undilated function
    applied with the kernel zero-inserted (``d - 1`` zeros between taps), but
    costs no more than the undilated filter.
``channel_axis``
    None (default): every axis of the image is spatial (a trailing axis of
    size 3 is never taken for colour).  An int: that axis holds channels,
    each filtered on its own; the image is at least 3-D.
``num_threads``
    Threads for the engine; None uses :func:`imgconv.get_num_threads`.

All arithmetic happens in :func:`imgconv._engine.correlate`; this package only
validates, converts, chooses pads and combines responses.

*Spatial axes.* The filters are 2-D (two spatial axes, with or without a
channel axis), except those scikit-image defines in N-D: :func:`gaussian`,
:func:`difference_of_gaussians`, :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`farid` and :func:`laplace` also take 1-D, 3-D, ...
images, as one 1-D engine pass per axis (:mod:`imgconv._shared.ndpasses`);
``dilation`` must be 1 there.  The ``_h`` / ``_v`` derivatives and Roberts'
filters are 2-D only, as in scikit-image.

Its modules:
``_correlate.py`` (:func:`correlate`, :func:`convolve` and the engine call the
other filters share), ``_edges.py`` (Sobel, Scharr, Prewitt, Laplace),
``_gaussian.py`` (:func:`gaussian`, :func:`difference_of_gaussians`),
``_gabor.py`` (:func:`gabor`) and ``_bank.py`` (:func:`apply_bank`).

Notes
-----
*Border modes* use the scipy / scikit-image names and map to the engine through
:data:`imgconv._shared.modes.SCIPY_TO_ENGINE_MODE`:

=================================  ==========================================
mode                               extension of ``a b c d``
=================================  ==========================================
'reflect' (= 'grid-mirror')        ``c b a | a b c d | d c b`` (half-sample)
'mirror'                           ``d c b | a b c d | c b a`` (whole-sample)
'nearest'                          ``a a a | a b c d | d d d``
'wrap' (= 'grid-wrap')             ``b c d | a b c d | a b c``
'constant' (= 'grid-constant')     ``k k k | a b c d | k k k`` with ``k = cval``
=================================  ==========================================

Pads wider than the image repeat the reflection / wrapping (``numpy.pad``
semantics), which is what scipy.ndimage's *filters* do for every mode: in
filters scipy's ``'wrap'`` and ``'grid-wrap'`` agree for any width (they only
differ in scipy's interpolation functions such as ``ndimage.shift``), and so
do ``'constant'`` / ``'grid-constant'`` and ``'reflect'`` / ``'grid-mirror'``.
(scipy 1.17's N-D ``ndimage.correlate`` / ``convolve`` return wrong values in
``'reflect'`` mode once an extension reaches four times the axis length, e.g. a
17-tap kernel on a 2-pixel axis; its ``correlate1d`` and imgconv agree with
``numpy.pad``.)

*Compute dtype.* float64 images are filtered in float64; float32 and float16 images, bool
images and integer images of at most 16 bits in float32; wider integers in
float64.  Integers are scaled as :func:`skimage.util.img_as_float32` scales
them (uint8 255 -> 1.0, int16 -32768 -> -1.0).  scikit-image converts integer
images to float64 instead (``img_as_float``), so for uint8/uint16 input the
values agree with scikit-image to float32 rounding (about 1e-7 relative) and
the result is float32 where scikit-image returns float64.  ``cval`` is in the
units of the converted image (1.0 is white for uint8).  uint8 and uint16 images
are not copied to float: the engine reads the stored pixels and the scaling
goes into the kernel weights, which agrees with filtering the converted image
to float32 rounding.
"""

from .._edges_extra import (
    farid,
    farid_h,
    farid_v,
    gabor_kernel,
    roberts,
    roberts_neg_diag,
    roberts_pos_diag,
    unsharp_mask,
)
from .._ridges import frangi, hessian, meijering, sato
from .._shared.modes import SCIPY_MODES
from ._bank import apply_bank
from ._correlate import convolve, correlate
from ._edges import laplace, prewitt, prewitt_h, prewitt_v, scharr, scharr_h, scharr_v, sobel, sobel_h, sobel_v
from ._gabor import gabor
from ._gaussian import difference_of_gaussians, gaussian

__all__ = [
    "MODES",
    "apply_bank",
    "convolve",
    "correlate",
    "difference_of_gaussians",
    "farid",
    "farid_h",
    "farid_v",
    "frangi",
    "gabor",
    "gabor_kernel",
    "gaussian",
    "hessian",
    "laplace",
    "meijering",
    "prewitt",
    "prewitt_h",
    "prewitt_v",
    "roberts",
    "roberts_neg_diag",
    "roberts_pos_diag",
    "sato",
    "scharr",
    "scharr_h",
    "scharr_v",
    "sobel",
    "sobel_h",
    "sobel_v",
    "unsharp_mask",
]

#: Border modes accepted by every function (scipy.ndimage names, sorted;
#: :data:`imgconv._shared.modes.SCIPY_MODES`).
MODES = SCIPY_MODES
