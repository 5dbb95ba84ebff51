"""Motion photos: find the short video a phone stores inside a still, and copy it out.

Google (MicroVideo / MotionPhoto) appends an MP4 to the JPEG and records its length in the XMP
(``GCamera:MicroVideoOffset`` or the ``Container:Directory`` item list); Samsung stores it in an ``mpvd``
box of a HEIC, or as the ``MotionPhoto_Data`` entry of the SEFT trailer of a JPEG. Every candidate is
accepted only when our box reader finds a whole movie (ftyp ... moov) there.
"""

from __future__ import annotations

import re
import struct
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from watcher.errors import CorruptMedia
from watcher.formats.base import Sanitized
from watcher.formats.bmff import Box, iter_boxes, read_exact
from watcher.rules.profile import Profile

CHUNK = 1024 * 1024
XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\0"
XMP_LIMIT = 1024 * 1024
SEFT_DIRECTORY_LIMIT = 64 * 1024
MAX_SEGMENTS = 1000
MOTION_ENTRY = b"MotionPhoto_Data"
MICRO_VIDEO_OFFSET = re.compile(rb"MicroVideoOffset\s*(?:=\s*\"|>)\s*(\d+)")
CONTAINER_ITEM = re.compile(rb"<Container:Item\b(.*?)(?:/>|</Container:Item>)", re.S)
ITEM_ATTRIBUTE = re.compile(rb"Item:(Semantic|Length|Padding)\s*=\s*\"([^\"]*)\"")

NOT_FOUND = -1

Span = tuple[int, int]


def find_motion_video(source: BinaryIO) -> Span | None:
    """``(offset, length)`` of the movie embedded in a motion photo, or None when there is none.

    A malformed trailer or directory is not an error here: it just holds no video to publish.
    """
    size = source.seek(0, 2)
    if size < 16:
        return None
    head = read_exact(source, 0, 12)
    finders: list[Callable[[], list[int]]] = [
        lambda: [_mpvd_payload(source, size)] if head[4:8] == b"ftyp" else [],
        lambda: (
            [size - length for length in _xmp_lengths(source) if 0 < length < size]
            if head.startswith(b"\xff\xd8")
            else []
        ),
        lambda: [_seft_video(source, size)],
        lambda: [_scan_for_movie(source, size)],
    ]
    for finder in finders:
        try:
            for offset in finder():
                if offset >= 0 and (length := movie_length(source, offset, size)) is not None:
                    return offset, length
        except CorruptMedia:
            continue
    return None


def copy_motion_video(source: BinaryIO, span: Span, output: BinaryIO) -> None:
    """Copy the ``span`` found by ``find_motion_video`` into ``output``, in bounded chunks."""
    offset, length = span
    source.seek(offset)
    remaining = length
    while remaining > 0:
        data = source.read(min(CHUNK, remaining))
        if not data:
            raise CorruptMedia("the motion photo ends inside its video")
        output.write(data)
        remaining -= len(data)


def sanitize_motion_video(source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized | None:
    """Write the sanitized, verified embedded video of a motion photo to ``output``; None when it has none."""
    from watcher.formats.video import HANDLER  # the video handler needs ffmpeg; import on demand

    span = find_motion_video(source)
    if span is None:
        return None
    with tempfile.TemporaryFile() as video:
        copy_motion_video(source, span, video)
        video.flush()
        result = HANDLER.sanitize(video, output, profile)
        HANDLER.verify(output, video, profile, result)
    return result


def movie_length(source: BinaryIO, offset: int, end: int) -> int | None:
    """Length of the whole movie (ftyp first, a moov inside) starting at ``offset``, or None."""
    if end - offset < 16 or read_exact(source, offset + 4, 4) != b"ftyp":
        return None
    boxes: list[Box] = []
    try:
        for found in iter_boxes(source, offset, end):
            if found.type not in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta"):
                break
            boxes.append(found)
    except CorruptMedia:
        pass  # trailing bytes after the movie (another trailer) end the movie, they do not spoil it
    if not any(found.type == b"moov" for found in boxes):
        return None
    return boxes[-1].end - offset


def _mpvd_payload(source: BinaryIO, size: int) -> int:
    for found in iter_boxes(source, 0, size):
        if found.type == b"mpvd":
            return found.start
    return NOT_FOUND


def _xmp_lengths(source: BinaryIO) -> list[int]:
    """Lengths counted from the end of the file that the JPEG's XMP gives for its video."""
    lengths: list[int] = []
    for packet in _xmp_packets(source):
        lengths += [int(found) for found in MICRO_VIDEO_OFFSET.findall(packet)]
        total, motion = 0, None
        for item in reversed(CONTAINER_ITEM.findall(packet)):
            attributes = dict(ITEM_ATTRIBUTE.findall(item))
            if not attributes.get(b"Length", b"").isdigit():
                continue
            total += int(attributes[b"Length"]) + int(attributes.get(b"Padding", b"0") or b"0")
            if attributes.get(b"Semantic") == b"MotionPhoto":
                motion = total
        if motion is not None:
            lengths.append(motion)
    return lengths


def _xmp_packets(source: BinaryIO) -> list[bytes]:
    packets: list[bytes] = []
    position = 2
    for _segment in range(MAX_SEGMENTS):
        source.seek(position)
        marker = source.read(4)
        if len(marker) < 4 or marker[0] != 0xFF or marker[1] in (0xDA, 0xD9):
            break
        if marker[1] == 0xFF:  # fill byte before a marker
            position += 1
            continue
        length = struct.unpack(">H", marker[2:4])[0]
        if marker[1] == 0xE1 and length - 2 <= XMP_LIMIT:
            payload = source.read(length - 2)
            if payload.startswith(XMP_SIGNATURE):
                packets.append(payload[len(XMP_SIGNATURE) :])
        position += 2 + length
    return packets


def _seft_video(source: BinaryIO, size: int) -> int:
    """Start of the movie in a Samsung SEFT trailer's ``MotionPhoto_Data`` entry."""
    if read_exact(source, size - 4, 4) != b"SEFT":
        return NOT_FOUND
    directory_size = int.from_bytes(read_exact(source, size - 8, 4), "little")
    directory = size - 8 - directory_size
    if not 12 <= directory_size <= SEFT_DIRECTORY_LIMIT or directory < 0:
        return NOT_FOUND
    table = read_exact(source, directory, directory_size)
    if table[:4] != b"SEFH":
        return NOT_FOUND
    count = struct.unpack("<I", table[8:12])[0]
    for index in range(min(count, (directory_size - 12) // 12)):
        _kind, back, length = struct.unpack("<III", table[12 + 12 * index : 24 + 12 * index])
        start = directory - int(back)
        if start < 0 or length < 8:
            continue
        name_length = int.from_bytes(read_exact(source, start + 4, 4), "little")
        if name_length == len(MOTION_ENTRY) and read_exact(source, start + 8, name_length) == MOTION_ENTRY:
            return start + 8 + name_length
    return NOT_FOUND


def _scan_for_movie(source: BinaryIO, size: int) -> int:
    """The first ``ftyp`` box after the start of the file that opens a whole movie."""
    position = 8
    while position < size:
        source.seek(position)
        chunk = source.read(CHUNK + 12)
        found = chunk.find(b"ftyp")
        while found != -1:
            offset = position + found - 4
            if offset > 0 and movie_length(source, offset, size) is not None:
                return offset
            found = chunk.find(b"ftyp", found + 1)
        position += CHUNK
    return NOT_FOUND
