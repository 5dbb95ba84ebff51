"""EXIF GPS positions: decode the latitude/longitude rationals, and write a coarse cell centre in their place."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping

from watcher.privacy.coarsen import as_fraction, cell_of

# The only GPS tags a coarse position is written with: the references and the two positions.
COARSE_TAGS = {1: "GPSLatitudeRef", 2: "GPSLatitude", 3: "GPSLongitudeRef", 4: "GPSLongitude"}


def _degrees(order: str, kind: int, raw: bytes | None) -> float | None:
    """Degrees from an unsigned RATIONAL[3] (degrees, minutes, seconds); None when malformed."""
    if raw is None or kind != 5 or len(raw) < 24:
        return None
    numbers = struct.unpack(order + "6I", raw[:24])
    parts = []
    for numerator, denominator in zip(numbers[::2], numbers[1::2], strict=True):
        if denominator == 0:
            return None
        parts.append(numerator / denominator)
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    return value if math.isfinite(value) else None


def gps_position(order: str, gps: Mapping[str, tuple[int, bytes | None]]) -> tuple[float, float] | None:
    """(lat, lon) from the GPS IFD's entries by name ((type, raw bytes)); None when absent or malformed."""
    lat = _degrees(order, *gps.get("GPSLatitude", (0, None)))
    lon = _degrees(order, *gps.get("GPSLongitude", (0, None)))
    if lat is None or lon is None or lat > 90 or lon > 180:
        return None
    lat_ref = (gps.get("GPSLatitudeRef", (2, b"N"))[1] or b"N")[:1]
    lon_ref = (gps.get("GPSLongitudeRef", (2, b"E"))[1] or b"E")[:1]
    return (-lat if lat_ref in b"Ss" else lat), (-lon if lon_ref in b"Ww" else lon)


def coarse_gps(order: str, lat: float, lon: float, km: float) -> dict[int, tuple[int, int, bytes]]:
    """GPS IFD entries (tag -> (type, count, bytes)) holding only the centre of the cell around (lat, lon).

    Each position is one rational of degrees with the cell's decimal denominator, then 0/1 minutes and
    0/1 seconds: no field can carry more precision than the cell.
    """
    cell = cell_of(lat, lon, km)

    def rational(value: float, denominator: int) -> bytes:
        fraction = as_fraction(value, denominator)
        return struct.pack(
            order + "6I", fraction.numerator * (denominator // fraction.denominator), denominator, 0, 1, 0, 1
        )

    return {
        1: (2, 2, b"S\0" if cell.lat < 0 else b"N\0"),
        2: (5, 3, rational(cell.lat, cell.lat_denominator)),
        3: (2, 2, b"W\0" if cell.lon < 0 else b"E\0"),
        4: (5, 3, rational(cell.lon, cell.lon_denominator)),
    }
