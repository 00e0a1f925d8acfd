"""Feature maps with ``skimage.feature``'s names, defaults and numbers.

The Hessian matrix, the structure tensor, their eigenvalues, the shape index
and the multiscale feature stack of pixel classifiers.  Every convolution goes
through :func:`imgconv._engine.correlate` as 1-D passes along each axis
(:mod:`imgconv._shared.ndpasses`), so N-D images work as in scikit-image; the
derivative orders of one call share their passes and go through the engine as
banks.  Keyword-only extra: ``num_threads``.
"""

from ._basic_features import multiscale_basic_features
from ._corner import (
    hessian_matrix,
    hessian_matrix_det,
    hessian_matrix_eigvals,
    shape_index,
    structure_tensor,
    structure_tensor_eigenvalues,
)

__all__ = [
    "hessian_matrix",
    "hessian_matrix_det",
    "hessian_matrix_eigvals",
    "multiscale_basic_features",
    "shape_index",
    "structure_tensor",
    "structure_tensor_eigenvalues",
]
