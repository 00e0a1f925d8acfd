"""The examples in imgconv's docstrings run, against the installed package.

Every module of the imported ``imgconv`` package (``pkgutil.walk_packages`` over
``imgconv.__path__``, so the installed copy with its compiled kernels, not the
source tree) is one test; each of its docstring examples runs with ``ELLIPSIS``
and ``NORMALIZE_WHITESPACE``, in a fresh temporary working directory (examples
may write files).  No module is left out silently: one whose optional dependency
is missing is skipped with the dependency's name, and ``imgconv.__main__``
(importing it runs the command line) is skipped with that reason.

``pytest tests/test_doctests.py -v`` lists the modules; the summary test at the
end states how many examples ran.
"""

import ast
import doctest
import importlib
import importlib.util
import inspect
import pkgutil

import pytest

import imgconv

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: Modules that must not be imported to be tested, and why.
NOT_IMPORTED = {"imgconv.__main__": "importing it runs the imgconv command line (`python -m imgconv`)"}

_unwalkable = []  # packages walk_packages could not import (it would skip their modules silently)
MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(imgconv.__path__, prefix="imgconv.", onerror=_unwalkable.append)
)
_ran = {}  # module name -> examples run


def _unrunnable_kernel_build(name):
    """Why the compiled kernel module `name` cannot be imported on this CPU, or None.

    Each ``imgconv._conv_<path>_cy`` is compiled for one instruction set; importing
    the AVX-512 build on a CPU without AVX-512 stops the interpreter (SIGILL), which
    is why :mod:`imgconv._dispatch` asks the baseline build's ``cpu_has`` first.
    """
    prefix, suffix = "imgconv._conv_", "_cy"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    path = name[len(prefix) : -len(suffix)]
    if path == "baseline" or importlib.import_module("imgconv._conv_baseline_cy").cpu_has(path):
        return None
    return f"this CPU cannot run the {path} kernel build (imgconv._dispatch never loads it here)"


def _import(name):
    """Import `name`; skip (with the dependency's name) only when an optional, non-imgconv module is missing."""
    reason = _unrunnable_kernel_build(name)
    if reason is not None:
        _ran[name] = 0  # accounted for (its source is the baseline build's, tested): the summary still runs
        pytest.skip(f"{name}: {reason}")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == "imgconv":
            raise
        pytest.skip(f"{name} needs the optional dependency {exc.name!r}: {exc}")


def _examples_in_source(module_name):
    """Examples in a module's source text, counted without importing it."""
    path = importlib.util.find_spec(module_name).origin
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    parser = doctest.DocTestParser()
    return sum(len(parser.get_examples(ast.get_docstring(n) or "")) for n in nodes)


def test_every_module_is_listed():
    assert not _unwalkable, f"these packages failed to import: {_unwalkable}"
    assert "imgconv.filters" in MODULES and "imgconv.batch" in MODULES
    assert any(name.startswith("imgconv._conv_") for name in MODULES), "the compiled kernels are not installed"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    if name in NOT_IMPORTED:
        assert _examples_in_source(name) == 0, f"{name} has examples that this test cannot run"
        pytest.skip(f"{name}: {NOT_IMPORTED[name]}")
    module = _import(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    if inspect.getsourcefile(module) is None and not tests:  # a compiled module without examples
        _ran[name] = 0
        return
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    report = []
    for test in sorted(tests, key=lambda t: t.name):
        workdir = tmp_path / test.name
        workdir.mkdir()
        monkeypatch.chdir(workdir)
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    _ran[name] = results.attempted
    assert results.failed == 0, "".join(report)


def test_summary_of_examples_run():
    """Runs last (pytest keeps file order): how many examples ran, printed with -s / -rP."""
    if len(_ran) < len(MODULES) - len(NOT_IMPORTED):
        pytest.skip("not every module's test ran in this session (-k, -x or a failure)")
    total = sum(_ran.values())
    print(f"{total} docstring examples ran in {sum(1 for n in _ran.values() if n)} modules")
    assert total > 0
