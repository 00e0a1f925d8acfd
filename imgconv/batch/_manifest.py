"""The manifest ``dst/manifest.jsonl``: appended record by record, read back for resume."""

import contextlib
import json
import os

import numpy as np

from .._output import shown
from ._tasks import BatchError, _error_text

# manifest
# --------------------------------------------------------------------------------------


def _read_manifest(path):
    """(latest 'done' record per output path, warnings) from the manifest at `path`.

    Any line that is not a JSON object -- cut short by a kill, cut inside a
    UTF-8 character, nested too deeply, a number too long to convert -- is
    reported and ignored, so the file it described is recomputed.
    """
    latest, warnings = {}, []
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return latest, warnings
    with file:
        for number, raw in enumerate(file, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError included
                reason = type(exc).__name__ if not isinstance(exc, ValueError) else str(exc).split(":")[0]
                warnings.append(f"manifest line {number} is corrupt ({reason[:80]}); ignored, its file is recomputed")
                continue
            if not isinstance(record, dict):
                warnings.append(f"manifest line {number} is not a record; ignored")
                continue
            if record.get("status") == "done" and isinstance(record.get("output"), str):
                latest[record["output"]] = record
    return latest, warnings


class _Manifest:
    """Append-only JSON-lines writer: one line per record, flushed and fsynced."""

    def __init__(self, destination, path):
        self.path = path
        self._file = destination.open_append(path)
        # A killed run can leave a last line without its newline: start on a fresh line.
        size = os.fstat(self._file.fileno()).st_size
        if size > 0 and os.pread(self._file.fileno(), 1, size - 1) != b"\n":
            self._file.write(b"\n")

    def write(self, record):
        # ASCII with \\u escapes: names that are not valid UTF-8 (surrogates) round-trip.
        line = json.dumps(record, ensure_ascii=True, allow_nan=False, default=_json_default)
        try:
            self._file.write(line.encode("ascii") + b"\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise BatchError(
                f"cannot write the manifest {shown(self.path)!r}: {_error_text(exc)}; the files "
                f"recorded so far are intact, rerun the same command when fixed"
            ) from exc

    def close(self):
        with contextlib.suppress(OSError):
            self._file.close()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _input_stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def _up_to_date(task, latest, fingerprint, dtype_policy, size, mtime):
    for candidate in (task.output, task.fallback):
        if candidate is None:
            continue
        record = latest.get(candidate)
        if (
            record is not None
            and record.get("input") == task.input
            and record.get("fingerprint") == fingerprint
            and record.get("dtype_policy") == dtype_policy
            and record.get("input_size") == size
            and record.get("input_mtime_ns") == mtime
            and (os.path.isfile(candidate) or (candidate.lower().endswith(".zarr") and os.path.isdir(candidate)))
        ):
            return record
    return None


# --------------------------------------------------------------------------------------
