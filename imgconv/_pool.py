"""A process pool that survives worker crashes.

:func:`run_processes` runs a function on every task in worker processes and
yields ``(task, outcome)`` as tasks finish.  Unlike
:class:`concurrent.futures.ProcessPoolExecutor`, whose pool breaks for good
when one worker dies (every task in flight then fails with
``BrokenProcessPool``), a worker that dies -- segfault, ``os._exit``, the
kernel's out-of-memory killer -- costs exactly the task it was running: that
task's outcome is a :class:`WorkerCrashed`, a new worker takes the dead one's
place, and the other workers go on undisturbed.

Design
------
* Every worker has its own pipe and holds at most one task.  The task a dead
  worker held is therefore the one that killed it: no guessing, no re-running
  of innocent tasks (which may have written files), no retries.
* A worker that dies before it is ready (the initializer, or unpickling the
  function and its arguments, failed) is not a task's fault: its task goes
  back to the queue.  Three such deaths in a row, or an initializer that
  raises, stop the run with ``BrokenProcessPool``: nothing could run.
* Workers ignore SIGINT: Ctrl-C reaches the coordinating process, which then
  lets the tasks being run finish (their outcomes are dropped) before it
  re-raises; a second Ctrl-C kills the workers.
* Workers die with the coordinating process (see
  :func:`exit_with_coordinator`): a coordinator killed with SIGKILL leaves no
  worker behind, and so no forkserver or resource tracker either, since those
  exit once nothing uses them.
"""

import collections
import ctypes
import itertools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import traceback
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.reduction import ForkingPickler

__all__ = ["WorkerCrashed", "exit_with_coordinator", "run_processes"]

# Workers that die before they are ready, in a row, before the run is declared impossible.
_START_ATTEMPTS = 3

# Seconds between two checks that the coordinating process still lives (the pipe check is immediate).
_WATCH_INTERVAL = 1.0

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_STOP = b""  # pickle never produces an empty message


class WorkerCrashed(Exception):
    """The worker process running a task died: the outcome of that task.

    Parameters
    ----------
    exitcode : int or None
        The worker's exit code; negative: killed by signal ``-exitcode``.
    pid : int, optional
        The worker's process id.

    Attributes
    ----------
    exitcode : int or None
    pid : int or None
    """

    def __init__(self, exitcode, pid=None):
        self.exitcode = exitcode
        self.pid = pid
        message = f"worker crashed ({_describe_exit(exitcode)}) while processing this task"
        if exitcode is not None and exitcode == -getattr(signal, "SIGKILL", 0):
            message += "; SIGKILL often means the system ran out of memory"
        super().__init__(message)

    def __reduce__(self):
        return type(self), (self.exitcode, self.pid)


def _describe_exit(exitcode):
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, attached as its ``__cause__``."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return self.text


def _traceback_text(exc):
    return "".join(traceback.format_exception(exc))


# --------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------


def exit_with_coordinator(lifeline, coordinator_pid):
    """Make this worker process exit soon after the coordinating process dies.

    Three guards, since a worker left behind keeps computing for nobody and
    keeps the forkserver and the resource tracker alive:

    * `lifeline`, the read end of a pipe whose write end only the coordinator
      holds: a watchdog thread sees end-of-file the moment the coordinator
      dies, however it dies, and calls ``os._exit``.
    * `coordinator_pid`, polled by the same thread every second (POSIX), in
      case something else inherited the write end.
    * On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the
      worker when its parent dies even if the watchdog cannot get the GIL.
      The parent is the coordinator for the 'spawn' start method, and the
      forkserver for 'forkserver' -- which itself lives until its children
      exit, so there the watchdog is what counts.

    Parameters
    ----------
    lifeline : multiprocessing.connection.Connection
        Never written to; end-of-file means the coordinator is gone.
    coordinator_pid : int
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl in this libc: the watchdog still guards
            pass
    threading.Thread(target=_watch, args=(lifeline, coordinator_pid), name="imgconv-watchdog", daemon=True).start()


def _coordinator_alive(pid):
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid exists (reused by another user's process, at worst)
        return True
    return True


def _watch(lifeline, coordinator_pid):
    while True:
        try:
            if lifeline.poll(_WATCH_INTERVAL):  # nothing is ever written: readable means end-of-file
                break
        except (OSError, EOFError):
            break
        if not _coordinator_alive(coordinator_pid):
            break
    os._exit(1)


def _send(conn, message):
    """Send `message`; a part that cannot be pickled becomes the error outcome instead.

    Returns False when the coordinator is gone.
    """
    try:
        data = ForkingPickler.dumps(message)
    except Exception as exc:  # any pickling error becomes the task's outcome  # noqa: BLE001
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note("raised while sending the outcome of the task from the worker process")
        try:
            data = ForkingPickler.dumps(("error", exc, _traceback_text(exc)))
        except Exception:  # not even the error pickles: send its text  # noqa: BLE001
            data = ForkingPickler.dumps(("error", Exception(f"{type(exc).__name__}: {exc}"), _traceback_text(exc)))
    try:
        conn.send_bytes(data)
    except OSError:
        return False
    return True


def _worker_main(conn, lifeline, coordinator_pid, payload):
    # Ctrl-C goes to the whole process group; the coordinator decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_coordinator(lifeline, coordinator_pid)
    try:
        # Unpickled here, not by multiprocessing, so that a module the workers cannot import is reported.
        function, initializer, initargs = pickle.loads(payload)
        if initializer is not None:
            initializer(*initargs)
    except Exception as exc:  # reported to the coordinator, which stops the run  # noqa: BLE001
        _send(conn, ("init-error", f"{type(exc).__name__}: {exc}", _traceback_text(exc)))
        return
    if not _send(conn, ("ready",)):
        return
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):  # the coordinator is gone
            return
        if data == _STOP:
            return
        try:
            message = ("result", function(pickle.loads(data)))
        except Exception as exc:  # the task's outcome  # noqa: BLE001
            message = ("error", exc, _traceback_text(exc))
        if not _send(conn, message):
            return


# --------------------------------------------------------------------------------------
# coordinator side
# --------------------------------------------------------------------------------------


class _Worker:
    """One worker process, its pipe, and the task it holds."""

    def __init__(self, context, name, lifeline, payload):
        self.conn, child = context.Pipe()
        try:
            self.process = context.Process(target=_worker_main, args=(child, lifeline, os.getpid(), payload), name=name)
            self.process.start()
        except BaseException:
            self.conn.close()
            raise
        finally:
            child.close()  # the worker's end: its death must give this end end-of-file
        self.job = None  # (index, task)
        self.ready = False

    def give(self, job, data):
        """Send a task; False if the worker is already dead."""
        try:
            self.conn.send_bytes(data)
        except OSError:
            return False
        self.job = job
        return True

    def stop(self):
        try:
            self.conn.send_bytes(_STOP)
        except OSError:
            pass

    def wait_exit(self):
        # Read and drop what a busy worker still sends: a worker blocked on a full pipe never exits.
        while True:
            ready = multiprocessing.connection.wait([self.conn, self.process.sentinel])
            if self.process.sentinel in ready:
                break
            try:
                self.conn.recv_bytes()
            except (EOFError, OSError):
                break
        self.process.join()

    def kill(self):
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join()

    def close(self):
        self.conn.close()
        self.process.close()


class _Pool:
    def __init__(self, function, initializer, initargs, workers, context):
        self._context = context
        self._payload = bytes(ForkingPickler.dumps((function, initializer, tuple(initargs))))
        self._lifeline, self._keepalive = context.Pipe(duplex=False)  # read end, write end
        self._slots = [None] * workers
        self._backlog = collections.deque()  # jobs given back by workers that never got ready
        self._start_failures = 0
        self._numbers = itertools.count(1)

    def run(self, tasks):
        source = enumerate(tasks)
        finished = []  # (index, task, outcome)
        while True:
            for slot in range(len(self._slots)):
                self._fill(slot, source, finished)
            # Tasks that finish together are yielded in submission order.
            finished.sort(key=lambda item: item[0])
            for _, task, outcome in finished:
                yield task, outcome
            finished.clear()
            busy = [w for w in self._slots if w is not None and w.job is not None]
            if not busy:  # every slot was offered a task: there are none left
                return
            ready = multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for slot, worker in enumerate(self._slots):
                if worker is None or worker.job is None:
                    continue
                alive = self._drain(worker, finished) if worker.conn in ready else True
                if not alive or worker.process.sentinel in ready:
                    if alive:
                        self._drain(worker, finished)  # what it sent before it died
                    self._retire(slot, finished)

    def _fill(self, slot, source, finished):
        """Give the worker of `slot` a task if it has none (starting a worker if needed)."""
        while self._slots[slot] is None or self._slots[slot].job is None:
            job = self._backlog.popleft() if self._backlog else next(source, None)
            if job is None:
                return
            try:
                data = ForkingPickler.dumps(job[1])
            except Exception as exc:  # the task's outcome  # noqa: BLE001
                finished.append((job[0], job[1], exc))
                continue
            if self._slots[slot] is None:
                self._slots[slot] = _Worker(
                    self._context, f"imgconv-worker-{next(self._numbers)}", self._lifeline, self._payload
                )
            if not self._slots[slot].give(job, data):  # it died while idle
                self._backlog.appendleft(job)
                self._retire(slot, finished)

    def _drain(self, worker, finished):
        """Read every message the worker has sent; False when its pipe is closed (it died)."""
        while worker.conn.poll():
            try:
                data = worker.conn.recv_bytes()
            except (EOFError, OSError):
                return False
            try:
                message = pickle.loads(data)
            except Exception as exc:  # e.g. the result's class cannot be imported here  # noqa: BLE001
                message = ("error", exc, None)
            kind = message[0]
            if kind == "ready":
                worker.ready = True
                self._start_failures = 0
            elif kind == "init-error":
                raise BrokenProcessPool(f"worker processes could not start: {message[1]}") from _RemoteTraceback(
                    message[2]
                )
            elif worker.job is not None:
                outcome = message[1]
                if kind == "error" and message[2] is not None:
                    outcome.__cause__ = _RemoteTraceback(message[2])
                index, task = worker.job
                worker.job = None
                finished.append((index, task, outcome))
        return True

    def _retire(self, slot, finished):
        """The worker of `slot` died: settle its task, free the slot."""
        worker = self._slots[slot]
        self._slots[slot] = None
        worker.process.join()
        exitcode, pid = worker.process.exitcode, worker.process.pid
        worker.close()
        if worker.ready:
            if worker.job is not None:
                index, task = worker.job
                finished.append((index, task, WorkerCrashed(exitcode, pid)))
            return
        if worker.job is not None:
            self._backlog.appendleft(worker.job)
        self._start_failures += 1
        if self._start_failures >= _START_ATTEMPTS:
            raise BrokenProcessPool(
                f"worker processes could not start: {self._start_failures} in a row ended "
                f"({_describe_exit(exitcode)}) before they were ready"
            )

    def shutdown(self):
        workers = [w for w in self._slots if w is not None]
        self._slots = [None] * len(self._slots)
        try:
            for worker in workers:
                worker.stop()
            for worker in workers:
                worker.wait_exit()
        except BaseException:  # e.g. a second Ctrl-C while tasks finish
            for worker in workers:
                worker.kill()
            raise
        finally:
            for worker in workers:
                worker.close()
            self._keepalive.close()
            self._lifeline.close()


def run_processes(tasks, function, *, initializer=None, initargs=(), workers=1, context=None):
    """Yield ``(task, outcome)`` for every task, run as ``function(task)`` in worker processes.

    Parameters
    ----------
    tasks : iterable
        Read lazily, as workers become free; every task must be picklable.
    function : callable
        Module-level (picklable by reference).  Runs in a worker process.
    initializer : callable, optional
        Called as ``initializer(*initargs)`` once in every worker process,
        before its first task.  If it raises, the run stops with
        ``BrokenProcessPool``.
    initargs : tuple, default ()
        Pickled once, sent to every worker.
    workers : int, default 1
        Worker processes; at most this many tasks are in flight, one per
        worker.
    context : multiprocessing context, optional
        Start method; default :func:`multiprocessing.get_context`.

    Yields
    ------
    task : object
        Each task exactly once, in the order tasks finish (tasks that finish
        together in the order given).
    outcome : object or Exception
        ``function(task)``; the exception it raised (with the worker's
        traceback as ``__cause__``); the pickling error if the task or its
        result could not be sent; or :class:`WorkerCrashed` if the worker
        died while running it.

    Raises
    ------
    BrokenProcessPool
        When workers cannot start: the initializer raised (the error is in
        the message, the worker's traceback is the cause), or three workers in
        a row died before they were ready.
    ValueError, TypeError
        For a bad `workers`.

    Notes
    -----
    Closing the generator (or an exception in the consumer) stops the
    workers: idle ones at once, busy ones after their current task, whose
    outcome is dropped.  No worker outlives the coordinating process, even one
    killed with SIGKILL (:func:`exit_with_coordinator`).
    """
    from ._validation import as_int

    workers = as_int(workers, "workers", minimum=1)
    pool = _Pool(function, initializer, initargs, workers, context or multiprocessing.get_context())
    try:
        yield from pool.run(tasks)
    finally:
        pool.shutdown()
