"""Publish safely: a hidden temp file in the destination folder, fsync, atomic rename, folder fsync.

Every step works relative to an open folder descriptor reached without following symlinks, so a symlink
planted in the destination (or swapped in while we work) can never redirect a write outside it. A reader of
the destination sees either the old file, the complete new file, or nothing: never a partial file.

Publishing can also happen in two steps: a worker *stages* a verified output (its complete temp file stays
in the output folder) and another process *commits* it later (fsync, then rename). Many files run through
the pipeline at once that way: the workers go on sanitizing while the committer waits for the disk, instead
of every worker stopping at each fsync. The order stays the same, so the guarantee does too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from pathlib import Path, PurePath
from typing import BinaryIO, NamedTuple

from watcher.errors import PublishError

TEMP_PREFIX = ".sharesafe-"
TEMP_SUFFIX = ".tmp"
OUTPUT_MODE = 0o644

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def check_relative(relative: PurePath) -> tuple[str, ...]:
    """The parts of a relative output path, refusing absolute paths, `..` and empty names."""
    if relative.is_absolute():
        raise PublishError(f"output path {str(relative)!r} is absolute")
    parts = relative.parts
    if not parts or any(p in ("", ".", "..") or "/" in p or "\0" in p for p in parts):
        raise PublishError(f"output path {str(relative)!r} is not a plain relative path")
    return parts


def _describe(err: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the destination is full",
        errno.EDQUOT: "the destination's quota is exhausted",
        errno.EROFS: "the destination is read-only",
        errno.EACCES: "permission denied in the destination",
        errno.EPERM: "operation not permitted in the destination",
        errno.ELOOP: "a symbolic link stands in the destination path (not followed)",
        errno.ENOTDIR: "a file stands where the destination needs a folder",
        errno.ENOENT: "the destination folder is missing",
    }
    return reasons.get(err.errno or 0, err.strerror or type(err).__name__)


def open_folder(destination: Path, parts: tuple[str, ...]) -> int:
    """An O_DIRECTORY descriptor for destination/parts..., creating folders (0755) without following links."""
    try:
        fd = os.open(destination, _DIR_FLAGS)
    except OSError as err:
        raise PublishError(f"cannot open destination {str(destination)!r}: {_describe(err)}") from err
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            if stat.S_ISLNK(os.lstat(part, dir_fd=fd).st_mode):
                raise OSError(errno.ELOOP, "symbolic link")
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as err:
        os.close(fd)
        raise PublishError(f"cannot create the output folder: {_describe(err)}") from err
    return fd


class Staged(NamedTuple):
    """A verified output waiting in its temp file for ``commit_staged`` (picklable: a worker process
    stages, the process that records the result commits)."""

    folder: str  # the output folder
    identity: tuple[int, int]  # the folder's (st_dev, st_ino) when staged: a folder swapped since is refused
    temp: str  # the temp file's name in it
    final: str  # the name it is published under


class TempOutput:
    """A hidden temp file in an open destination folder; ``commit`` renames it into place, ``stage`` leaves
    it complete for ``commit_staged``."""

    def __init__(self, folder_fd: int, folder: str) -> None:
        self.folder_fd = folder_fd
        self.folder = folder
        self.name = f"{TEMP_PREFIX}{os.urandom(8).hex()}{TEMP_SUFFIX}"
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.name, flags, OUTPUT_MODE, dir_fd=folder_fd)
        except OSError as err:
            raise PublishError(f"cannot create a temp file: {_describe(err)}") from err
        self.file: BinaryIO = os.fdopen(fd, "w+b", buffering=1 << 20)
        self.committed = False

    def size(self) -> int:
        self.file.flush()
        return os.fstat(self.file.fileno()).st_size

    def commit(self, final_name: str, *, sync_folder: bool = True) -> None:
        """fsync the data, rename it into place, and (unless the caller batches it) fsync the folder, so a
        power loss can neither leave an empty file under the final name nor lose a recorded publish."""
        try:
            self.file.flush()
            os.fchmod(self.file.fileno(), OUTPUT_MODE)  # the configured mode, whatever the umask
            os.fsync(self.file.fileno())
            # rename() replaces a symlink planted under final_name; it never writes through it.
            os.rename(self.name, final_name, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
            if sync_folder:
                os.fsync(self.folder_fd)
        except OSError as err:
            raise PublishError(f"cannot publish the file: {_describe(err)}") from err
        self.committed = True

    def stage(self, final_name: str) -> Staged:
        """Leave the complete output in its temp file for ``commit_staged`` to fsync and rename."""
        try:
            self.file.flush()
            os.fchmod(self.file.fileno(), OUTPUT_MODE)
            folder = os.fstat(self.folder_fd)
        except OSError as err:
            raise PublishError(f"cannot publish the file: {_describe(err)}") from err
        self.committed = True  # kept: from here on the temp file is commit_staged's or discard_staged's
        return Staged(self.folder, (folder.st_dev, folder.st_ino), self.name, final_name)

    def discard(self) -> None:
        # Closing flushes what is still buffered: on a full disk that fails again, and must not hide
        # the first error nor keep the temp file from being removed (the descriptor is closed anyway).
        with contextlib.suppress(OSError):
            self.file.close()
        if not self.committed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.name, dir_fd=self.folder_fd)


@contextlib.contextmanager
def temp_output(destination: Path, folder: tuple[str, ...]) -> Iterator[TempOutput]:
    """A temp output in destination/folder, removed again unless committed."""
    folder_fd = open_folder(destination, folder)
    try:
        out = TempOutput(folder_fd, str(destination.joinpath(*folder)))
        try:
            yield out
        except Exception as err:
            full = None if isinstance(err, PublishError) else _destination_full(err)
            if full is not None:  # retry later, even when a handler wrapped the write error as its own
                raise PublishError(f"cannot write the output: {_describe(full)}") from err
            raise
        finally:
            out.discard()
    finally:
        os.close(folder_fd)


def _destination_full(err: BaseException) -> OSError | None:
    """The disk-full error behind ``err`` (itself, or a cause or context of it), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return current
        current = current.__cause__ or current.__context__
    return None


def _open_staged_folder(folder: str, identity: tuple[int, int]) -> int:
    fd = os.open(folder, _DIR_FLAGS)
    found = os.fstat(fd)
    if (found.st_dev, found.st_ino) != identity:
        os.close(fd)
        raise OSError(errno.ESTALE, "the output folder was replaced while the file was being sanitized")
    return fd


def _staged_folders(staged: Sequence[Staged]) -> Iterator[tuple[int | OSError, list[int]]]:
    """Each folder of ``staged`` once, with the indexes of its items: an open descriptor (closed when the
    caller moves on), or the error that kept it from being opened as the folder it was."""
    groups: dict[tuple[str, tuple[int, int]], list[int]] = {}
    for index, item in enumerate(staged):
        groups.setdefault((item.folder, item.identity), []).append(index)
    for (folder, identity), indexes in groups.items():
        try:
            folder_fd = _open_staged_folder(folder, identity)
        except OSError as err:
            yield err, indexes
            continue
        try:
            yield folder_fd, indexes
        finally:
            os.close(folder_fd)


# fsyncs in flight at once when committing many staged files: the disk works on several at once (and a
# journaling filesystem can join them into fewer commits), so a batch of 500 photos reached the disk in
# 0.08 s instead of 0.19 s one file at a time.
SYNC_THREADS = 8


def sync_pool() -> ThreadPoolExecutor:
    """Threads for ``commit_staged`` to fsync on; whoever commits batch after batch keeps one for the
    whole run (and shuts it down at its end)."""
    return ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="sharesafe-fsync")


def _sync_temp(folder_fd: int, item: Staged) -> OSError | None:
    """fsync a staged temp file; the error instead of raising (this may run on a pool thread)."""
    try:
        fd = os.open(item.temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        return err
    return None


def commit_staged(staged: Sequence[Staged], syncer: Executor | None = None) -> list[str | None]:
    """Publish staged outputs: fsync each (on ``syncer``'s threads, several at once, when given) and, once
    its data is on disk, rename it into place (the folders' fsync is the caller's, once per batch:
    ``sync_folders``). Returns, per item, None once published or the reason it was not (its temp file is
    then removed: the file is to be sanitized again)."""
    errors: list[str | None] = [None] * len(staged)
    for folder_fd, indexes in _staged_folders(staged):
        if isinstance(folder_fd, OSError):
            for index in indexes:
                errors[index] = f"cannot publish the file: {_describe(folder_fd)}"
            continue
        items = [staged[index] for index in indexes]
        if syncer is not None and len(items) > 1:
            synced = list(syncer.map(partial(_sync_temp, folder_fd), items))
        else:
            synced = [_sync_temp(folder_fd, item) for item in items]
        for index, item, sync_error in zip(indexes, items, synced, strict=True):
            try:
                if sync_error is not None:
                    raise sync_error
                os.rename(item.temp, item.final, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            except OSError as err:
                errors[index] = f"cannot publish the file: {_describe(err)}"
                with contextlib.suppress(OSError):
                    os.unlink(item.temp, dir_fd=folder_fd)
    return errors


def discard_staged(staged: Sequence[Staged]) -> None:
    """Remove staged outputs that will not be committed (the run was interrupted)."""
    for folder_fd, indexes in _staged_folders(staged):
        if isinstance(folder_fd, OSError):
            continue  # the folder is gone or was replaced: its temp files went with it
        for index in indexes:
            with contextlib.suppress(OSError):
                os.unlink(staged[index].temp, dir_fd=folder_fd)


def sync_folders(folders: set[Path]) -> None:
    """fsync folders whose renames a batch left unsynced (one fsync per folder instead of per file)."""
    for folder in folders:
        try:
            fd = os.open(folder, _DIR_FLAGS)
        except OSError as err:
            raise PublishError(f"cannot sync {str(folder)!r}: {_describe(err)}") from err
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def remove_stale_temp_files(destination: Path) -> int:
    """Delete temp files a crash left behind in a destination tree; returns how many."""
    removed = 0
    for folder, _dirs, names in os.walk(destination):
        for name in names:
            if is_temp_name(name):
                with contextlib.suppress(FileNotFoundError):
                    Path(folder, name).unlink()
                    removed += 1
    return removed


def output_exists(destination: Path, relative: PurePath) -> bool:
    return os.path.lexists(destination.joinpath(*check_relative(relative)))
