"""Which paths under a watch are never published: sync-client temp files, NAS system folders, conflict copies.

Sync clients write into the watched folder under temporary names and rename into place when done; those
names must never be published. The rules are matched case-insensitively because the same share is often
written from Windows and macOS clients too.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# File names that are always temporary or system files. Dot-files are handled separately (every name that
# starts with "." is ignored: Syncthing ".syncthing.*.tmp", rsync ".NAME.XXXXXX", Nextcloud ".NAME.~hex",
# macOS "._*" resource forks, ".stversions", ".stfolder"...).
DEFAULT_IGNORED_FILES: tuple[str, ...] = (
    "~syncthing~*",
    "*.part",
    "*.partial",
    "*.filepart",
    "*.crdownload",
    "*.!sync",
    "*.tmp",
    "*~",
    "*.sbak",
    "*.octransferid*.part",
    "desktop.ini",
    "thumbs.db",
)
# Folder names whose whole subtree is skipped: Synology, QNAP and Windows recycle bins and snapshots.
DEFAULT_IGNORED_FOLDERS: tuple[str, ...] = (
    "@eadir",
    "#recycle",
    "#snapshot",
    ".trash-*",
    "$recycle.bin",
    "lost+found",
)
# Markers sync clients put into the names of the copies they make when two edits collide.
CONFLICT_MARKERS: tuple[str, ...] = (
    ".sync-conflict-",  # Syncthing
    "(conflicted copy",  # Dropbox, Nextcloud
    "(case conflict",  # Dropbox
    "_conflict-",  # ownCloud
    "(sfconflict",  # Seafile
)


def is_conflict_copy(name: str) -> bool:
    """True when ``name`` looks like a sync client's conflict copy."""
    lowered = name.lower()
    return any(marker in lowered for marker in CONFLICT_MARKERS)


def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled, case-insensitive regular expression for a set of glob patterns (scans test every
    file name against all of them)."""
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(pattern) for pattern in patterns), re.IGNORECASE)


_FILES = _pattern(DEFAULT_IGNORED_FILES)
_FOLDERS = _pattern(DEFAULT_IGNORED_FOLDERS)


def _matches(text: str, pattern: re.Pattern[str] | None) -> bool:
    return pattern is not None and pattern.match(text) is not None


@dataclass(frozen=True)
class IgnoreRules:
    """The ignore rules of one watch.

    ``excluded`` holds absolute folders (the state dir and every destination) that are skipped when they
    sit inside the source tree, so the daemon never feeds on its own output.
    """

    extra_patterns: tuple[str, ...] = ()
    excluded: tuple[Path, ...] = ()
    publish_conflict_copies: bool = False
    _extra: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _excluded_text: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_extra", _pattern(self.extra_patterns))
        object.__setattr__(self, "_excluded_text", tuple(str(folder) for folder in self.excluded))

    def ignores_folder_name(self, name: str) -> bool:
        """True when a folder called ``name`` is skipped with everything under it."""
        return name.startswith(".") or _matches(name, _FOLDERS) or _matches(name, self._extra)

    def ignores_file_name(self, name: str, relative: str) -> bool:
        """True when the file ``name`` (at ``relative``, POSIX) is not published; its folders are not
        looked at (a scan checks them on the way down)."""
        if not name or name.startswith(".") or _matches(name, _FILES):
            return True
        if _matches(name, self._extra) or _matches(relative, self._extra):
            return True
        return not self.publish_conflict_copies and is_conflict_copy(name)

    def ignores_folder(self, relative: PurePosixPath, absolute: Path | None = None) -> bool:
        """True when the folder ``relative`` (to the watch source) and everything under it is skipped."""
        if any(self.ignores_folder_name(part) for part in relative.parts):
            return True
        return absolute is not None and self.is_excluded(str(absolute))

    def ignores_file(self, relative: PurePosixPath, absolute: Path | None = None) -> bool:
        """True when the file ``relative`` (to the watch source) must not be published."""
        if self.ignores_file_name(relative.name, relative.as_posix()) or self.ignores_folder(relative.parent):
            return True
        return absolute is not None and self.is_excluded(str(absolute))

    def is_excluded(self, absolute: str) -> bool:
        """True when ``absolute`` is one of the excluded folders or inside one."""
        return any(
            absolute == folder or absolute.startswith(folder.rstrip("/") + "/")
            for folder in self._excluded_text
        )
