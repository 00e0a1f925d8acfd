"""Run every example script as a subprocess and check that it writes its picture."""

import os
import pathlib
import subprocess
import sys

import pytest

import imgconv

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = {
    "edges_at_dilations.py": "edges_at_dilations.png",
    "atrous_gabor_pyramid.py": "atrous_gabor_pyramid.png",
    "texture_mr8.py": "texture_mr8.png",
    "atrous_denoise.py": "atrous_denoise.png",
}


def _environment():
    env = dict(os.environ)
    # The imgconv under test (installed or built in place), never the uncompiled source folder.
    package_parent = str(pathlib.Path(imgconv.__file__).resolve().parent.parent)
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *inherited])
    return env


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_without_matplotlib_says_what_to_install(script, tmp_path):
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = _environment()
    env["PYTHONPATH"] = os.pathsep.join([str(blocker.parent), env["PYTHONPATH"]])
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == 'this example needs matplotlib: pip install "imgconv[plot]" (or matplotlib)'


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_writes_png(script, tmp_path):
    pytest.importorskip("matplotlib", reason="the examples draw with matplotlib")
    env = _environment()
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    png = tmp_path / EXAMPLES[script]
    assert png.is_file()
    assert png.stat().st_size > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in result.stdout
    if script == "atrous_denoise.py":  # prints PSNR before / after; denoising must improve it
        values = [
            float(line.split(":")[1].split("dB")[0]) for line in result.stdout.splitlines() if line.startswith("PSNR")
        ]
        assert len(values) == 2 and values[1] > values[0]
