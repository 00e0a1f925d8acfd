"""The ``imgconv`` command line: exit statuses, dry runs, help, subcommands.

Run in-process through :func:`imgconv.cli.main`; one test runs ``python -m imgconv.cli``.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import imgconv
from imgconv.cli import main
from imgconv.io import imread, imwrite
from imgconv.pipeline import Pipeline

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imgconv.__file__)))


@pytest.fixture
def src(tmp_path, rng):
    folder = tmp_path / "src"
    os.makedirs(folder)
    imwrite(folder / "a.png", (rng.random((20, 16, 3)) * 255).astype(np.uint8))
    imwrite(folder / "b.tif", (rng.random((18, 22)) * 65535).astype(np.uint16))
    imwrite(folder / "c.jpg", (rng.random((16, 16, 3)) * 255).astype(np.uint8))
    return folder


def test_batch_default_pipeline_exit_0(src, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["batch", str(src), str(dst)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1  # the one-line summary
    assert out[0].startswith("3 done, 0 skipped, 0 failed in ") and out[0].endswith(f"\u2192 {dst}{os.sep}")
    assert sorted(os.listdir(dst)) == [".imgconv", "a.tif", "b.tif", "c.tif", "manifest.jsonl", "preview.png"]
    pipeline = Pipeline.default()
    for name, source in (("a.tif", "a.png"), ("b.tif", "b.tif"), ("c.tif", "c.jpg")):
        np.testing.assert_array_equal(imread(dst / name), pipeline(imread(src / source)))
    assert imread(dst / "preview.png").ndim == 3
    # a rerun skips everything; --no-preview writes none
    os.unlink(dst / "preview.png")
    assert main(["batch", str(src), str(dst), "--no-preview"]) == 0
    assert capsys.readouterr().out.startswith("0 done, 3 skipped, 0 failed")
    assert not (dst / "preview.png").exists()
    assert main(["batch", str(src), str(dst), "--preview", str(tmp_path / "sheet.png")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"preview: {tmp_path / 'sheet.png'}"
    assert main(["batch", str(src), str(dst), "--preview", str(src / "sheet.png")]) == 2
    assert "lies inside the source folder" in capsys.readouterr().err
    assert not (src / "sheet.png").exists()


def test_batch_some_failed_exit_1(src, tmp_path, capsys):
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30))
    assert main(["batch", str(src), str(tmp_path / "out"), "--no-preview", "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("3 done, 0 skipped, 1 failed in ")
    assert f"failed: {src / 'broken.png'}: ImageReadError: cannot read" in captured.err
    assert (
        main(["batch", str(src), str(tmp_path / "out2"), "--no-preview", "--on-error", "raise", "--workers", "1"]) == 1
    )
    assert "stopped at the first failure (--on-error raise): ImageReadError" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["batch", "{src}", "{src}"], "`dst` must differ from `src`"),
        (
            ["batch", "{src}", "{out}", "--filter", "gaussian", "--param", "sigmaa=2"],
            "step 0 ('gaussian'): unknown parameter 'sigmaa' (did you mean 'sigma'?); valid: [",
        ),
        (["batch", "{src}", "{out}", "--pipeline", "{spec}"], "step 1 ('sobel'): unknown parameter 'moode'"),
        (["batch", "{src}", "{out}", "--pipeline", "{missing}"], "cannot read the spec"),
        (["batch", "{tmp}/nothing", "{out}"], "`src` must be an existing folder, file or a glob pattern"),
        (["batch", "{src}", "{out}", "--dilation", "2"], "need --filter or --bank"),
        (["batch", "{src}", "{out}", "--bank", "edges", "--mode", "zeros"], "step 0 ('bank'): `mode` must be one of"),
        (["batch", "{src}", "{out}", "--out-format", "gif"], "`out_format` must be one of"),
        (
            ["batch", "{src}", "{out}", "--scheduler", "tcp://x:1", "--backend", "threads"],
            "--scheduler goes with --backend dask",
        ),
        (["filter", "{src}/a.png", "{out}.gif"], "OUT: `out_format` must be one of"),
        (["explain", "--layers", "3q2"], "--layers item 0 must look like K[xK][dD][sS][pP]"),
        (["steps", "gausian"], "unknown step 'gausian' (did you mean 'gaussian'?)"),
        # num_sigma's default, one scale per power of 2, would be a 1001-scale stack (4 GB for a 512² image)
        (
            ["batch", "{src}", "{out}", "--filter", "multiscale_basic_features", "--param", "sigma_min=1e-300"],
            "`sigma_min` and `sigma_max` give 1001 scales (one per power of 2 between them); the step computes "
            "at most 64",
        ),
    ],
)
def test_usage_errors_exit_2(src, tmp_path, capsys, args, message):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"version": 1, "steps": [{"step": "abs"}, {"step": "sobel", "moode": "wrap"}]}))
    values = {"src": src, "out": tmp_path / "out", "spec": spec, "missing": tmp_path / "missing.json", "tmp": tmp_path}
    assert main([a.format(**values) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imgconv: error: ") and message in err
    assert not (tmp_path / "out").exists()


def test_argparse_errors_exit_2(capsys):
    assert main(["batch"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["batch", "a", "b", "--workers", "0"]) == 2
    assert main(["batch", "a", "b", "--filter", "sobel", "--bank", "edges"]) == 2
    assert "usage: imgconv" in capsys.readouterr().err


def test_dry_run_writes_nothing(src, tmp_path, capsys):
    dst = tmp_path / "out"
    (src / "notes.txt").write_text("ignored")
    assert main(["batch", str(src), str(dst), "--dry-run", "--filter", "gaussian", "--param", "sigma=2"]) == 0
    out = capsys.readouterr().out
    assert not dst.exists()
    assert "0: Step('gaussian', sigma=2)" in out and "receptive field (halo per side, (h, w)): (8, 8)" in out
    assert f"{src / 'a.png'} -> {dst / 'a.png'} (or {dst / 'a.tif'} if the result does not fit)" in out
    assert f"{src / 'c.jpg'} -> {dst / 'c.tif'}" in out
    assert "notes.txt" not in out and out.rstrip().endswith(
        "3 file(s) to process, 0 refused; nothing written (--dry-run)"
    )


def test_quick_options_build_the_pipeline(src, tmp_path, capsys):
    dst = tmp_path / "out"
    assert (
        main(
            [
                "batch",
                str(src),
                str(dst),
                "--bank",
                "edges",
                "--dilation",
                "1",
                "3",
                "--mode",
                "mirror",
                "--gray",
                "--quiet",
                "--out-format",
                ".npy",
                "--no-preview",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""
    pipeline = Pipeline.from_spec(
        [{"step": "to_gray"}, {"step": "bank", "name": "edges", "dilations": [1, 3], "mode": "mirror"}]
    )
    np.testing.assert_array_equal(np.load(dst / "a.npy"), pipeline(imread(src / "a.png")))
    last = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()][-1]
    assert last["fingerprint"] == pipeline.fingerprint()

    spec = tmp_path / "spec.json"
    Pipeline([("sobel", {"dilation": 2})]).to_spec(spec)
    assert (
        main(
            [
                "batch",
                str(src / "a.png"),
                str(src / "b.tif"),
                str(tmp_path / "listed"),
                "--pipeline",
                str(spec),
                "--no-preview",
                "--backend",
                "processes",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    assert sorted(os.listdir(tmp_path / "listed")) == [".imgconv", "a.png", "b.tif", "manifest.jsonl"]


def test_filter_subcommand(src, tmp_path, capsys):
    out = tmp_path / "edges.tif"
    assert (
        main(
            [
                "filter",
                str(src / "a.png"),
                str(out),
                "--filter",
                "sobel",
                "--dilation",
                "2",
                "--preview",
                str(tmp_path / "sheet.png"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert f"{src / 'a.png'} -> {out} (20x16x3 float32) in " in printed
    from imgconv import filters

    np.testing.assert_array_equal(imread(out), filters.sobel(imread(src / "a.png"), dilation=2, channel_axis=-1))
    assert (tmp_path / "sheet.png").is_file()
    (src / "bad.png").write_text("not an image")
    assert main(["filter", str(src / "bad.png"), str(tmp_path / "bad.tif")]) == 1
    assert "ImageReadError" in capsys.readouterr().err
    assert main(["filter", str(src / "a.png"), str(src / "a.png")]) == 2


def test_help_shows_examples(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "imgconv batch data/images out/" in text and "exit status" in text
    assert main(["batch", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--dry-run" in text and "--preview PNG" in text and '{"step": "gaussian", "sigma": 2}' in text
    for command in ("filter", "explain", "steps", "info", "bench"):
        assert main([command, "--help"]) == 0
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"imgconv {imgconv.__version__}")


def test_info(capsys):
    from imgconv import _dispatch

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    module = _dispatch.kernel_module()
    assert out.startswith(f"imgconv {imgconv.__version__}")
    assert f"kernel path : {module.simd_name()}" in out
    assert ("OpenMP      : on" if module.openmp_enabled() else "OpenMP      : off") in out
    assert f"threads     : {imgconv.get_num_threads()}" in out
    assert "formats     : .bmp .jpeg .jpg .npy .png .tif .tiff" in out


def test_explain_and_steps(capsys):
    assert main(["explain", "3", "--dilation", "2"]) == 0
    assert "effective extent 5x5" in capsys.readouterr().out
    assert main(["explain", "--layers", "3d2,3d2,3d2"]) == 0
    assert "Only 7x7 = 49 of the 13x13 = 169 pixels" in capsys.readouterr().out
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert "receptive field (halo per side, (h, w)): (4, 4)" in out and "bank edges: 18 filters of 3x3" in out
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert "gaussian" in out and "bank" in out and "to_gray" in out
    assert main(["steps", "clip"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  min = null", "  max = null"]


@pytest.mark.parametrize(
    "argv, shapes",
    [
        (["63", "--image", "2048", "2048"], ((1, 1, 2048, 2048), (1, 1, 63, 63))),
        (["45", "--image", "64", "64"], ((1, 1, 64, 64), (1, 1, 45, 45))),
        (["31", "--image", "512", "512", "--channels", "3", "--filters", "48"], ((1, 3, 512, 512), (48, 3, 31, 31))),
    ],
)
def test_explain_image_says_which_algorithm_the_engine_takes(capsys, argv, shapes):
    """The line names the path imgconv.choose_method gives for a dense kernel on that image, with its reason."""
    assert main(["explain", *argv]) == 0
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("algorithm for ")]
    rng = np.random.default_rng(0)
    (xs, ws) = shapes
    h, w = xs[2:]
    k = ws[2]
    plan = imgconv.choose_method(
        np.zeros(xs, np.float32), rng.standard_normal(ws).astype(np.float32), pads=(k - 1) // 2
    )
    assert len(line) == 1 and line[0].endswith(f": {plan.method} -- {plan.reason}"), line
    assert f"on {xs[0]}x{xs[1]}x{h}x{w} float32" in line[0]


def test_explain_image_plans_a_huge_image_without_allocating_it(capsys):
    import tracemalloc

    tracemalloc.start()
    try:
        assert main(["explain", "3", "--image", "100000", "100000", "--channels", "3", "--filters", "16"]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "direct" in capsys.readouterr().out
    assert peak < 16 << 20  # the image would be 120 GB


@pytest.mark.parametrize(
    "argv, message",
    [
        (["63", "--image", "64", "64", "--filters", "10000", "--channels", "100"], "explain --image plans at most"),
        (["--layers", "3d1", "--image", "64", "64"], "--image takes a kernel size K"),
    ],
)
def test_explain_image_refuses_what_it_cannot_plan_in_one_line(capsys, argv, message):
    assert main(["explain", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and len(captured.err.strip().splitlines()) == 1


def test_bench_builtin(capsys):
    assert main(["bench", "--builtin", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 thread(s)" in out and out.count("GFLOP/s") == 4


def test_python_dash_m(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "imgconv.cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0 and "examples:" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "imgconv.cli", "batch", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2 and "`dst` must differ from `src`" in done.stderr


def _complete(script, words):
    """What the completion function offers for `words` (the last one being typed), run in bash."""
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _imgconv; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return sorted(filter(None, result.stdout.splitlines()))


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script(capsys, shell, tmp_path):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    if shell == "zsh":
        assert "bashcompinit" in script
        script = script.replace("autoload -U +X bashcompinit && bashcompinit\n", "")  # bash runs the rest
    assert _complete(script, ["imgconv", "b"]) == ["batch", "bench"]
    assert _complete(script, ["imgconv", "batch", "--comp"]) == ["--compression", "--compression-level"]
    assert _complete(script, ["imgconv", "batch", "--backend", ""]) == ["dask", "processes", "threads"]
    assert _complete(script, ["imgconv", "explain", "--ima"]) == ["--image"]
    assert _complete(script, ["imgconv", "completion", ""]) == ["bash", "zsh"]
    (tmp_path / "photo.png").write_bytes(b"")
    assert _complete(script, ["imgconv", "filter", str(tmp_path / "ph")]) == [str(tmp_path / "photo.png")]


def test_completion_needs_a_known_shell(capsys):
    assert main(["completion", "fish"]) == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err
