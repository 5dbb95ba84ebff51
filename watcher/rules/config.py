"""The configuration file: YAML -> frozen ``Config``, every problem reported at once with FILE:LINE:COL."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin, get_type_hints

from yaml.nodes import Node, ScalarNode

from watcher.privacy.zones import Zone
from watcher.rules import privacy_settings
from watcher.rules.fingerprint import profile_fingerprint
from watcher.rules.loader import YAML, Problems, join, load_document, suggestion
from watcher.rules.paths import (
    default_state_dir,
    expand_path,
    home_folder,
    is_within,
    parse_duration,
    real_path,
    shown,
)
from watcher.rules.profile import BUILTIN_PROFILES, Profile

__all__ = [
    "Config",
    "WatchConfig",
    "default_config",
    "find_config",
    "load_config",
    "parse_duration",
    "profile_fingerprint",
]

TOP_KEYS = (
    "state_dir",
    "reconcile_every",
    "workers",
    "face_threads",
    "removal_log",
    "zones",
    "profiles",
    "watches",
)
WATCH_KEYS = (
    "name",
    "source",
    "destination",
    "profile",
    "recursive",
    "poll",
    "settle_seconds",
    "ignore",
    "on_source_delete",
    "conflict_copies",
)
PROFILE_TYPES = get_type_hints(Profile)
PROFILE_KEYS = tuple(field.name for field in dataclasses.fields(Profile) if field.name != "name")
INTEGER_BOUNDS = {"jpeg_quality": (1, 100)}
MAX_WORKERS = 1024
# Settings with a structured value, each read by its own function in privacy_settings.
STRUCTURED_KEYS = ("location", "private_zones", "delay", "resize")
for _key in PROFILE_KEYS:  # fail at import, not on the first file that sets the new field
    if _key in STRUCTURED_KEYS:
        continue
    if get_origin(PROFILE_TYPES[_key]) is not Literal and PROFILE_TYPES[_key] not in (int, bool):
        raise TypeError(f"Profile.{_key} has a type the config loader cannot read: {PROFILE_TYPES[_key]!r}")
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_RECONCILE_SECONDS = 3600.0


@dataclass(frozen=True)
class WatchConfig:
    name: str
    source: Path
    destination: Path
    profile: Profile
    recursive: bool = True
    # "auto": poll only where inotify cannot see changes (network mounts); "off": never; a number: every N s.
    poll: Literal["auto", "off"] | float = "auto"
    settle_seconds: float = 5.0
    ignore: tuple[str, ...] = ()
    on_source_delete: Literal["keep", "delete"] = "keep"
    conflict_copies: Literal["skip", "publish"] = "skip"


@dataclass(frozen=True)
class Config:
    path: Path | None
    state_dir: Path
    reconcile_every: float
    workers: int
    removal_log: Path
    profiles: Mapping[str, Profile]  # built-ins + user profiles
    watches: tuple[WatchConfig, ...]
    zones: Mapping[str, Zone] = dataclasses.field(
        default_factory=dict
    )  # private zones by name, for `private_zones` rules
    face_threads: int | None = None  # face detector threads per worker; None = half the cores


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_config(env: Mapping[str, str] | None = None) -> Config:
    """The configuration used without a file: built-in profiles, no watches."""
    state_dir = default_state_dir(os.environ if env is None else env)
    return Config(
        path=None,
        state_dir=state_dir,
        reconcile_every=DEFAULT_RECONCILE_SECONDS,
        workers=cpu_count(),
        removal_log=state_dir / "removed.jsonl",
        profiles=MappingProxyType(dict(BUILTIN_PROFILES)),
        watches=(),
    )


def find_config(env: Mapping[str, str] | None = None) -> Path | None:
    """$XDG_CONFIG_HOME/sharesafe/config.yaml, then /etc/sharesafe/config.yaml; None when neither exists."""
    env = os.environ if env is None else env
    config_home = env.get("XDG_CONFIG_HOME", "")
    user_folder = Path(config_home) if Path(config_home).is_absolute() else home_folder(env) / ".config"
    for candidate in (user_folder / "sharesafe" / "config.yaml", Path("/etc/sharesafe/config.yaml")):
        if candidate.exists():
            return candidate
    return None


@dataclass(frozen=True)
class _Watch:
    """What cross-watch checks need, kept even when other keys of the watch are wrong."""

    key_path: str
    name: str
    source: Path
    destination: Path
    name_node: Node
    destination_node: Node
    config: WatchConfig | None


@dataclass
class _Reader:
    """What reading one file needs besides the nodes: where problems go and how to expand paths."""

    problems: Problems
    env: Mapping[str, str]
    base: Path
    zones: Mapping[str, Zone] = dataclasses.field(default_factory=dict)

    def path(self, node: Node, key_path: str, base: Path | None = None) -> Path | None:
        text = self.problems.string(node, key_path)
        if text is None:
            return None
        try:
            return expand_path(text, self.env, base or self.base)
        except ValueError as error:
            self.problems.add(node, key_path, str(error))
            return None

    def duration(self, node: Node, key_path: str) -> float | None:
        if isinstance(node, ScalarNode) and node.tag in (YAML + "int", YAML + "float"):
            seconds = self.problems.number(node, key_path)
        else:
            text = self.problems.string(node, key_path)
            try:
                seconds = None if text is None else parse_duration(text)
            except ValueError as error:
                self.problems.add(node, key_path, str(error))
                return None
        if seconds is not None and seconds <= 0:
            self.problems.add(node, key_path, f"must be longer than zero (got {shown(node.value)})")
            return None
        return seconds

    def workers(self, node: Node, key: str = "workers", auto: int | None = None) -> int | None:
        """A whole number >= 1, or `auto` (``auto``, or the CPU count when not given)."""
        if isinstance(node, ScalarNode) and node.value == "auto":
            return cpu_count() if auto is None else auto
        number = self.problems.number(node, key, integer=True)
        value = self.problems.bounded(node, key, number, 1, MAX_WORKERS)
        return None if value is None else int(value)

    def profile_setting(self, node: Node, key_path: str, key: str) -> object | None:
        if key in STRUCTURED_KEYS:
            return self.structured_setting(node, key_path, key)
        annotation = PROFILE_TYPES[key]
        if get_origin(annotation) is Literal:
            return self.problems.choice(node, key_path, get_args(annotation))
        if annotation is bool:
            return self.problems.boolean(node, key_path)
        minimum, maximum = INTEGER_BOUNDS.get(key, (0, 2**31))
        number = self.problems.number(node, key_path, integer=True)
        value = self.problems.bounded(node, key_path, number, minimum, maximum)
        return None if value is None else int(value)

    def structured_setting(self, node: Node, key_path: str, key: str) -> object | None:
        if key == "location":
            return privacy_settings.read_location(self.problems, node, key_path)
        if key == "private_zones":
            return privacy_settings.read_zone_rule(self.problems, node, key_path, tuple(self.zones))
        if key == "delay":
            return privacy_settings.read_delay(self.problems, node, key_path)
        return privacy_settings.read_resize(self.problems, node, key_path)

    def profiles(self, node: Node | None) -> dict[str, Profile]:
        """Built-ins plus the file's profiles; each extends a built-in or one defined above it."""
        profiles = dict(BUILTIN_PROFILES)
        entries = {} if node is None else self.problems.mapping(node, "profiles") or {}
        for name, (key_node, body) in entries.items():
            key_path = join("profiles", name)
            if not _PROFILE_NAME.fullmatch(name):
                self.problems.add(key_node, key_path, "profile names are letters, digits, '-', '_' and '.'")
            elif name == "strict":
                self.problems.add(key_node, key_path, "'strict' is built in and cannot be redefined")
                continue
            settings = self.problems.mapping(body, key_path, (*PROFILE_KEYS, "extends")) or {}
            base = profiles["strict"]
            if "extends" in settings:
                base = self.profile_reference(settings.pop("extends")[1], join(key_path, "extends"), profiles)
            changes: dict[str, Any] = {}
            for key, (_, value_node) in settings.items():
                value = self.profile_setting(value_node, join(key_path, key), key)
                if value is not None:
                    changes[key] = value
            # Registered even when broken, so watches naming it do not report a second, misleading problem.
            profiles[name] = dataclasses.replace(base, name=name, **changes)
        return profiles

    def profile_reference(self, node: Node, key_path: str, profiles: Mapping[str, Profile]) -> Profile:
        name = self.problems.string(node, key_path)
        if name is None:
            return profiles["strict"]
        if name not in profiles:
            hint = suggestion(name, profiles) or "known: " + ", ".join(profiles)
            self.problems.add(node, key_path, f"unknown profile {shown(name)} ({hint})")
            return profiles["strict"]
        return profiles[name]

    def poll(self, node: Node, key_path: str) -> Literal["auto", "off"] | float | None:
        if isinstance(node, ScalarNode) and node.value in ("auto", "off"):
            return "auto" if node.value == "auto" else "off"
        if isinstance(node, ScalarNode) and node.tag == YAML + "bool":
            if self.problems.boolean(node, key_path) is False:
                return "off"
            self.problems.add(node, key_path, "must be auto, false or a number of seconds (got true)")
            return None
        seconds = self.problems.number(node, key_path)
        if seconds is not None and seconds <= 0:
            self.problems.add(
                node, key_path, f"must be auto, false or a number of seconds > 0 (got {seconds:g})"
            )
            return None
        return seconds

    def ignore(self, node: Node, key_path: str) -> tuple[str, ...] | None:
        items = self.problems.sequence(node, key_path)
        if items is None:
            return None
        patterns = [self.problems.string(item, f"{key_path}[{index}]") for index, item in enumerate(items)]
        return None if None in patterns else tuple(pattern for pattern in patterns if pattern is not None)

    def watch(self, node: Node, index: int, profiles: Mapping[str, Profile]) -> _Watch | None:
        key_path = f"watches[{index}]"
        entries = self.problems.mapping(node, key_path, WATCH_KEYS)
        if entries is None:
            return None
        for required in ("source", "destination"):
            if required not in entries:
                self.problems.add(node, key_path, f"missing required key '{required}'")
        values: dict[str, object] = {}
        readers: dict[str, Callable[[Node, str], object]] = {
            "name": lambda n, p: self.problems.string(n, p),
            "source": lambda n, p: self.path(n, p),
            "destination": lambda n, p: self.path(n, p),
            "profile": lambda n, p: self.profile_reference(n, p, profiles),
            "recursive": lambda n, p: self.problems.boolean(n, p),
            "poll": self.poll,
            "settle_seconds": lambda n, p: self.problems.bounded(n, p, self.problems.number(n, p), 0),
            "ignore": self.ignore,
            "on_source_delete": lambda n, p: self.problems.choice(n, p, ("keep", "delete")),
            "conflict_copies": lambda n, p: self.problems.choice(n, p, ("skip", "publish")),
        }
        for key, (_, value_node) in entries.items():
            values[key] = readers[key](value_node, join(key_path, key))
        source, destination = values.get("source"), values.get("destination")
        name = values.setdefault("name", (source.name or str(source)) if isinstance(source, Path) else None)
        if not (isinstance(source, Path) and isinstance(destination, Path) and isinstance(name, str)):
            return None
        values.setdefault("profile", profiles["strict"])
        config = None
        if None not in values.values() and len(values) >= len(entries):
            config = WatchConfig(**values)  # type: ignore[arg-type]  # each reader returned its field's type
        name_node = entries.get("name", entries["source"])[1]
        return _Watch(key_path, name, source, destination, name_node, entries["destination"][1], config)


def _check_watches(problems: Problems, watches: list[_Watch]) -> None:
    """Unique names; no destination in a source, no source in a destination, no destinations nested."""
    names: dict[str, _Watch] = {}
    for watch in watches:
        first = names.setdefault(watch.name, watch)
        if first is not watch:
            message = f"{shown(watch.name)} is already the name of {first.key_path}; give each watch its own"
            problems.add(watch.name_node, watch.key_path + ".name", message)
    for index, later in enumerate(watches):
        for other_index, other in enumerate(watches):
            _check_pair(problems, later, other, compare_destinations=other_index < index)


def _check_pair(problems: Problems, later: _Watch, other: _Watch, *, compare_destinations: bool) -> None:
    """Problems between ``later``'s destination and ``other``'s folders, reported at the destination."""
    destination, source = real_path(later.destination), real_path(other.source)
    whose = "its own source" if other is later else f"the source of {other.key_path} ({other.name})"
    where = (later.destination_node, later.key_path + ".destination")
    if is_within(destination, source):
        problems.add(*where, f"is inside {whose}: published copies would be read back as new photos")
    elif is_within(source, destination):
        problems.add(*where, f"contains {whose}: a source must stay outside every destination")
    if compare_destinations:
        other_destination = real_path(other.destination)
        if is_within(destination, other_destination) or is_within(other_destination, destination):
            problems.add(*where, f"overlaps the destination of {other.key_path} ({other.name})")


def require_extras(profiles: Iterable[Profile], face_threads: int | None = None) -> None:
    """A profile with faces on needs the optional detector: a config error at start, not a refusal per
    file later. Its thread count is set here, before any worker process is forked."""
    if any(profile.faces != "off" for profile in profiles):
        from watcher.faces import require_faces, set_default_threads

        set_default_threads(face_threads)
        require_faces()


def load_config(path: Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; every problem found is in the ConfigError raised."""
    env = os.environ if env is None else env
    root = load_document(path)
    problems = Problems(str(path))
    reader = _Reader(problems, env, path.absolute().parent)
    entries = problems.mapping(root, "", TOP_KEYS)
    if entries is None:
        problems.raise_if_any()
        entries = {}
    node = {key: value for key, (_, value) in entries.items()}
    state_dir = default_state_dir(env)
    if "state_dir" in node:
        state_dir = reader.path(node["state_dir"], "state_dir") or state_dir
    removal_log = state_dir / "removed.jsonl"
    if "removal_log" in node:
        removal_log = reader.path(node["removal_log"], "removal_log", state_dir) or removal_log
    reconcile = (
        reader.duration(node["reconcile_every"], "reconcile_every") if "reconcile_every" in node else None
    )
    workers = reader.workers(node["workers"]) if "workers" in node else None
    face_threads = reader.workers(node["face_threads"], "face_threads", 0) if "face_threads" in node else None
    reader.zones = MappingProxyType(privacy_settings.read_zones(problems, node.get("zones")))
    profiles = reader.profiles(node.get("profiles"))
    watch_nodes = problems.sequence(node["watches"], "watches") if "watches" in node else []
    watches = [reader.watch(item, index, profiles) for index, item in enumerate(watch_nodes or [])]
    _check_watches(problems, [watch for watch in watches if watch is not None])
    problems.raise_if_any()
    configs = tuple(watch.config for watch in watches if watch is not None and watch.config is not None)
    require_extras((config.profile for config in configs), face_threads or None)
    return Config(
        path=path.absolute(),
        state_dir=state_dir,
        reconcile_every=reconcile or DEFAULT_RECONCILE_SECONDS,
        workers=workers or cpu_count(),
        face_threads=face_threads or None,
        removal_log=removal_log,
        profiles=MappingProxyType(profiles),
        watches=configs,
        zones=reader.zones,
    )
