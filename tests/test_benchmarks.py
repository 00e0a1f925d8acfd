"""The benchmark script's command line and target bookkeeping (no timing here: see benchmarks/)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_CONV = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_conv.py"


@pytest.fixture(scope="module")
def bench_conv(monkeypatch_module):
    spec = importlib.util.spec_from_file_location("bench_conv", BENCH_CONV)
    module = importlib.util.module_from_spec(spec)
    monkeypatch_module.setitem(sys.modules, "bench_conv", module)  # its dataclasses look it up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monkeypatch_module():
    # bench_conv sets OPENBLAS_THREAD_TIMEOUT on import; keep the test process's environment as it was.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENBLAS_THREAD_TIMEOUT", "4")
        yield mp


def test_help_runs():
    result = subprocess.run([sys.executable, str(BENCH_CONV), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--ref-repeats" in result.stdout and "% columns" in result.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threads", "0"], "--threads must be a positive int"),
        (["--ref-repeats", "2"], "--ref-repeats must be >= 5"),
        (["--shapes", "no-such-shape"], "no-such-shape"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(argv, message):
    result = subprocess.run([sys.executable, str(BENCH_CONV), *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr


def _record(name, frac_matmul, frac_matmul_out, torch_ratio):
    return {
        "shape": {"name": name},
        "frac_matmul": frac_matmul,
        "reference": {"frac_matmul": {"median": frac_matmul}, "frac_matmul_out": {"median": frac_matmul_out}},
        "peers": {"torch": {"median": torch_ratio}},
    }


def test_target_summary_counts_fresh_output_and_lists_out_only_separately(bench_conv):
    records = [
        _record("gray-7x7-d3-reflect", 0.50, 0.85, 4.5),  # matmul met only with out=, torch met
        _record("cnn-batch-3x3-d2", 0.61, 0.66, 1.1),  # matmul met, torch missed
    ]
    summary = bench_conv.target_summary(records)
    assert summary.startswith("Targets met: 2 of 4.")
    assert "Missed: gray-7x7-d3-reflect matmul, cnn-batch-3x3-d2 torch." in summary
    assert "Met with a preallocated out=: gray-7x7-d3-reflect matmul (85%)." in summary


def test_target_cells(bench_conv):
    status = bench_conv.target_status(_record("gray-7x7-d3-reflect", 0.59, 0.7, 4.0))
    assert bench_conv.fmt_target("matmul", status) == "≥60% ✗"
    assert bench_conv.fmt_target("torch", status) == "≥4× ✓"
    assert bench_conv.fmt_target("copy", status) == ""


BENCH_FILTERS = BENCH_CONV.parent / "bench_filters.py"


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_bench_filters_peers_agree_with_imgconv(dtype, capsys, monkeypatch):
    # main() returns 1 when a peer's result differs from imgconv's (1e-4 of the scale):
    # for uint8 every peer must see the image in [0, 1] units, as imgconv.filters does.
    monkeypatch.syspath_prepend(str(BENCH_FILTERS.parent))  # as `python benchmarks/bench_filters.py` has it
    spec = importlib.util.spec_from_file_location("bench_filters", BENCH_FILTERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--size", "96", "--pairs", "1", "--threads", "1", "--dtype", dtype]) == 0
    out = capsys.readouterr().out
    assert f"96x96 {dtype}" in out and "MISMATCH" not in out and "scikit-image" in out
