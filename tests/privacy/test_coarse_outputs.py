"""Location coarsening on every corpus file with GPS: the published position is the cell centre, alone."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path, PurePath

import pytest

from tests.conftest import CORPUS, load_manifest
from tests.oracle import assert_no_leaks
from watcher.pipeline import process_file
from watcher.pipeline.record import FileRecord
from watcher.privacy.coarsen import cell_of
from watcher.privacy.positions import file_positions
from watcher.rules.profile import STRICT, Coarsen

KM = 5.0
COARSE = dataclasses.replace(STRICT, location=Coarsen(KM), time="date")
# Every GPS file under 1 MB (HEIC re-encodes are slow), plus one HEIC and one video with a position.
GPS_FILES = [
    CORPUS / row["path"]
    for row in load_manifest()
    if row["has_gps"] == "1"
    and (
        int(row["size_bytes"]) < 1_000_000
        or row["path"].endswith(("IMG_5195.HEIC", "with-gps.mp4", "with-gps.mov"))
    )
]
COARSE_TAGS = {"GPSLatitude", "GPSLongitude", "GPSLatitudeRef", "GPSLongitudeRef"}


@pytest.fixture(scope="module")
def coarse_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[Path, FileRecord]]]:
    out = tmp_path_factory.mktemp("coarse")
    records = []
    for index, source in enumerate(GPS_FILES):
        relative = PurePath(f"{index:03d}{source.suffix}")
        records.append((source, process_file(source, relative, out, COARSE)))
    return out, records


def test_every_gps_file_is_published_with_at_most_its_cell_centre(
    coarse_outputs: tuple[Path, list[tuple[Path, FileRecord]]],
) -> None:
    _, records = coarse_outputs
    published = [(source, record) for source, record in records if record.status == "published"]
    assert len(published) >= 0.9 * len(GPS_FILES), [r.reason for _, r in records if r.status != "published"]
    coarse_count = 0
    for source, record in published:
        with source.open("rb") as stream:
            before = file_positions(stream)
        with open(str(record.output), "rb") as stream:
            after = file_positions(stream)
        assert all(position.source == "EXIF GPS" for position in after), record.output
        for position in after:
            expected = cell_of(before[0].lat, before[0].lon, KM)
            assert (position.lat, position.lon) == pytest.approx((expected.lat, expected.lon), abs=1e-9)
            coarse_count += 1
    assert coarse_count >= 30  # most JPEG/PNG/WebP/TIFF outputs carry the coarse EXIF position


def test_exiftool_sees_only_the_coarse_position_and_no_finer_digits(
    coarse_outputs: tuple[Path, list[tuple[Path, FileRecord]]],
) -> None:
    out, _ = coarse_outputs
    run = subprocess.run(
        [
            "exiftool",
            "-j",
            "-n",
            "-G1",
            "-a",
            "-GPS:all",
            "-XMP:all",
            "-QuickTime:GPSCoordinates",
            "-r",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    files = json.loads(run.stdout)
    seen = 0
    for entry in files:
        tags = {key.split(":")[-1] for key in entry if key != "SourceFile"}
        assert tags <= COARSE_TAGS | {"GPSVersionID"}, (entry["SourceFile"], tags - COARSE_TAGS)
        if "GPS:GPSLatitude" in entry:
            seen += 1
            lat, lon = float(entry["GPS:GPSLatitude"]), float(entry["GPS:GPSLongitude"])
            lat = -lat if entry.get("GPS:GPSLatitudeRef") == "S" else lat
            lon = -lon if entry.get("GPS:GPSLongitudeRef") == "W" else lon
            cell = cell_of(lat, lon, KM)
            assert (lat, lon) == pytest.approx((cell.lat, cell.lon), abs=1e-9)
            # No more decimals than the cell's denominator can express (0.001 degree for 5 km cells).
            assert round(abs(lat) * cell.lat_denominator) == pytest.approx(abs(lat) * cell.lat_denominator)
    assert seen >= 30


def test_the_kept_date_has_no_time_of_day_for_the_oracle(
    coarse_outputs: tuple[Path, list[tuple[Path, FileRecord]]], tmp_path: Path
) -> None:
    out, records = coarse_outputs
    # The oracle rightly flags any position, so it checks a copy of the run with the location removed.
    plain = dataclasses.replace(COARSE, location="remove")
    for index, (source, _) in enumerate(records[::3]):
        process_file(source, PurePath(f"{index:03d}{source.suffix}"), tmp_path, plain)
    assert "files" in assert_no_leaks(tmp_path, allow_time=True)
    dates = subprocess.run(
        ["exiftool", "-j", "-r", "-DateTimeOriginal", "-CreateDate", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    stamps = [
        value for entry in json.loads(dates.stdout) for key, value in entry.items() if key != "SourceFile"
    ]
    assert stamps and all(str(value).endswith("00:00:00") or len(str(value)) == 10 for value in stamps)
