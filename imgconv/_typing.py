"""Type aliases of the public annotations (for type checkers; no runtime rule lives here).

Each alias spells what the validators accept today, no less: an int parameter takes Python and
NumPy integers (``_validation.is_int``), a pair takes an int, a 1- or 2-sequence of ints or such an
array (``_validation.as_pair``), a path a ``str`` or an ``os.PathLike``.  The mode vocabularies are
the tuples of ``_shared/modes.py`` and ``_engine.METHODS``, spelt as ``Literal`` types.
"""

import os
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol, SupportsIndex, TypeAlias

import numpy as np
import numpy.typing as npt

#: An int as the validators take it: a Python or NumPy integer (never a bool).
Int: TypeAlias = int | np.integer
#: A bool as the validators take it (``_validation.as_bool``): a Python or NumPy bool.
Bool: TypeAlias = bool | np.bool_
#: A float parameter: a Python or NumPy real number.
Real: TypeAlias = float | int | np.integer | np.floating
#: ``(h, w)``: an int for both axes, a sequence of 1 or 2 ints, or an integer array of that size.
IntPair: TypeAlias = int | np.integer | Sequence[int | np.integer] | npt.NDArray[np.integer]
#: A float for both axes, or a sequence of 1 or 2 floats.
RealPair: TypeAlias = Real | Sequence[Real] | npt.NDArray[np.integer | np.floating]
#: One int for every axis or one per axis (``_validation.check_dilations``, scipy's ``origin`` / ``order`` /
#: ``size``): an int, a sequence of ints or an integer array.
IntSequence: TypeAlias = int | np.integer | Sequence[int | np.integer] | npt.NDArray[np.integer]
#: One real for every axis or one per axis (``_validation.check_sigmas``, scipy's ``sigma``): a real, a
#: sequence of reals or a real array.
RealSequence: TypeAlias = Real | Sequence[Real] | npt.NDArray[np.integer | np.floating]
#: scipy.ndimage's ``axes`` (``ndimage._support.check_axes``): an axis or an iterable of axes.
ScipyAxes: TypeAlias = SupportsIndex | Iterable[SupportsIndex]
#: scipy.ndimage's ``cval``: a real, or a complex number for complex input.
ScipyCval: TypeAlias = Real | complex | np.complexfloating
#: scipy.ndimage's ``output`` (``ndimage._support.get_output``): an array to fill, or the dtype of the
#: result (None: the input's dtype).
ScipyOutput: TypeAlias = np.ndarray | npt.DTypeLike | None
#: torch-style ``padding``: 'same', 'valid', an int or a pair.
Padding: TypeAlias = Literal["same", "valid"] | IntPair
#: torch's ``padding_mode`` (:data:`imgconv.conv.PADDING_MODES`).
PaddingMode: TypeAlias = Literal["circular", "reflect", "replicate", "zeros"]
#: scipy.ndimage / scikit-image ``mode`` (:data:`imgconv._shared.modes.SCIPY_MODES`).
ScipyMode: TypeAlias = Literal[
    "constant", "grid-constant", "grid-mirror", "grid-wrap", "mirror", "nearest", "reflect", "wrap"
]
#: scipy.ndimage's ``mode`` where it may differ per axis: one name, or a sequence of one name per axis.
ScipyModes: TypeAlias = ScipyMode | Sequence[ScipyMode]
#: The engine's border modes, ``numpy.pad`` names (:data:`imgconv._shared.modes.ENGINE_MODES`).
EngineMode: TypeAlias = Literal["constant", "edge", "reflect", "symmetric", "wrap"]
#: ``method=`` (:data:`imgconv._engine.METHODS`).
Method: TypeAlias = Literal["auto", "direct", "fft"]
#: ``dtype_policy=`` of imgconv.io (:data:`imgconv.io.DTYPE_POLICIES`).
DtypePolicy: TypeAlias = Literal["clip", "float", "float16", "rescale"]
#: A file-system path.
StrPath: TypeAlias = str | os.PathLike[str]
#: ``dtype_policy=`` of imgconv.batch (:data:`imgconv.batch.DTYPE_POLICIES`): 'auto' or one of imgconv.io's.
BatchDtypePolicy: TypeAlias = Literal["auto", "clip", "float", "float16", "rescale"]
#: ``backend=`` of imgconv.batch.process (:data:`imgconv.batch.BACKENDS`).
Backend: TypeAlias = Literal["dask", "processes", "threads"]
#: ``progress=`` of imgconv.batch.process: a bool or a mode (``batch._progress.PROGRESS_MODES``).
Progress: TypeAlias = bool | Literal["auto", "bar", "lines", "none"]
#: What imgconv.batch reads: a folder, a glob pattern or a file, or a list of files.
BatchSource: TypeAlias = str | os.PathLike[str] | list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...]
#: A float result array.
FloatArray: TypeAlias = npt.NDArray[np.floating]


class SupportsWrite(Protocol):
    """What ``print(..., file=...)`` needs: a ``write`` taking a str."""

    def write(self, s: str, /) -> object: ...
