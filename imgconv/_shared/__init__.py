"""One owner for every rule two layers of imgconv share.

Every public layer (``conv``, ``filters``, ``banks``, ``wavelet``, ``dask``,
``pipeline``, ``batch``/``cli``) imports these modules instead of keeping a copy:

=============  ==========================================================================
module         the rule it owns
=============  ==========================================================================
``modes``      border-mode vocabularies (engine, scipy/skimage, torch), the tables that
               map them, one checker per vocabulary
``geometry``   output size, torch ``'same'`` pads, the scipy anchor and `origin`, the
               halo / reach of a (dilated) kernel, the Gaussian radius, the
               "'same' needs stride 1" rule
``layout``     the channel axis: an image as an engine batch and the way back
``convert``    the integer -> float rule (scikit-image's ``img_as_float32``) and the
               pixels the engine reads as stored
``blocks``     row-blocked element-wise post-processing in Python threads
``passes``     scipy's separable filtering (two 1-D passes, each with its own border),
               as opposed to ``_engine.correlate_separable`` (the 2-D result)
``scratch``    memory a call needs only while it runs (intermediates), borrowed from one
               bounded pool shared by threads and kept between calls
=============  ==========================================================================

The parameter checkers (``as_int``, ``as_pair``, ``check_positive_real``, ...) live
in :mod:`imgconv._validation`, which every layer (and the spec reader) imports.

None of these modules imports a public layer, and only ``passes`` imports
:mod:`imgconv._engine` (which itself imports ``modes``, ``geometry`` and
``convert``), so any module of imgconv can import them without a cycle.
"""
