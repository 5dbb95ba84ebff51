"""The native remux: a fast-start copy of a movie holding only its first video track and its audio tracks.

The new file is ``ftyp``, a new ``moov`` built from a keep-list, optionally a zeroed ``free`` room for a kept
location, and one ``mdat`` holding the kept tracks' chunks, copied byte for byte in the source's order. The
copy hashes each track's sample bytes as it goes; ``samples_match`` re-reads the output's own tables and
hashes its samples again, which proves the packets identical without ffmpeg.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import BinaryIO

import xxhash

from watcher.errors import CorruptMedia
from watcher.formats.bmff import top_level
from watcher.formats.mp4_tables import Movie, NotNative, Track, read_movie
from watcher.formats.video_fixup import location_box

COPY_CHUNK = 1024 * 1024
# The largest offset a 32-bit chunk offset or box size holds; beyond it, co64 and a 64-bit mdat size.
LARGEST_OFFSET = 0xFFFFFFFF
LARGEST_BOX = 0xFFFFFFFF
DIGEST_PREFIX = "bmff-samples:"
# A zeroed free box after the moov, large enough for the udta/©xyz a kept position needs.
LOCATION_ROOM = 8 + 64
# Chunks copied per file: each is held as a small object while the copy is planned (about 100 MB at most).
MAX_CHUNKS = 1_000_000
HANDLER_NAME = b"\0"  # an empty name, read the same as a C string (MP4) and a Pascal string (QuickTime)


@dataclass(frozen=True, slots=True)
class Span:
    """One chunk to copy: where it is in the source, how long, and whose it is."""

    offset: int
    size: int
    track: int
    chunk: int


def remux(source: BinaryIO, output: BinaryIO, *, room: int = 0) -> str:
    """Write the native remux of ``source`` to ``output``; return the proof ``samples_match`` checks.

    NotNative when the movie needs the ffmpeg path; ``output`` is then left for that path to overwrite.
    """
    movie = _read(source)
    spans = layout(movie)
    positions = [array("Q", bytes(8 * len(track.offsets))) for track in movie.tracks]
    total = 0
    for span in spans:
        positions[span.track][span.chunk] = total
        total += span.size
    media_header = 16 if total + 8 > LARGEST_OFFSET else 8
    start = len(movie.brand) + len(_movie_box(movie, positions, 0, wide=False)) + room + media_header
    wide = start + total > LARGEST_OFFSET
    if wide:
        start = len(movie.brand) + len(_movie_box(movie, positions, 0, wide=True)) + room + media_header
    output.seek(0)
    output.truncate()
    output.write(movie.brand)
    output.write(_movie_box(movie, positions, start, wide=wide))
    if room:
        output.write(struct.pack(">I4s", room, b"free") + bytes(room - 8))
    if media_header == 16:
        output.write(struct.pack(">I4sQ", 1, b"mdat", total + 16))
    else:
        output.write(struct.pack(">I4s", total + 8, b"mdat"))
    hashers = [xxhash.xxh3_128() for _ in movie.tracks]
    for span in spans:
        for piece in _pieces(source, span):
            hashers[span.track].update(piece)
            output.write(piece)
    output.flush()
    return _proof(movie, hashers)


def samples_match(output: BinaryIO, proof: str) -> bool:
    """True when ``output``'s mdat is exactly its kept tracks' chunks and their samples hash as ``proof``."""
    try:
        movie = _read(output)
        spans = layout(movie)
    except NotNative:
        return False
    if len(movie.media) != 1 or sum(span.size for span in spans) != movie.media[0][1] - movie.media[0][0]:
        return False
    position = movie.media[0][0]
    hashers = [xxhash.xxh3_128() for _ in movie.tracks]
    for span in spans:
        if span.offset != position:
            return False
        position += span.size
        for piece in _pieces(output, span):
            hashers[span.track].update(piece)
    return _proof(movie, hashers) == proof


def layout(movie: Movie) -> list[Span]:
    """Every kept chunk in file order; NotNative unless each lies in an mdat, none overlap, and each
    track's chunks follow one another in decode order (so one pass hashes them in that order)."""
    if sum(len(track.offsets) for track in movie.tracks) > MAX_CHUNKS:
        raise NotNative("the movie holds more chunks than the native remux plans at once")
    spans: list[Span] = []
    for index, track in enumerate(movie.tracks):
        previous = -1
        for chunk, (offset, size) in enumerate(zip(track.offsets, track.sizes, strict=True)):
            if offset < previous:
                raise NotNative("a track's chunks are not stored in decode order")
            previous = offset
            spans.append(Span(offset, size, index, chunk))
    spans.sort(key=lambda span: span.offset)
    starts = [start for start, _end in movie.media]
    end = 0
    for span in spans:
        if span.offset < end:
            raise NotNative("two chunks share bytes")
        holder = bisect_right(starts, span.offset) - 1
        if holder < 0 or span.offset + span.size > movie.media[holder][1]:
            raise NotNative("a chunk lies outside the media data")
        end = span.offset + span.size
    return spans


def place_location(output: BinaryIO, value: str) -> bool:
    """Write a ``udta/©xyz`` position at the end of the moov, into the free room that follows it."""
    addition = location_box(value)
    boxes = top_level(output)
    for movie, room in pairwise(boxes):
        if movie.type != b"moov" or room.type != b"free":
            continue
        if addition is None or movie.header != 8 or room.header != 8 or room.size < len(addition) + 8:
            return False
        output.seek(movie.end)
        output.write(addition + struct.pack(">I4s", room.size - len(addition), b"free"))
        output.seek(movie.offset)
        output.write(struct.pack(">I", movie.size + len(addition)))
        return True
    return False


def _read(source: BinaryIO) -> Movie:
    try:
        return read_movie(source)
    except CorruptMedia as error:
        raise NotNative(f"the native remux could not read the index: {error}") from None


def _pieces(source: BinaryIO, span: Span) -> Iterable[bytes]:
    source.seek(span.offset)
    remaining = span.size
    while remaining:
        piece = source.read(min(COPY_CHUNK, remaining))
        if not piece:
            raise CorruptMedia("the video ends inside its media data (truncated)")
        remaining -= len(piece)
        yield piece


def _proof(movie: Movie, hashers: list[xxhash.xxh3_128]) -> str:
    return DIGEST_PREFIX + ";".join(
        f"{track.handler.decode('latin-1')}:{track.samples}:{track.timing}:{hasher.hexdigest()}"
        for track, hasher in zip(movie.tracks, hashers, strict=True)
    )


def _movie_box(movie: Movie, positions: list[array[int]], start: int, *, wide: bool) -> bytes:
    tracks = b"".join(
        _track_box(track, _offsets_box(chunk_positions, start, wide=wide))
        for track, chunk_positions in zip(movie.tracks, positions, strict=True)
    )
    return _box(b"moov", movie.header + tracks)


def _offsets_box(positions: array[int], start: int, *, wide: bool) -> bytes:
    """``stco`` (or ``co64`` when ``wide``) for chunks at ``positions`` in an mdat payload at ``start``."""
    offsets = array("Q" if wide else "I", (start + position for position in positions))
    if sys.byteorder == "little":
        offsets.byteswap()
    return _full_box(b"co64" if wide else b"stco", struct.pack(">I", len(positions)) + offsets.tobytes())


def _track_box(track: Track, chunk_offsets: bytes) -> bytes:
    parts = track.parts
    table = _box(b"stbl", b"".join(box or chunk_offsets for box in track.tables))
    references = b"".join(
        _full_box(kind if kind == b"alis" else b"url ", b"", flags=1) for kind in track.references
    )
    information = (
        parts[b"vmhd" if track.handler == b"vide" else b"smhd"]
        + (_handler_box(parts[b"dhlr"]) if b"dhlr" in parts else b"")
        + _box(b"dinf", _full_box(b"dref", struct.pack(">I", len(track.references)) + references))
        + table
    )
    media = parts[b"mdhd"] + _handler_box(parts[b"hdlr"]) + _box(b"minf", information)
    edits = _box(b"edts", parts[b"elst"]) if b"elst" in parts else b""
    return _box(b"trak", parts[b"tkhd"] + parts.get(b"tapt", b"") + edits + _box(b"mdia", media))


def _handler_box(source: bytes) -> bytes:
    """A handler box with the source's component and handler types, its vendor fields and name emptied."""
    if len(source) < 20 or source[:8] != struct.pack(">I4s", len(source), b"hdlr"):
        raise NotNative("a handler box is cut short")
    return _full_box(b"hdlr", source[12:20] + bytes(12) + HANDLER_NAME)


def _box(kind: bytes, payload: bytes) -> bytes:
    if len(payload) + 8 > LARGEST_BOX:
        raise NotNative("the new movie index would be larger than 4 GB")
    return struct.pack(">I4s", len(payload) + 8, kind) + payload


def _full_box(kind: bytes, payload: bytes, *, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", flags) + payload)
