"""Read a source without ever changing it: no writes, no locks, no atime update, no symlinks followed."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import xxhash

from watcher.errors import SourceError

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
HASH_NAME = "xxh3-128"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class SourceState:
    """What identifies one version of a file: if any of it changes, the bytes may have changed."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> SourceState:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _open_no_atime(path: Path) -> int:
    try:
        return os.open(path, _READ_FLAGS | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        # O_NOATIME is allowed only to the file's owner; a plain read-only open is still harmless.
        return os.open(path, _READ_FLAGS)


def open_source(path: Path) -> tuple[BinaryIO, SourceState]:
    """Open ``path`` read-only. Refuses symlinks, folders, devices and FIFOs (SourceError)."""
    try:
        fd = _open_no_atime(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise SourceError("the source is a symbolic link (not followed)") from err
        if err.errno == errno.ENOENT:
            raise SourceError("the source vanished before it could be read") from err
        if err.errno == errno.EACCES:
            raise SourceError("permission denied reading the source") from err
        raise SourceError(f"cannot open the source: {err.strerror}") from err
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise SourceError("the source is not a regular file")
    return os.fdopen(fd, "rb", buffering=1 << 16), SourceState.of(st)


def hash_stream(stream: BinaryIO) -> str:
    """The content hash the ledger keeps of the bytes that were sanitized: XXH3-128 of the whole stream,
    read from the start, as ``xxh3-128:HEX``; leaves the position at 0.

    It tells one version of a file from another, nothing more: no secret depends on it, so a fast
    non-cryptographic hash serves (about ten times sha256's speed here, which a backlog of photos feels)."""
    stream.seek(0)
    digest = xxhash.xxh3_128()
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return f"{HASH_NAME}:{digest.hexdigest()}"


def check_unchanged(stream: BinaryIO, before: SourceState) -> None:
    """Raise SourceError if the file was modified in place while we read it (TOCTOU)."""
    after = SourceState.of(os.fstat(stream.fileno()))
    if after != before:
        raise SourceError("the source changed while it was being read; it will be read again")
