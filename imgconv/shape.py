"""Shape arithmetic: output sizes, 'same' padding and receptive fields.

Notes
-----
Per axis, with kernel size ``k``, dilation ``d``, stride ``s`` and pads
``(p0, p1)``, the effective (dilated) kernel extent is ``keff = d*(k-1) + 1`` and

    L_out = floor((L + p0 + p1 - keff) / s) + 1.

``'same'`` padding (stride 1 only) pads ``T // 2`` before and ``T - T // 2`` after,
with ``T = d*(k-1)``: when ``T`` is odd the extra row goes to the bottom and the
extra column to the right, exactly as PyTorch does.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._shared import geometry
from ._typing import IntPair, Padding
from ._validation import as_padding, as_pair

__all__ = ["ReceptiveField", "conv_output_shape", "receptive_field", "resolve_pads", "same_pads"]


def same_pads(kernel_size: IntPair, dilation: IntPair = 1) -> tuple[int, int, int, int]:
    """Return ``(top, bottom, left, right)`` pads that keep the size at stride 1.

    Parameters
    ----------
    kernel_size, dilation : int or pair of ints

    Examples
    --------
    >>> same_pads(4)            # T = 3: the extra row/column goes after
    (1, 2, 1, 2)
    >>> same_pads((3, 2), dilation=(2, 3))
    (2, 2, 1, 2)
    """
    return geometry.same_pads(as_pair(kernel_size, "kernel_size"), as_pair(dilation, "dilation"))


def resolve_pads(padding: Padding, kernel_size: IntPair, dilation: IntPair = 1) -> tuple[int, int, int, int]:
    """Turn torch-style `padding` ('same', 'valid', int, pair) into 4 pads."""
    padding = as_padding(padding)
    if padding == "same":
        return same_pads(kernel_size, dilation)
    return geometry.torch_pads(padding, None, None)


def conv_output_shape(
    input_hw: IntPair, kernel_size: IntPair, stride: IntPair = 1, padding: Padding = 0, dilation: IntPair = 1
) -> tuple[int, int]:
    """Spatial output shape of a 2-D convolution, as ``torch.nn.Conv2d`` computes it.

    Parameters
    ----------
    input_hw : pair of ints
        ``(H, W)`` of the input.
    kernel_size, stride, dilation : int or pair of ints
    padding : {'same', 'valid'}, int or pair of ints

    Returns
    -------
    (H_out, W_out) : tuple of int

    Raises
    ------
    ValueError
        If the padded input is smaller than the dilated kernel, or 'same' is
        combined with a stride other than 1.

    Examples
    --------
    >>> conv_output_shape((10, 10), 3, dilation=2)
    (6, 6)
    >>> conv_output_shape((7, 9), 4, padding="same")
    (7, 9)
    >>> conv_output_shape((15, 15), 4, stride=2, padding=1)
    (7, 7)
    """
    h, w = as_pair(input_hw, "input_hw", minimum=0)
    kernel = as_pair(kernel_size, "kernel_size")
    stride = as_pair(stride, "stride")
    dilation = as_pair(dilation, "dilation")
    geometry.check_same_stride(as_padding(padding), stride)
    return geometry.output_hw((h, w), kernel, stride, dilation, resolve_pads(padding, kernel, dilation))


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the output of one layer in a stack, per axis ``(h, w)``.

    Attributes
    ----------
    extent : tuple of int
        Bounding size ``R`` of the input window one output pixel depends on.
    jump : tuple of int
        Input-pixel distance ``J`` between adjacent outputs.
    start : tuple of int
        Input index where the window of output 0 begins (``-P``, negative when it
        starts in the padding). Output ``i`` depends on input indices
        ``[start + i*jump, start + i*jump + extent - 1]``.
    """

    extent: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[int, ...]


def _layer_params(layer, index):
    if isinstance(layer, geometry.ConvLayer):  # a Conv2d
        return layer.layer_geometry()
    if isinstance(layer, dict):
        allowed = {"kernel_size", "stride", "padding", "dilation"}
        unknown = sorted(set(layer) - allowed)
        if unknown:
            raise ValueError(f"`layers[{index}]` has unknown keys {unknown}; allowed: {sorted(allowed)}")
        if "kernel_size" not in layer:
            raise ValueError(f"`layers[{index}]` needs a 'kernel_size' key; got {layer!r}")
        return (layer["kernel_size"], layer.get("stride", 1), layer.get("padding", 0), layer.get("dilation", 1))
    raise TypeError(f"`layers[{index}]` must be a Conv2d or a dict; got {type(layer).__name__}")


def receptive_field(layers: Iterable[geometry.ConvLayer | dict[str, Any]]) -> list[ReceptiveField]:
    """Receptive field after each layer of a stack of convolutions.

    Parameters
    ----------
    layers : sequence of Conv2d or dict
        Dicts take ``kernel_size`` and optionally ``stride``, ``padding``
        (int, pair, 'same' or 'valid') and ``dilation``.

    Returns
    -------
    fields : list of ReceptiveField
        One record per layer, for the output of that layer.

    Notes
    -----
    With ``J_0 = 1``, ``R_0 = 1``, ``P_0 = 0`` and per layer ``keff = d*(k-1) + 1``:
    ``J_l = J_{l-1} s_l``, ``R_l = R_{l-1} + (keff_l - 1) J_{l-1}`` and
    ``P_l = P_{l-1} + p_l J_{l-1}`` (``p_l`` = top/left pad), ``start = -P``.
    ``extent`` is a bounding box: repeated dilations can leave holes inside it.

    Examples
    --------
    >>> [r.extent[0] for r in receptive_field([{"kernel_size": 3, "dilation": d} for d in (1, 2, 4)])]
    [3, 7, 15]
    """
    if isinstance(layers, (dict,)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"`layers` must be a sequence of Conv2d objects or dicts; got {type(layers).__name__}")
    jump: tuple[int, ...]
    extent: tuple[int, ...]
    offset: tuple[int, ...]
    jump, extent, offset = (1, 1), (1, 1), (0, 0)
    fields = []
    for index, layer in enumerate(layers):
        kernel_size, stride, padding, dilation = _layer_params(layer, index)
        kernel = as_pair(kernel_size, "kernel_size")
        stride = as_pair(stride, "stride")
        dilation = as_pair(dilation, "dilation")
        geometry.check_same_stride(as_padding(padding), stride, where=f"`layers[{index}]`: ")
        top, _, left, _ = resolve_pads(padding, kernel, dilation)
        keff = tuple(geometry.extent(k, d) for k, d in zip(kernel, dilation))
        extent = tuple(r + (ke - 1) * j for r, ke, j in zip(extent, keff, jump))
        offset = tuple(p + q * j for p, q, j in zip(offset, (top, left), jump))
        jump = tuple(j * s for j, s in zip(jump, stride))
        fields.append(ReceptiveField(extent=extent, jump=jump, start=tuple(-p for p in offset)))
    return fields
