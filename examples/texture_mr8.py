"""The 8 maximum responses (MR8) of the Varma-Zisserman texture filter bank.

The RFS bank (38 filters: edges and bars at 3 scales and 6 orientations, a
Gaussian and a Laplacian of Gaussian, 49x49 pixels each) is applied to a colour
photograph's channel mean; for each scale the maximum over orientations makes
the 8 responses rotation invariant.

Run::

    python examples/texture_mr8.py [--image PATH] [--out DIR]

Writes ``texture_mr8.png`` into ``--out`` (default ``examples/output/``).
"""

import sys

import numpy as np

from imgconv import banks

from _common import argument_parser, load_image, require, save_figure


def main(argv=None):
    parser = argument_parser(__doc__, "coffee.jpg")
    args = parser.parse_args(argv)

    require("matplotlib", 'pip install "imgconv[plot]" (or matplotlib)')
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    image = load_image(args.image, "coffee.jpg", "coffee")
    if image.ndim == 3:
        image = image[..., :3]
        responses = banks.mr8_responses(image, channel_axis=-1, per_channel=False)
        shown = image
    else:
        responses = banks.mr8_responses(image)
        shown = image

    fig = Figure(figsize=(13, 4.3), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 5)
    axes[0, 0].imshow(np.clip(shown, 0, 1), cmap=None if shown.ndim == 3 else "gray")
    axes[0, 0].set_title("input")
    axes[1, 0].set_visible(False)
    for i, name in enumerate(banks.MR8_RESPONSE_NAMES):
        ax = axes[i // 4, 1 + i % 4]
        r = responses[..., i]
        lo, hi = np.percentile(r, [0.5, 99.5])
        ax.imshow(r, cmap="RdBu_r" if name in ("bar_s1", "bar_s2", "bar_s4", "log") else "viridis", vmin=lo, vmax=hi)
        ax.set_title(name)
    for ax in axes.ravel():
        ax.set_axis_off()
    target = save_figure(fig, args.out, "texture_mr8.png", dpi=70)
    for i, name in enumerate(banks.MR8_RESPONSE_NAMES):
        print(f"{name:>9}: mean {float(responses[..., i].mean()):+.5f}  std {float(responses[..., i].std()):.5f}")
    print(f"wrote {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
