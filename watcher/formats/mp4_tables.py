"""The sample tables of a non-fragmented MP4/MOV: which bytes of the file belong to which kept track.

Read for the native remux (``mp4_remux``) on the source, and again on its output to prove the copy. Every
count is checked against the others and capped before a table is expanded; whatever this reader does not
fully understand raises NotNative, so the caller takes the ffmpeg path instead.
"""

from __future__ import annotations

import io
import struct
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

import xxhash

from watcher.errors import UnsupportedFormat
from watcher.formats.bmff import (
    AUDIO_ENTRIES,
    VISUAL_ENTRIES,
    Box,
    find_child,
    iter_boxes,
    read_exact,
    top_level,
)
from watcher.formats.video_fixup import dates_placed

MAX_MOVIE = 64 * 1024 * 1024
MAX_BRAND = 4096
MAX_ENTRIES = 3_000_000  # per table: about 28 hours of 30 fps video, with bounded memory
MAX_DESCRIPTIONS = 16
MAX_REFERENCES = 16
# Sample-table boxes copied verbatim; the chunk offsets are rewritten, anything else in stbl is dropped.
COPIED_TABLES = frozenset(
    {
        b"stsd", b"stts", b"ctts", b"cslg", b"stss", b"stps", b"stsc", b"stsz", b"stz2", b"sdtp", b"sbgp",
        b"sgpd", b"subs", b"padb", b"stdp",
    }
)  # fmt: skip
CHUNK_OFFSETS = frozenset({b"stco", b"co64"})
# The tables that decide which bytes form which sample, and when it plays: their digest is part of the proof.
TIMING_TABLES = frozenset({b"stts", b"ctts", b"stss", b"stsc", b"stsz", b"stz2"})
# Tables holding absolute file offsets of their own, which a move of the media would break.
OFFSET_TABLES = frozenset({b"saio", b"saiz"})
KEPT_HANDLERS = frozenset({b"vide", b"soun"})
# Audio whose every sample is one self-delimiting packet, whatever the sample description version.
PACKET_AUDIO = frozenset({b"mp4a", b"samr", b"sawb", b"ac-3", b"ec-3", b"Opus", b"fLaC", b"alac"})
PCM_AUDIO = frozenset(
    {b"twos", b"sowt", b"raw ", b"lpcm", b"in24", b"in32", b"fl32", b"fl64", b"ulaw", b"alaw", b"NONE"}
)
SELF_CONTAINED = 1
REFERENCE_TYPES = frozenset({b"url ", b"alis", b"urn "})


class NotNative(UnsupportedFormat):
    """The video needs the ffmpeg remux: the native path does not handle what it holds (the reason)."""


@dataclass(frozen=True)
class Track:
    """One kept track: the boxes the new index copies, and its chunks in decode order."""

    handler: bytes
    parts: Mapping[bytes, bytes]  # whole boxes: tkhd, tapt, elst, mdhd, vmhd/smhd; hdlr fields
    tables: tuple[bytes, ...]  # whole stbl children in source order; b"" where the chunk offsets go
    references: tuple[bytes, ...]  # data reference entry types, every one self-contained
    offsets: array[int]  # file offset of each chunk
    sizes: array[int]  # byte length of each chunk
    samples: int
    timing: str  # digest of the timing tables


@dataclass(frozen=True)
class Movie:
    brand: bytes  # the whole ftyp box, or b"" when the file has none
    header: bytes  # the whole mvhd box
    tracks: tuple[Track, ...]  # the first video track, then every audio track, in file order
    media: tuple[tuple[int, int], ...]  # [start, end) of each mdat payload


def read_movie(source: BinaryIO) -> Movie:
    """The kept tracks of a non-fragmented movie; NotNative for anything the native remux does not handle."""
    boxes = top_level(source)
    kinds = [box.type for box in boxes]
    if b"moof" in kinds or b"mfra" in kinds or kinds.count(b"moov") != 1:
        raise NotNative("the movie is fragmented or has no single index")
    moov = boxes[kinds.index(b"moov")]
    if moov.size > MAX_MOVIE:
        raise NotNative("the movie index is larger than the native remux reads")
    brands = [box for box in boxes if box.type == b"ftyp"]
    if brands and brands[0].size > MAX_BRAND:
        raise NotNative("the file type box is oversized")
    brand = read_exact(source, brands[0].offset, brands[0].size) if brands else b""
    view = io.BytesIO(read_exact(source, moov.offset, moov.size))
    children = list(iter_boxes(view, moov.start - moov.offset, moov.size, nested=True))
    headers = [box for box in children if box.type == b"mvhd"]
    if len(headers) != 1 or any(box.type == b"mvex" for box in children):
        raise NotNative("the movie is fragmented or has no single movie header")
    media = tuple((box.start, box.end) for box in boxes if box.type == b"mdat")
    tracks = _kept_tracks(view, [box for box in children if box.type == b"trak"])
    return Movie(brand, _dated(view, headers[0]), tracks, media)


def _kept_tracks(view: BinaryIO, traks: list[Box]) -> tuple[Track, ...]:
    """ffmpeg's ``-map 0:V:0 -map 0:a?``: the first video track and every audio track, video first."""
    handlers = [_handler_type(view, trak) for trak in traks]
    videos = [trak for trak, handler in zip(traks, handlers, strict=True) if handler == b"vide"]
    if not videos:
        raise NotNative("the movie has no video track")
    video = read_track(view, videos[0], b"vide")
    if video.samples < 2 and len(videos) > 1:
        raise NotNative("the first video track may be a still image ffmpeg would pass over")
    sounds = [
        read_track(view, trak, b"soun") for trak, kind in zip(traks, handlers, strict=True) if kind == b"soun"
    ]
    return (video, *sounds)


def read_track(view: BinaryIO, trak: Box, handler: bytes) -> Track:
    media = _child(view, trak, b"mdia")
    information = _child(view, media, b"minf")
    table = _child(view, information, b"stbl")
    header = b"vmhd" if handler == b"vide" else b"smhd"
    parts = {kind: _whole(view, _child(view, box, kind)) for box, kind in
             ((media, b"hdlr"), (information, header))}  # fmt: skip
    parts |= {
        kind: _dated(view, _child(view, box, kind)) for box, kind in ((trak, b"tkhd"), (media, b"mdhd"))
    }
    edits = find_child(view, trak, b"edts")
    elst = find_child(view, edits, b"elst") if edits is not None else None
    aperture = find_child(view, trak, b"tapt")
    parts |= {box.type: _whole(view, box) for box in (elst, aperture) if box is not None}
    data_handler = find_child(view, information, b"hdlr")
    if data_handler is not None:
        parts[b"dhlr"] = _whole(view, data_handler)
    references = _references(view, _child(view, _child(view, information, b"dinf"), b"dref"))
    stbl = {box.type: box for box in iter_boxes(view, table.start, table.end, nested=True)}
    if OFFSET_TABLES & stbl.keys():
        raise NotNative("a track holds sample auxiliary information at absolute offsets")
    if len(CHUNK_OFFSETS & stbl.keys()) != 1 or (b"stsz" in stbl) == (b"stz2" in stbl):
        raise NotNative("a track has no single chunk offset or sample size table")
    if b"stsc" not in stbl:
        raise NotNative("a track has no sample-to-chunk table")
    entries = _descriptions(view, stbl.get(b"stsd"), handler, len(references))
    constant, sizes, samples = _sample_sizes(view, stbl)
    _check_constant_audio(handler, entries, constant)
    _check_timing(view, stbl, samples)
    offsets = _chunk_offsets(view, stbl)
    chunk_sizes = _chunk_sizes(
        _table(view, stbl[b"stsc"], 12), len(offsets), constant, sizes, samples, len(entries)
    )
    kept = [box for box in iter_boxes(view, table.start, table.end, nested=True)
            if box.type in COPIED_TABLES or box.type in CHUNK_OFFSETS]  # fmt: skip
    timing = xxhash.xxh3_128()
    for box in kept:
        if box.type in TIMING_TABLES:
            timing.update(_whole(view, box))
    return Track(
        handler, parts, tuple(b"" if box.type in CHUNK_OFFSETS else _whole(view, box) for box in kept),
        references, offsets, chunk_sizes, samples, timing.hexdigest(),
    )  # fmt: skip


def _handler_type(view: BinaryIO, trak: Box) -> bytes:
    media = find_child(view, trak, b"mdia")
    handler = find_child(view, media, b"hdlr") if media is not None else None
    if handler is None or handler.end - handler.start < 12:
        return b"????"
    return read_exact(view, handler.start + 8, 4)


def _references(view: BinaryIO, dref: Box) -> tuple[bytes, ...]:
    entries = list(iter_boxes(view, dref.start + 8, dref.end, nested=True))
    if not 0 < len(entries) <= MAX_REFERENCES:
        raise NotNative("a track has no or too many data references")
    for entry in entries:
        if entry.type not in REFERENCE_TYPES or entry.end - entry.start < 4:
            raise NotNative("a track's data reference is of an unknown kind")
        if not int.from_bytes(read_exact(view, entry.start + 1, 3), "big") & SELF_CONTAINED:
            raise NotNative("a track's media lives in another file")
    return tuple(entry.type for entry in entries)


def _descriptions(
    view: BinaryIO, stsd: Box | None, handler: bytes, references: int
) -> list[tuple[bytes, bytes]]:
    """Type and payload head of every sample entry, each of the track's kind and pointing at a reference."""
    if stsd is None or stsd.end - stsd.start < 8:
        raise NotNative("a track has no sample descriptions")
    declared = struct.unpack(">I", read_exact(view, stsd.start + 4, 4))[0]
    allowed = VISUAL_ENTRIES if handler == b"vide" else AUDIO_ENTRIES
    entries: list[tuple[bytes, bytes]] = []
    for entry in iter_boxes(view, stsd.start + 8, stsd.end, nested=True):
        if entry.type not in allowed or entry.end - entry.start < 8 or len(entries) >= MAX_DESCRIPTIONS:
            raise NotNative("a track has a sample description the native remux does not copy")
        head = read_exact(view, entry.start, min(64, entry.end - entry.start))
        if not 1 <= struct.unpack(">H", head[6:8])[0] <= references:
            raise NotNative("a sample description points at a missing data reference")
        entries.append((entry.type, head))
    if not entries or len(entries) != declared:
        raise NotNative("a track's sample description count does not match its entries")
    return entries


def _sample_sizes(view: BinaryIO, stbl: Mapping[bytes, Box]) -> tuple[int, array[int] | None, int]:
    """(constant size or 0, per-sample sizes or None, sample count)."""
    if b"stsz" in stbl:
        box = stbl[b"stsz"]
        constant, count = struct.unpack(">II", read_exact(view, box.start + 4, 8))
        if constant:
            return constant, None, count  # nothing is expanded: the count is only checked against sums
        return 0, _numbers(_inside(view, box, 12, _bounded(count) * 4), "I"), count
    box = stbl[b"stz2"]
    width, count = struct.unpack(">xxxBI", read_exact(view, box.start + 4, 8))
    if width not in (4, 8, 16):
        raise NotNative("a compact sample size table has an invalid field size")
    raw = _inside(view, box, 12, (_bounded(count) * width + 7) // 8)
    if width == 4:
        sizes = array("I", (nibble for byte in raw for nibble in (byte >> 4, byte & 15)))[:count]
    else:
        sizes = array("I", _numbers(raw, "B" if width == 8 else "H"))
    return 0, sizes, count


def _check_constant_audio(handler: bytes, entries: list[tuple[bytes, bytes]], constant: int) -> None:
    """QuickTime audio may give one size for many bytes per sample; accept only the unambiguous cases."""
    if handler != b"soun" or not constant:
        return
    for kind, head in entries:
        version, channels, bits = struct.unpack(">H6xHH", head[8:20]) if len(head) >= 20 else (-1, 0, 0)
        if version == 0 and kind in PACKET_AUDIO:
            continue
        if version == 0 and kind in PCM_AUDIO and constant == channels * bits // 8:
            continue
        if version == 2 and len(head) >= 64 and struct.unpack(">II", head[56:64]) == (constant, 1):
            continue
        raise NotNative("an audio track's sample size does not say how many bytes a sample holds")


def _check_timing(view: BinaryIO, stbl: Mapping[bytes, Box], samples: int) -> None:
    if b"stts" not in stbl:
        raise NotNative("a track has no decoding times")
    for kind in (b"stts", b"ctts"):
        if kind in stbl:
            counts = _table(view, stbl[kind], 8)[0::2]  # (sample count, duration or offset) pairs
            if sum(counts) != samples:
                raise NotNative(f"a track's {kind.decode()} table does not cover its samples")
    if b"stss" in stbl:
        sync = _table(view, stbl[b"stss"], 4)
        if sync and (min(sync) < 1 or max(sync) > samples):
            raise NotNative("a track's sync sample table points past its samples")


def _chunk_offsets(view: BinaryIO, stbl: Mapping[bytes, Box]) -> array[int]:
    if b"stco" in stbl:
        return array("Q", _table(view, stbl[b"stco"], 4))
    return _table(view, stbl[b"co64"], 8, "Q")


def _chunk_sizes(
    stsc: array[int], chunks: int, constant: int, sizes: array[int] | None, samples: int, descriptions: int
) -> array[int]:
    """The byte length of every chunk, from the sample-to-chunk runs and the sample sizes."""
    per_chunk = array("Q")
    for index in range(0, len(stsc), 3):
        first, count, description = stsc[index : index + 3]
        following = stsc[index + 3] if index + 3 < len(stsc) else chunks + 1
        if (index == 0 and first != 1) or not first < following <= chunks + 1 or not count:
            raise NotNative("a track's sample-to-chunk table is inconsistent")
        if not 1 <= description <= descriptions:
            raise NotNative("a chunk points at a missing sample description")
        per_chunk.extend([count] * (following - first))
    if len(per_chunk) != chunks or sum(per_chunk) != samples or samples == 0:
        raise NotNative("a track's chunks do not hold exactly its samples")
    if sizes is None:
        return array("Q", (count * constant for count in per_chunk))
    result = array("Q")
    position = 0
    for count in per_chunk:
        result.append(sum(sizes[position : position + count]))
        position += count
    return result


def _table(view: BinaryIO, box: Box, width: int, code: str = "I") -> array[int]:
    """The numbers of a full box laid out as a 32-bit count, then ``count`` records of ``width`` bytes
    made of 32-bit (``code`` "I") or 64-bit ("Q") fields."""
    if box.end - box.start < 8:
        raise NotNative(f"the {box.name} table is cut short")
    count = _bounded(struct.unpack(">I", read_exact(view, box.start + 4, 4))[0])
    return _numbers(_inside(view, box, 8, count * width), code)


def _inside(view: BinaryIO, box: Box, skip: int, length: int) -> bytes:
    """``length`` bytes of ``box``'s payload from ``skip`` on; NotNative when they run past the box."""
    if box.start + skip + length > box.end:
        raise NotNative(f"the {box.name} table declares more entries than it holds")
    return read_exact(view, box.start + skip, length)


def _numbers(raw: bytes, code: str) -> array[int]:
    numbers = array(code)
    numbers.frombytes(raw)
    if sys.byteorder == "little" and numbers.itemsize > 1:
        numbers.byteswap()
    return numbers


def _bounded(count: int) -> int:
    if count > MAX_ENTRIES:
        raise NotNative(f"a sample table holds {count} entries, more than the native remux reads")
    return count


def _child(view: BinaryIO, parent: Box, kind: bytes) -> Box:
    found = find_child(view, parent, kind)
    if found is None:
        raise NotNative(f"a track has no {kind.decode('latin-1')} box")
    return found


def _dated(view: BinaryIO, box: Box) -> bytes:
    """A whole mvhd, tkhd or mdhd box, whose dates the fix-up zeroes: only versions 0 and 1 say where."""
    if box.end - box.start < 4 or not dates_placed(read_exact(view, box.start, 4), box.type):
        raise NotNative(f"the {box.name} box has an unknown version or flags")
    return _whole(view, box)


def _whole(view: BinaryIO, box: Box) -> bytes:
    return read_exact(view, box.offset, box.size)
