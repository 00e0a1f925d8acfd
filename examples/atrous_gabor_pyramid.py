"""A Gabor filter bank applied at dilations 1, 2 and 4 (an "atrous" pyramid).

One bank of 4 orientations at a single frequency (0.25 cycles/pixel) is
repeated at dilations 1, 2 and 4 with ``FilterBank.at_dilations``: dilating a
kernel by ``d`` divides its frequency by ``d`` without building larger kernels,
so the three rows show the same orientations at 0.25, 0.125 and 0.0625
cycles/pixel.  Each panel shows the amplitude of the real response.

Run::

    python examples/atrous_gabor_pyramid.py [--image PATH] [--out DIR]

Writes ``atrous_gabor_pyramid.png`` into ``--out`` (default ``examples/output/``).
"""

import sys

import numpy as np

from imgconv import banks, filters

from _common import argument_parser, load_image, require, save_figure

RATES = (1, 2, 4)
N_ORIENTATIONS = 4


def main(argv=None):
    parser = argument_parser(__doc__, "clock.jpg")
    args = parser.parse_args(argv)

    require("matplotlib", 'pip install "imgconv[plot]" (or matplotlib)')
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    image = load_image(args.image, "clock.jpg", "camera", gray=True)
    bank = banks.gabor(frequencies=(0.25,), n_orientations=N_ORIENTATIONS).at_dilations(RATES)
    responses = filters.apply_bank(image, bank, mode="reflect")  # (H, W, rates * orientations)
    amplitude = np.abs(responses)

    fig = Figure(figsize=(2.8 * N_ORIENTATIONS, 2.9 * len(RATES)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(RATES), N_ORIENTATIONS)
    for i, name in enumerate(bank.names):
        r, o = divmod(i, N_ORIENTATIONS)
        ax = axes[r, o]
        ax.imshow(amplitude[..., i], cmap="viridis", vmin=0, vmax=np.percentile(amplitude[..., i], 99.5))
        ax.set_title(f"{name}\n{0.25 / RATES[r]:g} cycles/px", fontsize=8)
        ax.set_axis_off()
    target = save_figure(fig, args.out, "atrous_gabor_pyramid.png")
    for r, rate in enumerate(RATES):
        energy = amplitude[..., r * N_ORIENTATIONS : (r + 1) * N_ORIENTATIONS].mean(axis=(0, 1))
        print(f"dilation {rate}: mean amplitude per orientation " + " ".join(f"{e:.4f}" for e in energy))
    print(f"wrote {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
