"""Private zones: named circles on the globe; a photo taken inside one is held back or loses its location."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


@dataclass(frozen=True)
class Zone:
    lat: float
    lon: float
    radius_m: float


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = math.radians(lat2 - lat1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def contains(zone: Zone, lat: float, lon: float) -> bool:
    return distance_m(zone.lat, zone.lon, lat, lon) <= zone.radius_m


def zone_hit(
    positions: Iterable[tuple[float, float]], names: Iterable[str], zones: Mapping[str, Zone]
) -> str | None:
    """The first of ``names`` whose zone holds any of ``positions`` (every source counts), else None."""
    points = list(positions)
    for name in names:
        zone = zones.get(name)
        if zone is not None and any(contains(zone, lat, lon) for lat, lon in points):
            return name
    return None
