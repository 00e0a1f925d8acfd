"""What every example shares: the input image, the command line and writing the figure."""

import argparse
import importlib
import pathlib
import sys

from imgconv.io import image_to_float32, imread

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "images"


def load_image(path=None, default="camera.png", fallback="camera", *, gray=False):
    """A float image in [0, 1]: `path`, else data/images/<default>, else skimage.data.<fallback>().

    Colour images keep their first three channels, or are averaged to grey with `gray`.
    """
    path = pathlib.Path(path) if path else DATA / default
    if path.exists():
        image = imread(path)
    else:  # an installed copy without the repository's data/ folder
        import skimage.data

        image = getattr(skimage.data, fallback)()
    image = image_to_float32(image)
    if image.ndim == 3:
        image = image[..., :3].mean(axis=-1) if gray else image[..., :3]
    return image


def require(module, install, name=None):
    """Exit with one line saying what to install when the optional `module` is missing.

    `name` is the package's name in that line when it is not the module's (scikit-learn: sklearn).
    """
    try:
        importlib.import_module(module)
    except ImportError:
        sys.exit(f"this example needs {name or module}: {install}")


def argument_parser(doc, default_image):
    """A parser with the two options every example has: --image and --out."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--image", help=f"input image (default: data/images/{default_image})")
    parser.add_argument("--out", default=str(HERE / "output"), help="output directory")
    return parser


def save_figure(fig, out, name, dpi=80):
    """Write `fig` as out/name (creating the folder) and return the path."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / name
    fig.savefig(target, dpi=dpi)
    return target
