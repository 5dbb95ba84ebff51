"""GIF87a / GIF89a: copy the frames and the looping extension, drop comments, text and application data."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, TooLarge, VerifyFailed, WatcherError
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized
from watcher.formats.icc import clean_profile, identity_findings, is_clean
from watcher.formats.signatures import is_gif
from watcher.formats.xmp import read_xmp
from watcher.rules.profile import Profile

_LOOPING = frozenset({b"NETSCAPE2.0", b"ANIMEXTS1.0"})
_XMP = b"XMP DataXMP"
_ICC = b"ICCRGBG1012"
_IMAGE, _EXTENSION, _TRAILER = 0x2C, 0x21, 0x3B
_GRAPHIC_CONTROL, _COMMENT, _PLAIN_TEXT, _APPLICATION = 0xF9, 0xFE, 0x01, 0xFF
_MAX_BLOCKS = 1_000_000
_MAX_BUFFERED = 16 << 20  # extension payloads read whole to classify them; image data never is
_PREVIEW = 200


@dataclass(frozen=True)
class _Block:
    """One top-level block; ``raw`` is what to copy verbatim (header, and an extension's sub-blocks)."""

    kind: str  # "image", "graphic control", "comment", "plain text", "application", "extension"
    raw: bytes  # for images: the descriptor and local colour table only (data is streamed separately)
    label: int = 0
    identifier: bytes = b""
    payload: bytes = b""  # concatenated sub-block data of an extension, capped at _MAX_BUFFERED
    size: int = 0  # full payload size


def _read(source: BinaryIO, count: int, what: str) -> bytes:
    data = source.read(count)
    if len(data) < count:
        raise CorruptMedia(f"the GIF file is truncated inside the {what}")
    return data


def _sub_blocks(source: BinaryIO, what: str) -> Iterator[bytes]:
    """Each data sub-block with its length byte, up to and excluding the zero terminator."""
    while True:
        length = _read(source, 1, what)
        if length == b"\0":
            return
        yield length + _read(source, length[0], what)


def _colour_table(packed: int) -> int:
    return 3 << ((packed & 7) + 1) if packed & 0x80 else 0


class _Reader:
    """Walks a GIF stream block by block, checking that every length stays inside the file."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.trailer_size = 0
        header = source.read(13)
        if not header:
            raise CorruptMedia("the GIF file is empty (0 bytes)")
        if not is_gif(header):
            raise CorruptMedia("not a GIF file: the GIF87a/GIF89a signature is missing")
        if len(header) < 13:
            raise CorruptMedia("the GIF file is truncated inside its screen descriptor")
        self.width, self.height = struct.unpack("<HH", header[6:10])
        self.header = header + _read(source, _colour_table(header[10]), "global colour table")

    def blocks(self, image_data: Callable[[bytes], object]) -> Iterator[_Block]:
        """Yields blocks; an image's LZW data (code size and sub-blocks) goes to ``image_data`` in pieces."""
        for _index in range(_MAX_BLOCKS):
            introducer = self._source.read(1)
            if not introducer:
                raise CorruptMedia("the GIF file is truncated: it ends before the 0x3B trailer")
            if introducer[0] == _TRAILER:
                self.trailer_size = _count_rest(self._source)
                return
            if introducer[0] == _IMAGE:
                descriptor = introducer + _read(self._source, 9, "image descriptor")
                table = _read(self._source, _colour_table(descriptor[9]), "local colour table")
                yield _Block("image", descriptor + table)
                image_data(_read(self._source, 1, "image data"))
                for piece in _sub_blocks(self._source, "image data"):
                    image_data(piece)
                image_data(b"\0")
            elif introducer[0] == _EXTENSION:
                yield self._extension(introducer + _read(self._source, 1, "extension"))
            else:
                raise CorruptMedia(f"the GIF file has an unknown block type 0x{introducer[0]:02x}")
        raise TooLarge(f"the GIF file has more than {_MAX_BLOCKS} blocks")

    def _extension(self, head: bytes) -> _Block:
        label = head[1]
        kind = {
            _GRAPHIC_CONTROL: "graphic control",
            _COMMENT: "comment",
            _PLAIN_TEXT: "plain text",
            _APPLICATION: "application",
        }.get(label, "extension")
        pieces: list[bytes] = []
        size = buffered = 0
        for piece in _sub_blocks(self._source, f"{kind} extension"):
            size += len(piece)
            if buffered + len(piece) <= _MAX_BUFFERED:
                pieces.append(piece)
                buffered += len(piece)
        raw = head + b"".join(pieces) + b"\0"
        payload = b"".join(p[1:] for p in pieces)
        identifier = payload[:11] if kind == "application" and pieces and pieces[0][0] == 11 else b""
        if buffered < size and (kind == "graphic control" or identifier in _LOOPING | {_ICC}):
            raise TooLarge(f"the GIF {kind} extension of {size} bytes is too large")
        return _Block(kind, raw, label, identifier, payload, size)


def _count_rest(source: BinaryIO) -> int:
    total = 0
    while piece := source.read(1 << 20):
        total += len(piece)
    return total


def _printable(raw: bytes) -> str:
    return "".join(c if c.isprintable() else "?" for c in raw.decode("latin-1"))


def _xmp_packet(block: _Block) -> bytes:
    """XMP in GIF is stored raw after the identifier, followed by a 258-byte 'magic trailer'."""
    raw = block.raw[14:-1]
    end = raw.rfind(b"<?xpacket end")
    closing = raw.find(b"?>", end) if end >= 0 else -1
    return raw[: closing + 2] if closing >= 0 else raw[:-257]


def _findings(block: _Block) -> tuple[Finding, ...]:
    """What a metadata block holds, values included (for ``inspect`` only)."""
    size = block.size
    if block.kind == "comment":
        value = _printable(block.payload)[:_PREVIEW]
        return (Finding("text", f"GIF comment ({size} bytes)", value, size),)
    if block.kind == "plain text":
        return (Finding("text", f"GIF plain text extension ({size} bytes)", None, size),)
    if block.kind == "extension":
        return (Finding("other", f"GIF extension 0x{block.label:02x} ({size} bytes)", None, size),)
    name = f"GIF application extension '{_printable(block.identifier)}' ({size} bytes)"
    if block.identifier == _ICC:
        return (Finding("color_profile", name, None, size), *identity_findings(block.payload[len(_ICC) :]))
    if block.identifier == _XMP:
        try:
            found = read_xmp(_xmp_packet(block))
        except WatcherError:
            found = ()
        return found or (Finding("other", name, None, size),)
    return (Finding("other", name, None, size),)


def _is_image_block(block: _Block) -> bool:
    return block.kind in ("image", "graphic control") or (
        block.kind == "application" and block.identifier in _LOOPING
    )


class GifHandler:
    name: ClassVar[str] = "gif"
    extension: ClassVar[str] = ".gif"
    extensions: ClassVar[tuple[str, ...]] = (".gif",)

    def sniff(self, head: bytes) -> bool:
        return is_gif(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        reader = _Reader(source)
        findings: list[Finding] = []
        for block in reader.blocks(lambda _piece: None):
            if not _is_image_block(block):
                findings.extend(_findings(block))
        if reader.trailer_size:
            size = reader.trailer_size
            findings.append(Finding("trailer", f"bytes after the GIF trailer ({size} bytes)", None, size))
        return Inventory(self.name, tuple(findings), reader.width, reader.height)

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        reader = _Reader(source)
        log = RemovalLog()
        output.write(reader.header)
        images = 0
        for block in reader.blocks(output.write):
            if _is_image_block(block):
                images += block.kind == "image"
                output.write(block.raw)
            elif block.identifier == _ICC and profile.keeps("color_profile"):
                output.write(_icc_block(block, log))
            else:
                for finding in _findings(block):
                    log.remove(finding.category, finding.name)
        if not images:
            raise CorruptMedia("the GIF file has no image: there is no picture in it")
        output.write(bytes([_TRAILER]))
        if reader.trailer_size:
            log.remove("trailer", f"bytes after the GIF trailer ({reader.trailer_size} bytes)")
        return Sanitized(self.name, self.extension, True, log.removed(), log.kept())

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        output.seek(0)
        source.seek(0)
        try:
            same = _image_digest(output, check=profile) == _image_digest(source)
        except CorruptMedia as error:
            raise VerifyFailed(f"the sanitized GIF does not re-read cleanly: {error}") from error
        if not same:
            raise VerifyFailed("the sanitized GIF's image data differs from the original's")


def _icc_block(block: _Block, log: RemovalLog) -> bytes:
    """The ICC application extension with its profile reduced to colour data (nothing when unreadable)."""
    try:
        cleaned = clean_profile(block.payload[len(_ICC) :])
    except CorruptMedia as error:
        log.remove("other", f"GIF ICC application extension ({block.size} bytes, unreadable: {error})")
        return b""
    cleaned.record(log, f"ICC profile ({len(cleaned.data)} bytes)")
    if not cleaned.removed:
        return block.raw
    data = cleaned.data
    pieces = (bytes((len(data[i : i + 255]),)) + data[i : i + 255] for i in range(0, len(data), 255))
    return bytes((_EXTENSION, _APPLICATION, len(_ICC))) + _ICC + b"".join(pieces) + b"\0"


def _image_digest(stream: BinaryIO, check: Profile | None = None) -> str:
    """SHA-256 over the screen descriptor, colour tables, frames, timing and looping blocks. With ``check``
    (reading our own output), any other block the profile does not keep, or a trailer, is a VerifyFailed."""
    digest = hashlib.sha256()
    reader = _Reader(stream)
    digest.update(reader.header)
    for block in reader.blocks(digest.update):
        if _is_image_block(block):
            digest.update(block.raw)
        elif check is not None and not (block.identifier == _ICC and check.keeps("color_profile")):
            raise VerifyFailed(f"the sanitized GIF still holds a {block.kind} extension")
        elif check is not None and not is_clean(block.payload[len(_ICC) :]):
            raise VerifyFailed("the sanitized GIF's ICC profile carries more than its colour data")
    if check is not None and reader.trailer_size:
        raise VerifyFailed("the sanitized GIF has bytes after its trailer")
    return digest.hexdigest()


HANDLER = GifHandler()
