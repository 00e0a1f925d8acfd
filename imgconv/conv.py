"""The torch-compatible layer: :func:`conv2d` and :class:`Conv2d`.

Both compute exactly what ``torch.nn.functional.conv2d`` / ``torch.nn.Conv2d``
compute, on NumPy arrays, with imgconv's documented departures (ValueError /
TypeError instead of RuntimeError, float32/float64 only, negative padding refused,
zero input channels refused).  All arithmetic happens in :func:`imgconv._engine.correlate`.
"""

import math
from collections.abc import Mapping
from typing import Any, Self, SupportsIndex

import numpy as np
import numpy.typing as npt

from . import _engine
from ._shared.geometry import ConvLayer, check_same_stride, output_hw
from ._shared.modes import TORCH_PADDING_MODES, TORCH_TO_ENGINE_MODE, check_padding_mode
from ._threads import check_num_threads
from ._typing import Bool, FloatArray, Int, IntPair, Method, Padding, PaddingMode, StrPath
from ._validation import as_array as _as_array
from ._validation import as_int, as_padding, as_pair, check_float_dtypes
from ._validation import show as _show
from .shape import ReceptiveField, receptive_field, resolve_pads

__all__ = ["PADDING_MODES", "Conv2d", "conv2d", "sepconv2d"]

#: Values of `padding_mode` (torch names, sorted; :data:`imgconv._shared.modes.TORCH_PADDING_MODES`).
PADDING_MODES = TORCH_PADDING_MODES


def _check_mode_limits(padding_mode, shape, pads):
    """torch's per-side pad limits: below the side for 'reflect', at most the side for 'circular'."""
    if padding_mode == "zeros" or not any(pads):
        return
    c, h, w = shape[1:]
    if padding_mode in ("reflect", "replicate") and 0 in (c, h, w):
        raise ValueError(
            f"padding_mode={padding_mode!r} needs non-empty channel and spatial dimensions; "
            f"got input of shape {tuple(shape)}"
        )
    for axis, length, before, after in ((2, h, pads[0], pads[1]), (3, w, pads[2], pads[3])):
        if padding_mode == "reflect" and (before >= length or after >= length):
            raise ValueError(
                f"padding_mode='reflect' needs each pad to be less than the input size along its axis; "
                f"got pads ({before}, {after}) at dimension {axis} of input {tuple(shape)}"
            )
        if padding_mode == "circular" and (before > length or after > length):
            raise ValueError(
                f"padding_mode='circular' needs each pad to be at most the input size along its axis "
                f"(no wrapping around more than once); got pads ({before}, {after}) at dimension {axis} "
                f"of input {tuple(shape)}"
            )


def _check_out(out, shape, dtype, inputs):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"`out` must be a NumPy array; got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"`out` must have shape {tuple(shape)}; got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"`out` must have dtype {dtype}; got {out.dtype}")
    if not out.flags.c_contiguous or not out.dtype.isnative:
        raise ValueError("`out` must be a C-contiguous array in native byte order")
    if not out.flags.writeable:
        raise ValueError("`out` must be writeable")
    for name, a in inputs.items():
        if a is not None and np.may_share_memory(out, a):
            raise ValueError(f"`out` must not overlap `{name}`")


def conv2d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: Int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    out: np.ndarray | None = None,
    num_threads: SupportsIndex | None = None,
    method: Method = "auto",
) -> FloatArray:
    """2-D cross-correlation with exactly the semantics of ``torch.nn.Conv2d``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W), float32 or float64
        Any memory layout (Fortran order, strided or negative-stride views,
        read-only, memory-mapped, non-native byte order); never modified.
    weight : ndarray, shape (O, C // groups, kh, kw)
        Same dtype as `input` ("OIHW").  Not flipped: this is correlation, as in torch.
    bias : ndarray, shape (O,), optional
        Same dtype as `input`.
    stride : int or pair of ints, default 1
    padding : {'valid', 'same'}, int or pair of ints, default 0
        ``p`` pads ``p`` rows on top and bottom and ``p`` columns on left and right;
        ``'same'`` (stride 1 only) puts the extra row/column at the bottom/right
        when the total ``dilation*(k-1)`` is odd.
    dilation : int or pair of ints, default 1
        Spacing between kernel taps: 1 = contiguous taps, ``d`` leaves ``d-1`` gaps.
    groups : int, default 1
        Input channels ``[k*C/g, (k+1)*C/g)`` feed output channels ``[k*O/g, (k+1)*O/g)``.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}, default 'zeros'
        As ``torch.nn.Conv2d``'s, with torch's per-side size limits.
    out : ndarray, optional
        C-contiguous array of the output shape and dtype to write into; must not
        overlap the inputs.
    num_threads : int, optional
        Threads for this call (default: :func:`imgconv.get_num_threads`).
    method : {'auto', 'direct', 'fft'}, default 'auto'
        Algorithm (``scipy.signal.convolve``'s convention); 'auto' lets the
        engine's planner choose, see :func:`imgconv.choose_method`.

    Returns
    -------
    output : ndarray, shape (N, O, H_out, W_out) or (O, H_out, W_out)
        Same dtype as `input`; ``H_out = floor((H + pads - dilation*(kh-1) - 1) / stride) + 1``.

    Raises
    ------
    TypeError
        Non-float or mismatched dtypes, non-int hyper-parameters.
    ValueError
        Bad shapes, sizes, modes or values; the message names the parameter.

    See Also
    --------
    Conv2d : the same operation holding its weight and bias.
    imgconv.filters.correlate : scikit-image-style interface (channel_axis, mode, cval).

    Notes
    -----
    ``y[n, o, i, j] = b[o] + sum_{c,u,v} w[o, c, u, v] x_p[n, g(o) C/g + c, i s_h + u d_h, j s_w + v d_w]``
    where ``x_p`` is the padded input.  Dilation in one dimension with k = 3:
    ``dilation=1`` gives ``w0 x0 + w1 x1 + w2 x2``; ``dilation=2`` gives ``w0 x0 + w1 x2 + w2 x4``.

    Examples
    --------
    >>> import numpy as np, imgconv
    >>> x = np.arange(10, dtype=np.float64).reshape(1, 1, 1, 10)
    >>> w = np.array([1.0, 10.0, 100.0]).reshape(1, 1, 1, 3)
    >>> imgconv.conv2d(x, w, dilation=2)[0, 0, 0, :3]     # x0 + 10 x2 + 100 x4, ...
    array([420., 531., 642.])
    """
    key = None
    if (
        out is None
        and type(groups) is int
        and (type(stride) is int or _exact(stride))
        and (type(padding) is int or _exact(padding))
        and (type(dilation) is int or _exact(dilation))
        and type(input) is np.ndarray
        and type(weight) is np.ndarray
        and (bias is None or type(bias) is np.ndarray)
        and type(padding_mode) is str
        and type(method) is str
    ):
        key = (
            input.shape, input.strides, input.dtype, weight.shape, weight.dtype,
            None if bias is None else (bias.shape, bias.dtype),
            stride, padding, dilation, groups, padding_mode, method,
        )  # fmt: skip
        run = _SMALL_CALLS.get(key)
        if run is not None:
            check_num_threads(num_threads)
            return run(input[None], weight, bias)[0] if input.ndim == 3 else run(input, weight, bias)
    _engine.check_method(method)
    call = Conv2dArguments.of(input, weight, bias, stride, padding, dilation, groups, padding_mode, out)
    if call.n == 0:
        result = call.out4 if call.out4 is not None else np.empty(call.out_shape, call.dtype)
    else:
        if key is not None and method != "fft" and key not in _SMALL_CALLS:
            if len(_SMALL_CALLS) >= _SMALL_CALLS_SIZE:
                _SMALL_CALLS.clear()
            _SMALL_CALLS[key] = _engine.small_call(
                call.x,
                call.weight,
                call.bias,
                pads=call.pads,
                mode=call.engine_mode,
                stride=call.stride,
                dilation=call.dilation,
                groups=call.groups,
            )
        result = _engine.correlate(
            call.x,
            call.weight,
            call.bias,
            pads=call.pads,
            mode=call.engine_mode,
            cval=0.0,
            stride=call.stride,
            dilation=call.dilation,
            groups=call.groups,
            out=call.out4,
            num_threads=num_threads,
            method=method,
        )
    return call.finish(result)


def sepconv2d(
    input: npt.ArrayLike,
    column: npt.ArrayLike,
    row: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    out: np.ndarray | None = None,
    num_threads: SupportsIndex | None = None,
) -> FloatArray:
    """Filter every channel with the separable kernel ``outer(column, row)``.

    The same result as :func:`conv2d` with ``groups = C`` and the depthwise weight
    ``w[c, 0] = outer(column[c], row[c])``, computed in two 1-D passes:
    ``kh + kw`` multiply-adds per output pixel instead of ``kh * kw``.
    (:func:`conv2d` already takes this path by itself for depthwise kernels of
    rank 1 that are at least 5x5, where the planner models it faster than one
    direct loop.)

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W), float32 or float64
    column : ndarray, shape (kh,) or (C, kh)
        Vertical factor, one per channel or shared by all channels.
    row : ndarray, shape (kw,) or (C, kw)
        Horizontal factor.
    bias : ndarray, shape (C,), optional
    stride, padding, dilation, padding_mode, out, num_threads
        As for :func:`conv2d`.

    Returns
    -------
    output : ndarray, shape (N, C, H_out, W_out) or (C, H_out, W_out)

    Examples
    --------
    >>> import numpy as np, imgconv
    >>> g = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16          # B3-spline
    >>> x = np.zeros((1, 9, 9)); x[0, 4, 4] = 1.0
    >>> y = imgconv.sepconv2d(x, g, g, padding="same", dilation=2)
    >>> bool(np.allclose(y[0, ::2, ::2], np.outer(g, g)))
    True
    """
    input = _as_array(input, "input")
    if input.ndim not in (3, 4) or input.shape[-3] == 0:
        raise ValueError(
            "`input` must be 3-D (C, H, W) or 4-D (N, C, H, W) with at least one channel; "
            f"got an array of shape {input.shape}"
        )
    channels = input.shape[-3]
    factors = []
    for name, factor in (("column", column), ("row", row)):
        factor = _as_array(factor, name)
        if factor.shape[-1:] == (0,):  # else the dense check below would blame `weight`
            raise ValueError(f"`{name}` must have at least one tap; got shape {factor.shape}")
        if factor.ndim == 1:
            factor = np.broadcast_to(factor, (channels, factor.shape[0]))
        if factor.ndim != 2 or factor.shape[0] != channels:
            raise ValueError(f"`{name}` must have shape (k,) or (C, k) with C = {channels}; got shape {factor.shape}")
        factors.append(factor)
    check_float_dtypes(input=input, column=factors[0], row=factors[1])
    # Validated as the equivalent dense depthwise convolution (shapes, sizes, torch's limits).
    dense = np.einsum("ci,cj->cij", *factors)[:, None]
    call = Conv2dArguments(input, dense, bias, stride, padding, dilation, channels, padding_mode, out)
    if call.n == 0:
        result = call.out4 if call.out4 is not None else np.empty(call.out_shape, call.dtype)
    else:
        result = _engine.correlate_separable(
            call.x,
            factors[0],
            factors[1],
            call.bias,
            pads=call.pads,
            mode=call.engine_mode,
            cval=0.0,
            stride=call.stride,
            dilation=call.dilation,
            out=call.out4,
            num_threads=num_threads,
        )
    return call.finish(result)


# Conv2dArguments.of: the geometry of calls already validated, by everything their validation reads
# (shapes, dtypes and hyper-parameters of exact built-in types), for repeated small calls; bounded.
_GEOMETRY: dict[tuple, dict] = {}
# Calls validated once whose engine plan is the same for any values (:func:`imgconv._engine.small_call`):
# keyed by every argument that validation and the plan read, with exact types (True == 1 and 1.0 == 1
# as keys, and validation refuses both); None for a key whose calls take the full path.
_SMALL_CALLS: dict[tuple, Any] = {}
_SMALL_CALLS_SIZE = 256
_GEOMETRY_SIZE = 256


def _exact(value):
    """Whether `value` is an int, a str or a tuple of ints, exactly (no bool, no numpy scalar)."""
    kind = type(value)
    return kind is int or kind is str or (kind is tuple and all(type(v) is int for v in value))


class Conv2dArguments:
    """conv2d's arguments, validated once, in torch's terms, ready for the engine.

    Shared by :func:`conv2d`, :func:`sepconv2d` and :func:`imgconv.dask.conv2d` (which
    validates on a zero-memory stand-in of the dask array), so that every torch-style
    layer refuses the same inputs with the same messages.
    """

    def __init__(self, input, weight, bias, stride, padding, dilation, groups, padding_mode, out):
        input = _as_array(input, "input")
        weight = _as_array(weight, "weight")
        if bias is not None:
            bias = _as_array(bias, "bias")
        if input.ndim not in (3, 4):
            raise ValueError(f"`input` must be 3-D (C, H, W) or 4-D (N, C, H, W); got an array of shape {input.shape}")
        if weight.ndim != 4:
            raise ValueError(
                f"`weight` must be 4-D (out_channels, in_channels/groups, kh, kw); got shape {weight.shape}"
            )
        dtype = check_float_dtypes(input=input, weight=weight, bias=bias)
        stride = as_pair(stride, "stride")
        dilation = as_pair(dilation, "dilation")
        padding = as_padding(padding)
        groups = as_int(groups, "groups", minimum=1)
        padding_mode = check_padding_mode(padding_mode)
        check_same_stride(padding, stride)

        unbatched = input.ndim == 3
        x = input[None] if unbatched else input
        n, c, h, w = x.shape
        o, cg, kh, kw = weight.shape
        if o == 0:
            raise ValueError(f"`weight` must have at least one output channel; got shape {weight.shape}")
        if o % groups:
            raise ValueError(
                f"`weight` out_channels ({o}) must be divisible by groups={groups}; got shape {weight.shape}"
            )
        if c == 0:
            raise ValueError(f"`input` must have at least one channel; got shape {input.shape}")
        if c != cg * groups:
            raise ValueError(
                f"Given groups={groups}, `weight` of shape {weight.shape} expects `input` to have "
                f"{cg * groups} channels; got {c} channels (input shape {input.shape})"
            )
        if kh == 0 or kw == 0:
            raise ValueError(f"`weight` kernel size must be at least 1x1; got shape {weight.shape}")
        if bias is not None and bias.shape != (o,):
            raise ValueError(f"`bias` must be 1-D with {o} elements (one per output channel); got shape {bias.shape}")

        pads = resolve_pads(padding, (kh, kw), dilation)
        _check_mode_limits(padding_mode, x.shape, pads)
        hout, wout = output_hw((h, w), (kh, kw), stride, dilation, pads)
        if (h == 0 or w == 0) and n > 0:
            raise ValueError(
                f"`input` has an empty spatial dimension; got shape {input.shape} (only an empty batch is supported)"
            )
        out_shape = (n, o, hout, wout)
        if out is not None:
            _check_out(
                out, out_shape[1:] if unbatched else out_shape, dtype, {"input": input, "weight": weight, "bias": bias}
            )
            out4 = out[None] if unbatched else out
        else:
            out4 = None
        self.x, self.weight, self.bias, self.dtype = x, weight, bias, dtype
        self.n, self.unbatched, self.pads, self.out = n, unbatched, pads, out
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.engine_mode = TORCH_TO_ENGINE_MODE[padding_mode]
        self.out_shape, self.out4 = out_shape, out4

    _FIELDS = ("dtype", "n", "unbatched", "pads", "stride", "dilation", "groups", "engine_mode", "out_shape")

    @classmethod
    def of(cls, input, weight, bias, stride, padding, dilation, groups, padding_mode, out):
        """``Conv2dArguments(...)``, from the geometry of an earlier call with the same key when there is one.

        Only NumPy arrays (not subclasses) without `out`, and hyper-parameters of the exact types
        int, str and tuple of ints, are keyed: anything else is validated afresh (a bool is an
        int that validation refuses, a numpy integer hashes like an int).
        """
        key = None
        if (
            out is None
            and type(input) is np.ndarray
            and type(weight) is np.ndarray
            and (bias is None or type(bias) is np.ndarray)
            and type(groups) is int
            and type(padding_mode) is str
            and _exact(stride)
            and _exact(padding)
            and _exact(dilation)
        ):
            key = (
                input.shape, input.dtype, weight.shape, weight.dtype,
                None if bias is None else (bias.shape, bias.dtype),
                stride, padding, dilation, groups, padding_mode,
            )  # fmt: skip
            geometry = _GEOMETRY.get(key)
            if geometry is not None:
                self = cls.__new__(cls)
                self.__dict__.update(geometry)
                self.x = input[None] if self.unbatched else input
                self.weight, self.bias, self.out, self.out4 = weight, bias, None, None
                return self
        self = cls(input, weight, bias, stride, padding, dilation, groups, padding_mode, out)
        if key is not None:
            if len(_GEOMETRY) >= _GEOMETRY_SIZE:
                _GEOMETRY.clear()
            _GEOMETRY[key] = {name: getattr(self, name) for name in cls._FIELDS}
        return self

    def finish(self, result):
        if self.out is not None:
            return self.out
        return result[0] if self.unbatched else result


class Conv2d(ConvLayer):
    """A 2-D convolution layer holding its weight and bias, like ``torch.nn.Conv2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or pair of ints
    stride : int or pair of ints, default 1
    padding : {'valid', 'same'}, int or pair of ints, default 0
    dilation : int or pair of ints, default 1
    groups : int, default 1
    bias : bool, default True
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}, default 'zeros'
    dtype : {np.float32, np.float64}, default np.float32
    seed : int or numpy.random.Generator, optional
        Makes the initialisation reproducible; an int must be non-negative.

    Attributes
    ----------
    weight : ndarray, shape (out_channels, in_channels // groups, kh, kw)
        Initialised uniform in ``±1/sqrt(fan_in)`` with ``fan_in = in_channels/groups*kh*kw``
        (what torch's Kaiming-uniform with ``a=sqrt(5)`` amounts to). Assign any
        array of this shape (e.g. a torch ``state_dict`` entry converted with ``.numpy()``).
    bias : ndarray, shape (out_channels,), or None
        Uniform in ``±1/sqrt(fan_in)``.

    Examples
    --------
    >>> import numpy as np, imgconv
    >>> layer = imgconv.Conv2d(3, 8, 3, padding="same", dilation=2, seed=0)
    >>> layer
    Conv2d(3, 8, kernel_size=(3, 3), padding='same', dilation=(2, 2))
    >>> layer(np.zeros((3, 32, 32), np.float32)).shape
    (8, 32, 32)
    >>> layer.receptive_field.extent
    (5, 5)
    """

    def __init__(
        self,
        in_channels: Int,
        out_channels: Int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: Padding = 0,
        dilation: IntPair = 1,
        groups: Int = 1,
        bias: Bool = True,
        padding_mode: PaddingMode = "zeros",
        *,
        dtype: npt.DTypeLike = np.float32,
        seed: Int | np.random.Generator | None = None,
    ) -> None:
        self.in_channels = as_int(in_channels, "in_channels", minimum=1)
        self.out_channels = as_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = as_pair(stride, "stride")
        self.padding = as_padding(padding)
        self.dilation = as_pair(dilation, "dilation")
        self.groups = as_int(groups, "groups", minimum=1)
        self.padding_mode = check_padding_mode(padding_mode)
        if self.in_channels % self.groups:
            raise ValueError(f"`in_channels` ({self.in_channels}) must be divisible by groups={self.groups}")
        if self.out_channels % self.groups:
            raise ValueError(f"`out_channels` ({self.out_channels}) must be divisible by groups={self.groups}")
        check_same_stride(self.padding, self.stride)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"`bias` must be True or False; got {bias!r}")
        try:
            checked = None if dtype is None else np.dtype(dtype)  # np.dtype(None) would be float64
        except (TypeError, ValueError):  # 'nonsense', 5, ...
            checked = None
        if checked not in (np.float32, np.float64):
            shown = str(checked) if checked is not None else _show(dtype)
            raise TypeError(f"`dtype` must be float32 or float64; got {shown}")
        self.dtype = dtype = checked
        if not (seed is None or isinstance(seed, np.random.Generator)):
            # numpy's own errors ("SeedSequence expects int ...") do not name the parameter
            rule = "None, a non-negative int or a numpy.random.Generator"
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
                raise TypeError(f"`seed` must be {rule}; got {_show(seed)} of type {type(seed).__name__}")
            if seed < 0:
                raise ValueError(f"`seed` must be {rule}; got {_show(seed)}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self._weight = rng.uniform(-bound, bound, size=shape).astype(dtype)
        self._bias = rng.uniform(-bound, bound, size=self.out_channels).astype(dtype) if bias else None

    @property
    def weight(self) -> FloatArray:
        return self._weight

    @weight.setter
    def weight(self, value: npt.ArrayLike) -> None:
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self._weight = self._coerce(value, "weight", shape)

    @property
    def bias(self) -> FloatArray | None:
        return self._bias

    @bias.setter
    def bias(self, value: npt.ArrayLike | None) -> None:
        self._bias = None if value is None else self._coerce(value, "bias", (self.out_channels,))

    def _coerce(self, value, name, shape):
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor or nn.Parameter (grad or not)
            value = value.detach().cpu().numpy()
        array = _as_array(value, name)
        if array.dtype.kind not in "fiu":
            raise TypeError(f"`{name}` must be a real numeric array; got dtype {array.dtype}")
        if array.shape != shape:
            raise ValueError(f"`{name}` must have shape {shape}; got {array.shape}")
        # A copy: later changes to the caller's array do not leak into the layer.
        return np.array(array, dtype=self.dtype, order="C", copy=True)

    def state_dict(self) -> dict[str, FloatArray]:
        """``{"weight": ..., "bias": ...}`` (copies; no "bias" without one), as torch's ``state_dict``."""
        state = {"weight": self._weight.copy()}
        if self._bias is not None:
            state["bias"] = self._bias.copy()
        return state

    def load_state_dict(self, state: Mapping[str, Any], *, strict: bool = True, prefix: str = "") -> None:
        """Load ``weight`` (and ``bias``) from a mapping, as torch's ``load_state_dict``.

        Parameters
        ----------
        state : mapping
            Arrays or torch tensors (including ``nn.Parameter`` that require
            grad), e.g. ``torch_layer.state_dict()`` or
            :func:`imgconv.weights.load_safetensors` of a file torch wrote.
        strict : bool, default True
            Refuse missing and unexpected keys (under `prefix`).
        prefix : str, default ''
            Key prefix of this layer in a whole model's state, e.g. ``'conv1.'``.

        Raises
        ------
        KeyError
            With `strict`, naming the missing or unexpected keys.
        ValueError, TypeError
            For a tensor of the wrong shape or dtype (naming it).
        """
        expected = {prefix + "weight"} | ({prefix + "bias"} if self._bias is not None else set())
        ours = {key for key in state if key.startswith(prefix) and "." not in key[len(prefix) :]}
        if strict and (expected - ours or ours - expected):
            raise KeyError(
                f"`state` must hold exactly {sorted(expected)}; missing {sorted(expected - ours)}, "
                f"unexpected {sorted(ours - expected)}"
            )
        if prefix + "weight" in state:
            self.weight = state[prefix + "weight"]
        if prefix + "bias" in state:
            if self._bias is None:
                raise ValueError("`state` holds a bias, but this layer was made with bias=False")
            self.bias = state[prefix + "bias"]

    def load_weights(self, path: StrPath, *, prefix: str = "", strict: bool = True) -> Self:
        """Load this layer's ``weight`` and ``bias`` from a ``.safetensors`` or ``.npz`` file (torch's key names).

        `prefix` selects the layer in a whole model's file, e.g. ``'features.0.'``;
        see :meth:`load_state_dict` for `strict` and :func:`imgconv.weights.load_weights`.
        """
        from .weights import load_weights

        self.load_state_dict(load_weights(path), prefix=prefix, strict=strict)
        return self

    @classmethod
    def from_torch(cls, module: Any) -> Self:
        """The same layer as a ``torch.nn.Conv2d`` (hyper-parameters, weight and bias), without importing torch."""
        padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
        layer = cls(
            module.in_channels,
            module.out_channels,
            tuple(module.kernel_size),
            tuple(module.stride),
            padding,  # type: ignore[arg-type]  # a str padding of torch's is 'same' or 'valid'
            tuple(module.dilation),
            module.groups,
            module.bias is not None,
            module.padding_mode,
            dtype=str(module.weight.dtype).replace("torch.", ""),
        )
        layer.load_state_dict(module.state_dict())
        return layer

    def __call__(
        self,
        input: npt.ArrayLike,
        *,
        out: np.ndarray | None = None,
        num_threads: SupportsIndex | None = None,
        method: Method = "auto",
    ) -> FloatArray:
        """Apply the layer: see :func:`conv2d` for shapes, errors and `method`."""
        return conv2d(
            input,
            self._weight,
            self._bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
            out=out,
            num_threads=num_threads,
            method=method,
        )

    forward = __call__

    def output_shape(self, input_hw: IntPair) -> tuple[int, int]:
        """Spatial output shape ``(H_out, W_out)`` for an input of spatial shape `input_hw`."""
        h, w = as_pair(input_hw, "input_hw", minimum=0)
        pads = resolve_pads(self.padding, self.kernel_size, self.dilation)
        return output_hw((h, w), self.kernel_size, self.stride, self.dilation, pads)

    @property
    def receptive_field(self) -> ReceptiveField:
        """Receptive field of one output pixel of this layer (see :func:`imgconv.receptive_field`)."""
        return receptive_field([self])[0]

    def __repr__(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"]
        if self.stride != (1, 1):
            parts.append(f"stride={self.stride}")
        if self.padding != (0, 0):
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1, 1):
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self._bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        if self.dtype != np.float32:
            parts.append(f"dtype={self.dtype.name}")
        return f"Conv2d({', '.join(parts)})"
