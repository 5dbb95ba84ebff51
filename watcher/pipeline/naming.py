"""Output names: the source's name with the extension of the format actually written."""

from __future__ import annotations

from pathlib import Path

from watcher.formats.base import Sanitized

# Extensions a user may have chosen for each output format; a source already using one keeps it as is.
_ALIASES: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "png": (".png", ".apng"),
    "webp": (".webp",),
    "gif": (".gif",),
    "tiff": (".tif", ".tiff"),
    "heif": (".heic", ".heif", ".hif", ".avif"),
    "mp4": (".mp4", ".m4v"),
    "mov": (".mov", ".qt"),
    "3gp": (".3gp", ".3g2"),
}


def _same_output_siblings(source: Path, extension: str, fmt: str) -> bool:
    """Another source beside this one would publish under the same name (IMG_1.HEIC beside IMG_1.JPG)."""
    candidates = {*_ALIASES.get(fmt, ()), extension}
    for suffix in candidates:
        for variant in (suffix, suffix.upper()):
            sibling = source.with_suffix(variant)
            if sibling != source and sibling.exists():
                return True
    return False


def output_name(source: Path, result: Sanitized) -> str:
    """``IMG_1.JPG`` stays ``IMG_1.JPG``; ``IMG_1.HEIC`` becomes ``IMG_1.jpg``; a PNG named ``.jpg``
    becomes ``.png``; when a sibling would take the same name, the source's suffix stays in it
    (``IMG_1.HEIC.jpg``)."""
    suffix = source.suffix
    if suffix.lower() in _ALIASES.get(result.format, ()):
        return source.name
    if suffix and _same_output_siblings(source, result.extension, result.format):
        return source.name + result.extension
    return source.stem + result.extension if suffix else source.name + result.extension


def companion_name(source: Path, role: str, result: Sanitized) -> str:
    """A second file published from one source: ``IMG_1.jpg`` -> ``IMG_1.motion.mp4``."""
    return f"{source.stem}.{role}{result.extension}"
