"""The pure parts: grid snapping, zone distances, capture and release times, name counters."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CORPUS
from watcher.privacy.coarsen import KM_PER_DEGREE, cell_of, is_cell_centre
from watcher.privacy.names import date_prefix, next_date_stem, random_stem
from watcher.privacy.timing import capture_time, parse_stamp, release_time
from watcher.privacy.zones import Zone, distance_m, zone_hit

latitudes = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=179.999, allow_nan=False)
sizes = st.sampled_from([0.5, 1.0, 5.0, 10.0, 50.0])


@given(latitudes, longitudes, sizes)
def test_a_position_snaps_to_a_stable_centre_near_it(lat: float, lon: float, km: float) -> None:
    cell = cell_of(lat, lon, km)
    assert cell == cell_of(lat, lon, km)  # deterministic
    assert is_cell_centre(cell.lat, cell.lon, km)  # snapping the centre gives the centre again
    assert cell_of(cell.lat, cell.lon, km) == cell
    # The centre lies within about one cell of the position (wider only where bands meet the poles).
    assert abs(cell.lat - lat) <= km / KM_PER_DEGREE
    assert distance_m(lat, lon, cell.lat, cell.lon) <= 1000 * km * (1.5 if abs(lat) < 80 else 4)


@given(latitudes, longitudes, sizes)
def test_nearby_positions_in_one_cell_reveal_nothing_finer(lat: float, lon: float, km: float) -> None:
    cell = cell_of(lat, lon, km)
    step = 1 / cell.lat_denominator
    assert step <= km / KM_PER_DEGREE / 10  # the written value cannot move a centre out of its cell
    assert round(cell.lat * cell.lat_denominator) == pytest.approx(cell.lat * cell.lat_denominator)


def test_cells_are_about_the_asked_width() -> None:
    paris = cell_of(48.8584, 2.2945, 5)
    east = cell_of(48.8584, 2.2945 + 5.5 / (KM_PER_DEGREE * math.cos(math.radians(48.86))), 5)
    assert east.column in (paris.column + 1, paris.column + 2)


def test_zone_distances_and_hits() -> None:
    assert distance_m(52.5200, 13.4050, 48.8566, 2.3522) == pytest.approx(877_500, rel=0.01)  # Berlin-Paris
    zones = {"home": Zone(52.52, 13.405, 500), "school": Zone(52.53, 13.405, 500)}
    assert zone_hit([(52.5231, 13.405)], ("home", "school"), zones) == "home"
    assert zone_hit([(0, 0), (52.53, 13.4051)], ("home", "school"), zones) == "school"
    assert zone_hit([(52.56, 13.405)], ("home", "school"), zones) is None


def test_capture_times_from_exif_xmp_and_video() -> None:
    with (CORPUS / "ianare__exif-samples/jpg/gps/DSCN0010.jpg").open("rb") as stream:
        assert capture_time(stream) == datetime(2008, 10, 22, 16, 28, 39)
    with (CORPUS / "drewnoakes__metadata-extractor-images/mp4/with-gps.mp4").open("rb") as stream:
        assert capture_time(stream) == datetime(2017, 2, 22, 8, 20, 28, tzinfo=UTC)
    assert capture_time(io.BytesIO(b"not a photo")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2008:10:22 16:28:39", datetime(2008, 10, 22, 16, 28, 39)),
        ("2015-11-12T16:46:18+01:00", datetime(2015, 11, 12, 15, 46, 18, tzinfo=UTC)),
        ("2017-02-22 08:20:28 UTC", datetime(2017, 2, 22, 8, 20, 28, tzinfo=UTC)),
        ("0000:00:00 00:00:00", None),
        ("garbage", None),
    ],
)
def test_stamps(text: str, expected: datetime | None) -> None:
    assert parse_stamp(text) == expected


def test_release_time_counts_from_capture_or_from_arrival() -> None:
    arrival = datetime(2024, 6, 12, 12, 0, tzinfo=UTC).timestamp()
    six_hours = 6 * 3600.0
    recent = datetime(2024, 6, 12, 10, 0, tzinfo=UTC)
    assert release_time(recent, arrival, six_hours) == recent.timestamp() + six_hours
    old = datetime(2020, 1, 1, tzinfo=UTC)
    assert release_time(old, arrival, six_hours) == arrival  # long past: publish on arrival
    for implausible in (datetime(1985, 1, 1, tzinfo=UTC), datetime(2024, 6, 14, tzinfo=UTC), None):
        assert release_time(implausible, arrival, six_hours) == arrival + six_hours
    in_a_few_hours = datetime(2024, 6, 12, 20, 0, tzinfo=UTC)  # a clock a little ahead is still plausible
    assert (
        release_time(in_a_few_hours, arrival, six_hours) == (in_a_few_hours + timedelta(hours=6)).timestamp()
    )


def test_names() -> None:
    assert random_stem() != random_stem()
    assert len(random_stem()) == 16
    assert date_prefix(None, datetime(2024, 6, 12, 23, 59)) == "2024-06-12"
    existing = ["2024-06-12_0001.jpg", "2024-06-12_0007.mp4", "2024-06-11_0020.jpg", "x.jpg"]
    assert next_date_stem("2024-06-12", existing) == "2024-06-12_0008"
    assert next_date_stem("2024-06-13", existing) == "2024-06-13_0001"
