"""Segment a photograph with a random forest trained on a few labelled strokes.

A handful of strokes label three classes of a colour photograph -- the wooden
table, the cup and saucer, the coffee.  ``imgconv.feature.multiscale_basic_features``
describes every pixel by its smoothed intensity, edge strength and Hessian
eigenvalues at scales 1 to 16, per channel; a scikit-learn random forest learns
the classes from the labelled pixels and predicts all the others (what
scikit-image's "trainable segmentation" gallery example does with
``skimage.future.fit_segmenter``).  The strokes are placed for ``coffee.jpg``; on
another ``--image`` they keep their relative positions.

Run::

    python examples/pixel_classifier.py [--image PATH] [--out DIR]

Writes ``pixel_classifier.png`` into ``--out`` (default ``examples/output/``).
"""

import sys

import numpy as np

from imgconv.feature import multiscale_basic_features

from _common import argument_parser, load_image, require, save_figure

CLASSES = ("table", "cup and saucer", "coffee")
COLOURS = ("#1f77b4", "#d62728", "#ffbf00")
# The strokes, as (row, column) slices of data/images/coffee.jpg (341 x 512); class 1, 2, 3 = CLASSES.
SHAPE = (341, 512)
STROKES = {
    1: [  # the table: its dark corner, the reddish wood above the cup, the lighter wood at the sides
        np.s_[8:20, 10:90],
        np.s_[10:22, 340:490],
        np.s_[75:85, 15:90],
        np.s_[250:300, 15:30],
        np.s_[210:290, 455:467],
    ],
    2: [  # the saucer (left, bottom, right, the shadow under the cup), the cup's white rim and inner wall
        np.s_[170:235, 82:94],
        np.s_[305:315, 170:300],
        np.s_[140:210, 368:378],
        np.s_[252:268, 205:235],
        np.s_[18:26, 230:300],
        np.s_[42:52, 210:290],
        np.s_[85:130, 155:162],
        np.s_[90:140, 320:327],
    ],
    3: [np.s_[120:130, 200:300], np.s_[100:160, 245:255]],  # a cross on the crema
}


def stroke_labels(shape):
    """0 (unlabelled) or the class of each pixel, the strokes scaled from SHAPE to `shape`."""
    labels = np.zeros(shape, np.uint8)
    for label, strokes in STROKES.items():
        for rows, cols in strokes:
            r0, r1 = (round(i * shape[0] / SHAPE[0]) for i in (rows.start, rows.stop))
            c0, c1 = (round(i * shape[1] / SHAPE[1]) for i in (cols.start, cols.stop))
            labels[r0:r1, c0:c1] = label
    return labels


def main(argv=None):
    parser = argument_parser(__doc__, "coffee.jpg")
    args = parser.parse_args(argv)

    require("matplotlib", 'pip install "imgconv[plot]" (or matplotlib)')
    require("sklearn", 'pip install "imgconv[examples]" (or scikit-learn)', name="scikit-learn")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from sklearn.ensemble import RandomForestClassifier

    image = load_image(args.image, "coffee.jpg", "coffee")
    features = multiscale_basic_features(image, channel_axis=-1 if image.ndim == 3 else None, sigma_min=1, sigma_max=16)
    labels = stroke_labels(image.shape[:2])
    training = labels > 0
    forest = RandomForestClassifier(n_estimators=50, n_jobs=-1, max_depth=10, max_samples=0.05, random_state=0)
    forest.fit(features[training], labels[training])
    segmentation = forest.predict(features.reshape(-1, features.shape[-1])).reshape(labels.shape)

    cmap = ListedColormap(COLOURS)
    fig = Figure(figsize=(11, 4.3), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    shown = np.clip(image, 0, 1)
    axes[0].imshow(shown, cmap=None if shown.ndim == 3 else "gray")
    axes[0].imshow(np.ma.masked_equal(labels, 0), cmap=cmap, vmin=1, vmax=len(CLASSES), interpolation="nearest")
    axes[0].set_title(f"input and the labelled strokes ({int(training.sum())} pixels)")
    axes[1].imshow(segmentation, cmap=cmap, vmin=1, vmax=len(CLASSES), interpolation="nearest")
    axes[1].set_title(f"random forest on {features.shape[-1]} imgconv features")
    for ax in axes:
        ax.set_axis_off()
    handles = [Patch(color=c, label=name) for c, name in zip(COLOURS, CLASSES)]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(CLASSES), frameon=False)
    target = save_figure(fig, args.out, "pixel_classifier.png")
    for label, name in enumerate(CLASSES, start=1):
        agree = float((segmentation[labels == label] == label).mean())
        print(f"{name:>14}: {float((segmentation == label).mean()):6.1%} of the image, {agree:6.1%} of its strokes")
    print(f"wrote {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
