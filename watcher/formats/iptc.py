"""An inventory of Photoshop image resources (APP13 "Photoshop 3.0") and the IPTC-IIM datasets inside.

Only read, never written: sanitized outputs carry no APP13 at all.
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.formats.base import Finding

PHOTOSHOP_SIGNATURE = b"Photoshop 3.0\0"
MAX_RESOURCES = 4096

# (record, dataset) -> (name, category) for the IPTC application record.
DATASETS: dict[tuple[int, int], tuple[str, str]] = {
    (2, 5): ("ObjectName", "text"),
    (2, 15): ("Category", "text"),
    (2, 20): ("SupplementalCategories", "text"),
    (2, 25): ("Keywords", "text"),
    (2, 40): ("SpecialInstructions", "text"),
    (2, 55): ("DateCreated", "time"),
    (2, 60): ("TimeCreated", "time"),
    (2, 62): ("DigitalCreationDate", "time"),
    (2, 63): ("DigitalCreationTime", "time"),
    (2, 65): ("OriginatingProgram", "device"),
    (2, 80): ("By-line", "copyright"),
    (2, 85): ("By-lineTitle", "copyright"),
    (2, 90): ("City", "location"),
    (2, 92): ("Sub-location", "location"),
    (2, 95): ("Province-State", "location"),
    (2, 100): ("Country-PrimaryLocationCode", "location"),
    (2, 101): ("Country-PrimaryLocationName", "location"),
    (2, 105): ("Headline", "text"),
    (2, 110): ("Credit", "copyright"),
    (2, 115): ("Source", "copyright"),
    (2, 116): ("CopyrightNotice", "copyright"),
    (2, 120): ("Caption-Abstract", "text"),
    (2, 122): ("Writer-Editor", "copyright"),
}
RESOURCES: dict[int, tuple[str, str]] = {
    0x0404: ("IPTC-NAA", "other"),
    0x0409: ("PhotoshopThumbnail (old)", "thumbnails"),
    0x040C: ("PhotoshopThumbnail", "thumbnails"),
    0x040F: ("ICC profile", "other"),
    0x0422: ("EXIF data", "other"),
    0x0424: ("XMP", "other"),
    0x0425: ("IPTC digest", "other"),
}


def read_irb(payload: bytes) -> tuple[Finding, ...]:
    """Findings for an APP13 payload; malformed resources end the listing (the segment is dropped anyway)."""
    if not payload.startswith(PHOTOSHOP_SIGNATURE):
        return (Finding("other", "APP13 (not Photoshop IRB)", size=len(payload)),)
    return tuple(_resources(payload, len(PHOTOSHOP_SIGNATURE)))


def _resources(data: bytes, position: int) -> Iterator[Finding]:
    for _ in range(MAX_RESOURCES):
        if position + 7 > len(data) or data[position : position + 4] != b"8BIM":
            return
        resource = int.from_bytes(data[position + 4 : position + 6], "big")
        name_length = data[position + 6]
        position += 6 + ((name_length + 2) & ~1)  # Pascal name padded to even length
        if position + 4 > len(data):
            return
        size = int.from_bytes(data[position : position + 4], "big")
        body = data[position + 4 : position + 4 + size]
        position += 4 + size + (size & 1)
        name, category = RESOURCES.get(resource, (f"resource 0x{resource:04X}", "other"))
        if resource == 0x0404:
            yield from read_iptc(body)
        else:
            yield Finding(category, f"Photoshop:{name}", size=len(body))


def read_iptc(data: bytes) -> Iterator[Finding]:
    """IPTC-IIM datasets (tag marker 0x1C, record, dataset, 2-byte length)."""
    position = 0
    while position + 5 <= len(data) and data[position] == 0x1C:
        record, dataset = data[position + 1], data[position + 2]
        length = int.from_bytes(data[position + 3 : position + 5], "big")
        if length & 0x8000:  # extended length: the dataset is a blob; stop listing
            yield Finding("other", f"IPTC:{record}:{dataset} (extended)")
            return
        value = data[position + 5 : position + 5 + length]
        position += 5 + length
        name, category = DATASETS.get((record, dataset), (f"{record}:{dataset}", "other"))
        text = value.decode("utf-8", "replace")
        yield Finding(category, f"IPTC:{name}", "".join(c if c.isprintable() else "?" for c in text)[:120])
