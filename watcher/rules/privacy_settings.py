"""Config readers for the structured privacy settings: location coarsening, zones, delay, resize."""

from __future__ import annotations

from collections.abc import Collection

from yaml.nodes import MappingNode, Node, ScalarNode

from watcher.privacy.zones import Zone
from watcher.rules.loader import YAML, Problems, join, suggestion
from watcher.rules.paths import parse_duration, shown
from watcher.rules.profile import Coarsen, Resize, ZoneRule

MIN_CELL_KM, MAX_CELL_KM = 0.1, 2000.0
MAX_SIDE_RANGE = (16, 65535)
MAX_DELAY_SECONDS = 366 * 86400.0


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == YAML + "null"


def read_location(problems: Problems, node: Node, path: str) -> str | Coarsen | None:
    """``remove``, ``keep`` or ``{coarsen_km: N}``."""
    if not isinstance(node, MappingNode):
        return problems.choice(node, path, ("remove", "keep"))
    entries = problems.mapping(node, path, ("coarsen_km",))
    if entries is None:
        return None
    if "coarsen_km" not in entries:
        problems.add(node, path, "missing required key 'coarsen_km'")
        return None
    km = _number_in(problems, entries, path, "coarsen_km", MIN_CELL_KM, MAX_CELL_KM)
    return None if km is None else Coarsen(km=float(km))


def _number_in(
    problems: Problems,
    entries: dict[str, tuple[ScalarNode, Node]],
    path: str,
    key: str,
    minimum: float,
    maximum: float,
    *,
    integer: bool = False,
) -> float | None:
    """The number under ``key`` when it lies in [minimum, maximum]; otherwise a problem and None."""
    node, key_path = entries[key][1], join(path, key)
    return problems.bounded(
        node, key_path, problems.number(node, key_path, integer=integer), minimum, maximum
    )


def read_delay(problems: Problems, node: Node, path: str) -> float | None:
    """A duration such as ``6h`` (units s/m/h/d) or a number of seconds; ``null`` or ``0`` means none."""
    if _is_null(node):
        return None
    if isinstance(node, ScalarNode) and node.tag in (YAML + "int", YAML + "float"):
        seconds = problems.number(node, path)
    else:
        text = problems.string(node, path)
        try:
            seconds = None if text is None else parse_duration(text)
        except ValueError as error:
            problems.add(node, path, str(error))
            return None
    seconds = problems.bounded(node, path, seconds, 0, MAX_DELAY_SECONDS)
    return seconds or None  # zero delay is no delay


def read_resize(problems: Problems, node: Node, path: str) -> Resize | None:
    """``{max_side: N, quality: Q}``; ``null`` means no resizing."""
    entries = problems.mapping(node, path, ("max_side", "quality"))
    if not entries:
        return None
    if "max_side" not in entries:
        problems.add(node, path, "missing required key 'max_side'")
        return None
    side = _number_in(problems, entries, path, "max_side", *MAX_SIDE_RANGE, integer=True)
    quality: float | None = 90
    if "quality" in entries:
        quality = _number_in(problems, entries, path, "quality", 1, 100, integer=True)
    if side is None or quality is None:
        return None
    return Resize(max_side=int(side), quality=int(quality))


def read_zone_rule(problems: Problems, node: Node, path: str, known: Collection[str]) -> ZoneRule | None:
    """``{zones: [home, school], action: skip | remove_location}``; every name must be a top-level zone."""
    entries = problems.mapping(node, path, ("zones", "action"))
    if not entries:
        return None
    if "zones" not in entries:
        problems.add(node, path, "missing required key 'zones'")
        return None
    action = "skip"
    if "action" in entries:
        action = (
            problems.choice(entries["action"][1], join(path, "action"), ("skip", "remove_location")) or ""
        )
    zones_path = join(path, "zones")
    items = problems.sequence(entries["zones"][1], zones_path) or []
    names: list[str] = []
    for index, item in enumerate(items):
        name = problems.string(item, f"{zones_path}[{index}]")
        if name is not None and name not in known:
            hint = suggestion(name, known) or (
                "known: " + ", ".join(known) if known else "no zones are defined"
            )
            problems.add(item, f"{zones_path}[{index}]", f"unknown zone {shown(name)} ({hint})")
        elif name is not None:
            names.append(name)
    if not names or len(names) != len(items) or action not in ("skip", "remove_location"):
        if not items:
            problems.add(entries["zones"][1], zones_path, "must name at least one zone")
        return None
    unique = tuple(dict.fromkeys(names))  # [home, home] means home
    return ZoneRule(zones=unique, action="skip" if action == "skip" else "remove_location")


def read_zones(problems: Problems, node: Node | None) -> dict[str, Zone]:
    """Top-level ``zones: {home: {lat: .., lon: .., radius_m: ..}}``."""
    entries = {} if node is None else problems.mapping(node, "zones") or {}
    zones: dict[str, Zone] = {}
    for name, (_key_node, body) in entries.items():
        path = join("zones", name)
        values = problems.mapping(body, path, ("lat", "lon", "radius_m"))
        if values is None:
            continue
        read: dict[str, float | None] = {}
        for key, (minimum, maximum) in {"lat": (-90, 90), "lon": (-180, 180), "radius_m": (0, None)}.items():
            if key not in values:
                problems.add(body, path, f"missing required key '{key}'")
                read[key] = None
                continue
            value_node = values[key][1]
            number = problems.number(value_node, join(path, key))
            read[key] = problems.bounded(value_node, join(path, key), number, minimum, maximum)
            if key == "radius_m" and read[key] == 0:
                problems.add(value_node, join(path, key), "must be more than zero metres")
                read[key] = None
        lat, lon, radius = read["lat"], read["lon"], read["radius_m"]
        if lat is not None and lon is not None and radius is not None:
            zones[name] = Zone(lat=float(lat), lon=float(lon), radius_m=float(radius))
    return zones
