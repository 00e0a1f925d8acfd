"""The thread count: imgconv's settings, then OpenMP's (OMP_NUM_THREADS, threadpoolctl); 1 without OpenMP."""

import inspect
import io
import os
import pathlib
import subprocess
import sys
import tempfile
import types

import numpy as np
import pytest

import imgconv
from imgconv import _dispatch, _threads

threadpoolctl = pytest.importorskip("threadpoolctl")

OPENMP = _dispatch.kernel_module().openmp_enabled()
needs_openmp = pytest.mark.skipif(not OPENMP, reason="this build has no OpenMP: every call runs on 1 thread")


@pytest.fixture
def no_settings(monkeypatch):
    """No imgconv setting in force, so the default follows OpenMP."""
    monkeypatch.delenv("IMGCONV_NUM_THREADS", raising=False)
    imgconv.set_num_threads(None)
    yield
    imgconv.set_num_threads(None)


def _in_fresh_process(code, **env):
    """Run `code` in a new interpreter with the imgconv under test (never an uncompiled source folder)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "IMGCONV_NUM_THREADS")}
    environ.update(env)
    package_parent = str(pathlib.Path(imgconv.__file__).resolve().parent.parent)
    inherited = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    environ["PYTHONPATH"] = os.pathsep.join([package_parent, *inherited])
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_threadpoolctl_limit_is_respected(no_settings):
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert imgconv.get_num_threads() == 1
        assert _threads.effective_num_threads() == 1
        assert imgconv.show_config(file=io.StringIO())["num_threads"] == 1


@needs_openmp
def test_threadpoolctl_limit_is_lifted_on_exit(no_settings):
    before = imgconv.get_num_threads()
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        pass
    assert imgconv.get_num_threads() == before


@needs_openmp
def test_explicit_settings_win_over_threadpoolctl(no_settings, monkeypatch):
    """Like scikit-learn's explicit n_threads: imgconv's own settings are not a default to be limited."""
    cap = _threads.max_num_threads()
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert _threads.effective_num_threads(2) == min(2, cap)
        with imgconv.num_threads(2):
            assert imgconv.get_num_threads() == 2
        imgconv.set_num_threads(3)
        assert imgconv.get_num_threads() == 3
        imgconv.set_num_threads(None)
        monkeypatch.setenv("IMGCONV_NUM_THREADS", "2")
        assert imgconv.get_num_threads() == 2


def test_results_do_not_depend_on_a_threadpoolctl_limit(no_settings, rng):
    x = rng.standard_normal((1, 2, 64, 64))
    w = rng.standard_normal((3, 2, 3, 3))
    y = imgconv.conv2d(x, w, padding=1)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        np.testing.assert_array_equal(imgconv.conv2d(x, w, padding=1), y)


@needs_openmp
@pytest.mark.parametrize("value, expected", [("1", 1), ("3", 3)])
def test_omp_num_threads_as_openmp_read_it(value, expected):
    """OMP_NUM_THREADS counts as the OpenMP runtime read it at start-up (more than the CPUs if asked)."""
    code = "import imgconv, imgconv._threads as t; print(imgconv.get_num_threads(), t.effective_num_threads())"
    got = _in_fresh_process(code, OMP_NUM_THREADS=value)
    assert got == [str(expected), str(min(expected, _threads.max_num_threads()))]


@needs_openmp
def test_imgconv_num_threads_wins_over_omp_num_threads():
    got = _in_fresh_process(
        "import imgconv; print(imgconv.get_num_threads())", OMP_NUM_THREADS="1", IMGCONV_NUM_THREADS="2"
    )
    assert got == ["2"]


def test_default_is_at_most_the_available_cpus(no_settings, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert 1 <= imgconv.get_num_threads() <= cpus


class _SerialBuild(types.SimpleNamespace):
    """Stands for a kernel module compiled without OpenMP (IMGCONV_DISABLE_OPENMP=1)."""

    def openmp_enabled(self):
        return False

    def openmp_max_threads(self):
        return 1


def test_a_build_without_openmp_runs_on_one_thread(no_settings, monkeypatch):
    monkeypatch.setattr(_threads, "kernel_module", lambda: _SerialBuild())
    assert imgconv.get_num_threads() == 1
    assert _threads.max_num_threads() == 1
    assert _threads.effective_num_threads() == 1
    assert _threads.effective_num_threads(4) == 1  # asked for, but the kernels cannot
    with imgconv.num_threads(4):
        assert imgconv.get_num_threads() == 4  # the setting is kept ...
        assert _threads.effective_num_threads() == 1  # ... every call gets one thread
    with pytest.raises(ValueError, match=r"`num_threads` must be a positive int or None; got 0"):
        _threads.effective_num_threads(0)


@pytest.mark.skipif(OPENMP, reason="this build has OpenMP (the fake-module test above covers the serial case)")
def test_this_build_without_openmp_runs_on_one_thread(no_settings):
    assert imgconv.get_num_threads() == 1
    assert _threads.effective_num_threads(4) == 1


@needs_openmp
def test_engine_calls_follow_a_threadpoolctl_limit_set_after_earlier_calls(no_settings, monkeypatch):
    """The engine caches call layouts, never the thread count: a later limit still applies."""
    from imgconv import _engine

    kernel = _engine._kernel()
    seen = []

    class Recorder:
        def __getattr__(self, name):
            return getattr(kernel, name)

        def correlate_nchw(self, *args, **kwargs):
            seen.append(inspect.signature(kernel.correlate_nchw).bind(*args, **kwargs).arguments["num_threads"])
            return kernel.correlate_nchw(*args, **kwargs)

    monkeypatch.setattr(_engine, "_kernel", Recorder)
    x = np.ones((1, 4, 256, 256), np.float32)  # enough multiply-adds for a thread team
    w = np.ones((8, 4, 3, 3), np.float32)
    _engine.correlate(x, w, pads=(1, 1, 1, 1), method="direct")
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        _engine.correlate(x, w, pads=(1, 1, 1, 1), method="direct")
    _engine.correlate(x, w, pads=(1, 1, 1, 1), method="direct")
    default = min(_threads.effective_num_threads(), 256)
    assert seen == [default, 1, default]
