"""The small interface every format handler implements, and the values that cross it.

A handler owns one container format. It never sees paths (the pipeline opens and publishes files), only
binary streams, so it cannot touch a source or write outside the temp file it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar, Protocol

from watcher.errors import TooLarge
from watcher.rules.profile import Profile


@dataclass(frozen=True)
class Finding:
    """One metadata item a reader found. ``value`` is shown only by ``inspect`` on the user's terminal."""

    category: str  # one of watcher.rules.profile.CATEGORIES
    name: str  # e.g. "EXIF:GPSLatitude", "APP13 Photoshop IRB", "trailer after EOI"
    value: str | None = None  # printable, truncated; never logged
    size: int | None = None  # bytes, when the item is a blob


@dataclass(frozen=True)
class Inventory:
    """Everything a reader found in a file, with its structure summarized."""

    format: str  # handler name, e.g. "jpeg"
    findings: tuple[Finding, ...] = ()
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Sanitized:
    """What a handler's sanitize() did. Names and sizes only: never the removed values."""

    format: str  # the output's format name (may differ from the input's: heif -> jpeg)
    extension: str  # the output's canonical extension, with dot: ".jpg"
    lossless: bool  # True when the image data was copied, not re-encoded
    removed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # category -> item names
    kept: tuple[str, ...] = ()  # item names kept by the profile (e.g. "EXIF:Orientation", "ICC profile")
    notes: tuple[str, ...] = ()  # human notes, e.g. "re-encoded HEIC to JPEG (quality 92)"
    # Lossless paths: a digest of the image data (a video's samples) as it was read from the source while
    # copying, so verify() can compare the re-read output against it without a second pass over the source.
    image_digest: str | None = None


class Handler(Protocol):
    """One container format. Implementations are stateless; the registry holds one instance each."""

    name: ClassVar[str]  # "jpeg", "png", ...
    extension: ClassVar[str]  # canonical output extension with dot
    extensions: ClassVar[tuple[str, ...]]  # every extension this format is known under, lower case

    def sniff(self, head: bytes) -> bool:
        """True when ``head`` (the first 64 bytes or fewer) starts a file of this format."""
        ...

    def inspect(self, source: BinaryIO) -> Inventory:
        """Read every metadata item. Raises CorruptMedia on a malformed file."""
        ...

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        """Write a copy of ``source`` to ``output`` holding only what ``profile`` keeps.

        Raises CorruptMedia, TooLarge or UnsupportedFormat; never writes to ``source``.
        """
        ...

    def verify(
        self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized
    ) -> Inventory | None:
        """Re-read ``output`` with the project's own reader and raise VerifyFailed if it carries anything
        outside ``profile``'s keep-list, does not parse as a complete file, or (lossless paths) its image
        data differs from ``source``'s.

        A handler whose check reads the whole output may return what ``inspect`` would list for it, so
        the generic check after it need not read the file a second time."""
        ...


class RemovalLog:
    """Collects removed item names per category while a handler works."""

    def __init__(self) -> None:
        self._removed: dict[str, list[str]] = {}
        self._kept: list[str] = []

    def remove(self, category: str, name: str) -> None:
        self._removed.setdefault(category, []).append(name)

    def remove_all(self, removed: Mapping[str, tuple[str, ...]]) -> None:
        """Record every item a nested filter (EXIF, XMP) removed, by category."""
        for category, names in removed.items():
            self._removed.setdefault(category, []).extend(names)

    def keep(self, name: str) -> None:
        self._kept.append(name)

    def removed(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(v) for k, v in self._removed.items()}

    def kept(self) -> tuple[str, ...]:
        return tuple(self._kept)


def read_whole(stream: BinaryIO, limit: int, what: str) -> bytes:
    """``stream`` from its start, for handlers whose library needs the whole file in memory; a file longer
    than ``limit`` bytes is refused (TooLarge) after reading at most one byte more."""
    stream.seek(0)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{what} file larger than {limit:,} bytes")
    return data
