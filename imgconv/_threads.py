"""Thread-count policy shared by every compiled call.

One function, :func:`effective_num_threads`, turns the user's wish into the plain
``int`` handed to the OpenMP kernels (the scikit-learn ``_openmp_effective_n_threads``
pattern).  Precedence, highest first:

1. the ``num_threads`` argument of a call;
2. the :func:`num_threads` context manager (this Python thread), then
   :func:`set_num_threads` (the whole process);
3. the ``IMGCONV_NUM_THREADS`` environment variable (read at every call);
4. otherwise OpenMP's own setting, ``omp_get_max_threads()`` as the compiled
   module reports it, exactly as scikit-learn does: ``OMP_NUM_THREADS`` as the
   OpenMP runtime read it when it started, lowered by threadpoolctl
   (``with threadpool_limits(1, user_api="openmp"):``, which calls
   ``omp_set_num_threads`` for the calling Python thread) or by any library's
   ``omp_set_num_threads``; when ``OMP_NUM_THREADS`` is not set, also at most the
   CPUs this process may run on now (``os.sched_getaffinity``, so container and
   ``taskset`` limits are honoured; ``os.cpu_count()`` where it does not exist).

Steps 1-3 are imgconv's own, explicit settings and win over a threadpoolctl
limit, as an explicit ``n_jobs``/``n_threads`` does in scikit-learn; only the
default (all three unset) follows OpenMP.

Three limits apply to whatever that gives (:func:`max_num_threads`):

* **One thread in a build without OpenMP.**  The kernels then run serially
  whatever they are given, so imgconv says so: ``get_num_threads()`` is 1 by
  default and every call gets 1 (``imgconv.show_config()`` tells whether OpenMP
  is on).
* **At most** :data:`THREADS_PER_CPU` **threads per available CPU.**  Each thread
  gets its own scratch and an OS thread; more threads than cores only add
  start-up and memory (``num_threads=10**6`` started 8191 threads on 2 CPUs),
  while a few per core still let a test or a user oversubscribe on purpose.
* **One thread in a fork()ed child of a process that has run imgconv on several
  threads.**  GNU libgomp keeps its worker threads in a pool that fork() does not
  copy: the child's first parallel region waits forever for threads that do not
  exist (multiprocessing's 'fork' start method hangs).  Such a child runs every
  call serially, without entering OpenMP at all, whatever it asks for; children
  started with 'spawn' or 'forkserver' (or forked before any threaded call) keep
  their threads.
"""

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any, SupportsIndex

from ._dispatch import kernel_module

__all__ = [
    "THREADS_PER_CPU",
    "check_num_threads",
    "effective_num_threads",
    "get_num_threads",
    "max_num_threads",
    "num_threads",
    "set_num_threads",
    "team_starting",
]

#: Upper bound on threads per CPU available to the process (see the module notes).
THREADS_PER_CPU = 4

# Process-wide override from set_num_threads(); a thread-local override from the
# context manager so concurrent Python threads do not change each other's setting.
_global_num_threads = None
_local = threading.local()
# Whether this process has started an OpenMP team (a call on more than one thread),
# and whether it is a fork() of a process that had: then OpenMP is off limits.
_team_started = False
_forked_after_team = False


def _after_fork_in_child():
    global _forked_after_team
    if _team_started:
        _forked_after_team = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_num_threads(n: Any, name: str = "num_threads") -> int:
    if isinstance(n, bool) or (not isinstance(n, (int,)) and not hasattr(n, "__index__")):
        raise TypeError(f"`{name}` must be a positive int or None; got {n!r}")
    n = int(n.__index__())
    if n < 1:
        raise ValueError(f"`{name}` must be a positive int or None; got {n}")
    return n


def _getenv(var):
    """``os.environ.get(var)``, with the common case of an unset variable cheap.

    On an unset name ``os.environ.get`` raises and catches a KeyError inside, 1.7 us of
    every default-thread call; CPython's ``os.environ`` keeps its items in ``_data``
    (which every ``os.environ[...] = ...`` and ``del`` updates), so a miss there is
    answered at once.  Anything else (another ``os.environ`` type) takes the plain path.
    """
    environ = os.environ
    data = getattr(environ, "_data", None)
    encodekey = getattr(environ, "encodekey", None)
    if type(data) is dict and encodekey is not None:
        try:
            if encodekey(var) not in data:
                return None
        except Exception:  # pragma: no cover - an encoding we do not know: ask the mapping
            pass
    return environ.get(var)


def _env_threads(var):
    value = (_getenv(var) or "").split(",")[0].strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 1 else None


def _available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _openmp_default():
    """OpenMP's thread count for this Python thread (1 without OpenMP), as scikit-learn reads it."""
    module = kernel_module()
    if not module.openmp_enabled():
        return 1
    n = module.openmp_max_threads()
    # min(n, CPUs) when OMP_NUM_THREADS is unset; only a count above 1 needs the CPUs (a system
    # call) and only one above the CPUs the environment.
    if n > 1:
        cpus = _available_cpus()
        if n > cpus and not _getenv("OMP_NUM_THREADS"):
            n = cpus
    return max(1, n)


def get_num_threads() -> int:
    """Return the number of threads imgconv asks for when a call does not say.

    Returns
    -------
    n : int
        See the module notes for the order in which settings are consulted:
        imgconv's own settings first, else OpenMP's ``omp_get_max_threads()``
        (which ``OMP_NUM_THREADS`` and threadpoolctl set; 1 in a build without
        OpenMP).  A call runs on at most :func:`max_num_threads` of them.

    Examples
    --------
    >>> import imgconv
    >>> with imgconv.num_threads(1):
    ...     imgconv.get_num_threads()
    1
    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1, user_api="openmp"):
    ...     imgconv.get_num_threads()
    1
    """
    local = getattr(_local, "value", None)
    if local is not None:
        return local
    if _global_num_threads is not None:
        return _global_num_threads
    n = _env_threads("IMGCONV_NUM_THREADS")
    if n is not None:
        return n
    return _openmp_default()


def set_num_threads(n: SupportsIndex | None) -> None:
    """Set the default thread count for the whole process.

    Parameters
    ----------
    n : int or None
        A positive number of threads, or None to return to the default
        (``IMGCONV_NUM_THREADS``, else OpenMP's setting; see the module notes).

    Raises
    ------
    TypeError, ValueError
        If `n` is not a positive int or None.
    """
    global _global_num_threads
    _global_num_threads = None if n is None else _check_num_threads(n, "n")


@contextlib.contextmanager
def num_threads(n: SupportsIndex) -> Iterator[int]:
    """Context manager that sets the thread count for calls made in this thread.

    Parameters
    ----------
    n : int
        A positive number of threads.

    Examples
    --------
    >>> import numpy as np, imgconv
    >>> x = np.ones((1, 1, 8, 8), np.float32); w = np.ones((1, 1, 3, 3), np.float32)
    >>> with imgconv.num_threads(1):
    ...     y = imgconv.conv2d(x, w)
    >>> y.shape
    (1, 1, 6, 6)
    """
    n = _check_num_threads(n, "n")
    previous = getattr(_local, "value", None)
    _local.value = n
    try:
        yield n
    finally:
        _local.value = previous


def max_num_threads() -> int:
    """Return the most threads one call may use: :data:`THREADS_PER_CPU` per available CPU.

    Returns
    -------
    n : int
        ``THREADS_PER_CPU * CPUs`` (``os.sched_getaffinity``); 1 in a build
        without OpenMP and in a fork()ed child of a process that has run imgconv
        on several threads (see the module notes).
    """
    if _forked_after_team or not kernel_module().openmp_enabled():
        return 1
    return THREADS_PER_CPU * _available_cpus()


def check_num_threads(n: SupportsIndex | None) -> None:
    """Validate a per-call ``num_threads`` argument without resolving it (a call that runs on one thread).

    Raises what :func:`effective_num_threads` raises for `n`; returns nothing.
    """
    if n is not None:
        _check_num_threads(n)


def effective_num_threads(n: SupportsIndex | None = None) -> int:
    """Resolve a per-call ``num_threads`` argument to the thread count a kernel gets.

    Parameters
    ----------
    n : int or None
        The call's wish; None follows :func:`get_num_threads`.

    Returns
    -------
    n : int
        At least 1 and at most :func:`max_num_threads` (so 1 in a build without
        OpenMP, and in a fork()ed child of a process that has run imgconv on
        several threads).  An explicit `n` wins over a threadpoolctl limit.

    Raises
    ------
    TypeError, ValueError
        If `n` is not a positive int or None.
    """
    n = get_num_threads() if n is None else _check_num_threads(n)
    if n == 1:
        return 1  # whatever the limit is (at least 1): skips its system call
    return max(1, min(n, max_num_threads()))


def team_starting(n: int) -> None:
    """Note that a kernel is about to run on `n` threads (an OpenMP team when n > 1).

    The engine calls this right before every kernel call, so that a later fork()
    knows whether the child must stay off OpenMP.
    """
    global _team_started
    if n > 1:
        _team_started = True
