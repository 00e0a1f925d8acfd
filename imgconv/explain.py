"""Explain dilated kernels and stacks of them: tap grids, receptive fields, holes.

A kernel of size ``k`` at dilation ``d`` has its taps ``d`` pixels apart and
spans ``keff = d (k - 1) + 1`` pixels, but it reads only ``k`` of them.  A stack
of such layers reaches an input window of extent ``R``
(:func:`imgconv.receptive_field`), yet repeated or strided dilations can leave
holes inside that window -- the "gridding" artefact.  :func:`explain` draws the
taps as ASCII and tabulates, layer by layer, the receptive field and how many
input pixels really contribute; :func:`explain_png` draws the same with
matplotlib; :func:`footprint` returns the contributing pixels as an array.

Contributing pixels are found by propagating the tap sets: per axis, the
offsets an output reaches are ``{0}`` before the first layer, and each layer
replaces the set ``S`` with the Minkowski sum
``S + {u * d * J : u = 0 .. k - 1}``, ``J`` being the jump (product of the
previous strides).  The 2-D footprint is the product of the two axis sets.
"""

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _output
from ._shared import geometry
from ._typing import IntPair, StrPath, SupportsWrite
from ._validation import as_pair
from .shape import receptive_field

__all__ = ["explain", "explain_png", "footprint"]

#: Grids wider or taller than this are not drawn as ASCII (the numbers are still given).
MAX_GRID = 80
#: :func:`explain_png` draws at most this many cells a side; a larger box is binned
#: (a cell is dark when any pixel in it is), so no drawing ever holds a
#: ``keff x keff`` array: a 3x3 kernel at dilation 100000 spans 200001 pixels a side.
MAX_IMAGE = 256


def _fmt_pair(pair):
    return f"{pair[0]}x{pair[1]}"


def _layer_params(layer, index):
    """(kernel, stride, padding, dilation) of a dict or Conv2d, normalised to pairs (padding as given)."""
    if isinstance(layer, geometry.ConvLayer):  # a Conv2d
        return layer.layer_geometry()
    # receptive_field() has validated keys and values already.
    return (
        as_pair(layer["kernel_size"], f"layers[{index}]['kernel_size']"),
        as_pair(layer.get("stride", 1), f"layers[{index}]['stride']"),
        layer.get("padding", 0),
        as_pair(layer.get("dilation", 1), f"layers[{index}]['dilation']"),
    )


def _check_layers(layers):
    if isinstance(layers, (dict, str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"`layers` must be a sequence of dicts or Conv2d objects; got {type(layers).__name__}")
    layers = list(layers)
    if not layers:
        raise ValueError("`layers` must contain at least one layer; got none")
    fields = receptive_field(layers)  # validates every layer, with messages naming it
    params = [_layer_params(layer, i) for i, layer in enumerate(layers)]
    return layers, params, fields


def _axis_offsets(params):
    """Per axis, the sorted offsets reachable after each layer (list over layers of (rows, cols))."""
    sets = [np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)]
    jump = [1, 1]
    history = []
    for kernel, stride, _, dilation in params:
        for axis in (0, 1):
            taps = np.arange(kernel[axis], dtype=np.int64) * dilation[axis] * jump[axis]
            sets[axis] = np.unique((sets[axis][:, None] + taps[None, :]).ravel())
            jump[axis] *= stride[axis]
        history.append((sets[0], sets[1]))
    return history


def footprint(layers: Iterable[geometry.ConvLayer | dict[str, Any]]) -> npt.NDArray[np.bool_]:
    """Input pixels that contribute to one output of a stack of convolutions.

    Parameters
    ----------
    layers : sequence of dict or Conv2d
        As for :func:`imgconv.receptive_field`: dicts with ``kernel_size`` and
        optionally ``stride``, ``padding``, ``dilation``.

    Returns
    -------
    mask : ndarray of bool, shape (R_h, R_w)
        ``mask[u, v]`` is True when input pixel ``start + (u, v)`` of the
        receptive-field box reaches the output through some path of taps
        (``R`` = :func:`imgconv.receptive_field` extent).

    Raises
    ------
    TypeError, ValueError
        For malformed layers (the message names the layer).

    Examples
    --------
    >>> from imgconv.explain import footprint
    >>> mask = footprint([{"kernel_size": 3, "dilation": 2}] * 3)
    >>> mask.shape, int(mask.sum())
    ((13, 13), 49)
    """
    _, params, _ = _check_layers(layers)
    rows, cols = _axis_offsets(params)[-1]
    mask = np.zeros((int(rows[-1]) + 1, int(cols[-1]) + 1), dtype=bool)
    mask[np.ix_(rows, cols)] = True
    return mask


def _grid(mask):
    return "\n".join(" ".join("#" if v else "." for v in row) for row in mask)


def _kernel_taps(kernel, dilation):
    """Tap rows, tap columns and effective extent ``d*(k-1)+1`` of a dilated kernel."""
    rows, cols = (np.arange(k, dtype=np.int64) * d for k, d in zip(kernel, dilation))
    return rows, cols, (int(rows[-1]) + 1, int(cols[-1]) + 1)


def _binned_mask(rows, cols, shape, cells):
    """Pixels ``(rows x cols)`` of a `shape` box as a mask of at most `cells` a side.

    Returns the mask and the pixels per cell ``(fh, fw)``; a cell is True when
    any of its pixels is listed.  With ``(1, 1)`` the mask is exact.
    """
    fh, fw = (-(-length // cells) for length in shape)
    mask = np.zeros((-(-shape[0] // fh), -(-shape[1] // fw)), dtype=bool)
    mask[np.ix_(np.unique(rows // fh), np.unique(cols // fw))] = True
    return mask, (fh, fw)


def _table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).rjust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _stack_report(params, fields, draw=True):
    history = _axis_offsets(params)
    header = ["layer", "kernel", "stride", "padding", "dilation", "keff", "RF", "jump", "contributing", "density"]
    rows = []
    for i, ((kernel, stride, padding, dilation), field, (sr, sc)) in enumerate(zip(params, fields, history)):
        keff = tuple(geometry.extent(k, d) for k, d in zip(kernel, dilation))
        pad = padding if isinstance(padding, str) else _fmt_pair(as_pair(padding, "padding", minimum=0))
        count = len(sr) * len(sc)
        box = field.extent[0] * field.extent[1]
        rows.append(
            [
                i + 1,
                _fmt_pair(kernel),
                _fmt_pair(stride),
                pad,
                _fmt_pair(dilation),
                _fmt_pair(keff),
                _fmt_pair(field.extent),
                _fmt_pair(field.jump),
                f"{len(sr)}x{len(sc)} = {count}",
                f"{100.0 * count / box:.1f}%",
            ]
        )
    text = [
        f"Receptive field of a stack of {len(params)} layer{'s' if len(params) != 1 else ''}",
        "(RF_l = RF_{l-1} + (keff_l - 1) * J_{l-1},  J_l = J_{l-1} * s_l,  keff = d*(k-1)+1;",
        " contributing = input pixels some path of taps reaches, out of the RF box)",
        _table(rows, header),
    ]
    sr, sc = history[-1]
    extent = fields[-1].extent
    count = len(sr) * len(sc)
    if count == extent[0] * extent[1]:
        text.append(f"Every pixel of the {_fmt_pair(extent)} receptive field contributes.")
    else:
        text.append(
            f"Only {len(sr)}x{len(sc)} = {count} of the {_fmt_pair(extent)} = {extent[0] * extent[1]} "
            "pixels of the receptive field contribute; the others are holes."
        )
    if not draw or count == extent[0] * extent[1]:
        pass
    elif max(extent) <= MAX_GRID:
        text += [
            "Footprint of one output ('#' contributes, '.' does not):",
            _grid(_binned_mask(sr, sc, extent, MAX_GRID)[0]),
        ]
    else:
        text.append(f"(footprint grid not drawn: larger than {MAX_GRID} pixels)")
    return "\n".join(text)


def _kernel_report(kernel, dilation):
    rows, cols, keff = _kernel_taps(kernel, dilation)
    spacing = "" if dilation == (1, 1) else f", tap spacing {_fmt_pair(dilation)}"
    text = [
        (
            f"Kernel {_fmt_pair(kernel)}, dilation {_fmt_pair(dilation)}: effective extent {_fmt_pair(keff)} "
            f"= d*(k-1)+1; {kernel[0] * kernel[1]} taps in {keff[0] * keff[1]} pixels{spacing}"
        )
    ]
    if max(keff) <= MAX_GRID:
        text.append(_grid(_binned_mask(rows, cols, keff, MAX_GRID)[0]))
    else:
        text.append(f"(tap grid not drawn: larger than {MAX_GRID} pixels)")
    return "\n".join(text)


def _resolve(kernel_size, dilation, layers, stride):
    if layers is not None and as_pair(stride, "stride") != (1, 1):
        raise ValueError(
            f"`stride` describes the single layer given by `kernel_size`; with `layers`, put the "
            f"stride in each layer instead; got stride={stride!r}"
        )
    if kernel_size is None and layers is None:
        raise ValueError("`kernel_size` may be None only when `layers` is given; got kernel_size=None, layers=None")
    kernel = dil = None
    if kernel_size is not None:
        kernel = as_pair(kernel_size, "kernel_size")
        dil = as_pair(dilation, "dilation")
    if layers is None:
        layers = [{"kernel_size": kernel, "stride": as_pair(stride, "stride"), "dilation": dil}]
    _, params, fields = _check_layers(layers)
    return kernel, dil, params, fields


def explain(
    kernel_size: IntPair | None,
    dilation: IntPair = 1,
    *,
    layers: Iterable[geometry.ConvLayer | dict[str, Any]] | None = None,
    stride: IntPair = 1,
    file: SupportsWrite | None = None,
) -> str:
    """Describe a dilated kernel and the receptive field of a stack of layers, as text.

    Parameters
    ----------
    kernel_size : int or (int, int) or None
        Kernel whose taps are drawn.  May be None when `layers` is given.
    dilation : int or (int, int), default 1
        Its dilation.
    layers : sequence of dict or Conv2d, optional, keyword-only
        A stack of convolutions (dicts with ``kernel_size`` and optionally
        ``stride``, ``padding``, ``dilation``, as for
        :func:`imgconv.receptive_field`).  Default: the single layer
        ``kernel_size`` / `dilation` / `stride`.
    stride : int or (int, int), default 1, keyword-only
        Stride of the single layer; must stay 1 when `layers` is given.
    file : file-like, optional, keyword-only
        If given, the text is also printed to it (e.g. ``sys.stdout``).

    Returns
    -------
    text : str
        The tap grid of the kernel (``'#'`` tap, ``'.'`` hole) with its
        effective extent ``d (k - 1) + 1``, then a table with, per layer,
        kernel, stride, padding, dilation, effective extent, receptive field
        ``RF``, jump ``J``, the number of input pixels that really contribute
        (per axis and in total) and their share of the RF box, and the
        footprint of one output of the whole stack when it is small enough to
        draw (at most :data:`MAX_GRID` pixels a side) and has holes.

    Raises
    ------
    TypeError, ValueError
        Bad `kernel_size`, `dilation`, `stride` or `layers` (the message names
        the parameter or layer).

    See Also
    --------
    imgconv.receptive_field, footprint, explain_png

    Notes
    -----
    ``RF`` and ``J`` come from :func:`imgconv.receptive_field`:
    ``RF_l = RF_{l-1} + (keff_l - 1) J_{l-1}``, ``J_l = J_{l-1} s_l``.  The
    contributing pixels are counted by propagating tap sets (see the module
    notes); e.g. three 3x3 layers at dilation 2 span 13x13 pixels but only 7x7
    of them contribute, while dilations 1, 2, 4 cover their 15x15 box densely.

    References
    ----------
    .. [1] F. Yu and V. Koltun, "Multi-scale context aggregation by dilated
           convolutions", ICLR 2016. :arXiv:`1511.07122`
    .. [2] P. Wang et al., "Understanding convolution for semantic
           segmentation", WACV 2018 (gridding). :arXiv:`1702.08502`

    Examples
    --------
    >>> from imgconv.explain import explain
    >>> print(explain(3, 2).splitlines()[0])
    Kernel 3x3, dilation 2x2: effective extent 5x5 = d*(k-1)+1; 9 taps in 25 pixels, tap spacing 2x2
    >>> print("\\n".join(explain(3, 2).splitlines()[1:6]))
    # . # . #
    . . . . .
    # . # . #
    . . . . .
    # . # . #
    >>> text = explain(None, layers=[{"kernel_size": 3, "dilation": 2}] * 3)
    >>> [line for line in text.splitlines() if line.startswith("Only")]
    ['Only 7x7 = 49 of the 13x13 = 169 pixels of the receptive field contribute; the others are holes.']
    """
    kernel, dil, params, fields = _resolve(kernel_size, dilation, layers, stride)
    parts = []
    if kernel is not None:
        parts.append(_kernel_report(kernel, dil))
    parts.append(_stack_report(params, fields, draw=layers is not None))
    text = "\n\n".join(parts)
    if file is not None:
        print(text, file=file)
    return text


def explain_png(
    path: StrPath,
    kernel_size: IntPair | None,
    dilation: IntPair = 1,
    *,
    layers: Iterable[geometry.ConvLayer | dict[str, Any]] | None = None,
    stride: IntPair = 1,
) -> str:
    """Draw the taps of a dilated kernel and the footprint of a stack of layers to a PNG.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (any format matplotlib's Agg canvas writes, by extension).
    kernel_size, dilation, layers, stride
        As for :func:`explain`.

    Returns
    -------
    path : str
        The file written.

    Raises
    ------
    ImportError
        If matplotlib is not installed (it is optional for imgconv).
    TypeError, ValueError
        As for :func:`explain`.

    Notes
    -----
    Uses ``matplotlib.figure.Figure`` with the Agg canvas directly, so no
    pyplot state or global backend is touched.  Left panel: the kernel's taps
    (dark) and holes; right panel: the input pixels one output of the stack
    depends on (dark), within its receptive-field box.  Boxes wider than
    :data:`MAX_IMAGE` pixels are drawn binned to at most that many cells a side
    (a cell is dark when any pixel in it is; the title gives the cell size), so
    memory stays small for any dilation.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgconv.explain import explain_png
    >>> folder = tempfile.mkdtemp()
    >>> path = explain_png(os.path.join(folder, "taps.png"), 3, 2,
    ...                    layers=[{"kernel_size": 3, "dilation": 2}] * 3)  # doctest: +SKIP
    >>> os.path.basename(path)  # doctest: +SKIP
    'taps.png'
    """
    import os

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "imgconv.explain.explain_png needs matplotlib, which is not installed; "
            "install it with `pip install matplotlib`"
        ) from exc
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike; got {type(path).__name__}")
    kernel, dil, params, fields = _resolve(kernel_size, dilation, layers, stride)
    panels = []
    if kernel is not None:
        rows, cols, keff = _kernel_taps(kernel, dil)
        title = (
            f"kernel {_fmt_pair(kernel)}, dilation {_fmt_pair(dil)}\n"
            f"extent {_fmt_pair(keff)}, {len(rows) * len(cols)} taps"
        )
        panels.append((rows, cols, keff, title))
    rows, cols = _axis_offsets(params)[-1]
    extent = fields[-1].extent
    title = (
        f"{len(params)} layer{'s' if len(params) != 1 else ''}: RF {_fmt_pair(extent)}\n"
        f"{len(rows) * len(cols)} of {extent[0] * extent[1]} pixels contribute"
    )
    panels.append((rows, cols, extent, title))
    fig = Figure(figsize=(4.2 * len(panels), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (rows, cols, shape, title) in enumerate(panels):
        mask, factor = _binned_mask(rows, cols, shape, MAX_IMAGE)
        if factor != (1, 1):
            title += f"\n(one cell = {_fmt_pair(factor)} pixels)"
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.imshow(mask, cmap="Greys", vmin=0, vmax=1.25, interpolation="nearest")
        if factor != (1, 1):  # a lone cell is under a screen pixel: mark it
            dark_rows, dark_cols = np.nonzero(mask)
            ax.scatter(dark_cols, dark_rows, s=9, marker="s", color="0.25", linewidths=0)
        h, w = mask.shape
        if max(h, w) <= 40:
            ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
            ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
            ax.grid(which="minor", color="0.8", linewidth=0.5)
            ax.tick_params(which="minor", length=0)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    path = os.fspath(path)
    # imgconv._output owns every write: atomic, never through a link
    _output.write_atomic(path, lambda file: fig.savefig(file, dpi=100, format="png"), what="`path`")
    return path
