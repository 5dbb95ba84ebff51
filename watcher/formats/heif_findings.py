"""What a HEIF/AVIF file carries besides its primary image, named for the removal log."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from watcher.errors import CorruptMedia
from watcher.formats.base import Finding
from watcher.formats.exif import read_exif
from watcher.formats.heif_boxes import Layout
from watcher.formats.heif_decode import HeifMetadata
from watcher.formats.xmp import read_xmp

_STRUCTURAL_BOXES = frozenset({"ftyp", "meta", "mdat", "free", "skip"})
_BOX_NAMES: dict[str, tuple[str, str]] = {
    "mpvd": ("trailer", "HEIF mpvd box (motion-photo video)"),
    "sefd": ("trailer", "HEIF sefd box (Samsung trailer)"),
    "moov": ("trailer", "HEIF moov box (embedded video)"),
    "uuid": ("other", "HEIF uuid box (vendor data)"),
    "jumb": ("provenance", "HEIF jumb box (JUMBF/C2PA)"),
}
_REFERENCE_NAMES: dict[str, tuple[str, str]] = {
    "thmb": ("thumbnails", "HEIF thumbnail image"),
    "auxl": ("embedded_images", "HEIF auxiliary image (alpha/depth/gain map)"),
    "prem": ("embedded_images", "HEIF pre-multiplied alpha image"),
}


def box_findings(layout: Layout) -> Iterator[Finding]:
    for box in layout.boxes:
        if box.kind in _STRUCTURAL_BOXES:
            continue
        category, name = _BOX_NAMES.get(box.kind, ("other", f"HEIF {box.kind!r} box"))
        yield Finding(category, name, None, box.size)
    if layout.tail:
        yield Finding("trailer", "data after the last box", None, layout.tail)


def item_findings(layout: Layout) -> Iterator[Finding]:
    for reference_type, from_id, _targets in layout.references:
        if reference_type in _REFERENCE_NAMES:
            category, name = _REFERENCE_NAMES[reference_type]
            yield Finding(category, f"{name} (item {from_id})")
    for item in layout.items:
        if item.kind == "mime" and "xmp" not in item.content_type and "rdf" not in item.content_type:
            category = "provenance" if "c2pa" in item.content_type else "other"
            yield Finding(category, f"HEIF {item.content_type or 'mime'} item {item.item_id}")
        elif item.kind in ("uri ", "jumb", "c2pa"):
            yield Finding("provenance" if item.kind != "uri " else "other", f"HEIF {item.kind!r} item")


def metadata_findings(metadata: HeifMetadata) -> Iterator[Finding]:
    if metadata.exif:
        yield from _named(read_exif, metadata.exif, "EXIF block")
    if metadata.xmp:
        yield from _named(read_xmp, metadata.xmp, "XMP packet")
    if metadata.image_count > 1:
        yield Finding("embedded_images", f"{metadata.image_count - 1} further HEIF image(s)")


def _named(reader: Callable[[bytes], tuple[Finding, ...]], blob: bytes, label: str) -> Iterator[Finding]:
    try:
        found = reader(blob)
    except CorruptMedia:
        found = ()
    if not found:
        yield Finding("other", f"{label} (unreadable)", None, len(blob))
    yield from (Finding(f.category, f.name, None, f.size) for f in found)
