"""Geometry of a convolution: extents, output sizes, pads, anchors, halos, the Gaussian radius.

Per axis, with kernel size ``k``, dilation ``d``, stride ``s`` and pads
``(p0, p1)``, the extent of the dilated kernel is ``K = d (k - 1) + 1`` and

    L_out = floor((L + p0 + p1 - K) / s) + 1.

Two anchors put a kernel on an output pixel; they agree for odd kernels and
differ by one pixel for even extents:

``scipy`` (:func:`scipy_pads`: :func:`imgconv.filters.correlate`, ``convolve``, the dask layer)
    the tap ``K // 2 + origin`` sits on the output pixel: ``K // 2 + origin``
    pixels before, the rest after.  An even kernel reaches one more pixel
    *before* (up/left) than after.
``torch 'same'`` (:func:`same_pads`: ``padding='same'``, :class:`imgconv.banks.FilterBank`,
    :func:`imgconv.filters.apply_bank`)
    with ``T = K - 1``: ``T // 2`` before and ``T - T // 2`` after.  An even
    kernel reaches one more pixel *after* (down/right), as PyTorch pads.

The halo of a filter is its pads: the number of input pixels beyond a tile that
one output pixel reads on each side (:func:`halo`).

A layer of a stack (:class:`ConvLayer`, the base of :class:`imgconv.Conv2d`) is
known here by its geometry alone, so that the shape arithmetic of
:mod:`imgconv.shape` reads layers without importing :mod:`imgconv.conv`.
"""

import math

__all__ = [
    "ConvLayer",
    "check_origin_fits",
    "check_same_stride",
    "extent",
    "gaussian_radius",
    "halo",
    "output_hw",
    "output_size",
    "same_pads",
    "scipy_pads",
    "torch_pads",
]


class ConvLayer:
    """Base of the layer classes whose geometry :func:`imgconv.receptive_field` reads.

    A subclass has the attributes ``kernel_size``, ``stride``, ``padding`` and
    ``dilation`` (torch's meaning); :class:`imgconv.Conv2d` is one.  With this
    base here, :mod:`imgconv.shape` recognises a layer without importing
    :mod:`imgconv.conv` (which imports :mod:`imgconv.shape`).
    """

    __slots__ = ()

    def layer_geometry(self):
        """``(kernel_size, stride, padding, dilation)`` of the layer, as its attributes hold them."""
        return self.kernel_size, self.stride, self.padding, self.dilation


def extent(kernel, dilation):
    """``d (k - 1) + 1``: the pixels one dilated kernel of `kernel` taps spans along an axis."""
    return dilation * (kernel - 1) + 1


def output_size(length, kernel, stride, dilation, pad_before, pad_after):
    """Output length along one axis: ``floor((L + pads - d*(k-1) - 1) / s) + 1``."""
    return (length + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def output_hw(input_hw, kernel, stride, dilation, pads):
    """``(H_out, W_out)`` of a correlation with pads ``(top, bottom, left, right)``.

    Raises PyTorch's ValueError when the padded input is smaller than the dilated kernel.
    """
    h, w = input_hw
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    keff = (extent(kernel[0], dilation[0]), extent(kernel[1], dilation[1]))
    if hp < keff[0] or wp < keff[1]:
        raise ValueError(
            f"Calculated padded input size per channel: ({hp} x {wp}). Kernel size (dilated): "
            f"({keff[0]} x {keff[1]}). Kernel size can't be greater than actual input size; "
            f"got input (H, W)={tuple(input_hw)}, kernel_size={tuple(kernel)}, dilation={tuple(dilation)}, "
            f"pads (top, bottom, left, right)={tuple(pads)}"
        )
    return (
        output_size(h, kernel[0], stride[0], dilation[0], pads[0], pads[1]),
        output_size(w, kernel[1], stride[1], dilation[1], pads[2], pads[3]),
    )


def same_pads(kernel, dilation):
    """torch ``'same'`` pads ``(top, bottom, left, right)`` of a kernel ``(kh, kw)`` at dilation ``(dh, dw)``.

    ``T = d (k - 1)`` per axis, ``T // 2`` before and ``T - T // 2`` after: an odd
    ``T`` puts the extra row at the bottom and the extra column at the right.
    """
    th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
    return (th // 2, th - th // 2, tw // 2, tw - tw // 2)


def scipy_pads(kernel, dilation, origin=(0, 0)):
    """Pads ``(top, bottom, left, right)`` that put scipy's anchor ``K // 2 + origin`` on the output pixel.

    ``K = d (k - 1) + 1`` is the extent of the zero-inserted kernel, so the dilated
    result equals scipy.ndimage with the zero-inserted kernel.  Check `origin`
    first with :func:`check_origin_fits`.
    """
    pads = []
    for k, d, o in zip(kernel, dilation, origin):
        size = extent(k, d)
        before = size // 2 + o
        pads += [before, size - 1 - before]
    return tuple(pads)


def check_origin_fits(origin, kernel, dilation):
    """Refuse an `origin` (pair) that moves scipy's anchor off the dilated kernel.

    Each axis needs ``-(K // 2) <= o <= (K - 1) // 2``, ``K = d (k - 1) + 1``.
    """
    for axis, (k, d, o) in enumerate(zip(kernel, dilation, origin)):
        size = extent(k, d)
        if not -(size // 2) <= o <= (size - 1) // 2:
            raise ValueError(
                f"`origin` must satisfy -(K // 2) <= origin <= (K - 1) // 2 along each axis, with K the "
                f"(dilated) kernel extent; got origin={tuple(origin)} and K={size} along axis {axis}"
            )
    return tuple(origin)


def check_same_stride(padding, stride, where=""):
    """Refuse ``padding='same'`` with a stride other than 1 (PyTorch's rule and message).

    `padding` is normalised (``'same'``, ``'valid'`` or a pair), `stride` a pair;
    `where` prefixes the message (``"`layers[2]`: "``).
    """
    if padding == "same" and tuple(stride) != (1, 1):
        raise ValueError(f"{where}padding='same' is not supported for strided convolutions; got stride={tuple(stride)}")


def torch_pads(padding, kernel, dilation):
    """Pads ``(top, bottom, left, right)`` of a normalised torch `padding` ('same', 'valid' or a pair)."""
    if padding == "same":
        return same_pads(kernel, dilation)
    if padding == "valid":
        return (0, 0, 0, 0)
    ph, pw = padding
    return (ph, ph, pw, pw)


def halo(kernel, dilation=(1, 1), anchor="scipy", origin=(0, 0)):
    """Input pixels one output reads beyond its own on each side: ``(top, bottom, left, right)``.

    The pads of the same anchor (``'scipy'`` or ``'same'``), so that a halo, a
    padding and a receptive field cannot drift apart.
    """
    if anchor == "same":
        return same_pads(kernel, dilation)
    if anchor == "scipy":
        return scipy_pads(kernel, dilation, origin)
    raise ValueError(f"`anchor` must be one of ['same', 'scipy']; got {anchor!r}")


def gaussian_radius(sigma, truncate):
    """``int(truncate * sigma + 0.5)``, scipy.ndimage's radius; inf (not an OverflowError) for an infinite product."""
    radius = truncate * sigma + 0.5
    return int(radius) if math.isfinite(radius) else radius
