"""MP4, MOV, M4V and 3GP videos: remuxed without re-encoding, then fixed up and verified box by box.

The common case (one non-fragmented, self-contained movie whose tables the native reader understands) is
remuxed in Python by ``mp4_remux``, which proves the copy by hashing every kept sample on both sides.
Anything else takes the ffmpeg path: ffmpeg copies the first real video stream and the audio streams,
packet for packet, and leaves everything else behind (data, subtitle, timed-metadata and attachment
streams, container and stream metadata, chapters). What neither remux writes right by itself (mandatory
header dates, stray metadata boxes, compressor names) is done on its output in place by ``video_fixup``;
the same module's check re-reads the result with our own box reader.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, TooLarge, VerifyFailed
from watcher.formats import ffmpeg, mp4_remux, signatures, video_fixup
from watcher.formats.base import Finding, Inventory, Sanitized
from watcher.formats.bmff import MAX_PAYLOAD, file_size, top_level
from watcher.formats.livephoto import metadata_items
from watcher.formats.mp4_tables import NotNative
from watcher.formats.video_findings import CREATE_DATE, findings, frame_size, track_handlers, track_kinds
from watcher.formats.video_packets import packets_match, remember_source_hashes
from watcher.rules.profile import Profile

AMR_ENTRIES = frozenset({b"samr", b"sawb"})
LOCATION_KEYS = frozenset({"©xyz", "com.apple.quicktime.location.ISO6709", "location"})


@dataclass(frozen=True)
class Container:
    """The output container chosen from the source's brand: ffmpeg muxer, format name, extension."""

    muxer: str
    format: str
    extension: str


MOV = Container("mov", "mov", ".mov")
MP4 = Container("mp4", "mp4", ".mp4")


class VideoHandler:
    name: ClassVar[str] = "video"
    extension: ClassVar[str] = ".mp4"
    extensions: ClassVar[tuple[str, ...]] = (".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".qt")

    def sniff(self, head: bytes) -> bool:
        return signatures.is_video(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        _require_index(source)
        width, height = frame_size(source)
        return Inventory(format=self.name, findings=findings(source), width=width, height=height)

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        size = _require_index(source)
        container = container_for(source)
        date = _kept_date(source, profile)
        found = findings(source)
        leftovers: list[str] = []
        keep_location = profile.location == "keep"
        room = mp4_remux.LOCATION_ROOM if keep_location else 0
        proof = _remux_natively(source, output, date, room, leftovers)
        place = mp4_remux.place_location
        if proof is None:
            leftovers.clear()
            _remux_with_ffmpeg(source, output, container, size)
            video_fixup.fix_up(output, date, removed=leftovers)
            place = video_fixup.append_location
        location = keep_location and _keep_location(source, output, place)
        output.flush()
        return _result(container, found, leftovers, profile, date, location=location, proof=proof)

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        try:
            video_fixup.check(output, _kept_date(source, profile), location=profile.location == "keep")
        except CorruptMedia as error:
            raise VerifyFailed(f"the output does not parse as a complete video: {error}") from None
        if result.image_digest is not None:
            if not mp4_remux.samples_match(output, result.image_digest):
                raise VerifyFailed("the output's audio/video samples differ from the source's")
            return
        try:
            matching = packets_match(source, output)
        except CorruptMedia as error:
            raise VerifyFailed(
                f"the output's packets could not be compared with the source's: {error}"
            ) from None
        if not matching:
            raise VerifyFailed("the output's audio/video packets differ from the source's")


def _remux_natively(
    source: BinaryIO, output: BinaryIO, date: int, room: int, leftovers: list[str]
) -> str | None:
    """The native remux, fixed up and checked against the box keep-list; its proof, or None when the file
    needs the ffmpeg path: one the native reader does not handle, or whose copied sample descriptions hold
    a box the keep-list refuses (ffmpeg writes those anew)."""
    try:
        proof = mp4_remux.remux(source, output, room=room)
        video_fixup.fix_up(output, date, removed=leftovers)
        video_fixup.check(output, date)
    except (NotNative, VerifyFailed, CorruptMedia):
        return None
    return proof


def _remux_with_ffmpeg(source: BinaryIO, output: BinaryIO, container: Container, size: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="sharesafe-video-") as directory,
        ffmpeg.readable_path(source, Path(directory)) as (path, source_fds),
        ffmpeg.writable_path(output, Path(directory)) as (target, output_fds),
    ):
        inputs, audio = _audio_inputs(source, path, source_fds, Path(directory), size)
        hashes = ffmpeg.run(
            [*remux_arguments(inputs, audio, container, target), *ffmpeg.HASH_OUTPUT],
            pass_fds=(*source_fds, *output_fds), size=size, purpose="remux the video",
        )  # fmt: skip
    remember_source_hashes(source, ffmpeg.parse_hashes(hashes))
    if b"vide" not in track_handlers(output):
        raise CorruptMedia("the video holds no playable video stream (its media may live in other files)")


def remux_arguments(inputs: list[str], audio: list[str], container: Container, destination: str) -> list[str]:
    """The ffmpeg arguments of a packet-exact remux keeping one video stream and the audio streams.

    ``inputs[0]`` is the source; ``audio`` lists the stream specifiers of the audio to keep, in order.
    """
    arguments: list[str] = []
    for path in inputs:
        arguments += ["-i", path]
    arguments += ["-map", "0:V:0"]
    for specifier in audio:
        arguments += ["-map", specifier]
    return [
        *arguments,
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-c", "copy", "-f", container.muxer, "-y", destination,
    ]  # fmt: skip


def _audio_inputs(
    source: BinaryIO, path: str, descriptors: tuple[int, ...], directory: Path, size: int
) -> tuple[list[str], list[str]]:
    """The ffmpeg inputs and audio stream specifiers of the remux.

    ffmpeg's muxer refuses AMR samples holding several frames, as phones write them; such a track is first
    copied to a raw AMR file (the same frame bytes, one frame per packet) and taken from there.
    """
    entries = [entry for handler, entry in track_kinds(source) if handler == b"soun"]
    if not AMR_ENTRIES & set(entries):
        return [path], ["0:a?"]
    inputs, audio = [path], []
    for index, entry in enumerate(entries):
        if entry not in AMR_ENTRIES:
            audio.append(f"0:a:{index}")
            continue
        raw = directory / f"audio{index}.amr"
        ffmpeg.run(
            ["-i", path, "-map", f"0:a:{index}", "-c", "copy", "-f", "amr", "-y", str(raw)],
            pass_fds=descriptors, size=size, purpose="copy the AMR audio",
        )  # fmt: skip
        audio.append(f"{len(inputs)}:a:0")
        inputs.append(str(raw))
    return inputs, audio


def container_for(source: BinaryIO) -> Container:
    """The output container matching the source's major brand (QuickTime when it has no ftyp)."""
    source.seek(0)
    head = source.read(12)
    if head[4:8] != b"ftyp" or head[8:12] == b"qt  ":
        return MOV
    brand = head[8:12]
    if brand.startswith(b"3g2"):
        return Container("3g2", "3gp", ".3g2")
    if brand.startswith((b"3gp", b"3gg")):
        return Container("3gp", "3gp", ".3gp")
    if brand.startswith(b"M4V"):
        return Container("mp4", "mp4", ".m4v")
    return MP4


def _require_index(source: BinaryIO) -> int:
    """Refuse a file whose top level is broken or has no moov; return its size."""
    size = file_size(source)
    try:
        boxes = top_level(source)
    except CorruptMedia as error:
        raise CorruptMedia(f"the video's box structure is broken: {error}") from None
    movies = [box for box in boxes if box.type == b"moov"]
    if not movies:
        raise CorruptMedia("the video has no index (moov box): the recording is truncated or incomplete")
    if movies[0].size > MAX_PAYLOAD * 4:
        raise TooLarge(f"the video's index (moov) is {movies[0].size} bytes, more than any real video needs")
    return size


def _kept_date(source: BinaryIO, profile: Profile) -> int:
    if profile.time == "remove":
        return 0
    created = video_fixup.movie_creation_time(source)
    return created if profile.time == "keep" else video_fixup.day_of(created)


def _keep_location(source: BinaryIO, output: BinaryIO, place: Callable[[BinaryIO, str], bool]) -> bool:
    """Carry the source's ISO 6709 position (nothing else of its metadata) over; True when written.

    ``place`` writes it without moving a chunk: into the native output's free room after the moov, or
    after the moov of an ffmpeg output, where it is the last box."""
    for item in metadata_items(source):
        if item.name in LOCATION_KEYS and item.value and place(output, item.value.strip()):
            return True
    return False


def _result(
    container: Container,
    found: tuple[Finding, ...],
    leftovers: list[str],
    profile: Profile,
    date: int,
    *,
    location: bool,
    proof: str | None,
) -> Sanitized:
    removed: dict[str, list[str]] = {}
    kept: list[str] = ["QuickTime:©xyz (ISO 6709 position)"] if location else []
    for finding in found:
        if finding.category == "location" and location:
            continue
        if finding.name == CREATE_DATE and date:
            kept.append(finding.name if profile.time == "keep" else f"{finding.name} (day only)")
            continue
        removed.setdefault(finding.category, []).append(finding.name)
    for name in leftovers:
        removed.setdefault("other", []).append(f"box {name}")
    notes = ("remuxed without re-encoding; only the first video stream and the audio streams kept",)
    return Sanitized(
        format=container.format, extension=container.extension, lossless=True,
        removed={category: tuple(names) for category, names in removed.items()},
        kept=tuple(kept), notes=notes, image_digest=proof,
    )  # fmt: skip


HANDLER = VideoHandler()
