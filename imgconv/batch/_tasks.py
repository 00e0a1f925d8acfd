"""What one input becomes: the task, its record and output choice, and the per-file work.

:func:`process_one` runs in worker threads, processes or on dask workers; it
reads one image, applies the pipeline and writes the result through the
run's :class:`imgconv._output.Destination`.
"""

import dataclasses
import os
import time
from typing import Any, SupportsIndex

import numpy as np

from .._output import Destination, shown
from .._shared.layout import pipeline_channel_names
from .._typing import BatchDtypePolicy
from ..contact_sheet import sheet_row
from ..pipeline import Pipeline

#: Accepted values of ``process(..., backend=...)``.
BACKENDS = ("dask", "processes", "threads")
#: Accepted values of ``process(..., dtype_policy=...)``: ``'auto'`` plus those of imgconv.io.imwrite.
DTYPE_POLICIES = ("auto", "clip", "float", "float16", "rescale")
#: File name of the manifest inside ``dst``.
MANIFEST_NAME = "manifest.jsonl"
#: File name of the contact sheet written by ``imgconv batch`` inside ``dst``.
PREVIEW_NAME = "preview.png"

_ON_ERROR = ("raise", "skip")
_LOSSLESS_ANY = (".npy", ".tif", ".tiff", ".zarr")
_IN_FLIGHT_PER_WORKER = 2


@dataclasses.dataclass(frozen=True)
class BatchTask:
    """One input file and where its result goes.

    Attributes
    ----------
    input : str
        Absolute path of the input image.
    output : str
        Absolute path of the output.
    relative : str
        Path of the input relative to the source root (for display and the manifest).
    fallback : str or None
        With ``out_format=None``: the ``.tif`` path used instead of `output`
        when the result does not fit the format of `output` (None when `output`
        is already TIFF).
    root : str or None
        The destination folder: the output is written under its rules
        (:class:`imgconv._output.Destination`).  None: `output`'s folder.
    compression : tuple or None
        ``(compression, level, predictor)`` for a TIFF output
        (:func:`imgconv.io.imwrite`); None: imgconv's default codec.
    preview : bool
        Also return a contact-sheet row of the input and its result
        (``record["sheet_row"]``, :func:`imgconv.contact_sheet.sheet_row`),
        made from the arrays in memory so the sheet never re-reads files.
    """

    input: str
    output: str
    relative: str
    fallback: str | None = None
    root: str | None = None
    preview: bool = False
    compression: tuple | None = None


@dataclasses.dataclass
class BatchReport:
    """What :func:`process` did.

    Attributes
    ----------
    done : int
        Inputs computed and written.
    skipped : int
        Inputs already up to date (resume).
    failed : list of (str, str)
        ``(input path, reason)`` for every input that could not be processed.
    seconds : float
        Wall-clock duration of the run.
    dst : str
        The destination folder.
    outputs : list of (str, str)
        ``(input, output)`` of every input done or skipped, in input order.
    manifest : str or None
        Path of the manifest (None for a dry run).
    warnings : list of str
        Things the user should know that failed no input: corrupt manifest
        lines (their files were recomputed), a contact sheet not written.
    preview : str or None
        Path of the contact sheet written, if any.
    """

    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    dst: str = ""
    outputs: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    manifest: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    preview: str | None = None

    @property
    def ok(self) -> bool:
        """bool: True when no input failed."""
        return not self.failed

    def summary(self) -> str:
        """One line: ``'12 done, 0 skipped, 0 failed in 3.4 s → out/'``."""
        dst = shown(self.dst if self.dst.endswith(os.sep) else self.dst + os.sep)
        return (
            f"{self.done} done, {self.skipped} skipped, {len(self.failed)} failed in {self.seconds:.1f} s \u2192 {dst}"
        )


@dataclasses.dataclass
class BatchPlan:
    """The work :func:`process` would do, from :func:`plan`.

    Attributes
    ----------
    tasks : list of BatchTask
        In natural order of the relative paths (``img2`` before ``img10``).
    failed : list of (str, str)
        Inputs refused before reading them: unsupported extension, missing
        file, output name collision, output outside ``dst``.
    src_roots : list of str
        Resolved source folders (never written to).
    dst : str
        The destination folder, absolute.
    destination : imgconv._output.Destination
        What the run may write: inside `dst`, never an input nor a source
        folder, never through a link.
    """

    tasks: list[BatchTask]
    failed: list[tuple[str, str]]
    src_roots: list[str]
    dst: str
    destination: Destination | None = None


class BatchError(Exception):
    """A file failed with ``on_error='raise'`` where the original exception is not at hand.

    Raised for files refused before reading (unsupported extension, missing
    file, output outside ``dst``) and for failures on dask workers; failures
    in the threads and processes backends re-raise the original exception.
    """


def _error_text(exc):
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    notes = getattr(exc, "__notes__", None)
    if notes:
        text += " (" + "; ".join(str(n) for n in notes) + ")"
    return text


# --------------------------------------------------------------------------------------


# output format
# --------------------------------------------------------------------------------------


def _normalise_extension(out_format):
    from ..io import SUPPORTED_EXTENSIONS

    if out_format is None:
        return None
    if not isinstance(out_format, str):
        raise TypeError(f"`out_format` must be an extension such as '.tif', or None; got {out_format!r}")
    ext = out_format.lower()
    ext = ext if ext.startswith(".") else "." + ext
    if ext not in SUPPORTED_EXTENSIONS:
        raise ValueError(f"`out_format` must be one of {list(SUPPORTED_EXTENSIONS)} or None; got {out_format!r}")
    if ext == ".zarr":
        from .._ngff import require_zarr

        require_zarr()  # before any work: OME-Zarr output needs the optional zarr package
    return ext


def _policy_for(ext, dtype_policy, result=None):
    """The imwrite policy for a result going to `ext`; 'auto' looks at the values when it has them.

    'auto' keeps floats in TIFF and .npy.  For PNG, JPEG and BMP it keeps the
    intensities of a result in [0, 1] (the scale imgconv gives an 8- or
    16-bit image: a smoothed photo stays as bright as it was, as
    scikit-image's ``preserve_range=True``) with 'clip', and maps anything
    else -- signed responses, values above 1 -- with 'rescale'.
    """
    if dtype_policy != "auto":
        return dtype_policy
    if ext in _LOSSLESS_ANY:
        return "float"
    if result is not None and result.dtype.kind == "f" and result.size:
        low, high = np.nanmin(result), np.nanmax(result)
        if np.isfinite(result).all() and 0.0 <= low and high <= 1.0:
            return "clip"
    return "rescale"


def _format_can_hold(ext, shape, dtype, dtype_policy):
    """True when `ext` stores an array of `shape`/`dtype` losslessly under `dtype_policy`."""
    ext = ext.lower()
    if ext in _LOSSLESS_ANY:
        return True
    if ext in (".jpg", ".jpeg"):
        return False  # lossy: never chosen automatically for results
    dtype = np.dtype(dtype)
    channels = 1 if len(shape) == 2 else shape[2]
    policy = _policy_for(ext, dtype_policy)
    if dtype.kind == "f":
        if policy in ("float", "float16"):
            return False
        dtype = np.dtype(np.uint8)
    from ..io import can_store  # io's own table of what each format holds

    return ext in (".png", ".bmp") and can_store(ext, dtype, channels)


def _choose_stack_output(task, out_format, dtype_policy):
    """(path, imwrite policy) for a stack of results: TIFF, the only format that holds one."""
    for output in (task.output, task.fallback):
        if output is not None and os.path.splitext(output)[1].lower() in (".tif", ".tiff", ".zarr"):
            return output, _policy_for(".tif", dtype_policy)
    raise ValueError(
        f"{shown(task.input)!r} is a stack of planes, which only TIFF and OME-Zarr can hold; got out_format "
        f"{out_format!r}: use out_format='.tif' (the default) or '.zarr'"
    )


def _choose_output(task, result, out_format, dtype_policy):
    """(path, imwrite policy) for `result`."""
    output = task.output
    ext = os.path.splitext(output)[1].lower()
    if (
        out_format is None
        and task.fallback is not None
        and not _format_can_hold(ext, result.shape, result.dtype, dtype_policy)
    ):
        output = task.fallback
        ext = os.path.splitext(output)[1].lower()
    return output, _policy_for(ext, dtype_policy, result)


# --------------------------------------------------------------------------------------


# the per-file work (runs in worker threads, processes or on dask workers)
# --------------------------------------------------------------------------------------


def process_one(
    task: BatchTask,
    pipeline: Pipeline,
    out_format: str | None = None,
    dtype_policy: BatchDtypePolicy = "auto",
    num_threads: SupportsIndex | None = None,
    *,
    raise_errors: bool = False,
) -> dict[str, Any]:
    """Read one image, apply the pipeline, write the result; return a record.

    Top-level and picklable, for every backend of :func:`process` (and for
    :func:`imgconv.dask.run_tasks`).

    Parameters
    ----------
    task : BatchTask
    pipeline : Pipeline
    out_format : str or None
        None: `task.output` if its format can hold the result, else
        `task.fallback`.  Otherwise `task.output` is used as it is.
    dtype_policy : {'auto', 'clip', 'float', 'rescale'}
        See the module notes.
    num_threads : int or None
        Engine threads for this image.
    raise_errors : bool, default False, keyword-only
        Raise instead of returning a ``'failed'`` record.

    Returns
    -------
    record : dict
        ``input``, ``output`` (the path written, or None), ``relative``,
        ``status`` (``'done'`` / ``'failed'``), ``shape`` and ``dtype`` of the
        result, ``channels`` (the channel names stored in the output, or
        None), ``error`` (``'ExceptionType: message'`` or None), ``seconds``.
    """
    from ..io import encoder, imread, stored_mapping

    start = time.perf_counter()
    record: dict[str, Any] = {
        "input": task.input,
        "output": None,
        "relative": task.relative,
        "status": "failed",
        "shape": None,
        "dtype": None,
        "error": None,
        "seconds": None,
    }
    try:
        planes = imread(task.input, stack=True)  # a TIFF stack: every plane filtered, written back as a stack
        stack = len(planes) > 1
        image = planes[0]
        if stack:
            result = np.stack([pipeline(plane, num_threads=num_threads) for plane in planes])
            output, policy = _choose_stack_output(task, out_format, dtype_policy)
        else:
            result = pipeline(image, num_threads=num_threads)
            output, policy = _choose_output(task, result, out_format, dtype_policy)
        first = result[0] if stack else result
        destination = Destination(task.root if task.root is not None else os.path.dirname(output))
        codec = {}
        if task.compression is not None and os.path.splitext(output)[1].lower() in (".tif", ".tiff", ".zarr"):
            codec = dict(zip(("compression", "level", "predictor"), task.compression))
        names = pipeline_channel_names(
            pipeline, 1 if image.ndim == 2 else image.shape[2], 1 if first.ndim == 2 else first.shape[2]
        )
        described = _description(task.input, pipeline, image, first)
        if stack or os.path.splitext(output)[1].lower() == ".zarr":  # an RGB profile can't describe a stack;
            described.pop("icc_profile", None)  # OME-Zarr has no place for one
        destination.write(
            output, encoder(output, result, dtype_policy=policy, channel_names=names, stack=stack, **described, **codec)
        )
        record.update(
            status="done", output=output, shape=[int(n) for n in result.shape], dtype=str(result.dtype), channels=names
        )
        mapping = stored_mapping(output, result, dtype_policy=policy)
        if mapping is not None:
            record["stored"] = mapping
        if task.preview:
            record["sheet_row"] = sheet_row(os.path.basename(task.input), image, first, names=names)
    except Exception as exc:
        if raise_errors:
            raise
        record["error"] = _error_text(exc)
    record["seconds"] = round(time.perf_counter() - start, 6)
    return record


def _description(source, pipeline, image, result):
    """What an output keeps: imgconv's version and the pipeline, and the input's resolution and colour profile.

    The resolution is scaled by the change of size (a strided step halves it);
    the ICC profile is kept only when the result has the input's channels (an
    RGB profile does not describe 18 filter responses).
    """
    from .. import __version__
    from ..io import read_info

    try:
        spec = pipeline.to_spec()
    except ValueError:  # a user function without an import path
        spec = None
    metadata = {"imgconv": __version__, "pipeline": spec}
    try:
        info = read_info(source)
    except (OSError, ValueError):
        return {"metadata": metadata}
    resolution = info["resolution"]
    if resolution is not None:
        resolution = (
            resolution[0] * result.shape[1] / image.shape[1],
            resolution[1] * result.shape[0] / image.shape[0],
        )
    same_channels = (1 if image.ndim == 2 else image.shape[2]) == (1 if result.ndim == 2 else result.shape[2])
    icc = info["icc_profile"] if same_channels else None
    return {"metadata": metadata, "resolution": resolution, "icc_profile": icc}


# The processes backend sends the pipeline once per worker process, not once per task.
_worker_state: dict[str, tuple] = {}


def _init_process_worker(pipeline, out_format, dtype_policy, num_threads, raise_errors):
    _worker_state["args"] = (pipeline, out_format, dtype_policy, num_threads, raise_errors)


def _process_in_worker(task):
    pipeline, out_format, dtype_policy, num_threads, raise_errors = _worker_state["args"]
    return process_one(task, pipeline, out_format, dtype_policy, num_threads, raise_errors=raise_errors)


# --------------------------------------------------------------------------------------
