"""Folders of files on a cluster: run a picklable function over many small tasks."""

import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .._typing import Int
from .._validation import as_int
from ._optional import _require

_Task = TypeVar("_Task")
_Record = TypeVar("_Record")


def run_tasks(
    tasks: Iterable[_Task],
    func: Callable[[_Task], _Record],
    *,
    client: Any = None,
    workers: Int | None = None,
    retries: Int = 2,
    max_in_flight: Int | None = None,
    on_error: Callable[[_Task, BaseException], _Record] | None = None,
) -> Iterator[_Record]:
    """Run ``func(task)`` for every task on a Dask cluster; yield the results as they finish.

    Parameters
    ----------
    tasks : iterable
        Picklable task descriptions (for :func:`imgconv.batch.process`, one
        ``BatchTask`` per image: paths only, never pixels). Consumed lazily, so
        a generator over millions of files is fine.
    func : callable
        Picklable function (a module-level function or a ``functools.partial``
        of one) called on a worker as ``func(task)``; it reads and writes the
        files itself and returns a small record (a dict). Outputs should be
        written atomically (temporary file + ``os.replace``, as
        :func:`imgconv.io.imwrite` does), so that a retried task never leaves a
        partial file.
    client : distributed.Client, distributed cluster, str or None, optional
        Where to run: an existing ``Client`` (left open), a cluster object such
        as ``LocalCluster`` or a scheduler address such as
        ``"tcp://10.0.0.5:8786"`` (a client is opened and closed here), or
        ``None`` to start a local cluster of `workers` processes with one thread
        each on the loopback interface, closed when the iteration ends.
    workers : int, optional
        Worker processes of the local cluster started when `client` is None
        (default 2). Ignored otherwise.
    retries : int, default 2
        Extra attempts for a task whose function raised. A task whose worker
        died is rescheduled on another worker by the scheduler (up to the
        ``distributed.scheduler.allowed-failures`` setting, default 3).
    max_in_flight : int, optional
        Most tasks submitted but not yet yielded (default ``max(4, 4 * total
        worker threads)``): memory on the client stays bounded for any number
        of tasks.
    on_error : callable, optional
        ``on_error(task, exception) -> record`` turns a task that failed for
        good into a record. By default the exception is raised (after the
        remaining tasks are cancelled).

    Yields
    ------
    record : object
        The return value of ``func(task)``, exactly once per task, in
        completion order (not submission order).

    Raises
    ------
    TypeError
        If `func` or `on_error` is not callable, or `client` has the wrong type.
    ValueError
        If `workers`, `retries` or `max_in_flight` is out of range.

    See Also
    --------
    imgconv.batch.process : the folder driver that uses this with ``backend="dask"``.

    Notes
    -----
    Arguments are checked at once; the cluster is started, and tasks are
    submitted, only when the iteration starts. Closing the iterator early
    (``break``) cancels the tasks still in flight.

    Examples
    --------
    >>> records = run_tasks(["a.png", "b.png"], process_one_file, workers=2)  # doctest: +SKIP
    >>> sorted(r["input"] for r in records)  # doctest: +SKIP
    ['a.png', 'b.png']
    """
    _require("distributed")
    if not callable(func):
        raise TypeError(f"`func` must be callable; got {type(func).__name__}")
    if on_error is not None and not callable(on_error):
        raise TypeError(f"`on_error` must be callable or None; got {type(on_error).__name__}")
    if workers is not None:
        workers = as_int(workers, "workers", minimum=1)
    retries = as_int(retries, "retries", minimum=0)
    if max_in_flight is not None:
        max_in_flight = as_int(max_in_flight, "max_in_flight", minimum=1)
    _check_client(client)
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"`tasks` must be an iterable of task descriptions; got {type(tasks).__name__}")
    return _run_tasks(iter(tasks), func, client, workers, retries, max_in_flight, on_error)


def _check_client(client):
    if client is None or isinstance(client, str):
        return
    distributed = _require("distributed")
    if isinstance(client, distributed.Client) or hasattr(client, "scheduler_address"):
        return
    raise TypeError(
        "`client` must be a distributed.Client, a cluster object, a scheduler address string "
        f"or None; got {type(client).__name__}"
    )


def _start_local_cluster(workers):
    """A LocalCluster of `workers` single-threaded processes on the loopback interface."""
    distributed = _require("distributed")
    return distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # no dashboard; the scheduler's small HTTP server on a free loopback port
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.WARNING,
    )


def _open_client(client, workers):
    """Return ``(client, owned)``: `owned` lists what this module opened and must close."""
    distributed = _require("distributed")
    if isinstance(client, distributed.Client):
        return client, []
    if client is None:
        cluster = _start_local_cluster(workers or 2)
        try:
            opened = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return opened, [opened, cluster]
    try:  # address string or cluster object
        opened = distributed.Client(client, set_as_default=False, timeout=_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:  # distributed raises both for an unreachable scheduler
        where = client if isinstance(client, str) else type(client).__name__
        raise SchedulerError(
            f"`client` {where!r}: cannot reach the dask scheduler within {_CONNECT_TIMEOUT} s "
            f"({type(exc).__name__}: {exc}); check the address and that the scheduler "
            f"runs"
        ) from None
    return opened, [opened]


#: Seconds to wait for a scheduler given by address before giving up with SchedulerError.
_CONNECT_TIMEOUT = 10


class SchedulerError(ValueError):
    """The dask scheduler named by `client` cannot be reached."""


def _run_tasks(tasks, func, client, workers, retries, max_in_flight, on_error):
    distributed = _require("distributed")
    client, owned = _open_client(client, workers)
    pending = {}  # future -> task
    try:
        if max_in_flight is None:
            threads = sum(client.nthreads().values()) or 1
            max_in_flight = max(4, 4 * threads)
        prefix = f"imgconv-task-{uuid.uuid4().hex[:12]}"
        counter = itertools.count()
        # with_results: records are gathered concurrently in the client's event loop.
        completed = distributed.as_completed(loop=client.loop, with_results=True, raise_errors=False)

        def submit(task):
            # An explicit unique key: two equal tasks are still two tasks.
            future = client.submit(func, task, key=f"{prefix}-{next(counter)}", retries=retries, pure=False)
            pending[future] = task
            completed.add(future)

        for task in itertools.islice(tasks, max_in_flight):
            submit(task)
        for future, result in completed:
            task = pending.pop(future)
            if future.status == "error" or future.cancelled():
                # result is (type, exception, traceback) for an error, the CancelledError otherwise
                exception = result[1] if isinstance(result, tuple) else result
                if on_error is None:
                    raise exception
                record = on_error(task, exception)
            else:
                record = result
            future.release()
            for task in itertools.islice(tasks, 1):  # refill before handing the record over
                submit(task)
            yield record
    finally:
        if pending:
            client.cancel(list(pending))
            pending.clear()
        for obj in owned:
            obj.close()
