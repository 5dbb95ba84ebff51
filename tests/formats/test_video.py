"""The video handler on generated videos (every kind of extra track) and on the real corpus."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CORPUS, LEAKCHECK
from tests.formats.video_corpus import CORPUS_VIDEOS, PublishedVideo
from watcher.errors import ConfigError, CorruptMedia
from watcher.formats import ffmpeg
from watcher.formats.bmff import find_child, read_exact, walk
from watcher.formats.livephoto import content_identifier, metadata_items
from watcher.formats.video import HANDLER
from watcher.formats.video_findings import track_handlers
from watcher.formats.video_fixup import day_of, movie_creation_time
from watcher.formats.video_packets import packets_match
from watcher.rules.profile import FAMILY, STRICT, Profile

LIVE_PHOTO = CORPUS / "LycheeOrg__Lychee/tests/Samples/train.mov"
# Corpus files that claim to be videos but whose pictures ffmpeg cannot read, and why.
UNREADABLE = {
    "issue_2340_poc.mp4": "box structure is broken",
    "issue_2393_poc.mp4": "box structure is broken",
    "issue_ghsa_crmj_qh74_2r36_poc.mov": "box structure is broken",
    "issue_ghsa_fgw8_p7pr_37cp_poc.mov": "box structure is broken",
    "issue_ghsa_g9xm_7538_mq8w_poc.mov": "box structure is broken",
    "issue_ghsa_hrw9_ggg3_3r4r_poc.jpg": "no index",
    "QuickTime.mov": "no playable video",  # sample tables without media
    "quicktime-jpeg.mov": "no playable video",  # media in external files
    "clusterfuzz-testcase-minimized-file-fuzzer-4616081830051840.heic": "box structure is broken",
    "crash-20ca2625096a205937b809a7841e7f019f0b2dc6.heic": "no index",
    "simple_osm_tile_meta.avif": "no index",
}


def run_ffmpeg(*arguments: str) -> None:
    subprocess.run([ffmpeg.executable(), "-hide_banner", "-loglevel", "error", "-y", *arguments], check=True)


@pytest.fixture(scope="module")
def tracks_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tracks_video(tmp_path_factory.mktemp("generated"))


def make_tracks_video(directory: Path) -> Path:
    """An MP4 with video, audio, a GPS subtitle (tx3g), a caption (tx3g), a timecode data track,
    a 90° display rotation, a ©xyz location, make/model keys and a creation date."""
    (directory / "gps.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nGPS 52.2097 -0.8955\n")
    (directory / "caption.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello caption\n")
    base = directory / "base.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
        "-i", str(directory / "gps.srt"), "-i", str(directory / "caption.srt"),
        "-map", "0", "-map", "1", "-map", "2", "-map", "3",
        "-c:v", "mpeg4", "-c:a", "aac", "-c:s", "mov_text", str(base),
    )  # fmt: skip
    video = directory / "tracks.mp4"
    run_ffmpeg(
        "-display_rotation", "90", "-i", str(base), "-map", "0", "-c", "copy",
        "-timecode", "01:00:00:00", "-write_tmcd", "1", "-movflags", "use_metadata_tags",
        "-metadata", "location=+52.2097-000.8955/", "-metadata", "make=Acme", "-metadata", "model=Phone",
        "-metadata", "creation_time=2024-05-06T07:08:09Z", str(video),
    )  # fmt: skip
    return video


def make_fragmented(video: Path) -> Path:
    """A fragmented copy (moof boxes, no sample tables in the moov) of ``video``'s video and audio."""
    fragmented = video.with_name(f"fragmented-{video.name}")
    run_ffmpeg(
        "-i", str(video), "-map", "0:v", "-map", "0:a", "-c", "copy",
        "-movflags", "frag_keyframe+empty_moov", str(fragmented),
    )  # fmt: skip
    return fragmented


def sanitize(source: Path, output: Path, profile: Profile = STRICT) -> Path:
    with source.open("rb") as reader:
        assert HANDLER.sniff(reader.read(64))
        with output.open("w+b") as writer:
            result = HANDLER.sanitize(reader, writer, profile)
            HANDLER.verify(writer, reader, profile, result)
    return output


def matrix(path: Path) -> bytes:
    with path.open("rb") as reader:
        for _path, found in walk(reader):
            if found.type == b"trak" and (header := find_child(reader, found, b"tkhd")) is not None:
                return read_exact(reader, header.end - 44, 36)
    raise AssertionError("no track header")


def leakcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEAKCHECK), *map(str, paths)], capture_output=True, text=True, check=False)


def test_extra_tracks_go_packets_and_rotation_stay(tracks_video: Path, tmp_path: Path) -> None:
    with tracks_video.open("rb") as reader:
        assert track_handlers(reader) == [b"vide", b"soun", b"sbtl", b"sbtl", b"tmcd"]
    output = sanitize(tracks_video, tmp_path / "out.mp4")
    with output.open("rb") as reader, tracks_video.open("rb") as source:
        assert track_handlers(reader) == [b"vide", b"soun"]
        assert packets_match(source, reader)
    assert matrix(output) == matrix(tracks_video) != matrix(tracks_video.parent / "base.mp4")
    report = leakcheck(tracks_video, output)
    assert str(tracks_video) in report.stdout
    assert str(output) not in report.stdout


def test_inspect_names_metadata_and_extra_tracks(tracks_video: Path) -> None:
    with tracks_video.open("rb") as reader:
        inventory = HANDLER.inspect(reader)
    found = {(finding.category, finding.name) for finding in inventory.findings}
    assert ("location", "QuickTime:location") in found
    assert ("device", "QuickTime:make") in found
    assert ("time", "QuickTime:CreateDate") in found
    assert ("other", "tmcd track (tmcd)") in found
    assert ("other", "sbtl track (tx3g)") in found
    assert (inventory.width, inventory.height) == (64, 48)


def test_time_date_keeps_only_the_capture_day(tracks_video: Path, tmp_path: Path) -> None:
    output = sanitize(tracks_video, tmp_path / "family.mp4", FAMILY)
    with tracks_video.open("rb") as source, output.open("rb") as reader:
        created = movie_creation_time(source)
        assert created != day_of(created)
        assert movie_creation_time(reader) == day_of(created)
    assert leakcheck(output).returncode == 1  # a day is still a date: only --allow-time accepts it


def test_truncated_video_is_refused_with_a_reason(tracks_video: Path, tmp_path: Path) -> None:
    data = tracks_video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: data.index(b"moov") - 4])
    with (
        cut.open("rb") as reader,
        (tmp_path / "out.mp4").open("w+b") as writer,
        pytest.raises(CorruptMedia, match="truncated"),
    ):
        HANDLER.sanitize(reader, writer, STRICT)


def test_live_photo_identifier_is_read_and_gone_after_sanitizing(tmp_path: Path) -> None:
    with LIVE_PHOTO.open("rb") as reader:
        assert content_identifier(reader) == "E905E6C6-C747-4805-942F-9904A0281F02"
    output = sanitize(LIVE_PHOTO, tmp_path / "live.mov")
    with output.open("rb") as reader:
        assert content_identifier(reader) is None
        assert track_handlers(reader) == [b"vide", b"soun"]


@pytest.fixture(scope="module")
def published_corpus(
    published_corpus_videos: dict[Path, PublishedVideo | CorruptMedia],
) -> dict[Path, Path | CorruptMedia]:
    """Every corpus video's output, or the refusal."""
    return {
        source: outcome.output if isinstance(outcome, PublishedVideo) else outcome
        for source, outcome in published_corpus_videos.items()
    }


@pytest.mark.parametrize("source", CORPUS_VIDEOS, ids=lambda path: path.name)
def test_corpus_video_is_published_or_refused_for_a_known_reason(
    source: Path, published_corpus: dict[Path, Path | CorruptMedia]
) -> None:
    outcome = published_corpus[source]
    if source.name in UNREADABLE:
        assert isinstance(outcome, CorruptMedia)
        assert UNREADABLE[source.name] in str(outcome)
        return
    assert isinstance(outcome, Path), outcome
    with source.open("rb") as reader, outcome.open("rb") as written:
        assert packets_match(reader, written)


def test_published_corpus_videos_pass_leakcheck(published_corpus: dict[Path, Path | CorruptMedia]) -> None:
    outputs = [outcome for outcome in published_corpus.values() if isinstance(outcome, Path)]
    assert len(outputs) == len(CORPUS_VIDEOS) - len(UNREADABLE)
    report = leakcheck(*outputs)
    assert report.returncode == 0, report.stdout


@pytest.mark.parametrize(
    ("head", "claimed"),
    [
        (b"\0\0\0\x18ftypisom\0\0\0\0isomavc1", True),
        (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", True),
        (b"\0\0\0\x18ftyp3gp5\0\0\0\0" + b"3gp5isom", True),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", False),
        (b"\0\0\0\x18ftypmif1\0\0\0\0mif1isom", False),
        (b"\0\0\0\x18ftypcrx \0\0\0\0crx isom", False),
        (b"\0\0\0\x18ftypM4A \0\0\0\0M4A isom", False),
        (b"\0\0\x0f\x17moov\0\0\0\x6cmvhd", True),
        (b"\xff\xd8\xff\xe0", False),
    ],
)
def test_sniff_claims_video_brands_only(head: bytes, claimed: bool) -> None:
    assert HANDLER.sniff(head) is claimed


def test_ffmpeg_complaints_are_summarized_without_paths_or_values() -> None:
    stderr = b"[mov @ 0x1] moov atom not found\n/home/someone/secret.mp4: Invalid data found\n"
    summary = ffmpeg.summarize(stderr, 1)
    assert "secret" not in summary
    assert "\n" not in summary
    assert "moov" in summary
    assert ffmpeg.summarize(b"something new at 52.2,-0.8", 3) == "ffmpeg failed with exit status 3"


def test_configured_ffmpeg_is_used_or_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ffmpeg.ENVIRONMENT_VARIABLE, ffmpeg.executable())
    assert Path(ffmpeg.executable()).is_file()
    monkeypatch.setenv(ffmpeg.ENVIRONMENT_VARIABLE, str(tmp_path / "missing-ffmpeg"))
    with pytest.raises(ConfigError, match=ffmpeg.ENVIRONMENT_VARIABLE):
        ffmpeg.executable()


@pytest.mark.parametrize(
    ("still", "identifier"),
    [
        ("LycheeOrg__Lychee/tests/Samples/train.jpg", "E905E6C6-C747-4805-942F-9904A0281F02"),
        ("drewnoakes__metadata-extractor-images/heic/IMG_2927.HEIC", "1745E022-9712-43C7-B024-F308EC6413CB"),
        (
            "drewnoakes__metadata-extractor-images/heic/exif-at-eof.heic",
            "1745E022-9712-43C7-B024-F308EC6413CB",
        ),
        ("LycheeOrg__Lychee/tests/Samples/classic-car.heic", None),
        ("exiftool__exiftool/t/images/Apple.jpg", None),
    ],
)
def test_live_photo_still_identifier_matches_exiftool(still: str, identifier: str | None) -> None:
    with (CORPUS / still).open("rb") as reader:
        assert content_identifier(reader) == identifier


def test_live_photo_pair_published_still_loses_its_identifier(tmp_path: Path) -> None:
    jpeg = pytest.importorskip("watcher.formats.jpeg")
    output = tmp_path / "train.jpg"
    with (LIVE_PHOTO.with_suffix(".jpg")).open("rb") as reader, output.open("w+b") as writer:
        result = jpeg.HANDLER.sanitize(reader, writer, STRICT)
        jpeg.HANDLER.verify(writer, reader, STRICT, result)
        assert content_identifier(writer) is None


def test_ffmpeg_over_its_time_limit_is_stopped(
    tracks_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fragmented = make_fragmented(tracks_video)  # the native remux leaves fragmented files to ffmpeg
    monkeypatch.setattr(ffmpeg, "MINIMUM_SECONDS", 0.0)
    monkeypatch.setattr(ffmpeg, "BYTES_PER_SECOND", 10**15)
    with (
        fragmented.open("rb") as reader,
        (tmp_path / "out.mp4").open("w+b") as writer,
        pytest.raises(CorruptMedia, match="took longer"),
    ):
        HANDLER.sanitize(reader, writer, STRICT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), replacement=st.binary(min_size=1, max_size=8))
def test_mutated_index_inspects_or_raises_corrupt_media(
    tracks_video: Path, position: int, replacement: bytes
) -> None:
    data = tracks_video.read_bytes()
    moov = data.index(b"moov") - 4
    start = moov + position % (len(data) - moov)
    mutated = data[:start] + replacement + data[start + len(replacement) :]
    try:
        inventory = HANDLER.inspect(io.BytesIO(mutated))
    except CorruptMedia:
        return
    assert inventory.format == "video"


def test_streams_that_are_not_files_are_copied_for_ffmpeg() -> None:
    source = io.BytesIO((CORPUS / "drewnoakes__metadata-extractor-images/3gp/sample.3gp").read_bytes())
    output = io.BytesIO()
    result = HANDLER.sanitize(source, output, STRICT)
    HANDLER.verify(output, source, STRICT, result)
    assert (result.format, result.extension) == ("3gp", ".3gp")
    assert packets_match(source, output)  # AMR audio repacked one frame per packet, same bytes


@pytest.mark.parametrize(
    ("source", "position"),
    [
        (LIVE_PHOTO, "+52.2097-000.8955+103.640/"),
        (CORPUS / "drewnoakes__metadata-extractor-images/mp4/with-gps.mp4", None),
    ],
    ids=["iso6709-key", "xyz-item"],
)
def test_location_keep_carries_only_the_position(source: Path, position: str | None, tmp_path: Path) -> None:
    output = sanitize(source, tmp_path / f"kept{source.suffix}", Profile(location="keep"))
    with output.open("rb") as reader:
        items = [(item.name, item.value) for item in metadata_items(reader)]
        categories = {finding.category for finding in HANDLER.inspect(reader).findings}
    assert len(items) == 1
    assert items[0][0] == "©xyz"
    assert position is None or items[0][1] == position
    assert categories == {"location"}
