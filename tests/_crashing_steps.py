"""Pipeline steps that kill their worker process on purpose, for test_reliability_workers.py.

Module level and imported by name (``import _crashing_steps``: tests/ is on
sys.path, see conftest.py, and worker processes inherit the parent's sys.path),
so the steps pickle by reference for the processes backend.
"""

import os
import resource
import signal
import time

# The first pixel of an image says what the step does with it.
EXIT, SEGFAULT, SIGKILL, RAISE = 201, 202, 203, 204


def crash_if_marked(image):
    """Return `image` unchanged, unless its first pixel is one of the marks above."""
    mark = int(image.flat[0])
    if mark == EXIT:
        os._exit(1)
    if mark == SEGFAULT:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
        os.kill(os.getpid(), signal.SIGSEGV)
    if mark == SIGKILL:
        os.kill(os.getpid(), signal.SIGKILL)
    if mark == RAISE:
        raise ValueError("marked to fail")
    return image


def slow(image, delay=2.0):
    """Announce the worker (a file named by its pid in $IMGCONV_TEST_STARTED), then sleep."""
    folder = os.environ.get("IMGCONV_TEST_STARTED")
    if folder:
        with open(os.path.join(folder, str(os.getpid())), "w"):
            pass
    time.sleep(delay)
    return image


def crash_task(task):
    """For run_processes: an int task; the marks above kill or raise, other values are doubled."""
    if task == EXIT:
        os._exit(1)
    if task == SEGFAULT:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), signal.SIGSEGV)
    if task == RAISE:
        raise ValueError(f"task {task} marked to fail")
    if task < 0:
        return lambda: task  # cannot be pickled back
    return 2 * task
