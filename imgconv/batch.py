"""Apply a pipeline to folders of image files: resumable, parallel, bounded in memory.

:func:`process` reads every image of a source (a folder, a glob pattern or a
list of files), applies a :class:`imgconv.pipeline.Pipeline`, and writes the
result under a destination folder that mirrors the source tree, with a
manifest of what was done.  The command ``imgconv batch SRC DST`` is a thin
wrapper around it.

Guarantees
----------
What may be written is decided by one owner, :class:`imgconv._output.Destination`
(its module notes state the rules); every file a run writes -- outputs,
manifest, contact sheet -- goes through it.

* **Inputs are never written.**  ``dst`` must differ from ``src``; when
  ``dst`` lies inside ``src`` it is left out of the file discovery; an output
  that would replace an input of the run (by any path, hard links included)
  or land inside a source folder is refused and reported as failed.
* **Outputs stay inside dst, never through a link.**  Output paths are built
  from paths relative to the source root, without ``..``; an output whose
  folder or file inside ``dst`` is a symbolic link (or not a folder / file)
  is refused, and so are a manifest or contact sheet that is a link.
* **No partial files.**  Every file is written to a temporary file in
  ``dst/.imgconv/tmp/``, flushed, fsynced and renamed over the target.  A run
  killed at any moment (Ctrl-C, SIGKILL, power loss) leaves complete outputs
  or none; the next run empties ``dst/.imgconv/tmp/`` and finishes the rest.
* **One run per dst.**  A run holds the lock ``dst/.imgconv/lock``; a second
  run on the same ``dst`` is refused with :class:`imgconv._output.DestinationBusyError`
  (a `ValueError`) before it reads anything.
* **Bad files do not stop the run.**  Unreadable, corrupt, truncated, empty and
  unsupported files, dangling links, link loops, FIFOs and unreadable folders
  are reported (in the manifest and in the returned report) and skipped;
  ``on_error="raise"`` stops at the first one instead.  A file listed twice
  is processed once.
* **Memory is bounded.**  At most ``2 * workers`` images are in flight.

Output names and formats
------------------------
The output of ``SRC/sub/name.ext`` is ``DST/sub/name<out_ext>``:

* ``out_format`` given (e.g. ``".tif"``): that extension, always.
* ``out_format=None`` (default): the input's own extension when its format can
  hold the result without loss beyond the dtype policy -- PNG for bool, uint8
  with 1-4 channels or uint16 with 1 channel; BMP for bool or uint8 with 1 or
  3 channels; TIFF and ``.npy`` for anything -- and ``.tif`` otherwise (more
  than 4 channels, float results under the ``'float'`` policy, JPEG inputs,
  since JPEG is lossy).  The choice is made per image from the actual result;
  the manifest records the path written.
* When two inputs would get the same output name (``a.png`` and ``a.jpg`` both
  giving ``a.tif``), both keep their full name: ``a.png.tif``, ``a.jpg.tif``.

``dtype_policy`` is passed to :func:`imgconv.io.imwrite`; the default
``'auto'`` keeps float results as float32 in TIFF and ``.npy`` (``'float'``:
the responses exactly as computed, readable with :func:`imgconv.io.imread`)
and rescales them to the full integer range in PNG, JPEG and BMP
(``'rescale'``, per image).  Integer and bool results are written as they are.

Manifest
--------
``DST/manifest.jsonl`` gets one JSON line per input and run, written only by
the coordinating process, appended, flushed and fsynced record by record::

    {"input": "/abs/src/a.png", "output": "/abs/dst/a.tif", "relative": "a.png",
     "status": "done", "shape": [512, 512, 18], "dtype": "float32", "error": null,
     "seconds": 0.041, "fingerprint": "<sha256 of the pipeline>", "dtype_policy": "auto",
     "input_size": 142314, "input_mtime_ns": 1700000000000000000,
     "run": "2024-05-01T12:00:00.123456Z-4242"}

``status`` is ``'done'``, ``'skipped'`` (up to date, not recomputed) or
``'failed'`` (``error`` says why; ``output`` is null).  With ``resume=True`` an
input is skipped when its output exists and the manifest's latest ``'done'``
record for that output names the same input (same size and modification time),
the same pipeline fingerprint and the same dtype policy.  ``overwrite=True``
recomputes everything.  A line that does not parse (cut short by a kill,
corrupted) is reported in ``BatchReport.warnings`` and ignored, so its file is
recomputed.  Paths are written with JSON ``\\u`` escapes for characters
outside ASCII, so file names that are not valid UTF-8 round-trip.  ``run``
identifies the run (UTC time to the microsecond and the process id).

Parallelism
-----------
``backend="threads"`` (default): ``workers`` threads; the engine releases the
GIL, so reading, filtering and writing overlap.  Each engine call gets
``num_threads // workers`` OpenMP threads (at least 1), where ``num_threads``
defaults to :func:`imgconv.get_num_threads`: the cores are shared, not
oversubscribed.  ``backend="processes"``: a process pool (``forkserver`` start
method where available, else ``spawn``), for pipelines with user functions
that hold the GIL; the pipeline (and its user functions) must be picklable:
module-level functions, no lambdas.  ``backend="dask"``: the tasks go to
:func:`imgconv.dask.run_tasks` (a local cluster, or ``client=`` a
``distributed.Client`` or a scheduler address); workers read and write the
files themselves, so they must see the same file system.
"""

import concurrent.futures
import contextlib
import dataclasses
import datetime
import fnmatch
import functools
import glob
import json
import multiprocessing
import os
import re
import stat
import sys
import time

import numpy as np

from ._output import Destination, DestinationError, UnsafePathError, shown
from ._output import is_within as _is_within
from .pipeline import Pipeline

__all__ = [
    "BACKENDS",
    "DTYPE_POLICIES",
    "BatchError",
    "MANIFEST_NAME",
    "PREVIEW_NAME",
    "BatchPlan",
    "BatchReport",
    "BatchTask",
    "contact_sheet",
    "plan",
    "process",
    "process_one",
    "render_contact_sheet",
]

#: Accepted values of ``process(..., backend=...)``.
BACKENDS = ("dask", "processes", "threads")
#: Accepted values of ``process(..., dtype_policy=...)``: ``'auto'`` plus those of imgconv.io.imwrite.
DTYPE_POLICIES = ("auto", "clip", "float", "rescale")
#: File name of the manifest inside ``dst``.
MANIFEST_NAME = "manifest.jsonl"
#: File name of the contact sheet written by ``imgconv batch`` inside ``dst``.
PREVIEW_NAME = "preview.png"

_ON_ERROR = ("raise", "skip")
_LOSSLESS_ANY = (".npy", ".tif", ".tiff")
_IN_FLIGHT_PER_WORKER = 2


# --------------------------------------------------------------------------------------
# tasks, records, report
# --------------------------------------------------------------------------------------

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
    """

    input: str
    output: str
    relative: str
    fallback: str = None
    root: str = None


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
    failed: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    dst: str = ""
    outputs: list = dataclasses.field(default_factory=list)
    manifest: str = None
    warnings: list = dataclasses.field(default_factory=list)
    preview: str = None

    @property
    def ok(self):
        """bool: True when no input failed."""
        return not self.failed

    def summary(self):
        """One line: ``'12 done, 0 skipped, 0 failed in 3.4 s → out/'``."""
        dst = shown(self.dst if self.dst.endswith(os.sep) else self.dst + os.sep)
        return (f"{self.done} done, {self.skipped} skipped, {len(self.failed)} failed "
                f"in {self.seconds:.1f} s \u2192 {dst}")


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

    tasks: list
    failed: list
    src_roots: list
    dst: str
    destination: Destination = None


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
    from .io import SUPPORTED_EXTENSIONS

    if out_format is None:
        return None
    if not isinstance(out_format, str):
        raise TypeError(f"`out_format` must be an extension such as '.tif', or None; got {out_format!r}")
    ext = out_format.lower()
    ext = ext if ext.startswith(".") else "." + ext
    if ext not in SUPPORTED_EXTENSIONS:
        raise ValueError(f"`out_format` must be one of {list(SUPPORTED_EXTENSIONS)} or None; got {out_format!r}")
    return ext


def _policy_for(ext, dtype_policy):
    if dtype_policy != "auto":
        return dtype_policy
    return "float" if ext in _LOSSLESS_ANY else "rescale"


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
        if policy == "float":
            return False
        dtype = np.dtype(np.uint8)
    if ext == ".png":
        allowed = {"bool": (1,), "uint8": (1, 2, 3, 4), "uint16": (1,)}
    elif ext == ".bmp":
        allowed = {"bool": (1,), "uint8": (1, 3)}
    else:
        return False
    return channels in allowed.get(dtype.name, ())


def _choose_output(task, result, out_format, dtype_policy):
    """(path, imwrite policy) for `result`."""
    output = task.output
    ext = os.path.splitext(output)[1].lower()
    if out_format is None and task.fallback is not None and not _format_can_hold(
            ext, result.shape, result.dtype, dtype_policy):
        output = task.fallback
        ext = os.path.splitext(output)[1].lower()
    return output, _policy_for(ext, dtype_policy)


# --------------------------------------------------------------------------------------
# the per-file work (runs in worker threads, processes or on dask workers)
# --------------------------------------------------------------------------------------

def process_one(task, pipeline, out_format=None, dtype_policy="auto", num_threads=None, *, raise_errors=False):
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
        result, ``error`` (``'ExceptionType: message'`` or None), ``seconds``.
    """
    from .io import encoder, imread

    start = time.perf_counter()
    record = {"input": task.input, "output": None, "relative": task.relative, "status": "failed",
              "shape": None, "dtype": None, "error": None, "seconds": None}
    try:
        image = imread(task.input)
        result = pipeline(image, num_threads=num_threads)
        output, policy = _choose_output(task, result, out_format, dtype_policy)
        destination = Destination(task.root if task.root is not None else os.path.dirname(output))
        destination.write(output, encoder(output, result, dtype_policy=policy))
        record.update(status="done", output=output, shape=[int(n) for n in result.shape], dtype=str(result.dtype))
    except Exception as exc:
        if raise_errors:
            raise
        record["error"] = _error_text(exc)
    record["seconds"] = round(time.perf_counter() - start, 6)
    return record


# The processes backend sends the pipeline once per worker process, not once per task.
_worker_state = {}


def _init_process_worker(pipeline, out_format, dtype_policy, num_threads, raise_errors):
    _worker_state["args"] = (pipeline, out_format, dtype_policy, num_threads, raise_errors)


def _process_in_worker(task):
    pipeline, out_format, dtype_policy, num_threads, raise_errors = _worker_state["args"]
    return process_one(task, pipeline, out_format, dtype_policy, num_threads, raise_errors=raise_errors)


# --------------------------------------------------------------------------------------
# discovery
# --------------------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def _natural_key(relative):
    """Sort key: path components compared piecewise, digit runs as numbers (img2 < img10)."""
    key = []
    for part in relative.replace("\\", "/").split("/"):
        pieces = []
        for i, piece in enumerate(_DIGITS.split(part)):
            if i % 2:
                pieces.append((0, int(piece), piece))
            elif piece:
                pieces.append((1, 0, piece.casefold()))
        key.append(tuple(pieces))
    return tuple(key)


def _supported(name):
    from .io import SUPPORTED_EXTENSIONS

    return os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS


def _glob_root(pattern):
    """The folder part of a glob pattern before its first wildcard component."""
    parts = os.path.normpath(pattern).split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    root = os.sep.join(fixed) if fixed else "."
    if pattern.startswith(os.sep) and not root.startswith(os.sep):
        root = os.sep + root
    return root or os.sep


def _excluded(dst_real, root):
    """The folder to leave out of discovery under `root`: dst when it lies inside the source."""
    return None if _is_within(os.path.realpath(root), dst_real) else dst_real


def _problem(path):
    """Why `path` cannot be read as an image file (a reason string), or None for a regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            loop = getattr(exc, "errno", None) == 40  # ELOOP
            return "symbolic link loop" if loop else "dangling symbolic link (its target does not exist)"
        if isinstance(exc, FileNotFoundError):
            return "FileNotFoundError: no such file"
        return _error_text(exc)
    if stat.S_ISDIR(st.st_mode):
        return "is a directory (list files, or pass the folder itself as src)"
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
        return f"not a regular file ({kind})"
    return None


def _walk(root, dst_real, pattern, recursive):
    """Image files under `root` (names matching `pattern`), hidden entries and dst left out.

    Returns (files, problems): problems are (path, reason) for what could not be
    looked at -- unreadable folders, dangling links, link loops, FIFOs, links to
    folders in a recursive walk -- reported, never silently dropped.
    """
    found, problems = [], []
    excluded = _excluded(dst_real, root)

    def unreadable(exc):
        problems.append((exc.filename or root, f"cannot list the folder: {_error_text(exc)}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            path = os.path.join(folder, d)
            if excluded is not None and _is_within(os.path.realpath(path), excluded):
                continue
            if recursive and os.path.islink(path):
                problems.append((path, "symbolic link to a folder, not followed (pass its target as src)"))
                continue
            keep.append(d)
        dirs[:] = keep if recursive else []
        for name in files:
            if name.startswith(".") or not _supported(name) or not fnmatch.fnmatch(name, pattern):
                continue
            path = os.path.join(folder, name)
            problem = _problem(path)
            if problem is None:
                found.append(path)
            else:
                problems.append((path, problem))
    return found, problems


def _discover(src, dst_real, pattern, recursive):
    """Return (list of (path, root)), failures, roots."""
    failed = []
    if isinstance(src, (list, tuple)):
        paths, seen = [], set()
        for item in src:
            if not isinstance(item, (str, os.PathLike)):
                raise TypeError(f"`src` list entries must be paths; got {item!r} of type {type(item).__name__}")
            path = os.path.abspath(os.fspath(item))
            if os.path.realpath(path) not in seen:  # a file listed twice is processed once
                seen.add(os.path.realpath(path))
                paths.append(path)
        if not paths:
            return [], [], []
        root = os.path.commonpath([os.path.dirname(p) for p in paths])
        files = []
        for path in paths:
            problem = _problem(path)
            if problem is not None:
                failed.append((path, problem))
            elif not _supported(path):
                failed.append((path, _unsupported_reason(path)))
            else:
                files.append(path)
        return [(p, root) for p in files], failed, [root]
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(f"`src` must be a folder, a glob pattern, a file or a list of files; got {src!r} "
                        f"of type {type(src).__name__}")
    src = os.fspath(src)
    if os.path.isdir(src):
        root = os.path.abspath(src)
        files, problems = _walk(root, dst_real, pattern, recursive)
        return [(p, root) for p in files], problems, [root]
    if os.path.lexists(src) and not glob.has_magic(src):
        path = os.path.abspath(src)
        problem = _problem(path) or (None if _supported(path) else _unsupported_reason(path))
        if problem is not None:
            return [], [(path, problem)], [os.path.dirname(path)]
        return [(path, os.path.dirname(path))], failed, [os.path.dirname(path)]
    if glob.has_magic(src):
        root = os.path.abspath(_glob_root(src))
        excluded = _excluded(dst_real, root)
        files = []
        for match in glob.glob(src, recursive=recursive):
            path = os.path.abspath(match)
            if excluded is not None and _is_within(os.path.realpath(path), excluded) or os.path.isdir(path):
                continue
            problem = _problem(path) or (None if _supported(path) else _unsupported_reason(path))
            if problem is not None:
                failed.append((path, problem))
            else:
                files.append(path)
        return [(p, root) for p in files], failed, [root]
    raise ValueError(f"`src` must be an existing folder, file or a glob pattern; got {shown(src)!r} (not found)")


def _unsupported_reason(path):
    from .io import SUPPORTED_EXTENSIONS

    ext = os.path.splitext(path)[1] or "(none)"
    return f"unsupported file extension {ext}; supported: {', '.join(SUPPORTED_EXTENSIONS)}"


# --------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------

def _predict_extensions(pipeline, out_format, dtype_policy):
    """Input extension -> predicted output extension, from a probe of the pipeline, or {}.

    The pipeline is run on small zero images with 1 and 3 channels; a prediction is
    made only when both agree and every step is built in (user functions are not probed).
    """
    from .io import SUPPORTED_EXTENSIONS

    if out_format is not None:
        return {}
    if any(step.name == "callable" or step._kind.function is not None for step in pipeline):
        return {}
    halo = pipeline.receptive_field
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


def plan(src, dst, pipeline=None, *, pattern="*", recursive=False, out_format=None, dtype_policy="auto"):
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
    if not isinstance(src, (list, tuple)) and isinstance(src, (str, os.PathLike)) \
            and os.path.isdir(os.fspath(src)) and os.path.realpath(os.fspath(src)) == dst_real:
        raise ValueError(f"`dst` must differ from `src` (imgconv never writes into its input folder); "
                         f"both resolve to {dst_real!r}")
    found, failed, roots = _discover(src, dst_real, pattern, recursive)
    roots_real = [os.path.realpath(r) for r in roots]
    for root in roots_real:
        if root == dst_real:
            raise ValueError(f"`dst` must differ from `src` (imgconv never writes into its input folder); "
                             f"both resolve to {shown(dst_real)!r}")
    destination = Destination(dst_abs, protect=[p for p, _ in found] + [p for p, _ in failed],
                              source_folders=roots_real)
    fold_case = _case_insensitive(dst_abs)

    predicted = {} if out_ext is not None else _predict_extensions(
        Pipeline.coerce(pipeline), out_ext, dtype_policy)

    entries = []
    for path, root in found:
        relative = os.path.relpath(path, root)
        stem, ext = os.path.splitext(relative)
        entries.append((path, relative, stem, ext.lower()))
    entries.sort(key=lambda e: _natural_key(e[1]))

    def names(entry, long):
        """(output, fallback) relative names; `long` keeps the input's extension in the name."""
        path, relative, stem, ext = entry
        target = out_ext if out_ext is not None else predicted.get(ext, ext)
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
    for i, (path, relative, stem, ext) in enumerate(entries):
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
                outputs.append(destination.check(os.path.join(dst_abs, normal)))
            except UnsafePathError as exc:
                problem = str(exc)
                break
        if problem is not None:
            failed.append((path, problem))
            continue
        tasks.append(BatchTask(input=path, output=outputs[0], relative=relative, fallback=outputs[1],
                               root=dst_abs))
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
# manifest
# --------------------------------------------------------------------------------------

def _read_manifest(path):
    """(latest 'done' record per output path, warnings) from the manifest at `path`.

    Any line that is not a JSON object -- cut short by a kill, cut inside a
    UTF-8 character, nested too deeply, a number too long to convert -- is
    reported and ignored, so the file it described is recomputed.
    """
    latest, warnings = {}, []
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return latest, warnings
    with file:
        for number, raw in enumerate(file, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError included
                reason = type(exc).__name__ if not isinstance(exc, ValueError) else str(exc).split(":")[0]
                warnings.append(f"manifest line {number} is corrupt ({reason[:80]}); ignored, its file is "
                                f"recomputed")
                continue
            if not isinstance(record, dict):
                warnings.append(f"manifest line {number} is not a record; ignored")
                continue
            if record.get("status") == "done" and isinstance(record.get("output"), str):
                latest[record["output"]] = record
    return latest, warnings


class _Manifest:
    """Append-only JSON-lines writer: one line per record, flushed and fsynced."""

    def __init__(self, destination, path):
        self.path = path
        self._file = destination.open_append(path)
        # A killed run can leave a last line without its newline: start on a fresh line.
        size = os.fstat(self._file.fileno()).st_size
        if size > 0 and os.pread(self._file.fileno(), 1, size - 1) != b"\n":
            self._file.write(b"\n")

    def write(self, record):
        # ASCII with \\u escapes: names that are not valid UTF-8 (surrogates) round-trip.
        line = json.dumps(record, ensure_ascii=True, allow_nan=False, default=_json_default)
        try:
            self._file.write(line.encode("ascii") + b"\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise BatchError(f"cannot write the manifest {shown(self.path)!r}: {_error_text(exc)}; the files "
                             f"recorded so far are intact, rerun the same command when fixed") from exc

    def close(self):
        with contextlib.suppress(OSError):
            self._file.close()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _input_stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def _up_to_date(task, latest, fingerprint, dtype_policy, size, mtime):
    for candidate in (task.output, task.fallback):
        if candidate is None:
            continue
        record = latest.get(candidate)
        if (record is not None and record.get("input") == task.input and record.get("fingerprint") == fingerprint
                and record.get("dtype_policy") == dtype_policy and record.get("input_size") == size
                and record.get("input_mtime_ns") == mtime and os.path.isfile(candidate)):
            return record
    return None


# --------------------------------------------------------------------------------------
# backends
# --------------------------------------------------------------------------------------

def _cpu_budget(num_threads):
    from ._threads import effective_num_threads

    return effective_num_threads(num_threads)


def _default_workers(backend, n_tasks, budget):
    if backend == "threads":
        return max(1, min(n_tasks, 8, max(2, budget)))
    return max(1, min(n_tasks, budget))


def _run_pool(executor, submit, tasks, window):
    """Yield (task, record or exception) with at most `window` tasks in flight.

    Tasks that finish together are yielded in submission order, so that with
    ``on_error='raise'`` the error raised is the earliest file's, not whichever
    one a set happens to list first.
    """
    pending = {}  # future -> (submission index, task)
    iterator = enumerate(tasks)
    try:
        for index, task in iterator:
            pending[submit(executor, task)] = (index, task)
            if len(pending) >= window:
                break
        while pending:
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: pending[f][0]):
                _, task = pending.pop(future)
                for index, next_task in iterator:
                    pending[submit(executor, next_task)] = (index, next_task)
                    break
                try:
                    outcome = future.result()
                except Exception as exc:  # raise_errors=True, or a broken process pool
                    outcome = exc
                yield task, outcome
    finally:
        for future in pending:
            future.cancel()


def _run_threads(tasks, pipeline, out_format, dtype_policy, per_call, workers, raise_errors):
    def submit(executor, task):
        return executor.submit(process_one, task, pipeline, out_format, dtype_policy, per_call,
                               raise_errors=raise_errors)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imgconv-batch") as ex:
        try:
            yield from _run_pool(ex, submit, tasks, workers * _IN_FLIGHT_PER_WORKER)
        except BaseException:
            ex.shutdown(wait=True, cancel_futures=True)
            raise


def _check_picklable(pipeline):
    import pickle

    try:
        pickle.dumps(pipeline)
    except Exception as exc:
        raise TypeError(
            "`pipeline` must be picklable for backend='processes': user functions must be defined at module "
            f"level of an importable module (no lambdas, no nested functions); pickling failed with "
            f"{type(exc).__name__}: {exc}") from None


def _process_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _run_processes(tasks, pipeline, out_format, dtype_policy, per_call, workers, raise_errors):
    from ._pool import WorkerCrashed, run_processes

    # One task per worker, so a worker that dies (segfault, OOM kill) fails only the file it held.
    stream = run_processes(tasks, _process_in_worker, initializer=_init_process_worker,
                           initargs=(pipeline, out_format, dtype_policy, per_call, raise_errors),
                           workers=workers, context=_process_context())
    with contextlib.closing(stream):
        for task, outcome in stream:
            if isinstance(outcome, WorkerCrashed):  # that file's failure, not the run's
                outcome = {"input": task.input, "output": None, "relative": task.relative, "status": "failed",
                           "shape": None, "dtype": None, "error": _error_text(outcome), "seconds": None}
            yield task, outcome


def _run_dask(tasks, pipeline, out_format, dtype_policy, per_call, workers, client):
    from .dask import run_tasks

    func = functools.partial(process_one, pipeline=pipeline, out_format=out_format, dtype_policy=dtype_policy,
                             num_threads=per_call)

    def on_error(task, exc):  # the worker died, or the task could not run at all
        return {"input": task.input, "output": None, "relative": task.relative, "status": "failed",
                "shape": None, "dtype": None, "error": _error_text(exc), "seconds": None}

    by_input = {}

    def remember(iterable):
        for task in iterable:
            by_input[task.input] = task
            yield task

    for record in run_tasks(remember(tasks), func, client=client, workers=workers, on_error=on_error):
        yield by_input.pop(record["input"]), record


# --------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------

class _Progress:
    def __init__(self, total, enabled):
        self._bar = None
        self.failed = 0
        if enabled and total and sys.stderr is not None and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, leave=True,
                             desc="imgconv")

    def update(self, status):
        if status == "failed":
            self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
            if status == "failed":
                self._bar.set_postfix(failed=self.failed, refresh=False)

    def close(self):
        if self._bar is not None:
            self._bar.close()


# --------------------------------------------------------------------------------------
# process
# --------------------------------------------------------------------------------------

def _check_workers(workers):
    from ._validation import as_int

    return None if workers is None else as_int(workers, "workers", minimum=1)


def process(src, dst, pipeline=None, *, pattern="*", recursive=False, workers=None, resume=True,
            overwrite=False, on_error="skip", out_format=None, dtype_policy="auto", progress=True,
            backend="threads", num_threads=None, client=None, preview=None):
    """Apply a pipeline to every image of a folder, glob or file list; write the results under `dst`.

    Parameters
    ----------
    src : str, os.PathLike, or list of paths
        A folder (its image files, by extension, see
        :data:`imgconv.io.SUPPORTED_EXTENSIONS`; other files and hidden
        entries are ignored), a glob pattern (``'data/*.png'``;
        ``'**'`` with ``recursive=True``), one file, or a list of files.
        Listed or globbed files with an unsupported extension are reported as
        failed.  Symbolic links to folders are not followed.
    dst : str or os.PathLike
        Output folder, created if needed; it mirrors the source tree (paths
        relative to the source folder, the glob's fixed prefix, or the common
        folder of the listed files).  Must not be the source folder.
    pipeline : Pipeline, spec mapping, spec file path, or None
        None: :data:`imgconv.pipeline.DEFAULT_PIPELINE`.  A spec that names
        Python functions must be loaded with
        ``Pipeline.from_spec(spec, allow_callables=True)`` first.
    pattern : str, default '*'
        Shell pattern for file names inside a folder (``'*.png'``).
    recursive : bool, default False
        Descend into sub-folders (and let ``**`` match folders in a glob).
    workers : int, optional
        Parallel workers (threads, processes, or dask workers of the local
        cluster).  Default: ``min(8, max(2, cores))`` threads, or ``cores``
        processes or dask workers, never more than the number of files
        (``cores``: `num_threads`).
    resume : bool, default True
        Skip inputs already done by the same pipeline (see the module notes).
    overwrite : bool, default False
        Recompute everything (takes precedence over `resume`).
    on_error : {'skip', 'raise'}, default 'skip'
        'skip': report a bad file and go on.  'raise': stop at the first one
        and raise its exception (after writing its manifest record).
    out_format : str, optional
        Output extension (``'.tif'``, ``'.png'``, ``'.npy'``, ...); default:
        see "Output names and formats" in the module notes.
    dtype_policy : {'auto', 'clip', 'float', 'rescale'}, default 'auto'
        How float results are stored (see the module notes and
        :func:`imgconv.io.imwrite`).
    progress : bool, default True
        Show a tqdm progress bar on stderr when it is a terminal.
    backend : {'threads', 'processes', 'dask'}, default 'threads'
    num_threads : int, optional
        Total engine threads shared by the workers (default
        :func:`imgconv.get_num_threads`); each image gets
        ``max(1, num_threads // workers)``.  Not used by the dask backend with
        a `client`, whose workers use their own default.
    client : distributed.Client or str, optional
        For ``backend='dask'``: a client or scheduler address; default a local
        cluster of `workers` processes.
    preview : True, str, os.PathLike or None, default None
        Also write a contact sheet (:func:`contact_sheet`) of the first
        outputs: True for ``dst/preview.png``, or a ``.png`` path, which must
        not be an input, an output of the run or inside a source folder.  A
        sheet that cannot be drawn is reported in ``report.warnings``.

    Returns
    -------
    report : BatchReport
        Counts, failures (``(path, reason)``), duration; ``report.summary()``
        is a one-line summary.

    Raises
    ------
    ValueError, TypeError
        For bad arguments, a missing `src`, ``dst == src``, a bad pipeline
        spec, a `dst` that cannot be created or that another run holds
        (:class:`imgconv._output.DestinationBusyError`), a manifest or preview
        that is a link (:class:`imgconv._output.UnsafePathError`): before any
        input is read.
    BatchError
        If the manifest cannot be written (a full disk): the files recorded
        so far are intact and a rerun finishes the rest.
    Exception
        With ``on_error='raise'``, the first file's error: the original
        exception (e.g. :class:`imgconv.io.ImageReadError`), or
        :class:`BatchError` for a file refused before reading or failed on a
        dask worker.
    KeyboardInterrupt
        On Ctrl-C, after the images being written are finished: the manifest
        holds every completed image, and a rerun finishes the rest.

    Examples
    --------
    >>> from imgconv.batch import process
    >>> report = process("data/images", "out")           # doctest: +SKIP
    >>> print(report.summary())                          # doctest: +SKIP
    7 done, 0 skipped, 0 failed in 1.2 s → out/
    """
    start = time.perf_counter()
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}; got {backend!r}")
    if on_error not in _ON_ERROR:
        raise ValueError(f"`on_error` must be one of {list(_ON_ERROR)}; got {on_error!r}")
    for name, value in (("resume", resume), ("overwrite", overwrite), ("recursive", recursive),
                        ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False; got {value!r}")
    workers = _check_workers(workers)
    if client is not None and backend != "dask":
        raise ValueError(f"`client` goes with backend='dask'; got backend={backend!r}")
    pipeline = Pipeline.coerce(pipeline)
    if backend == "processes":
        _check_picklable(pipeline)
    out_ext = _normalise_extension(out_format)
    work = plan(src, dst, pipeline, pattern=pattern, recursive=recursive, out_format=out_ext,
                dtype_policy=dtype_policy)
    destination = work.destination
    preview = None if preview is None else _check_preview(preview, work)
    budget = _cpu_budget(num_threads)
    fingerprint = pipeline.fingerprint()
    now = datetime.datetime.now(datetime.timezone.utc)
    run_id = f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}-{os.getpid()}"

    try:
        destination.makedirs(work.dst)
    except OSError as exc:
        raise DestinationError(f"`dst` {shown(work.dst)!r} cannot be created or written: "
                               f"{_error_text(exc)}") from None
    manifest_path = destination.check(os.path.join(work.dst, MANIFEST_NAME), what="manifest")
    report = BatchReport(dst=os.fspath(dst), manifest=manifest_path)
    with _locked(destination):
        destination.clean_temporaries()
        manifest = _Manifest(destination, manifest_path)
        try:
            _run(work, pipeline, report, manifest, fingerprint, run_id, resume=resume, overwrite=overwrite,
                 on_error=on_error, out_ext=out_ext, dtype_policy=dtype_policy, progress=progress,
                 backend=backend, workers=workers, budget=budget, client=client)
        finally:
            manifest.close()
            report.seconds = time.perf_counter() - start
        if preview is not None and report.outputs:
            try:
                report.preview = _write_preview(report.outputs, preview, pipeline, destination)
            except Exception as exc:  # a preview is a convenience: never fail the run for it
                report.warnings.append(f"could not write the preview {shown(preview)}: {_error_text(exc)}")
    return report


@contextlib.contextmanager
def _locked(destination):
    try:
        lock = destination.lock()
        lock.__enter__()
    except OSError as exc:
        raise DestinationError(f"`dst` {shown(destination.root)!r} cannot be written: {_error_text(exc)}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _check_preview(preview, work):
    """The contact sheet's path: a .png that is no input, no output of the run, not the manifest."""
    if preview is True:
        preview = os.path.join(work.dst, PREVIEW_NAME)
    if not isinstance(preview, (str, os.PathLike)) or not os.fspath(preview).lower().endswith(".png"):
        raise DestinationError(f"`preview` must be True, None or the path of a .png file; got {preview!r}")
    path = work.destination.check(preview, what="preview", inside=False)
    taken = {os.path.realpath(p) for t in work.tasks for p in (t.output, t.fallback) if p}
    taken.add(os.path.realpath(os.path.join(work.dst, MANIFEST_NAME)))
    if os.path.realpath(path) in taken:
        raise UnsafePathError(f"preview {shown(path)!r} is also an output of this run; choose another path")
    return path


def _write_preview(pairs, path, pipeline, destination):
    from .io import encoder, imread

    first = imread(pairs[0][0])
    names = pipeline.channel_names(1 if first.ndim == 2 else first.shape[2])
    pixels = render_contact_sheet(pairs, names=names)
    return destination.write(path, encoder(path, pixels), what="preview", inside=False)


def _run(work, pipeline, report, manifest, fingerprint, run_id, *, resume, overwrite, on_error, out_ext,
         dtype_policy, progress, backend, workers, budget, client):
    """Process the planned tasks, recording each in the manifest and the report."""
    outputs = {}  # input -> output, for report.outputs in input order
    stats = {task.input: _input_stat(task.input) for task in work.tasks}

    def finish(task_input, record):
        size, mtime = stats.get(task_input, (None, None))
        record.update(fingerprint=fingerprint, dtype_policy=dtype_policy, input_size=size,
                      input_mtime_ns=mtime, run=run_id)
        manifest.write(record)
        status = record["status"]
        if status == "done":
            report.done += 1
            outputs[task_input] = record["output"]
        elif status == "skipped":
            report.skipped += 1
            outputs[task_input] = record["output"]
        else:
            report.failed.append((task_input, record["error"]))
        bar.update(status)

    bar = _Progress(len(work.tasks) + len(work.failed), progress)
    try:
        # Inputs refused before reading (unsupported, missing, collisions, outside dst, walk problems).
        for path, reason in work.failed:
            finish(path, {"input": path, "output": None, "relative": None, "status": "failed",
                          "shape": None, "dtype": None, "error": reason, "seconds": None})
            if on_error == "raise":
                raise BatchError(f"cannot process {shown(path)!r}: {reason}")

        latest = {}
        if resume and not overwrite:
            latest, warnings = _read_manifest(manifest.path)
            report.warnings.extend(warnings)
        todo = []
        for task in work.tasks:
            previous = None if overwrite or not resume else _up_to_date(
                task, latest, fingerprint, dtype_policy, *stats[task.input])
            if previous is not None:
                finish(task.input, {
                    "input": task.input, "output": previous["output"], "relative": task.relative,
                    "status": "skipped", "shape": previous.get("shape"), "dtype": previous.get("dtype"),
                    "error": None, "seconds": 0.0})
            else:
                todo.append(task)

        if todo:
            n_workers = min(workers or _default_workers(backend, len(todo), budget), len(todo))
            per_call = max(1, budget // n_workers)
            raise_errors = on_error == "raise"
            if backend == "threads":
                stream = _run_threads(todo, pipeline, out_ext, dtype_policy, per_call, n_workers, raise_errors)
            elif backend == "processes":
                stream = _run_processes(todo, pipeline, out_ext, dtype_policy, per_call, n_workers, raise_errors)
            else:
                # A local cluster gets n_workers single-threaded processes; a given cluster's
                # workers keep their own thread settings.
                stream = _run_dask(todo, pipeline, out_ext, dtype_policy,
                                   None if client is not None else per_call, n_workers, client)
            with contextlib.closing(stream):
                for task, outcome in stream:
                    if isinstance(outcome, BaseException):
                        finish(task.input, {
                            "input": task.input, "output": None, "relative": task.relative, "status": "failed",
                            "shape": None, "dtype": None, "error": _error_text(outcome), "seconds": None})
                        raise outcome
                    finish(task.input, outcome)
                    if raise_errors and outcome["status"] == "failed":  # dask: the exception stayed remote
                        raise BatchError(f"cannot process {shown(task.input)!r}: {outcome['error']}")
    finally:
        bar.close()
        order = {task.input: i for i, task in enumerate(work.tasks)}
        report.outputs = sorted(outputs.items(), key=lambda item: order.get(item[0], -1))
        report.failed.sort(key=lambda f: _natural_key(f[0]))


# --------------------------------------------------------------------------------------
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
