"""Weights: .safetensors read and written without torch; Conv2d's state_dict, load_state_dict, from_torch.

Oracles: files built byte by byte from the format's description, the safetensors package's own
NumPy reader and writer, and (when installed) torch.nn.Conv2d.
"""

import json
import struct
import types

import numpy as np
import pytest

import imgconv
from imgconv.weights import load_safetensors, save_safetensors


def handmade(path, entries, data, header_length=None):
    header = json.dumps(entries).encode()
    length = len(header) if header_length is None else header_length
    path.write_bytes(struct.pack("<Q", length) + header + data)
    return path


def test_a_file_built_from_the_format_description(tmp_path):
    weight = np.arange(6, dtype="<f4").reshape(2, 3)
    index = np.array([7, -1], dtype="<i8")
    bf16 = np.array([1.5, -2.0, 0.15625], np.float32)  # exact in bfloat16: the top 16 bits of float32
    bf16_bytes = (bf16.view(np.uint32) >> 16).astype("<u2").tobytes()
    data = weight.tobytes() + index.tobytes() + bf16_bytes
    entries = {
        "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "i": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
        "b": {"dtype": "BF16", "shape": [3], "data_offsets": [40, 46]},
        "__metadata__": {"format": "pt"},
    }
    loaded = load_safetensors(handmade(tmp_path / "a.safetensors", entries, data))
    np.testing.assert_array_equal(loaded["w"], weight)
    np.testing.assert_array_equal(loaded["i"], index)
    np.testing.assert_array_equal(loaded["b"], bf16)
    assert loaded["b"].dtype == np.float32 and loaded["w"].flags.writeable


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]
)
def test_round_trips_with_the_format_package(tmp_path, rng, dtype):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    tensors = {"a": (rng.random((3, 4, 5)) * 100).astype(dtype), "b": (rng.random(7) * 100).astype(dtype)}
    save_safetensors(tmp_path / "ours.safetensors", tensors, metadata={"by": "imgconv"})
    theirs = safetensors_numpy.load_file(str(tmp_path / "ours.safetensors"))  # the format's reader
    for key, value in tensors.items():
        np.testing.assert_array_equal(theirs[key], value)
    safetensors_numpy.save_file(tensors, str(tmp_path / "theirs.safetensors"))  # the format's writer
    ours = load_safetensors(tmp_path / "theirs.safetensors")
    for key, value in tensors.items():
        assert ours[key].dtype == value.dtype
        np.testing.assert_array_equal(ours[key], value)


@pytest.mark.parametrize(
    "entries, data, length, message",
    [
        ({}, b"", 2**60, r"the header announces 1152921504606846976 bytes"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, None, r"outside the 4 bytes"),
        ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, None, r"needs 12 bytes"),
        ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, None, r"unsupported dtype 'C64'"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, None, r"has the shape \[-1\]"),
        ({"w": {"shape": [1]}}, b"", None, r"lacks dtype, shape or data_offsets"),
    ],
)
def test_hostile_files_are_refused_before_any_allocation(tmp_path, entries, data, length, message):
    path = handmade(tmp_path / "bad.safetensors", entries, data, length)
    with pytest.raises(ValueError, match=r"is not a valid \.safetensors file: .*" + message):
        load_safetensors(path)
    (tmp_path / "junk.safetensors").write_bytes(struct.pack("<Q", 3) + b"{{{")
    with pytest.raises(ValueError, match=r"the header is not JSON"):
        load_safetensors(tmp_path / "junk.safetensors")


def test_conv2d_state_dict_round_trip_and_strictness(tmp_path, rng):
    layer = imgconv.Conv2d(3, 4, 3, padding=1, seed=1)
    other = imgconv.Conv2d(3, 4, 3, padding=1, seed=2)
    save_safetensors(tmp_path / "layer.safetensors", {f"conv1.{k}": v for k, v in layer.state_dict().items()})
    other.load_state_dict(load_safetensors(tmp_path / "layer.safetensors"), prefix="conv1.")
    x = rng.random((3, 9, 9)).astype(np.float32)
    np.testing.assert_array_equal(other(x), layer(x))
    state = layer.state_dict()
    state["weight"][...] = 0  # a copy: the layer is untouched
    assert np.abs(layer.weight).sum() > 0
    with pytest.raises(KeyError, match=r"missing \['bias'\], unexpected \[\]"):
        other.load_state_dict({"weight": layer.weight})
    with pytest.raises(KeyError, match=r"unexpected \['running_mean'\]"):
        other.load_state_dict({**layer.state_dict(), "running_mean": np.zeros(4)})
    other.load_state_dict({"weight": np.ones((4, 3, 3, 3))}, strict=False)
    np.testing.assert_array_equal(other.weight, 1)
    with pytest.raises(ValueError, match=r"`weight` must have shape \(4, 3, 3, 3\); got \(4, 3, 3\)"):
        other.load_state_dict({"weight": np.ones((4, 3, 3)), "bias": np.ones(4)})


class FakeParameter:
    """What a torch nn.Parameter that requires grad offers: no __array__ that works, but detach()."""

    def __init__(self, array):
        self._array = array

    def __array__(self, *args, **kwargs):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._array


def test_parameters_that_require_grad_are_accepted(rng):
    layer = imgconv.Conv2d(2, 2, 3)
    weight = rng.random((2, 2, 3, 3)).astype(np.float32)
    layer.weight = FakeParameter(weight)
    np.testing.assert_array_equal(layer.weight, weight)
    module = types.SimpleNamespace(  # the attributes from_torch reads of a torch.nn.Conv2d
        in_channels=2,
        out_channels=2,
        kernel_size=(3, 3),
        stride=(1, 1),
        padding=(1, 1),
        dilation=(2, 2),
        groups=1,
        bias=FakeParameter(np.ones(2, np.float32)),
        padding_mode="reflect",
        weight=types.SimpleNamespace(dtype="torch.float32"),
        state_dict=lambda: {"weight": FakeParameter(weight), "bias": FakeParameter(np.ones(2, np.float32))},
    )
    copy = imgconv.Conv2d.from_torch(module)
    assert (copy.dilation, copy.padding_mode, copy.dtype) == ((2, 2), "reflect", np.float32)
    np.testing.assert_array_equal(copy.weight, weight)


def test_from_torch_matches_torch(rng):
    torch = pytest.importorskip("torch")
    module = torch.nn.Conv2d(3, 5, 3, stride=2, padding=2, dilation=2, padding_mode="reflect")
    x = rng.random((1, 3, 17, 19)).astype(np.float32)
    expected = module(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(imgconv.Conv2d.from_torch(module)(x), expected, rtol=1e-5, atol=1e-6)


def test_a_two_layer_dilated_network_from_files(tmp_path, rng):
    first, second = imgconv.Conv2d(1, 4, 3, padding=2, dilation=2, seed=3), imgconv.Conv2d(4, 2, 3, padding=1, seed=4)
    state = {f"net.0.{k}": v for k, v in first.state_dict().items()}
    state.update({f"net.2.{k}": v for k, v in second.state_dict().items()})
    save_safetensors(tmp_path / "net.safetensors", state)
    np.savez(tmp_path / "net.npz", **state)
    x = rng.random((1, 16, 16)).astype(np.float32)
    expected = second(np.maximum(first(x), 0))
    for name in ("net.safetensors", "net.npz"):
        a = imgconv.Conv2d(1, 4, 3, padding=2, dilation=2).load_weights(tmp_path / name, prefix="net.0.")
        b = imgconv.Conv2d(4, 2, 3, padding=1).load_weights(tmp_path / name, prefix="net.2.")
        np.testing.assert_array_equal(b(np.maximum(a(x), 0)), expected)
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"is not a valid \.npz file"):
        imgconv.weights.load_weights(tmp_path / "bad.npz")
