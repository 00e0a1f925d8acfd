"""imgconv.batch: folders in, mirrored outputs and a manifest out; resumable, safe, parallel.

Oracle: the pipeline called on each image in memory (:meth:`Pipeline.__call__`),
whose own correctness is tested in test_pipeline.py.
"""

import concurrent.futures
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import imgconv
from imgconv import batch
from imgconv.batch import BatchTask, process, process_one
from imgconv.io import ImageReadError, imread, imwrite
from imgconv.pipeline import Pipeline

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imgconv.__file__)))


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


def make_images(folder, rng, n=3, size=(20, 24)):
    """A few small images of several formats, dtypes and channel counts."""
    os.makedirs(folder, exist_ok=True)
    h, w = size
    paths = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            name, image = f"img{i}.png", (rng.random((h, w)) * 255).astype(np.uint8)
        elif kind == 1:
            name, image = f"img{i}.jpg", (rng.random((h, w, 3)) * 255).astype(np.uint8)
        elif kind == 2:
            name, image = f"img{i}.tif", (rng.random((h, w)) * 65535).astype(np.uint16)
        else:
            name, image = f"img{i}.png", (rng.random((h, w, 3)) * 255).astype(np.uint8)
        path = os.path.join(folder, name)
        imwrite(path, image)
        paths.append(path)
    return paths


def records(dst):
    with open(os.path.join(dst, batch.MANIFEST_NAME), encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def visible_files(folder):
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out += [os.path.relpath(os.path.join(root, f), folder) for f in files if not f.startswith(".")]
    return sorted(out)


def hidden_files(folder):
    """Hidden files, and whatever lies in imgconv's temporary folder (its lock file is expected)."""
    out = []
    for _root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".imgconv"]
        out += [f for f in files if f.startswith(".")]
    temporary = os.path.join(folder, ".imgconv", "tmp")
    return out + (os.listdir(temporary) if os.path.isdir(temporary) else [])


def assert_outputs_equal_in_memory(report, pipeline):
    assert report.outputs
    for source, output in report.outputs:
        expected = pipeline(imread(source))
        result = imread(output)
        assert result.dtype == expected.dtype, output
        np.testing.assert_array_equal(result, expected, err_msg=output)


@pytest.fixture
def src(tmp_path, rng):
    folder = tmp_path / "src"
    make_images(folder, rng, n=4)
    return folder


# --------------------------------------------------------------------------------------
# results equal the in-memory pipeline, for every backend
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_results_equal_in_memory(src, tmp_path, backend):
    pipeline = Pipeline.default()
    report = process(src, tmp_path / "out", pipeline, backend=backend, workers=2, progress=False)
    assert (report.done, report.skipped, report.failed) == (4, 0, [])
    assert_outputs_equal_in_memory(report, pipeline)
    assert visible_files(tmp_path / "out") == ["img0.tif", "img1.tif", "img2.tif", "img3.tif", "manifest.jsonl"]
    for record in records(tmp_path / "out"):
        assert record["status"] == "done" and record["fingerprint"] == pipeline.fingerprint()
        assert record["shape"] == [20, 24, 18] and record["dtype"] == "float32" and record["error"] is None


def test_dask_backend(src, tmp_path):
    pytest.importorskip("imgconv.dask")
    pipeline = Pipeline([("gaussian", {"sigma": 1.0})])
    report = process(src, tmp_path / "out", pipeline, backend="dask", workers=2, progress=False, out_format=".npy")
    assert (report.done, report.failed) == (4, [])
    assert_outputs_equal_in_memory(report, pipeline)


def test_out_format_and_dtype_policy(src, tmp_path):
    smooth = Pipeline([("gaussian", {"sigma": 1.0})])
    # default: keep the input's format when it can hold the result (PNG, TIFF); JPEG -> TIFF
    report = process(src, tmp_path / "auto", smooth, progress=False)
    outputs = {os.path.basename(s): os.path.basename(o) for s, o in report.outputs}
    assert outputs == {"img0.png": "img0.png", "img1.jpg": "img1.tif", "img2.tif": "img2.tif", "img3.png": "img3.png"}
    png = imread(tmp_path / "auto" / "img0.png")
    expected = smooth(imread(src / "img0.png"))
    # a smoothed image in [0, 1] keeps its intensities ('clip'), a signed response is 'rescale'd
    assert png.dtype == np.uint8 and 0 <= expected.min() and expected.max() <= 1
    np.testing.assert_array_equal(png, np.rint(expected.astype(np.float64) * 255))
    signed = Pipeline([("sobel_h", {})])
    report = process(src, tmp_path / "signed", signed, progress=False)
    png = imread(tmp_path / "signed" / "img0.png")
    expected = signed(imread(src / "img0.png"))
    assert png.max() == 255 and png.min() == 0 and expected.min() < 0
    low, high = expected.min(), expected.max()
    np.testing.assert_array_equal(png, np.rint((expected.astype(np.float64) - low) / (high - low) * 255))
    assert imread(tmp_path / "auto" / "img2.tif").dtype == np.float32  # 'float' for TIFF
    # explicit format and policy
    report = process(src, tmp_path / "npy", smooth, out_format="npy", progress=False)
    assert all(o.endswith(".npy") for _, o in report.outputs)
    assert_outputs_equal_in_memory(report, smooth)
    report = process(src, tmp_path / "float", smooth, dtype_policy="float", progress=False)
    assert sorted(os.path.basename(o) for _, o in report.outputs) == ["img0.tif", "img1.tif", "img2.tif", "img3.tif"]
    report = process(src, tmp_path / "jpg", smooth, out_format=".jpg", dtype_policy="clip", progress=False)
    assert report.done == 4 and all(o.endswith(".jpg") for _, o in report.outputs)


def test_natural_order_and_plan(tmp_path, rng):
    folder = tmp_path / "src"
    os.makedirs(folder)
    for name in ("img10.png", "img2.png", "img1.png", "Img3.png"):
        imwrite(folder / name, np.zeros((4, 4), np.uint8))
    work = batch.plan(folder, tmp_path / "out")
    assert [t.relative for t in work.tasks] == ["img1.png", "img2.png", "Img3.png", "img10.png"]
    assert not (tmp_path / "out").exists()  # planning writes nothing
    report = process(folder, tmp_path / "out", progress=False)
    assert [os.path.basename(s) for s, _ in report.outputs] == ["img1.png", "img2.png", "Img3.png", "img10.png"]


def test_threads_share_the_cores(src, tmp_path, monkeypatch):
    seen = []
    original = batch.process_one

    def spy(task, pipeline, out_format, dtype_policy, num_threads, **kwargs):
        seen.append(num_threads)
        return original(task, pipeline, out_format, dtype_policy, num_threads, **kwargs)

    monkeypatch.setattr(batch._backends, "process_one", spy)  # where the threads backend finds it
    process(src, tmp_path / "out", workers=2, num_threads=6, progress=False)
    assert seen == [3] * 4
    process(src, tmp_path / "out3", workers=3, num_threads=2, progress=False)
    assert seen[4:] == [1] * 4


def test_submission_window_is_bounded():
    import concurrent.futures

    pulled = []

    def tasks():
        for i in range(50):
            pulled.append(i)
            yield i

    def submit(executor, task):
        return executor.submit(lambda t: t, task)

    yielded = 0
    most = 0
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        for _ in batch._run_pool(executor, submit, tasks(), window=4):
            most = max(most, len(pulled) - yielded)
            yielded += 1
    assert yielded == 50 and most <= 4 + 1  # the window in flight, plus the record being handed over


def test_progress_in_a_log_is_a_line_every_few_seconds(src, tmp_path, capsys, monkeypatch):
    process(src, tmp_path / "out", progress=True)  # stderr is not a terminal here: lines, not a bar
    captured = capsys.readouterr()
    assert captured.out == ""
    last = captured.err.strip().splitlines()[-1]
    assert re.fullmatch(r"imgconv: 4/4 files \(100%\), [0-9.]+ files/s, 0 failed, ETA 0 s", last)
    process(src, tmp_path / "quiet", progress=False)
    assert capsys.readouterr().err == ""
    # one line per interval of the clock, and the last one always
    now = [0.0]
    bar = batch._progress._Progress(10, "lines", clock=lambda: now[0], interval=5.0)
    for i in range(10):
        now[0] = 2.0 * (i + 1)  # a file every 2 s
        bar.update("failed" if i == 3 else "done")
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "imgconv: 3/10 files (30%), 0.5 files/s, 0 failed, ETA 14 s",
        "imgconv: 6/10 files (60%), 0.5 files/s, 1 failed, ETA 8 s",
        "imgconv: 9/10 files (90%), 0.5 files/s, 1 failed, ETA 2 s",
        "imgconv: 10/10 files (100%), 0.5 files/s, 1 failed, ETA 0 s",
    ]
    with pytest.raises(
        ValueError,
        match=r"`progress` must be True, False or one of \['auto', 'bar', 'lines', "
        r"'none'\]; got 'loud'",
    ):
        process(src, tmp_path / "x", progress="loud")


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(messy, tmp_path, monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    process(messy, tmp_path / "out", workers=1)
    text = terminal.getvalue()
    assert "7/7" in text and "file/s" in text and "failed=4" in text
    terminal.truncate(0)
    process(messy, tmp_path / "quiet", progress=False)
    assert terminal.getvalue() == ""


def test_processes_backend_needs_a_picklable_pipeline(src, tmp_path):
    with pytest.raises(TypeError, match=r"`pipeline` must be picklable for backend='processes'"):
        process(src, tmp_path / "out", Pipeline([lambda image: image]), backend="processes")


# --------------------------------------------------------------------------------------
# bad files
# --------------------------------------------------------------------------------------


@pytest.fixture
def messy(tmp_path, rng):
    """Good images mixed with a corrupt PNG, a truncated JPEG, an empty file, a text file named .png,
    a non-image file and a nested sub-folder."""
    folder = tmp_path / "messy"
    make_images(folder, rng, n=2)
    good = folder / "good.png"
    imwrite(good, (rng.random((16, 16)) * 255).astype(np.uint8))
    data = good.read_bytes()
    (folder / "corrupt.png").write_bytes(data[:40] + bytes(len(data) - 40))
    jpeg = folder / "whole.jpg"
    imwrite(jpeg, (rng.random((32, 32, 3)) * 255).astype(np.uint8))
    (folder / "truncated.jpg").write_bytes(jpeg.read_bytes()[: len(jpeg.read_bytes()) // 2])
    jpeg.unlink()
    (folder / "empty.tif").write_bytes(b"")
    (folder / "notes.png").write_text("this is not an image\n")
    (folder / "readme.txt").write_text("ignored: not an image extension\n")
    (folder / ".hidden.png").write_bytes(data)
    make_images(folder / "nested", rng, n=1)
    return folder


def test_bad_files_are_reported_and_skipped(messy, tmp_path):
    pipeline = Pipeline.default()
    report = process(messy, tmp_path / "out", pipeline, progress=False)
    failed = {os.path.basename(p): reason for p, reason in report.failed}
    assert sorted(failed) == ["corrupt.png", "empty.tif", "notes.png", "truncated.jpg"]
    assert report.done == 3  # img0.png, img1.jpg, good.png; nested/ not visited
    assert failed["empty.tif"].startswith("ImageReadError:") and "empty" in failed["empty.tif"]
    assert "not a PNG, JPEG, TIFF, BMP, GIF, WebP or NPY file" in failed["notes.png"]
    for name in ("corrupt.png", "truncated.jpg"):
        assert failed[name].startswith("ImageReadError: cannot read")
    assert_outputs_equal_in_memory(report, pipeline)
    statuses = {os.path.basename(r["input"]): (r["status"], r["error"]) for r in records(tmp_path / "out")}
    assert statuses["notes.png"][0] == "failed" and statuses["notes.png"][1] == failed["notes.png"]
    assert statuses["good.png"] == ("done", None)
    assert "readme.txt" not in statuses and ".hidden.png" not in statuses
    assert report.summary().startswith("3 done, 0 skipped, 4 failed in ")

    recursive = process(messy, tmp_path / "rec", pipeline, recursive=True, progress=False)
    assert recursive.done == 4 and len(recursive.failed) == 4
    assert (tmp_path / "rec" / "nested" / "img0.tif").is_file()

    # a rerun skips the good ones and reports the bad ones again
    again = process(messy, tmp_path / "out", pipeline, progress=False)
    assert (again.done, again.skipped, len(again.failed)) == (0, 3, 4)


def test_on_error_raise(messy, tmp_path):
    with pytest.raises(ImageReadError, match=r"corrupt\.png"):
        process(messy, tmp_path / "out", on_error="raise", workers=1, progress=False)
    last = records(tmp_path / "out")[-1]
    assert last["status"] == "failed" and last["input"].endswith("corrupt.png")


def test_listed_and_globbed_files(messy, tmp_path):
    listed = [messy / "img0.png", messy / "readme.txt", messy / "missing.png", messy / "nested"]
    report = process(listed, tmp_path / "out", progress=False)
    failed = {os.path.basename(p): reason for p, reason in report.failed}
    assert report.done == 1
    assert failed["readme.txt"].startswith("unsupported file extension .txt; supported: .bmp")
    assert failed["missing.png"].startswith("FileNotFoundError")
    assert "is a directory" in failed["nested"]

    globbed = process(str(messy / "*"), tmp_path / "glob", progress=False)
    assert "readme.txt" in {os.path.basename(p) for p, _ in globbed.failed}
    assert globbed.done == 3
    deep = process(str(messy / "**" / "*.png"), tmp_path / "deep", recursive=True, progress=False)
    assert sorted(os.path.relpath(o, tmp_path / "deep") for _, o in deep.outputs) == [
        "good.tif",
        "img0.tif",
        os.path.join("nested", "img0.tif"),
    ]


def test_process_one_records_and_raises(messy, tmp_path):
    pipeline = Pipeline.default()
    task = BatchTask(str(messy / "notes.png"), str(tmp_path / "notes.tif"), "notes.png")
    record = process_one(task, pipeline, None, "auto", 1)
    assert record["status"] == "failed" and record["output"] is None and record["error"].startswith("ImageReadError")
    with pytest.raises(ImageReadError):
        process_one(task, pipeline, None, "auto", 1, raise_errors=True)
    good = BatchTask(str(messy / "good.png"), str(tmp_path / "x" / "good.tif"), "good.png")
    assert pickle.loads(pickle.dumps(good)) == good
    record = process_one(good, pipeline, None, "auto", 1)
    assert record["status"] == "done" and record["output"] == good.output and record["shape"] == [16, 16, 18]


# --------------------------------------------------------------------------------------
# resume, overwrite, interrupted runs
# --------------------------------------------------------------------------------------


def test_resume_and_overwrite(src, tmp_path):
    dst = tmp_path / "out"
    first = process(src, dst, progress=False)
    assert first.done == 4
    second = process(src, dst, progress=False)
    assert (second.done, second.skipped) == (0, 4)
    # a changed input, a deleted output, a changed pipeline: recomputed
    imwrite(src / "img0.png", np.zeros((20, 24), np.uint8))
    os.unlink(dst / "img2.tif")
    third = process(src, dst, progress=False)
    assert (third.done, third.skipped) == (2, 2)
    assert sorted(os.path.basename(s) for s, _ in third.outputs) == ["img0.png", "img1.jpg", "img2.tif", "img3.png"]
    other = Pipeline.from_spec([{"step": "to_gray"}, {"step": "bank", "name": "edges"}])
    assert process(src, dst, other, progress=False).done == 4
    assert process(src, dst, progress=False).done == 4  # the outputs now hold the other pipeline's results
    assert process(src, dst, progress=False, resume=False).done == 4
    assert process(src, dst, progress=False, overwrite=True).done == 4
    assert process(src, dst, progress=False, dtype_policy="rescale").done == 4


def test_truncated_manifest_line_and_stale_temporaries(src, tmp_path):
    dst = tmp_path / "out"
    process(src, dst, progress=False)
    with open(dst / batch.MANIFEST_NAME, "ab") as file:
        file.write(b'{"input": "/cut/short')  # a record cut by a kill
    stale = [dst / ".imgconv" / "tmp" / "0123456789abcdef.part", dst / ".imgconv" / "tmp" / "new\nline"]
    for path in stale:  # what a killed run leaves in imgconv's own temporary folder
        path.write_bytes(b"partial")
    # Files of the user's, even with the names of imgconv 0.1's temporary files, are never removed.
    unrelated = [dst / ".keep.me", dst / ".notes.txt.abcdefgh.txt", dst / ".img0.tif.k2j4x_9q.tif"]
    for path in unrelated:
        path.write_text("not ours")
    report = process(src, dst, progress=False)
    assert report.skipped == 4
    assert not any(path.exists() for path in stale)
    assert all(path.read_text() == "not ours" for path in unrelated)
    assert report.warnings == [
        "manifest line 5 is corrupt (Unterminated string starting at); ignored, its file is recomputed"
    ]
    lines = (dst / batch.MANIFEST_NAME).read_text().splitlines()
    assert lines[4] == '{"input": "/cut/short'
    assert all(json.loads(line)["status"] == "skipped" for line in lines[5:])


def _records_or_partial(dst):
    out = []
    try:
        text = (dst / batch.MANIFEST_NAME).read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def test_resume_after_sigkill(tmp_path, rng, monkeypatch):
    src = tmp_path / "src"
    os.makedirs(src)
    for i in range(30):
        imwrite(src / f"img{i}.png", (rng.random((24, 24)) * 255).astype(np.uint8))
    (tmp_path / "slowstep.py").write_text(
        "import time\n\n\ndef slow(image, delay=0.05):\n    time.sleep(delay)\n    return image\n"
    )
    spec = {
        "version": 1,
        "steps": [
            {"step": "to_float32"},
            {"step": "callable", "function": "slowstep:slow", "kwargs": {"delay": 0.1}},
            {"step": "gaussian", "sigma": 1.0},
        ],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    dst = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), REPO, os.environ.get("PYTHONPATH", "")]))
    command = [
        sys.executable,
        "-m",
        "imgconv.cli",
        "batch",
        str(src),
        str(dst),
        "--pipeline",
        str(tmp_path / "spec.json"),
        "--allow-callables",
        "--workers",
        "2",
        "--quiet",
        "--no-preview",
        "--out-format",
        ".tif",
    ]
    # cwd outside the source tree: `-m` puts the cwd first on sys.path.
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while sum(r["status"] == "done" for r in _records_or_partial(dst)) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the batch did not start"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    first = _records_or_partial(dst)
    assert 3 <= sum(r["status"] == "done" for r in first) < 30

    monkeypatch.syspath_prepend(str(tmp_path))
    pipeline = Pipeline.from_spec(spec, allow_callables=True)
    for name in visible_files(dst):  # whatever is visible is complete
        if name != batch.MANIFEST_NAME:
            np.testing.assert_array_equal(imread(dst / name), pipeline(imread(src / name.replace(".tif", ".png"))))

    rerun = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert hidden_files(dst) == []  # temporary files of the killed run are gone
    assert visible_files(dst) == sorted([f"img{i}.tif" for i in range(30)] + [batch.MANIFEST_NAME])
    done = {}
    for record in _records_or_partial(dst):
        if record["status"] == "done":
            done[record["input"]] = done.get(record["input"], 0) + 1
    assert sorted(done.values()) == [1] * 30  # every input computed exactly once over the two runs
    for i in range(30):
        np.testing.assert_array_equal(imread(dst / f"img{i}.tif"), pipeline(imread(src / f"img{i}.png")))


# --------------------------------------------------------------------------------------
# never write into src, never outside dst
# --------------------------------------------------------------------------------------


def test_dst_equal_to_src_is_refused(src, tmp_path):
    with pytest.raises(ValueError, match=r"`dst` must differ from `src`"):
        process(src, src, progress=False)
    os.symlink(src, tmp_path / "alias")
    with pytest.raises(ValueError, match=r"`dst` must differ from `src`"):
        process(src, tmp_path / "alias", progress=False)
    with pytest.raises(ValueError, match=r"`dst` must differ from `src`"):
        process(str(src / "*.png"), src, progress=False)
    assert sorted(os.listdir(src)) == ["img0.png", "img1.jpg", "img2.tif", "img3.png"]


def test_dst_inside_src_is_not_discovered(src):
    dst = src / "results"
    first = process(src, dst, recursive=True, progress=False)
    assert first.done == 4
    second = process(src, dst, recursive=True, progress=False)
    assert (second.done, second.skipped, second.failed) == (0, 4, [])


def test_outputs_never_land_in_src(tmp_path, rng):
    dst = tmp_path / "out"
    make_images(dst / "in" / "in", rng, n=1)
    report = process(dst / "in", dst, recursive=True, progress=False)
    # in/in/img0.png -> relative in/img0.png -> dst/in/img0.tif, inside the source folder: refused
    assert report.done == 0 and len(report.failed) == 1
    assert "inside the source folder" in report.failed[0][1]


def test_no_escape_through_symlinks(src, tmp_path, rng):
    outside = tmp_path / "outside"
    os.makedirs(outside)
    make_images(src / "sub", rng, n=1)
    dst = tmp_path / "out"
    os.makedirs(dst)
    os.symlink(outside, dst / "sub")  # dst/sub leads out of dst
    os.symlink(outside / "target.tif", dst / "img0.tif")  # so does an existing output name
    report = process(src, dst, recursive=True, progress=False)
    failed = {os.path.relpath(p, src): reason for p, reason in report.failed}
    assert sorted(failed) == ["img0.png", os.path.join("sub", "img0.png")]
    assert all("symbolic link" in reason and "never writes through a link" in reason for reason in failed.values())
    assert os.listdir(outside) == []
    assert report.done == 3


def test_name_collisions_keep_full_names(tmp_path, rng):
    src = tmp_path / "src"
    os.makedirs(src)
    imwrite(src / "a.png", np.zeros((8, 8), np.uint8))
    imwrite(src / "a.jpg", np.zeros((8, 8, 3), np.uint8))
    imwrite(src / "b.png", np.zeros((8, 8), np.uint8))
    report = process(src, tmp_path / "out", progress=False)
    assert sorted(os.path.basename(o) for _, o in report.outputs) == ["a.jpg.tif", "a.png.tif", "b.tif"]


def test_bad_arguments(src, tmp_path):
    with pytest.raises(ValueError, match=r"`backend` must be one of \['dask', 'processes', 'threads'\]; got 'gpu'"):
        process(src, tmp_path / "o", backend="gpu")
    with pytest.raises(ValueError, match=r"`on_error` must be one of \['raise', 'skip'\]; got 'ignore'"):
        process(src, tmp_path / "o", on_error="ignore")
    with pytest.raises(ValueError, match=r"`out_format` must be one of \[.*\] or None; got '.gif'"):
        process(src, tmp_path / "o", out_format=".gif")
    with pytest.raises(
        ValueError, match=r"`dtype_policy` must be one of \['auto', 'clip', 'float', 'float16', 'rescale'\]"
    ):
        process(src, tmp_path / "o", dtype_policy="round")
    with pytest.raises(ValueError, match=r"`workers` must be a positive int; got 0"):
        process(src, tmp_path / "o", workers=0)
    with pytest.raises(ValueError, match=r"`src` must be an existing folder, file or a glob pattern"):
        process(tmp_path / "nope", tmp_path / "o")
    with pytest.raises(ValueError, match=r"step 0 \('gaussian'\): unknown parameter 'sigmaa'"):
        process(src, tmp_path / "o", [{"step": "gaussian", "sigmaa": 1}])
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------
# contact sheet
# --------------------------------------------------------------------------------------


def test_contact_sheet_layout_and_tiles(src, tmp_path):
    report = process(src, tmp_path / "out", progress=False)
    names = Pipeline.default().channel_names()
    sheet = imread(batch.contact_sheet(report.outputs, tmp_path / "sheet.png", names=names, tile=32))
    # 4 images x 3 lines of 6 responses; cells of 32 px tiles + 12 px labels + 4 px gaps
    assert sheet.shape == (4 * 3 * 48 + 4, 7 * 36 + 4, 3) and sheet.dtype == np.uint8
    # The tile of the first response: the 20x24 result itself (it fits in 32 px), its 0.5 and 99.5
    # percentiles to black and white.
    first = imread(report.outputs[0][1])[:, :, 0]
    low, high = np.percentile(first.astype(np.float32), [0.5, 99.5])
    expected = np.rint(np.clip((first - low) / (high - low), 0, 1) * 255).astype(np.uint8)
    x, y = 4 + 36, 4 + 12  # second column, below the label
    np.testing.assert_array_equal(sheet[y : y + 20, x : x + 24, 0], expected)


def test_batch_preview_is_drawn_from_memory(src, tmp_path, monkeypatch):
    import imgconv.io as io_module

    calls = []
    original = io_module.imread

    def counting(path, **kwargs):
        calls.append(os.path.basename(path))
        return original(path, **kwargs)

    monkeypatch.setattr(io_module, "imread", counting)
    report = process(src, tmp_path / "out", preview=True, progress=False)
    assert sorted(calls) == sorted(os.listdir(src))  # each input read once, no output read back
    monkeypatch.setattr(io_module, "imread", original)
    from_disk = batch.render_contact_sheet(report.outputs, names=Pipeline.default().channel_names())
    np.testing.assert_array_equal(imread(report.preview), from_disk)


def test_tasks_finishing_together_are_reported_in_submission_order():
    # With on_error='raise' the error raised must be the earliest failing file's: futures that
    # complete together come out in the order their tasks were submitted, not in set order.
    futures = [concurrent.futures.Future() for _ in range(64)]
    for i, future in enumerate(futures):
        future.set_result(i)
    handed_out = iter(np.random.default_rng(3).permutation(64).tolist())
    yielded = [
        task
        for task, _ in batch._run_pool(
            None, lambda executor, task: futures[next(handed_out)], list(range(64)), window=64
        )
    ]
    assert yielded == list(range(64))
