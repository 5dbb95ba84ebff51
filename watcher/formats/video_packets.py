"""The lossless check of a remux: the kept streams' packets hash the same in the output as in the source.

The source's hashes are taken by the remux itself (a second ffmpeg output, so the source is demuxed once)
and remembered for verify() by the source file's identity; verify() then reads only the output. Without a
remembered entry (a stream that is not a real file, or a changed file) both sides are hashed afresh.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from watcher.formats import ffmpeg
from watcher.formats.bmff import file_size

Identity = tuple[int, int, int, int]  # device, inode, size, modification time (ns)
REMEMBERED_LIMIT = 64

_remembered: OrderedDict[Identity, list[str]] = OrderedDict()
_lock = threading.Lock()  # the daemon's workers sanitize in threads


def remember_source_hashes(source: BinaryIO, hashes: list[str]) -> None:
    identity = _identity(source)
    if identity is None or not hashes:
        return
    with _lock:
        _remembered[identity] = hashes
        _remembered.move_to_end(identity)
        while len(_remembered) > REMEMBERED_LIMIT:
            _remembered.popitem(last=False)


def packets_match(source: BinaryIO, output: BinaryIO) -> bool:
    """True when the kept streams of ``output`` hash the same as the source's."""
    identity = _identity(source)
    with _lock:
        known = _remembered.pop(identity, None) if identity is not None else None
    streams = [output] if known is not None else [source, output]
    size = sum(file_size(stream) for stream in streams)
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sharesafe-hash-")))
        paths: list[str] = []
        descriptors: list[int] = []
        for index, stream in enumerate(streams):
            folder = directory / str(index)
            folder.mkdir()
            path, fds = stack.enter_context(ffmpeg.readable_path(stream, folder))
            paths.append(path)
            descriptors += fds
        hashes = ffmpeg.stream_hashes(paths, pass_fds=descriptors, size=size)
    if known is not None:
        hashes.insert(0, known)
    return bool(hashes[0]) and hashes[0] == hashes[1]


def _identity(stream: BinaryIO) -> Identity | None:
    try:
        status = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns
