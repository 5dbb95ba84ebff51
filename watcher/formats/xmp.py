"""An XMP packet reader that lists every top-level property with its category.

Packets are parsed with xml.etree, but only after refusing DOCTYPE/ENTITY declarations: entity expansion
("billion laughs") is the classic way to make an XML parser exhaust memory.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from watcher.errors import CorruptMedia
from watcher.formats.base import Finding
from watcher.formats.exif_tags import classify_name
from watcher.rules.profile import Coarsen, Profile

MAX_XMP_BYTES = 16 * 1024 * 1024
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# Namespace URI -> conventional prefix, so names read the same whatever prefix a writer chose.
PREFIXES: dict[str, str] = {
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/xap/1.0/g/img/": "xmpGImg",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://www.metadataworkinggroup.com/schemas/regions/": "mwg-rs",
    "http://ns.microsoft.com/photo/1.2/": "MP",
    "http://ns.microsoft.com/photo/1.0/": "MicrosoftPhoto",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.google.com/photos/1.0/container/": "Container",
    "http://ns.google.com/photos/1.0/container/item/": "Item",
    "http://ns.google.com/photos/1.0/depthmap/": "GDepth",
    "http://ns.google.com/photos/1.0/image/": "GImage",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
}

_BY_PREFIX: dict[str, str] = {
    "xmpMM": "identifiers",
    "xmpRights": "copyright",
    "plus": "copyright",
    "mwg-rs": "people",
    "Container": "trailer",
    "Item": "trailer",
    "GDepth": "embedded_images",
    "GImage": "embedded_images",
    "xmpGImg": "thumbnails",
}
_BY_NAME: dict[str, str] = {
    **dict.fromkeys(("photoshop:City", "photoshop:State", "photoshop:Country"), "location"),
    **dict.fromkeys(("Iptc4xmpCore:Location", "Iptc4xmpCore:CountryCode"), "location"),
    **dict.fromkeys(("Iptc4xmpExt:LocationCreated", "Iptc4xmpExt:LocationShown"), "location"),
    **dict.fromkeys(("xmp:CreateDate", "xmp:ModifyDate", "xmp:MetadataDate"), "time"),
    **dict.fromkeys(("photoshop:DateCreated", "exif:DateTimeOriginal", "exif:DateTimeDigitized"), "time"),
    **dict.fromkeys(("tiff:Make", "tiff:Model", "xmp:CreatorTool"), "device"),
    **dict.fromkeys(
        ("MP:RegionInfo", "Iptc4xmpExt:PersonInImage", "Iptc4xmpExt:PersonInImageWDetails"), "people"
    ),
    **dict.fromkeys(("dc:title", "dc:description", "dc:subject", "lr:hierarchicalSubject"), "text"),
    **dict.fromkeys(("photoshop:Headline", "photoshop:Instructions", "photoshop:CaptionWriter"), "text"),
    **dict.fromkeys(("MicrosoftPhoto:LastKeywordXMP", "MicrosoftPhoto:LastKeywordIPTC"), "text"),
    **dict.fromkeys(("dc:creator", "dc:rights", "dc:contributor", "dc:publisher"), "copyright"),
    **dict.fromkeys(("photoshop:Credit", "photoshop:Source", "photoshop:AuthorsPosition"), "copyright"),
    "Iptc4xmpCore:CreatorContactInfo": "copyright",
    **dict.fromkeys(("aux:SerialNumber", "aux:OwnerName", "aux:ImageNumber"), "identifiers"),
    "xmp:Thumbnails": "thumbnails",
}


def classify_property(prefix: str, name: str) -> str:
    """The category of XMP property ``prefix:name`` (prefix as in PREFIXES)."""
    qualified = f"{prefix}:{name}"
    if qualified in _BY_NAME:
        return _BY_NAME[qualified]
    if prefix in _BY_PREFIX:
        return _BY_PREFIX[prefix]
    if prefix in ("exif", "exifEX", "tiff"):
        return classify_name(name)
    if prefix == "aux" and name.startswith("Lens"):
        return "device"
    if prefix == "GCamera" and name.startswith(("MicroVideo", "MotionPhoto")):
        return "trailer"
    return "other"


class Property(NamedTuple):
    """One top-level XMP property: an attribute of rdf:Description or one of its child elements."""

    uri: str
    prefix: str
    name: str
    category: str
    text: str  # the attribute value, or the element's text flattened
    element: ElementTree.Element | None  # None for attribute-form properties

    @property
    def label(self) -> str:
        return f"XMP:{self.prefix}:{self.name}"


def parse_xmp(packet: bytes) -> tuple[Property, ...]:
    """Every top-level property of ``packet``. Raises CorruptMedia on a malformed or hostile packet."""
    if len(packet) > MAX_XMP_BYTES:
        raise CorruptMedia(f"XMP packet of {len(packet):,} bytes exceeds the {MAX_XMP_BYTES:,}-byte limit")
    packet = packet.rstrip(b"\0 \r\n\t")
    upper = packet.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise CorruptMedia("XMP packet declares a DOCTYPE or entities; refusing to expand it")
    prefixes = dict(PREFIXES)
    root: ElementTree.Element | None = None
    # One pass: the writer's own prefixes (start-ns) and the tree (the first start is its root). A pull
    # parser fed the whole packet, not iterparse(): that defines a class on every call, a per-photo cost.
    parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(
        events=("start-ns", "start")  # DOCTYPE/ENTITY refused above
    )
    try:
        parser.feed(packet)
        # Only start-ns (prefix, uri) and start (element) events are asked for: all are pairs.
        events = cast("list[tuple[str, Any]]", list(parser.read_events()))  # a feed's error raises here
        parser.close()  # a packet cut short raises here
    except ElementTree.ParseError as error:
        raise CorruptMedia(f"XMP packet is not well-formed XML ({error})") from None
    for event, item in events:
        if event == "start-ns":
            prefix, uri = item
            prefixes.setdefault(uri, prefix)
        elif root is None:
            root = item
    if root is None:
        raise CorruptMedia("XMP packet holds no XML element")
    return tuple(_properties(root, prefixes))


def read_xmp(packet: bytes) -> tuple[Finding, ...]:
    """Every top-level XMP property, classified. Raises CorruptMedia on a malformed or hostile packet."""
    return tuple(Finding(item.category, item.label, _clip(item.text) or None) for item in parse_xmp(packet))


def _properties(root: ElementTree.Element, prefixes: dict[str, str]) -> Iterator[Property]:
    # Only rdf:Description directly under rdf:RDF: nested ones are the values of structured properties.
    descriptions = [node for rdf in root.iter(f"{{{RDF}}}RDF") for node in rdf]
    for description in descriptions:
        if description.tag != f"{{{RDF}}}Description":
            continue
        for key, value in description.attrib.items():
            uri, prefix, name = _split(key, prefixes)
            if prefix not in ("", "rdf", "xml", "x"):
                yield Property(uri, prefix, name, classify_property(prefix, name), value, None)
        for child in description:
            uri, prefix, name = _split(child.tag, prefixes)
            text = " ".join(part.strip() for part in child.itertext() if part.strip())
            yield Property(uri, prefix, name, classify_property(prefix, name), text, child)


def _split(tag: str, prefixes: dict[str, str]) -> tuple[str, str, str]:
    """(namespace URI, conventional prefix, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        uri, _, name = tag[1:].partition("}")
        if uri == RDF:
            return uri, "rdf", name
        if uri == "http://www.w3.org/XML/1998/namespace":
            return uri, "xml", name
        return uri, prefixes.get(uri) or uri, name
    return "", "", tag


def _clip(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:120]


@dataclass(frozen=True)
class FilteredXmp:
    data: bytes | None  # a fresh packet holding only kept simple properties; None when nothing is kept
    removed: Mapping[str, tuple[str, ...]]
    kept: tuple[str, ...]


# Capture and creation dates `time: date` reduces to the day; every other time property goes.
XMP_DATES = frozenset({"xmp:CreateDate", "photoshop:DateCreated", "exif:DateTimeOriginal"})
MAX_WRITTEN_BYTES = 60_000  # what fits one JPEG APP1 segment with room to spare
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME = re.compile(r"[A-Za-z_][\w.-]*\Z")
# An array value: (container, ((language, text), ...)); a simple value is a plain string.
Value = str | tuple[str, tuple[tuple[str | None, str], ...]]


def filter_xmp(packet: bytes, profile: Profile) -> FilteredXmp:
    """A new packet with the simple properties ``profile`` keeps. Orientation stays in EXIF only, and
    structured values (regions, contacts, locations) are never copied."""
    removed: dict[str, list[str]] = {}
    kept: list[tuple[Property, Value]] = []
    for item in parse_xmp(packet):
        value = _kept_value(item, profile)
        if value is None:
            removed.setdefault(item.category, []).append(item.label)
        else:
            kept.append((item, value))
    data = _serialize(kept) if kept else None
    if data is not None and len(data) > MAX_WRITTEN_BYTES:
        for item, _value in kept:
            removed.setdefault(item.category, []).append(item.label)
        data, kept = None, []
    names = tuple(item.label for item, _value in kept)
    return FilteredXmp(data, {key: tuple(value) for key, value in removed.items()}, names)


def _kept_value(item: Property, profile: Profile) -> Value | None:
    if item.category == "orientation" or not profile.keeps(item.category) or not item.uri:
        return None
    if item.category == "location" and isinstance(profile.location, Coarsen):
        return None  # the coarse position lives in EXIF alone; XMP's would need a second grid writer
    if not _NAME.match(item.name):
        return None
    value = item.text if item.element is None else _simple(item.element)
    if item.category == "time" and profile.time == "date":
        if item.label not in XMP_DATES or not isinstance(value, str) or not _DAY.match(value):
            return None
        return value[:10]
    return value


def _simple(element: ElementTree.Element) -> Value | None:
    """The element's value when it is text or an array of texts; None for structures."""
    children = list(element)
    if not children:
        # rdf:resource / rdf:parseType attributes make a leaf a reference or structure: never copied.
        plain = set(element.attrib) <= {"{http://www.w3.org/XML/1998/namespace}lang"}
        return (element.text or "") if plain else None
    if len(children) != 1 or children[0].tag not in (f"{{{RDF}}}{kind}" for kind in ("Alt", "Bag", "Seq")):
        return None
    container = children[0].tag.rpartition("}")[2]
    items: list[tuple[str | None, str]] = []
    for entry in children[0]:
        if entry.tag != f"{{{RDF}}}li" or len(entry):
            return None
        items.append((entry.get("{http://www.w3.org/XML/1998/namespace}lang"), entry.text or ""))
    return container, tuple(items)


def _escape(text: str) -> str:
    """XML character data (what ``xml.sax.saxutils.escape`` does; that module pulls in urllib and http)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quoteattr(text: str) -> str:
    """A double-quoted XML attribute value; whitespace controls escaped so a parser keeps them."""
    value = _escape(text).replace('"', "&quot;")
    return '"' + value.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def _serialize(kept: list[tuple[Property, Value]]) -> bytes:
    prefixes: dict[str, str] = {}
    for item, _value in kept:
        prefixes.setdefault(item.uri, item.prefix if _NAME.match(item.prefix) else f"ns{len(prefixes)}")
    declarations = "".join(f" xmlns:{prefix}={_quoteattr(uri)}" for uri, prefix in prefixes.items())
    body = []
    for item, value in kept:
        tag = f"{prefixes[item.uri]}:{item.name}"
        if isinstance(value, str):
            body.append(f"<{tag}>{_escape(value)}</{tag}>")
        else:
            container, entries = value
            lis = "".join(
                f"<rdf:li{'' if lang is None else ' xml:lang=' + _quoteattr(lang)}>{_escape(text)}</rdf:li>"
                for lang, text in entries
            )
            body.append(f"<{tag}><rdf:{container}>{lis}</rdf:{container}></{tag}>")
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description rdf:about=""{declarations}>{"".join(body)}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    return text.encode("utf-8")
