"""Capture time (for delays, date names and file times) and the release time of a delayed copy."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import BinaryIO

from watcher.errors import WatcherError
from watcher.formats.base import Finding
from watcher.formats.registry import SNIFF_BYTES, handler_for

# Most trusted first: the moment the shutter fired, then the container's creation time.
CAPTURE_TAGS = (
    "EXIF:DateTimeOriginal",
    "XMP:exif:DateTimeOriginal",
    "EXIF:CreateDate",
    "XMP:xmp:CreateDate",
    "XMP:photoshop:DateCreated",
    "QuickTime:CreateDate",
)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK_SECONDS = 86400.0
_STAMP = re.compile(
    r"(\d{4})[:-](\d{2})[:-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(UTC|Z|[+-]\d{2}:?\d{2})?"
)


def parse_stamp(text: str | None) -> datetime | None:
    """``2008:10:22 16:28:39``, ``2015-11-12T16:46:18+01:00`` or ``2017-02-22 08:20:28 UTC``.

    Stamps without a zone (EXIF's) are local time and come back naive; malformed ones give None.
    """
    match = _STAMP.match((text or "").strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    zone = match[7]
    try:
        stamp = datetime(year, month, day, hour, minute, second)
        if zone in ("UTC", "Z"):
            return stamp.replace(tzinfo=UTC)
        if zone:
            return datetime.fromisoformat(f"{stamp.isoformat()}{zone[:3]}:{zone[-2:]}")
    except ValueError:
        return None
    return stamp


def capture_in(findings: tuple[Finding, ...]) -> datetime | None:
    values = {finding.name: finding.value for finding in findings if finding.category == "time"}
    for name in CAPTURE_TAGS:
        stamp = parse_stamp(values.get(name))
        if stamp is not None:
            return stamp
    return None


def capture_time(source: BinaryIO) -> datetime | None:
    """The capture time stored in the file (EXIF, XMP or video), or None when absent or unreadable."""
    source.seek(0)
    handler = handler_for(source.read(SNIFF_BYTES))
    source.seek(0)
    if handler is None:
        return None
    try:
        inventory = handler.inspect(source)
    except WatcherError:
        return None
    finally:
        source.seek(0)
    return capture_in(inventory.findings)


def is_plausible(capture: datetime, reference: float) -> bool:
    """Not before 1990 and not more than a day after ``reference`` (a POSIX time)."""
    seconds = capture.timestamp()  # naive stamps are local time, as cameras write them
    return EARLIEST.timestamp() <= seconds <= reference + FUTURE_SLACK_SECONDS


def release_time(capture: datetime | None, arrival: float, delay: float) -> float:
    """When a delayed copy may appear: ``delay`` after the capture, or after arrival when the capture
    time is missing or implausible. Never before arrival (a file cannot be published before it exists)."""
    if capture is None or not is_plausible(capture, arrival):
        return arrival + delay
    return max(arrival, capture.timestamp() + delay)
