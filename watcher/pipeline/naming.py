"""Output names: the source's name with the extension of the format actually written."""

from __future__ import annotations

import os
from pathlib import Path

from watcher.errors import PublishError
from watcher.formats.base import Sanitized
from watcher.privacy.names import next_date_stem

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


def companion_name(stem: str, role: str, result: Sanitized) -> str:
    """A second file published from one source: ``IMG_1.jpg`` -> ``IMG_1.motion.mp4`` (``stem`` is the
    published still's, so a random or date name is not undone by its companion)."""
    return f"{stem}.{role}{result.extension}"


def reserve_date_name(folder_fd: int, prefix: str, extension: str, attempts: int = 1000) -> str:
    """Create an empty placeholder ``{prefix}_NNNN{extension}`` with O_EXCL in the open folder and return
    its name. The publish rename then replaces it atomically; two workers racing for one counter cannot
    both win, the loser takes the next one.
    """
    for _ in range(attempts):
        name = next_date_stem(prefix, os.listdir(folder_fd)) + extension
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            descriptor = os.open(name, flags, 0o600, dir_fd=folder_fd)
        except FileExistsError:
            continue
        except OSError as error:
            raise PublishError(f"cannot reserve a date name: {error.strerror or error}") from error
        os.close(descriptor)
        return name
    raise PublishError(f"no free date name for {prefix} after {attempts} attempts")
