"""Read what a file carries, safely (no symlinks, no writes), for `inspect`, `check` and `report`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from watcher.errors import SourceError, WatcherError
from watcher.formats.base import Inventory
from watcher.pipeline.detect import describe_unsupported, detect
from watcher.pipeline.source import open_source


@dataclass(frozen=True)
class Reading:
    path: Path
    inventory: Inventory | None  # None when the file could not be read
    error: str | None
    motion_photo: bool = False  # an embedded motion-photo video was found (only when asked for)


def read_inventory(path: Path, *, look_for_motion: bool = False) -> Reading:
    """The project's own reading of ``path``, never raising for a bad or unsupported file."""
    try:
        stream, state = open_source(path)
        with stream:
            handler, head = detect(stream)
            if handler is None:
                return Reading(path, None, describe_unsupported(head, state.size))
            inventory = handler.inspect(stream)
            moving = False
            if look_for_motion and handler.name in ("jpeg", "heif"):
                from watcher.formats import motion  # only `report` asks

                stream.seek(0)
                moving = motion.find_motion_video(stream) is not None
            return Reading(path, inventory, None, moving)
    except (SourceError, WatcherError, OSError) as err:
        return Reading(path, None, str(err))
