"""imgconv.explain: tap grids, receptive-field tables and contributing pixels."""

import io
import itertools
import re

import numpy as np
import pytest

from imgconv import Conv2d
from imgconv.explain import explain, explain_png, footprint


def _table_rows(text):
    """Rows of the layer table as lists of cells (split on 2+ spaces)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("-----"))
    rows = []
    for line in lines[start + 1 :]:
        if not re.match(r"^\s*\d+\s", line):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def _brute_force_footprint(layers):
    """Enumerate every path of taps through the stack (1-D, per axis) -- the oracle."""
    offsets = {0}
    jump = 1
    for k, s, d in layers:
        offsets = {o + u * d * jump for o in offsets for u in range(k)}
        jump *= s
    return offsets


def test_tap_grid_and_extent():
    text = explain(3, 2)
    lines = text.splitlines()
    assert "effective extent 5x5" in lines[0]
    assert lines[1:6] == ["# . # . #", ". . . . .", "# . # . #", ". . . . .", "# . # . #"]
    text = explain((2, 3), (3, 1))
    lines = text.splitlines()
    assert "effective extent 4x3" in lines[0]
    assert lines[1:5] == ["# # #", ". . .", ". . .", "# # #"]


@pytest.mark.parametrize("k,d", [(1, 1), (3, 1), (3, 4), (5, 2), (4, 3)])
def test_extent_formula(k, d):
    text = explain(k, d)
    extent = d * (k - 1) + 1
    assert f"effective extent {extent}x{extent}" in text
    grid = text.splitlines()[1 : 1 + extent]
    assert all(len(row.split()) == extent for row in grid)
    assert sum(row.count("#") for row in grid) == k * k


def test_context_module_of_yu_and_koltun():
    """Yu & Koltun (ICLR 2016), context module: 3x3 layers, dilations 1, 1, 2, 4, 8, 16, 1."""
    layers = [{"kernel_size": 3, "dilation": d, "padding": d} for d in (1, 1, 2, 4, 8, 16, 1)]
    text = explain(3, layers=layers)
    rows = _table_rows(text)
    assert [row[6] for row in rows] == [f"{r}x{r}" for r in (3, 5, 9, 17, 33, 65, 67)]
    # Every pixel of the receptive field contributes at each layer.
    assert [row[8] for row in rows] == [f"{r}x{r} = {r * r}" for r in (3, 5, 9, 17, 33, 65, 67)]
    assert "Every pixel of the 67x67 receptive field contributes." in text


@pytest.mark.parametrize(
    "dilations,strides,extent,contributing",
    [
        ((1, 2, 4), (1, 1, 1), 15, 15),
        ((1, 2, 4), (2, 1, 1), 27, 21),
        ((1, 2, 4), (1, 2, 2), 23, 21),
        ((2, 2, 2), (1, 1, 1), 13, 7),
    ],
)
def test_spec_table_of_contributing_pixels(dilations, strides, extent, contributing):
    layers = [{"kernel_size": 3, "dilation": d, "stride": s} for d, s in zip(dilations, strides)]
    text = explain(None, layers=layers)
    last = _table_rows(text)[-1]
    assert last[6] == f"{extent}x{extent}"
    assert last[8] == f"{contributing}x{contributing} = {contributing**2}"
    mask = footprint(layers)
    assert mask.shape == (extent, extent)
    assert int(mask.sum()) == contributing**2
    if contributing < extent:
        assert f"Only {contributing}x{contributing} = {contributing**2} of the {extent}x{extent}" in text


def test_gridding_footprint_drawn():
    text = explain(None, layers=[{"kernel_size": 3, "dilation": 2}] * 3)
    grid = text.split("Footprint of one output ('#' contributes, '.' does not):\n")[1].splitlines()
    assert len(grid) == 13
    assert grid[0] == " ".join("#." * 6 + "#")
    assert grid[1] == " ".join("." * 13)


@pytest.mark.parametrize("seed", range(12))
def test_footprint_equals_brute_force_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    per_axis = [
        [(int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 4))) for _ in range(n)]
        for _ in range(2)
    ]
    layers = [
        {"kernel_size": (a[0], b[0]), "stride": (a[1], b[1]), "dilation": (a[2], b[2])} for a, b in zip(*per_axis)
    ]
    rows = _brute_force_footprint(per_axis[0])
    cols = _brute_force_footprint(per_axis[1])
    expected = np.zeros((max(rows) + 1, max(cols) + 1), dtype=bool)
    for r, c in itertools.product(rows, cols):
        expected[r, c] = True
    np.testing.assert_array_equal(footprint(layers), expected)


def test_conv2d_layers_and_stride_column():
    layers = [Conv2d(1, 4, 3, dilation=2, padding="same"), Conv2d(4, 4, 3, stride=2)]
    rows = _table_rows(explain(None, layers=layers))
    assert rows[0][:6] == ["1", "3x3", "1x1", "same", "2x2", "5x5"]
    assert rows[1][2] == "2x2" and rows[1][7] == "2x2"
    assert rows[1][6] == "7x7"


def test_single_layer_with_stride():
    rows = _table_rows(explain(3, 2, stride=2))
    assert rows == [["1", "3x3", "2x2", "0x0", "2x2", "5x5", "5x5", "2x2", "3x3 = 9", "36.0%"]]


def test_file_argument_prints_and_returns():
    buffer = io.StringIO()
    text = explain(3, 3, file=buffer)
    assert buffer.getvalue() == text + "\n"
    assert explain(3) == explain(3, 1)


def test_errors():
    with pytest.raises(ValueError, match=r"`dilation` must be a positive int or a pair of positive ints; got 0"):
        explain(3, 0)
    with pytest.raises(TypeError, match=r"`kernel_size` must be a positive int .*'3'"):
        explain("3")
    with pytest.raises(ValueError, match=r"`kernel_size` may be None only when `layers` is given"):
        explain(None)
    with pytest.raises(ValueError, match=r"`stride` describes the single layer .* got stride=2"):
        explain(3, layers=[{"kernel_size": 3}], stride=2)
    with pytest.raises(TypeError, match=r"`layers` must be a sequence of dicts or Conv2d objects; got dict"):
        explain(3, layers={"kernel_size": 3})
    with pytest.raises(ValueError, match=r"`layers` must contain at least one layer; got none"):
        explain(3, layers=[])
    with pytest.raises(ValueError, match=r"`layers\[1\]` has unknown keys \['size'\]"):
        explain(3, layers=[{"kernel_size": 3}, {"size": 3}])


def test_explain_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "taps.png"
    out = explain_png(path, 3, 2, layers=[{"kernel_size": 3, "dilation": 2}] * 3)
    assert out == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    explain_png(tmp_path / "single.png", (3, 5), (1, 2))
    assert (tmp_path / "single.png").stat().st_size > 0


def test_explain_png_without_matplotlib(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"explain_png needs matplotlib.*pip install matplotlib"):
        explain_png(tmp_path / "x.png", 3, 2)
