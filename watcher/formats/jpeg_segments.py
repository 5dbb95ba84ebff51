"""A streaming JPEG marker reader with bounded memory.

It yields each marker segment with its payload (at most 64 KiB) and the entropy-coded data after each
SOS as chunks, so a caller can copy a many-megabyte scan without holding it. Entropy data is scanned with
a compiled pattern for "0xFF followed by something other than stuffing or a restart marker", which keeps
the per-byte work in C.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from watcher.errors import CorruptMedia

CHUNK = 1 << 20
MAX_SEGMENTS = 8192
MAX_JUNK_BYTES = 1 << 20

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
# Markers with no length field: TEM and the restart markers.
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Start-of-frame markers. C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Segments the decoder needs: frames, Huffman/arithmetic/quantization tables, restart interval, scans,
# DNL and the hierarchical-mode DHP/EXP.
CODING_MARKERS = SOF_MARKERS | {0xC4, 0xCC, 0xDB, 0xDD, 0xDA, 0xDC, 0xDE, 0xDF}
# A scan ends at a real marker (0xC0-0xFE other than RSTn). 0xFF followed by a byte below 0xC0 inside
# entropy-coded data is corrupt, but decoders resynchronise past it; it is copied like the rest of the
# scan, so the output decodes exactly as the source does.
_SCAN_END = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")


class Segment(NamedTuple):  # a tuple, not a dataclass: made for every segment of every file read
    marker: int
    payload: bytes  # without the marker and the length field
    offset: int  # where the marker starts in the file

    @property
    def name(self) -> str:
        return marker_name(self.marker)

    def encoded(self) -> bytes:
        """The segment as it appears in a file."""
        if self.marker in STANDALONE or self.marker in (SOI, EOI):
            return bytes((0xFF, self.marker))
        return bytes((0xFF, self.marker)) + (len(self.payload) + 2).to_bytes(2, "big") + self.payload


class ScanChecksum:
    """CRC-32 and byte count of the image-coding segments and entropy data, to prove an output's picture
    is the source's byte for byte.

    It guards the picture against our own slips (a scan dropped, reordered or cut short), which a CRC
    with the length catches, at a third of SHA-256's cost on every file. It is not what keeps metadata
    out: every non-coding segment is checked against the keep-list separately, so even a crafted
    collision could only alter pixels the sender already chose.
    """

    __slots__ = ("_crc", "_length")

    def __init__(self) -> None:
        self._crc = 0
        self._length = 0

    def update(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._length += len(data)

    def hexdigest(self) -> str:
        return f"{self._length}:{self._crc:08x}"


class PictureRecord:
    """What proves an output's picture is the source's, gathered while rebuilding: ScanChecksum of the
    coding segments (tables, frame and scan headers: a few kilobytes) and where each scan's entropy-coded
    data lies in the source. The output check then compares every scan with the source's bytes directly
    (``SourceScans``): a byte compare, where a checksum of both sides and a second marker search cost a
    fifth of each file's time.
    """

    __slots__ = ("_base", "_coding", "_scans")

    def __init__(self, base: int = 0) -> None:
        self._base = base  # where the reader started in the source stream
        self._coding = ScanChecksum()
        self._scans: list[list[int]] = []

    def coding(self, encoded: bytes) -> None:
        self._coding.update(encoded)

    def scan(self, segment: Segment) -> None:
        """A scan starts right after ``segment`` (an SOS): marker, length field, payload."""
        self._scans.append([self._base + segment.offset + 4 + len(segment.payload), 0])

    def entropy(self, data: bytes) -> None:
        self._scans[-1][1] += len(data)

    def digest(self) -> str:
        return (
            self._coding.hexdigest() + ";" + ",".join(f"{offset}+{length}" for offset, length in self._scans)
        )


class SourceScans:
    """The source's scans, by the extents a PictureRecord noted, for an output's to be compared with."""

    def __init__(self, source: BinaryIO, digest: str) -> None:
        coding, _, extents = digest.partition(";")
        self.coding = coding
        self.source = source
        self._extents = [tuple(map(int, item.split("+"))) for item in extents.split(",") if item]
        self._next = 0

    def next_length(self) -> int:
        """Position the source at the next scan and return its length."""
        if self._next >= len(self._extents):
            raise CorruptMedia("the output has more scans than the source")
        offset, length = self._extents[self._next]
        self._next += 1
        self.source.seek(offset)
        return length

    def all_seen(self) -> bool:
        return self._next == len(self._extents)


def marker_name(marker: int) -> str:
    if 0xE0 <= marker <= 0xEF:
        return f"APP{marker - 0xE0}"
    names = {
        0xC4: "DHT",
        0xCC: "DAC",
        0xDB: "DQT",
        0xDD: "DRI",
        0xDA: "SOS",
        0xFE: "COM",
        0xD8: "SOI",
        0xD9: "EOI",
    }
    if marker in SOF_MARKERS:
        return f"SOF{marker - 0xC0}"
    return names.get(marker, f"marker 0x{marker:02X}")


class SegmentReader:
    """Reads one JPEG stream from its SOI to its first EOI, then reports what follows."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._position = 0
        self._base = 0  # file offset of self._buffer[0]

    def _more(self) -> bool:
        """Append one chunk to the unread part of the buffer; False at the end of the stream."""
        data = self._stream.read(CHUNK)
        if not data:
            return False
        self._base += self._position
        self._buffer = self._buffer[self._position :] + data
        self._position = 0
        return True

    def _ensure(self, count: int) -> bool:
        while len(self._buffer) - self._position < count:
            if not self._more():
                return False
        return True

    def _take(self, count: int) -> bytes:
        """``count`` bytes the caller has made sure are buffered (``_ensure``)."""
        data = self._buffer[self._position : self._position + count]
        self._position += count
        return data

    def segments(self, expected: SourceScans | None = None) -> Iterator[Segment | bytes]:
        """Segments in file order; the ``bytes`` items are entropy-coded data following an SOS. With
        ``expected``, each scan must instead be byte for byte the source's next one (and is not yielded)."""
        if not self._ensure(2) or self._buffer[:2] != b"\xff\xd8":
            raise CorruptMedia("not a JPEG stream: it does not start with SOI (FF D8)")
        self._position = 2
        yield Segment(SOI, b"", 0)
        for _ in range(MAX_SEGMENTS):
            offset, marker = self._next_marker()
            if marker == EOI:
                yield Segment(EOI, b"", offset)
                return
            if marker == SOI:
                raise CorruptMedia(f"second SOI at byte {offset} before the image ended")
            if marker < 0xC0 and marker not in STANDALONE:
                raise CorruptMedia(f"reserved marker 0x{marker:02X} at byte {offset}: corrupt image data")
            if marker in STANDALONE:
                yield Segment(marker, b"", offset)
                continue
            # Messages are built only on failure: this loop runs for every segment of every file.
            if not self._ensure(2):
                raise CorruptMedia(f"file ends inside the {marker_name(marker)} length field (truncated)")
            length = int.from_bytes(self._take(2), "big")
            if length < 2:
                name = marker_name(marker)
                raise CorruptMedia(f"{name} segment at byte {offset} has an invalid length {length}")
            if not self._ensure(length - 2):
                name = marker_name(marker)
                raise CorruptMedia(f"file ends inside the {name} segment at byte {offset} (truncated)")
            yield Segment(marker, self._take(length - 2), offset)
            if marker == SOS and expected is not None:
                self._expect(expected.source, expected.next_length())
            elif marker == SOS:
                yield from self._entropy()
        raise CorruptMedia(f"more than {MAX_SEGMENTS} segments; refusing a file built to exhaust the reader")

    def _next_marker(self) -> tuple[int, int]:
        skipped = 0
        while True:
            if not self._ensure(2):
                raise CorruptMedia("file ends before the EOI marker (truncated)")
            buffer, position = self._buffer, self._position
            if buffer[position] == 0xFF and buffer[position + 1] not in (0xFF, 0x00):
                self._position += 2
                return self._base + position, buffer[position + 1]
            # Fill bytes (FF FF) and junk between segments are skipped, never copied.
            found = buffer.find(b"\xff", position + 1)
            step = (found if found >= 0 else len(buffer) - 1) - position
            skipped += step
            self._position += step
            if skipped > MAX_JUNK_BYTES:
                raise CorruptMedia("more than 1 MiB of bytes between segments that are not a marker")

    def _entropy(self) -> Iterator[bytes]:
        while True:
            match = _SCAN_END.search(self._buffer, self._position)
            if match is not None:
                end = match.start()
                if end > self._position:
                    yield self._buffer[self._position : end]
                self._position = end
                return
            # Keep a trailing 0xFF: whether it ends the scan depends on the next chunk's first byte.
            end = len(self._buffer) - (1 if self._buffer.endswith(b"\xff") else 0)
            if end > self._position:
                yield self._buffer[self._position : end]
            self._position = end
            if not self._more():
                raise CorruptMedia("file ends inside the compressed image data (truncated, no EOI)")

    def _expect(self, source: BinaryIO, length: int) -> None:
        """Consume ``length`` bytes of entropy-coded data equal to ``source``'s next bytes, then require
        the marker that ends a scan: the output's scan is exactly the source's, no shorter, no longer."""
        remaining = length
        while remaining:
            if self._position >= len(self._buffer) and not self._more():
                raise CorruptMedia("file ends inside the compressed image data (truncated)")
            take = min(remaining, len(self._buffer) - self._position)
            if self._buffer[self._position : self._position + take] != source.read(take):
                raise CorruptMedia("the compressed image data differs from the source's")
            self._position += take
            remaining -= take
        if not self._ensure(2) or not _SCAN_END.match(self._buffer, self._position):
            raise CorruptMedia("the compressed image data runs on past the end of the source's scan")

    def rest(self) -> Iterator[bytes]:
        """The bytes after EOI, in chunks (call after segments() is exhausted)."""
        if self._position < len(self._buffer):
            yield self._buffer[self._position :]
        self._base += len(self._buffer)
        self._buffer, self._position = b"", 0
        while chunk := self._stream.read(CHUNK):
            yield chunk
