"""PNG and APNG: copy the image chunks byte for byte, drop every metadata chunk the profile does not keep."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, TooLarge, VerifyFailed
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized
from watcher.formats.exif import filter_exif, read_exif
from watcher.formats.icc import clean_profile, is_clean
from watcher.formats.png_findings import COLOUR_CHUNKS, chunk_findings
from watcher.formats.signatures import PNG_SIGNATURE, is_png
from watcher.rules.profile import Profile

# Chunks needed to draw the picture (and its animation) exactly as before; nothing in them identifies anyone.
_IMAGE_CHUNKS = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"sBIT", b"bKGD"}
)
_DATA_CHUNKS = frozenset({b"IDAT", b"fdAT"})
_PIECE = 1 << 20
_MAX_CHUNK = (1 << 31) - 1  # the PNG specification's limit for a chunk length
_MAX_BUFFERED = 32 << 20  # metadata chunks are read whole to classify them; image data never is
_MAX_CHUNKS = 1_000_000


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    length: int

    def label(self) -> str:
        return self.kind.decode("latin-1")


class _Reader:
    """Walks the chunks of a PNG stream once, checking lengths, CRCs and the IHDR-first / IEND-last order."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._pending: _Chunk | None = None
        self.trailer_size = 0
        signature = source.read(len(PNG_SIGNATURE))
        if not signature:
            raise CorruptMedia("the PNG file is empty (0 bytes)")
        if signature != PNG_SIGNATURE:
            raise CorruptMedia("not a PNG file: the 8-byte PNG signature is missing or damaged")

    def chunks(self) -> Iterator[_Chunk]:
        for index in range(_MAX_CHUNKS):
            header = self._source.read(8)
            if len(header) < 8:
                raise CorruptMedia("the PNG file is truncated: it ends before the IEND chunk")
            length, kind = struct.unpack(">I4s", header)
            if length > _MAX_CHUNK or not kind.isalpha() or not kind.isascii():
                raise CorruptMedia(f"the PNG file has a damaged chunk header at chunk {index}")
            if (index == 0) != (kind == b"IHDR"):
                raise CorruptMedia("the PNG file does not start with exactly one IHDR chunk")
            chunk = _Chunk(kind, length)
            self._pending = chunk
            yield chunk
            if self._pending is not None:
                self.skip(chunk)
            if kind == b"IEND":
                if length:
                    raise CorruptMedia("the PNG IEND chunk is not empty")
                self.trailer_size = _count_rest(self._source)
                return
        raise TooLarge(f"the PNG file has more than {_MAX_CHUNKS} chunks")

    def pieces(self, chunk: _Chunk) -> Iterator[bytes]:
        """The chunk's data in pieces; raises CorruptMedia at the end when the CRC does not match."""
        self._pending = None
        crc = zlib.crc32(chunk.kind)
        remaining = chunk.length
        while remaining:
            piece = self._source.read(min(remaining, _PIECE))
            if not piece:
                raise CorruptMedia(f"the PNG file is truncated inside the {chunk.label()} chunk")
            crc = zlib.crc32(piece, crc)
            remaining -= len(piece)
            yield piece
        stored = self._source.read(4)
        if len(stored) < 4:
            raise CorruptMedia(f"the PNG file is truncated inside the {chunk.label()} chunk")
        if struct.unpack(">I", stored)[0] != crc:
            raise CorruptMedia(f"the PNG {chunk.label()} chunk has a bad CRC (damaged file)")

    def body(self, chunk: _Chunk) -> bytes:
        if chunk.length > _MAX_BUFFERED:
            raise TooLarge(f"the PNG {chunk.label()} chunk of {chunk.length} bytes is too large")
        return b"".join(self.pieces(chunk))

    def skip(self, chunk: _Chunk) -> None:
        for _piece in self.pieces(chunk):
            pass


def _count_rest(source: BinaryIO) -> int:
    total = 0
    while piece := source.read(_PIECE):
        total += len(piece)
    return total


def _write_chunk(output: BinaryIO, kind: bytes, data: bytes) -> None:
    output.write(struct.pack(">I4s", len(data), kind) + data)
    output.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def _metadata_findings(reader: _Reader, chunk: _Chunk) -> tuple[Finding, ...]:
    if chunk.length > _MAX_BUFFERED:
        reader.skip(chunk)
        return (Finding("other", f"PNG {chunk.label()} ({chunk.length} bytes)", None, chunk.length),)
    return chunk_findings(chunk.kind, reader.body(chunk))


def _allowed(profile: Profile) -> frozenset[bytes]:
    colour = COLOUR_CHUNKS if profile.keeps("color_profile") else frozenset()
    return _IMAGE_CHUNKS | colour


def _image_digest(source: BinaryIO) -> str:
    """SHA-256 of the IDAT/fdAT payloads: equal digests mean the pixels were copied, not re-encoded."""
    digest = hashlib.sha256()
    reader = _Reader(source)
    for chunk in reader.chunks():
        if chunk.kind in _DATA_CHUNKS:
            digest.update(chunk.kind)
            for piece in reader.pieces(chunk):
                digest.update(piece)
    return digest.hexdigest()


def _ihdr_size(data: bytes) -> tuple[int, int]:
    if len(data) != 13:
        raise CorruptMedia("the PNG IHDR chunk has a bad length")
    width, height = struct.unpack(">II", data[:8])
    if not width or not height:
        raise CorruptMedia("the PNG IHDR chunk declares a zero width or height")
    return width, height


def _copy(reader: _Reader, chunk: _Chunk, output: BinaryIO) -> None:
    output.write(struct.pack(">I4s", chunk.length, chunk.kind))
    crc = zlib.crc32(chunk.kind)
    for piece in reader.pieces(chunk):
        crc = zlib.crc32(piece, crc)
        output.write(piece)
    output.write(struct.pack(">I", crc))


def _icc_profile(data: bytes) -> tuple[bytes, bool] | None:
    """The ICC profile inside an iCCP chunk and whether its zlib stream was complete; None when the chunk
    holds no real profile (a viewer could not use it: it is only bytes we cannot vouch for)."""
    _name, sep, rest = data.partition(b"\0")
    if not sep or rest[:1] != b"\0":
        return None
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(rest[1:], _MAX_BUFFERED)
    except zlib.error:
        return None
    if len(profile) < 128 or profile[36:40] != b"acsp":
        return None
    return profile, inflater.eof


def _keep_icc(data: bytes, output: BinaryIO, log: RemovalLog) -> None:
    found = _icc_profile(data)
    if found is None:
        log.remove("other", f"PNG iCCP holding no valid ICC profile ({len(data)} bytes)")
        return
    profile, complete = found
    try:
        cleaned = clean_profile(profile)
    except CorruptMedia as error:
        log.remove("other", f"PNG iCCP holding an unreadable ICC profile ({len(data)} bytes: {error})")
        return
    repaired = "" if complete else ", zlib stream repaired"
    cleaned.record(log, f"ICC profile ({len(cleaned.data)} bytes{repaired})")
    if cleaned.removed or not complete:
        # A stream cut before its checksum (lenient viewers use it, strict ones drop it) is made whole
        # again; a cleaned profile is compressed anew. The profile's name stays.
        data = data.partition(b"\0")[0] + b"\0\0" + zlib.compress(cleaned.data, 9)
    _write_chunk(output, b"iCCP", data)


def _keep_exif(data: bytes, profile: Profile, output: BinaryIO, log: RemovalLog, written: bool) -> bool:
    """Write the minimal eXIf the profile allows; True when one was written."""
    try:
        filtered = filter_exif(data, profile)
    except CorruptMedia:
        log.remove("other", f"PNG eXIf unreadable ({len(data)} bytes)")
        return written
    log.remove_all(filtered.removed)
    if filtered.data is None or written:
        if written:
            log.remove("other", f"PNG eXIf duplicate ({len(data)} bytes)")
        return written
    for name in filtered.kept:
        log.keep(name)
    _write_chunk(output, b"eXIf", filtered.data)
    return True


class PngHandler:
    name: ClassVar[str] = "png"
    extension: ClassVar[str] = ".png"
    extensions: ClassVar[tuple[str, ...]] = (".png", ".apng")

    def sniff(self, head: bytes) -> bool:
        return is_png(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        reader = _Reader(source)
        findings: list[Finding] = []
        width = height = None
        for chunk in reader.chunks():
            if chunk.kind == b"IHDR":
                width, height = _ihdr_size(reader.body(chunk))
            elif chunk.kind not in _IMAGE_CHUNKS:
                findings.extend(_metadata_findings(reader, chunk))
        if size := reader.trailer_size:
            findings.append(Finding("trailer", f"bytes after IEND ({size} bytes)", None, size))
        return Inventory(self.name, tuple(findings), width, height)

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        reader = _Reader(source)
        log = RemovalLog()
        allowed = _allowed(profile)
        output.write(PNG_SIGNATURE)
        exif_written = has_image = False
        for chunk in reader.chunks():
            has_image = has_image or chunk.kind == b"IDAT"
            if chunk.kind == b"IHDR":
                data = reader.body(chunk)
                _ihdr_size(data)
                _write_chunk(output, chunk.kind, data)
            elif chunk.kind == b"iCCP" and b"iCCP" in allowed:
                _keep_icc(reader.body(chunk), output, log)
            elif chunk.kind in allowed:
                _copy(reader, chunk, output)
            elif chunk.kind == b"eXIf" and chunk.length <= _MAX_BUFFERED:
                exif_written = _keep_exif(reader.body(chunk), profile, output, log, exif_written)
            elif chunk.kind[:1].isupper():
                raise CorruptMedia(f"the PNG file has an unknown critical chunk {chunk.label()!r}")
            else:
                for finding in _metadata_findings(reader, chunk):
                    log.remove(finding.category, finding.name)
        if not has_image:
            raise CorruptMedia("the PNG file has no IDAT chunk: there is no picture in it")
        if reader.trailer_size:
            log.remove("trailer", f"bytes after IEND ({reader.trailer_size} bytes)")
        return Sanitized(self.name, self.extension, True, log.removed(), log.kept())

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        output.seek(0)
        try:
            self._verify_structure(output, profile)
            output.seek(0)
            source.seek(0)
            same = _image_digest(output) == _image_digest(source)
        except CorruptMedia as error:
            raise VerifyFailed(f"the sanitized PNG does not re-read cleanly: {error}") from error
        if not same:
            raise VerifyFailed("the sanitized PNG's image data differs from the original's")

    def _verify_structure(self, output: BinaryIO, profile: Profile) -> None:
        reader = _Reader(output)
        allowed = _allowed(profile) | {b"eXIf"}
        for chunk in reader.chunks():
            if chunk.kind not in allowed:
                raise VerifyFailed(f"the sanitized PNG still holds a {chunk.label()} chunk")
            if chunk.kind == b"iCCP":
                found = _icc_profile(reader.body(chunk))
                if found is None or not found[1] or not is_clean(found[0]):
                    raise VerifyFailed("the sanitized PNG's ICC profile carries more than its colour data")
            elif chunk.kind == b"eXIf":
                leaked = [f.name for f in read_exif(reader.body(chunk)) if not profile.keeps(f.category)]
                if leaked:
                    raise VerifyFailed(f"the sanitized PNG's eXIf still holds {', '.join(leaked)}")
        if reader.trailer_size:
            raise VerifyFailed("the sanitized PNG has bytes after IEND")


HANDLER = PngHandler()
