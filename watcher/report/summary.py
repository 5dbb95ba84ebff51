"""The exposure report's figures, computed once from the scanned facts for both the terminal and HTML."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from watcher.privacy.coarsen import cell_of
from watcher.privacy.timing import is_plausible
from watcher.privacy.zones import Zone, contains
from watcher.report.geocode import place_names
from watcher.report.scan import FileFacts

CLUSTER_KM = 25.0  # photos within one ~25 km grid cell count as one place
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Cluster:
    lat: float  # the mean of the precise positions in it: this report is for the owner's eyes only
    lon: float
    count: int
    place: str | None


@dataclass(frozen=True)
class Report:
    files: int
    unreadable: int
    with_gps: tuple[str, ...]  # paths of files with a precise position
    clusters: tuple[Cluster, ...]
    zones: Mapping[str, int]  # zone name -> files with a position inside it
    devices: Mapping[str, int]
    serials: Mapping[str, int]
    owners: Mapping[str, int]
    first: datetime | None
    last: datetime | None
    hours: tuple[int, ...]  # 24 counts of capture hour
    weekdays: tuple[int, ...]  # 7 counts, Monday first
    motion_photos: int
    with_thumbnails: int


def _clusters(facts: Sequence[FileFacts]) -> tuple[Cluster, ...]:
    groups: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for fact in facts:
        if fact.positions:
            first = fact.positions[0]
            cell = cell_of(first.lat, first.lon, CLUSTER_KM)
            groups.setdefault((cell.row, cell.column), []).append((first.lat, first.lon))
    centres = [
        (
            sum(lat for lat, _ in members) / len(members),
            sum(lon for _, lon in members) / len(members),
            len(members),
        )
        for members in groups.values()
    ]
    centres.sort(key=lambda centre: -centre[2])
    names = place_names([(lat, lon) for lat, lon, _ in centres])
    return tuple(
        Cluster(lat, lon, count, name) for (lat, lon, count), name in zip(centres, names, strict=True)
    )


def _counter(values: Sequence[str]) -> dict[str, int]:
    return dict(Counter(values).most_common())


def summarize(
    facts: Sequence[FileFacts], zones: Mapping[str, Zone] | None = None, now: float | None = None
) -> Report:
    zones = zones or {}
    reference = time.time() if now is None else now
    captures = sorted(  # a camera whose clock says 1970 or 2099 tells nothing about routines
        fact.capture.replace(tzinfo=None)
        for fact in facts
        if fact.capture is not None and is_plausible(fact.capture, reference)
    )
    hours, weekdays = [0] * 24, [0] * 7
    for stamp in captures:
        hours[stamp.hour] += 1
        weekdays[stamp.weekday()] += 1
    in_zone = {
        name: sum(1 for f in facts if any(contains(zone, p.lat, p.lon) for p in f.positions))
        for name, zone in zones.items()
    }
    return Report(
        files=len(facts),
        unreadable=sum(1 for fact in facts if fact.error is not None),
        with_gps=tuple(str(fact.path) for fact in facts if fact.positions),
        clusters=_clusters(facts),
        zones=in_zone,
        devices=_counter([fact.device for fact in facts if fact.device]),
        serials=_counter([serial for fact in facts for serial in fact.serials]),
        owners=_counter([owner for fact in facts for owner in fact.owners]),
        first=captures[0] if captures else None,
        last=captures[-1] if captures else None,
        hours=tuple(hours),
        weekdays=tuple(weekdays),
        motion_photos=sum(1 for fact in facts if fact.motion_photo),
        with_thumbnails=sum(1 for fact in facts if fact.thumbnails),
    )
