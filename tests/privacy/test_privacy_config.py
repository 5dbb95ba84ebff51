"""The structured privacy settings in the config file, and their FILE:LINE:COL errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.errors import ConfigError
from watcher.privacy.zones import Zone
from watcher.rules.config import load_config
from watcher.rules.fingerprint import profile_fingerprint
from watcher.rules.profile import STRICT, Coarsen, Resize, ZoneRule

ENV = {"HOME": "/home/ana"}
GOOD = """\
zones:
  home: {lat: 52.52, lon: 13.405, radius_m: 500}
  school: {lat: -33.9, lon: 151.2, radius_m: 250.5}
profiles:
  travel:
    location: {coarsen_km: 10}
    private_zones: {zones: [home, school], action: remove_location}
    delay: 6h
    names: date
    folders: flatten
    file_time: capture_date
    resize: {max_side: 2048}
  quick:
    extends: travel
    delay: 90
    private_zones: {zones: [home]}
"""


def _load(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path, env=ENV)
    except ConfigError as error:
        return [problem.split(":", 1)[1] for problem in error.problems]
    return []


def test_the_privacy_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(path, env=ENV)
    assert config.zones == {"home": Zone(52.52, 13.405, 500.0), "school": Zone(-33.9, 151.2, 250.5)}
    travel = config.profiles["travel"]
    assert travel.location == Coarsen(10.0) and travel.keeps("location")
    assert travel.private_zones == ZoneRule(("home", "school"), "remove_location")
    assert (travel.delay, travel.names, travel.folders, travel.file_time) == (
        21600.0,
        "date",
        "flatten",
        "capture_date",
    )
    assert travel.resize == Resize(2048, 90)
    quick = config.profiles["quick"]
    assert quick.delay == 90.0 and quick.private_zones == ZoneRule(("home",), "skip")
    assert profile_fingerprint(travel) != profile_fingerprint(quick)
    assert STRICT.names == "random" and STRICT.file_time == "publish"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "zones:\n  home: {lat: 91, lon: 0, radius_m: 5}\n",
            "2:15: zones.home.lat: must be between -90 and 90",
        ),
        (
            "zones:\n  home: {lat: 1, lon: 0, radius_m: 0}\n",
            "2:36: zones.home.radius_m: must be more than zero",
        ),
        ("zones:\n  home: {lat: 1, lon: 0}\n", "2:9: zones.home: missing required key 'radius_m'"),
        (
            "zones:\n  home: {lat: 1, lon: 0, radius_m: 9}\nprofiles:\n  p:\n    private_zones: {zones: [hom]}\n",
            "5:29: profiles.p.private_zones.zones[0]: unknown zone 'hom' (did you mean 'home'?)",
        ),
        ("profiles:\n  p:\n    private_zones: {zones: [home]}\n", "no zones are defined"),
        (
            "profiles:\n  p:\n    location: {coarsen_km: 0}\n",
            "3:28: profiles.p.location.coarsen_km: must be between",
        ),
        ("profiles:\n  p:\n    location: coarse\n", "3:15: profiles.p.location: must be one of remove, keep"),
        ("profiles:\n  p:\n    delay: 6y\n", "3:12: profiles.p.delay: '6y' is not a duration"),
        (
            "profiles:\n  p:\n    resize: {max_side: 8}\n",
            "3:24: profiles.p.resize.max_side: must be between 16",
        ),
        ("profiles:\n  p:\n    resize: {side: 8}\n", "profiles.p.resize.side: unknown key"),
        ("profiles:\n  p:\n    names: hashed\n", "profiles.p.names: must be one of keep, random, date"),
    ],
)
def test_mistakes_are_reported_with_their_position(tmp_path: Path, text: str, problem: str) -> None:
    problems = _load(tmp_path, text)
    assert any(problem in found for found in problems), problems
