"""Contact sheets: each input next to its responses, tiled, as one PNG picture.

Written by ``imgconv batch`` (``dst/preview.png``) and ``imgconv filter
--preview``; :func:`render_contact_sheet` gives the pixels, :func:`contact_sheet`
writes them with :func:`imgconv.io.imwrite`.
"""

import os

import numpy as np

from ._output import shown

__all__ = ["contact_sheet", "render_contact_sheet"]


# contact sheet
# --------------------------------------------------------------------------------------

def _display(image):
    """float image in [0, 1] for display: (H, W) or (H, W, 3); robust min-max per channel."""
    x = np.asarray(image)
    if x.dtype == bool:
        return x.astype(np.float32)
    x = x.astype(np.float32)
    finite = np.isfinite(x)
    if not finite.all():
        x = np.where(finite, x, 0.0)
    if x.ndim == 3 and x.shape[2] in (3, 4):
        x = x[:, :, :3]
        low, high = np.percentile(x, [0.5, 99.5])
    else:
        low, high = np.percentile(x, [0.5, 99.5])
    if high <= low:
        return np.zeros(x.shape, np.float32)
    return np.clip((x - low) / (high - low), 0.0, 1.0)


def _shrink(image, tile):
    """Nearest-neighbour subsampling so that the longest side is at most `tile` (no filtering)."""
    h, w = image.shape[:2]
    step = max(1, -(-max(h, w) // tile))
    if step == 1:
        return image
    rows = np.arange(0, h, step)
    cols = np.arange(0, w, step)
    return image[rows][:, cols]


def _channels(result, max_channels):
    result = np.asarray(result)
    if result.ndim == 2:
        return [result], 1
    return [result[:, :, k] for k in range(min(result.shape[2], max_channels))], result.shape[2]


def contact_sheet(pairs, path, *, names=None, max_images=4, max_channels=24, columns=6, tile=128):
    """Write a PNG contact sheet: each input next to its responses, tiled.

    Parameters
    ----------
    pairs : sequence of (str, str)
        ``(input path, output path)`` pairs (``BatchReport.outputs``); the
        first `max_images` are shown.
    path : str or os.PathLike
        The ``.png`` file to write (atomically).
    names : sequence of str, optional
        Labels of the output channels (:meth:`Pipeline.channel_names`).
    max_images : int, default 4
    max_channels : int, default 24
        Responses shown per image (the first ones).
    columns : int, default 6
        Responses per row; an image with more takes several rows.
    tile : int, default 128
        Longest side of each tile, in pixels (nearest-neighbour subsampling).

    Returns
    -------
    path : str

    Notes
    -----
    Every tile is scaled for display on its own (0.5 and 99.5 percentiles to
    black and white).  With matplotlib installed each tile is labelled (file
    name, channel name); without it the sheet is a plain grid of tiles
    (gray responses, colour inputs) on a dark background.  The file is
    written with :func:`imgconv.io.imwrite` (atomically, never through a
    link).
    """
    from .io import imwrite

    path = os.fspath(path)
    pixels = render_contact_sheet(pairs, names=names, max_images=max_images, max_channels=max_channels,
                                  columns=columns, tile=tile)
    imwrite(path, pixels)
    return path


def render_contact_sheet(pairs, *, names=None, max_images=4, max_channels=24, columns=6, tile=128):
    """The pixels of :func:`contact_sheet`, without writing them: ``uint8`` or float ``(H, W, 3)``.

    Parameters are those of :func:`contact_sheet`.
    """
    from .io import imread

    rows = []  # (label, input display, [(label, tile)], total channels)
    for input_path, output_path in list(pairs)[:max_images]:
        source = _shrink(_display(imread(input_path)), tile)
        responses, total = _channels(imread(output_path), max_channels)
        labels = list(names) if names is not None and len(names) == total else [f"#{k}" for k in range(total)]
        tiles = [(labels[k], _shrink(_display(r), tile)) for k, r in enumerate(responses)]
        rows.append((shown(os.path.basename(input_path)), source, tiles, total))
    if not rows:
        raise ValueError("`pairs` must contain at least one (input, output) pair; got none")
    columns = max(1, min(columns, max(len(r[2]) for r in rows)))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return _plain_sheet(rows, columns, tile)
    return _matplotlib_sheet(rows, columns, tile)


def _plain_sheet(rows, columns, tile):
    gap = 4
    cell = tile + gap
    heights = [max(1, -(-len(tiles) // columns)) for _, _, tiles, _ in rows]
    sheet = np.full((sum(heights) * cell + gap, (columns + 1) * cell + gap, 3), 0.15, np.float32)
    top = gap
    for (label, source, tiles, _), height in zip(rows, heights):
        src = source if source.ndim == 3 else np.repeat(source[:, :, None], 3, axis=2)
        sheet[top:top + src.shape[0], gap:gap + src.shape[1]] = src
        for k, (_, t) in enumerate(tiles):
            r, c = divmod(k, columns)
            y, x = top + r * cell, gap + (c + 1) * cell
            sheet[y:y + t.shape[0], x:x + t.shape[1]] = t[:, :, None]
        top += height * cell
    return np.rint(np.clip(sheet, 0.0, 1.0) * 255).astype(np.uint8)


def _matplotlib_sheet(rows, columns, tile):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    heights = [max(1, -(-len(tiles) // columns)) for _, _, tiles, _ in rows]
    n_rows = sum(heights)
    inch = 1.45
    figure = Figure(figsize=((columns + 1) * inch, n_rows * inch * 1.08), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(n_rows, columns + 1, hspace=0.25, wspace=0.05,
                               left=0.01, right=0.99, top=0.98, bottom=0.01)
    top = 0
    for (label, source, tiles, total), height in zip(rows, heights):
        axis = figure.add_subplot(grid[top, 0])
        axis.imshow(source, cmap=None if source.ndim == 3 else "gray", vmin=0, vmax=1, interpolation="nearest")
        shown = f"{label}" + (f"\n({len(tiles)} of {total} shown)" if total > len(tiles) else "")
        axis.set_title(shown, fontsize=6)
        axis.set_axis_off()
        for k, (name, t) in enumerate(tiles):
            r, c = divmod(k, columns)
            axis = figure.add_subplot(grid[top + r, c + 1])
            axis.imshow(t, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axis.set_title(name, fontsize=6)
            axis.set_axis_off()
        top += height
    canvas = figure.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
