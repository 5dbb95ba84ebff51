"""What a profile keeps. Everything a profile does not explicitly keep is removed.

The categories a rule can keep are closed (``KeepableCategory``); the categories that are always removed,
whatever a rule says, are listed in ``ALWAYS_REMOVED``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Literal, get_args

# Categories a rule may keep. Each metadata item a reader finds belongs to exactly one category.
KeepableCategory = Literal[
    "location",  # GPS position, place names
    "time",  # capture / digitized / modify dates, time zones, sub-seconds
    "device",  # make, model, software, lens make/model
    "camera_settings",  # exposure, aperture, ISO, focal length, flash, white balance...
    "people",  # face regions, person names
    "text",  # titles, captions, descriptions, comments, keywords
    "copyright",  # artist, copyright notice, credit
    "orientation",  # the EXIF Orientation tag
    "color_profile",  # ICC profile, PNG sRGB/gAMA/cHRM
]
# Categories that are removed whatever a rule says.
AlwaysRemovedCategory = Literal[
    "identifiers",  # serial numbers, owner names, unique image IDs, XMP history / document IDs
    "thumbnails",  # EXIF IFD1, Photoshop and XMP thumbnails and previews
    "embedded_images",  # MPF frames, gain maps, depth maps, HEIF auxiliary images
    "maker_notes",  # vendor blobs
    "trailer",  # bytes after the end of the image: motion-photo video, Samsung SEFT, PhotoMechanic...
    "provenance",  # C2PA / JUMBF manifests
    "other",  # anything unknown or not on a keep-list: vendor segments, private chunks, unknown tags
]
Category = Literal[KeepableCategory, AlwaysRemovedCategory]

KEEPABLE: tuple[str, ...] = get_args(KeepableCategory)
ALWAYS_REMOVED: tuple[str, ...] = get_args(AlwaysRemovedCategory)
CATEGORIES: tuple[str, ...] = KEEPABLE + ALWAYS_REMOVED

RemoveKeep = Literal["remove", "keep"]
TimeRule = Literal["remove", "date", "keep"]
OrientationRule = Literal["keep", "apply"]
KeepRemove = Literal["keep", "remove"]
HeifOutput = Literal["jpeg", "keep"]
MotionRule = Literal["drop", "separate"]
LivePhotoRule = Literal["keep", "drop"]
FacesRule = Literal["off", "blur", "mosaic", "fill"]
NamesRule = Literal["keep", "random", "date"]
FoldersRule = Literal["keep", "flatten"]
FileTimeRule = Literal["publish", "capture_date"]
ZoneAction = Literal["skip", "remove_location"]


@dataclass(frozen=True)
class Coarsen:
    """``location: {coarsen_km: N}``: positions snapped to the centre of a fixed grid cell about N km wide."""

    km: float


@dataclass(frozen=True)
class ZoneRule:
    """``private_zones``: photos taken inside one of ``zones`` are held back or lose their location."""

    zones: tuple[str, ...]
    action: ZoneAction = "skip"


@dataclass(frozen=True)
class Resize:
    """``resize``: re-encode so the longer side is at most ``max_side`` pixels (not lossless)."""

    max_side: int
    quality: int = 90


@dataclass(frozen=True)
class Profile:
    """A frozen rule profile. The defaults are the built-in ``strict`` profile."""

    name: str = "strict"
    # "remove", "keep", or Coarsen(km): snapped to a grid cell, precision-revealing GPS tags removed.
    location: RemoveKeep | Coarsen = "remove"
    time: TimeRule = "remove"
    device: RemoveKeep = "remove"
    camera_settings: RemoveKeep = "remove"
    people: RemoveKeep = "remove"
    text: RemoveKeep = "remove"
    copyright: RemoveKeep = "remove"
    orientation: OrientationRule = "keep"
    color_profile: KeepRemove = "keep"
    # HEIC/HEIF/AVIF stills: re-encode to JPEG for sharing (default) or keep the container.
    heif_output: HeifOutput = "jpeg"
    # JPEG quality for every re-encode (HEIC -> JPEG, orientation applied where lossless is impossible).
    jpeg_quality: int = 92
    # Motion photos (Google MicroVideo/MotionPhoto, Samsung mpvd/SEFT): drop the video, or publish it
    # sanitized as a sibling file.
    motion: MotionRule = "drop"
    # Live Photos (a still and a MOV sharing a content identifier): publish the MOV too, or not.
    live_photo_video: LivePhotoRule = "keep"
    # Face anonymization (needs the `faces` extra); re-encodes the picture when on.
    faces: FacesRule = "off"
    # Photos taken inside named private zones (top-level `zones:`) are held back or lose their location.
    private_zones: ZoneRule | None = None
    # Seconds after the capture time (or arrival) before the copy is published; None publishes at once.
    delay: float | None = None
    # Output names: the source's, a random name (stable per source in the daemon's ledger), or capture day
    # plus a counter. A random name is never derived from the original, which would link the copies.
    names: NamesRule = "random"
    folders: FoldersRule = "keep"
    # The output's modification time: the publish time, or the capture day at 00:00 (never the source's).
    file_time: FileTimeRule = "publish"
    # Re-encode to at most max_side pixels on the longer side; orientation applied, colour profile kept.
    resize: Resize | None = None

    def keeps(self, category: str) -> bool:
        """True when items of ``category`` may stay in the output (``time: date`` keeps a reduced date)."""
        if category not in KEEPABLE:
            return False
        value = getattr(self, category)
        return isinstance(value, Coarsen) or bool(value in ("keep", "date"))

    def kept_categories(self) -> frozenset[str]:
        return frozenset(c for c in KEEPABLE if self.keeps(c))

    def as_dict(self) -> dict[str, object]:
        """Plain values (nested rules as dicts, zone lists as lists), fit for JSON."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return {key: _plain(item) for key, item in asdict(value).items()}
    return list(value) if isinstance(value, tuple) else value


STRICT = Profile()
# Useful for people who share within the family: keeps what grandparents like to see.
FAMILY = Profile(name="family", time="date", camera_settings="keep", text="keep")
# For posting online: strict, and the faces in the picture anonymized too (needs the `faces` extra).
PUBLIC = Profile(name="public", faces="blur")
BUILTIN_PROFILES: dict[str, Profile] = {p.name: p for p in (STRICT, FAMILY, PUBLIC)}
