"""The privacy rules as pipeline steps: the private-zone check, output names, folders and file times."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from watcher.errors import WatcherError
from watcher.formats.base import Handler, Sanitized
from watcher.pipeline import naming
from watcher.pipeline.publish import TempOutput
from watcher.privacy.names import date_prefix, random_stem
from watcher.privacy.positions import positions_in
from watcher.privacy.timing import capture_in, is_plausible
from watcher.privacy.zones import Zone, zone_hit
from watcher.rules.profile import Profile


class UnknownZone(WatcherError):
    """A profile names a private zone the configuration does not define: fail closed."""


@dataclass(frozen=True)
class Plan:
    """What the privacy rules decided for one file before sanitizing."""

    profile: Profile  # possibly with the location removed (a zone's remove_location)
    held_by: str | None  # the zone that holds the file back (skip), by name only
    capture: datetime | None  # a plausible capture time, for date names and file times
    notes: tuple[str, ...] = ()


def plan(handler: Handler, src: BinaryIO, profile: Profile, zones: Mapping[str, Zone], now: float) -> Plan:
    """Read the source's positions and capture time (once) and apply the zone rule."""
    rule = profile.private_zones
    needs_time = profile.names == "date" or profile.file_time == "capture_date"
    if rule is None and not needs_time:
        return Plan(profile, None, None)
    inventory = handler.inspect(src)
    src.seek(0)
    capture = capture_in(inventory.findings)
    if capture is not None and not is_plausible(capture, now):
        capture = None
    if rule is None:
        return Plan(profile, None, capture)
    missing = [name for name in rule.zones if name not in zones]
    if missing:
        raise UnknownZone(f"private zone {missing[0]!r} is not defined in the configuration's zones")
    points = [(position.lat, position.lon) for position in positions_in(inventory.findings)]
    hit = zone_hit(points, rule.zones, zones)
    if hit is None:
        return Plan(profile, None, capture)
    if rule.action == "skip":
        return Plan(profile, hit, capture)
    note = f'location removed: taken inside private zone "{hit}"'
    return Plan(dataclasses.replace(profile, location="remove"), None, capture, (note,))


def output_folder(parts: tuple[str, ...], profile: Profile) -> tuple[str, ...]:
    """The output's folder below the destination: the source's, or the root under ``folders: flatten``."""
    return () if profile.folders == "flatten" else parts[:-1]


def choose_name(
    source: Path,
    folder_fd: int,
    result: Sanitized,
    profile: Profile,
    stem: str | None,
    capture: datetime | None,
    now: float,
) -> str:
    """The output's file name. ``stem`` (a caller's stored random name) wins over the profile's rule."""
    if stem is not None:
        return stem + result.extension
    if profile.names == "random":
        return random_stem() + result.extension
    if profile.names == "date":
        return naming.reserve_date_name(
            folder_fd, date_prefix(capture, datetime.fromtimestamp(now)), result.extension
        )
    return naming.output_name(source, result)


def output_time(profile: Profile, capture: datetime | None, now: float) -> float:
    """The output's mtime: now, or the capture day at 00:00 local time. Never the source's mtime."""
    if profile.file_time == "capture_date" and capture is not None:
        day = capture.astimezone() if capture.tzinfo else capture
        return datetime(day.year, day.month, day.day).timestamp()
    return now


def set_file_time(out: TempOutput, when: float) -> None:
    out.file.flush()  # buffered bytes written later would move the mtime again
    os.utime(out.file.fileno(), (when, when))
