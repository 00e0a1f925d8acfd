"""Feature maps with ``skimage.feature``'s names, defaults and numbers.

The Hessian matrix, the structure tensor, their eigenvalues, the shape index
and the multiscale feature stack of pixel classifiers.  Every convolution goes
through :func:`imgconv._engine.correlate` as 1-D passes along each axis
(:mod:`imgconv._shared.ndpasses`), so N-D images work as in scikit-image; the
derivative orders of one call share their passes and go through the engine as
banks.  Keyword-only extra: ``num_threads``.  :class:`MultiscaleFeatures` holds the
settings of a feature stack, checked once, with the name of each feature (the
``multiscale_basic_features`` pipeline step uses it).
"""

from ._basic_features import MultiscaleFeatures, multiscale_basic_features
from ._corner import (
    hessian_matrix,
    hessian_matrix_det,
    hessian_matrix_eigvals,
    shape_index,
    structure_tensor,
    structure_tensor_eigenvalues,
)

__all__ = [
    "MultiscaleFeatures",
    "hessian_matrix",
    "hessian_matrix_det",
    "hessian_matrix_eigvals",
    "multiscale_basic_features",
    "shape_index",
    "structure_tensor",
    "structure_tensor_eigenvalues",
]
