"""Collect what each original exposes, from the handlers' own findings (never from their bytes)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watcher.errors import SourceError, WatcherError
from watcher.formats import motion
from watcher.formats.base import Finding
from watcher.pipeline.detect import describe_unsupported, detect
from watcher.pipeline.source import open_source
from watcher.privacy.positions import Position, positions_in
from watcher.privacy.timing import capture_in

DEVICE_NAMES = (
    "EXIF:Make",
    "EXIF:Model",
    "QuickTime:com.apple.quicktime.make",
    "QuickTime:com.apple.quicktime.model",
)
OWNER_NAMES = (
    "EXIF:Artist",
    "EXIF:OwnerName",
    "XMP:aux:OwnerName",
    "EXIF:XPAuthor",
    "XMP:dc:creator",
    "QuickTime:©ART",
)


@dataclass(frozen=True)
class FileFacts:
    path: Path
    format: str | None
    error: str | None = None  # why the file could not be read
    positions: tuple[Position, ...] = ()
    capture: datetime | None = None
    device: str | None = None  # "Make Model"
    serials: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    motion_photo: bool = False
    thumbnails: int = 0  # embedded previews (EXIF IFD1, Photoshop, HEIF thumbnails)


def _text(value: str | None) -> str | None:
    cleaned = " ".join((value or "").split())
    return cleaned or None


def _device(findings: tuple[Finding, ...]) -> str | None:
    values = {finding.name: _text(finding.value) for finding in findings}
    make = values.get("EXIF:Make") or values.get("QuickTime:com.apple.quicktime.make")
    model = values.get("EXIF:Model") or values.get("QuickTime:com.apple.quicktime.model")
    if model and make and model.lower().startswith(make.lower().split()[0]):
        return model
    return " ".join(part for part in (make, model) if part) or None


def _thumbnail_count(findings: tuple[Finding, ...]) -> int:
    previews = {finding.name.split(" (")[0] for finding in findings if finding.category == "thumbnails"}
    return len({"EXIF thumbnail" if name.startswith("EXIF:IFD1") else name for name in previews})


def facts_of(path: Path) -> FileFacts:
    """What one original exposes; an unreadable file comes back with ``error`` set, never raising."""
    try:
        stream, state = open_source(path)
        with stream:
            handler, head = detect(stream)
            if handler is None:
                return FileFacts(path, None, describe_unsupported(head, state.size))
            findings = handler.inspect(stream).findings
            stream.seek(0)
            moving = handler.name in ("jpeg", "heif") and motion.find_motion_video(stream) is not None
    except (SourceError, WatcherError, OSError) as error:
        return FileFacts(path, None, str(error))
    return FileFacts(
        path,
        handler.name,
        positions=positions_in(findings),
        capture=capture_in(findings),
        device=_device(findings),
        serials=tuple(sorted({value for f in findings if "Serial" in f.name and (value := _text(f.value))})),
        owners=tuple(
            sorted({value for f in findings if f.name in OWNER_NAMES and (value := _text(f.value))})
        ),
        motion_photo=moving,
        thumbnails=_thumbnail_count(findings),
    )


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under ``paths`` (folders recursively, hidden entries and symbolic links skipped), sorted."""
    for given in paths:
        if given.is_dir() and not given.is_symlink():
            for folder, folders, names in os.walk(given, followlinks=False):
                folders[:] = sorted(name for name in folders if not name.startswith("."))
                for name in sorted(names):
                    path = Path(folder, name)
                    if not name.startswith(".") and not path.is_symlink():
                        yield path
        elif not given.is_symlink():
            yield given


def scan(paths: Iterable[Path]) -> tuple[FileFacts, ...]:
    return tuple(facts_of(path) for path in walk(paths))
