"""Helpers the per-format tests share: sanitize-and-verify in memory, and decoded frames to compare."""

from __future__ import annotations

import io

from PIL import Image

from watcher.formats.base import Handler, Sanitized
from watcher.rules.profile import STRICT, Profile


def sanitize_with(handler: Handler, data: bytes, profile: Profile = STRICT) -> tuple[bytes, Sanitized]:
    """The handler's output for ``data``, already through its own verify()."""
    source, output = io.BytesIO(data), io.BytesIO()
    result = handler.sanitize(source, output, profile)
    handler.verify(output, source, profile, result)
    return output.getvalue(), result


def frames(data: bytes) -> list[bytes]:
    """Every frame decoded to RGBA bytes (one for a still picture)."""
    with Image.open(io.BytesIO(data)) as image:
        pixels = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            pixels.append(image.convert("RGBA").tobytes())
        return pixels
