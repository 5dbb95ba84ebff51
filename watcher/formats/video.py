"""MP4, MOV, M4V and 3GP videos: remuxed without re-encoding, then fixed up and verified box by box.

ffmpeg copies the first real video stream and the audio streams, packet for packet, and leaves everything
else behind (data, subtitle, timed-metadata and attachment streams, container and stream metadata,
chapters). What ffmpeg cannot be told to do (mandatory header dates, stray metadata boxes) is done on its
output in place by ``video_fixup``; the same module's check re-reads the result with our own box reader.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, TooLarge, VerifyFailed
from watcher.formats import ffmpeg, signatures, video_fixup
from watcher.formats.base import Finding, Inventory, Sanitized
from watcher.formats.bmff import MAX_PAYLOAD, file_size, top_level
from watcher.formats.livephoto import metadata_items
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
        video_fixup.fix_up(output, date, removed=leftovers)
        location = profile.location == "keep" and _keep_location(source, output)
        output.flush()
        return _result(container, found, leftovers, profile, date, location=location)

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        try:
            video_fixup.check(output, _kept_date(source, profile), location=profile.location == "keep")
        except CorruptMedia as error:
            raise VerifyFailed(f"the output does not parse as a complete video: {error}") from None
        try:
            matching = packets_match(source, output)
        except CorruptMedia as error:
            raise VerifyFailed(
                f"the output's packets could not be compared with the source's: {error}"
            ) from None
        if not matching:
            raise VerifyFailed("the output's audio/video packets differ from the source's")


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


def _keep_location(source: BinaryIO, output: BinaryIO) -> bool:
    """Carry the source's ISO 6709 position (nothing else of its metadata) over; True when written."""
    for item in metadata_items(source):
        if (
            item.name in LOCATION_KEYS
            and item.value
            and video_fixup.append_location(output, item.value.strip())
        ):
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
        kept=tuple(kept), notes=notes,
    )  # fmt: skip


HANDLER = VideoHandler()
