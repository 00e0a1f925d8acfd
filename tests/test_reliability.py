"""The promises of imgconv about files, each a test a user can read.

1. Inputs are never modified, overwritten or deleted: by any entry point that
   writes (``batch``, ``filter`` and ``--preview``, ``process_large``,
   ``imwrite``), with any SRC form and any option.  Every test hashes the
   inputs before and after.
2. Nothing is written outside the destination or through a link imgconv did
   not create; imgconv's own files (temporaries, lock) live in ``dst/.imgconv``.
3. One bad file, a bad manifest line or a walk problem never stops a run and
   is never silently skipped; a killed run reruns to every input done once.
4. Bad input gets one line and exit 2 from the CLI, never a traceback.

Oracle: file hashes and listings taken by the test itself, and the pipeline
applied in memory.
"""

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import imgconv
from imgconv import batch
from imgconv._output import Destination, DestinationBusyError, UnsafePathError
from imgconv.batch import process
from imgconv.cli import main
from imgconv.io import imread, imwrite
from imgconv.pipeline import Pipeline

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imgconv.__file__)))
POSIX = os.name == "posix"
GAUSSIAN = [{"step": "gaussian", "sigma": 1}]  # one channel in, one out: fits PNG
posix_only = pytest.mark.skipif(not POSIX, reason="symbolic links, FIFOs and byte file names are POSIX")


def tree_hashes(folder):
    """{relative path: sha256 or link target} of everything under `folder` (links not followed)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            key = os.path.relpath(path, folder)
            if os.path.islink(path):
                out[key] = "link -> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as file:
                    out[key] = hashlib.sha256(file.read()).hexdigest()
    return out


def make_inputs(folder, rng, names=("a.png", "b.tif", "c.jpg")):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        image = (
            (rng.random((12, 10, 3)) * 255).astype(np.uint8)
            if name.endswith(".jpg")
            else (rng.random((12, 10)) * 255).astype(np.uint8)
        )
        imwrite(os.path.join(folder, name), image)
    return folder


def cli(capsys, *args):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------------------
# 1. inputs are never written
# --------------------------------------------------------------------------------------


def test_listed_input_inside_dst_is_never_overwritten(tmp_path, rng, capsys):
    # imgconv batch in/a.tif in/out/a.tif in/out: the output of in/a.tif is in/out/a.tif, a listed input.
    inputs = tmp_path / "in"
    make_inputs(inputs, rng, names=("a.tif",))
    make_inputs(inputs / "out", rng, names=("a.tif",))
    before = tree_hashes(inputs)
    status, _, err = cli(
        capsys, "batch", inputs / "a.tif", inputs / "out" / "a.tif", inputs / "out", "--no-preview", "--quiet"
    )
    assert status == 1
    assert "is an input of this run; imgconv never overwrites its inputs" in err
    after = tree_hashes(inputs)
    assert {k: v for k, v in after.items() if k in before} == before


@pytest.mark.parametrize("form", ["folder", "glob", "list", "file"])
def test_every_src_form_leaves_inputs_untouched(tmp_path, rng, form):
    src = make_inputs(tmp_path / "src", rng)
    before = tree_hashes(src)
    source = {"folder": src, "glob": str(src / "*"), "list": sorted(src.iterdir()), "file": src / "a.png"}[form]
    for options in ({}, {"overwrite": True}, {"out_format": ".png", "preview": True}, {"dtype_policy": "clip"}):
        process(source, tmp_path / "out", progress=False, **options)
    assert tree_hashes(src) == before


def test_dst_inside_src_with_overwrite_keeps_the_inputs(tmp_path, rng):
    src = make_inputs(tmp_path / "src", rng)
    before = tree_hashes(src)
    for _ in range(2):
        report = process(src, src / "out", recursive=True, overwrite=True, preview=True, progress=False)
        assert (report.done, report.failed) == (3, [])
    after = tree_hashes(src)
    assert {k: v for k, v in after.items() if not k.startswith("out")} == before


def test_process_large_never_deletes_the_source_folder(tmp_path, rng):
    pytest.importorskip("zarr")
    from imgconv.dask import process_large

    scans = tmp_path / "scans"
    os.makedirs(scans)
    imwrite(scans / "scene.tif", rng.random((40, 30)).astype(np.float32), dtype_policy="float")
    (scans / "notes.txt").write_text("field notes")
    before = tree_hashes(scans)
    kernel = np.ones((3, 3)) / 9
    with pytest.raises(UnsafePathError, match=r"must neither be, hold nor lie inside the source"):
        process_large(str(scans / "scene.tif"), str(scans), kernel, overwrite=True)
    assert tree_hashes(scans) == before
    other = tmp_path / "other"  # a folder with the user's data, not a store of imgconv's
    os.makedirs(other)
    (other / "keep.txt").write_text("mine")
    with pytest.raises(UnsafePathError, match=r"holds data imgconv did not write"):
        process_large(str(scans / "scene.tif"), str(other), kernel, overwrite=True)
    assert (other / "keep.txt").read_text() == "mine"


def test_process_large_zarr_src_equal_to_dst_is_refused(tmp_path, rng):
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    from imgconv.dask import process_large

    data = rng.random((32, 32)).astype(np.float32)
    kernel = np.ones((3, 3)) / 9
    first = process_large(da.from_array(data), str(tmp_path / "a.zarr"), kernel, tile=16)  # imgconv's store
    stored = np.asarray(first[:])
    for src in (str(tmp_path / "a.zarr"), zarr.open_group(str(tmp_path / "a.zarr"), mode="r")["0"]):
        with pytest.raises(UnsafePathError, match=r"never overwrites its input"):
            process_large(src, str(tmp_path / "a.zarr"), kernel, overwrite=True, tile=16)
        np.testing.assert_array_equal(zarr.open_group(str(tmp_path / "a.zarr"), mode="r")["0"][:], stored)


def test_process_large_overwrite_replaces_its_own_store_atomically(tmp_path, rng):
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    from scipy import ndimage

    from imgconv.dask import process_large

    data = da.from_array(rng.random((32, 32)))
    dst = str(tmp_path / "r.zarr")
    process_large(data, dst, np.ones((3, 3)) / 9, tile=16)
    with pytest.raises(FileExistsError, match=r"pass overwrite=True"):
        process_large(data, dst, np.eye(3), tile=16)

    def boom(block):
        raise RuntimeError("tile failed")

    with pytest.raises(RuntimeError, match="tile failed"):
        process_large(data, dst, boom, halo=0, tile=16, overwrite=True)
    np.testing.assert_allclose(
        np.asarray(zarr.open_group(dst, mode="r")["0"][:]),
        ndimage.correlate(data.compute(), np.ones((3, 3)) / 9, mode="reflect"),
        rtol=1e-12,
    )
    result = process_large(data, dst, np.eye(3), tile=16, overwrite=True)
    np.testing.assert_allclose(
        np.asarray(result[:]), ndimage.correlate(data.compute(), np.eye(3), mode="reflect"), rtol=1e-12
    )
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []  # no temporary store left


def test_filter_preview_never_replaces_input_or_result(tmp_path, rng, capsys):
    src = make_inputs(tmp_path / "src", rng, names=("in.png",))
    before = tree_hashes(src)
    out = tmp_path / "out.tif"
    status, _, err = cli(capsys, "filter", src / "in.png", out, "--preview", src / "in.png")
    assert status == 2 and "is an input of this run" in assert_one_line_error(err)
    status, _, err = cli(capsys, "filter", src / "in.png", out, "--preview", out)
    assert status == 2
    assert_one_line_error(err)
    status, _, err = cli(capsys, "filter", src / "in.png", src / "in.png")
    assert status == 2 and "is an input of this run" in assert_one_line_error(err)
    assert tree_hashes(src) == before
    assert not out.exists()


@posix_only
def test_links_in_dst_are_never_written_through(tmp_path, rng, capsys):
    src = make_inputs(tmp_path / "src", rng)
    before = tree_hashes(src)
    outside = tmp_path / "outside.png"
    imwrite(outside, np.zeros((4, 4), np.uint8))
    outside_hash = tree_hashes(tmp_path)["outside.png"]
    dst = tmp_path / "out"
    os.makedirs(dst)
    os.symlink(outside, dst / "preview.png")
    status, _, err = cli(capsys, "batch", src, dst, "--quiet")
    assert status == 2 and "preview" in assert_one_line_error(err) and "symbolic link" in err
    os.unlink(dst / "preview.png")
    os.symlink(src / "a.png", dst / "manifest.jsonl")  # appending would corrupt an input
    status, _, err = cli(capsys, "batch", src, dst, "--quiet")
    assert status == 2 and "manifest" in assert_one_line_error(err) and "symbolic link" in err
    assert tree_hashes(src) == before
    assert tree_hashes(tmp_path)["outside.png"] == outside_hash


@posix_only
def test_imwrite_refuses_links_and_special_files(tmp_path):
    target = tmp_path / "target.png"
    imwrite(target, np.zeros((2, 2), np.uint8))
    os.symlink(target, tmp_path / "link.png")
    with pytest.raises(UnsafePathError, match=r"symbolic link"):
        imwrite(tmp_path / "link.png", np.ones((2, 2), np.uint8))
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(UnsafePathError, match=r"not a regular file"):
        imwrite(tmp_path / "pipe.png", np.ones((2, 2), np.uint8))
    np.testing.assert_array_equal(imread(target), np.zeros((2, 2), np.uint8))


def test_output_named_like_an_old_temporary_survives_reruns(tmp_path, rng):
    # imgconv 0.1 deleted '.<name>.<8 characters><ext>' files as its own stale temporaries.
    src = tmp_path / "src"
    os.makedirs(src)
    imwrite(src / "x.png.abcdefgh.png", np.full((6, 6), 7, np.uint8))
    dst = tmp_path / "out"
    assert process([src / "x.png.abcdefgh.png"], dst, GAUSSIAN, out_format=".png", progress=False).done == 1
    (dst / ".x.png.abcdefgh.png").write_bytes(b"a user's hidden file")
    report = process([src / "x.png.abcdefgh.png"], dst, GAUSSIAN, out_format=".png", progress=False)
    assert report.skipped == 1
    assert (dst / ".x.png.abcdefgh.png").read_bytes() == b"a user's hidden file"
    assert (dst / "x.png.abcdefgh.png").exists()


# --------------------------------------------------------------------------------------
# 2. one writer's rules
# --------------------------------------------------------------------------------------


def test_destination_rules(tmp_path):
    root = tmp_path / "dst"
    source = tmp_path / "src"
    os.makedirs(source)
    (source / "in.png").write_bytes(b"x")
    os.link(source / "in.png", tmp_path / "hardlink.png")
    destination = Destination(root, protect=[source / "in.png"], source_folders=[source])
    assert destination.check(root / "a" / "b.tif") == str(root / "a" / "b.tif")
    for path, message in [
        (tmp_path / "elsewhere.tif", "outside the destination"),
        (root / ".imgconv" / "x.tif", "the folder imgconv keeps for itself"),
        (root, "outside the destination"),
    ]:
        with pytest.raises(UnsafePathError, match=message):
            destination.check(path)
    loose = Destination(None, protect=[source / "in.png"], source_folders=[source])
    with pytest.raises(UnsafePathError, match="is an input of this run"):
        loose.check(tmp_path / "hardlink.png")  # the same file under another name
    with pytest.raises(UnsafePathError, match="inside the source folder"):
        loose.check(source / "new.png")


def test_temporary_names_fit_any_name_length(tmp_path, rng):
    name = "n" * 246 + ".png"  # 250 characters: within the usual 255-byte limit
    src = tmp_path / "src"
    os.makedirs(src)
    imwrite(src / name, np.full((5, 5), 3, np.uint8))
    report = process(src, tmp_path / "out", GAUSSIAN, out_format=".png", progress=False)
    assert (report.done, report.failed) == (1, [])
    imwrite(tmp_path / name, np.full((5, 5), 4, np.uint8))  # the standalone writer too
    np.testing.assert_array_equal(imread(tmp_path / name), np.full((5, 5), 4, np.uint8))


def test_second_run_on_the_same_dst_is_refused(tmp_path, rng, capsys):
    src = make_inputs(tmp_path / "src", rng)
    dst = tmp_path / "out"
    process(src, dst, progress=False)
    with Destination(dst).lock():
        with pytest.raises(DestinationBusyError, match=r"in use by another imgconv run \(pid \d+\)"):
            process(src, dst, progress=False, overwrite=True)
        status, _, err = cli(capsys, "batch", src, dst, "--overwrite")
        assert status == 2 and "in use by another imgconv run" in assert_one_line_error(err)
    assert process(src, dst, progress=False).skipped == 3  # free again afterwards


def test_case_distinct_names_on_a_case_sensitive_file_system(tmp_path):
    src = tmp_path / "src"
    os.makedirs(src)
    imwrite(src / "A.tif", np.full((4, 4), 1, np.uint8))
    imwrite(src / "a.tif", np.full((4, 4), 2, np.uint8))
    if len(os.listdir(src)) == 1:
        pytest.skip("this file system folds case: the two names are one file")
    report = process(src, tmp_path / "out", GAUSSIAN, progress=False)
    assert (report.done, report.failed) == (2, [])
    np.testing.assert_allclose(imread(tmp_path / "out" / "A.tif"), 1 / 255, rtol=1e-6)
    np.testing.assert_allclose(imread(tmp_path / "out" / "a.tif"), 2 / 255, rtol=1e-6)


def test_a_file_listed_twice_is_processed_once(tmp_path, rng):
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))
    report = process([src / "a.png", src / "a.png", str(src / "." / "a.png")], tmp_path / "out", progress=False)
    assert (report.done, report.failed) == (1, [])


def test_run_ids_are_distinct(tmp_path, rng):
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))
    for _ in range(3):
        process(src, tmp_path / "out", overwrite=True, progress=False)
    with open(tmp_path / "out" / batch.MANIFEST_NAME) as file:
        runs = [json.loads(line)["run"] for line in file]
    assert len(set(runs)) == 3
    assert all(run[19] == "." and run.endswith(f"-{os.getpid()}") for run in runs)


# --------------------------------------------------------------------------------------
# 3. problems are reported, never fatal, never silent
# --------------------------------------------------------------------------------------


@posix_only
def test_walk_problems_are_reported(tmp_path, rng, monkeypatch):
    src = make_inputs(tmp_path / "src", rng, names=("good.png",))
    os.symlink(tmp_path / "missing.png", src / "dangling.png")
    os.symlink(src / "loop.tif", src / "loop.tif")
    os.mkfifo(src / "pipe.tif")
    os.makedirs(src / "locked")
    make_inputs(src / "locked", rng, names=("hidden.png",))
    real_scandir = os.scandir

    def scandir(path="."):  # root reads every folder: refuse this one as a permission error would
        if os.fspath(path) == str(src / "locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = process(src, tmp_path / "out", recursive=True, progress=False)
    failed = {os.path.relpath(p, src): reason for p, reason in report.failed}
    assert report.done == 1
    assert failed == {
        "dangling.png": "dangling symbolic link (its target does not exist)",
        "loop.tif": "symbolic link loop",
        "pipe.tif": "not a regular file (FIFO)",
        "locked": failed["locked"],
    }
    assert failed["locked"].startswith("cannot list the folder: PermissionError")
    with open(tmp_path / "out" / batch.MANIFEST_NAME) as file:
        assert sum(json.loads(line)["status"] == "failed" for line in file) == 4


@posix_only
def test_fifo_in_a_file_list_does_not_block(tmp_path, rng):
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))
    os.mkfifo(src / "b.tif")
    report = process([src / "a.png", src / "b.tif"], tmp_path / "out", progress=False)
    assert report.done == 1 and report.failed == [(str(src / "b.tif"), "not a regular file (FIFO)")]


@posix_only
def test_file_names_that_are_not_utf8(tmp_path, rng, capsys):
    src = tmp_path / "src"
    os.makedirs(src)
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not valid UTF-8
    imwrite(os.path.join(src, name), np.full((6, 6), 9, np.uint8))
    dst = tmp_path / "out"
    status, out, err = cli(capsys, "batch", src, dst, "--filter", "gaussian", "--out-format", ".png")
    assert status == 0, err
    assert "1 done" in out and err == "imgconv: 1/1 files (100%), " + err.split(", ", 1)[1]  # progress only
    assert err.endswith(", 0 failed, ETA 0 s\n")
    with open(dst / batch.MANIFEST_NAME, encoding="ascii") as file:  # escaped: plain ASCII JSON
        record = json.loads(file.readline())
    assert record["input"] == os.path.join(str(src), name)
    assert os.fsencode(record["output"]) == os.fsencode(str(dst)) + b"/caf\xe9.png"
    status, out, _ = cli(capsys, "batch", src, dst, "--filter", "gaussian", "--out-format", ".png")
    assert status == 0 and "1 skipped" in out


@pytest.mark.parametrize(
    "garbage",
    [
        b'{"input": "caf\xc3\n',  # cut inside a UTF-8 character
        b"[" * 100_000 + b"\n",  # nested deeper than the parser's stack
        b'{"input_size": ' + b"9" * 5000 + b"}\n",  # longer than int() converts
        b"\xff\xfe not text at all\n",
        b"[1, 2, 3]\n",  # JSON, but not a record
    ],
)
def test_corrupt_manifest_lines_never_stop_a_resume(tmp_path, rng, garbage):
    src = make_inputs(tmp_path / "src", rng)
    dst = tmp_path / "out"
    process(src, dst, progress=False)
    path = dst / batch.MANIFEST_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + garbage + b"".join(lines[2:]))  # the second record replaced by garbage
    report = process(src, dst, progress=False)
    assert (report.done, report.skipped, report.failed) == (1, 2, [])  # its file recomputed
    assert len(report.warnings) == 1 and report.warnings[0].startswith("manifest line 2 ")


def test_full_disk_is_one_error_with_the_done_files_intact(tmp_path, rng, monkeypatch, capsys):
    src = make_inputs(tmp_path / "src", rng, names=("a.png", "b.png", "c.png", "d.png"))
    dst = tmp_path / "out"
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(descriptor):  # the manifest's third record finds the disk full
        if os.path.basename(os.readlink(f"/proc/self/fd/{descriptor}")) == batch.MANIFEST_NAME:
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(descriptor)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell the manifest's descriptor")
    monkeypatch.setattr(os, "fsync", fsync)
    status, _, err = cli(capsys, "batch", src, dst, "--workers", "1", "--no-preview", "--quiet")
    assert status == 1
    assert "No space left on device" in assert_one_line_error(err)
    monkeypatch.setattr(os, "fsync", real_fsync)
    report = process(src, dst, workers=1, progress=False)  # the rerun finishes the rest
    assert report.done + report.skipped == 4 and report.skipped >= 2 and report.failed == []
    pipeline = Pipeline.default()
    for source, output in report.outputs:
        np.testing.assert_array_equal(imread(output), pipeline(imread(source)))


def test_sigkill_at_random_moments_then_rerun(tmp_path, rng):
    src = tmp_path / "src"
    os.makedirs(src)
    for i in range(12):
        imwrite(src / f"img{i}.png", (rng.random((64, 64)) * 255).astype(np.uint8))
    dst = tmp_path / "out"
    command = [sys.executable, "-m", "imgconv.cli", "batch", str(src), str(dst), "--workers", "2", "--quiet"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    chooser = random.Random(11)
    for _ in range(4):
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chooser.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    records = []
    with open(dst / batch.MANIFEST_NAME, "rb") as file:
        for line in file:
            try:
                records.append(json.loads(line))
            except ValueError:
                pass  # a line cut by a kill
    done = {}
    for record in records:
        if record["status"] == "done":
            done[record["output"]] = done.get(record["output"], 0) + 1
    assert sorted(os.path.basename(p) for p in done) == sorted(f"img{i}.tif" for i in range(12))
    assert os.listdir(dst / ".imgconv" / "tmp") == []
    pipeline = Pipeline.default()
    for i in range(12):  # every output complete and right, whichever run wrote it
        np.testing.assert_array_equal(imread(dst / f"img{i}.tif"), pipeline(imread(src / f"img{i}.png")))


# --------------------------------------------------------------------------------------
# 4. bad input from the shell: one line, exit 2
# --------------------------------------------------------------------------------------


def test_uncreatable_dst_is_a_usage_error(tmp_path, rng, capsys):
    src = make_inputs(tmp_path / "src", rng)
    (tmp_path / "file.txt").write_text("a file, not a folder")
    status, _, err = cli(capsys, "batch", src, tmp_path / "file.txt" / "out")
    assert status == 2
    assert "`dst`" in assert_one_line_error(err)


def test_pattern_matching_nothing_is_a_usage_error(tmp_path, rng, capsys):
    src = make_inputs(tmp_path / "src", rng)
    status, _, err = cli(capsys, "batch", src, tmp_path / "out", "--pattern", "*.nothing")
    assert status == 2 and "no image files found" in assert_one_line_error(err)
    assert not (tmp_path / "out").exists()
    status, out, _ = cli(capsys, "batch", src, tmp_path / "out", "--pattern", "*.nothing", "--allow-empty")
    assert status == 0 and out.startswith("0 done, 0 skipped, 0 failed")


def test_missing_filter_input_is_a_usage_error(tmp_path, capsys):
    status, _, err = cli(capsys, "filter", tmp_path / "missing.png", tmp_path / "out.tif")
    assert status == 2 and "does not exist" in assert_one_line_error(err)


def test_unreachable_scheduler_is_one_line(tmp_path, rng, capsys, monkeypatch):
    dask_module = pytest.importorskip("imgconv.dask")
    monkeypatch.setattr(dask_module._tasks, "_CONNECT_TIMEOUT", 2)
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))
    status, _, err = cli(capsys, "batch", src, tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert status == 2
    assert "cannot reach the dask scheduler" in assert_one_line_error(err)


def test_an_unexpected_error_is_one_line(tmp_path, rng, capsys, monkeypatch):
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))

    def broken(*args, **kwargs):
        raise RuntimeError("something imgconv did not foresee")

    monkeypatch.setattr(batch, "process", broken)
    status, _, err = cli(capsys, "batch", src, tmp_path / "out")
    assert status == 1
    assert "RuntimeError: something imgconv did not foresee" in assert_one_line_error(err)


@posix_only
def test_explain_png_never_writes_through_a_link(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "precious.png"
    target.write_bytes(b"the user's picture")
    os.symlink(target, tmp_path / "taps.png")
    status, _, err = cli(capsys, "explain", "3", "--dilation", "2", "--png", tmp_path / "taps.png")
    assert status == 2 and "symbolic link" in assert_one_line_error(err)
    assert target.read_bytes() == b"the user's picture"


@posix_only
def test_to_spec_never_writes_through_a_link(tmp_path):
    target = tmp_path / "input.json"
    target.write_text("the user's own file")
    os.symlink(target, tmp_path / "spec.json")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        Pipeline.default().to_spec(tmp_path / "spec.json")
    assert target.read_text() == "the user's own file"
    Pipeline.default().to_spec(tmp_path / "new.json")
    assert Pipeline.from_spec(tmp_path / "new.json").fingerprint() == Pipeline.default().fingerprint()


@pytest.mark.parametrize(
    "spec_bytes, message",
    [
        (b"[" * 100_000, "nest"),
        (b'{"version": 1, "steps": [{"step": "gaussian", "sigma": ' + b"9" * 4000 + b"}]}", "beyond the float range"),
        (b'{"version": 1, "steps": [{"step": "gaussian", "sigma": 1e9}]}', "sigma"),
        (b'{"version": 1, "steps": [{"step": "bank", "name": "gabor", "frequency": 1e-9}]}', "frequency"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"", "empty"),
    ],
)
def test_hostile_spec_files_are_one_line_and_exit_2(tmp_path, rng, capsys, spec_bytes, message):
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))
    (tmp_path / "spec.json").write_bytes(spec_bytes)
    status, _, err = cli(capsys, "batch", src, tmp_path / "out", "--pipeline", tmp_path / "spec.json")
    assert status == 2
    line = assert_one_line_error(err)
    assert message.lower() in line.lower()
    assert not (tmp_path / "out").exists()


def test_missing_output_folder_is_named_not_a_temporary(tmp_path, rng, capsys):
    src = make_inputs(tmp_path / "src", rng, names=("a.png",))
    status, _, err = cli(capsys, "filter", src / "a.png", tmp_path / "missing" / "out.tif")
    line = assert_one_line_error(err)
    assert status == 1 and "the folder" in line and "missing' does not exist" in line and ".part" not in line
