"""The native remux on real and generated videos, with ffmpeg as the independent oracle of its packets."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import LEAKCHECK
from tests.formats.test_video import make_fragmented, make_tracks_video, matrix, run_ffmpeg
from tests.formats.video_corpus import CORPUS_VIDEOS, PublishedVideo
from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats import ffmpeg, mp4_remux, video_fixup
from watcher.formats.base import Sanitized
from watcher.formats.bmff import walk
from watcher.formats.mp4_tables import NotNative, read_movie
from watcher.formats.video import HANDLER
from watcher.formats.video_findings import track_handlers
from watcher.rules.profile import STRICT, Profile

# Corpus videos the native remux leaves to ffmpeg, and why (ffmpeg then refuses every one of them).
FALLBACK = {
    "issue_2340_poc.mp4": "could not read the index",
    "issue_2393_poc.mp4": "could not read the index",
    "issue_ghsa_crmj_qh74_2r36_poc.mov": "could not read the index",
    "issue_ghsa_fgw8_p7pr_37cp_poc.mov": "could not read the index",
    "issue_ghsa_g9xm_7538_mq8w_poc.mov": "could not read the index",
    "issue_ghsa_hrw9_ggg3_3r4r_poc.jpg": "no single index",
    "QuickTime.mov": "sample-to-chunk table is inconsistent",  # tables without media
    "quicktime-jpeg.mov": "data references",  # media in external files
    "clusterfuzz-testcase-minimized-file-fuzzer-4616081830051840.heic": "could not read the index",
    "crash-20ca2625096a205937b809a7841e7f019f0b2dc6.heic": "no single index",
    "simple_osm_tile_meta.avif": "no single index",
}
TABLES = (b"stsz", b"stsc", b"stco", b"stts", b"ctts", b"stss")


def oracle_hashes(*paths: Path) -> list[list[str]]:
    """ffmpeg's per-stream packet hashes (first video stream, then audio) of each file."""
    return ffmpeg.stream_hashes([str(path) for path in paths], pass_fds=(), size=0)


def assert_same_packets(source: Path, output: Path) -> None:
    source_hashes, output_hashes = oracle_hashes(source, output)
    assert source_hashes
    assert output_hashes == source_hashes


def decode_complaints(path: Path) -> set[str]:
    """What ffmpeg reports while decoding every frame of ``path``, without its memory addresses."""
    completed = subprocess.run(
        [ffmpeg.executable(), "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return {re.sub(r"0x[0-9a-f]+", "0x", line) for line in completed.stderr.splitlines()}


def publish(source: Path, output: Path, profile: Profile = STRICT) -> Sanitized:
    with source.open("rb") as reader, output.open("w+b") as writer:
        result = HANDLER.sanitize(reader, writer, profile)
        HANDLER.verify(writer, reader, profile, result)
    return result


def is_native(result: Sanitized) -> bool:
    return (result.image_digest or "").startswith(mp4_remux.DIGEST_PREFIX)


@pytest.fixture(scope="module")
def tracks_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tracks_video(tmp_path_factory.mktemp("generated"))


@pytest.fixture(scope="module")
def native_corpus(
    published_corpus_videos: dict[Path, PublishedVideo | CorruptMedia],
) -> dict[Path, Path | NotNative]:
    """Every corpus video the native remux takes, as the handler published it; the others' reasons."""
    outcomes: dict[Path, Path | NotNative] = {}
    for source, published in published_corpus_videos.items():
        if isinstance(published, PublishedVideo) and is_native(published.result):
            outcomes[source] = published.output
            continue
        try:
            with source.open("rb") as reader:
                mp4_remux.remux(reader, io.BytesIO())
        except NotNative as error:
            outcomes[source] = error
            continue
        raise AssertionError(
            f"{source.name}: the native remux takes it, but the handler did not: {published}"
        )
    return outcomes


@pytest.mark.parametrize("source", CORPUS_VIDEOS, ids=lambda path: path.name)
def test_corpus_video_goes_native_or_falls_back_for_a_stated_reason(
    source: Path, native_corpus: dict[Path, Path | NotNative]
) -> None:
    outcome = native_corpus[source]
    if source.name in FALLBACK:
        assert isinstance(outcome, NotNative)
        assert FALLBACK[source.name] in str(outcome)
        return
    assert isinstance(outcome, Path), outcome
    assert_same_packets(source, outcome)
    with outcome.open("rb") as reader:
        assert track_handlers(reader)[0] == b"vide"
    complaints = decode_complaints(outcome)
    assert not complaints or complaints <= decode_complaints(source)


def test_native_outputs_pass_leakcheck(native_corpus: dict[Path, Path | NotNative]) -> None:
    outputs = [outcome for outcome in native_corpus.values() if isinstance(outcome, Path)]
    assert len(outputs) == len(CORPUS_VIDEOS) - len(FALLBACK)
    folder = outputs[0].parent
    report = subprocess.run([str(LEAKCHECK), str(folder)], capture_output=True, text=True, check=False)
    assert report.returncode == 0, report.stdout


def test_extra_tracks_are_gone_and_rotation_stays(tracks_video: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    assert is_native(publish(tracks_video, output))
    with output.open("rb") as reader:
        assert track_handlers(reader) == [b"vide", b"soun"]
        assert not {box.type for _path, box in walk(reader)} & {b"tref", b"udta", b"meta", b"gmhd", b"nmhd"}
    data = output.read_bytes()
    assert b"GPS 52.2097" not in data  # the subtitle samples were not copied into the mdat
    assert b"hello caption" not in data
    assert b"tx3g" not in data
    assert b"tmcd" not in data
    assert matrix(output) == matrix(tracks_video) != matrix(tracks_video.parent / "base.mp4")
    assert_same_packets(tracks_video, output)
    assert decode_complaints(output) == set()


def test_native_output_is_fast_start(tracks_video: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    publish(tracks_video, output)
    with output.open("rb") as reader:
        top = [box.type for path, box in walk(reader) if not path]
    assert top == [b"ftyp", b"moov", b"mdat"]


def test_location_keep_writes_into_the_reserved_room(tracks_video: Path, tmp_path: Path) -> None:
    output = tmp_path / "kept.mp4"
    result = publish(tracks_video, output, Profile(location="keep"))
    assert is_native(result)
    assert "QuickTime:©xyz (ISO 6709 position)" in result.kept
    assert b"+52.2097-000.8955/" in output.read_bytes()
    assert_same_packets(tracks_video, output)
    assert decode_complaints(output) == set()


def test_offsets_past_four_gigabytes_use_co64(
    tracks_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mp4_remux, "LARGEST_OFFSET", 1000)  # as if the media data started past 4 GB
    output = tmp_path / "wide.mp4"
    assert is_native(publish(tracks_video, output))
    with output.open("rb") as reader:
        found = {box.type: box for _path, box in walk(reader)}
    assert b"co64" in found
    assert b"stco" not in found
    assert found[b"mdat"].header == 16
    assert_same_packets(tracks_video, output)
    assert decode_complaints(output) == set()


def test_fragmented_video_falls_back_to_ffmpeg(tracks_video: Path, tmp_path: Path) -> None:
    fragmented = make_fragmented(tracks_video)
    with fragmented.open("rb") as reader, pytest.raises(NotNative, match="fragmented"):
        read_movie(reader)
    output = tmp_path / "out.mp4"
    result = publish(fragmented, output)
    assert result.image_digest is None
    assert_same_packets(fragmented, output)


def test_movie_without_video_is_not_native(tmp_path: Path) -> None:
    sound = tmp_path / "sound.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "aac", str(sound))
    with sound.open("rb") as reader, pytest.raises(NotNative, match="no video track"):
        read_movie(reader)


def test_output_with_a_changed_sample_fails_the_proof(tracks_video: Path, tmp_path: Path) -> None:
    output = io.BytesIO()
    with tracks_video.open("rb") as reader:
        proof = mp4_remux.remux(reader, output)
    assert mp4_remux.samples_match(output, proof)
    data = bytearray(output.getvalue())
    data[-1] ^= 1
    assert not mp4_remux.samples_match(io.BytesIO(bytes(data)), proof)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.sampled_from(TABLES),
    position=st.integers(min_value=0),
    replacement=st.binary(min_size=1, max_size=4),
)
def test_mutated_sample_tables_are_refused_or_copied_exactly(
    tracks_video: Path, tmp_path: Path, table: bytes, position: int, replacement: bytes
) -> None:
    data = tracks_video.read_bytes()
    with tracks_video.open("rb") as reader:
        boxes = [box for _path, box in walk(reader) if box.type == table]
    if not boxes:
        return
    box = boxes[position % len(boxes)]
    start = box.start + (position >> 4) % (box.end - box.start)
    mutated = data[:start] + replacement + data[start + len(replacement) :]
    source, output = tmp_path / "mutated.mp4", tmp_path / "copy.mp4"
    source.write_bytes(mutated[: len(data)])
    try:
        with source.open("rb") as reader, output.open("w+b") as writer:
            proof = mp4_remux.remux(reader, writer)
            assert mp4_remux.samples_match(writer, proof)
    except (NotNative, CorruptMedia):
        event("refused")
        return
    event("copied")
    try:
        source_hashes = oracle_hashes(source)[0]
    except CorruptMedia:
        return  # ffmpeg cannot read the mutated source: nothing to compare with
    assert oracle_hashes(output)[0] == source_hashes


def test_media_in_another_file_is_not_native(tracks_video: Path, tmp_path: Path) -> None:
    with tracks_video.open("rb") as reader:
        entry = next(box for _path, box in walk(reader) if box.type == b"url ")
    data = bytearray(tracks_video.read_bytes())
    data[entry.start + 3] = 0  # the self-contained flag
    external = tmp_path / "external.mp4"
    external.write_bytes(bytes(data))
    with external.open("rb") as reader, pytest.raises(NotNative, match="another file"):
        read_movie(reader)


def test_a_native_output_the_keep_list_refuses_is_made_again_by_ffmpeg(
    tracks_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sample description can hold a box the keep-list does not know; the native remux copies sample
    # descriptions as they are, ffmpeg writes them anew. Simulated here: the first check refuses.
    refusals = iter([VerifyFailed("a codec box the keep-list does not know")])
    real_check = video_fixup.check

    def check_once(output: BinaryIO, date: int, *, location: bool = False) -> None:
        error = next(refusals, None)
        if error is not None:
            raise error
        real_check(output, date, location=location)

    monkeypatch.setattr(video_fixup, "check", check_once)
    output = tmp_path / "out.mp4"
    result = publish(tracks_video, output)
    assert not is_native(result)
    assert track_handlers(io.BytesIO(output.read_bytes())) == [b"vide", b"soun"]
    assert_same_packets(tracks_video, output)


@pytest.mark.parametrize(
    ("header", "byte"), [(b"tkhd", 0), (b"mdhd", 0), (b"mvhd", 0), (b"mdhd", 2), (b"mvhd", 3)]
)
def test_a_dated_header_of_unknown_version_is_left_to_ffmpeg(
    header: bytes, byte: int, tracks_video: Path, tmp_path: Path
) -> None:
    # Readers disagree on where the dates of an unknown version (or, in mvhd and mdhd, flags) lie: ExifTool
    # reads them as 64-bit, so the fix-up could not vouch for having zeroed them. Found by the fuzzer; the
    # inputs are kept in tests/reliability/regressions.
    data = bytearray(tracks_video.read_bytes())
    data[data.index(header) + 4 + byte] = 0x40
    source = tmp_path / "odd-version.mp4"
    source.write_bytes(bytes(data))
    with source.open("rb") as reader, pytest.raises(NotNative, match="unknown version or flags"):
        mp4_remux.remux(reader, io.BytesIO())
    output = tmp_path / "out.mp4"
    try:
        result = publish(source, output)
    except CorruptMedia:
        return  # ffmpeg refuses some of these outright: refused, never published with a date
    assert not is_native(result)
    with output.open("rb") as written:
        video_fixup.check(written, 0)
