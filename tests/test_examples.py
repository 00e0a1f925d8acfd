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
    "pixel_classifier.py": "pixel_classifier.png",
}


def _environment():
    env = dict(os.environ)
    # The imgconv under test (installed or built in place), never the uncompiled source folder.
    package_parent = str(pathlib.Path(imgconv.__file__).resolve().parent.parent)
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *inherited])
    return env


def _run_without(module, script, tmp_path):
    """Run `script` with `module` replaced by a package whose import fails."""
    blocker = tmp_path / "blocker" / module
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(f"raise ImportError('No module named {module}')\n")
    env = _environment()
    env["PYTHONPATH"] = os.pathsep.join([str(blocker.parent), env["PYTHONPATH"]])
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_without_matplotlib_says_what_to_install(script, tmp_path):
    result = _run_without("matplotlib", script, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == 'this example needs matplotlib: pip install "imgconv[plot]" (or matplotlib)'


def test_pixel_classifier_without_scikit_learn_says_what_to_install(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is checked first")
    result = _run_without("sklearn", "pixel_classifier.py", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == 'this example needs scikit-learn: pip install "imgconv[examples]" (or scikit-learn)'
    assert not (tmp_path / "pixel_classifier.png").exists()


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_writes_png(script, tmp_path):
    pytest.importorskip("matplotlib", reason="the examples draw with matplotlib")
    if script == "pixel_classifier.py":
        pytest.importorskip("sklearn", reason="the pixel classifier is a scikit-learn random forest")
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
