"""The ICC colour profile a published copy carries: its colour data byte for byte, nothing else.

An embedded profile tells a viewer how to turn pixel values into colours; that part must survive untouched
or the picture changes. The same profile can also carry a creation date (for a per-unit calibrated profile,
a fingerprint of the device), the device's maker and model, vendors' private tags (Apple's make-and-model
``mmod``, its translated names ``dscm``), calibration dates and free text. ``clean_profile`` keeps the header
fields a colour engine reads and the tags that define the colour transform (plus the two the format
requires, description and copyright, each in one language), zeroes the rest of the header and drops every
other tag: a keep-list like everywhere else. A profile that needs no change comes back as the same bytes.

Every handler that keeps a profile passes it through here, and every verifier checks ``is_clean`` on the
profile it re-reads from the output.
"""

from __future__ import annotations

import hashlib
import struct
from typing import NamedTuple

from watcher.errors import CorruptMedia
from watcher.formats.base import Finding, RemovalLog

HEADER_SIZE = 128
MAX_TAGS = 1024
# Tags that define how pixel values map to colours, or that a colour engine may read while building or
# choosing a transform (ICC.1:2022 section 9; v2 tags for older profiles). Everything else is dropped.
COLOUR_TAGS = frozenset(
    tag.encode("ascii")
    for tag in (
        "A2B0", "A2B1", "A2B2", "A2B3", "B2A0", "B2A1", "B2A2", "B2A3", "D2B0", "D2B1", "D2B2", "D2B3",
        "B2D0", "B2D1", "B2D2", "B2D3", "rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC", "kTRC", "wtpt",
        "bkpt", "chad", "gamt", "pre0", "pre1", "pre2", "ncl2", "ncol", "clro", "clrt", "clot", "ciis",
        "rig0", "rig2", "lumi", "meas", "view", "tech", "resp", "bfd ", "cicp", "psd0", "psd1", "psd2",
        "psd3",
    )
)  # fmt: skip
TEXT_TAGS = frozenset((b"desc", b"cprt"))  # required by the format: kept, reduced to one language
KEPT_TAGS = COLOUR_TAGS | TEXT_TAGS
# What each dropped tag is, for the removal log (names only); a tag not listed is logged as "other".
_TAG_CATEGORY = {
    b"calt": "time",
    b"mmod": "device",
    b"dmnd": "device",
    b"dmdd": "device",
    b"pseq": "device",
    b"psid": "device",
    b"dscm": "text",
    b"targ": "text",
    b"vued": "text",
    b"chrm": "other",
    b"vcgt": "other",
}
# Header byte ranges zeroed in a clean profile: creation date, device maker and model, profile ID (rewritten
# when it was set), and the reserved bytes. The rest (size, CMM, version, class, colour spaces, signature,
# platform, flags, device attributes, rendering intent, illuminant, creator) is kept.
_DATE, _DEVICE, _PROFILE_ID, _RESERVED = slice(24, 36), slice(48, 56), slice(84, 100), slice(100, 128)
_ZEROED = ((_DATE, "time", "creation date"), (_DEVICE, "device", "device maker and model"))
_ENGLISH = b"enUS"


class CleanProfile(NamedTuple):
    data: bytes
    removed: tuple[tuple[str, str], ...]  # (category, item name) pairs for the removal log

    def record(self, log: RemovalLog, kept_as: str = "ICC profile") -> None:
        """Name in ``log`` what cleaning took out of the profile, and the profile as kept."""
        for category, name in self.removed:
            log.remove(category, name)
        log.keep(kept_as)


class _Tag(NamedTuple):
    signature: bytes
    offset: int
    size: int


def clean_profile(data: bytes) -> CleanProfile:
    """The profile with only its colour data, header colour fields and one-language description left.

    Raises CorruptMedia when ``data`` is not a readable ICC profile (callers drop it, with a note)."""
    size, tags = _parse(data)
    removed: list[tuple[str, str]] = []
    if size < len(data):
        removed.append(("other", f"ICC bytes after the profile ({len(data) - size:,} bytes)"))
    header = bytearray(data[:HEADER_SIZE])
    for span, category, name in _ZEROED:
        if any(header[span]):
            removed.append((category, f"ICC {name}"))
            header[span] = bytes(span.stop - span.start)
    if any(header[_RESERVED]):
        removed.append(("other", "ICC reserved header bytes"))
        header[_RESERVED] = bytes(_RESERVED.stop - _RESERVED.start)
    kept: list[tuple[_Tag, bytes]] = []
    seen: set[bytes] = set()
    for tag in tags:
        body = data[tag.offset : tag.offset + tag.size]
        if tag.signature not in KEPT_TAGS or tag.signature in seen:
            label = tag.signature.decode("latin-1").strip() or "blank"
            category = _TAG_CATEGORY.get(tag.signature, "other")
            removed.append((category, f"ICC tag {label!r} ({tag.size:,} bytes)"))
            continue
        seen.add(tag.signature)
        if tag.signature in TEXT_TAGS:
            body, dropped = _one_language(body)
            if dropped:
                removed.append(("text", f"ICC {tag.signature.decode()} {dropped}"))
        kept.append((tag, body))
    if not removed:
        return CleanProfile(data, ())
    return CleanProfile(_assemble(header, kept, had_id=any(data[_PROFILE_ID])), tuple(removed))


def is_clean(data: bytes) -> bool:
    """Whether ``data`` is a readable profile ``clean_profile`` would leave as it is (what verifiers check)."""
    try:
        return not clean_profile(data).removed
    except CorruptMedia:
        return False


def identity_findings(data: bytes) -> tuple[Finding, ...]:
    """What ``inspect`` and ``check`` list inside an embedded profile besides its colour data: the items
    ``clean_profile`` would remove (names only), or the whole profile when it cannot be read."""
    try:
        removed = clean_profile(data).removed
    except CorruptMedia:
        return (Finding("other", "ICC profile (unreadable)", None, len(data)),)
    return tuple(Finding(category, name) for category, name in removed)


def split_for_jpeg(profile: bytes, prefix: bytes, limit: int = 65519) -> list[bytes]:
    """APP2 payloads carrying ``profile``: ``prefix`` + sequence number + count + at most ``limit`` bytes."""
    pieces = [profile[i : i + limit] for i in range(0, len(profile), limit)] or [b""]
    if len(pieces) > 255:
        raise CorruptMedia("ICC profile too large for JPEG APP2 chunks")
    return [prefix + bytes((n, len(pieces))) + piece for n, piece in enumerate(pieces, 1)]


def _parse(data: bytes) -> tuple[int, list[_Tag]]:
    if len(data) < HEADER_SIZE + 4 or data[36:40] != b"acsp":
        raise CorruptMedia("not an ICC profile (no 'acsp' signature)")
    size, count = struct.unpack_from(">I", data, 0)[0], struct.unpack_from(">I", data, HEADER_SIZE)[0]
    if size > len(data) or size < HEADER_SIZE + 4:
        raise CorruptMedia(f"ICC profile truncated ({len(data):,} of {size:,} bytes)")
    table_end = HEADER_SIZE + 4 + 12 * count
    if count > MAX_TAGS or table_end > size:
        raise CorruptMedia(f"ICC tag table of {count} entries does not fit the profile")
    tags = []
    for index in range(count):
        signature, offset, length = struct.unpack_from(">4sII", data, HEADER_SIZE + 4 + 12 * index)
        if offset < table_end or offset + length > size:
            raise CorruptMedia(f"ICC tag {signature!r} points outside the profile")
        tags.append(_Tag(signature, offset, length))
    return size, tags


def _one_language(body: bytes) -> tuple[bytes, str | None]:
    """A multiLocalizedUnicode ('mluc') text as one US English record: its US English text, else its first,
    under the en-US tag (readers name any other language in the tag's name, as they would a caption's).
    Other text types come back as they are. Returns the body and what was dropped from it, if anything."""
    if body[:4] != b"mluc":
        return body, None  # a v2 profile's single ASCII text (textType, textDescriptionType)
    if len(body) < 16:
        raise CorruptMedia("an ICC text tag is cut short")
    count, record_size = struct.unpack_from(">II", body, 8)
    if not 1 <= count <= MAX_TAGS or record_size != 12 or 16 + 12 * count > len(body):
        raise CorruptMedia("an ICC text tag's records do not fit it")
    records = [struct.unpack_from(">4sII", body, 16 + 12 * i) for i in range(count)]
    language, length, offset = next((r for r in records if r[0] == _ENGLISH), records[0])
    text = body[offset : offset + length]
    if len(text) != length:
        raise CorruptMedia("an ICC text record points outside its tag")
    clean = b"mluc" + bytes(4) + struct.pack(">II4sII", 1, 12, _ENGLISH, length, 28) + text
    if body.rstrip(b"\0") == clean.rstrip(b"\0"):
        return body, None
    if count > 1:
        return clean, f"in {count - 1} other languages"
    return clean, "language tag" if language != _ENGLISH else "bytes beside its text"


def _assemble(header: bytearray, kept: list[tuple[_Tag, bytes]], had_id: bool) -> bytes:
    table = bytearray(struct.pack(">I", len(kept)))
    body = bytearray()
    start = HEADER_SIZE + 4 + 12 * len(kept)
    placed: dict[bytes, int] = {}  # tags sharing one data block (rTRC/gTRC/bTRC) keep sharing it
    for tag, data in kept:
        offset = placed.get(data)
        if offset is None:
            body += bytes(-len(body) % 4)
            offset = placed[data] = start + len(body)
            body += data
        table += struct.pack(">4sII", tag.signature, offset, len(data))
    body += bytes(-len(body) % 4)
    profile = bytearray(header) + table + body
    struct.pack_into(">I", profile, 0, len(profile))
    profile[_PROFILE_ID] = bytes(16)
    if had_id:
        profile[_PROFILE_ID] = _profile_id(profile)
    return bytes(profile)


def _profile_id(profile: bytearray) -> bytes:
    """The ICC profile ID: MD5 of the profile with flags, rendering intent and the ID itself zeroed."""
    copy = bytearray(profile)
    copy[44:48] = bytes(4)
    copy[64:68] = bytes(4)
    copy[84:100] = bytes(16)
    return hashlib.md5(copy, usedforsecurity=False).digest()
