"""Planning a run: inputs to output paths, collisions, and what the destination allows."""

import os
import sys

import numpy as np

from .._output import Destination, UnsafePathError, shown
from .._typing import BatchDtypePolicy, BatchSource, Bool, StrPath
from ..pipeline import Pipeline, PipelineLike
from ._discover import _discover, _natural_key
from ._tasks import (
    DTYPE_POLICIES,
    BatchPlan,
    BatchTask,
    _format_can_hold,
    _normalise_extension,
)

# planning
# --------------------------------------------------------------------------------------


def _predict_extensions(pipeline, out_format, dtype_policy):
    """Input extension -> predicted output extension, from a probe of the pipeline, or {}.

    The pipeline is run on small zero images with 1 and 3 channels; a prediction is
    made only when both agree and every step is built in (user functions are not probed).
    """
    from ..io import SUPPORTED_EXTENSIONS

    if out_format is not None:
        return {}
    if any(step.user_function is not None for step in pipeline):
        return {}
    halo = pipeline.halo
    size = (max(16, 2 * halo[0] + 8), max(16, 2 * halo[1] + 8))
    results = []
    try:
        for shape in (size, size + (3,)):
            result = pipeline(np.zeros(shape, np.uint8), num_threads=1)
            results.append((result.shape, result.dtype))
    except Exception:
        return {}
    predictions = {}
    for ext in SUPPORTED_EXTENSIONS:
        holds = {_format_can_hold(ext, shape, dtype, dtype_policy) for shape, dtype in results}
        if holds == {False}:
            predictions[ext] = ".tif"
        elif holds == {True}:
            predictions[ext] = ext
    return predictions


def plan(
    src: BatchSource,
    dst: StrPath,
    pipeline: PipelineLike = None,
    *,
    pattern: str = "*",
    recursive: Bool = False,
    out_format: str | None = None,
    dtype_policy: BatchDtypePolicy = "auto",
) -> BatchPlan:
    """List the inputs and their outputs without reading or writing anything.

    Parameters
    ----------
    src, dst, pattern, recursive, out_format, dtype_policy
        As for :func:`process`.
    pipeline : Pipeline, spec or None
        Used (on two tiny zero images) to predict the output extension when
        `out_format` is None.

    Returns
    -------
    plan : BatchPlan

    Raises
    ------
    ValueError, TypeError
        For a missing `src`, ``dst == src``, or bad arguments.
    """
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"`dst` must be a folder path; got {dst!r} of type {type(dst).__name__}")
    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f"`pattern` must be a non-empty glob string such as '*.png'; got {pattern!r}")
    dst_abs = os.path.abspath(os.fspath(dst))
    dst_real = os.path.realpath(dst_abs)
    if os.path.exists(dst_abs) and not os.path.isdir(dst_abs):
        raise ValueError(f"`dst` must be a folder; got {os.fspath(dst)!r}, which is a file")
    out_ext = _normalise_extension(out_format)
    if dtype_policy not in DTYPE_POLICIES:
        raise ValueError(f"`dtype_policy` must be one of {list(DTYPE_POLICIES)}; got {dtype_policy!r}")
    if (
        not isinstance(src, (list, tuple))
        and isinstance(src, (str, os.PathLike))
        and os.path.isdir(os.fspath(src))
        and os.path.realpath(os.fspath(src)) == dst_real
    ):
        raise ValueError(
            f"`dst` must differ from `src` (imgconv never writes into its input folder); both resolve to {dst_real!r}"
        )
    found, failed, roots = _discover(src, dst_real, pattern, recursive)
    roots_real = [os.path.realpath(r) for r in roots]
    for root in roots_real:
        if root == dst_real:
            raise ValueError(
                f"`dst` must differ from `src` (imgconv never writes into its input folder); "
                f"both resolve to {shown(dst_real)!r}"
            )
    destination = Destination(
        dst_abs, protect=[p for p, _ in found] + [p for p, _ in failed], source_folders=roots_real
    )
    fold_case = _case_insensitive(dst_abs)

    predicted = {} if out_ext is not None else _predict_extensions(Pipeline.coerce(pipeline), out_ext, dtype_policy)

    from ..io import SUPPORTED_EXTENSIONS as writable

    entries = []
    for path, root in found:
        relative = os.path.relpath(path, root)
        stem, ext = os.path.splitext(relative)
        entries.append((path, relative, stem, ext.lower()))
    entries.sort(key=lambda e: _natural_key(e[1]))

    def names(entry, long):
        """(output, fallback) relative names; `long` keeps the input's extension in the name."""
        _path, relative, stem, ext = entry
        # an input imgconv reads but does not write (GIF, WebP) gets a TIFF
        target = out_ext if out_ext is not None else predicted.get(ext, ext if ext in writable else ".tif")
        if long:
            output = relative if target == ext else relative + target
            base = relative
        else:
            output = stem + target
            base = stem
        if out_ext is not None or os.path.splitext(output)[1].lower() in (".tif", ".tiff"):
            return output, None
        return output, base + ".tif"

    def collisions(assigned):
        seen = {}
        clashing = set()
        for index, (output, fallback) in assigned.items():
            for name in (output, fallback):
                if name is None:
                    continue
                key = name.casefold() if fold_case else os.path.normcase(name)
                if key in seen and seen[key] != index:
                    clashing.update((index, seen[key]))
                seen.setdefault(key, index)
        return clashing

    assigned = {i: names(e, False) for i, e in enumerate(entries)}
    clashing = collisions(assigned)
    for i in clashing:
        assigned[i] = names(entries[i], True)
    still = collisions(assigned)

    tasks = []
    for i, (path, relative, _stem, _ext) in enumerate(entries):
        if i in still:
            failed.append((path, f"output name {assigned[i][0]!r} collides with the output of another input"))
            continue
        output_rel, fallback_rel = assigned[i]
        problem = None
        outputs = []
        for name in (output_rel, fallback_rel):
            if name is None:
                outputs.append(None)
                continue
            normal = os.path.normpath(name)
            if os.path.isabs(normal) or normal.split(os.sep)[0] == os.pardir:
                problem = f"output name {shown(name)!r} would leave dst"
                break
            try:
                folder = os.path.splitext(normal)[1].lower() == ".zarr"  # an OME-Zarr store is a folder
                outputs.append(destination.check(os.path.join(dst_abs, normal), folder=folder))
            except UnsafePathError as exc:
                problem = str(exc)
                break
        if problem is not None:
            failed.append((path, problem))
            continue
        # outputs[0] is a path (only the fallback may be None)
        tasks.append(BatchTask(input=path, output=outputs[0], relative=relative, fallback=outputs[1], root=dst_abs))  # type: ignore[arg-type]
    failed.sort(key=lambda f: _natural_key(f[0]))
    return BatchPlan(tasks=tasks, failed=failed, src_roots=roots_real, dst=dst_abs, destination=destination)


def _case_insensitive(path):
    """Whether the file system holding `path` (or its nearest existing folder) folds letter case."""
    folder = os.path.abspath(path)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    probe = folder
    while probe != os.path.dirname(probe):
        name = os.path.basename(probe)
        if name.lower() != name.upper():  # a name with letters: ask the file system about its other case
            other = os.path.join(os.path.dirname(probe), name.swapcase())
            try:
                return os.path.samefile(probe, other)
            except OSError:
                return False
        probe = os.path.dirname(probe)
    return sys.platform in ("darwin", "win32")


# --------------------------------------------------------------------------------------
