"""Sphinx configuration of imgconv's documentation (``sphinx-build -W -b html docs docs/_build/html``).

The user guide pages include their text from the README (one source), the API
reference is generated from the docstrings (numpydoc), and the gallery runs each
script of ``examples/`` at build time and shows the picture it writes.
"""

import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import sys
import textwrap

import imgconv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GENERATED = os.path.join(HERE, "_generated")

project = "imgconv"
author = "the imgconv developers"
copyright = "2026, the imgconv developers"
release = imgconv.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated/gallery/*.py"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
# The README's headings are included into several pages; their anchors are that page's.
suppress_warnings = ["myst.header"]

# :DOI:`...` and :arXiv:`...` in the docstrings' References sections
extlinks = {"DOI": ("https://doi.org/%s", "doi:%s"), "arXiv": ("https://arxiv.org/abs/%s", "arXiv:%s")}

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
# Signatures as the code reads them; the types are in each numpydoc "Parameters" section.
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = f"imgconv {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []


# -- pictures and the gallery, made at build time -----------------------------------------------


def _examples():
    folder = os.path.join(ROOT, "examples")
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_"))


def _run_example(name, out):
    """Run ``examples/<name>.py`` (its ``main``) so that it writes its picture into `out`."""
    folder = os.path.join(ROOT, "examples")
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(f"_gallery_{name}", os.path.join(folder, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with contextlib.redirect_stdout(io.StringIO()):  # the scripts report what they wrote
            module.main(["--out", out])
        return module.__doc__ or ""
    finally:
        sys.path.remove(folder)


def _gallery_page(name, doc, image):
    title, _, body = doc.strip().partition("\n")
    heading = title.strip().rstrip(".")
    return "\n".join(
        [
            f".. _gallery-{name}:",
            "",
            heading,
            "=" * len(heading),
            "",
            textwrap.dedent(body).strip(),
            "",
            f".. image:: {image}",
            f"   :alt: {heading}",
            "",
            "Source",
            "------",
            "",
            f".. literalinclude:: ../../../examples/{name}.py",
            "   :language: python",
            "",
        ]
    )


def _make_gallery():
    folder = os.path.join(GENERATED, "gallery")
    os.makedirs(folder, exist_ok=True)
    entries = []
    for name in _examples():
        doc = _run_example(name, folder)
        with open(os.path.join(folder, f"{name}.rst"), "w", encoding="utf-8") as f:
            f.write(_gallery_page(name, doc, f"{name}.png"))
        entries.append(f"   {name}")
    index = ["Gallery", "=======", "", "The scripts of ``examples/``, run when these pages were built.", ""]
    index += [".. toctree::", "   :maxdepth: 1", "", *entries, ""]
    with open(os.path.join(folder, "index.rst"), "w", encoding="utf-8") as f:
        f.write("\n".join(index))


def _make_pictures():
    from imgconv.explain import explain_png

    folder = os.path.join(GENERATED, "pictures")
    os.makedirs(folder, exist_ok=True)
    explain_png(os.path.join(folder, "dilation_2.png"), 3, 2)
    explain_png(os.path.join(folder, "stack_1_2_4.png"), 3, 1, layers=[{"kernel_size": 3, "dilation": d} for d in (1, 2, 4)])
    explain_png(os.path.join(folder, "stack_2_2_2.png"), 3, 2, layers=[{"kernel_size": 3, "dilation": 2}] * 3)


#: The public modules, in the order the API reference lists them, each with its title.
API_MODULES = [
    ("imgconv", "convolution with PyTorch's semantics, shapes, threads"),
    ("imgconv.filters", "scikit-image-style filters"),
    ("imgconv.ndimage", "scipy.ndimage's convolution filters"),
    ("imgconv.feature", "Hessians, structure tensors and pixel features (scikit-image)"),
    ("imgconv.kernels", "named kernels"),
    ("imgconv.banks", "filter banks"),
    ("imgconv.wavelet", "the starlet (à trous) wavelet"),
    ("imgconv.pipeline", "pipelines of steps and their JSON specs"),
    ("imgconv.batch", "folders of images"),
    ("imgconv.io", "reading and writing images"),
    ("imgconv.dask", "Dask: tiled arrays, out-of-core files, task runs"),
    ("imgconv.weights", "weights from torch files, without torch"),
    ("imgconv.explain", "taps and receptive fields, in text and pictures"),
]


def _make_api():
    """The API reference from each module's ``__all__``: a new public function is listed without an edit here."""
    lines = ["API reference", "=============", "", "Every public function and class, by module.", ""]
    for name, title in API_MODULES:
        module = importlib.import_module(name)
        members = [m for m in sorted(module.__all__) if callable(getattr(module, m))]
        members = [m for m in members if not inspect.ismodule(getattr(module, m))]
        head = f"``{name}``: {title}"
        lines += [head, "-" * len(head), "", f".. automodule:: {name}", "   :no-members:", ""]
        lines += [f".. currentmodule:: {name}", "", ".. autosummary::", "   :toctree: api", ""]
        lines += [f"   {m}" for m in members] + [""]
    os.makedirs(GENERATED, exist_ok=True)
    with open(os.path.join(GENERATED, "api.rst"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


# Written when this file is read: autosummary collects its stubs before any builder-inited hook runs.
_make_api()


def _generate(app):
    _make_pictures()
    _make_gallery()


def setup(app):
    app.connect("builder-inited", _generate)
