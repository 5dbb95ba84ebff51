"""WebP (simple and extended, still and animated): copy the image chunks, drop what the profile does not keep.

The RIFF size comes first in the file, so the writer plans the output from the chunk index, then copies.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, TooLarge, VerifyFailed, WatcherError
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized
from watcher.formats.exif import filter_exif, read_exif
from watcher.formats.icc import clean_profile, identity_findings, is_clean
from watcher.formats.signatures import is_webp
from watcher.formats.xmp import read_xmp
from watcher.rules.profile import Profile

_ICC_FLAG, _ALPHA_FLAG, _EXIF_FLAG, _XMP_FLAG, _ANIMATION_FLAG = 0x20, 0x10, 0x08, 0x04, 0x02
_BITSTREAMS = frozenset({b"VP8 ", b"VP8L"})
_IMAGE_CHUNKS = _BITSTREAMS | {b"ALPH", b"ANIM", b"ANMF"}
_FRAME_CHUNKS = _BITSTREAMS | {b"ALPH"}
_EXIF_PREFIX = b"Exif\0\0"
_PIECE = 1 << 20
_MAX_CHUNKS = 100_000
_MAX_BUFFERED = 16 << 20  # EXIF / XMP chunks are read whole to classify them; image data never is


@dataclass(frozen=True)
class _Chunk:
    fourcc: bytes
    offset: int  # where the chunk's data starts in the source
    size: int  # data size, without the padding byte

    @property
    def stored_size(self) -> int:
        return 8 + self.size + (self.size & 1)

    def label(self) -> str:
        return _printable(self.fourcc).strip()


@dataclass(frozen=True)
class _Layout:
    chunks: tuple[_Chunk, ...]
    trailer_size: int


def _printable(raw: bytes) -> str:
    return "".join(c if c.isprintable() else "?" for c in raw.decode("latin-1"))


def _read_at(source: BinaryIO, offset: int, count: int) -> bytes:
    source.seek(offset)
    data = source.read(count)
    if len(data) < count:
        raise CorruptMedia("the WebP file is truncated")
    return data


def _chunks(source: BinaryIO, start: int, end: int) -> Iterator[_Chunk]:
    position = start
    for _index in range(_MAX_CHUNKS):
        if position >= end:
            return
        if end - position < 8:
            raise CorruptMedia("the WebP file is truncated inside a chunk header")
        fourcc, size = struct.unpack("<4sI", _read_at(source, position, 8))
        if position + 8 + size > end:
            raise CorruptMedia(f"the WebP {_printable(fourcc)!r} chunk runs past the end of its container")
        chunk = _Chunk(fourcc, position + 8, size)
        yield chunk
        position += chunk.stored_size
    raise TooLarge(f"the WebP file has more than {_MAX_CHUNKS} chunks")


def _layout(source: BinaryIO) -> _Layout:
    file_size = source.seek(0, 2)
    if not file_size:
        raise CorruptMedia("the WebP file is empty (0 bytes)")
    header = _read_at(source, 0, min(file_size, 12))
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        raise CorruptMedia("not a WebP file: the RIFF/WEBP header is missing")
    riff_end = 8 + struct.unpack("<I", header[4:8])[0]
    if riff_end > file_size:
        raise CorruptMedia(f"the WebP file is truncated: it declares {riff_end} bytes but has {file_size}")
    chunks = tuple(_chunks(source, 12, riff_end))
    if not chunks or chunks[0].fourcc not in (_BITSTREAMS | {b"VP8X"}):
        raise CorruptMedia("the WebP file does not start with a VP8, VP8L or VP8X chunk")
    if chunks[0].fourcc == b"VP8X" and chunks[0].size < 10:
        raise CorruptMedia("the WebP VP8X chunk is too short")
    if not any(c.fourcc in _BITSTREAMS or c.fourcc == b"ANMF" for c in chunks):
        raise CorruptMedia("the WebP file has no VP8/VP8L image data: there is no picture in it")
    return _Layout(chunks, file_size - riff_end)


def _frame_chunks(source: BinaryIO, frame: _Chunk) -> tuple[_Chunk, ...]:
    if frame.size < 16:
        raise CorruptMedia("the WebP ANMF chunk is too short")
    return tuple(_chunks(source, frame.offset + 16, frame.offset + frame.size))


def _body(source: BinaryIO, chunk: _Chunk) -> bytes:
    if chunk.size > _MAX_BUFFERED:
        raise TooLarge(f"the WebP {chunk.label()} chunk of {chunk.size} bytes is too large")
    return _read_at(source, chunk.offset, chunk.size)


def _tiff(data: bytes) -> bytes:
    return data[len(_EXIF_PREFIX) :] if data.startswith(_EXIF_PREFIX) else data


def _metadata_findings(source: BinaryIO, chunk: _Chunk) -> tuple[Finding, ...]:
    """What a metadata chunk holds, values included (for ``inspect`` only)."""
    name = f"WebP {chunk.label()} chunk ({chunk.size} bytes)"
    if chunk.fourcc == b"ICCP":
        found = identity_findings(_body(source, chunk)) if chunk.size <= _MAX_BUFFERED else ()
        return (Finding("color_profile", name, None, chunk.size), *found)
    if chunk.fourcc in (b"EXIF", b"XMP ") and chunk.size <= _MAX_BUFFERED:
        data = _body(source, chunk)
        try:
            found = read_exif(_tiff(data)) if chunk.fourcc == b"EXIF" else read_xmp(data)
        except WatcherError:
            found = ()
        return found or (Finding("other", name, None, chunk.size),)
    return (Finding("other", name, None, chunk.size),)


def _image_digest(source: BinaryIO, layout: _Layout) -> str:
    """SHA-256 over the bitstream, alpha and animation chunks: equal digests mean the pixels were copied."""
    digest = hashlib.sha256()
    for chunk in layout.chunks:
        if chunk.fourcc in _IMAGE_CHUNKS:
            digest.update(chunk.fourcc)
            parts = (
                (_Chunk(b"", chunk.offset, 16), *_frame_chunks(source, chunk))
                if chunk.fourcc == b"ANMF"
                else (chunk,)
            )
            for part in parts:
                if part.fourcc in _FRAME_CHUNKS or not part.fourcc:
                    digest.update(part.fourcc)
                    for piece in _pieces(source, part):
                        digest.update(piece)
    return digest.hexdigest()


def _pieces(source: BinaryIO, chunk: _Chunk) -> Iterator[bytes]:
    position, end = chunk.offset, chunk.offset + chunk.size
    while position < end:
        piece = _read_at(source, position, min(_PIECE, end - position))
        position += len(piece)
        yield piece


Item = bytes | _Chunk  # new bytes to write, or a source chunk to copy


def _item_size(item: Item) -> int:
    return len(item) if isinstance(item, bytes) else item.stored_size


def _write_item(source: BinaryIO, output: BinaryIO, item: Item) -> None:
    if isinstance(item, bytes):
        output.write(item)
        return
    output.write(struct.pack("<4sI", item.fourcc, item.size))
    for piece in _pieces(source, item):
        output.write(piece)
    if item.size & 1:
        output.write(b"\0")


def _new_chunk(fourcc: bytes, data: bytes) -> bytes:
    return struct.pack("<4sI", fourcc, len(data)) + data + b"\0" * (len(data) & 1)


def _plan_frame(source: BinaryIO, frame: _Chunk, log: RemovalLog) -> list[Item]:
    """An ANMF chunk rebuilt with only its alpha and bitstream sub-chunks."""
    parts = _frame_chunks(source, frame)
    kept = [part for part in parts if part.fourcc in _FRAME_CHUNKS]
    if len(kept) == len(parts):
        return [frame]
    for part in parts:
        if part.fourcc not in _FRAME_CHUNKS:
            log.remove("other", f"WebP ANMF {part.label()} sub-chunk ({part.size} bytes)")
    size = 16 + sum(part.stored_size for part in kept)
    header = struct.pack("<4sI", b"ANMF", size) + _read_at(source, frame.offset, 16)
    return [header, *kept]


def _plan_icc(source: BinaryIO, chunk: _Chunk, log: RemovalLog) -> list[Item]:
    try:
        cleaned = clean_profile(_body(source, chunk))
    except CorruptMedia as error:
        log.remove(
            "other", f"WebP ICCP chunk holding an unreadable ICC profile ({chunk.size} bytes: {error})"
        )
        return []
    cleaned.record(log, f"ICC profile ({len(cleaned.data)} bytes)")
    return [_new_chunk(b"ICCP", cleaned.data)] if cleaned.removed else [chunk]


def _plan_exif(source: BinaryIO, chunk: _Chunk, profile: Profile, log: RemovalLog) -> list[Item]:
    try:
        filtered = filter_exif(_tiff(_body(source, chunk)), profile)
    except CorruptMedia:
        # Too damaged to read: dropping it whole is the safe side.
        log.remove("other", f"WebP EXIF chunk unreadable ({chunk.size} bytes)")
        return []
    log.remove_all(filtered.removed)
    if filtered.data is None:
        return []
    for name in filtered.kept:
        log.keep(name)
    return [_new_chunk(b"EXIF", filtered.data)]


def _plan(source: BinaryIO, layout: _Layout, profile: Profile, log: RemovalLog) -> list[Item]:
    extended = layout.chunks[0].fourcc == b"VP8X"
    plan: list[Item] = []
    seen: set[bytes] = set()
    for index, chunk in enumerate(layout.chunks):
        fourcc = chunk.fourcc
        repeated = fourcc in seen and fourcc in (b"VP8X", b"ICCP", b"EXIF", b"ANIM")
        seen.add(fourcc)
        if (fourcc == b"VP8X" and index == 0) or (fourcc in _IMAGE_CHUNKS - {b"ANMF"} and not repeated):
            plan.append(chunk)
        elif fourcc == b"ANMF":
            plan.extend(_plan_frame(source, chunk, log))
        elif fourcc == b"ICCP" and extended and not repeated and profile.keeps("color_profile"):
            plan.extend(_plan_icc(source, chunk, log))
        elif fourcc == b"EXIF" and extended and not repeated and chunk.size <= _MAX_BUFFERED:
            plan.extend(_plan_exif(source, chunk, profile, log))
        else:
            for finding in _metadata_findings(source, chunk):
                log.remove(finding.category, finding.name)
    if extended:
        plan[0] = _vp8x(source, layout.chunks[0], plan)
    return plan


def _vp8x(source: BinaryIO, vp8x: _Chunk, plan: list[Item]) -> bytes:
    """The VP8X chunk with its ICC / EXIF / XMP flags matching what the output holds."""
    data = _read_at(source, vp8x.offset, 10)
    fourccs = {item.fourcc if isinstance(item, _Chunk) else item[:4] for item in plan}
    flags = data[0] & (_ALPHA_FLAG | _ANIMATION_FLAG)
    flags |= _ICC_FLAG if b"ICCP" in fourccs else 0
    flags |= _EXIF_FLAG if b"EXIF" in fourccs else 0
    return _new_chunk(b"VP8X", bytes([flags]) + b"\0\0\0" + data[4:10])


def _size(source: BinaryIO, first: _Chunk) -> tuple[int | None, int | None]:
    data = _read_at(source, first.offset, min(first.size, 10))
    if first.fourcc == b"VP8X" and len(data) == 10:
        return 1 + int.from_bytes(data[4:7], "little"), 1 + int.from_bytes(data[7:10], "little")
    if first.fourcc == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if first.fourcc == b"VP8 " and len(data) == 10 and data[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[6:10])
        return width & 0x3FFF, height & 0x3FFF
    return None, None


class WebpHandler:
    name: ClassVar[str] = "webp"
    extension: ClassVar[str] = ".webp"
    extensions: ClassVar[tuple[str, ...]] = (".webp",)

    def sniff(self, head: bytes) -> bool:
        return is_webp(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        layout = _layout(source)
        findings: list[Finding] = []
        for chunk in layout.chunks:
            if chunk.fourcc not in _IMAGE_CHUNKS | {b"VP8X"}:
                findings.extend(_metadata_findings(source, chunk))
        if layout.trailer_size:
            size = layout.trailer_size
            findings.append(Finding("trailer", f"bytes after the RIFF container ({size} bytes)", None, size))
        width, height = _size(source, layout.chunks[0])
        return Inventory(self.name, tuple(findings), width, height)

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        layout = _layout(source)
        log = RemovalLog()
        plan = _plan(source, layout, profile, log)
        riff_size = 4 + sum(_item_size(item) for item in plan)
        output.write(b"RIFF" + struct.pack("<I", riff_size) + b"WEBP")
        for item in plan:
            _write_item(source, output, item)
        if layout.trailer_size:
            log.remove("trailer", f"bytes after the RIFF container ({layout.trailer_size} bytes)")
        return Sanitized(self.name, self.extension, True, log.removed(), log.kept())

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        try:
            layout = _layout(output)
            _check_output(output, layout, profile)
            same = _image_digest(output, layout) == _image_digest(source, _layout(source))
        except CorruptMedia as error:
            raise VerifyFailed(f"the sanitized WebP does not re-read cleanly: {error}") from error
        if not same:
            raise VerifyFailed("the sanitized WebP's image data differs from the original's")


def _check_output(output: BinaryIO, layout: _Layout, profile: Profile) -> None:
    if layout.trailer_size:
        raise VerifyFailed("the sanitized WebP has bytes after its RIFF container")
    allowed = _IMAGE_CHUNKS | {b"VP8X", b"EXIF"} | ({b"ICCP"} if profile.keeps("color_profile") else set())
    present: set[bytes] = set()
    for chunk in layout.chunks:
        if chunk.fourcc not in allowed:
            raise VerifyFailed(f"the sanitized WebP still holds a {chunk.label()} chunk")
        present.add(chunk.fourcc)
        frame = _frame_chunks(output, chunk) if chunk.fourcc == b"ANMF" else ()
        if any(part.fourcc not in _FRAME_CHUNKS for part in frame):
            raise VerifyFailed("the sanitized WebP still holds an unknown chunk inside an animation frame")
        if chunk.fourcc == b"ICCP" and not is_clean(_body(output, chunk)):
            raise VerifyFailed("the sanitized WebP's ICC profile carries more than its colour data")
        if chunk.fourcc == b"EXIF":
            leaked = [f.name for f in read_exif(_body(output, chunk)) if not profile.keeps(f.category)]
            if leaked:
                raise VerifyFailed(f"the sanitized WebP's EXIF still holds {', '.join(leaked)}")
    first = layout.chunks[0]
    if first.fourcc == b"VP8X":
        flags = _read_at(output, first.offset, 1)[0]
        expected = {_ICC_FLAG: b"ICCP" in present, _EXIF_FLAG: b"EXIF" in present, _XMP_FLAG: False}
        if any(bool(flags & flag) != wanted for flag, wanted in expected.items()):
            raise VerifyFailed("the sanitized WebP's VP8X flags do not match its chunks")
    elif present - _BITSTREAMS:
        raise VerifyFailed("the sanitized simple WebP holds chunks that need a VP8X header")


HANDLER = WebpHandler()
