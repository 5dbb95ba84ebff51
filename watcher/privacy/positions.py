"""Every position a file stores, read from the handlers' own findings (EXIF GPS, XMP GPS, video ISO 6709)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

from watcher.formats.base import Finding
from watcher.formats.registry import SNIFF_BYTES, handler_for

_ISO6709 = re.compile(r"([+-]\d{1,3}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)")
_XMP_COORDINATE = re.compile(r"(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])")
_VIDEO_KEYS = ("©xyz", "location.ISO6709")


@dataclass(frozen=True)
class Position:
    source: str  # where it was stored, e.g. "EXIF GPS", "XMP GPS", "video ©xyz"
    lat: float
    lon: float


def _rationals(value: str | None) -> float | None:
    """``"43/1 28/1 2814/100"`` -> degrees."""
    try:
        parts = [Fraction(text) for text in (value or "").split()]
    except (ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3:
        return None
    return float(sum(part / 60**index for index, part in enumerate(parts)))


def _xmp_coordinate(value: str | None) -> float | None:
    """``"53,50.0705N"`` or ``"53,50,4.23N"`` (XMP's GPSCoordinate) -> signed degrees."""
    match = _XMP_COORDINATE.fullmatch((value or "").strip())
    if match is None:
        return None
    degrees = int(match[1]) + float(match[2]) / 60 + float(match[3] or 0) / 3600
    return -degrees if match[4] in "SW" else degrees


def _valid(lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return abs(lat) <= 90 and abs(lon) <= 180


def _exif(by_name: dict[str, str | None]) -> Position | None:
    lat, lon = _rationals(by_name.get("EXIF:GPSLatitude")), _rationals(by_name.get("EXIF:GPSLongitude"))
    if lat is None or lon is None or not _valid(lat, lon):
        return None
    if (by_name.get("EXIF:GPSLatitudeRef") or "N")[:1] in "Ss":
        lat = -lat
    if (by_name.get("EXIF:GPSLongitudeRef") or "E")[:1] in "Ww":
        lon = -lon
    return Position("EXIF GPS", lat, lon)


def _xmp(by_name: dict[str, str | None]) -> Position | None:
    lat = _xmp_coordinate(by_name.get("XMP:exif:GPSLatitude"))
    lon = _xmp_coordinate(by_name.get("XMP:exif:GPSLongitude"))
    return Position("XMP GPS", lat, lon) if lat is not None and lon is not None and _valid(lat, lon) else None


def positions_in(findings: Iterable[Finding]) -> tuple[Position, ...]:
    """Every position the findings describe; malformed ones are skipped (they are removed anyway)."""
    items = list(findings)
    by_name = {finding.name: finding.value for finding in items if finding.category == "location"}
    found = [position for position in (_exif(by_name), _xmp(by_name)) if position is not None]
    for finding in items:
        if finding.category == "location" and finding.name.endswith(_VIDEO_KEYS):
            match = _ISO6709.match((finding.value or "").strip())
            if match and _valid(float(match[1]), float(match[2])):
                key = finding.name.rsplit(":", 1)[-1]
                found.append(Position(f"video {key}", float(match[1]), float(match[2])))
    return tuple(found)


def file_positions(stream: BinaryIO) -> tuple[Position, ...]:
    """Every position stored in the file ``stream`` holds (none for an unknown format)."""
    stream.seek(0)
    handler = handler_for(stream.read(SNIFF_BYTES))
    stream.seek(0)
    if handler is None:
        return ()
    inventory = handler.inspect(stream)
    stream.seek(0)
    return positions_in(inventory.findings)
