"""The processes backend survives dying workers and dies with its coordinating process.

A worker killed by one image (segfault, ``os._exit``, SIGKILL as the OOM killer
sends it) fails that image only; a coordinator killed with SIGKILL leaves no
process behind.  The crashing steps live in tests/_crashing_steps.py, importable
by the workers.
"""

import json
import os
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import imgconv
from imgconv import batch
from imgconv._pool import WorkerCrashed, run_processes
from imgconv.batch import BatchError, process
from imgconv.io import imread, imwrite
from imgconv.pipeline import Pipeline

import _crashing_steps

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(imgconv.__file__)))
TIMEOUT = 120  # seconds before a hanging pool fails the test instead of blocking the run


@pytest.fixture(autouse=True)
def fail_instead_of_hanging():
    def expire(signum, frame):
        pytest.fail(f"timed out after {TIMEOUT} s: the process pool hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def make_images(folder, rng, marks):
    """`len(marks)` small gray PNGs; image i has first pixel `marks[i]` (0: an ordinary image)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, mark in enumerate(marks):
        image = (rng.random((16, 20)) * 200).astype(np.uint8)
        image[0, 0] = mark
        paths.append(os.path.join(folder, f"img{i}.png"))
        imwrite(paths[-1], image)
    return paths


def manifest_records(dst):
    with open(os.path.join(dst, batch.MANIFEST_NAME), encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def pipeline_with(step):
    return Pipeline([step, {"step": "to_float32"}])


# --------------------------------------------------------------------------------------
# a crash fails one file, the run goes on
# --------------------------------------------------------------------------------------


def test_a_crashing_worker_fails_only_its_file(tmp_path, rng):
    marks = [0, _crashing_steps.SEGFAULT, 0, 0, _crashing_steps.EXIT, 0]
    paths = make_images(tmp_path / "src", rng, marks)
    pipeline = pipeline_with(_crashing_steps.crash_if_marked)
    dst = tmp_path / "out"

    report = process(tmp_path / "src", dst, pipeline, backend="processes", workers=2, out_format=".npy", progress=False)

    assert (report.done, report.skipped) == (4, 0)
    failed = dict(report.failed)
    assert sorted(failed) == [paths[1], paths[4]]
    assert failed[paths[1]] == "WorkerCrashed: worker crashed (signal SIGSEGV) while processing this task"
    assert failed[paths[4]] == "WorkerCrashed: worker crashed (exit code 1) while processing this task"

    records = manifest_records(dst)
    assert sorted(r["input"] for r in records) == sorted(paths)  # one record per input
    for record in records:
        crashed = record["input"] in failed
        assert record["status"] == ("failed" if crashed else "done"), record
        assert record["error"] == (failed[record["input"]] if crashed else None)
    assert [source for source, _ in report.outputs] == [p for p, m in zip(paths, marks) if m == 0]
    for source, output in report.outputs:
        np.testing.assert_array_equal(imread(output), pipeline(imread(source)), err_msg=output)


def test_a_killed_worker_with_on_error_raise_stops_the_run_with_its_reason(tmp_path, rng):
    paths = make_images(tmp_path / "src", rng, [0, _crashing_steps.SIGKILL, 0])
    pipeline = pipeline_with(_crashing_steps.crash_if_marked)
    with pytest.raises(BatchError, match=r"img1\.png.*worker crashed \(signal SIGKILL\).*ran out of memory"):
        process(
            tmp_path / "src",
            tmp_path / "out",
            pipeline,
            backend="processes",
            workers=2,
            on_error="raise",
            progress=False,
        )
    failed = [r for r in manifest_records(tmp_path / "out") if r["status"] == "failed"]
    assert [r["input"] for r in failed] == [paths[1]]
    assert "signal SIGKILL" in failed[0]["error"]


def test_an_exception_in_a_worker_is_raised_as_itself_with_the_worker_traceback(tmp_path, rng):
    make_images(tmp_path / "src", rng, [_crashing_steps.RAISE])
    pipeline = pipeline_with(_crashing_steps.crash_if_marked)
    with pytest.raises(ValueError, match="marked to fail") as info:
        process(
            tmp_path / "src",
            tmp_path / "out",
            pipeline,
            backend="processes",
            workers=1,
            on_error="raise",
            progress=False,
        )
    assert "crash_if_marked" in str(info.value.__cause__)  # the worker's traceback


def test_workers_that_cannot_load_the_pipeline_stop_the_run(tmp_path, rng, monkeypatch):
    # A module the coordinator has but the workers cannot import.
    def identity(image):
        return image

    identity.__module__, identity.__qualname__ = "_ghost_steps", "identity"
    ghost = types.ModuleType("_ghost_steps")
    ghost.identity = identity
    monkeypatch.setitem(sys.modules, "_ghost_steps", ghost)
    make_images(tmp_path / "src", rng, [0, 0])
    with pytest.raises(Exception, match=r"worker processes could not start: ModuleNotFoundError: .*_ghost_steps"):
        process(
            tmp_path / "src", tmp_path / "out", Pipeline([identity]), backend="processes", workers=2, progress=False
        )


def test_run_processes_yields_every_task_once_with_its_outcome():
    import multiprocessing

    marks = _crashing_steps
    tasks = [1, marks.SEGFAULT, 2, marks.RAISE, 3, -1, marks.EXIT, 4, 5]
    outcomes = dict(
        run_processes(tasks, marks.crash_task, workers=2, context=multiprocessing.get_context("forkserver"))
    )
    assert sorted(outcomes) == sorted(tasks)
    assert {t: outcomes[t] for t in (1, 2, 3, 4, 5)} == {1: 2, 2: 4, 3: 6, 4: 8, 5: 10}
    assert isinstance(outcomes[marks.SEGFAULT], WorkerCrashed)
    assert outcomes[marks.SEGFAULT].exitcode == -signal.SIGSEGV
    assert isinstance(outcomes[marks.EXIT], WorkerCrashed)
    assert outcomes[marks.EXIT].exitcode == 1
    assert isinstance(outcomes[marks.RAISE], ValueError)
    assert "crash_task" in str(outcomes[marks.RAISE].__cause__)
    assert not isinstance(outcomes[-1], WorkerCrashed)  # an unpicklable result fails its task only
    assert isinstance(outcomes[-1], Exception)


# --------------------------------------------------------------------------------------
# a killed coordinator leaves nothing behind
# --------------------------------------------------------------------------------------


def _session_members(sid):
    """Live (not zombie) processes of session `sid`."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getsid(proc.pid) == sid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, PermissionError):
            pass
    return members


def test_sigkill_of_the_main_process_leaves_no_process_behind(tmp_path, rng):
    make_images(tmp_path / "src", rng, [0] * 10)
    started = tmp_path / "started"
    started.mkdir()
    code = (
        "import sys\n"
        "import _crashing_steps\n"
        "from imgconv.batch import process\n"
        "from imgconv.pipeline import Pipeline\n"
        "process(sys.argv[1], sys.argv[2], Pipeline([_crashing_steps.slow]), backend='processes', workers=2,\n"
        "        progress=False)\n"
    )
    env = dict(
        os.environ,
        IMGCONV_TEST_STARTED=str(started),
        PYTHONPATH=os.pathsep.join([TESTS, REPO, os.environ.get("PYTHONPATH", "")]),
    )
    # Its own session: everything it starts (forkserver, resource tracker, workers) is found by session id.
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "src"), str(tmp_path / "out")],
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    sid = proc.pid
    try:
        deadline = time.monotonic() + 60
        while len(os.listdir(started)) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.02)
        workers = {int(name) for name in os.listdir(started)}
        before = set(_session_members(sid))
        assert workers <= before, (workers, before)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

        deadline = time.monotonic() + 30
        while _session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {pid: " ".join(psutil.Process(pid).cmdline())[:100] for pid in _session_members(sid)}
        assert left == {}, f"still running after the main process was killed: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if _session_members(sid):  # do not leak them into the rest of the test run
            os.killpg(sid, signal.SIGKILL)
