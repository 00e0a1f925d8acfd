"""Multiscale intensity, edge and texture features for pixel classifiers, as scikit-image."""

from collections.abc import Sequence
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from .._engine import features_2d, interleave
from .._shared.blocks import blockwise
from .._shared.convert import to_float32
from .._shared.geometry import gaussian_radius
from .._shared.layout import NDLayout
from .._shared.ndpasses import fix_gradient_edges, gaussian_passes, gradient_kernel, separable_bank
from .._threads import effective_num_threads
from .._typing import Bool, Int, Real
from .._validation import as_array, as_int, check_positive_real, show
from ._corner import symmetric_eigenvalues

__all__ = ["MultiscaleFeatures", "multiscale_basic_features"]


def _sigmas(sigma_min, sigma_max, num_sigma):
    sigma_min = check_positive_real(sigma_min, "sigma_min")
    sigma_max = check_positive_real(sigma_max, "sigma_max")
    if num_sigma is None:
        num_sigma = int(np.log2(sigma_max) - np.log2(sigma_min) + 1)
        if num_sigma < 1:
            raise ValueError(
                "`num_sigma` None counts the powers of 2 from `sigma_min` up to `sigma_max`, which gives no "
                f"scale for sigma_min={show(sigma_min)} above sigma_max={show(sigma_max)}; pass num_sigma"
            )
    num_sigma = as_int(num_sigma, "num_sigma", minimum=1)
    return np.logspace(np.log2(sigma_min), np.log2(sigma_max), num=num_sigma, base=2, endpoint=True)


def _smoothed(img, sigma, threads):
    """skimage.filters.gaussian(img, sigma) of a float32 image, scipy's roundings bit for bit."""
    ndim = img.ndim
    return gaussian_passes(
        img[None], (sigma,) * ndim, (0,) * ndim, mode="nearest", cval=0.0, truncate=4.0, num_threads=threads, exact=True
    )[0]


def _single_scale(img, sigma, intensity, edges, texture, threads):
    """The engine passes of one channel at one scale, as scikit-image's ``_singlescale_basic_features_singlechannel``.

    Returns ``(smoothed, responses, elems)``: the Gaussian-smoothed image, the
    Sobel derivative along each axis (None without `edges`) and the upper
    Hessian elements of ``np.gradient`` twice (None without `texture`); the
    element-wise rest is :func:`_finish` (2-D images take :func:`imgconv._engine.features_2d`).
    """
    ndim = img.ndim
    smoothed = _smoothed(img, sigma, threads)
    responses = elems = None
    if edges or texture:
        edge, smooth, diff = np.array([-1.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0]) / 4, gradient_kernel()
        sobels = [tuple("e" if a == d else "s" for a in range(ndim)) for d in range(ndim)] if edges else []
        # skimage.filters.sobel: 'reflect'; np.gradient: its 3-tap 'nearest' border reads what 'reflect' reads
        gradients = [tuple("g" if a == d else None for a in range(ndim)) for d in range(ndim)] if texture else []
        kernels = {"e": edge, "s": smooth, "g": diff, None: None}
        bank = separable_bank(
            smoothed, sobels + gradients, lambda a, item: kernels[item], mode="reflect", cval=0.0, num_threads=threads
        )
        if edges:
            responses = [bank[code] for code in sobels]
        if texture:
            grads = [fix_gradient_edges(bank[code], d) for d, code in enumerate(gradients)]
            elems = [_second_gradient(grads[a0], a1, threads) for a0 in range(ndim) for a1 in range(a0, ndim)]
    return (smoothed if intensity else None), responses, elems


def _finish(rows, features, smoothed, responses, elems):
    """Rows `rows` (along the first axis) of one scale's features, written into `features` ``(n, *spatial)``.

    The same operations as scikit-image's, element by element: ``sqrt(sum r**2) / sqrt(ndim)``
    (``filters.sobel``) and the Hessian's eigenvalues, largest first.
    """
    index = 0
    if smoothed is not None:
        features[index, rows] = smoothed[rows]
        index += 1
    if responses is not None:
        magnitude = np.square(responses[0][rows], out=features[index, rows])
        for response in responses[1:]:
            magnitude += np.square(response[rows])
        np.sqrt(magnitude, out=magnitude)
        magnitude /= np.sqrt(len(responses), dtype=magnitude.dtype)
        index += 1
    if elems is not None:
        symmetric_eigenvalues([e[rows] for e in elems], out=features[index:, rows], num_threads=1)


def _second_gradient(grad, axis, threads):
    ndim = grad.ndim
    code = tuple(1 if a == axis else 0 for a in range(ndim))
    out = separable_bank(
        grad, [code], lambda a, item: gradient_kernel() if item else None, mode="nearest", cval=0.0, num_threads=threads
    )[code]
    return fix_gradient_edges(out, axis)


class MultiscaleFeatures:
    """The settings of :func:`multiscale_basic_features`, checked once, for a whole folder of images.

    Parameters
    ----------
    intensity, edges, texture : bool, default True
        Gaussian-smoothed intensity; its Sobel magnitude; the eigenvalues of
        its (finite-difference) Hessian.
    sigma_min, sigma_max : float, default 0.5, 16
    num_sigma : int, optional
        Number of scales, log-spaced; default: powers of 2 from `sigma_min`.

    Attributes
    ----------
    sigmas : ndarray of float64
        The scales, as scikit-image computes them.
    halo : int
        Pixels on each side of an output pixel that it reads: the widest
        Gaussian's radius, plus 2 for the Sobel and gradient taps (tiles with
        this margin give the whole image's values).

    Raises
    ------
    ValueError
        No feature selected, bad sigmas or `num_sigma`.

    See Also
    --------
    multiscale_basic_features : the same stack in one call.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import MultiscaleFeatures
    >>> features = MultiscaleFeatures(texture=False, sigma_min=1, sigma_max=4)
    >>> features.names()
    ['intensity_sigma1', 'edges_sigma1', 'intensity_sigma2', 'edges_sigma2', 'intensity_sigma4', 'edges_sigma4']
    >>> features(np.zeros((8, 8))).shape
    (8, 8, 6)
    """

    def __init__(
        self,
        intensity: Bool = True,
        edges: Bool = True,
        texture: Bool = True,
        sigma_min: Real = 0.5,
        sigma_max: Real = 16,
        num_sigma: Int | None = None,
    ) -> None:
        if not any([intensity, edges, texture]):
            raise ValueError(
                "At least one of `intensity`, `edges` or `texture` must be True for features to be "
                f"computed; got intensity={show(intensity)}, edges={show(edges)}, texture={show(texture)}"
            )
        self.intensity, self.edges, self.texture = bool(intensity), bool(edges), bool(texture)
        self.sigmas = _sigmas(sigma_min, sigma_max, num_sigma)
        self.halo = gaussian_radius(float(self.sigmas.max()), 4.0) + 2

    def __repr__(self) -> str:
        sigmas = ", ".join(f"{s:.4g}" for s in self.sigmas)
        return (
            f"MultiscaleFeatures(intensity={self.intensity}, edges={self.edges}, texture={self.texture}, "
            f"sigmas=[{sigmas}])"
        )

    def per_scale(self, ndim: Int = 2) -> int:
        """Features per scale and channel of an `ndim`-dimensional image: intensity, edges, `ndim` eigenvalues."""
        return int(self.intensity) + int(self.edges) + as_int(ndim, "ndim", minimum=1) * int(self.texture)

    def names(self, ndim: Int = 2, channels: Sequence[str] | None = None) -> list[str]:
        """The label of each feature, in the order of the stack's last axis.

        Parameters
        ----------
        ndim : int, default 2
            Spatial dimensions of the images.
        channels : sequence of str, optional
            The images' channel names: each label is then ``'channel:label'``,
            channel by channel.

        Returns
        -------
        names : list of str
            Per scale ``intensity_sigma<s>``, ``edges_sigma<s>``, then
            ``texture<k>_sigma<s>`` for the eigenvalues (largest first).
        """
        ndim = as_int(ndim, "ndim", minimum=1)
        labels = []
        for sigma in self.sigmas:
            tag = f"sigma{sigma:.4g}"
            labels += [f"intensity_{tag}"] if self.intensity else []
            labels += [f"edges_{tag}"] if self.edges else []
            labels += [f"texture{k}_{tag}" for k in range(ndim)] if self.texture else []
        if channels is None:
            return labels
        return [f"{c}:{label}" for c in channels for label in labels]

    def __call__(
        self, image: npt.ArrayLike, *, channel_axis: Int | None = None, num_threads: SupportsIndex | None = None
    ) -> npt.NDArray[np.float32]:
        """The feature stack of `image`, as :func:`multiscale_basic_features` with these settings.

        Parameters
        ----------
        image : ndarray, N-D, or N-D plus a channel axis
            Converted to float32 (``img_as_float32``).
        channel_axis : int, optional, keyword-only
            Axis of channels, each featurised on its own; None: every axis is spatial.
        num_threads : int, optional, keyword-only
            Engine threads (default: :func:`imgconv.get_num_threads`).

        Returns
        -------
        features : ndarray, float32, ``spatial_shape + (n_features,)``
            Labelled by :meth:`names`.
        """
        layout = NDLayout(to_float32(as_array(image, "image")), channel_axis)  # float32 stays float32
        sigmas = self.sigmas
        threads = effective_num_threads(num_threads)
        n_per_scale = self.per_scale(layout.ndim)
        intensity, edges, texture = self.intensity, self.edges, self.texture
        channels = layout.batch.shape[0]
        out = np.empty(layout.spatial_shape + (channels * len(sigmas) * n_per_scale,), np.float32)
        if layout.ndim == 2:
            # every scale of a channel smoothed first, then one threaded pass writes whole rows of the stack:
            # the Sobel and np.gradient taps, the eigenvalues, every scale of a row before the next row
            for c, img in enumerate(layout.batch):
                smoothed = [_smoothed(img, float(sigma), threads) for sigma in sigmas]
                block = out[..., c * len(sigmas) * n_per_scale : (c + 1) * len(sigmas) * n_per_scale]
                features_2d(block, smoothed, intensity=intensity, edges=edges, texture=texture, num_threads=threads)
            return out
        # N-D: one scale's features, reused for every scale (a fresh 5 x 16 MB stack per scale of a 2048² image
        # spent most of its 50 ms in page faults)
        features = np.empty((n_per_scale,) + layout.spatial_shape, np.float32)
        index = 0
        for img in layout.batch:
            for sigma in sigmas:
                parts = _single_scale(img, float(sigma), intensity, edges, texture, threads)
                # the element-wise rest in blocks of rows that stay in cache, in threads
                blockwise(
                    len(img),
                    threads,
                    lambda rows, parts=parts: _finish(rows, features, *parts),
                    block_rows=max(1, 65536 // max(1, img[0].size)),
                )
                # then into the last axis of the stack: one strided copy per feature touched every cache line
                # of `out` once per feature (210 ms of 540 on 1024 x 1024)
                interleave(features, out[..., index : index + n_per_scale], threads)
                index += n_per_scale
        return out


def multiscale_basic_features(
    image: npt.ArrayLike,
    intensity: Bool = True,
    edges: Bool = True,
    texture: Bool = True,
    sigma_min: Real = 0.5,
    sigma_max: Real = 16,
    num_sigma: Int | None = None,
    workers: SupportsIndex | None = None,
    *,
    channel_axis: Int | None = None,
    num_threads: SupportsIndex | None = None,
) -> npt.NDArray[np.float32]:
    """Local features at several scales, as :func:`skimage.feature.multiscale_basic_features`.

    Parameters
    ----------
    image : ndarray, N-D, or N-D plus a channel axis
        Converted to float32 (``img_as_float32``).
    intensity, edges, texture : bool, default True
        Gaussian-smoothed intensity; its Sobel magnitude; the eigenvalues of
        its (finite-difference) Hessian.
    sigma_min, sigma_max : float, default 0.5, 16
    num_sigma : int, optional
        Number of scales, log-spaced; default: powers of 2 from `sigma_min`.
    workers : int, optional
        Accepted for scikit-image compatibility; threads are `num_threads`.
    channel_axis : int, optional, keyword-only
        Axis of channels, each featurised on its own; None: every axis is spatial.
    num_threads : int, optional, keyword-only
        Engine threads (default: `workers`, then :func:`imgconv.get_num_threads`).

    Returns
    -------
    features : ndarray, float32, ``spatial_shape + (n_features,)``
        Per channel, per scale: intensity, edges, then ``ndim`` eigenvalues
        (largest first).

    Raises
    ------
    ValueError
        No feature selected, bad sigmas or `num_sigma`, bad `channel_axis`.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.feature import multiscale_basic_features
    >>> multiscale_basic_features(np.zeros((8, 8)), sigma_min=1, sigma_max=2).shape
    (8, 8, 8)
    """
    features = MultiscaleFeatures(intensity, edges, texture, sigma_min, sigma_max, num_sigma)
    return features(image, channel_axis=channel_axis, num_threads=num_threads if num_threads is not None else workers)
