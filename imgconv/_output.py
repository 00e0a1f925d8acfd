"""What imgconv may write, and how: the one owner of every file imgconv creates.

Every writer of the package (:func:`imgconv.io.imwrite`, the outputs, manifest
and contact sheet of :func:`imgconv.batch.process`, ``imgconv filter`` and its
``--preview``, :func:`imgconv.dask.process_large`) goes through this module,
so the rules below hold for all of them:

1. **Never an input.**  A path that is (or resolves to, or is a hard link of)
   a protected input is refused, and so is any path inside a protected source
   folder, unless the destination root itself lies inside that folder (an
   ``out/`` folder inside the source, left out of discovery).
2. **Only inside the destination.**  With a root (``dst`` of a batch run),
   the path must lie below it, lexically and after resolving links, and not
   in imgconv's own folder ``<root>/.imgconv``.
3. **Never through a symbolic link imgconv did not create.**  The target and
   every folder between the root and the target are checked with ``lstat``;
   a link is refused, whatever it points to.  Without a root, the target
   itself must not be a link.  (The root may be a link: the user named it.)
4. **Atomically.**  Data go to a temporary file, which is flushed, fsynced
   and renamed over the target; on any error the temporary file is removed
   and an existing target stays as it was.
5. **Unmistakable temporary names of bounded length.**  Inside a root they
   live in ``<root>/.imgconv/tmp/`` (``<16 hex digits>.part``), which only
   imgconv writes and which a run empties under its lock; without a root they
   are ``.imgconv-<16 hex digits>.part`` next to the target.  Either way the
   name is at most 30 characters, whatever the target's name.

Violations raise :class:`UnsafePathError`, a `ValueError` whose message names
the path and the rule.  This module imports nothing else from imgconv.
"""

import contextlib
import os
import secrets
import shutil
import stat

__all__ = [
    "Destination",
    "DestinationBusyError",
    "DestinationError",
    "FolderContent",
    "UnsafePathError",
    "is_within",
    "replace_folder",
    "shown",
    "write_atomic",
]

#: The folder inside a destination root that belongs to imgconv alone.
PRIVATE_FOLDER = ".imgconv"
_TEMP_FOLDER = "tmp"
_LOCK_NAME = "lock"


class DestinationError(ValueError):
    """The destination cannot be used as asked; raised before any input is read or written."""


class UnsafePathError(DestinationError):
    """A write that could destroy data: an input, outside the destination, through a link."""


class DestinationBusyError(DestinationError):
    """Another imgconv run holds the lock of the destination."""


def shown(path):
    """`path` as printable text, even when it holds undecodable bytes (non-UTF-8 names)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_within(path, folder):
    """True when `path` is `folder` or inside it (both absolute and normalised)."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _identity(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _current_umask():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no read-only query exists; restore at once
    os.umask(mask)
    return mask


def _new_file_mode(target):
    """Permission bits the written file should get (the temporary file has 0o600)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)  # keep an existing file's
    except OSError:
        return 0o666 & ~_current_umask()  # like open(target, "w")


def _fsync_folder(folder):
    if os.name == "posix":  # make a rename itself durable
        with contextlib.suppress(OSError):
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _temp_name(prefix=""):
    return f"{prefix}{secrets.token_hex(8)}.part"


def _open_new(path):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return open(path, "wb", opener=lambda name, _: os.open(name, flags, 0o600))  # noqa: SIM115


def _write_temp_and_rename(temp, target, encode):
    try:
        with _open_new(temp) as file:
            encode(file)
            file.flush()
            os.fsync(file.fileno())
        if hasattr(os, "chmod"):
            os.chmod(temp, _new_file_mode(target))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(os.path.dirname(target))


def _refuse_link_or_special(path, what, folder=False):
    """Refuse a `path` that is a symbolic link, or (a file's path, not a `folder`'s) anything but a file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(
            f"{what} {shown(path)!r} is a symbolic link; imgconv never writes through a "
            f"link it did not create (remove the link or choose another path)"
        )
    if not folder and not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(f"{what} {shown(path)!r} exists and is not a regular file; imgconv replaces only files")


class FolderContent:
    """What a writer of a directory store (an OME-Zarr image) hands to this module instead of ``encode(file)``.

    Parameters
    ----------
    build : callable
        ``build(path)`` creates the store at `path`, a new, absent folder.
    is_ours : callable
        ``is_ours(path)`` recognises a store imgconv wrote: the only kind of
        folder a write may replace.
    """

    def __init__(self, build, is_ours):
        self.build, self.is_ours = build, is_ours


def write_atomic(path, encode, *, what="`path`"):
    """Write a file atomically, without a destination root (rules 3 to 5).

    Parameters
    ----------
    path : str
        Target file; its folder must exist.  An existing regular file is
        replaced, keeping its permission bits; a symbolic link is refused.
    encode : callable
        ``encode(file)`` writes the content to a binary file object.
    what : str
        How error messages name the path.

    Raises
    ------
    UnsafePathError
        If `path` is a symbolic link or exists and is not a regular file.
    OSError
        If the file cannot be written.
    """
    target = os.path.abspath(path)
    if isinstance(encode, FolderContent):
        return replace_folder(target, encode.build, overwrite=True, is_ours=encode.is_ours, what=what)
    _refuse_link_or_special(target, what)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):  # name the user's folder, not the temporary file inside it
        raise FileNotFoundError(f"cannot write {shown(target)!r}: the folder {shown(folder)!r} does not exist")
    _write_temp_and_rename(os.path.join(folder, _temp_name(".imgconv-")), target, encode)
    sidecar = getattr(encode, "sidecar", None)
    if sidecar is not None:  # a description beside the file (``result.npy.json``), written after it
        write_atomic(sidecar[0], sidecar[1], what=what)
    return target


class Destination:
    """The rules of what one run may write, and the writer that applies them.

    Parameters
    ----------
    root : str or None
        The destination folder (``dst``): every path written must lie inside
        it.  None: no root (``imgconv filter``), only rules 1, 3, 4 apply.
    protect : iterable of str
        Input files, never written, whatever path leads to them.
    source_folders : iterable of str
        Source folders: nothing is written inside them unless `root` lies
        inside them.

    Notes
    -----
    A Destination sent to another process (processes and dask backends)
    keeps its root and source folders but not the input list: the
    coordinating process checks every path a task may write while planning
    (:meth:`check`), so workers apply rules 2 to 5 only.
    """

    def __init__(self, root=None, *, protect=(), source_folders=()):
        self.root = None if root is None else os.path.abspath(os.fspath(root))
        self.root_real = None if root is None else os.path.realpath(self.root)
        self._paths = set()
        self._ids = set()
        for path in protect:
            self.protect(path)
        self.source_folders = [os.path.realpath(os.fspath(f)) for f in source_folders]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_paths"], state["_ids"] = set(), set()
        return state

    # -- checks ----------------------------------------------------------------------------------

    def protect(self, path):
        """Add an input that must never be written."""
        path = os.fspath(path)
        self._paths.add(os.path.realpath(path))
        identity = _identity(path)
        if identity is not None:
            self._ids.add(identity)

    @property
    def private(self):
        """str: ``<root>/.imgconv``, imgconv's own folder (temporary files, lock)."""
        return os.path.join(self.root, PRIVATE_FOLDER)

    def check(self, path, *, what="output", inside=True, folder=False):
        """Return `path` absolute if it may be written, else raise UnsafePathError.

        Parameters
        ----------
        path : str
        what : str
            How the message names the path (``'output'``, ``'--preview'``).
        inside : bool
            Require the path to lie inside the root (ignored without a root).
        folder : bool
            The path is a directory store (`FolderContent`), not a file.
        """
        path = os.path.abspath(os.fspath(path))
        if self.root is not None and (inside or is_within(path, self.root)):
            self._check_inside(path, what, folder)
        else:
            _refuse_link_or_special(path, what, folder)
        real = os.path.realpath(path)
        identity = _identity(path)
        if real in self._paths or (identity is not None and identity in self._ids):
            raise UnsafePathError(
                f"{what} {shown(path)!r} is an input of this run; imgconv never overwrites its inputs"
            )
        for folder in self.source_folders:
            if is_within(real, folder) and (self.root_real is None or not is_within(self.root_real, folder)):
                raise UnsafePathError(
                    f"{what} {shown(path)!r} lies inside the source folder "
                    f"{shown(folder)!r}; imgconv never writes there"
                )
        return path

    def _check_inside(self, path, what, folder=False):
        relative = os.path.relpath(path, self.root)
        parts = relative.split(os.sep)
        if relative == os.curdir or parts[0] == os.pardir or os.path.isabs(relative):
            raise UnsafePathError(f"{what} {shown(path)!r} lies outside the destination {shown(self.root)!r}")
        if parts[0] == PRIVATE_FOLDER:
            raise UnsafePathError(
                f"{what} {shown(path)!r} lies in {PRIVATE_FOLDER}/, the folder imgconv "
                f"keeps for itself in the destination"
            )
        current = self.root
        for depth, part in enumerate(parts):
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except (FileNotFoundError, NotADirectoryError):  # to be created (or refused when created)
                return
            if stat.S_ISLNK(st.st_mode):
                raise UnsafePathError(
                    f"{what} {shown(path)!r} goes through the symbolic link "
                    f"{shown(current)!r}; imgconv never writes through a link it did "
                    f"not create"
                )
            last = depth == len(parts) - 1
            if not last and not stat.S_ISDIR(st.st_mode):
                raise UnsafePathError(
                    f"{what} {shown(path)!r} needs the folder {shown(current)!r}, which is not a folder"
                )
            if last and folder and not stat.S_ISDIR(st.st_mode):
                raise UnsafePathError(f"{what} {shown(path)!r} exists and is not a folder imgconv wrote")
            if last and not folder and not stat.S_ISREG(st.st_mode):
                raise UnsafePathError(
                    f"{what} {shown(path)!r} exists and is not a regular file; imgconv replaces only files"
                )

    # -- writing ---------------------------------------------------------------------------------

    def makedirs(self, folder):
        """Create `folder` and its parents below the root, refusing links (rule 3)."""
        folder = os.path.abspath(folder)
        if self.root is None or folder == self.root:
            if self.root is not None:
                os.makedirs(self.root, exist_ok=True)
            return
        self.check(os.path.join(folder, "_"), what="folder")
        os.makedirs(self.root, exist_ok=True)
        current = self.root
        for part in os.path.relpath(folder, self.root).split(os.sep):
            current = os.path.join(current, part)
            with contextlib.suppress(FileExistsError):
                os.mkdir(current)
            if not stat.S_ISDIR(os.lstat(current).st_mode):  # a link or file raced in
                raise UnsafePathError(f"folder {shown(current)!r} is not a folder imgconv can write into")

    def _temp_folder(self):
        folder = os.path.join(self.private, _TEMP_FOLDER)
        os.makedirs(folder, exist_ok=True)
        for part in (self.private, folder):
            if not stat.S_ISDIR(os.lstat(part).st_mode):
                raise UnsafePathError(f"{shown(part)!r} must be a folder of imgconv's, not a link or a file")
        return folder

    def write(self, path, encode, *, what="output", inside=True):
        """Write `path` atomically after checking it (all five rules); return it absolute.

        ``inside=False`` lets a path the user named explicitly (a contact
        sheet) lie outside the root; every other rule still applies. A
        `FolderContent` `encode` builds a directory store under a temporary
        name and renames it into place (:func:`replace_folder`), replacing
        only a store imgconv wrote.
        """
        folder = isinstance(encode, FolderContent)
        path = self.check(path, what=what, inside=inside, folder=folder)
        if self.root is None or not is_within(path, self.root):
            return write_atomic(path, encode, what=what)
        self.makedirs(os.path.dirname(path))
        if folder:
            temp_parent = self._temp_folder()
            self.check(path, what=what, folder=True)  # again, just before the rename
            return replace_folder(
                path, encode.build, overwrite=True, is_ours=encode.is_ours, what=what, temp_parent=temp_parent
            )
        temp = os.path.join(self._temp_folder(), _temp_name())
        self.check(path, what=what)  # again, just before the rename
        try:
            _write_temp_and_rename(temp, path, encode)
        except OSError as exc:
            if getattr(exc, "errno", None) != 18:  # EXDEV: a mount point below the root
                raise
            write_atomic(path, encode, what=what)
            return path
        sidecar = getattr(encode, "sidecar", None)
        if sidecar is not None:  # a description beside the file (``result.npy.json``), written after it
            self.write(sidecar[0], sidecar[1], what=what, inside=inside)
        return path

    def open_append(self, path, *, what="manifest"):
        """Open `path` for appending (created if needed), refusing links and non-files."""
        path = self.check(path, what=what)
        self.makedirs(os.path.dirname(path))
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(path, flags, 0o666)
        except OSError:
            if os.path.islink(path):
                raise UnsafePathError(
                    f"{what} {shown(path)!r} is a symbolic link; imgconv never writes through a link it did not create"
                ) from None
            raise
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise UnsafePathError(f"{what} {shown(path)!r} is not a regular file")
        return os.fdopen(descriptor, "ab")

    def clean_temporaries(self):
        """Remove what a killed run left in ``<root>/.imgconv/tmp``; return how many entries."""
        folder = os.path.join(self.private, _TEMP_FOLDER)
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return 0
            entries = os.listdir(folder)
        except OSError:
            return 0
        removed = 0
        for entry in entries:
            path = os.path.join(folder, entry)
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(os.lstat(path).st_mode):  # a store a killed run was building
                    shutil.rmtree(path)  # (rmtree removes links inside, never follows them)
                else:
                    os.unlink(path)  # a link planted here is removed, not followed
                removed += 1
        return removed

    @contextlib.contextmanager
    def lock(self):
        """Hold ``<root>/.imgconv/lock`` for the run; raise DestinationBusyError if another run holds it."""
        try:
            import fcntl
        except ImportError:  # no advisory locks (Windows): run unlocked
            yield
            return
        os.makedirs(self.private, exist_ok=True)
        if not stat.S_ISDIR(os.lstat(self.private).st_mode):
            raise UnsafePathError(f"{shown(self.private)!r} must be a folder of imgconv's, not a link or a file")
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(os.path.join(self.private, _LOCK_NAME), flags, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "?"
                raise DestinationBusyError(
                    f"`dst` {shown(self.root)!r} is in use by another imgconv run (pid {holder}); wait for it "
                    f"to finish or choose another dst"
                ) from None
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(descriptor, 0)
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


def replace_folder(
    dst, build, *, overwrite=False, is_ours=None, protect=(), what="`dst`", check_only=False, temp_parent=None
):
    """Create the folder `dst` atomically: build it under a temporary name, then rename it into place.

    Parameters
    ----------
    dst : str
        The folder to create (a zarr store, say).
    build : callable
        ``build(path)`` creates the content at `path` (a new, absent folder).
    overwrite : bool
        Replace an existing `dst`, which must then be something imgconv wrote
        (``is_ours(dst)`` is True).
    is_ours : callable or None
        Recognises a folder imgconv wrote before.
    protect : iterable of str
        Inputs: `dst` must not be, contain or lie inside any of them.
    check_only : bool
        Only check, so that a caller can refuse before reading anything.
    temp_parent : str, optional
        Where the temporary folders go (``<root>/.imgconv/tmp`` of a
        Destination, on the same file system); default: next to `dst`.

    Raises
    ------
    FileExistsError
        If `dst` exists and `overwrite` is False.
    UnsafePathError
        If `dst` is a link, holds or lies in an input, or holds anything
        imgconv did not write.

    Notes
    -----
    The old folder is renamed aside and removed only after the new one is in
    place, so a failure at any moment leaves either the old or the new
    folder at `dst`, and a killed run leaves at most a hidden
    ``.imgconv-*.part`` folder next to it.
    """
    dst = os.path.abspath(os.fspath(dst))
    real = os.path.realpath(dst)
    for path in protect:
        source = os.path.realpath(os.fspath(path))
        if is_within(real, source) or is_within(source, real):
            raise UnsafePathError(
                f"{what} {shown(dst)!r} must neither be, hold nor lie inside the source "
                f"{shown(source)!r}; imgconv never overwrites its input"
            )
    if os.path.islink(dst):
        raise UnsafePathError(
            f"{what} {shown(dst)!r} is a symbolic link; imgconv never writes through a link it did not create"
        )
    exists = os.path.lexists(dst)
    if exists and not overwrite:
        raise FileExistsError(f"{what} already exists: {shown(dst)!r}; pass overwrite=True to replace it")
    if exists and not (os.path.isdir(dst) and is_ours is not None and is_ours(dst)):
        raise UnsafePathError(
            f"{what} {shown(dst)!r} holds data imgconv did not write; imgconv replaces only an "
            f"earlier result of its own, so remove it yourself or choose another path"
        )
    if check_only:
        return dst
    parent = os.path.dirname(dst)
    temp_parent = parent if temp_parent is None else temp_parent
    prefix = ".imgconv-" if temp_parent == parent else ""
    temp = os.path.join(temp_parent, _temp_name(prefix))
    try:
        build(temp)
        _fsync_folder(temp)
        if exists:
            old = os.path.join(temp_parent, _temp_name(prefix))
            os.rename(dst, old)
            try:
                os.rename(temp, dst)
            except BaseException:
                os.rename(old, dst)  # put the earlier result back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(temp, dst)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_folder(parent)
    return dst
