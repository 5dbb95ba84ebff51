"""The WebP handler over every corpus WebP, generated edge cases and structure-aware mutations."""

from __future__ import annotations

import io
import struct
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import LEAKCHECK, corpus_files
from tests.handler_helpers import frames, sanitize_with
from tests.icc_helpers import assert_same_colours, srgb_profile
from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats.base import Sanitized
from watcher.formats.webp import HANDLER
from watcher.rules.profile import FAMILY, STRICT, Profile

# Corpus files that are damaged on purpose (Exiv2 fuzz proofs of concept).
DAMAGED = {
    "cve_2017_1000126_stack-oob-read.webp": "truncated",
    "issue_1841_poc.webp": "runs past the end",
    "issue_ghsa_5p8g_9xf3_gfrr_poc.webp": "ANMF chunk is too short",
}
CORPUS = corpus_files("WEBP", "Extended WEBP")
GOOD = [path for path in CORPUS if path.name not in DAMAGED]
NO_COLOUR = Profile(name="no-colour", color_profile="remove")
VP8X_ICC, VP8X_EXIF, VP8X_XMP = 0x20, 0x08, 0x04


def sanitize(data: bytes, profile: Profile = STRICT) -> tuple[bytes, Sanitized]:
    return sanitize_with(HANDLER, data, profile)


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, position = [], 12
    while position + 8 <= len(data):
        fourcc, size = struct.unpack("<4sI", data[position : position + 8])
        found.append((fourcc, data[position + 8 : position + 8 + size]))
        position += 8 + size + (size & 1)
    return found


def riff(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(struct.pack("<4sI", f, len(d)) + d + b"\0" * (len(d) & 1) for f, d in parts)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def small_webp(**options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (6, 5), (10, 200, 30, 128)).save(buffer, "WEBP", lossless=True, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_corpus_output_has_the_same_frames_icc_and_no_metadata(path: Path) -> None:
    output, result = sanitize(path.read_bytes())
    assert frames(output) == frames(path.read_bytes())
    with Image.open(path) as before, Image.open(io.BytesIO(output)) as after:
        assert_same_colours(before.info.get("icc_profile"), after.info.get("icc_profile"))
        assert set(after.getexif()) <= {0x0112}
        assert "xmp" not in after.info
    inventory = HANDLER.inspect(io.BytesIO(output))
    assert {f.category for f in inventory.findings} <= {"orientation", "color_profile"}
    assert result.lossless


@pytest.mark.parametrize("path", [p for p in CORPUS if p.name in DAMAGED], ids=lambda p: p.name)
def test_damaged_corpus_files_are_refused(path: Path) -> None:
    with pytest.raises(CorruptMedia, match=DAMAGED[path.name]):
        sanitize(path.read_bytes())


def test_leakcheck_passes_on_every_output(tmp_path: Path) -> None:
    for index, path in enumerate(GOOD):
        (tmp_path / f"{index:02d}.webp").write_bytes(sanitize(path.read_bytes(), NO_COLOUR)[0])
    run = subprocess.run([str(LEAKCHECK), str(tmp_path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout


def test_note3_webp_loses_its_exif() -> None:
    (path,) = [p for p in GOOD if p.name == "webp_with_exif.webp"]
    with path.open("rb") as source:
        before = HANDLER.inspect(source)
    assert any(f.name.startswith("EXIF:") for f in before.findings)
    output, result = sanitize(path.read_bytes())
    with Image.open(io.BytesIO(output)) as image:
        assert dict(image.getexif()) == {0x0112: 6}
    assert [f.name for f in HANDLER.inspect(io.BytesIO(output)).findings] == ["EXIF:Orientation"]
    assert chunks(output)[0][1][0] & (VP8X_EXIF | VP8X_XMP) == VP8X_EXIF
    assert "EXIF:Make" in result.removed["device"]


def test_orientation_survives_and_flags_follow_the_chunks() -> None:
    (path,) = [p for p in GOOD if p.name == "hopper_orientation_6.webp"]
    output, result = sanitize(path.read_bytes())
    assert result.kept == ("EXIF:Orientation",)
    assert chunks(output)[0][1][0] & VP8X_EXIF
    with Image.open(io.BytesIO(output)) as image:
        assert dict(image.getexif()) == {0x0112: 6}


def test_icc_goes_when_the_profile_removes_it() -> None:
    icc = srgb_profile()
    data = small_webp(icc_profile=icc)
    assert sanitize(data)[0].count(b"ICCP") == 1
    output, result = sanitize(data, NO_COLOUR)
    assert b"ICCP" not in output
    assert not chunks(output)[0][1][0] & VP8X_ICC
    assert result.removed["color_profile"] == (f"WebP ICCP chunk ({len(icc)} bytes)",)


def test_an_unreadable_icc_profile_is_dropped() -> None:
    output, result = sanitize(small_webp(icc_profile=b"fake icc profile bytes"))
    assert b"ICCP" not in output
    assert not chunks(output)[0][1][0] & VP8X_ICC
    assert result.removed["other"][0].startswith("WebP ICCP chunk holding an unreadable ICC profile (22 bytes")


def test_xmp_unknown_chunks_and_trailer_are_removed_and_sizes_fixed() -> None:
    parts = chunks(small_webp(icc_profile=srgb_profile()))
    vp8x = bytes([parts[0][1][0] | VP8X_XMP]) + parts[0][1][1:]
    data = riff([(b"VP8X", vp8x), *parts[1:], (b"XMP ", b"<x:xmpmeta/>"), (b"ZZZZ", b"odd")]) + b"tail"
    output, result = sanitize(data)
    assert [fourcc for fourcc, _ in chunks(output)] == [b"VP8X", b"ICCP", b"VP8L"]
    assert struct.unpack("<I", output[4:8])[0] == len(output) - 8
    assert result.removed["other"][-1] == "WebP ZZZZ chunk (3 bytes)"
    assert result.removed["trailer"] == ("bytes after the RIFF container (4 bytes)",)
    assert frames(output) == frames(data[:-4])


def test_animation_keeps_every_frame_and_drops_frame_junk() -> None:
    images = [Image.new("RGB", (8, 8), (value, 0, 0)) for value in (0, 120, 240)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], lossless=True, duration=40)
    parts = chunks(buffer.getvalue())
    frame_index = next(i for i, (fourcc, _) in enumerate(parts) if fourcc == b"ANMF")
    junk = parts[frame_index][1] + b"JUNK" + struct.pack("<I", 1) + b"x\0"
    parts[frame_index] = (b"ANMF", junk)
    data = riff(parts)
    output, result = sanitize(data)
    assert result.removed == {"other": ("WebP ANMF JUNK sub-chunk (1 bytes)",)}
    assert len(frames(output)) == 3
    assert frames(output) == frames(buffer.getvalue())


def test_inspect_reports_size() -> None:
    inventory = HANDLER.inspect(io.BytesIO(small_webp()))
    assert (inventory.width, inventory.height, inventory.findings) == (6, 5, ())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"RIFF\x04\x00\x00\x00WEBX", "header"),
        (b"RIFF\x40\x00\x00\x00WEBP", "truncated"),
        (riff([(b"EXIF", b"II*\0")]), "does not start"),
        (riff([(b"VP8X", bytes(10))]), "no VP8"),
        (riff([(b"VP8X", bytes(4))]), "too short"),
    ],
)
def test_malformed_inputs_raise_corrupt_media(data: bytes, reason: str) -> None:
    with pytest.raises(CorruptMedia, match=reason):
        sanitize(data)


def test_every_truncation_of_a_real_file_is_refused() -> None:
    data = next(p for p in GOOD if p.name == "RIFF.webp").read_bytes()
    for end in range(len(data) - 1):
        with pytest.raises(CorruptMedia):
            sanitize(data[:end])


SEED = next(p for p in GOOD if p.name == "RIFF.webp").read_bytes()


@st.composite
def mutated_webp(draw: st.DrawFn) -> bytes:
    parts = chunks(SEED)
    index = draw(st.integers(0, len(parts) - 1))
    action = draw(st.sampled_from(["size", "riff size", "truncate", "duplicate", "drop", "byte"]))
    fourcc, body = parts[index]
    encoded = [struct.pack("<4sI", f, len(d)) + d + b"\0" * (len(d) & 1) for f, d in parts]
    if action == "size":
        encoded[index] = fourcc + struct.pack("<I", draw(st.integers(0, 2**32 - 1))) + encoded[index][8:]
    elif action == "truncate":
        encoded[index] = encoded[index][: draw(st.integers(0, len(encoded[index])))]
    elif action == "duplicate":
        encoded.insert(index, encoded[index])
    elif action == "drop":
        del encoded[index]
    elif action == "byte" and body:
        position = draw(st.integers(0, len(body) - 1))
        changed = body[:position] + bytes([draw(st.integers(0, 255))]) + body[position + 1 :]
        encoded[index] = encoded[index][:8] + changed + encoded[index][8 + len(body) :]
    payload = b"WEBP" + b"".join(encoded)
    size = draw(st.integers(0, 2**32 - 1)) if action == "riff size" else len(payload)
    return b"RIFF" + struct.pack("<I", size) + payload


@settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_webp())
def test_mutations_give_a_verified_output_or_a_clean_error(data: bytes) -> None:
    try:
        output, _ = sanitize(data)
    except (CorruptMedia, VerifyFailed):
        return
    assert struct.unpack("<I", output[4:8])[0] == len(output) - 8
    assert {f.category for f in HANDLER.inspect(io.BytesIO(output)).findings} <= {"orientation"}


def test_a_family_profile_keeps_only_its_categories_of_exif() -> None:
    (path,) = [p for p in GOOD if p.name == "Nikon D1X.webp"]
    output, result = sanitize(path.read_bytes(), FAMILY)
    kept = {f.category for f in HANDLER.inspect(io.BytesIO(output)).findings}
    assert "camera_settings" in kept
    assert kept <= FAMILY.kept_categories()
    assert "device" in result.removed
