"""A configured watch plus what the daemon derives from it: ignore rules, profile hash, path mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from watcher.daemon.ignore import IgnoreRules
from watcher.errors import PublishError
from watcher.log import get_logger
from watcher.pipeline.publish import remove_stale_temp_files
from watcher.privacy.zones import Zone
from watcher.rules.config import Config, WatchConfig, profile_fingerprint


@dataclass(frozen=True)
class Watch:
    config: WatchConfig
    profile_hash: str
    ignore: IgnoreRules
    zones: Mapping[str, Zone] = field(default_factory=dict)  # the configuration's private zones
    # The mount point the destination lives on, when it is not the root file system (a NAS share, a USB
    # disk). If it is unmounted while the daemon runs, the folder underneath must not receive copies.
    destination_mount: Path | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def source(self) -> Path:
        return self.config.source

    @property
    def destination(self) -> Path:
        return self.config.destination

    def check_destination(self) -> None:
        """Raise PublishError (retried later) while the destination's file system is not mounted."""
        if self.destination_mount is not None and not os.path.ismount(self.destination_mount):
            raise PublishError(
                f"the destination's file system ({self.destination_mount}) is not mounted; "
                "copies wait until it is back"
            )

    def relative_of(self, path: str) -> PurePosixPath | None:
        """``path`` relative to the source, or None when it is outside it or its name cannot be stored."""
        try:
            relative = PurePosixPath(os.path.relpath(path, self.source))
            relative.as_posix().encode("utf-8")
        except (ValueError, UnicodeEncodeError):
            return None
        if relative.parts[:1] == ("..",) or str(relative) == ".":
            return None
        return relative

    def wanted_file(self, path: str) -> PurePosixPath | None:
        """The relative path of ``path`` when it is a file this watch publishes, else None."""
        relative = self.relative_of(path)
        if relative is None or self.ignore.ignores_file(relative, Path(path)):
            return None
        if not self.config.recursive and len(relative.parts) > 1:
            return None
        return relative

    def source_path(self, relative: str) -> Path:
        return self.source / relative

    def output_path(self, output: str | None) -> Path | None:
        """An output recorded in the ledger, when it lies inside this watch's destination (never follow a
        stale path elsewhere)."""
        if not output:
            return None
        path = Path(output)
        if not path.is_absolute() or self.destination not in path.parents:
            return None
        return path


def build_watches(config: Config) -> Mapping[str, Watch]:
    """Every configured watch by name. Each ignores the state dir, the removal log and every destination."""
    excluded = (
        config.state_dir.absolute(),
        config.removal_log.absolute(),
        *(watch.destination.absolute() for watch in config.watches),
    )
    return {
        watch.name: Watch(
            watch,
            profile_fingerprint(watch.profile),
            IgnoreRules(watch.ignore, excluded, publish_conflict_copies=watch.conflict_copies == "publish"),
            dict(config.zones),
            mount_point_of(watch.destination),
        )
        for watch in config.watches
    }


def mount_point_of(path: Path) -> Path | None:
    """The nearest mount point at or above ``path`` (as it is now), or None for the root file system."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    while current != current.parent:
        if os.path.ismount(current):
            return current
        current = current.parent
    return None


def prepare_destination(watch: Watch) -> None:
    """Create the destination folder, but only where its parent exists: an unmounted share must not be
    replaced by a local folder."""
    if watch.destination.parent.is_dir():
        watch.destination.mkdir(mode=0o755, exist_ok=True)


def remove_temp_files(watch: Watch) -> None:
    """Delete the temp files a crash left in the destination. Only at start-up: later, workers may be
    writing temp files right now."""
    removed = remove_stale_temp_files(watch.destination)
    if removed:
        get_logger().info("temp_files_removed", watch=watch.name, count=removed)
