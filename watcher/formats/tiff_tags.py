"""Which TIFF tags an output may carry, what every other IFD0 tag is called, and how RAW files are told apart."""

from __future__ import annotations

from watcher.errors import CorruptMedia
from watcher.formats.tiff_structure import Header, Ifd, first_integer, integers, read_ifd
from watcher.rules.profile import Profile

# Tags needed to decode and display the first image; kept whatever the profile says.
STRUCTURAL: dict[int, str] = {
    256: "ImageWidth",
    257: "ImageLength",
    258: "BitsPerSample",
    259: "Compression",
    262: "PhotometricInterpretation",
    266: "FillOrder",
    273: "StripOffsets",
    277: "SamplesPerPixel",
    278: "RowsPerStrip",
    279: "StripByteCounts",
    282: "XResolution",
    283: "YResolution",
    284: "PlanarConfiguration",
    296: "ResolutionUnit",
    301: "TransferFunction",
    317: "Predictor",
    318: "WhitePoint",
    319: "PrimaryChromaticities",
    320: "ColorMap",
    322: "TileWidth",
    323: "TileLength",
    324: "TileOffsets",
    325: "TileByteCounts",
    338: "ExtraSamples",
    339: "SampleFormat",
    347: "JPEGTables",
    529: "YCbCrCoefficients",
    530: "YCbCrSubSampling",
    531: "YCbCrPositioning",
    532: "ReferenceBlackWhite",
}
ORIENTATION = 274
ICC_PROFILE = 34675
EXIF_IFD, GPS_IFD, SUB_IFDS, XMP_PACKET = 34665, 34853, 330, 700

# Every other IFD0 tag we can name, with the category it is removed (or kept) under.
NAMED: dict[int, tuple[str, str]] = {
    254: ("NewSubfileType", "other"),
    255: ("SubfileType", "other"),
    269: ("DocumentName", "text"),
    270: ("ImageDescription", "text"),
    271: ("Make", "device"),
    272: ("Model", "device"),
    274: ("Orientation", "orientation"),
    285: ("PageName", "text"),
    297: ("PageNumber", "other"),
    305: ("Software", "device"),
    306: ("DateTime", "time"),
    315: ("Artist", "copyright"),
    316: ("HostComputer", "device"),
    330: ("SubIFDs", "embedded_images"),
    513: ("JPEGInterchangeFormat", "thumbnails"),
    514: ("JPEGInterchangeFormatLength", "thumbnails"),
    700: ("XMP", "other"),
    18246: ("Rating", "text"),
    18249: ("RatingPercent", "text"),
    32781: ("ImageID", "identifiers"),
    33432: ("Copyright", "copyright"),
    33723: ("IPTC-NAA", "text"),
    34377: ("Photoshop", "other"),
    34665: ("ExifIFD", "camera_settings"),
    34675: ("ICC_Profile", "color_profile"),
    34853: ("GPSInfo", "location"),
    36867: ("DateTimeOriginal", "time"),
    37398: ("TIFF-EPStandardID", "device"),
    40091: ("XPTitle", "text"),
    40092: ("XPComment", "text"),
    40093: ("XPAuthor", "copyright"),
    40094: ("XPKeywords", "text"),
    40095: ("XPSubject", "text"),
    42016: ("ImageUniqueID", "identifiers"),
    42033: ("BodySerialNumber", "identifiers"),
    50341: ("PrintIM", "other"),
    50706: ("DNGVersion", "other"),
    59932: ("Padding", "other"),
}

# Simple ASCII tags a profile may keep in IFD0 when it keeps their category ("time: date" keeps none:
# a TIFF DateTime cannot be reduced to a date without rewriting it).
KEEPABLE_TEXT: dict[int, str] = {
    270: "text",
    271: "device",
    272: "device",
    305: "device",
    315: "copyright",
    33432: "copyright",
}


def tag_name(tag: int) -> str:
    if tag in STRUCTURAL:
        return STRUCTURAL[tag]
    return NAMED.get(tag, (f"Tag0x{tag:04X}", "other"))[0]


def tag_category(tag: int) -> str:
    return NAMED.get(tag, ("", "other"))[1]


def allowed_tags(profile: Profile) -> frozenset[int]:
    """Every IFD0 tag an output made under ``profile`` may carry."""
    allowed = set(STRUCTURAL)
    if profile.orientation in ("keep", "apply"):
        # TIFF pixels are copied, never rotated, so the tag is what keeps the picture upright.
        allowed.add(ORIENTATION)
    if profile.keeps("color_profile"):
        allowed.add(ICC_PROFILE)
    allowed.update(tag for tag, category in KEEPABLE_TEXT.items() if getattr(profile, category) == "keep")
    return frozenset(allowed)


_RAW_COMPRESSIONS = {262, 32767, 32769, 32770, 32867, 34713, 34892, 65000, 65535}
_CFA_PHOTOMETRICS = {32803, 34892}
_RAW_MAKES = (
    ("NIKON", "NEF"),
    ("SONY", "ARW"),
    ("PENTAX", "PEF"),
    ("RICOH", "PEF"),
    ("SAMSUNG", "SRW"),
    ("HASSELBLAD", "3FR"),
    ("CANON", "CR2"),
    ("OLYMPUS", "ORF"),
    ("KODAK", "DCR"),
    ("LEAF", "MOS"),
    ("MAMIYA", "MEF"),
    ("EPSON", "ERF"),
    ("PANASONIC", "RW2"),
)


def raw_kind(data: bytes, header: Header, ifd0: Ifd) -> str | None:
    """The RAW dialect of a TIFF-structured file ("DNG", "NEF"...), or None for an ordinary TIFF."""
    if header.canon_cr2:
        return "Canon CR2"
    if ifd0.get(50706) is not None:
        return "DNG"
    directories = [ifd0, *_sub_ifds(data, header, ifd0)]
    raw = ifd0.get(37398) is not None or ifd0.get(50740) is not None or ifd0.get(29184) is not None
    for ifd in directories:
        raw = raw or first_integer(ifd, 262, header.order) in _CFA_PHOTOMETRICS
        raw = raw or first_integer(ifd, 259, header.order) in _RAW_COMPRESSIONS
    if not raw:
        return None
    return _make_kind(ifd0)


def _make_kind(ifd0: Ifd) -> str:
    make_entry = ifd0.get(271)
    make = make_entry.value.decode("latin-1").upper() if make_entry is not None else ""
    for prefix, kind in _RAW_MAKES:
        if make.startswith(prefix):
            return kind
    return "TIFF/EP"


def _sub_ifds(data: bytes, header: Header, ifd0: Ifd) -> list[Ifd]:
    entry = ifd0.get(SUB_IFDS)
    if entry is None:
        return []
    found = []
    try:
        offsets = integers(entry, header.order)[:16]
    except CorruptMedia:
        return []
    for offset in offsets:
        try:
            found.append(read_ifd(data, header.order, offset))
        except CorruptMedia:
            continue  # a RAW's broken SubIFD is still evidence enough elsewhere; plain TIFFs lose it anyway
    return found
