"""Private zones, names, folders, file times and resizing through the whole pipeline, on corpus files."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from datetime import datetime
from pathlib import Path, PurePath

import pytest
from PIL import Image

from tests.conftest import CORPUS
from watcher.pipeline import process_file
from watcher.privacy.positions import file_positions
from watcher.privacy.zones import Zone
from watcher.rules.profile import STRICT, Coarsen, Resize, ZoneRule

ITALY = CORPUS / "ianare__exif-samples/jpg/gps/DSCN0010.jpg"  # EXIF GPS near Arezzo, 2008-10-22 16:28:39
HAMBURG = (
    CORPUS / "Tommy-Geenexus__exif-eraser/app/src/main/res/raw/jpeg_with_exif_with_xmp.jpg"
)  # EXIF + XMP GPS
MOVIE = CORPUS / "drewnoakes__metadata-extractor-images/mp4/with-gps.mp4"  # ©xyz position
BIG_HEIC = CORPUS / "MikeKovarik__exifr/test/fixtures/heic-iphone.heic"


def _zone_around(path: Path, radius_m: float = 500) -> dict[str, Zone]:
    with path.open("rb") as stream:
        position = file_positions(stream)[-1]  # the last source (XMP, video) must count too
    return {"home": Zone(position.lat + 0.001, position.lon, radius_m)}


@pytest.mark.parametrize("source", [ITALY, HAMBURG, MOVIE], ids=["exif", "xmp", "video"])
def test_a_zone_around_the_photo_holds_it_back_by_name_only(source: Path, tmp_path: Path) -> None:
    profile = dataclasses.replace(STRICT, private_zones=ZoneRule(("home",), "skip"))
    record = process_file(source, PurePath(source.name), tmp_path, profile, zones=_zone_around(source))
    assert record.status == "skipped"
    assert record.reason == 'held back by private zone "home"'
    assert not re.search(r"\d+\.\d+", str(record.as_json()))  # no coordinates anywhere in the record
    assert list(tmp_path.iterdir()) == []


def test_a_zone_elsewhere_lets_the_photo_through(tmp_path: Path) -> None:
    profile = dataclasses.replace(STRICT, private_zones=ZoneRule(("home",), "skip"))
    zones = {"home": Zone(-33.86, 151.2, 5000)}
    assert process_file(ITALY, PurePath("a.jpg"), tmp_path, profile, zones=zones).status == "published"


def test_remove_location_strips_even_a_coarse_position(tmp_path: Path) -> None:
    profile = dataclasses.replace(
        STRICT, location=Coarsen(10.0), private_zones=ZoneRule(("home",), "remove_location")
    )
    record = process_file(HAMBURG, PurePath("a.jpg"), tmp_path, profile, zones=_zone_around(HAMBURG))
    assert record.status == "published", record.reason
    assert 'location removed: taken inside private zone "home"' in record.notes
    with open(str(record.output), "rb") as stream:
        assert file_positions(stream) == ()
    outside = process_file(HAMBURG, PurePath("b.jpg"), tmp_path, profile, zones={"home": Zone(0, 0, 10)})
    with open(str(outside.output), "rb") as stream:
        assert len(file_positions(stream)) == 1  # the coarse one, outside the zone


def test_an_undefined_zone_refuses_rather_than_publishes(tmp_path: Path) -> None:
    profile = dataclasses.replace(STRICT, private_zones=ZoneRule(("home",), "skip"))
    record = process_file(ITALY, PurePath("a.jpg"), tmp_path, profile)
    assert record.status == "refused" and "home" in str(record.reason)


def test_random_names_are_fresh_unless_the_caller_keeps_one(tmp_path: Path) -> None:
    first = process_file(ITALY, PurePath("DSCN0010.jpg"), tmp_path, STRICT)
    second = process_file(ITALY, PurePath("DSCN0010.jpg"), tmp_path, STRICT)
    names = {Path(str(first.output)).name, Path(str(second.output)).name}
    assert len(names) == 2 and all(re.fullmatch(r"[a-z2-7]{16}\.jpg", name) for name in names)
    assert not any("DSCN" in name for name in names)
    # The daemon stores a name per source and passes it back: reprocessing gives the same output name.
    (tmp_path / "kept").mkdir()
    again = [
        process_file(ITALY, PurePath("x.jpg"), tmp_path / "kept", STRICT, name="q7k3m2") for _ in range(2)
    ]
    assert {Path(str(record.output)).name for record in again} == {"q7k3m2.jpg"}


def test_date_names_count_up_per_capture_day_and_folders_flatten(tmp_path: Path) -> None:
    profile = dataclasses.replace(STRICT, names="date", folders="flatten")
    records = [process_file(ITALY, PurePath(f"sub/{i}/a.jpg"), tmp_path, profile) for i in range(3)]
    assert [Path(str(r.output)).name for r in records] == [f"2008-10-22_{n:04d}.jpg" for n in (1, 2, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"2008-10-22_{n:04d}.jpg" for n in (1, 2, 3)]


def test_no_output_mtime_equals_the_source_mtime(tmp_path: Path) -> None:
    source = tmp_path / "in.jpg"
    shutil.copy2(ITALY, source)
    os.utime(source, (1_600_000_000.5, 1_600_000_000.5))
    (tmp_path / "p").mkdir()
    (tmp_path / "d").mkdir()
    published = process_file(source, PurePath("a.jpg"), tmp_path / "p", STRICT, now=lambda: 1_700_000_000.0)
    assert os.stat(str(published.output)).st_mtime == 1_700_000_000.0
    by_day = dataclasses.replace(STRICT, file_time="capture_date")
    dated = process_file(source, PurePath("a.jpg"), tmp_path / "d", by_day)
    assert os.stat(str(dated.output)).st_mtime == datetime(2008, 10, 22).timestamp()
    assert os.stat(source).st_mtime == 1_600_000_000.5


def test_resize_shrinks_applies_orientation_keeps_icc_and_drops_exif(tmp_path: Path) -> None:
    profile = dataclasses.replace(STRICT, resize=Resize(max_side=512, quality=80), time="date")
    record = process_file(BIG_HEIC, PurePath("a.heic"), tmp_path, profile)
    assert record.status == "published", record.reason
    assert record.lossless is False and any("not lossless" in note for note in record.notes)
    with Image.open(str(record.output)) as image:
        assert max(image.size) == 512
        assert image.info.get("icc_profile")
        assert not image.getexif()
