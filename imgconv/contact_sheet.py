"""Contact sheets: each input next to its responses, tiled, as one PNG picture.

Written by ``imgconv batch`` (``dst/preview.png``) and ``imgconv filter
--preview``.  A sheet is built in two steps so that a batch run never reads
its results back: :func:`sheet_row` shrinks one input and its responses to
small 8-bit tiles (in the worker that computed them, from the arrays in
memory), and :func:`draw_sheet` lays the rows out and labels them with
Pillow.  :func:`render_contact_sheet` and :func:`contact_sheet` do both from
files on disk.
"""

import os
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from ._output import shown
from ._typing import Int, StrPath

__all__ = ["contact_sheet", "draw_sheet", "render_contact_sheet", "sheet_row"]

#: Inputs a sheet shows by default (the first ones).
MAX_IMAGES = 4

_GAP = 4  # pixels between tiles
_LABEL = 12  # pixels of label text under each tile
_BACKGROUND = (38, 38, 38)
_TEXT = (230, 230, 230)

#: A row of :func:`sheet_row`: ``(label, input tile, [(name, tile), ...], K)``.
SheetRow: TypeAlias = tuple[str, npt.NDArray[np.uint8], list[tuple[str, npt.NDArray[np.uint8]]], int]


def _shrink(image, tile):
    """Nearest-neighbour subsampling so that the longest side is at most `tile` (no filtering)."""
    h, w = image.shape[:2]
    step = max(1, -(-max(h, w) // tile))
    return image if step == 1 else image[::step, ::step]


def _display(image):
    """uint8 (H, W) or (H, W, 3) for display: 0.5 and 99.5 percentiles to black and white."""
    x = np.asarray(image)
    if x.ndim == 3 and x.shape[2] in (3, 4):
        x = x[:, :, :3]
    elif x.ndim == 3:
        x = x[:, :, 0]
    x = x.astype(np.float32)
    finite = np.isfinite(x)
    if not finite.all():
        x = np.where(finite, x, 0.0)
    low, high = np.percentile(x, [0.5, 99.5])
    if not high > low:
        return np.zeros(x.shape, np.uint8)
    return np.rint(np.clip((x - low) / (high - low), 0.0, 1.0) * 255).astype(np.uint8)


def sheet_row(
    label: object,
    image: npt.ArrayLike,
    result: npt.ArrayLike,
    *,
    names: Sequence[str] | None = None,
    max_channels: Int = 24,
    tile: Int = 128,
) -> SheetRow:
    """One row of a contact sheet: small display tiles of an input and its responses.

    Parameters
    ----------
    label : str
        Shown above the input (a file name).
    image : ndarray, shape (H, W) or (H, W, C)
        The input.
    result : ndarray, shape (H', W') or (H', W', K)
        Its responses; the first `max_channels` are shown.
    names : sequence of str, optional
        Labels of the K channels; ``#k`` when missing or of another length.
    max_channels : int, default 24
    tile : int, default 128
        Longest side of each tile (nearest-neighbour subsampling, before any
        arithmetic, so a row costs little whatever the image size).

    Returns
    -------
    row : tuple
        ``(label, input tile, [(name, tile), ...], K)``, tiles ``uint8``: small
        and picklable, for :func:`draw_sheet`.
    """
    result = np.asarray(result)
    total = 1 if result.ndim == 2 else result.shape[2]
    labels = list(names) if names is not None and len(names) == total else [f"#{k}" for k in range(total)]
    small = _shrink(result, tile)
    planes = [small] if small.ndim == 2 else [small[:, :, k] for k in range(min(total, max_channels))]
    tiles = [(str(labels[k]), _display(plane)) for k, plane in enumerate(planes)]
    return shown(str(label)), _display(_shrink(np.asarray(image), tile)), tiles, total


def _font():
    try:
        return ImageFont.load_default(size=10)
    except TypeError:  # Pillow < 10.1: the bitmap font, no size
        return ImageFont.load_default()


def _fit(draw, text, font, width):
    """`text` cut (with an ellipsis) to fit in `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text + "\u2026"


def draw_sheet(rows: Iterable[SheetRow], *, columns: Int = 6, tile: Int = 128) -> npt.NDArray[np.uint8]:
    """Lay out rows of :func:`sheet_row` as one RGB picture, labelled with Pillow.

    Parameters
    ----------
    rows : sequence of tuples
        From :func:`sheet_row`.
    columns : int, default 6
        Responses per line; an image with more takes several lines.
    tile : int, default 128
        The `tile` the rows were made with.

    Returns
    -------
    pixels : ndarray of uint8, shape (H, W, 3)
    """
    rows = list(rows)
    if not rows:
        raise ValueError("`rows` must contain at least one row; got none")
    columns = max(1, min(columns, max(len(r[2]) for r in rows)))
    cell_w, cell_h = tile + _GAP, tile + _LABEL + _GAP
    lines = [max(1, -(-len(tiles) // columns)) for _, _, tiles, _ in rows]
    width, height = (columns + 1) * cell_w + _GAP, sum(lines) * cell_h + _GAP
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()

    def put(pixels, text, x, y):
        sheet.paste(Image.fromarray(pixels).convert("RGB"), (x, y + _LABEL))
        draw.text((x, y), _fit(draw, text, font, tile), fill=_TEXT, font=font)

    top = _GAP
    for (label, source, tiles, total), n_lines in zip(rows, lines):
        shown_label = label if total <= len(tiles) else f"{label} ({len(tiles)}/{total})"
        put(source, shown_label, _GAP, top)
        for k, (name, pixels) in enumerate(tiles):
            line, column = divmod(k, columns)
            put(pixels, name, _GAP + (column + 1) * cell_w, top + line * cell_h)
        top += n_lines * cell_h
    return np.asarray(sheet)


def render_contact_sheet(
    pairs: Iterable[tuple[StrPath, StrPath]],
    *,
    names: Sequence[str] | None = None,
    max_images: Int = MAX_IMAGES,
    max_channels: Int = 24,
    columns: Int = 6,
    tile: Int = 128,
) -> npt.NDArray[np.uint8]:
    """The pixels of :func:`contact_sheet`, from files on disk, without writing them.

    Parameters are those of :func:`contact_sheet`.  Returns ``uint8 (H, W, 3)``.
    """
    from .io import imread

    rows = [
        sheet_row(
            os.path.basename(source), imread(source), imread(output), names=names, max_channels=max_channels, tile=tile
        )
        for source, output in list(pairs)[:max_images]
    ]
    if not rows:
        raise ValueError("`pairs` must contain at least one (input, output) pair; got none")
    return draw_sheet(rows, columns=columns, tile=tile)


def contact_sheet(
    pairs: Iterable[tuple[StrPath, StrPath]],
    path: StrPath,
    *,
    names: Sequence[str] | None = None,
    max_images: Int = MAX_IMAGES,
    max_channels: Int = 24,
    columns: Int = 6,
    tile: Int = 128,
) -> str:
    """Write a PNG contact sheet: each input next to its responses, tiled.

    Parameters
    ----------
    pairs : sequence of (str, str)
        ``(input path, output path)`` pairs (``BatchReport.outputs``); the
        first `max_images` are shown.
    path : str or os.PathLike
        The ``.png`` file to write (atomically, never through a link).
    names : sequence of str, optional
        Labels of the output channels (:meth:`Pipeline.channel_names`).
    max_images : int, default 4
    max_channels : int, default 24
        Responses shown per image (the first ones).
    columns : int, default 6
        Responses per line; an image with more takes several lines.
    tile : int, default 128
        Longest side of each tile, in pixels (nearest-neighbour subsampling).

    Returns
    -------
    path : str

    Notes
    -----
    Every tile is scaled for display on its own (0.5 and 99.5 percentiles of
    the tile to black and white) and labelled with its channel name.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from imgconv.contact_sheet import draw_sheet, sheet_row
    >>> image = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> row = sheet_row("ramp.png", image, np.dstack([image, 255 - image]), names=["up", "down"])
    >>> draw_sheet([row], tile=8).shape
    (28, 40, 3)
    """
    from .io import imwrite

    path = os.fspath(path)
    imwrite(
        path,
        render_contact_sheet(
            pairs, names=names, max_images=max_images, max_channels=max_channels, columns=columns, tile=tile
        ),
    )
    return path
