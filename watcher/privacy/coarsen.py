"""Location coarsening: a fixed global grid of cells about N km wide; a position becomes its cell's centre.

The grid never depends on the photos, so the same place always gives the same cell and averaging many
coarse positions reveals nothing finer. Rows are equal-angle bands of ``km / 111.32`` degrees of latitude;
each band holds as many equal longitude cells as keep them about ``km`` wide at the band's centre.
The centre is then written with a decimal denominator no finer than a tenth of the cell, so the stored
value itself cannot carry more precision than the cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class Cell:
    row: int
    column: int
    lat: float  # the centre, as written (already rounded to ``lat_denominator``)
    lon: float
    lat_denominator: int
    lon_denominator: int


def _denominator(cell_degrees: float) -> int:
    """The power of ten whose step is at most a tenth of a cell (coarser would move centres into neighbours)."""
    return int(10 ** max(0, math.ceil(math.log10(10 / cell_degrees))))


def _band(row: int, km: float) -> tuple[float, int]:
    """(centre latitude, number of longitude cells) of latitude band ``row``."""
    height = km / KM_PER_DEGREE
    centre = min(90.0, -90.0 + (row + 0.5) * height)
    circumference_km = 360.0 * KM_PER_DEGREE * math.cos(math.radians(centre))
    return centre, max(1, math.floor(circumference_km / km))


def cell_of(lat: float, lon: float, km: float) -> Cell:
    """The grid cell holding (lat, lon) for cells about ``km`` wide."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or km <= 0:
        raise ValueError("a position and a cell size must be finite numbers")
    height = km / KM_PER_DEGREE
    rows = math.ceil(180.0 / height)
    row = min(rows - 1, max(0, math.floor((min(90.0, max(-90.0, lat)) + 90.0) / height)))
    centre_lat, columns = _band(row, km)
    width = 360.0 / columns
    column = math.floor(((lon + 180.0) % 360.0) / width) % columns
    centre_lon = -180.0 + (column + 0.5) * width
    lat_denominator, lon_denominator = _denominator(height), _denominator(width)
    return Cell(
        row,
        column,
        round(centre_lat * lat_denominator) / lat_denominator,
        round(centre_lon * lon_denominator) / lon_denominator,
        lat_denominator,
        lon_denominator,
    )


def is_cell_centre(lat: float, lon: float, km: float, tolerance: float = 1e-9) -> bool:
    """True when (lat, lon) is exactly the written centre of its own cell."""
    cell = cell_of(lat, lon, km)
    return abs(cell.lat - lat) <= tolerance and abs(cell.lon - lon) <= tolerance


def as_fraction(value: float, denominator: int) -> Fraction:
    """``abs(value)`` as numerator/denominator with exactly ``denominator`` (never finer)."""
    return Fraction(round(abs(value) * denominator), denominator)
