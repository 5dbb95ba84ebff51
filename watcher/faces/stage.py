"""The face-anonymization stage: decode upright, detect, anonymize, re-encode with nothing carried over.

A profile with ``faces`` on sends every still through here instead of the lossless handlers: the picture
must be re-encoded anyway, and re-encoding from pixels is the surest way to leave behind every copy of the
face the source carried (EXIF thumbnails, MPF frames, XMP previews, motion-photo video).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import replace
from typing import BinaryIO

from watcher.errors import ConfigError, CorruptMedia, UnsupportedFormat, VerifyFailed
from watcher.faces.anonymize import Method, anonymize_faces
from watcher.faces.codec import Decoded, choose_encoding, decode, encode
from watcher.faces.container import check_structure
from watcher.faces.detect import detect_faces
from watcher.faces.model import FaceModelError, detector, extra_installed
from watcher.formats.base import Sanitized
from watcher.formats.icc import clean_profile, is_clean
from watcher.formats.pillow import Image
from watcher.formats.registry import SNIFF_BYTES, handler_for
from watcher.rules.profile import Profile

ICC_NAME = "ICC profile"
LIMITS_NOTE = (
    "face detection is best effort: profiles, occluded, tiny, reflected or on-screen faces can be missed"
)


def faces_available() -> bool:
    """True when the ``faces`` extra is installed and the packaged model loads."""
    try:
        detector()
    except FaceModelError:
        return False
    return True


def require_faces() -> None:
    """Raise ConfigError, with an install hint, when face anonymization cannot run."""
    if not extra_installed():
        raise ConfigError(
            "a rule has faces on, but the faces extra is missing: pip install 'sharesafe[faces]'"
        )
    try:
        detector()
    except FaceModelError as err:
        raise ConfigError(f"a rule has faces on, but the face detector cannot start: {err}") from err


def anonymize_image(
    source: BinaryIO, output: BinaryIO, profile: Profile, *, threads: int | None = None
) -> Sanitized:
    """Write an upright, re-encoded copy of ``source`` with every detected face anonymized.

    Raises CorruptMedia, TooLarge or UnsupportedFormat for pictures it cannot decode, FaceModelError when
    the detector cannot run: in every case nothing may be published.
    """
    if profile.faces == "off":
        raise ConfigError(f"profile {profile.name!r} has faces off; it has no business in the faces stage")
    method: Method = profile.faces
    removed = _inventory(source)
    decoded = decode(source)
    boxes = detect_faces(decoded.image, threads=threads)
    treated = anonymize_faces(decoded.image, boxes, method)
    encoding = choose_encoding(decoded.source_format, decoded.image)
    icc, icc_removed = _clean_icc(decoded.icc_profile) if profile.keeps("color_profile") else (None, ())
    keep_icc = icc is not None
    decoded = replace(decoded, icc_profile=icc)
    encode(decoded, encoding, output, quality=profile.jpeg_quality, keep_icc=keep_icc)
    if keep_icc:
        removed = _without_icc(removed)
    for category, name in icc_removed:
        removed[category] = (*removed.get(category, ()), name)
    return Sanitized(
        format=encoding.format,
        extension=encoding.extension,
        lossless=False,
        removed=removed,
        kept=(ICC_NAME,) if keep_icc else (),
        notes=_notes(decoded, encoding.format, len(boxes), treated, method, profile.jpeg_quality),
    )


def verify_anonymized(output: BinaryIO, profile: Profile, result: Sanitized) -> None:
    """Re-read ``output``: it must decode completely and carry nothing but pixels (and the kept ICC)."""
    output.seek(0)
    data = output.read()
    check_structure(data, result.format, icc_allowed=ICC_NAME in result.kept)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if (image.format or "").lower() != result.format:
                raise VerifyFailed(f"the output decodes as {image.format}, not {result.format}")
            image.load()
            icc = image.info.get("icc_profile")
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise VerifyFailed(f"the anonymized output does not decode ({type(err).__name__})") from err
    if icc and not is_clean(icc):
        raise VerifyFailed("the anonymized output's ICC profile carries more than its colour data")
    handler = handler_for(data[:SNIFF_BYTES])
    if handler is None:
        raise VerifyFailed(f"the output is not a recognizable {result.format} file")
    kept = profile.kept_categories()
    findings = handler.inspect(io.BytesIO(data)).findings
    stray = sorted({f"{f.category}: {f.name}" for f in findings if f.category not in kept})
    if stray:
        raise VerifyFailed(f"the anonymized output still carries: {', '.join(stray[:5])}")
    output.seek(0)


def _inventory(source: BinaryIO) -> dict[str, tuple[str, ...]]:
    """Everything the source carries, by category: all of it is left behind by re-encoding."""
    source.seek(0)
    handler = handler_for(source.read(SNIFF_BYTES))
    source.seek(0)
    if handler is None or handler.name == "video":
        raise UnsupportedFormat("only still pictures can be face-anonymized")
    try:
        findings = handler.inspect(source).findings
    finally:
        source.seek(0)
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        grouped.setdefault(finding.category, []).append(finding.name)
    return {category: tuple(names) for category, names in grouped.items()}


def _clean_icc(icc: bytes | None) -> tuple[bytes | None, tuple[tuple[str, str], ...]]:
    """The decoded profile reduced to its colour data; None when there is none or it is unreadable."""
    if icc is None:
        return None, ()
    try:
        cleaned = clean_profile(icc)
    except CorruptMedia:
        return None, (("other", f"ICC profile ({len(icc):,} bytes, unreadable)"),)
    return cleaned.data, cleaned.removed


def _without_icc(removed: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """``removed`` less the ICC profile, which the output carries; gamma or sRGB chunks still go."""
    colour = tuple(name for name in removed.get("color_profile", ()) if "icc" not in name.lower())
    rest = {category: names for category, names in removed.items() if category != "color_profile"}
    return {**rest, "color_profile": colour} if colour else rest


def _notes(
    decoded: Decoded, output_format: str, detected: int, treated: int, method: str, quality: int
) -> tuple[str, ...]:
    notes = [f"faces_detected: {detected}", f"faces anonymized: {treated} ({method})"]
    encoding = f"{output_format.upper()} (quality {quality})" if output_format != "png" else "PNG"
    notes.append(f"re-encoded {decoded.source_format} as {encoding} for face anonymization")
    if decoded.rotated:
        notes.append("orientation applied to the pixels")
    notes.append(LIMITS_NOTE)
    return tuple(notes)
