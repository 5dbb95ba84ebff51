"""EXIF tag names and the category each tag belongs to.

Only the tags a keep-list may want are classified here; every other tag (technical or unknown) is
``other`` and therefore removed.
"""

from __future__ import annotations

IFD0_TAGS: dict[int, str] = {
    0x00FE: "SubfileType",
    0x0100: "ImageWidth",
    0x0101: "ImageHeight",
    0x0102: "BitsPerSample",
    0x0103: "Compression",
    0x0106: "PhotometricInterpretation",
    0x010D: "DocumentName",
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0111: "StripOffsets",
    0x0112: "Orientation",
    0x0115: "SamplesPerPixel",
    0x0116: "RowsPerStrip",
    0x0117: "StripByteCounts",
    0x011A: "XResolution",
    0x011B: "YResolution",
    0x011C: "PlanarConfiguration",
    0x0128: "ResolutionUnit",
    0x012D: "TransferFunction",
    0x0131: "Software",
    0x0132: "ModifyDate",
    0x013B: "Artist",
    0x013C: "HostComputer",
    0x013E: "WhitePoint",
    0x013F: "PrimaryChromaticities",
    0x014A: "SubIFDs",
    0x0201: "ThumbnailOffset",
    0x0202: "ThumbnailLength",
    0x0211: "YCbCrCoefficients",
    0x0212: "YCbCrSubSampling",
    0x0213: "YCbCrPositioning",
    0x0214: "ReferenceBlackWhite",
    0x02BC: "ApplicationNotes",
    0x4746: "Rating",
    0x4749: "RatingPercent",
    0x8298: "Copyright",
    0x83BB: "IPTC-NAA",
    0x8649: "PhotoshopSettings",
    0x8769: "ExifOffset",
    0x8773: "ICC_Profile",
    0x8825: "GPSInfo",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
    0xA401: "CustomRendered",
    0xC4A5: "PrintIM",
    0xC612: "DNGVersion",
    0xC62F: "CameraSerialNumber",
    0xC634: "DNGPrivateData",
    0xEA1C: "Padding",
    0xEA1D: "OffsetSchema",
}

EXIF_IFD_TAGS: dict[int, str] = {
    0x829A: "ExposureTime",
    0x829D: "FNumber",
    0x8822: "ExposureProgram",
    0x8824: "SpectralSensitivity",
    0x8827: "ISO",
    0x8828: "OECF",
    0x8830: "SensitivityType",
    0x8831: "StandardOutputSensitivity",
    0x8832: "RecommendedExposureIndex",
    0x8833: "ISOSpeed",
    0x9000: "ExifVersion",
    0x9003: "DateTimeOriginal",
    0x9004: "CreateDate",
    0x9010: "OffsetTime",
    0x9011: "OffsetTimeOriginal",
    0x9012: "OffsetTimeDigitized",
    0x9101: "ComponentsConfiguration",
    0x9102: "CompressedBitsPerPixel",
    0x9201: "ShutterSpeedValue",
    0x9202: "ApertureValue",
    0x9203: "BrightnessValue",
    0x9204: "ExposureCompensation",
    0x9205: "MaxApertureValue",
    0x9206: "SubjectDistance",
    0x9207: "MeteringMode",
    0x9208: "LightSource",
    0x9209: "Flash",
    0x920A: "FocalLength",
    0x9211: "ImageNumber",
    0x9214: "SubjectArea",
    0x927C: "MakerNote",
    0x9286: "UserComment",
    0x9290: "SubSecTime",
    0x9291: "SubSecTimeOriginal",
    0x9292: "SubSecTimeDigitized",
    0x9400: "AmbientTemperature",
    0x9401: "Humidity",
    0x9402: "Pressure",
    0x9403: "WaterDepth",
    0x9404: "Acceleration",
    0x9405: "CameraElevationAngle",
    0xA000: "FlashpixVersion",
    0xA001: "ColorSpace",
    0xA002: "ExifImageWidth",
    0xA003: "ExifImageHeight",
    0xA004: "RelatedSoundFile",
    0xA005: "InteropOffset",
    0xA20B: "FlashEnergy",
    0xA20E: "FocalPlaneXResolution",
    0xA20F: "FocalPlaneYResolution",
    0xA210: "FocalPlaneResolutionUnit",
    0xA214: "SubjectLocation",
    0xA215: "ExposureIndex",
    0xA217: "SensingMethod",
    0xA300: "FileSource",
    0xA301: "SceneType",
    0xA302: "CFAPattern",
    0xA401: "CustomRendered",
    0xA402: "ExposureMode",
    0xA403: "WhiteBalance",
    0xA404: "DigitalZoomRatio",
    0xA405: "FocalLengthIn35mmFormat",
    0xA406: "SceneCaptureType",
    0xA407: "GainControl",
    0xA408: "Contrast",
    0xA409: "Saturation",
    0xA40A: "Sharpness",
    0xA40B: "DeviceSettingDescription",
    0xA40C: "SubjectDistanceRange",
    0xA420: "ImageUniqueID",
    0xA430: "OwnerName",
    0xA431: "SerialNumber",
    0xA432: "LensInfo",
    0xA433: "LensMake",
    0xA434: "LensModel",
    0xA435: "LensSerialNumber",
    0xA460: "CompositeImage",
    0xA500: "Gamma",
    0xC4A5: "PrintIM",
    0xEA1C: "Padding",
    0xEA1D: "OffsetSchema",
}

GPS_TAGS: dict[int, str] = {
    0x00: "GPSVersionID",
    0x01: "GPSLatitudeRef",
    0x02: "GPSLatitude",
    0x03: "GPSLongitudeRef",
    0x04: "GPSLongitude",
    0x05: "GPSAltitudeRef",
    0x06: "GPSAltitude",
    0x07: "GPSTimeStamp",
    0x08: "GPSSatellites",
    0x09: "GPSStatus",
    0x0A: "GPSMeasureMode",
    0x0B: "GPSDOP",
    0x0C: "GPSSpeedRef",
    0x0D: "GPSSpeed",
    0x0E: "GPSTrackRef",
    0x0F: "GPSTrack",
    0x10: "GPSImgDirectionRef",
    0x11: "GPSImgDirection",
    0x12: "GPSMapDatum",
    0x13: "GPSDestLatitudeRef",
    0x14: "GPSDestLatitude",
    0x15: "GPSDestLongitudeRef",
    0x16: "GPSDestLongitude",
    0x17: "GPSDestBearingRef",
    0x18: "GPSDestBearing",
    0x19: "GPSDestDistanceRef",
    0x1A: "GPSDestDistance",
    0x1B: "GPSProcessingMethod",
    0x1C: "GPSAreaInformation",
    0x1D: "GPSDateStamp",
    0x1E: "GPSDifferential",
    0x1F: "GPSHPositioningError",
}

INTEROP_TAGS: dict[int, str] = {
    0x0001: "InteropIndex",
    0x0002: "InteropVersion",
    0x1000: "RelatedImageFileFormat",
    0x1001: "RelatedImageWidth",
    0x1002: "RelatedImageHeight",
}

TABLES: dict[str, dict[int, str]] = {
    "IFD0": IFD0_TAGS,
    "ExifIFD": EXIF_IFD_TAGS,
    "GPS": GPS_TAGS,
    "Interop": INTEROP_TAGS,
    "IFD1": IFD0_TAGS,
}

# Tags that are pointers to other IFDs: structure, not metadata.
POINTER_TAGS: dict[int, str] = {0x8769: "ExifIFD", 0x8825: "GPS", 0xA005: "Interop"}

# Capture, digitize and modify dates: the tags `time: date` reduces to the day.
DATE_TAGS: frozenset[str] = frozenset({"DateTimeOriginal", "CreateDate", "ModifyDate"})

_CATEGORY_BY_NAME: dict[str, str] = {
    **dict.fromkeys(
        (
            "ModifyDate",
            "DateTimeOriginal",
            "CreateDate",
            "OffsetTime",
            "OffsetTimeOriginal",
            "OffsetTimeDigitized",
            "SubSecTime",
            "SubSecTimeOriginal",
            "SubSecTimeDigitized",
        ),
        "time",
    ),
    **dict.fromkeys(
        ("Make", "Model", "Software", "HostComputer", "LensMake", "LensModel", "LensInfo"),
        "device",
    ),
    **dict.fromkeys(
        (
            "ExposureTime",
            "FNumber",
            "ExposureProgram",
            "SpectralSensitivity",
            "ISO",
            "SensitivityType",
            "StandardOutputSensitivity",
            "RecommendedExposureIndex",
            "ISOSpeed",
            "ShutterSpeedValue",
            "ApertureValue",
            "BrightnessValue",
            "ExposureCompensation",
            "MaxApertureValue",
            "SubjectDistance",
            "MeteringMode",
            "LightSource",
            "Flash",
            "FocalLength",
            "FlashEnergy",
            "ExposureIndex",
            "SensingMethod",
            "CustomRendered",
            "ExposureMode",
            "WhiteBalance",
            "DigitalZoomRatio",
            "FocalLengthIn35mmFormat",
            "SceneCaptureType",
            "GainControl",
            "Contrast",
            "Saturation",
            "Sharpness",
            "SubjectDistanceRange",
        ),
        "camera_settings",
    ),
    **dict.fromkeys(("Artist", "Copyright", "XPAuthor"), "copyright"),
    **dict.fromkeys(
        ("ImageDescription", "UserComment", "XPTitle", "XPComment", "XPKeywords", "XPSubject"), "text"
    ),
    "Orientation": "orientation",
    **dict.fromkeys(
        (
            "SerialNumber",
            "CameraSerialNumber",
            "LensSerialNumber",
            "OwnerName",
            "ImageUniqueID",
            "ImageNumber",
        ),
        "identifiers",
    ),
    "MakerNote": "maker_notes",
}


def tag_name(ifd: str, tag: int) -> str:
    """ExifTool-style name of ``tag`` in ``ifd``; unknown tags get their hex id."""
    return TABLES.get(ifd, {}).get(tag) or f"0x{tag:04x}"


def classify(ifd: str, name: str) -> str:
    """The category of tag ``name`` found in ``ifd`` (see watcher.rules.profile.CATEGORIES)."""
    if ifd == "IFD1":
        return "thumbnails"
    if ifd == "GPS":
        return "time" if name in ("GPSDateStamp", "GPSTimeStamp") else "location"
    if ifd == "Interop":
        return "other"
    if name.endswith("SerialNumber"):
        return "identifiers"
    return _CATEGORY_BY_NAME.get(name, "other")


def classify_name(name: str) -> str:
    """The category of an EXIF/TIFF property known only by name (as XMP's exif:/tiff: namespaces use)."""
    if name.startswith("GPS"):
        return classify("GPS", name)
    aliases = {
        "DateTime": "ModifyDate",
        "DateTimeDigitized": "CreateDate",
        "ISOSpeedRatings": "ISO",
        "PhotographicSensitivity": "ISO",
        "ExposureBiasValue": "ExposureCompensation",
        "FocalLengthIn35mmFilm": "FocalLengthIn35mmFormat",
        "LensSpecification": "LensInfo",
        "BodySerialNumber": "SerialNumber",
        "CameraOwnerName": "OwnerName",
    }
    return classify("ExifIFD", aliases.get(name, name))
