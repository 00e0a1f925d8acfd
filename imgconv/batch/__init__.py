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
the responses exactly as computed, readable with :func:`imgconv.io.imread`).
In PNG, JPEG and BMP it keeps the intensities of a result in [0, 1] -- the
scale an 8- or 16-bit input gets, so a smoothed photo is as bright as it was
(``'clip'``, as scikit-image's ``preserve_range=True``) -- and maps anything
else (signed responses, values above 1) to the full range (``'rescale'``, per
image).  The manifest then records the mapping, ``"stored": {"scale": s,
"offset": o}`` with ``stored = round(value * s + o)``, so values can be
recovered.  Integer and bool results are written as they are.

Manifest
--------
``DST/manifest.jsonl`` gets one JSON line per input and run, written only by
the coordinating process, appended, flushed and fsynced record by record::

    {"input": "/abs/src/a.png", "output": "/abs/dst/a.tif", "relative": "a.png",
     "status": "done", "shape": [512, 512, 18], "dtype": "float32", "error": null,
     "channels": ["sobel_h@d1", ...],
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

import contextlib
import dataclasses
import datetime
import os
import time
from typing import Any, Literal, SupportsIndex

import numpy as np

from .._output import Destination, DestinationError, UnsafePathError, shown
from .._typing import Backend, BatchDtypePolicy, BatchSource, Bool, Int, Progress, StrPath
from ..contact_sheet import MAX_IMAGES, SheetRow, contact_sheet, draw_sheet, render_contact_sheet, sheet_row
from ..io import check_compression, output_codec_format
from ..pipeline import Pipeline, PipelineLike
from ._backends import (
    _check_picklable,
    _cpu_budget,
    _default_workers,
    _run_dask,
    _run_pool,  # noqa: F401  (the submission window, tested on its own)
    _run_processes,
    _run_threads,
)
from ._discover import _natural_key
from ._manifest import _input_stat, _Manifest, _read_manifest, _up_to_date
from ._plan import plan
from ._progress import _Progress, check_progress
from ._tasks import (
    _ON_ERROR,
    BACKENDS,
    DTYPE_POLICIES,
    MANIFEST_NAME,
    PREVIEW_NAME,
    BatchError,
    BatchPlan,
    BatchReport,
    BatchTask,
    _error_text,
    _normalise_extension,
    _policy_for,  # noqa: F401  (imgconv filter chooses the policy as batch does)
    process_one,
)

__all__ = [
    "BACKENDS",
    "DTYPE_POLICIES",
    "MANIFEST_NAME",
    "PREVIEW_NAME",
    "BatchError",
    "BatchPlan",
    "BatchReport",
    "BatchTask",
    "contact_sheet",
    "plan",
    "process",
    "process_one",
    "render_contact_sheet",
]


# process
# --------------------------------------------------------------------------------------


def _check_workers(workers):
    from .._validation import as_int

    return None if workers is None else as_int(workers, "workers", minimum=1)


def process(
    src: BatchSource,
    dst: StrPath,
    pipeline: PipelineLike = None,
    *,
    pattern: str = "*",
    recursive: Bool = False,
    workers: Int | None = None,
    resume: Bool = True,
    overwrite: Bool = False,
    on_error: Literal["skip", "raise"] = "skip",
    out_format: str | None = None,
    dtype_policy: BatchDtypePolicy = "auto",
    progress: Progress = True,
    backend: Backend = "threads",
    num_threads: SupportsIndex | None = None,
    client: Any = None,
    preview: Literal[True] | StrPath | None = None,
    compression: str | None = None,
    level: Int | None = None,
    predictor: Bool = False,
) -> BatchReport:
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
    dtype_policy : {'auto', 'clip', 'float', 'float16', 'rescale'}, default 'auto'
        How float results are stored (see the module notes and
        :func:`imgconv.io.imwrite`).
    progress : bool or {'auto', 'bar', 'lines', 'none'}, default True
        Progress on stderr.  True (``'auto'``): a tqdm bar on a terminal,
        else (a log file, CI, a cluster job) one line every 5 seconds with
        done/total, files/s and the time left.  False (``'none'``): nothing.
    backend : {'threads', 'processes', 'dask'}, default 'threads'
    num_threads : int, optional
        Total engine threads shared by the workers (default
        :func:`imgconv.get_num_threads`); each image gets
        ``max(1, num_threads // workers)``.  Not used by the dask backend with
        a `client`, whose workers use their own default.
    client : distributed.Client or str, optional
        For ``backend='dask'``: a client or scheduler address; default a local
        cluster of `workers` processes.
    compression, level, predictor : optional
        Codec of TIFF outputs, as for :func:`imgconv.io.imwrite` (default
        deflate at level 1), or of OME-Zarr stores with
        ``out_format='.zarr'`` (default zstd at level 1; no predictor); other
        formats keep their defaults.
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
    progress = check_progress(progress)
    for name, value in (("resume", resume), ("overwrite", overwrite), ("recursive", recursive)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False; got {value!r}")
    workers = _check_workers(workers)
    if client is not None and backend != "dask":
        raise ValueError(f"`client` goes with backend='dask'; got backend={backend!r}")
    pipeline = Pipeline.coerce(pipeline)
    if backend == "processes":
        _check_picklable(pipeline)
    out_ext = _normalise_extension(out_format)
    work = plan(src, dst, pipeline, pattern=pattern, recursive=recursive, out_format=out_ext, dtype_policy=dtype_policy)
    destination: Destination = work.destination  # type: ignore[assignment]  # plan() always sets it
    preview = None if preview is None else _check_preview(preview, work)
    codec = None
    if (compression, level, predictor) != (None, None, False):
        codec = check_compression(output_codec_format(out_ext), compression, level, predictor)
    budget = _cpu_budget(num_threads)
    fingerprint = pipeline.fingerprint()
    now = datetime.datetime.now(datetime.timezone.utc)
    run_id = f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}-{os.getpid()}"

    try:
        destination.makedirs(work.dst)
    except OSError as exc:
        raise DestinationError(f"`dst` {shown(work.dst)!r} cannot be created or written: {_error_text(exc)}") from None
    manifest_path = destination.check(os.path.join(work.dst, MANIFEST_NAME), what="manifest")
    report = BatchReport(dst=os.fspath(dst), manifest=manifest_path)
    with _locked(destination):
        destination.clean_temporaries()
        manifest = _Manifest(destination, manifest_path)
        sheet_rows: dict[
            str, SheetRow
        ] = {}  # input -> contact-sheet row, made by the workers from the arrays in memory
        if preview is not None:
            work.tasks[:MAX_IMAGES] = [dataclasses.replace(t, preview=True) for t in work.tasks[:MAX_IMAGES]]
        if codec is not None:
            work.tasks[:] = [dataclasses.replace(t, compression=codec) for t in work.tasks]
        try:
            _run(
                work,
                pipeline,
                report,
                manifest,
                fingerprint,
                run_id,
                resume=resume,
                overwrite=overwrite,
                on_error=on_error,
                out_ext=out_ext,
                dtype_policy=dtype_policy,
                progress=progress,
                backend=backend,
                workers=workers,
                budget=budget,
                client=client,
                sheet_rows=sheet_rows,
            )
        finally:
            manifest.close()
        if preview is not None and report.outputs:
            try:
                report.preview = _write_preview(report.outputs, preview, pipeline, destination, sheet_rows)
            except Exception as exc:  # a preview is a convenience: never fail the run for it
                report.warnings.append(f"could not write the preview {shown(preview)}: {_error_text(exc)}")
        report.seconds = time.perf_counter() - start
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


def _write_preview(pairs, path, pipeline, destination, sheet_rows):
    """The contact sheet of the first outputs: rows from memory, read back only for skipped inputs."""
    from ..io import encoder, imread

    rows = []
    for source, output in pairs[:MAX_IMAGES]:
        row = sheet_rows.get(source)
        if row is None:  # skipped (up to date): its result is on disk only
            image = imread(source)
            names = pipeline.channel_names(1 if image.ndim == 2 else image.shape[2])
            row = sheet_row(os.path.basename(source), image, imread(output), names=names)
        rows.append(row)
    pixels = draw_sheet(rows)
    return destination.write(path, encoder(path, pixels), what="preview", inside=False)


def _run(
    work,
    pipeline,
    report,
    manifest,
    fingerprint,
    run_id,
    *,
    resume,
    overwrite,
    on_error,
    out_ext,
    dtype_policy,
    progress,
    backend,
    workers,
    budget,
    client,
    sheet_rows,
):
    """Process the planned tasks, recording each in the manifest and the report."""
    outputs = {}  # input -> output, for report.outputs in input order
    stats = {task.input: _input_stat(task.input) for task in work.tasks}

    def finish(task_input, record):
        row = record.pop("sheet_row", None)
        if row is not None:
            sheet_rows[task_input] = row
        size, mtime = stats.get(task_input, (None, None))
        record.update(
            fingerprint=fingerprint, dtype_policy=dtype_policy, input_size=size, input_mtime_ns=mtime, run=run_id
        )
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
            finish(
                path,
                {
                    "input": path,
                    "output": None,
                    "relative": None,
                    "status": "failed",
                    "shape": None,
                    "dtype": None,
                    "error": reason,
                    "seconds": None,
                },
            )
            if on_error == "raise":
                raise BatchError(f"cannot process {shown(path)!r}: {reason}")

        latest = {}
        if resume and not overwrite:
            latest, warnings = _read_manifest(manifest.path)
            report.warnings.extend(warnings)
        todo = []
        for task in work.tasks:
            previous = (
                None
                if overwrite or not resume
                else _up_to_date(task, latest, fingerprint, dtype_policy, *stats[task.input])
            )
            if previous is not None:
                finish(
                    task.input,
                    {
                        "input": task.input,
                        "output": previous["output"],
                        "relative": task.relative,
                        "status": "skipped",
                        "shape": previous.get("shape"),
                        "dtype": previous.get("dtype"),
                        "channels": previous.get("channels"),
                        "error": None,
                        "seconds": 0.0,
                    },
                )
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
                stream = _run_dask(
                    todo, pipeline, out_ext, dtype_policy, None if client is not None else per_call, n_workers, client
                )
            with contextlib.closing(stream):
                for task, outcome in stream:
                    if isinstance(outcome, BaseException):
                        finish(
                            task.input,
                            {
                                "input": task.input,
                                "output": None,
                                "relative": task.relative,
                                "status": "failed",
                                "shape": None,
                                "dtype": None,
                                "error": _error_text(outcome),
                                "seconds": None,
                            },
                        )
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
