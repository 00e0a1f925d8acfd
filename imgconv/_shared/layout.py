"""The channel axis: an image as an engine batch, and the way back to the image layout.

``channel_axis=None`` means every axis is spatial (a 2-D image; a trailing 3 is
never taken for colour); an int names the channel axis of a 3-D image.  Every
layer checks it with :func:`check_channel_axis` (arrays and dask arrays alike,
through their ``ndim`` and ``shape``) and moves it with :class:`ChannelLayout`.

Images with any other number of spatial axes (1-D, 3-D, ...), for the N-D
filters of scikit-image: :func:`is_planar` tells the two apart, and
:class:`NDLayout` is such an image as a float batch ``(C, *spatial)``.  Both
layouts check `channel_axis` and map an image axis to a spatial axis with the
same rules and messages.
"""

import numpy as np

from .._validation import is_int, show
from .convert import as_engine_image, as_float_image, compute_dtype

__all__ = ["ChannelLayout", "NDLayout", "check_channel_axis", "is_planar", "pipeline_channel_names", "spatial_axes"]


def _check_channel_type(channel_axis):
    if not is_int(channel_axis):
        raise TypeError(
            f"`channel_axis` must be an int or None; got {show(channel_axis)} of type {type(channel_axis).__name__}"
        )


def _channel_index(channel_axis, ndim, name="image"):
    """An int `channel_axis` of an image of `ndim` dims as a non-negative int (its range checked)."""
    channel_axis = int(channel_axis)
    if not -ndim <= channel_axis < ndim:
        raise ValueError(f"`channel_axis` must be in [{-ndim}, {ndim - 1}] for a {ndim}-D {name}; got {channel_axis}")
    return channel_axis % ndim


def _spatial_index(axis, ndim, channel_axis, name):
    """Image axis `axis` (negative allowed) of an `ndim`-D image as its index among the spatial axes."""
    if not is_int(axis):
        raise TypeError(f"`{name}` must be an int or a sequence of ints; got {show(axis)}")
    a = int(axis)
    if not -ndim <= a < ndim:
        raise ValueError(f"`{name}` must be in [{-ndim}, {ndim - 1}] for a {ndim}-D image; got {a}")
    a %= ndim
    if a == channel_axis:
        raise ValueError(f"`{name}` must be a spatial axis; got {int(axis)}, which is the channel axis")
    return a - (1 if channel_axis is not None and a > channel_axis else 0)


def check_channel_axis(channel_axis, ndim, shape, name="image"):
    """Validate `channel_axis` for an image of `ndim` dims; return it as a non-negative int or None."""
    if channel_axis is None:
        if ndim != 2:
            raise ValueError(
                f"`{name}` must be 2-D when `channel_axis` is None (every axis is spatial); got a {ndim}-D "
                f"array of shape {shape}. Pass channel_axis for a multichannel image, e.g. channel_axis=-1"
            )
        return None
    _check_channel_type(channel_axis)
    if ndim != 3:
        raise ValueError(
            f"`{name}` must be 3-D (two spatial axes and a channel axis) when `channel_axis` is given; "
            f"got a {ndim}-D array of shape {shape}"
        )
    return _channel_index(channel_axis, ndim, name)


def spatial_axes(channel_axis, ndim=None):
    """The (row, column) axes of an image whose channel axis is `channel_axis` (checked, or None)."""
    if channel_axis is None:
        return (0, 1)
    return tuple(a for a in range(3) if a != channel_axis)


class ChannelLayout:
    """An image as an engine batch ``(C, 1, H, W)`` and the way back to the image layout.

    ``pixels`` is the batch as the engine reads it (uint8/uint16 as stored) and
    ``scale`` the factor that converts its values (see
    :func:`imgconv._shared.convert.as_engine_image`): pass both to the engine.
    ``channels_first`` is the same pixels as one image of C channels,
    ``(1, C, H, W)``, for filters that mix channels.  ``x`` is the converted float
    batch, made on first use, for code that needs the values.
    """

    def __init__(self, image, channel_axis, preserve_range=False):
        img, self.scale = as_engine_image(image, preserve_range)
        self.channel_axis = check_channel_axis(channel_axis, img.ndim, img.shape)
        self.shape = img.shape
        self.dtype = compute_dtype(img)
        if self.channel_axis is None:
            self.pixels = img[None, None]
        else:
            self.pixels = np.moveaxis(img, self.channel_axis, 0)[:, None]
        c, _, h, w = self.pixels.shape
        if h == 0 or w == 0 or c == 0:
            raise ValueError(f"`image` must have non-empty spatial and channel axes; got shape {img.shape}")
        self.spatial_shape = (h, w)
        self.channels = c
        self._x = None

    @property
    def channels_first(self):
        """The pixels as one multichannel engine image ``(1, C, H, W)`` (a view)."""
        return self.pixels[:, 0][None]

    @property
    def x(self):
        """The float batch, equal to ``as_float_image(image)`` in the engine layout."""
        if self._x is None:
            self._x = (
                self.pixels
                if self.pixels.dtype == self.dtype
                else np.multiply(self.pixels, self.scale, dtype=self.dtype)
            )
        return self._x

    def spatial_axis(self, axis, name="axis"):
        """Map an image axis (negative allowed) to 0 (rows) or 1 (columns)."""
        return _spatial_index(axis, len(self.shape), self.channel_axis, name)

    def engine_out(self, out):
        """`out` as a ``(C, 1, H, W)`` array for the engine to fill, or None when it must be copied into.

        Only for an `out` in the compute dtype whose memory is already the engine's
        layout (C-contiguous, no channel axis or channels first) and that does not
        overlap the image, which the engine reads while it writes.
        """
        if (
            isinstance(out, np.ndarray)
            and out.shape == self.shape
            and out.dtype == self.dtype
            and out.flags.c_contiguous
            and out.flags.writeable
            and self.channel_axis in (None, 0)
            and not np.may_share_memory(out, self.pixels)
        ):
            return out.reshape(self.pixels.shape)
        return None

    def restore(self, y):
        """``(C, H, W)`` engine result -> the image layout (C-contiguous)."""
        if self.channel_axis is None:
            return y[0]
        return np.ascontiguousarray(np.moveaxis(y, 0, self.channel_axis))

    def restore_planes(self, planes):
        """``(P, C, H, W)`` (P planes per channel) -> ``(P, *image.shape)`` (C-contiguous)."""
        if self.channel_axis is None:
            return planes[:, 0]
        return np.ascontiguousarray(np.moveaxis(planes, 1, self.channel_axis + 1))


def is_planar(image, channel_axis):
    """True when `image` is for the 2-D path (:class:`ChannelLayout`), False for :class:`NDLayout`.

    2-D without a channel axis, or at most 3-D with one (so that ChannelLayout's
    checks and messages apply, a 2-D image with a channel axis included).  Any
    other number of dimensions is an N-D image.
    """
    ndim = np.ndim(image)
    return ndim == 2 if channel_axis is None else ndim <= 3


class NDLayout:
    """An image with any number of spatial axes as a float batch ``(C, *spatial)``, and the way back.

    The N-D counterpart of :class:`ChannelLayout`: `channel_axis` None makes
    every axis spatial (``C = 1``); an int names the channel axis, which is
    moved first.  ``batch`` is C-contiguous, in the compute dtype
    (:func:`imgconv._shared.convert.as_float_image`), and may be the image
    itself: never write into it.
    """

    def __init__(self, image, channel_axis, preserve_range=False):
        img = as_float_image(image, preserve_range)
        ndim = img.ndim
        if channel_axis is None:
            if ndim == 0:
                raise ValueError("`image` must have at least one axis; got a 0-D array")
            batch = img[None]
        else:
            _check_channel_type(channel_axis)
            channel_axis = _channel_index(channel_axis, ndim)
            batch = np.moveaxis(img, channel_axis, 0)
        if batch.size == 0:
            raise ValueError(f"`image` must have non-empty spatial and channel axes; got shape {img.shape}")
        self.channel_axis = channel_axis
        self.shape = img.shape
        self.dtype = img.dtype
        self.batch = np.ascontiguousarray(batch)
        self.spatial_shape = self.batch.shape[1:]
        self.ndim = len(self.spatial_shape)

    def spatial_axis(self, axis, name="axis"):
        """Map an image axis (negative allowed) to its index among the spatial axes."""
        return _spatial_index(axis, len(self.shape), self.channel_axis, name)

    def restore(self, y):
        """``(C, *spatial)`` result -> the image layout (C-contiguous)."""
        if self.channel_axis is None:
            return y[0]
        return np.ascontiguousarray(np.moveaxis(y, 0, self.channel_axis))


def pipeline_channel_names(operation, in_channels, out_channels):
    """The names `operation` (a Pipeline says them) gives its `out_channels` output channels, or None.

    None when it has no ``channel_names``, cannot tell for `in_channels` input
    channels (a user step that does not say), or names another number of
    channels.  Batch outputs and ``process_large`` label their channels with it.
    """
    if not hasattr(operation, "channel_names"):
        return None
    try:
        names = operation.channel_names(in_channels)
    except Exception:  # a user step that does not say  # noqa: BLE001
        return None
    return [str(n) for n in names] if names is not None and len(names) == out_channels else None
