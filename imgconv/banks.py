"""Filter banks: ordered, named stacks of 2-D kernels applied in one engine call.

:class:`FilterBank` holds ``F`` kernels of a common size ``(kh, kw)`` (smaller
kernels are zero-padded around their anchor), optionally with a dilation rate per
filter, and applies them to grey or colour images with ``'same'`` output size.
All arithmetic happens in :func:`imgconv._engine.correlate`: one call per distinct
dilation rate.

Standard banks: :func:`edges`, :func:`gabor`, :func:`leung_malik`,
:func:`schmid`, :func:`mr8` (with :func:`mr8_responses` / :func:`mr8_reduce`
for the 8 maximum responses).

Kernels are correlation kernels (see :mod:`imgconv.kernels` for the conventions:
``(y, x)`` axes with ``y`` downwards, angles from ``+x`` towards ``+y``).

Limits, checked before anything is allocated, so that a parameter typo (or a
hostile pipeline spec) gives a ValueError instead of a MemoryError or a hang:

* a bank holds at most :data:`MAX_BANK_TAPS` (``2**25``, 256 MB of float64)
  taps, counting every filter zero-padded to the common size -- e.g.
  ``leung_malik(support=...)`` up to support 835, ``schmid`` up to 1605, ``mr8`` up to 939;
* the standard banks' ``support`` and every Gabor kernel are at most
  :data:`imgconv.kernels.MAX_KERNEL_SIZE` (4097) taps per side, and ``gabor``
  takes at most 360 orientations;
* a dilation ``d > 1`` (:meth:`FilterBank.at_dilations`, ``dilations``, the
  `dilation` of :meth:`FilterBank.apply`) must keep every filter within
  ``d (k - 1) + 1 <= MAX_KERNEL_SIZE`` pixels per axis.
"""

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, SupportsIndex, overload

import numpy as np
import numpy.typing as npt

from . import _engine
from . import kernels as _kernels
from ._shared.geometry import same_pads
from ._shared.layout import ChannelLayout
from ._shared.modes import SCIPY_MODES, check_scipy_mode
from ._threads import effective_num_threads
from ._typing import Bool, FloatArray, Int, IntPair, Method, Real, ScipyMode
from ._validation import (
    MAX_KERNEL_SIZE,
    as_bool,
    as_cval,
    as_int,
    as_pair,
    as_real,
    check_dilation,
    check_kernel_size,
    gabor_half_size,
    gabor_sigmas,
)
from ._validation import is_int as _is_int
from ._validation import is_real as _is_real
from ._validation import show as _show

__all__ = [
    "MAX_BANK_TAPS",
    "MODES",
    "MR8_RESPONSE_NAMES",
    "FilterBank",
    "edges",
    "gabor",
    "leung_malik",
    "mr8",
    "mr8_reduce",
    "mr8_responses",
    "schmid",
]

#: Border modes accepted by :meth:`FilterBank.apply` (scipy.ndimage / scikit-image names).
MODES = SCIPY_MODES  # imgconv._shared.modes: the one scipy-mode vocabulary

#: Most taps a :class:`FilterBank` holds: filters x common kernel size (2**25 float64 = 256 MB).
#: The standard banks check it before building their kernels.
MAX_BANK_TAPS = 2**25

#: Names of the 8 responses returned by :func:`mr8_reduce`, in order.
MR8_RESPONSE_NAMES = ("edge_s1", "edge_s2", "edge_s4", "bar_s1", "bar_s2", "bar_s4", "gaussian", "log")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _place(kernel, shape):
    """Zero-pad `kernel` to `shape` keeping its anchor ``((k - 1) // 2)`` on the new anchor."""
    kh, kw = kernel.shape
    h, w = shape
    top = (h - 1) // 2 - (kh - 1) // 2
    left = (w - 1) // 2 - (kw - 1) // 2
    out = np.zeros((h, w))
    out[top : top + kh, left : left + kw] = kernel
    return out


def _as_kernel(value, label):
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{label} must be a 2-D array of real numbers; got {type(value).__name__} ({exc})") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{label} must be a 2-D array of real numbers; got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{label} must be a 2-D array; got {arr.ndim}-D array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{label} must not be empty; got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} must contain only finite values")
    return arr


def _check_taps(n_filters, size, what, got):
    """Refuse a bank of `n_filters` filters of `size` (kh, kw) above MAX_BANK_TAPS; `what` made it, `got` says how."""
    taps = n_filters * size[0] * size[1]
    if taps > MAX_BANK_TAPS:
        raise ValueError(
            f"{what} would make a bank of {n_filters} filters of {size[0]}x{size[1]} taps ({taps} taps); a filter "
            f"bank holds at most {MAX_BANK_TAPS} taps (imgconv.banks.MAX_BANK_TAPS), counting every filter "
            f"zero-padded to the largest size; got {got}"
        )


def _rate_label(pair):
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _engine_weights(stack, in_channels, per_channel, dtype):
    f, kh, kw = stack.shape
    if per_channel:
        w = np.broadcast_to(stack[None, :, None], (in_channels, f, 1, kh, kw)).reshape(in_channels * f, 1, kh, kw)
        return np.ascontiguousarray(w, dtype=dtype), in_channels
    w = np.broadcast_to((stack / in_channels)[:, None], (f, in_channels, kh, kw))
    return np.ascontiguousarray(w, dtype=dtype), 1


# --------------------------------------------------------------------------------------
# FilterBank
# --------------------------------------------------------------------------------------


class FilterBank:
    """An ordered, named stack of 2-D correlation kernels.

    Parameters
    ----------
    kernels : sequence of 2-D arrays, 3-D array (F, kh, kw), or mapping name -> 2-D array
        The filters, in order.  Real-valued; converted to float64.  Kernels of
        different shapes are zero-padded to the common shape
        ``(max kh, max kw)`` (see Notes).
    names : sequence of str, optional
        One unique name per filter.  Default ``'f0', 'f1', ...``; must be omitted
        when `kernels` is a mapping (its keys are the names).
    dilations : sequence, optional
        Per-filter dilation rate, each a positive int or a pair ``(dh, dw)``;
        default 1 for every filter.  Usually created by :meth:`at_dilations`.

    Attributes
    ----------
    names : tuple of str
    kernels : ndarray, shape (F, kh, kw), float64, read-only
    dilations : tuple of (int, int)
    kernel_size : (int, int)

    Raises
    ------
    TypeError, ValueError
        On empty input, non-2-D or non-real kernels, non-finite values, wrong
        number of names, duplicate or non-string names, bad dilations.

    Notes
    -----
    *Centring.*  Each kernel keeps its anchor ``((kh - 1) // 2, (kw - 1) // 2)``
    -- the tap that PyTorch's ``padding='same'`` (and :meth:`apply`) aligns with
    the output pixel -- on the anchor of the common shape.  For odd sizes this is
    ordinary centring.  A kernel of odd size placed in an even common size gets
    its extra zero row at the bottom and its extra zero column at the right (a
    3x3 kernel in 4x4 occupies rows 0-2 and columns 0-2); an even kernel in a
    larger odd size gets the extra zero before it.  Thus, at dilation 1, every
    filter's response in :meth:`apply` is exactly the ``'same'`` response of the
    kernel on its own.  With dilation ``d > 1`` this still holds for kernels
    whose size has the parity of the common size (per axis); a kernel of the
    other parity has its taps moved by ``floor(d / 2)`` pixels (towards the
    bottom/right if the kernel is even and the common size odd, towards the
    top/left otherwise), because the ``'same'`` split ``T // 2`` of the padded
    kernel differs from its own.  Group kernels of one parity before dilating.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv import kernels
    >>> from imgconv.banks import FilterBank
    >>> bank = FilterBank({"sobel_h": kernels.sobel_h(), "box5": kernels.box(5)})
    >>> bank
    FilterBank(2 filters of 5x5: sobel_h, box5)
    >>> bank.apply(np.zeros((8, 6))).shape
    (8, 6, 2)
    """

    __hash__ = None  # type: ignore[assignment]  # unhashable (compared by value)
    _dilations: tuple[tuple[int, int], ...]

    def __init__(
        self,
        kernels: Mapping[str, npt.ArrayLike] | Iterable[npt.ArrayLike],
        names: Iterable[str] | None = None,
        dilations: Iterable[IntPair] | None = None,
    ) -> None:
        arrays: list[Any]
        if isinstance(kernels, Mapping):
            if names is not None:
                raise ValueError(
                    f"`names` must be omitted when `kernels` is a mapping (its keys are the names); "
                    f"got names={_show(names)}"
                )
            names = list(kernels.keys())
            arrays = list(kernels.values())
        elif isinstance(kernels, np.ndarray):
            if kernels.ndim != 3:
                raise ValueError(
                    f"`kernels` given as an array must be 3-D (F, kh, kw); got shape {kernels.shape} "
                    "(wrap a single kernel in a list)"
                )
            arrays = list(kernels)
        elif isinstance(kernels, (str, bytes)) or not hasattr(kernels, "__iter__"):
            raise TypeError(
                "`kernels` must be a sequence of 2-D arrays, a 3-D array or a mapping name -> array; "
                f"got {type(kernels).__name__}"
            )
        else:
            arrays = list(kernels)
        if not arrays:
            raise ValueError("`kernels` must contain at least one kernel; got none")

        if names is None:
            names = [f"f{i}" for i in range(len(arrays))]
        elif isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
            raise TypeError(f"`names` must be a sequence of str; got {_show(names)}")
        names = list(names)
        if len(names) != len(arrays):
            raise ValueError(f"`names` must have one entry per kernel ({len(arrays)}); got {len(names)}")
        for name in names:
            if not isinstance(name, str) or not name:
                raise TypeError(f"`names` must contain non-empty strings; got {_show(name)}")
        seen, dups = set(), []
        for name in names:
            if name in seen and name not in dups:
                dups.append(name)
            seen.add(name)
        if dups:
            raise ValueError(f"`names` must be unique; got duplicates {dups}")

        arrays = [_as_kernel(a, f"`kernels[{n!r}]`") for a, n in zip(arrays, names)]
        size = (max(a.shape[0] for a in arrays), max(a.shape[1] for a in arrays))
        _check_taps(len(arrays), size, "`kernels`", f"{len(arrays)} kernels, the largest {size[0]}x{size[1]}")
        stack = np.stack([a if a.shape == size else _place(a, size) for a in arrays])
        stack.flags.writeable = False

        if dilations is None:
            dilations = [(1, 1)] * len(arrays)
        else:
            if isinstance(dilations, (str, bytes)) or not hasattr(dilations, "__iter__"):
                raise TypeError(f"`dilations` must be a sequence with one rate per kernel; got {_show(dilations)}")
            dilations = list(dilations)
            if len(dilations) != len(arrays):
                raise ValueError(f"`dilations` must have one entry per kernel ({len(arrays)}); got {len(dilations)}")
            dilations = [as_pair(d, f"dilations[{i}]") for i, d in enumerate(dilations)]
            for i, d in enumerate(dilations):
                check_dilation(size, d, f"dilations[{i}]")

        self._kernels = stack
        self._names = tuple(names)
        self._index = {n: i for i, n in enumerate(self._names)}
        self._dilations = tuple(dilations)  # type: ignore[arg-type]  # pairs: as_pair checked them

    # -- basic protocol ------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """tuple of str: the filter names, in order."""
        return self._names

    @property
    def kernels(self) -> npt.NDArray[np.float64]:
        """ndarray, shape (F, kh, kw), float64: the (padded) kernels; read-only."""
        return self._kernels

    @property
    def dilations(self) -> tuple[tuple[int, int], ...]:
        """tuple of (int, int): the dilation rate of every filter."""
        return self._dilations

    @property
    def kernel_size(self) -> tuple[int, int]:
        """(int, int): the common kernel shape ``(kh, kw)``."""
        return self._kernels.shape[1:]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[npt.NDArray[np.float64]]:
        """Iterate over the kernels (2-D read-only arrays), in order."""
        return iter(self._kernels)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._index

    def items(self) -> Iterator[tuple[str, npt.NDArray[np.float64]]]:
        """Iterate over ``(name, kernel)`` pairs, in order."""
        return zip(self._names, self._kernels)

    def _position(self, key):
        if isinstance(key, str):
            try:
                return self._index[key]
            except KeyError:
                raise KeyError(f"no filter named {key!r} in this bank; names are {list(self._names)}") from None
        if _is_int(key):
            n = len(self)
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"filter index {i} is out of range for a bank of {n} filters")
            return i % n
        raise TypeError(f"a filter bank is indexed by int, str, slice or a sequence of them; got {_show(key)}")

    @overload
    def __getitem__(self, key: str | Int) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, key: slice | Iterable[str | Int]) -> "FilterBank": ...
    def __getitem__(self, key: str | Int | slice | Iterable[str | Int]) -> "npt.NDArray[np.float64] | FilterBank":
        """``bank[i]`` / ``bank['name']`` -> kernel; slice or list -> sub-bank."""
        if isinstance(key, str) or _is_int(key):
            return self._kernels[self._position(key)]
        if isinstance(key, slice):
            idx = list(range(len(self)))[key]
        elif isinstance(key, (list, tuple, np.ndarray)):
            items = key.tolist() if isinstance(key, np.ndarray) else list(key)
            idx = [self._position(k) for k in items]
        else:
            raise TypeError(f"a filter bank is indexed by int, str, slice or a sequence of them; got {_show(key)}")
        if not idx:
            raise IndexError(f"the selection {_show(key)} selects no filter")
        return FilterBank(
            self._kernels[idx], names=[self._names[i] for i in idx], dilations=[self._dilations[i] for i in idx]
        )

    def __repr__(self) -> str:
        n = len(self)
        names = list(self._names)
        shown = ", ".join(names if n <= 6 else names[:3] + ["..."] + names[-2:])
        kh, kw = self.kernel_size
        text = f"{type(self).__name__}({n} filter{'s' if n != 1 else ''} of {kh}x{kw}: {shown}"
        rates = list(dict.fromkeys(self._dilations))
        if rates != [(1, 1)]:
            text += "; dilations " + ", ".join(_rate_label(r) for r in rates)
        return text + ")"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilterBank):
            return NotImplemented
        return (
            self._names == other._names
            and self._dilations == other._dilations
            and self._kernels.shape == other._kernels.shape
            and bool(np.array_equal(self._kernels, other._kernels))
        )

    def __add__(self, other: "FilterBank") -> "FilterBank":
        """Concatenate two banks (``self`` first); duplicate names are refused."""
        if not isinstance(other, FilterBank):
            return NotImplemented
        dups = [n for n in other._names if n in self._index]
        if dups:
            raise ValueError(f"cannot concatenate filter banks with duplicate names: {dups}")
        return FilterBank(
            list(self._kernels) + list(other._kernels),
            names=self._names + other._names,
            dilations=self._dilations + other._dilations,
        )

    # -- engine interface ------------------------------------------------------------------

    def weights(
        self, in_channels: Int, per_channel: Bool = True, dtype: npt.DTypeLike | None = np.float32
    ) -> tuple[FloatArray, int]:
        """Weight array and ``groups`` for :func:`imgconv._engine.correlate` / :func:`imgconv.conv2d`.

        Parameters
        ----------
        in_channels : int
            Number of image channels ``C`` (1 for a grey image).
        per_channel : bool, default True
            True: every filter is applied to every channel separately (depthwise).
            False: every filter is applied to the channel mean.
        dtype : {numpy.float32, numpy.float64}, default numpy.float32

        Returns
        -------
        weight : ndarray, C-contiguous
            ``per_channel=True``: shape ``(C * F, 1, kh, kw)`` with
            ``weight[c * F + f, 0] = kernel_f``; output channel ``c * F + f`` is
            filter ``f`` on channel ``c``.
            ``per_channel=False``: shape ``(F, C, kh, kw)`` with
            ``weight[f, c] = kernel_f / C``, so output channel ``f`` is filter ``f``
            applied to the mean of the channels.
        groups : int
            ``C`` for ``per_channel=True``, 1 otherwise.

        Notes
        -----
        The weight does not carry the per-filter :attr:`dilations`; :meth:`apply`
        makes one engine call per dilation rate.
        """
        in_channels = as_int(in_channels, "in_channels", minimum=1)
        per_channel = as_bool(per_channel, "per_channel")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"`dtype` must be float32 or float64; got {_show(dtype)}") from None
        if dt not in (np.float32, np.float64):
            raise TypeError(f"`dtype` must be float32 or float64; got {dt}")
        return _engine_weights(self._kernels, in_channels, per_channel, dt)

    def at_dilations(self, rates: Iterable[IntPair]) -> "FilterBank":
        """The bank repeated at several dilation rates (a multi-rate, "atrous" bank).

        Parameters
        ----------
        rates : sequence of int or (int, int)
            Dilation rates; each positive.

        Returns
        -------
        bank : FilterBank
            ``len(rates) * F`` filters (at most :data:`MAX_BANK_TAPS` taps in
            all), rate-major: all filters at ``rates[0]``,
            then all at ``rates[1]``, ...  Names get the suffix ``'@d<rate>'``
            (``'sobel_h@d2'``, or ``'sobel_h@d2x3'`` for a pair); the dilation of
            each filter is its current dilation times the rate.

        Examples
        --------
        >>> from imgconv import banks
        >>> banks.edges()[["sobel_h", "sobel_v"]].at_dilations([1, 2]).names
        ('sobel_h@d1', 'sobel_v@d1', 'sobel_h@d2', 'sobel_v@d2')
        """
        if isinstance(rates, (str, bytes)) or not hasattr(rates, "__iter__"):
            raise TypeError(f"`rates` must be a sequence of positive ints or pairs; got {_show(rates)}")
        rates = [as_pair(r, f"rates[{i}]") for i, r in enumerate(rates)]
        if not rates:
            raise ValueError("`rates` must contain at least one rate; got none")
        for i, r in enumerate(rates):
            for d in dict.fromkeys(self._dilations):
                check_dilation(self.kernel_size, (d[0] * r[0], d[1] * r[1]), f"rates[{i}]", r)  # type: ignore[index]
        _check_taps(len(rates) * len(self), self.kernel_size, "`rates`", f"{len(rates)} rates for {len(self)} filters")
        names, dilations, stacks = [], [], []
        for r in rates:
            names += [f"{n}@d{_rate_label(r)}" for n in self._names]
            dilations += [(d[0] * r[0], d[1] * r[1]) for d in self._dilations]  # type: ignore[index]
            stacks.append(self._kernels)
        return FilterBank(np.concatenate(stacks), names=names, dilations=dilations)

    def apply(
        self,
        image: npt.ArrayLike,
        *,
        dilation: IntPair = 1,
        mode: ScipyMode = "reflect",
        cval: Real = 0.0,
        channel_axis: Int | None = None,
        per_channel: Bool = True,
        num_threads: SupportsIndex | None = None,
        method: Method = "auto",
    ) -> FloatArray:
        """Filter an image with every kernel of the bank ('same' output size).

        Parameters
        ----------
        image : ndarray, shape (H, W), or 3-D with a channel axis
            Grey image, or colour image whose channel axis is `channel_axis`.
            bool, integer or float.
        dilation : int or (int, int), default 1, keyword-only
            Extra dilation, multiplied with each filter's own rate (the product
            must keep each filter within :data:`imgconv.kernels.MAX_KERNEL_SIZE`
            pixels per axis, see the module notes).
        mode : {'constant', 'grid-constant', 'grid-mirror', 'grid-wrap', 'mirror', 'nearest', 'reflect', 'wrap'}
            Border handling with scipy.ndimage / scikit-image names (default
            'reflect': half-sample symmetric, ``d c b a | a b c d | d c b a``).
        cval : float, default 0.0
            Value outside the image for ``mode='constant'``, in the units of the
            converted image (e.g. 1.0 is white for a uint8 image).
        channel_axis : int, optional
            Axis of `image` holding channels.  None (default): `image` must be
            2-D and every axis is spatial.
        per_channel : bool, default True
            True: filter each channel separately.  False: filter the channel
            mean (see :meth:`weights`).
        num_threads : int, optional
            Threads for the engine; None uses :func:`imgconv.get_num_threads`.
        method : {'auto', 'direct', 'fft'}, default 'auto'
            Algorithm (``scipy.signal.convolve``'s convention); 'auto' lets the
            engine's planner choose, see :func:`imgconv.choose_method`.

        Returns
        -------
        responses : ndarray, C-contiguous
            The filter axis is last: ``(H, W, F)`` for a grey image or with
            ``per_channel=False``; ``(H, W, C, F)`` for a colour image with
            ``per_channel=True`` (the two spatial axes keep their order, the
            channel axis moves after them).  float64 for float64 images, float32
            otherwise.

        Raises
        ------
        TypeError, ValueError
            For a non-real image, wrong ndim, `channel_axis` out of range, empty
            spatial axes, unknown `mode`, bad `dilation`, `cval`, `per_channel`
            or `num_threads`.

        Notes
        -----
        Compute dtype: float64 images compute in float64; float32/float16, bool
        and integer images of at most 16 bits in float32, integers being scaled
        as :func:`skimage.util.img_as_float32` does (uint8 255 -> 1.0, int16
        -32768 -> -1.0); wider integers are scaled in float64.  uint8 and uint16
        images are read as stored, the scaling being folded into the weights
        (no float copy of the image).

        Output size: ``'same'`` padding as PyTorch: with ``T = d (k - 1)`` per axis
        (``d`` the effective dilation), ``T // 2`` rows/columns before and
        ``T - T // 2`` after, so even kernels put the extra row at the bottom
        and the extra column at the right.  At dilation 1 and odd kernel sizes
        the result equals ``scipy.ndimage.correlate(image, kernel, mode=mode,
        cval=cval)`` for every filter.

        One :func:`imgconv._engine.correlate` call is made per distinct effective
        dilation rate; responses are returned in filter order.
        """
        # uint8/uint16 read as stored (the engine applies `scale`); channels as one multichannel image
        layout = ChannelLayout(image, channel_axis)
        x, scale, channel_axis = layout.channels_first, layout.scale, layout.channel_axis
        _, c, h, w = x.shape
        dil = as_pair(dilation, "dilation")
        engine_mode = check_scipy_mode(mode)
        cval = as_cval(cval)
        per_channel = as_bool(per_channel, "per_channel")
        threads = effective_num_threads(num_threads)
        _engine.check_method(method)

        dtype = layout.dtype
        n_filters = len(self)
        groups_by_rate: dict[tuple[int, int], list[int]] = {}
        for f, d in enumerate(self._dilations):
            groups_by_rate.setdefault((d[0] * dil[0], d[1] * dil[1]), []).append(f)
        for rate in groups_by_rate:
            check_dilation(self.kernel_size, rate, "dilation", dilation)
        out_c = c if per_channel else 1
        out = np.empty((out_c, n_filters, h, w), dtype=dtype)
        # one rate (most banks): the engine fills `out` itself, no copy of every response
        whole = out.reshape(1, out_c * n_filters, h, w) if len(groups_by_rate) == 1 else None
        for rate, idx in groups_by_rate.items():
            stack = self._kernels if len(idx) == n_filters else self._kernels[idx]
            with np.errstate(over="ignore"):
                weight, groups = _engine_weights(stack, c, per_channel, dtype)
            if not np.all(np.isfinite(weight)):  # float64 taps beyond float32's range become inf
                largest = float(np.max(np.abs(stack)))
                raise ValueError(
                    f"`kernels` must be finite in the compute dtype {dtype} (magnitudes up to "
                    f"{np.finfo(dtype).max:.4g}); got a tap of magnitude {largest:.4g}"
                )
            y = _engine.correlate(
                x,
                weight,
                pads=same_pads(self.kernel_size, rate),
                mode=engine_mode,
                cval=cval,
                dilation=rate,
                groups=groups,
                num_threads=threads,
                scale=scale,
                method=method,
                out=whole,
            )
            if whole is None:
                out[:, idx] = y.reshape(out_c, len(idx), h, w)
        # the filter axis last, in threads (NumPy's transposed copy of a 48-filter 2048² stack took 1.5 s
        # of a 3 s call; this 0.4 s)
        single = channel_axis is None or not per_channel
        result = np.empty((h, w, n_filters) if single else (h, w, out_c, n_filters), dtype)
        _engine.interleave(out.reshape(out_c * n_filters, h, w), result.reshape(h, w, -1), threads)
        return result


# --------------------------------------------------------------------------------------
# standard banks
# --------------------------------------------------------------------------------------


def _normalise(f):
    """makeLMfilters.m's ``normalise``: subtract the mean, divide by the L1 norm."""
    f = f - f.mean()
    return f / np.abs(f).sum()


def _check_support(support, n_filters):
    if not _is_int(support):
        raise TypeError(f"`support` must be an odd positive int; got {_show(support)} of type {type(support).__name__}")
    if support < 1 or support % 2 == 0:
        raise ValueError(f"`support` must be an odd positive int; got {_show(support)}")
    if support > MAX_KERNEL_SIZE:
        raise ValueError(
            f"`support` must be at most {MAX_KERNEL_SIZE} (imgconv.kernels.MAX_KERNEL_SIZE); got {_show(support)}"
        )
    _check_taps(n_filters, (int(support), int(support)), "`support`", f"support={int(support)}")
    return int(support)


def _fmt(value):
    return f"{value:.3g}"


def _deg(theta):
    return f"{round(math.degrees(theta), 2):g}"


def edges() -> FilterBank:
    """The six 3x3 edge kernels of scikit-image as a bank.

    Returns
    -------
    bank : FilterBank
        Filters ``sobel_h, sobel_v, scharr_h, scharr_v, prewitt_h, prewitt_v``
        (from :mod:`imgconv.kernels`); applying the bank with the default
        ``mode='reflect'`` reproduces :func:`skimage.filters.sobel_h` etc.

    References
    ----------
    .. [1] I. Sobel and G. Feldman, "A 3x3 isotropic gradient operator for image
           processing", Stanford AI Project, 1968.
    .. [2] H. Scharr, "Optimal operators in digital image processing", PhD thesis,
           Heidelberg University, 2000.
    .. [3] J. M. S. Prewitt, "Object enhancement and extraction", in Picture
           Processing and Psychopictorics, Academic Press, 1970.
    """
    names = ("sobel_h", "sobel_v", "scharr_h", "scharr_v", "prewitt_h", "prewitt_v")
    return FilterBank({n: getattr(_kernels, n)() for n in names})


def gabor(
    frequencies: Real | Iterable[Real] = (0.1, 0.2, 0.4),
    n_orientations: Int = 6,
    *,
    bandwidth: Real = 1,
    n_stds: Real = 3,
    part: Literal["real", "imag", "both"] = "real",
) -> FilterBank:
    """Bank of Gabor filters at several frequencies and orientations.

    Parameters
    ----------
    frequencies : sequence of float, default (0.1, 0.2, 0.4)
        Spatial frequencies in cycles per pixel; positive.
    n_orientations : int, default 6
        Orientations ``theta_k = pi * k / n_orientations``, ``k = 0 .. n - 1``
        (half a turn: the real part at ``theta + pi`` equals the one at ``theta``);
        at most 360.
    bandwidth, n_stds : float, keyword-only
        As in :func:`imgconv.kernels.gabor` / :func:`skimage.filters.gabor_kernel`.
    part : {'real', 'imag', 'both'}, default 'real', keyword-only
        Which parts to include.  'both' interleaves real and imaginary parts
        (names end in ``_re`` / ``_im``).

    Returns
    -------
    bank : FilterBank
        Frequency-major order: all orientations of ``frequencies[0]``, then of
        ``frequencies[1]``, ...  Names ``'gabor_f<frequency>_t<degrees>'``.  Each
        kernel is the 180° rotation of :func:`imgconv.kernels.gabor`'s part (the
        correlation form of the kernel :func:`skimage.filters.gabor` convolves
        with), so ``apply`` reproduces ``skimage.filters.gabor(image, frequency,
        theta, bandwidth=..., n_stds=...)`` -- real and imaginary responses alike.
        Kernels of the smaller sizes are centred in the largest size, which
        must be at most :data:`imgconv.kernels.MAX_KERNEL_SIZE` per side (the
        frequencies at least about 0.001 at bandwidth 1); all of them together
        at most :data:`MAX_BANK_TAPS` taps.

    References
    ----------
    .. [1] J. G. Daugman, "Uncertainty relation for resolution in space, spatial
           frequency, and orientation optimized by two-dimensional visual cortical
           filters", JOSA A 2(7): 1160-1169, 1985. :DOI:`10.1364/JOSAA.2.001160`
    .. [2] A. K. Jain and F. Farrokhnia, "Unsupervised texture segmentation using
           Gabor filters", Pattern Recognition 24(12): 1167-1186, 1991.
           :DOI:`10.1016/0031-3203(91)90143-S`
    """
    if isinstance(frequencies, (str, bytes)) or not hasattr(frequencies, "__iter__"):
        if _is_real(frequencies):
            frequencies = [frequencies]
        else:
            raise TypeError(f"`frequencies` must be a sequence of positive numbers; got {_show(frequencies)}")
    frequencies = [as_real(f, "frequencies") for f in frequencies]
    if not frequencies:
        raise ValueError("`frequencies` must contain at least one frequency; got none")
    n_orientations = as_int(n_orientations, "n_orientations", minimum=1)
    if n_orientations > 360:  # half-degree steps; more is a typo, and a loop of kernels
        raise ValueError(f"`n_orientations` must be at most 360; got {_show(n_orientations)}")
    if part not in ("real", "imag", "both"):
        raise ValueError(f"`part` must be one of ['both', 'imag', 'real']; got {_show(part)}")
    # Sizes first, from the formula of kernels.gabor: a bank too large is refused before any kernel is built.
    bw, stds = as_real(bandwidth, "bandwidth"), as_real(n_stds, "n_stds")
    thetas = [math.pi * k / n_orientations for k in range(n_orientations)]
    half = [0, 0]
    for freq in frequencies:
        sx, sy = gabor_sigmas(freq, bw)
        for theta in thetas:
            half = [max(h, g) for h, g in zip(half, gabor_half_size(theta, sx, sy, stds))]
    size = (2 * half[0] + 1, 2 * half[1] + 1)
    check_kernel_size(max(size), "a Gabor kernel", frequencies=min(frequencies), bandwidth=bw, n_stds=stds)
    n_filters = len(frequencies) * n_orientations * (2 if part == "both" else 1)
    _check_taps(
        n_filters,
        size,
        "`frequencies` and `n_orientations`",
        f"{len(frequencies)} frequencies, n_orientations={n_orientations}, part={part!r}",
    )
    kernels, names = [], []
    for freq in frequencies:
        for theta in thetas:
            real, imag = _kernels.gabor(freq, theta=theta, bandwidth=bandwidth, n_stds=n_stds)  # type: ignore[arg-type]
            base = f"gabor_f{freq:g}_t{_deg(theta)}"  # type: ignore[str-bytes-safe]
            if part in ("real", "both"):
                kernels.append(real[::-1, ::-1])
                names.append(base + ("_re" if part == "both" else ""))
            if part in ("imag", "both"):
                kernels.append(imag[::-1, ::-1])
                names.append(base + "_im")
    return FilterBank(kernels, names=names)


def _oriented(sigmas, n_orientations, support, prefix):
    """Edge and bar filters of makeLMfilters.m / makeRFSfilters.m: (edges, bars, names...)."""
    edges_, bars, edge_names, bar_names = [], [], [], []
    for s in sigmas:
        for k in range(n_orientations):
            theta = math.pi * k / n_orientations
            for order, out, names, kind in (((1, 0), edges_, edge_names, "edge"), ((2, 0), bars, bar_names, "bar")):
                f = _kernels.gaussian_derivative((s, 3 * s), order, theta, size=support)
                out.append(_normalise(f))
                names.append(f"{prefix}_{kind}_s{_fmt(s)}_t{_deg(theta)}")
    return edges_, bars, edge_names, bar_names


def _gaussian_filter(sigma, support, zero_mean):
    g = _kernels.gaussian_derivative(sigma, (0, 0), size=support)
    return _normalise(g) if zero_mean else g / g.sum()


def leung_malik(
    scale: Literal["small", "large"] = "small", *, support: Int = 49, zero_mean_gaussians: Bool = False
) -> FilterBank:
    """The Leung-Malik (LM) filter bank: 48 filters.

    Parameters
    ----------
    scale : {'small', 'large'}, default 'small'
        Basic scales ``sigma``: LM Small (LMS) uses ``1, sqrt(2), 2, 2 sqrt(2)``,
        LM Large (LML) ``sqrt(2), 2, 2 sqrt(2), 4`` (the values hard-coded in
        ``makeLMfilters.m``).
    support : int, default 49, keyword-only
        Odd side length of every filter; at most 835 (48 filters within :data:`MAX_BANK_TAPS`).
    zero_mean_gaussians : bool, default False, keyword-only
        ``makeLMfilters.m`` passes its four Gaussians through the same
        ``normalise`` as the other filters (mean removed, L1 = 1), which makes
        them zero-mean; set True to reproduce that.  By default the Gaussians
        are low-pass, summing to 1.

    Returns
    -------
    bank : FilterBank
        48 filters of ``support x support`` in the layout of ``makeLMfilters.m``:

        * 0-17: first derivative of an elongated Gaussian (``sigma_x = 3 sigma_y``,
          ``sigma_y = sigma``; "edge"), for each of the first three basic
          scales (scale-major) at 6 orientations ``theta = pi k / 6``;
        * 18-35: the corresponding second derivatives ("bar");
        * 36-47: for each basic scale: a Gaussian (``sigma``), a LoG at
          ``sigma`` and a LoG at ``3 sigma``.

        Every filter except the Gaussians has zero mean and L1 norm 1 (the
        reference ``normalise``).  Names: ``'lm_edge_s<sigma>_t<degrees>'``,
        ``'lm_bar_...'``, ``'lm_gaussian_s<sigma>'``, ``'lm_log_s<sigma>'``.

    Notes
    -----
    Orientation follows the reference code: ``theta`` runs from ``+x`` towards
    ``+y`` (clockwise as displayed); the edge filter at ``theta = 0`` responds
    positively where intensity increases downwards (see
    :func:`imgconv.kernels.gaussian_derivative`).  The reference code samples the
    LoG with MATLAB's ``fspecial('log')``, i.e. :func:`imgconv.kernels.log`
    with ``size=support``.

    References
    ----------
    .. [1] T. Leung and J. Malik, "Representing and recognizing the visual
           appearance of materials using three-dimensional textons", IJCV 43(1):
           29-44, 2001. :DOI:`10.1023/A:1011126920638`
    .. [2] Visual Geometry Group, Oxford, "Filter banks" and ``makeLMfilters.m``,
           https://www.robots.ox.ac.uk/~vgg/research/texclass/filters.html
    """
    if scale not in ("small", "large"):
        raise ValueError(f"`scale` must be one of ['large', 'small']; got {_show(scale)}")
    support = _check_support(support, 48)
    zero_mean_gaussians = as_bool(zero_mean_gaussians, "zero_mean_gaussians")
    r2 = math.sqrt(2)
    basic = (1.0, r2, 2.0, 2 * r2) if scale == "small" else (r2, 2.0, 2 * r2, 4.0)
    edges_, bars, edge_names, bar_names = _oriented(basic[:3], 6, support, "lm")
    rot, rot_names = [], []
    for s in basic:
        rot += [
            _gaussian_filter(s, support, zero_mean_gaussians),
            _normalise(_kernels.log(s, size=support)),
            _normalise(_kernels.log(3 * s, size=support)),
        ]
        rot_names += [f"lm_gaussian_s{_fmt(s)}", f"lm_log_s{_fmt(s)}", f"lm_log_s{_fmt(3 * s)}"]
    return FilterBank(edges_ + bars + rot, names=edge_names + bar_names + rot_names)


#: (sigma, tau) pairs of the Schmid bank, in order.
_SCHMID_PARAMS = (
    (2, 1),
    (4, 1),
    (4, 2),
    (6, 1),
    (6, 2),
    (6, 3),
    (8, 1),
    (8, 2),
    (8, 3),
    (10, 1),
    (10, 2),
    (10, 3),
    (10, 4),
)


def schmid(*, support: Int = 49) -> FilterBank:
    """The Schmid (S) filter bank: 13 rotationally invariant filters.

    Parameters
    ----------
    support : int, default 49, keyword-only
        Odd side length of every filter; at most 1605 (13 filters within :data:`MAX_BANK_TAPS`).

    Returns
    -------
    bank : FilterBank
        ``F(r; sigma, tau) = cos(pi tau r / sigma) exp(-r**2 / (2 sigma**2))``
        sampled at ``r = sqrt(x**2 + y**2)``, mean removed (the ``F0`` term of the
        paper, giving a zero DC response) and divided by its L1 norm, for
        ``(sigma, tau)`` = (2,1), (4,1), (4,2), (6,1), (6,2), (6,3), (8,1), (8,2),
        (8,3), (10,1), (10,2), (10,3), (10,4).  Names ``'schmid_s<sigma>_t<tau>'``.

    References
    ----------
    .. [1] C. Schmid, "Constructing models for content-based image retrieval",
           CVPR 2001, vol. 2, pp. 39-45. :DOI:`10.1109/CVPR.2001.990922`
    .. [2] Visual Geometry Group, Oxford, ``makeSfilters.m``,
           https://www.robots.ox.ac.uk/~vgg/research/texclass/filters.html
    """
    support = _check_support(support, len(_SCHMID_PARAMS))
    h = (support - 1) // 2
    y, x = np.mgrid[-h : h + 1, -h : h + 1].astype(np.float64)
    r = np.sqrt(x * x + y * y)
    kernels, names = [], []
    for sigma, tau in _SCHMID_PARAMS:
        f = np.cos(r * (np.pi * tau / sigma)) * np.exp(-(r * r) / (2 * sigma * sigma))
        kernels.append(_normalise(f))
        names.append(f"schmid_s{sigma}_t{tau}")
    return FilterBank(kernels, names=names)


def mr8(*, support: Int = 49, zero_mean_gaussian: Bool = False) -> FilterBank:
    """The RFS filter bank (38 filters) from which the MR8 responses are computed.

    Parameters
    ----------
    support : int, default 49, keyword-only
        Odd side length of every filter; at most 939 (38 filters within :data:`MAX_BANK_TAPS`).
    zero_mean_gaussian : bool, default False, keyword-only
        ``makeRFSfilters.m`` removes the mean of its Gaussian too; set True to
        reproduce that.  By default the Gaussian sums to 1.

    Returns
    -------
    bank : FilterBank
        38 filters in the layout of ``makeRFSfilters.m``:

        * 0-17: edge filters (first derivative, ``(sigma_y, sigma_x)`` =
          (1, 3), (2, 6), (4, 12), scale-major) at 6 orientations
          ``theta = pi k / 6``;
        * 18-35: bar filters (second derivative), same scales and orientations;
        * 36: Gaussian, ``sigma = 10``;  37: LoG, ``sigma = 10``.

        Oriented filters and the LoG have zero mean and L1 norm 1.  Names
        ``'mr8_edge_s<sigma>_t<degrees>'``, ``'mr8_bar_...'``,
        ``'mr8_gaussian_s10'``, ``'mr8_log_s10'``.

    See Also
    --------
    mr8_responses, mr8_reduce

    References
    ----------
    .. [1] M. Varma and A. Zisserman, "A statistical approach to texture
           classification from single images", IJCV 62(1-2): 61-81, 2005.
           :DOI:`10.1007/s11263-005-4635-4`
    .. [2] Visual Geometry Group, Oxford, ``makeRFSfilters.m``,
           https://www.robots.ox.ac.uk/~vgg/research/texclass/filters.html
    """
    support = _check_support(support, 38)
    zero_mean_gaussian = as_bool(zero_mean_gaussian, "zero_mean_gaussian")
    edges_, bars, edge_names, bar_names = _oriented((1.0, 2.0, 4.0), 6, support, "mr8")
    rot = [_gaussian_filter(10.0, support, zero_mean_gaussian), _normalise(_kernels.log(10.0, size=support))]
    return FilterBank(edges_ + bars + rot, names=edge_names + bar_names + ["mr8_gaussian_s10", "mr8_log_s10"])


def mr8_reduce(responses: npt.ArrayLike) -> FloatArray:
    """Collapse the 38 RFS responses to the 8 rotation-invariant MR8 responses.

    Parameters
    ----------
    responses : ndarray, shape (..., 38)
        Responses of :func:`mr8` in its order (filter axis last, as returned by
        :meth:`FilterBank.apply`).

    Returns
    -------
    mr8 : ndarray, shape (..., 8)
        In the order of :data:`MR8_RESPONSE_NAMES`: for each scale the maximum
        over the 6 orientations of the *absolute* edge response (3), then of the
        (signed) bar response (3), then the Gaussian and the LoG response.

    Notes
    -----
    The edge filters cover orientations 0-150°; a filter at ``theta + 180°`` is
    the negated filter at ``theta``, so the maximum of absolute values is what
    makes the edge responses invariant to image rotations by multiples of 30°
    (this is what the VGG ``MR8fast`` code does).  Bar filters are symmetric
    under 180° rotation, so their signed maximum is already invariant.
    """
    responses = np.asarray(responses)
    if responses.ndim < 1 or responses.shape[-1] != 38:
        raise ValueError(f"`responses` must have the 38 RFS responses on its last axis; got shape {responses.shape}")
    lead = responses.shape[:-1]
    edge = np.abs(responses[..., :18]).reshape(lead + (3, 6)).max(axis=-1)
    bar = responses[..., 18:36].reshape(lead + (3, 6)).max(axis=-1)
    return np.concatenate([edge, bar, responses[..., 36:38]], axis=-1)


def mr8_responses(
    image: npt.ArrayLike,
    *,
    mode: ScipyMode = "reflect",
    cval: Real = 0.0,
    channel_axis: Int | None = None,
    per_channel: Bool = True,
    num_threads: SupportsIndex | None = None,
    support: Int = 49,
    zero_mean_gaussian: Bool = False,
) -> FloatArray:
    """The 8 maximum responses (MR8) of an image.

    Parameters
    ----------
    image : ndarray
        As for :meth:`FilterBank.apply`.
    mode, cval, channel_axis, per_channel, num_threads
        As for :meth:`FilterBank.apply`.
    support, zero_mean_gaussian
        As for :func:`mr8`.

    Returns
    -------
    responses : ndarray, shape (H, W, 8) or (H, W, C, 8)
        ``mr8_reduce(mr8().apply(image, ...))``; order :data:`MR8_RESPONSE_NAMES`.

    References
    ----------
    .. [1] M. Varma and A. Zisserman, "A statistical approach to texture
           classification from single images", IJCV 62(1-2): 61-81, 2005.
           :DOI:`10.1007/s11263-005-4635-4`
    """
    bank = mr8(support=support, zero_mean_gaussian=zero_mean_gaussian)
    return mr8_reduce(
        bank.apply(
            image, mode=mode, cval=cval, channel_axis=channel_axis, per_channel=per_channel, num_threads=num_threads
        )
    )
