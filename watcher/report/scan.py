"""Collect what each original exposes, from the handlers' own findings (never from their bytes)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watcher.formats.base import Finding
from watcher.pipeline.batch import walk_folder
from watcher.pipeline.inventory import read_inventory
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
    reading = read_inventory(path, look_for_motion=True)
    if reading.inventory is None:
        return FileFacts(path, None, reading.error)
    findings = reading.inventory.findings
    moving = reading.motion_photo
    return FileFacts(
        path,
        reading.inventory.format,
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
            yield from (path for path, _relative, skip in walk_folder(given) if skip is None)
        elif not given.is_symlink():
            yield given


def scan(paths: Iterable[Path]) -> tuple[FileFacts, ...]:
    return tuple(facts_of(path) for path in walk(paths))
