"""Running ffmpeg: which binary, a time limit scaled to the file, and a one-line summary of its complaints.

ffmpeg's own messages carry paths and stream values, so they are never passed on: they are matched against
known problems and summarized in words a person can act on.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

from watcher.errors import ConfigError, CorruptMedia

ENVIRONMENT_VARIABLE = "SHARESAFE_FFMPEG"
# Generous: a remux copies packets, so even slow disks move far more than this.
MINIMUM_SECONDS = 30.0
BYTES_PER_SECOND = 8 * 1024 * 1024
STDERR_TAIL = 64 * 1024
# An extra ffmpeg output: per kept stream (first real video stream, then audio) a hash of its packets, on
# stdout. MurmurHash3 (128 bits): both sides come from the same source, so it guards against a remux that
# changed or lost data, not against forgery, and it runs six times faster than SHA-256.
HASH_OUTPUT = ("-map", "0:V:0", "-map", "0:a?", "-c", "copy", "-f", "streamhash", "-hash", "murmur3", "-")
COPY_CHUNK = 1024 * 1024

# Known ffmpeg complaints, most specific first, and what they mean for the person sharing the file.
_SUMMARIES: tuple[tuple[str, str], ...] = (
    ("moov atom not found", "the video has no index (moov box): the recording is truncated or incomplete"),
    ("matches no streams", "the file holds no video stream"),
    ("not a single packet", "an audio stream packs several frames per sample in a way that cannot be copied"),
    ("could not find tag for codec", "a stream's codec cannot be stored in this container"),
    ("not currently supported in container", "a stream's codec cannot be stored in this container"),
    ("codec not currently supported", "a stream's codec cannot be stored in this container"),
    ("invalid data found when processing input", "ffmpeg found invalid data in the video"),
    ("error reading header", "ffmpeg could not read the video's header"),
    ("stream ends prematurely", "the video is truncated"),
    ("end of file", "the video is truncated"),
    ("truncat", "the video is truncated"),
    ("no such file", "ffmpeg could not open its input"),
    ("permission denied", "ffmpeg could not open its input (permission denied)"),
    ("no space left", "no space left for the temporary copy"),
    ("cannot allocate memory", "ffmpeg ran out of memory"),
)


def executable() -> str:
    """The ffmpeg to run: ``$SHARESAFE_FFMPEG`` when set, else the binary bundled with imageio-ffmpeg."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ConfigError(f"{ENVIRONMENT_VARIABLE} names no executable ffmpeg: {configured!r}")
        return found
    try:
        import imageio_ffmpeg  # optional: looked up only when a video arrives

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found is None:
            raise ConfigError(
                f"no ffmpeg found: install imageio-ffmpeg or set {ENVIRONMENT_VARIABLE}"
            ) from None
        return found


def time_limit(size: int) -> float:
    """Seconds ffmpeg may take over a file of ``size`` bytes."""
    return MINIMUM_SECONDS + size / BYTES_PER_SECOND


def summarize(stderr: bytes, returncode: int) -> str:
    """One line naming the problem ffmpeg reported, without its paths or values."""
    text = stderr.decode("utf-8", "replace").lower()
    for needle, summary in _SUMMARIES:
        if needle in text:
            return summary
    return f"ffmpeg failed with exit status {returncode}"


def run(arguments: Sequence[str], *, pass_fds: Sequence[int], size: int, purpose: str) -> bytes:
    """Run ffmpeg with ``arguments`` (after the binary); return its stdout or raise CorruptMedia."""
    return run_all([arguments], pass_fds=pass_fds, size=size, purpose=purpose)[0]


def run_all(
    commands: Sequence[Sequence[str]], *, pass_fds: Sequence[int], size: int, purpose: str
) -> list[bytes]:
    """Run several ffmpeg commands side by side under one time limit; their stdouts, in order.

    stdout and stderr go to anonymous temp files so a chatty or hostile input cannot grow our memory.
    """
    limit = time_limit(size)
    deadline = time.monotonic() + limit
    with ExitStack() as stack:
        outputs = [
            (stack.enter_context(tempfile.TemporaryFile()), stack.enter_context(tempfile.TemporaryFile()))
            for _ in commands
        ]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for command, (stdout, stderr) in zip(commands, outputs, strict=True):
                processes.append(_start(command, stdout, stderr, pass_fds))
            for process in processes:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise CorruptMedia(f"ffmpeg took longer than {limit:.0f} s to {purpose}; gave up") from None
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        results: list[bytes] = []
        for process, (stdout, stderr) in zip(processes, outputs, strict=True):
            if process.returncode != 0:
                stderr.seek(max(0, stderr.seek(0, 2) - STDERR_TAIL))
                raise CorruptMedia(f"could not {purpose}: {summarize(stderr.read(), process.returncode)}")
            stdout.seek(0)
            results.append(stdout.read(STDERR_TAIL))
        return results


def _start(
    arguments: Sequence[str], stdout: BinaryIO, stderr: BinaryIO, pass_fds: Sequence[int]
) -> subprocess.Popen[bytes]:
    command = [executable(), "-hide_banner", "-nostdin", "-loglevel", "error", *arguments]
    try:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, pass_fds=tuple(pass_fds)
        )
    except OSError as error:
        raise ConfigError(f"ffmpeg could not be started: {error.strerror}") from None


@contextmanager
def readable_path(stream: BinaryIO, directory: Path) -> Iterator[tuple[str, tuple[int, ...]]]:
    """A path ffmpeg can open for ``stream`` and the descriptors to pass it.

    A real file is handed over as ``/dev/fd/N``; anything else is copied into ``directory`` first.
    """
    descriptor = _regular_file_descriptor(stream)
    if descriptor is not None:
        yield f"/dev/fd/{descriptor}", (descriptor,)
        return
    copy = directory / "input"
    stream.seek(0)
    with copy.open("wb") as handle:
        shutil.copyfileobj(stream, handle, COPY_CHUNK)
    yield str(copy), ()


@contextmanager
def writable_path(stream: BinaryIO, directory: Path) -> Iterator[tuple[str, tuple[int, ...]]]:
    """A path ffmpeg can write ``stream``'s content to, and the descriptors to pass it.

    A real file is emptied and handed over as ``/dev/fd/N``, saving a copy of the whole video; anything
    else gets a file in ``directory``, copied into ``stream`` once ffmpeg is done.
    """
    stream.seek(0)
    stream.truncate()
    stream.flush()
    descriptor = _regular_file_descriptor(stream)
    if descriptor is not None:
        yield f"/dev/fd/{descriptor}", (descriptor,)
        stream.seek(0)
        return
    written = directory / "output"
    yield str(written), ()
    with written.open("rb") as handle:
        shutil.copyfileobj(handle, stream, COPY_CHUNK)
    stream.seek(0)


def _regular_file_descriptor(stream: BinaryIO) -> int | None:
    try:
        descriptor = stream.fileno()
        status = os.fstat(descriptor)
    except (OSError, AttributeError, ValueError):
        return None
    return descriptor if stat.S_ISREG(status.st_mode) else None


def stream_hashes(inputs: Sequence[str], *, pass_fds: Sequence[int], size: int) -> list[list[str]]:
    """Per input, a hash of each kept stream's packets (first real video stream, then audio).

    The inputs are hashed by parallel processes.
    """
    commands = [["-i", path, *HASH_OUTPUT] for path in inputs]
    outputs = run_all(commands, pass_fds=pass_fds, size=size, purpose="hash the video's packets")
    return [parse_hashes(output) for output in outputs]


def parse_hashes(output: bytes) -> list[str]:
    """The per-stream hashes of a streamhash output, in stream order."""
    return [line.split(",", 2)[-1] for line in output.decode("ascii", "replace").splitlines() if "=" in line]
