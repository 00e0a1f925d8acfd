"""Dask layer: folders of images on a cluster, and images larger than memory.

Two independent tools, both thin layers over the one engine
(:func:`imgconv._engine.correlate`):

* :func:`run_tasks` (``_tasks.py``) runs a picklable function over many small tasks (one image
  file each) on a Dask cluster and yields the small result records in
  completion order.  :func:`imgconv.batch.process` uses it for
  ``backend="dask"``.  Only task descriptions (paths) and records travel over
  the network; workers read and write the files themselves.
* :func:`conv2d`, :func:`correlate` and :func:`apply` (``_tiled.py``) filter a
  :class:`dask.array.Array` tile by tile, and :func:`process_large` (``_large.py``) streams a
  large TIFF or zarr image to a zarr store with memory bounded by the tile size.
  Every tiled result equals the in-memory result on the whole image, for every
  border mode: the border is built at the true image edges only, and tiles
  share a halo computed from the kernel size, dilation and stride.

This module needs the optional dependencies ``dask[distributed]`` and ``zarr``::

    pip install "imgconv[dask]"

It is imported on demand (``import imgconv.dask``); ``import imgconv`` does not
need Dask.  ``import imgconv.dask`` without Dask raises an ImportError that says
how to install it, before any part of the package loads; ``_optional.py`` imports
``distributed`` and ``zarr`` when a function needs them.
"""

from ._optional import _INSTALL_HINT

try:
    import dask  # noqa: F401
    import dask.array  # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"imgconv.dask needs the optional dependency 'dask' ({_exc}). Install it with: {_INSTALL_HINT}"
    ) from _exc

from .._shared import modes as _modes
from ._large import process_large
from ._tasks import SchedulerError, run_tasks  # noqa: F401  (SchedulerError: the command line names it)
from ._tiled import _pad_axis, apply, conv2d, correlate  # noqa: F401  (_pad_axis: tested on its own)

#: Border modes of :func:`correlate` (scipy.ndimage / scikit-image names, sorted).
SCIPY_MODES = _modes.SCIPY_MODES

__all__ = ["apply", "conv2d", "correlate", "process_large", "run_tasks"]
