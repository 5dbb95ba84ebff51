"""What ffmpeg cannot do, done on its output in place: dates, leftover metadata boxes; and the check of it.

Fixes keep every box's size, so no chunk offset moves: a metadata box becomes a zero-filled ``free`` box and
a date is overwritten where it stands.
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

from watcher.errors import VerifyFailed
from watcher.formats.bmff import AUDIO_ENTRIES, VISUAL_ENTRIES, Box, Budget, read_exact, top_level, walk

DATED = frozenset({b"mvhd", b"tkhd", b"mdhd"})
SECONDS_PER_DAY = 86_400
ZERO_CHUNK = bytes(64 * 1024)

TOP_LEVEL = frozenset({b"ftyp", b"wide", b"free", b"skip", b"mdat", b"moov"})
STRUCTURE = frozenset(
    {
        b"mvhd", b"trak", b"tkhd", b"tapt", b"clef", b"prof", b"enof", b"edts", b"elst", b"mdia", b"mdhd",
        b"hdlr", b"minf", b"vmhd", b"smhd", b"dinf", b"dref", b"url ", b"alis", b"stbl", b"stsd", b"stts",
        b"ctts", b"cslg", b"stss", b"stps", b"stsc", b"stsz", b"stz2", b"stco", b"co64", b"sdtp", b"sbgp",
        b"sgpd", b"subs", b"saiz", b"saio", b"padb", b"stdp", b"mvex", b"mehd", b"trex", b"free", b"skip",
        b"wide",
    }
)  # fmt: skip
# Decoder configuration and display boxes a sample entry may carry.
CODEC_CONFIG = frozenset(
    {
        b"avcC", b"hvcC", b"av1C", b"vpcC", b"dvcC", b"dvvC", b"dvwC", b"esds", b"dOps", b"dfLa", b"alac",
        b"dac3", b"dec3", b"dac4", b"d263", b"chan", b"colr", b"pasp", b"clap", b"fiel", b"gama",
        b"btrt", b"mdcv", b"clli", b"amve", b"wave", b"frma", b"mp4a", b"enda", b"st3d", b"sv3d", b"SA3D",
        b"lhvC", b"hvcE", b"glbl", b"pcmC", b"chnl", b"dmlp", b"ddts", b"udts", b"dmix", b"sinf", b"free",
        b"ACLR", b"APRG", b"ARES", b"AORD", b"bbrv", b"m4ds", b"strf", b"sgbt", b"SmDm", b"CoLL", b"ccst",
        b"vexu", b"hfov", b"mhaC", b"av3c", b"avcE", b"uncC", b"cmpd", b"lvcC", b"aacp",
    }
)  # fmt: skip
# Free-text or vendor fields inside codec boxes that name the writing software or device, as
# (payload offset, length); blanking them does not change how the media decodes.
# AMR's damr box is blanked whole instead: players read the mode from each frame, and its one other
# field of note is the writer's vendor code.
NAME_FIELDS: dict[bytes, tuple[int, int]] = {b"d263": (0, 4)}
COMPRESSOR_NAME = (42, 32)  # in every visual sample entry
# Where a kept location may sit, and what it may hold: latitude, longitude, optional altitude.
LOCATION_BOXES = frozenset({((b"moov",), b"udta"), ((b"moov", b"udta"), b"\xa9xyz")})
ISO6709 = re.compile(r"[+-]\d{1,2}(?:\.\d{1,10})?[+-]\d{1,3}(?:\.\d{1,10})?(?:[+-]\d{1,6}(?:\.\d{1,6})?)?/")
UNDETERMINED_LANGUAGE = 0x55C4  # "und", packed ISO 639-2/T
ALLOWED_HANDLERS = frozenset({b"vide", b"soun"})
# QuickTime's second hdlr (inside minf) names the data reference kind, not a track kind.
DATA_HANDLERS = frozenset({b"alis", b"url ", b"dhlr"})


def dates_placed(head: bytes, kind: bytes) -> bool:
    """Whether a dated box's version and flags (its first four payload bytes) say plainly where its dates
    lie. Readers disagree on anything else: ExifTool reads the dates of an mvhd or mdhd whose version or
    flags are not zero as 64-bit, for one. A tkhd's flags are its own (enabled, in movie...)."""
    return head[0] in (0, 1) and (kind == b"tkhd" or head[1:4] == b"\0\0\0")


def day_of(seconds: int) -> int:
    """The start of the UTC day holding ``seconds`` (QuickTime epoch: 1904-01-01)."""
    return seconds - seconds % SECONDS_PER_DAY


def movie_creation_time(source: BinaryIO) -> int:
    """The mvhd creation time (seconds since 1904), 0 when absent."""
    for _path, box in walk(source):
        if box.type == b"mvhd":
            return _read_dates(source, box)[0]
    return 0


def fix_up(output: BinaryIO, date: int, *, removed: list[str]) -> None:
    """Set every mandatory date to ``date`` and blank every box outside the keep-list (names -> removed)."""
    blanks: list[Box] = []
    dated: list[Box] = []
    named: list[Box] = []
    blanked_until = 0
    for path, box in walk(output):
        if box.offset < blanked_until:
            continue  # inside a box already blanked as a whole
        if box.type in DATED:
            dated.append(box)
        elif _name_field(box) is not None:
            named.append(box)
        if not _allowed(path, box):
            blanks.append(box)
            removed.append(box.name)
            blanked_until = box.end
    for box in dated:
        _write_dates(output, box, date)
    for box in named:
        offset, length = _name_field(box) or (0, 0)
        output.seek(box.start + offset)
        output.write(bytes(length))
    for box in blanks:
        _blank(output, box)


def location_box(value: str) -> bytes | None:
    """A ``udta`` box holding one ``©xyz`` item with ``value``, when it is a bare ISO 6709 position."""
    if not ISO6709.fullmatch(value):
        return None
    text = value.encode("ascii")
    item = struct.pack(">I4sHH", 12 + len(text), b"\xa9xyz", len(text), UNDETERMINED_LANGUAGE) + text
    return struct.pack(">I4s", 8 + len(item), b"udta") + item


def append_location(output: BinaryIO, value: str) -> bool:
    """Append a ``udta/©xyz`` position to the moov, when the moov is the last box (no offset moves)."""
    addition = location_box(value)
    boxes = top_level(output)
    moov = boxes[-1]
    if addition is None or moov.type != b"moov" or moov.header != 8 or moov.size + len(addition) >> 32:
        return False
    output.seek(moov.end)
    output.write(addition)
    output.seek(moov.offset)
    output.write(struct.pack(">I", moov.size + len(addition)))
    return True


def check(output: BinaryIO, date: int, *, location: bool = False) -> None:
    """Raise VerifyFailed unless ``output`` holds only allowed boxes, one video track and ``date`` dates.

    ``location`` allows the one ``udta/©xyz`` position ``append_location`` writes, and nothing else there.
    """
    boxes = top_level(output)
    if [box.type for box in boxes].count(b"moov") != 1:
        raise VerifyFailed("the output does not hold exactly one movie header (moov)")
    budget = Budget()
    handlers: list[bytes] = []
    for path, box in walk(output, budget=budget):
        if location and (path, box.type) in LOCATION_BOXES:
            _check_location(output, box)
        elif not _allowed(path, box):
            raise VerifyFailed(f"the output still holds a {box.name!r} box inside {_show_path(path)}")
        if box.type in (b"free", b"skip") and _has_content(output, box):
            raise VerifyFailed("a blanked box in the output still holds data")
        if box.type in DATED and not dates_placed(read_exact(output, box.start, 4), box.type):
            raise VerifyFailed(f"the {box.name} box of the output has an unknown version or flags")
        if box.type in DATED and _read_dates(output, box) != (date, date):
            raise VerifyFailed(f"the {box.name} box of the output carries a date outside the rule")
        field = _name_field(box)
        if field is not None and read_exact(output, box.start + field[0], field[1]).count(0) != field[1]:
            raise VerifyFailed(f"the {box.name} box of the output still names its writer")
        if box.type == b"hdlr" and path[-1:] == (b"mdia",):
            handlers.append(read_exact(output, box.start + 8, 4))
    if handlers.count(b"vide") != 1 or any(kind not in ALLOWED_HANDLERS for kind in handlers):
        shown = ", ".join(kind.decode("latin-1") for kind in handlers)
        raise VerifyFailed(f"the output's tracks are not one video plus audio (found: {shown})")


def _check_location(output: BinaryIO, box: Box) -> None:
    if box.type != b"\xa9xyz":
        return
    payload = read_exact(output, box.start, box.size - box.header)
    length = struct.unpack(">H", payload[:2])[0] if len(payload) >= 4 else -1
    if length != len(payload) - 4 or not ISO6709.fullmatch(payload[4:].decode("ascii", "replace")):
        raise VerifyFailed("the output's kept location holds more than an ISO 6709 position")


def _name_field(box: Box) -> tuple[int, int] | None:
    field = COMPRESSOR_NAME if box.type in VISUAL_ENTRIES else NAME_FIELDS.get(box.type)
    if field is None or box.start + field[0] + field[1] > box.end:
        return None
    return field


def _allowed(path: tuple[bytes, ...], box: Box) -> bool:
    if not path:
        return box.type in TOP_LEVEL
    if path[0] != b"moov":
        return False
    parent = path[-1]
    if parent == b"stsd":
        return box.type in VISUAL_ENTRIES or box.type in AUDIO_ENTRIES
    if parent in VISUAL_ENTRIES or parent in AUDIO_ENTRIES or parent in CODEC_CONFIG:
        return box.type in CODEC_CONFIG or box.type == b"\0\0\0\0"
    return box.type in STRUCTURE


def _read_dates(source: BinaryIO, box: Box) -> tuple[int, int]:
    version = read_exact(source, box.start, 1)[0]
    if version == 1:
        created, modified = struct.unpack(">QQ", read_exact(source, box.start + 4, 16))
    else:
        created, modified = struct.unpack(">II", read_exact(source, box.start + 4, 8))
    return int(created), int(modified)


def _write_dates(output: BinaryIO, box: Box, date: int) -> None:
    version = read_exact(output, box.start, 1)[0]
    output.seek(box.start + 4)
    if version == 1:
        output.write(struct.pack(">QQ", date, date))
    else:
        output.write(struct.pack(">II", date & 0xFFFFFFFF, date & 0xFFFFFFFF))


def _blank(output: BinaryIO, box: Box) -> None:
    # The size field stays (32- or 64-bit); everything after it, a uuid's user type included, is zeroed.
    size_field = 16 if box.header - (16 if box.type == b"uuid" else 0) == 16 else 8
    output.seek(box.offset + 4)
    output.write(b"free")
    output.seek(box.offset + size_field)
    remaining = box.end - output.tell()
    while remaining > 0:
        written = output.write(ZERO_CHUNK[: min(len(ZERO_CHUNK), remaining)])
        remaining -= written


def _has_content(source: BinaryIO, box: Box) -> bool:
    for position in range(box.start, box.end, len(ZERO_CHUNK)):
        data = read_exact(source, position, min(len(ZERO_CHUNK), box.end - position))
        if data.count(0) != len(data):
            return True
    return False


def _show_path(path: tuple[bytes, ...]) -> str:
    return "/".join(kind.decode("latin-1") for kind in path) or "the top level"
