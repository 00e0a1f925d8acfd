"""Pick the compiled kernel build for this CPU.

setup.py compiles the same kernel source for several instruction sets.  At first
use imgconv loads the best one the running CPU supports; ``IMGCONV_SIMD`` (one of
``baseline``, ``avx2``, ``avx512``) forces a path, e.g. to compare paths or to
work around a faulty CPU feature report.
"""

import contextlib
import importlib
import os
import types
from typing import Any

from ._typing import SupportsWrite

__all__ = ["SIMD_PATHS", "available_paths", "kernel_module", "show_config", "using"]

SIMD_PATHS = ("avx512", "avx2", "baseline")  # best first
_chosen = None
# path -> loaded module: kernel_module() runs on every engine call, and importlib.import_module
# costs about 2 us even for a module already imported.  Modules are never unloaded, so entries stay valid.
_loaded: dict[str, types.ModuleType] = {}  # path -> its loaded kernel module

_BUILD_HINT = (
    "imgconv's compiled kernels could not be imported ({error}). If you are running from a source "
    "checkout, build them first: `pip install .` (or `python setup.py build_ext --inplace` for "
    "development). A C compiler, Cython and NumPy are needed to build."
)


def _load(path):
    module = _loaded.get(path)
    if module is None:
        module = _loaded[path] = importlib.import_module(f"imgconv._conv_{path}_cy")
    return module


def available_paths():
    """Kernel builds that are installed and that this CPU can run, best first."""
    try:
        baseline = _load("baseline")
    except ImportError as exc:
        raise ImportError(_BUILD_HINT.format(error=exc)) from exc
    paths = []
    for path in SIMD_PATHS:
        if path != "baseline" and not baseline.cpu_has(path):
            continue
        try:
            _load(path)
        except ImportError:
            continue
        paths.append(path)
    return paths


def kernel_module(path=None):
    """The compiled kernel module for `path`, or the chosen default one."""
    global _chosen
    if path is None and _chosen is not None:
        return _load(_chosen)  # the per-call path: no checks, the choice was validated when made
    if path is not None:
        if path not in available_paths():
            raise ValueError(f"`path` must be one of {sorted(available_paths())} on this machine; got {path!r}")
        return _load(path)
    if _chosen is None:
        paths = available_paths()
        forced = os.environ.get("IMGCONV_SIMD", "").strip().lower()
        if forced:
            if forced not in paths:
                raise ValueError(f"IMGCONV_SIMD must be one of {sorted(paths)} on this machine; got {forced!r}")
            _chosen = forced
        else:
            _chosen = paths[0]
    return _load(_chosen)


@contextlib.contextmanager
def using(path):
    """Run the enclosed calls on the kernel build `path` (tests compare every path)."""
    global _chosen
    kernel_module(path)  # validates
    previous, _chosen = _chosen, path
    try:
        yield
    finally:
        _chosen = previous


def show_config(file: SupportsWrite | None = None) -> dict[str, Any]:
    """Print how imgconv runs here: version, kernel path, OpenMP and threads.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default ``sys.stdout``).

    Returns
    -------
    info : dict
        The same facts: ``version``, ``simd_path``, ``available_paths``,
        ``openmp``, ``num_threads``.
    """
    import sys

    from . import __version__
    from ._threads import get_num_threads

    module = kernel_module()
    info = {
        "version": __version__,
        "simd_path": module.simd_name(),
        "available_paths": available_paths(),
        "openmp": module.openmp_enabled(),
        "num_threads": get_num_threads(),
    }
    out = file or sys.stdout
    print(f"imgconv {info['version']}", file=out)
    print(
        f"  kernel path : {info['simd_path']} (available: {', '.join(info['available_paths'])}; "
        "IMGCONV_SIMD forces one)",
        file=out,
    )
    print(f"  OpenMP      : {'on' if info['openmp'] else 'off (kernels run serially)'}", file=out)
    print(f"  threads     : {info['num_threads']}", file=out)
    return info
