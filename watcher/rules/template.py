"""`sharesafe config init`: find the folders phones sync photos into; write a commented config for them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args, get_origin

from watcher.rules.config import INTEGER_BOUNDS, PROFILE_KEYS, PROFILE_TYPES
from watcher.rules.paths import is_within, real_path
from watcher.rules.profile import BUILTIN_PROFILES, STRICT

SHARE_ROOT = "ShareSafe"  # destinations go to ~/ShareSafe/<watch name>
MAX_SYNCTHING_CONFIG_BYTES = 8 * 1024 * 1024
SYNCTHING_CONFIGS = (".config/syncthing/config.xml", ".local/state/syncthing/config.xml")
# (application, folder relative to home) in the order they are offered.
KNOWN_FOLDERS = (
    ("Nextcloud", "Nextcloud/InstantUpload"),
    ("Nextcloud", "Nextcloud/Photos/Camera"),
    ("Nextcloud", "Nextcloud/Camera"),
    ("ownCloud", "ownCloud/InstantUpload"),
    ("ownCloud", "ownCloud/Photos/Camera"),
    ("ownCloud", "ownCloud/Camera"),
    ("Dropbox", "Dropbox/Camera Uploads"),
    ("PhotoSync", "PhotoSync"),
    ("PhotoSync", "Pictures/PhotoSync"),
    ("Pictures", "Pictures/Camera"),
)


@dataclass(frozen=True)
class SyncFolder:
    """A folder a sync application fills with photos; ``label`` is the application's name for it."""

    application: str
    path: Path
    label: str


def _syncthing_folders(home: Path) -> list[SyncFolder]:
    """Folders listed in Syncthing's config.xml (its own file, but parsed defensively: size-capped)."""
    found: list[SyncFolder] = []
    for relative in SYNCTHING_CONFIGS:
        config = home / relative
        try:
            if not config.is_file() or config.stat().st_size > MAX_SYNCTHING_CONFIG_BYTES:
                continue
            root = ElementTree.fromstring(config.read_bytes())  # noqa: S314 - the user's own file, size-capped
        except (OSError, ElementTree.ParseError):
            continue
        for folder in root.iter("folder"):
            text = folder.get("path", "")
            path = home / text[2:] if text.startswith("~/") else home if text == "~" else Path(text)
            if path.is_absolute() and text.isprintable():
                found.append(
                    SyncFolder("Syncthing", path, folder.get("label") or folder.get("id") or path.name)
                )
    return found


def discover_sync_folders(home: Path) -> list[SyncFolder]:
    """Existing sync folders under ``home``: Syncthing's (else ~/Sync), Nextcloud, ownCloud, Dropbox..."""
    candidates = _syncthing_folders(home) or [SyncFolder("Syncthing", home / "Sync", "Sync")]
    candidates += [SyncFolder(app, home / relative, Path(relative).name) for app, relative in KNOWN_FOLDERS]
    found: list[SyncFolder] = []
    seen: set[Path] = set()
    for candidate in candidates:
        real = real_path(candidate.path)
        if real not in seen and candidate.path.is_dir():
            seen.add(real)
            found.append(candidate)
    return found


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's are valid YAML); ``$`` doubled so it is not read as a variable."""
    return json.dumps(text.replace("$", "$$"), ensure_ascii=False)


def _shown(path: Path, home: Path) -> str:
    if path == home:
        return "~"
    return "~/" + str(path.relative_to(home)) if is_within(path, home) else str(path)


def _watch_name(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "photos"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def _watch_lines(folder: SyncFolder, name: str, home: Path) -> list[str]:
    destination = home / SHARE_ROOT / name
    return [
        f"- name: {_quote(name)}",
        f"  source: {_quote(_shown(folder.path, home))}",
        f"  destination: {_quote(_shown(destination, home))}",
        "  profile: strict",
    ]


def _conflict(folder: SyncFolder, accepted: list[SyncFolder], home: Path) -> str | None:
    """Why ``folder`` cannot be offered as an active watch, if it cannot."""
    source, share_root = real_path(folder.path), real_path(home / SHARE_ROOT)
    if is_within(share_root, source) or is_within(source, share_root):
        return f"it overlaps ~/{SHARE_ROOT}, where the share-safe copies go"
    for other in accepted:
        other_source = real_path(other.path)
        if is_within(source, other_source) or is_within(other_source, source):
            return f"it overlaps {_shown(other.path, home)}, already watched"
    return None


def _watches_section(found: list[SyncFolder], home: Path) -> list[str]:
    lines: list[str] = []
    accepted: list[SyncFolder] = []
    taken: set[str] = set()
    for folder in found:
        entry = _watch_lines(folder, _watch_name(folder.label, taken), home)
        described = f"{folder.application} folder {json.dumps(folder.label, ensure_ascii=False)}"
        reason = _conflict(folder, accepted, home)
        if reason is None:
            accepted.append(folder)
            lines += [f"# {described}", *entry]
        else:
            lines += [f"# {described}, not watched: {reason}", *("# " + line for line in entry)]
    if not accepted:
        example = SyncFolder("Example", home / "Sync" / "Camera", "Camera")
        lines += ["# No sync folder found; an example:"] + [
            "# " + line for line in _watch_lines(example, "camera", home)
        ]
    header = "watches:" if accepted else "watches: []"
    return [header] + ["  " + line for line in lines]


_HEADER = """\
# sharesafe configuration, written by `sharesafe config init`.
# Use it with `sharesafe run -c FILE` or keep it at ~/.config/sharesafe/config.yaml.
# Every option is shown commented out with its default. `~` and `$VARIABLES` are expanded in paths
# (`$$` is a literal `$`); relative paths are relative to this file's folder. Unknown keys are errors.

# Ledger and removal log. Default: $STATE_DIRECTORY, else $XDG_STATE_HOME/sharesafe,
# else ~/.local/state/sharesafe.
# state_dir: ~/.local/state/sharesafe

# Full rescan of every watched folder, for changes the file events missed: s, m, h or d. Default: 1h.
# reconcile_every: 1h

# Files sanitized at once: auto (one per CPU) or a whole number >= 1. Default: auto.
# workers: auto

# Face-detector threads per worker (profiles with faces on): auto (half the cores) or >= 1. Default: auto.
# face_threads: auto

# What was removed from each file (tag names and sizes, never values). Relative to state_dir.
# removal_log: removed.jsonl
"""
_WATCHES_INTRO = """
# Each watch publishes share-safe copies of a source folder into a destination folder. Other keys, with
# their defaults: recursive: true, poll: auto (or false, or seconds), settle_seconds: 5,
# ignore: [] (extra glob patterns), on_source_delete: keep (or delete), conflict_copies: skip (or publish).\
"""


def render_config(found: list[SyncFolder], *, home: Path | None = None) -> str:
    """A commented config offering each of ``found`` as a watch (commented out where it would clash)."""
    home = Path.home() if home is None else home
    sections = [_HEADER, *_profiles_section(), _WATCHES_INTRO, *_watches_section(found, home)]
    return "\n".join(sections) + "\n"


def _profiles_section() -> list[str]:
    """Every profile setting with strict's value and the others, read from the Profile dataclass."""
    lines = [
        f"# Rule profiles. Built in: {', '.join(BUILTIN_PROFILES)}. A profile `extends:` a built-in profile",
        "# or one defined above it (default: strict) and sets any of these (strict's value, then others):",
    ]
    for key in PROFILE_KEYS:
        default = getattr(STRICT, key)
        if get_origin(PROFILE_TYPES[key]) is Literal:
            others = [choice for choice in get_args(PROFILE_TYPES[key]) if choice != default]
            lines.append(f"#   {key}: {default} (or {', '.join(others)})")
        else:
            minimum, maximum = INTEGER_BOUNDS.get(key, (0, 2**31))
            lines.append(f"#   {key}: {default} ({minimum} to {maximum})")
    example = [
        "profiles:",
        "  grandparents:",
        "    extends: strict",
        "    time: date",
        "    camera_settings: keep",
    ]
    return lines + ["# " + line for line in example]
