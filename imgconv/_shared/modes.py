"""Border modes: every vocabulary imgconv speaks, the tables between them, one checker each.

The engine speaks ``numpy.pad``'s names; the scikit-image-style layers speak
scipy.ndimage's; the torch-compatible layer speaks ``padding_mode``.  The word
"reflect" means different things in the two worlds:

============  ===============  ================  =====================================
engine        torch            scipy / skimage   values for a row ``1 2 3`` padded by 2
============  ===============  ================  =====================================
constant      zeros (cval 0)   constant          ``c c | 1 2 3 | c c``
reflect       reflect          mirror            ``3 2 | 1 2 3 | 2 1`` (whole-sample)
symmetric     --               reflect           ``2 1 | 1 2 3 | 3 2`` (half-sample)
edge          replicate        nearest           ``1 1 | 1 2 3 | 3 3``
wrap          circular         wrap, grid-wrap   ``2 3 | 1 2 3 | 1 2``
============  ===============  ================  =====================================
"""

import numpy as np

from .._validation import show

__all__ = [
    "ENGINE_MODES",
    "ENGINE_MODE_CODES",
    "SCIPY_MODES",
    "SCIPY_TO_ENGINE_MODE",
    "TORCH_PADDING_MODES",
    "TORCH_TO_ENGINE_MODE",
    "check_padding_mode",
    "check_scipy_mode",
    "source_index",
]

#: The engine's border modes (``numpy.pad`` names).  Their order is the integer code
#: the compiled kernels receive (:data:`ENGINE_MODE_CODES`, ``_conv_kernel.pxi``).
ENGINE_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")
ENGINE_MODE_CODES = {mode: code for code, mode in enumerate(ENGINE_MODES)}

#: torch ``padding_mode`` -> engine mode.
TORCH_TO_ENGINE_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

#: scipy.ndimage / scikit-image ``mode`` -> engine mode.
SCIPY_TO_ENGINE_MODE = {
    "constant": "constant",
    "grid-constant": "constant",
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "grid-mirror": "symmetric",
}

#: Values of ``mode`` in the image layers (scipy names, sorted).
SCIPY_MODES = tuple(sorted(SCIPY_TO_ENGINE_MODE))

#: Values of ``padding_mode`` in the torch-compatible layer (sorted).
TORCH_PADDING_MODES = tuple(sorted(TORCH_TO_ENGINE_MODE))


def check_scipy_mode(mode):
    """Validate a scipy-style `mode`; return the engine mode it maps to.

    Raises
    ------
    TypeError
        If `mode` is not a string.
    ValueError
        If `mode` is not one of :data:`SCIPY_MODES`.
    """
    if not isinstance(mode, str):
        raise TypeError(f"`mode` must be one of {list(SCIPY_MODES)}; got {show(mode)} of type {type(mode).__name__}")
    if mode not in SCIPY_TO_ENGINE_MODE:
        raise ValueError(f"`mode` must be one of {list(SCIPY_MODES)}; got {mode!r}")
    return SCIPY_TO_ENGINE_MODE[mode]


def check_padding_mode(padding_mode):
    """Validate a torch-style `padding_mode`; return it (map it with :data:`TORCH_TO_ENGINE_MODE`).

    A ValueError for anything else, strings or not, as ``torch.nn.Conv2d`` raises.
    """
    if not isinstance(padding_mode, str) or padding_mode not in TORCH_TO_ENGINE_MODE:
        raise ValueError(f"`padding_mode` must be one of {list(TORCH_PADDING_MODES)}; got {padding_mode!r}")
    return padding_mode


def source_index(coords, length, mode):
    """Map padded coordinates `coords` (relative to the image's first sample) into ``[0, length)``.

    ``numpy.pad`` semantics at any width: reflection and wrapping repeat
    periodically.  For ``mode='constant'`` the coordinates outside the image
    map to -1 (their value is ``cval``).
    """
    if mode == "constant":
        return np.where((coords >= 0) & (coords < length), coords, -1)
    if mode == "edge":
        return np.clip(coords, 0, length - 1)
    if mode == "wrap":
        return np.mod(coords, length)
    if mode == "reflect":
        if length == 1:
            return np.zeros_like(coords)
        period = 2 * length - 2
        q = np.mod(coords, period)
        return np.where(q >= length, period - q, q)
    period = 2 * length  # symmetric
    q = np.mod(coords, period)
    return np.where(q >= length, period - 1 - q, q)
