"""Running the tasks: threads, a crash-tolerant process pool, or Dask; a bounded window in flight."""

import concurrent.futures
import contextlib
import functools
import multiprocessing

from ._tasks import (
    _IN_FLIGHT_PER_WORKER,
    _error_text,
    _init_process_worker,
    _process_in_worker,
    process_one,
)

# backends
# --------------------------------------------------------------------------------------


def _cpu_budget(num_threads):
    from .._threads import effective_num_threads

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
        return executor.submit(
            process_one, task, pipeline, out_format, dtype_policy, per_call, raise_errors=raise_errors
        )

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
            f"{type(exc).__name__}: {exc}"
        ) from None


def _process_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _run_processes(tasks, pipeline, out_format, dtype_policy, per_call, workers, raise_errors):
    from .._pool import WorkerCrashed, run_processes

    # One task per worker, so a worker that dies (segfault, OOM kill) fails only the file it held.
    stream = run_processes(
        tasks,
        _process_in_worker,
        initializer=_init_process_worker,
        initargs=(pipeline, out_format, dtype_policy, per_call, raise_errors),
        workers=workers,
        context=_process_context(),
    )
    with contextlib.closing(stream):
        for task, outcome in stream:
            if isinstance(outcome, WorkerCrashed):  # that file's failure, not the run's
                outcome = {
                    "input": task.input,
                    "output": None,
                    "relative": task.relative,
                    "status": "failed",
                    "shape": None,
                    "dtype": None,
                    "error": _error_text(outcome),
                    "seconds": None,
                }
            yield task, outcome


def _run_dask(tasks, pipeline, out_format, dtype_policy, per_call, workers, client):
    from ..dask import run_tasks

    func = functools.partial(
        process_one, pipeline=pipeline, out_format=out_format, dtype_policy=dtype_policy, num_threads=per_call
    )

    def on_error(task, exc):  # the worker died, or the task could not run at all
        return {
            "input": task.input,
            "output": None,
            "relative": task.relative,
            "status": "failed",
            "shape": None,
            "dtype": None,
            "error": _error_text(exc),
            "seconds": None,
        }

    by_input = {}

    def remember(iterable):
        for task in iterable:
            by_input[task.input] = task
            yield task

    for record in run_tasks(remember(tasks), func, client=client, workers=workers, on_error=on_error):
        yield by_input.pop(record["input"]), record


# --------------------------------------------------------------------------------------
