"""Normalisers for hyper-parameters, shared by every public layer.

Unlike PyTorch's ``_ntuple`` these check length, type and sign, and every message
names the parameter and repeats the value received.

The one home of the parameter checkers (``as_int``, ``as_pair``, ``as_real``,
``check_positive_real``, ``as_origin``, ``as_cval``, ``as_bool``, ...): the Python
API and the spec reader both import them from here.

Also the one home of the kernel-size rules (:data:`MAX_KERNEL_SIZE`, the
Gaussian radius, the Gabor half-size), so that :mod:`imgconv.kernels`,
:mod:`imgconv.banks` and :mod:`imgconv.pipeline` refuse the same kernels with
the same message before allocating anything.
"""

import math
import numbers

import numpy as np

__all__ = [
    "MAX_KERNEL_SIZE",
    "as_array",
    "as_bool",
    "as_cval",
    "as_int",
    "as_origin",
    "as_padding",
    "as_pair",
    "as_real",
    "as_real_pair",
    "check_dilation",
    "check_dilations",
    "check_float_dtypes",
    "check_kernel_size",
    "check_pass_taps",
    "check_positive_real",
    "check_sigma_pair",
    "check_sigmas",
    "describe_params",
    "gabor_half_size",
    "gabor_sigmas",
    "is_int",
    "is_real",
    "show",
    "to_float",
]

#: Largest kernel, in pixels along one axis, that imgconv builds from parameters:
#: a kernel made from a `sigma`, a `frequency` or a `support`, and any kernel
#: spread out by a dilation ``d > 1`` (its extent ``d * (k - 1) + 1``).  4097
#: taps hold a Gaussian of sigma 512 (truncate 4) or a Gabor kernel down to
#: frequency 0.001 (bandwidth 1); a 4097 x 4097 float64 kernel is already 134 MB,
#: and a spec asking for more (sigma 1e9: 8e9 taps) is a typo or hostile, not a filter.
MAX_KERNEL_SIZE = 4097

#: Largest 1-D kernel, in taps, that :mod:`imgconv.ndimage` and :mod:`imgconv.feature` build
#: from a scale (a Gaussian's `sigma`, `truncate` or `radius`, a uniform filter's `size`):
#: scipy.ndimage's own limit is the memory, so this is far past any filter of a real image
#: (a Gaussian of sigma 131072), and a call asking for more is refused before its weights
#: (8 MB at the limit) are allocated, not after a MemoryError of gigabytes.
MAX_PASS_TAPS = 2**20 + 1


def is_int(value):
    """True for Python and NumPy integers, False for bools."""
    if type(value) is int:  # the common case, without the ABC check (bool is a subclass, not int itself)
        return True
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value):
    """True for Python and NumPy real numbers, False for bools."""
    if type(value) is float or type(value) is int:  # the common cases, without the ABC check
        return True
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _digits(value):
    """Decimal digits of a (huge) int, without str(), which refuses ints of more than 4300 digits."""
    value = abs(int(value))
    n = int(math.log10(value)) + 1
    if 10 ** (n - 1) > value:  # log10 rounded up near a power of ten
        n -= 1
    elif 10**n <= value:
        n += 1
    return n


def show(value):
    """Readable form of a user value for error messages (no ``np.float64(...)``, no huge dumps)."""
    if is_int(value) and abs(int(value)) >= 10**77:  # would be cut at 80 characters anyway
        return f"an int of {_digits(value)} digits"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return repr(value.item())
        return repr(tuple(value.tolist())) if value.ndim == 1 and value.size <= 8 else (f"array of shape {value.shape}")
    if isinstance(value, np.generic):
        return repr(value.item())
    try:
        if isinstance(value, (tuple, list)) and any(is_int(v) and abs(int(v)) >= 10**77 for v in value[:8]):
            text = "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
        elif isinstance(value, (tuple, list)):
            text = repr(tuple(v.item() if isinstance(v, np.generic) else v for v in value))
        else:
            text = repr(value)
    except (ValueError, RecursionError):  # an int of over 4300 digits inside, or nesting too deep to print
        return (
            f"a {type(value).__name__} of {len(value)} items"
            if isinstance(value, (tuple, list, dict))
            else (f"a {type(value).__name__}")
        )
    return text if len(text) <= 80 else text[:77] + "..."


def to_float(value):
    """float(value), with ints beyond the float range as +-inf instead of an OverflowError."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def as_array(value, name):
    """`value` as an ndarray; a TypeError naming `name` for things that are not arrays."""
    if isinstance(value, np.ndarray):
        return value
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"`{name}` must be an array; got {type(value).__name__}")
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"`{name}` must be an array; got {type(value).__name__} ({exc})") from None


def as_int(value, name, *, minimum=None, maximum=None):
    """Return `value` as a Python int, refusing floats, bools and strings (and values out of range)."""
    if not is_int(value):
        raise TypeError(f"`{name}` must be an int; got {show(value)} of type {type(value).__name__}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            rule = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        elif minimum is None:
            rule = f"an int <= {maximum}"
        else:
            rule = f"an int in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be {rule}; got {show(value)}")
    return value


def as_pair(value, name, *, minimum=1, odd=False, maximum=None):
    """Normalise an int, a 1-tuple or a pair to a tuple ``(h, w)`` of ints.

    Parameters
    ----------
    value : int or sequence of 1 or 2 ints
    name : str
        Parameter name used in error messages.
    minimum : int, default 1
        Smallest accepted component.
    odd : bool, default False
        Also require odd components (centred kernel sizes).
    maximum : int, optional
        Largest accepted component.

    Raises
    ------
    TypeError
        If a component is not an int (floats, bools and strings are refused).
    ValueError
        If the sequence length is not 1 or 2, or a component is below `minimum`
        or above `maximum`.
    """
    if type(value) is int:  # the common cases first: a plain int or a pair of plain ints
        pair = (value, value)
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        pair = value
    else:
        pair = None
    if pair is not None and pair[0] >= minimum and pair[1] >= minimum and not odd and maximum is None:
        return pair
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    rule = (
        "a positive int or a pair of positive ints" if minimum == 1 else (f"an int >= {minimum} or a pair of such ints")
    )
    if odd:
        rule = "an odd positive int or a pair of odd positive ints"
    if maximum is not None:
        rule += f", at most {maximum}"
    if is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list, np.ndarray)) and not isinstance(value, str):
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        if len(items) not in (1, 2):
            raise ValueError(f"`{name}` must be {rule}; got {show(value)} (length {len(items)})")
        if not all(is_int(v) for v in items):
            raise TypeError(f"`{name}` must be {rule}; got {show(value)}")
        pair = (int(items[0]), int(items[-1]))
    else:
        raise TypeError(f"`{name}` must be {rule}; got {show(value)} of type {type(value).__name__}")
    if (
        min(pair) < minimum
        or (odd and not all(v % 2 == 1 for v in pair))
        or (maximum is not None and max(pair) > maximum)
    ):
        raise ValueError(f"`{name}` must be {rule}; got {show(value)}")
    return pair


def as_padding(padding):
    """Normalise torch-style `padding`: 'same', 'valid', int, 1-tuple or pair.

    Returns either the string ``'same'``/``'valid'`` or a pair of non-negative ints.
    Negative padding is refused in every mode (imgconv departs from torch here).
    """
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(
                f"`padding` must be 'same', 'valid', an int or a pair of ints; got {padding!r} "
                "(strings are case-sensitive)"
            )
        return padding
    return as_pair(padding, "padding", minimum=0)


_FLOAT_DTYPES = frozenset((np.dtype(np.float32), np.dtype(np.float64)))


def _native_dtype(dtype):
    """`dtype` in native byte order (itself when it already is: no new dtype object)."""
    return dtype if dtype.isnative else dtype.newbyteorder("=")


def check_float_dtypes(**arrays):
    """Check that the given arrays share one float32/float64 dtype; return it.

    ``None`` entries are ignored.  The first array named decides the dtype; the
    message points integer and other inputs to ``astype(np.float32)`` or to
    :mod:`imgconv.filters`, which converts images.
    """
    items = [(name, a) for name, a in arrays.items() if a is not None]
    first_name, first = items[0]
    dtype = _native_dtype(first.dtype)
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"`{first_name}` must be float32 or float64; got dtype {dtype}. Convert with "
            f"`{first_name}.astype(np.float32)`, or use imgconv.filters, which converts images."
        )
    for name, a in items[1:]:
        if a.dtype is not dtype and _native_dtype(a.dtype) != dtype:
            raise TypeError(
                f"`{name}` must have the same dtype as `{first_name}` ({dtype}); got {a.dtype}. "
                "imgconv does not promote dtypes."
            )
    return dtype


def as_bool(value, name):
    """`value` as a bool; a TypeError naming `name` for anything but a Python or NumPy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool; got {show(value)} of type {type(value).__name__}")
    return bool(value)


def as_cval(cval):
    """A border value `cval` as a float (any real number, inf and NaN included)."""
    if not is_real(cval):
        raise TypeError(f"`cval` must be a real number; got {show(cval)} of type {type(cval).__name__}")
    return float(cval)


def as_origin(origin):
    """scipy's `origin`: an int or one int per spatial axis, as a pair (its range is checked with the kernel)."""
    if is_int(origin):
        return (int(origin), int(origin))
    if isinstance(origin, (tuple, list, np.ndarray)):
        items = list(np.asarray(origin).ravel().tolist()) if isinstance(origin, np.ndarray) else list(origin)
        if len(items) not in (1, 2):
            raise ValueError(
                f"`origin` must be an int or one int per spatial axis (2); got {show(origin)} (length {len(items)})"
            )
        if not all(is_int(v) for v in items):
            raise TypeError(f"`origin` must be an int or a pair of ints; got {show(origin)}")
        return (int(items[0]), int(items[-1]))
    raise TypeError(f"`origin` must be an int or a pair of ints; got {show(origin)} of type {type(origin).__name__}")


def check_positive_real(value, name):
    """A positive, finite real number as a float (the image filters' wording: "a positive real number")."""
    if not is_real(value):
        raise TypeError(f"`{name}` must be a positive real number; got {show(value)} of type {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be positive and finite; got {show(value)}")
    return value


def check_sigma_pair(sigma, name):
    """A positive scalar or a sequence of one or two positive reals (rows, columns), as a float pair."""
    if is_real(sigma):
        v = check_positive_real(sigma, name)
        return (v, v)
    if isinstance(sigma, (tuple, list, np.ndarray)):
        items = list(np.asarray(sigma).ravel().tolist()) if isinstance(sigma, np.ndarray) else list(sigma)
        if len(items) not in (1, 2):
            raise ValueError(
                f"`{name}` must be a positive number or one per spatial axis (2); got "
                f"{show(sigma)} (length {len(items)})"
            )
        if not all(is_real(v) for v in items):
            raise TypeError(f"`{name}` must be a positive number or a pair of positive numbers; got {show(sigma)}")
        if not all(math.isfinite(float(v)) and float(v) > 0 for v in items):
            raise ValueError(f"`{name}` must be positive and finite; got {show(sigma)}")
        return (float(items[0]), float(items[-1]))
    raise TypeError(
        f"`{name}` must be a positive number or a pair of positive numbers; got {show(sigma)} "
        f"of type {type(sigma).__name__}"
    )


def check_sigmas(sigma, ndim, name="sigma", *, per="spatial axis", broadcast=True):
    """Standard deviations of an N-D Gaussian: one non-negative, finite float per axis.

    Parameters
    ----------
    sigma : real or sequence of real
        One number for every axis, or one per axis (a 1-D array counts as a
        sequence, a 0-D array as a number).
    ndim : int
        Number of axes the sigmas are for.
    name : str, default 'sigma'
        Parameter name used in error messages.
    per : str, default 'spatial axis'
        What one sigma is for, in the messages ("one per spatial axis (3)").
    broadcast : bool, default True
        Also accept a sequence of one number (for every axis); False: a
        sequence must have exactly `ndim` items.

    Returns
    -------
    sigmas : tuple of float, length `ndim`
        0 meaning no smoothing along that axis.

    Raises
    ------
    TypeError
        If `sigma` is neither a real number nor a sequence of real numbers
        (bools and strings are refused).
    ValueError
        If the sequence has the wrong length, or a value is negative, NaN or
        infinite.  Each message names `name` and repeats the value.
    """
    if isinstance(sigma, np.ndarray) and sigma.ndim == 0:
        sigma = sigma[()]
    rule = f"a non-negative number or one per {per}"
    if is_real(sigma):
        items = [sigma]
    elif isinstance(sigma, (tuple, list, np.ndarray)):
        items = np.asarray(sigma).ravel().tolist() if isinstance(sigma, np.ndarray) else list(sigma)
        if not all(is_real(v) for v in items):
            raise TypeError(f"`{name}` must be {rule}; got {show(sigma)}")
        if len(items) != ndim and not (broadcast and len(items) == 1):
            raise ValueError(f"`{name}` must be {rule} ({ndim}); got {show(sigma)} (length {len(items)})")
    else:
        raise TypeError(f"`{name}` must be {rule}; got {show(sigma)} of type {type(sigma).__name__}")
    values = [to_float(v) for v in items]
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"`{name}` must be non-negative and finite; got {show(sigma)}")
    return tuple(values) * ndim if len(values) == 1 else tuple(values)


def as_real(value, name, *, rule="positive"):
    """Return `value` as a finite float obeying `rule` ('positive', 'non-negative' or 'finite').

    The kernel builders' checker: 0-d arrays are unwrapped and ints beyond the
    float range become +-inf (refused as not finite) instead of an OverflowError.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not is_real(value):
        raise TypeError(f"`{name}` must be a real number; got {show(value)} of type {type(value).__name__}")
    number = to_float(value)
    ok = math.isfinite(number) and (
        rule == "finite" or (rule == "positive" and number > 0) or (rule == "non-negative" and number >= 0)
    )
    if not ok:
        rule = "finite" if rule == "finite" else f"{rule} and finite"
        raise ValueError(f"`{name}` must be {rule}; got {show(number if math.isfinite(number) else value)}")
    return number


def as_real_pair(value, name, *, rule="positive"):
    """Normalise a real scalar or a sequence of 1 or 2 reals to a float pair ``(y, x)`` (rules of :func:`as_real`)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if is_real(value):
        v = as_real(value, name, rule=rule)
        return (v, v)
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        if len(items) not in (1, 2) or not all(is_real(v) for v in items):
            raise TypeError(f"`{name}` must be a real number or a pair of real numbers (y, x); got {show(value)}")
        pair = tuple(to_float(v) for v in (items[0], items[-1]))
        if not all(
            math.isfinite(v)
            and (rule == "finite" or (rule == "positive" and v > 0) or (rule == "non-negative" and v >= 0))
            for v in pair
        ):
            raise ValueError(f"`{name}` must be {rule} and finite; got {show(value)}")
        return pair
    raise TypeError(
        f"`{name}` must be a real number or a pair of real numbers (y, x); got {show(value)} "
        f"of type {type(value).__name__}"
    )


# --------------------------------------------------------------------------------------
# kernel sizes: computed in floats (an absurd sigma gives inf, not an OverflowError) and
# checked against MAX_KERNEL_SIZE before any array is allocated
# --------------------------------------------------------------------------------------


def _sigma_prefactor(bandwidth):
    # skimage.filters._gabor._sigma_prefactor, without its OverflowError (2.0 ** b for b > 1023) and
    # ZeroDivisionError (2.0 ** b == 1 for b < 1e-16): beyond 2 ** 60 the ratio is 1.0 exactly.
    b = bandwidth
    if b > 60:
        return 1.0 / np.pi * math.sqrt(math.log(2) / 2.0)
    if 2.0**b == 1.0:
        return math.inf
    return 1.0 / np.pi * math.sqrt(math.log(2) / 2.0) * (2.0**b + 1) / (2.0**b - 1)


def gabor_sigmas(frequency, bandwidth, sigma_x=None, sigma_y=None):
    """(sigma_x, sigma_y) of skimage.filters.gabor_kernel: the given ones, else from `bandwidth` / `frequency`."""
    default = _sigma_prefactor(bandwidth) / frequency
    return (default if sigma_x is None else sigma_x), (default if sigma_y is None else sigma_y)


def gabor_half_size(theta, sigma_x, sigma_y, n_stds):
    """(y0, x0) of skimage.filters.gabor_kernel (kernel ``(2 y0 + 1, 2 x0 + 1)``); inf for infinite widths."""
    ct, st = math.cos(theta), math.sin(theta)
    x0 = max(abs(n_stds * sigma_x * ct), abs(n_stds * sigma_y * st), 1)
    y0 = max(abs(n_stds * sigma_y * ct), abs(n_stds * sigma_x * st), 1)
    return tuple(math.ceil(h) if math.isfinite(h) else h for h in (y0, x0))


def describe_params(params):
    """("`a`, `b` and `c`", "a=1, b=2, c=3") for a message about the parameters in the mapping `params`."""
    names = [f"`{key}`" for key in params]
    names = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return names, ", ".join(f"{key}={show(value)}" for key, value in params.items())


def _taps(size):
    if is_int(size):
        return str(size) if size < 10**15 else f"about 10**{_digits(size) - 1}"
    return "infinitely many" if math.isinf(size) else (str(int(size)) if size < 1e15 else f"about {size:.3g}")


def _refuse_taps(taps, limit, what, along, limit_text, params):
    """The ValueError of a kernel of `taps` taps above `limit` (a number, possibly inf; NaN passes), naming `params`."""
    if taps <= limit:  # False for NaN too
        return
    names, got = describe_params(params)
    verb = "gives" if len(params) == 1 else "give"
    raise ValueError(f"{names} {verb} {what} of {_taps(taps)} taps{along}; {limit_text}; got {got}")


def check_kernel_size(size, what, **params):
    """Refuse a kernel of `size` taps along an axis (a number, possibly inf) above MAX_KERNEL_SIZE.

    `what` describes the kernel ("a Gaussian kernel"); `params` are the parameters that
    determine its size, named (and their values repeated) in the ValueError.
    """
    limit_text = f"imgconv builds kernels of at most {MAX_KERNEL_SIZE} taps per axis (imgconv.kernels.MAX_KERNEL_SIZE)"
    _refuse_taps(size, MAX_KERNEL_SIZE, what, " along an axis", limit_text, params)


def check_pass_taps(taps, what, /, **params):
    """Refuse a 1-D kernel of `taps` taps (a number, possibly inf) above MAX_PASS_TAPS, naming `params`."""
    limit_text = f"imgconv builds 1-D kernels of at most {MAX_PASS_TAPS} taps (imgconv._validation.MAX_PASS_TAPS)"
    _refuse_taps(taps, MAX_PASS_TAPS, what, "", limit_text, params)


def check_dilation(kernel_size, dilation, name="dilation", value=None):
    """Refuse a dilation that spreads a kernel over more than MAX_KERNEL_SIZE pixels along an axis.

    `kernel_size` and `dilation` are pairs ``(h, w)``.  Each rate must be at most
    MAX_KERNEL_SIZE, and a rate ``d > 1`` must keep the extent ``d * (k - 1) + 1`` within
    it (an undilated kernel is as large as the array it came from).  `value` is what the
    user passed, repeated in the message (default: `dilation`).
    """
    for k, d in zip(kernel_size, dilation):
        extent = d * (k - 1) + 1
        if d > MAX_KERNEL_SIZE or (d > 1 and extent > MAX_KERNEL_SIZE):
            shown = show(dilation if value is None else value)
            raise ValueError(
                f"`{name}` must keep a dilated kernel within {MAX_KERNEL_SIZE} pixels per axis "
                f"(d * (k - 1) + 1 <= imgconv.kernels.MAX_KERNEL_SIZE, and d <= {MAX_KERNEL_SIZE}); got {shown}, "
                f"which spreads a {kernel_size[0]}x{kernel_size[1]} kernel over {_taps(extent)} pixels"
            )


def check_dilations(dilation, ndim, name="dilation", *, kernel_sizes=None):
    """Tap spacings of an N-D separable filter: one positive int per spatial axis.

    The N-D counterpart of :func:`as_pair` and :func:`check_dilation`, for
    filters whose 1-D passes run along `ndim` axes.

    Parameters
    ----------
    dilation : int or sequence of int
        One spacing for every axis, or one per axis (a sequence of one is
        used for every axis, as :func:`as_pair` does).
    ndim : int
        Number of spatial axes.
    name : str, default 'dilation'
        Parameter name used in error messages.
    kernel_sizes : sequence of int, optional
        Taps of the kernel along each axis: a spacing ``d > 1`` must keep its
        extent ``d * (k - 1) + 1`` within :data:`MAX_KERNEL_SIZE`.

    Returns
    -------
    dilations : tuple of int, length `ndim`

    Raises
    ------
    TypeError
        If `dilation` or an item is not an int (bools, floats and strings are
        refused).
    ValueError
        If the sequence has the wrong length, a spacing is below 1 or above
        MAX_KERNEL_SIZE, or spreads a kernel beyond it.  Each message names
        `name` and repeats the value.
    """
    if isinstance(dilation, np.ndarray) and dilation.ndim == 0:
        dilation = dilation[()]
    rule = f"a positive int or one per spatial axis ({ndim})"
    if is_int(dilation):
        items = [dilation]
    elif isinstance(dilation, (tuple, list, np.ndarray)):
        items = dilation.ravel().tolist() if isinstance(dilation, np.ndarray) else list(dilation)
        if not all(is_int(v) for v in items):
            raise TypeError(f"`{name}` must be {rule}; got {show(dilation)}")
        if len(items) not in (1, ndim):
            raise ValueError(f"`{name}` must be {rule}; got {show(dilation)} (length {len(items)})")
    else:
        raise TypeError(f"`{name}` must be {rule}; got {show(dilation)} of type {type(dilation).__name__}")
    values = tuple(int(v) for v in items) * (ndim if len(items) == 1 else 1)
    if min(values) < 1 or max(values) > MAX_KERNEL_SIZE:
        raise ValueError(f"`{name}` must be {rule}, each at most {MAX_KERNEL_SIZE}; got {show(dilation)}")
    for k, d in zip(kernel_sizes or (), values):
        extent = d * (k - 1) + 1
        if d > 1 and extent > MAX_KERNEL_SIZE:
            raise ValueError(
                f"`{name}` must keep a dilated kernel within {MAX_KERNEL_SIZE} pixels per axis "
                f"(d * (k - 1) + 1 <= imgconv.kernels.MAX_KERNEL_SIZE); got {show(dilation)}, which spreads "
                f"a {k}-tap kernel over {_taps(extent)} pixels"
            )
    return values
