"""The explicit list of format handlers, and detection by content (magic bytes), never by file name.

A handler's module is imported the first time a file of its format turns up: detection itself needs only
``signatures``, so a run over JPEGs never loads the HEIF, TIFF, video or Pillow code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from watcher.formats import signatures
from watcher.formats.base import Handler

# (handler name = module under watcher.formats, its sniffer). Order matters only where two sniffers could
# both claim a file: HEIF (image brands) before video.
FORMATS: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("jpeg", signatures.is_jpeg),
    ("png", signatures.is_png),
    ("webp", signatures.is_webp),
    ("gif", signatures.is_gif),
    ("tiff", signatures.is_tiff),
    ("heif", signatures.is_heif),
    ("video", signatures.is_video),
)

SNIFF_BYTES = 64


def handler_named(name: str) -> Handler:
    if name not in dict(FORMATS):
        raise KeyError(name)
    handler: Handler = importlib.import_module(f"watcher.formats.{name}").HANDLER
    return handler


def handler_for(head: bytes) -> Handler | None:
    """The handler that claims a file starting with ``head`` (at least SNIFF_BYTES when the file has them)."""
    for name, sniff in FORMATS:
        if sniff(head):
            return handler_named(name)
    return None


def all_handlers() -> tuple[Handler, ...]:
    """Every handler, in detection order (imports them all)."""
    return tuple(handler_named(name) for name, _sniff in FORMATS)
