"""The explicit list of format handlers, and detection by content (magic bytes), never by file name."""

from __future__ import annotations

from watcher.formats import gif, heif, jpeg, png, tiff, video, webp
from watcher.formats.base import Handler

# Order matters only where two sniffers could both claim a file: HEIF (image brands) before video.
HANDLERS: tuple[Handler, ...] = (
    jpeg.HANDLER,
    png.HANDLER,
    webp.HANDLER,
    gif.HANDLER,
    tiff.HANDLER,
    heif.HANDLER,
    video.HANDLER,
)

SNIFF_BYTES = 64


def handler_for(head: bytes) -> Handler | None:
    """The handler that claims a file starting with ``head`` (at least SNIFF_BYTES when the file has them)."""
    for handler in HANDLERS:
        if handler.sniff(head):
            return handler
    return None


def handler_named(name: str) -> Handler:
    for handler in HANDLERS:
        if handler.name == name:
            return handler
    raise KeyError(name)
