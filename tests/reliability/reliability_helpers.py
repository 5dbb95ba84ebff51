"""Helpers shared by the reliability tests: fuzz seeds and profiles, a hard per-case time bound, and the one
check every hostile input must pass (a verified output or a WatcherError, nothing else)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import FrameType

from hypothesis import settings

import watcher.pipeline  # noqa: F401  (imported first: the pipeline and the log import each other)
from tests.conftest import CORPUS, load_manifest
from watcher.errors import WatcherError
from watcher.formats.base import Handler
from watcher.formats.registry import SNIFF_BYTES, handler_for
from watcher.pipeline.verify import verify_output
from watcher.rules.profile import STRICT, Profile

# ExifTool's format names per handler, to pick seeds from the manifest.
SEED_FORMATS = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "webp": ("WEBP", "Extended WEBP"),
    "gif": ("GIF",),
    "tiff": ("TIFF",),
    "heif": ("HEIC", "HEIF", "AVIF"),
    "video": ("MP4", "MOV", "3GP"),
}
SEEDS_PER_HANDLER = 4
SEED_MAX_BYTES = {"video": 60_000}  # ffmpeg runs per case: small videos keep a case well under a second
DEFAULT_SEED_MAX_BYTES = 32_000
# Hard bound on one fuzz case (inspect + sanitize + verify), far above what any case needs even on a
# loaded machine: a case past it is a hang, not a slow case.
CASE_SECONDS = 60.0

PROFILE_ENV = "HYPOTHESIS_PROFILE"
EXAMPLES_ENV = "SHARESAFE_FUZZ_EXAMPLES"
ROUND_EXAMPLES = 1000


def fuzz_profile() -> str:
    return os.environ.get(PROFILE_ENV, "ci")


def fuzz_rounds(ci_examples: int) -> tuple[int, settings]:
    """(rounds, settings of one round) for one fuzz test: the CI count in one round under ``ci``; otherwise
    the profile's count (or SHARESAFE_FUZZ_EXAMPLES) in rounds of ROUND_EXAMPLES, so a long run checks its
    outputs with the oracle as it goes and never holds more than one round of them in memory."""
    name = fuzz_profile()
    base = settings.get_profile(name)
    chosen = os.environ.get(EXAMPLES_ENV)
    total = int(chosen) if chosen else ci_examples if name == "ci" else base.max_examples
    if name == "ci":
        return 1, settings(base, max_examples=total)
    rounds = max(1, -(-total // ROUND_EXAMPLES))
    return rounds, settings(base, max_examples=min(total, ROUND_EXAMPLES))


class CaseTimeout(BaseException):
    """A fuzz case ran past CASE_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise CaseTimeout in the main thread after ``seconds`` (SIGALRM: works inside C loops that return)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"a case ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@cache
def fuzz_seeds(handler_name: str) -> tuple[bytes, ...]:
    """Small real files of a handler's format that it cleans, richest in metadata first."""
    from watcher.formats.registry import handler_named

    handler = handler_named(handler_name)
    limit = SEED_MAX_BYTES.get(handler_name, DEFAULT_SEED_MAX_BYTES)
    rows = [
        row
        for row in load_manifest()
        if row["format"] in SEED_FORMATS[handler_name] and int(row["size_bytes"]) <= limit
    ]
    rows.sort(
        key=lambda r: (-sum(int(v) for k, v in r.items() if k.startswith("has_")), int(r["size_bytes"]))
    )
    chosen: list[bytes] = []
    for row in rows:
        data = (CORPUS / row["path"]).read_bytes()
        if handler.sniff(data[:SNIFF_BYTES]) and clean_output(handler, data) is not None:
            chosen.append(data)
        if len(chosen) == SEEDS_PER_HANDLER:
            break
    return tuple(chosen)


# The default profile, colour profile kept: a mutated ICC profile must come out reduced to its colour data
# (or be dropped as unreadable) like any other.
FUZZ_PROFILE = STRICT


def clean_output(handler: Handler, data: bytes, profile: Profile = FUZZ_PROFILE) -> bytes | None:
    """The verified output for ``data``, or None when the handler refused it with a WatcherError.

    Any other exception propagates: that is the bug a fuzz case is looking for.
    """
    try:
        output = io.BytesIO()
        result = handler.sanitize(io.BytesIO(data), output, profile)
        output.seek(0)
        handler.verify(output, io.BytesIO(data), profile, result)
        verify_output(output, profile, result)
    except WatcherError:
        return None
    return output.getvalue()


def exercise(handler: Handler, data: bytes) -> list[tuple[str, bytes]]:
    """Inspect and clean ``data`` with ``handler`` and with whichever handler its bytes now sniff as.

    Returns the verified outputs as (handler name, bytes); raises anything that is not a WatcherError.
    """
    detected = handler_for(data[:SNIFF_BYTES])
    outputs: list[tuple[str, bytes]] = []
    with time_limit(CASE_SECONDS):
        for each in {handler.name: handler, **({detected.name: detected} if detected else {})}.values():
            with contextlib.suppress(WatcherError):
                each.inspect(io.BytesIO(data))
            output = clean_output(each, data)
            if output is not None:
                outputs.append((each.name, output))
    return outputs


def write_outputs(outputs: dict[str, tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write verified outputs (keyed by digest) for one batch leakcheck run; extension by content."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for digest, (name, data) in sorted(outputs.items()):
        handler = handler_for(data[:SNIFF_BYTES])
        extension = handler.extension if handler else ".bin"
        path = folder / f"{name}-{digest}{extension}"
        path.write_bytes(data)
        paths.append(path)
    return paths
