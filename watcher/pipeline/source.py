"""Read a source without ever changing it: no writes, no locks, no atime update, no symlinks followed."""

from __future__ import annotations

import errno
import io
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
_BUFFER = 1 << 16


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


class HashingReader(io.BufferedReader):
    """A source stream that hashes its bytes, in file order, as the pipeline reads them.

    The content hash the ledger keeps then costs no second pass over the file: reads that continue the
    hashed prefix extend it (re-reads and jumps ahead do not disturb it), and ``content_hash`` reads only
    what was never read, from the end of that prefix. The hash is of one version of the file as long as
    ``check_unchanged`` passes afterwards.

    It tells one version of a file from another, nothing more: no secret depends on it, so a fast
    non-cryptographic hash serves (XXH3-128, about ten times sha256's speed, which a backlog of photos
    feels).
    """

    def __init__(self, raw: io.RawIOBase, buffer_size: int) -> None:
        super().__init__(raw, buffer_size)
        self._digest = xxhash.xxh3_128()
        self._hashed = 0  # bytes [0, _hashed) are in the digest

    def read(self, size: int | None = -1, /) -> bytes:
        start = self.tell()
        data = super().read(size)
        self._extend(start, data)
        return data

    def read1(self, size: int = -1, /) -> bytes:
        start = self.tell()
        data = super().read1(size)
        self._extend(start, data)
        return data

    def _extend(self, start: int, data: bytes) -> None:
        end = start + len(data)
        if start <= self._hashed < end:
            self._digest.update(memoryview(data)[self._hashed - start :])
            self._hashed = end

    def content_hash(self) -> str:
        """``xxh3-128:HEX`` of the whole stream (reading what was not read yet); keeps the position."""
        position = self.tell()
        self.seek(self._hashed)
        while self.read(_HASH_CHUNK):
            pass
        self.seek(position)
        return f"{HASH_NAME}:{self._digest.hexdigest()}"


def open_source(path: Path, *, hashing: bool = False) -> tuple[BinaryIO, SourceState]:
    """Open ``path`` read-only. Refuses symlinks, folders, devices and FIFOs (SourceError). With
    ``hashing``, the stream is a ``HashingReader``."""
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
    if hashing:
        return HashingReader(io.FileIO(fd, "rb"), _BUFFER), SourceState.of(st)
    return os.fdopen(fd, "rb", buffering=_BUFFER), SourceState.of(st)


def check_unchanged(stream: BinaryIO, before: SourceState) -> None:
    """Raise SourceError if the file was modified in place while we read it (TOCTOU)."""
    after = SourceState.of(os.fstat(stream.fileno()))
    if after != before:
        raise SourceError("the source changed while it was being read; it will be read again")
