"""Finding the inputs: a folder walk, a glob, a file list; natural order; walk problems reported."""

import fnmatch
import glob
import os
import re
import stat

from .._output import is_within as _is_within
from .._output import shown
from ._tasks import _error_text

# discovery
# --------------------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def _natural_key(relative):
    """Sort key: path components compared piecewise, digit runs as numbers (img2 < img10)."""
    key = []
    for part in relative.replace("\\", "/").split("/"):
        pieces = []
        for i, piece in enumerate(_DIGITS.split(part)):
            if i % 2:
                pieces.append((0, int(piece), piece))
            elif piece:
                pieces.append((1, 0, piece.casefold()))
        key.append(tuple(pieces))
    return tuple(key)


def _supported(name):
    from ..io import READ_EXTENSIONS

    return os.path.splitext(name)[1].lower() in READ_EXTENSIONS


def _glob_root(pattern):
    """The folder part of a glob pattern before its first wildcard component."""
    parts = os.path.normpath(pattern).split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    root = os.sep.join(fixed) if fixed else "."
    if pattern.startswith(os.sep) and not root.startswith(os.sep):
        root = os.sep + root
    return root or os.sep


def _excluded(dst_real, root):
    """The folder to leave out of discovery under `root`: dst when it lies inside the source."""
    return None if _is_within(os.path.realpath(root), dst_real) else dst_real


def _problem(path):
    """Why `path` cannot be read as an image file (a reason string), or None for a regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            loop = getattr(exc, "errno", None) == 40  # ELOOP
            return "symbolic link loop" if loop else "dangling symbolic link (its target does not exist)"
        if isinstance(exc, FileNotFoundError):
            return "FileNotFoundError: no such file"
        return _error_text(exc)
    if stat.S_ISDIR(st.st_mode):
        return "is a directory (list files, or pass the folder itself as src)"
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
        return f"not a regular file ({kind})"
    return None


def _walk(root, dst_real, pattern, recursive):
    """Image files under `root` (names matching `pattern`), hidden entries and dst left out.

    Returns (files, problems): problems are (path, reason) for what could not be
    looked at -- unreadable folders, dangling links, link loops, FIFOs, links to
    folders in a recursive walk -- reported, never silently dropped.
    """
    found, problems = [], []
    excluded = _excluded(dst_real, root)

    def unreadable(exc):
        problems.append((exc.filename or root, f"cannot list the folder: {_error_text(exc)}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            path = os.path.join(folder, d)
            if excluded is not None and _is_within(os.path.realpath(path), excluded):
                continue
            if recursive and os.path.islink(path):
                problems.append((path, "symbolic link to a folder, not followed (pass its target as src)"))
                continue
            keep.append(d)
        dirs[:] = keep if recursive else []
        for name in files:
            if name.startswith(".") or not _supported(name) or not fnmatch.fnmatch(name, pattern):
                continue
            path = os.path.join(folder, name)
            problem = _problem(path)
            if problem is None:
                found.append(path)
            else:
                problems.append((path, problem))
    return found, problems


def _discover(src, dst_real, pattern, recursive):
    """Return (list of (path, root)), failures, roots."""
    failed = []
    if isinstance(src, (list, tuple)):
        paths, seen = [], set()
        for item in src:
            if not isinstance(item, (str, os.PathLike)):
                raise TypeError(f"`src` list entries must be paths; got {item!r} of type {type(item).__name__}")
            path = os.path.abspath(os.fspath(item))
            if os.path.realpath(path) not in seen:  # a file listed twice is processed once
                seen.add(os.path.realpath(path))
                paths.append(path)
        if not paths:
            return [], [], []
        root = os.path.commonpath([os.path.dirname(p) for p in paths])
        files = []
        for path in paths:
            problem = _problem(path)
            if problem is not None:
                failed.append((path, problem))
            elif not _supported(path):
                failed.append((path, _unsupported_reason(path)))
            else:
                files.append(path)
        return [(p, root) for p in files], failed, [root]
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(
            f"`src` must be a folder, a glob pattern, a file or a list of files; got {src!r} "
            f"of type {type(src).__name__}"
        )
    src = os.fspath(src)
    if os.path.isdir(src):
        root = os.path.abspath(src)
        files, problems = _walk(root, dst_real, pattern, recursive)
        return [(p, root) for p in files], problems, [root]
    if os.path.lexists(src) and not glob.has_magic(src):
        path = os.path.abspath(src)
        problem = _problem(path) or (None if _supported(path) else _unsupported_reason(path))
        if problem is not None:
            return [], [(path, problem)], [os.path.dirname(path)]
        return [(path, os.path.dirname(path))], failed, [os.path.dirname(path)]
    if glob.has_magic(src):
        root = os.path.abspath(_glob_root(src))
        excluded = _excluded(dst_real, root)
        files = []
        for match in glob.glob(src, recursive=recursive):
            path = os.path.abspath(match)
            if (excluded is not None and _is_within(os.path.realpath(path), excluded)) or os.path.isdir(path):
                continue
            problem = _problem(path) or (None if _supported(path) else _unsupported_reason(path))
            if problem is not None:
                failed.append((path, problem))
            else:
                files.append(path)
        return [(p, root) for p in files], failed, [root]
    raise ValueError(f"`src` must be an existing folder, file or a glob pattern; got {shown(src)!r} (not found)")


def _unsupported_reason(path):
    from ..io import READ_EXTENSIONS as SUPPORTED_EXTENSIONS

    ext = os.path.splitext(path)[1] or "(none)"
    return f"unsupported file extension {ext}; supported: {', '.join(SUPPORTED_EXTENSIONS)}"


# --------------------------------------------------------------------------------------
