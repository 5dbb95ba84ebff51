"""Per-file publishing choices the daemon keeps stable: the output name and, for delayed profiles, when the
copy may appear."""

from __future__ import annotations

from pathlib import Path

from watcher.daemon.ledger import Job
from watcher.privacy.names import random_stem
from watcher.privacy.timing import capture_time, release_time
from watcher.rules.profile import Profile


def output_stem(job: Job, profile: Profile) -> str | None:
    """The output stem to ask the pipeline for, or None to let the profile's rule pick one.

    A random name is drawn once; the caller stores a stem that differs from ``job.name`` before the first
    publish (``Ledger.keep_names``), so a retry or a restart after a crash rewrites the same copy instead of
    adding a second one. A date name is only known after publishing; it is stored then (``stem_of``) and
    reused for later versions of the file.
    """
    if profile.names == "keep":
        return None
    if job.name is not None:
        return job.name
    if profile.names == "random":
        return random_stem()
    return None


def stem_of(output: str | None, profile: Profile) -> str | None:
    """The stem of a published output, to keep (random and date names only)."""
    if output is None or profile.names == "keep":
        return None
    return Path(output).name.split(".", 1)[0]


def release_at(source: Path, profile: Profile, arrival: float) -> float | None:
    """When a delayed profile lets this file appear (wall-clock seconds); None without a delay."""
    if profile.delay is None:
        return None
    try:
        with source.open("rb") as stream:
            capture = capture_time(stream)
    except OSError:
        capture = None
    return release_time(capture, arrival, profile.delay)
