"""The PNG handler over every corpus PNG, generated edge cases and structure-aware mutations."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from tests.conftest import LEAKCHECK, corpus_files
from tests.handler_helpers import frames, sanitize_with
from tests.icc_helpers import assert_same_colours
from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats.base import Sanitized
from watcher.formats.png import HANDLER
from watcher.formats.signatures import PNG_SIGNATURE as SIGNATURE
from watcher.rules.profile import STRICT, Profile

# Corpus files that are damaged on purpose (fuzz proofs of concept, Pillow's truncation tests).
DAMAGED = {
    "issue_428_poc1.png": "bad CRC",
    "issue_845_poc.png": "bad CRC",
    "broken.png": "damaged chunk header",
    "truncated_end_chunk.png": "truncated",
    "truncated_image.png": "truncated",
}
CORPUS = corpus_files("PNG")
GOOD = [path for path in CORPUS if path.name not in DAMAGED]
NO_COLOUR = Profile(name="no-colour", color_profile="remove")
# Pillow info keys that describe how to render the pixels (colour, density), not who or where.
RENDERING_INFO = {"icc_profile", "dpi", "gamma", "srgb", "chromaticity", "transparency"}


def sanitize(data: bytes, profile: Profile = STRICT) -> tuple[bytes, Sanitized]:
    return sanitize_with(HANDLER, data, profile)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def split_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], len(SIGNATURE)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunks.append(data[position : position + 12 + length])
        position += 12 + length
    return chunks


def small_png(**info: str) -> bytes:
    text = PngImagePlugin.PngInfo()
    for key, value in info.items():
        text.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (7, 5), (200, 10, 30)).save(buffer, "PNG", pnginfo=text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("png-out")
    written = {}
    for index, path in enumerate(GOOD):
        target = folder / f"{index:02d}.png"
        target.write_bytes(sanitize(path.read_bytes())[0])
        written[path.name] = target
    return written


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_corpus_output_has_the_same_pixels_and_icc(path: Path, outputs: dict[str, Path]) -> None:
    output = outputs[path.name].read_bytes()
    assert frames(output) == frames(path.read_bytes())
    with Image.open(path) as before, Image.open(io.BytesIO(output)) as after:
        assert_same_colours(before.info.get("icc_profile"), after.info.get("icc_profile"))
        assert (after.width, after.height) == (before.width, before.height)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_corpus_output_holds_only_kept_categories(path: Path, outputs: dict[str, Path]) -> None:
    with outputs[path.name].open("rb") as output:
        inventory = HANDLER.inspect(output)
    assert {f.category for f in inventory.findings} <= {"orientation", "color_profile"}


@pytest.mark.parametrize("path", [p for p in CORPUS if p.name in DAMAGED], ids=lambda p: p.name)
def test_damaged_corpus_files_are_refused(path: Path) -> None:
    with pytest.raises(CorruptMedia, match=DAMAGED[path.name]):
        sanitize(path.read_bytes())


@pytest.mark.parametrize(
    "name", ["exif.png", "itxt_chunks.png", "png_with_exif_byte_order_ii.png", "png_with_exif_and_gps.png"]
)
def test_known_metadata_files_lose_their_metadata(name: str) -> None:
    (path,) = [p for p in GOOD if p.name == name]
    with path.open("rb") as source:
        before = HANDLER.inspect(source)
    assert {f.category for f in before.findings} - {"orientation", "color_profile", "other"}
    output, result = sanitize(path.read_bytes())
    with Image.open(io.BytesIO(output)) as image:
        assert set(image.info) <= RENDERING_INFO
        assert set(image.getexif()) <= {0x0112}
    assert result.removed and result.lossless


def test_leakcheck_passes_on_every_output_without_colour_profiles(tmp_path: Path) -> None:
    for index, path in enumerate(GOOD):
        (tmp_path / f"{index:02d}.png").write_bytes(sanitize(path.read_bytes(), NO_COLOUR)[0])
    run = subprocess.run([str(LEAKCHECK), str(tmp_path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout


def test_leakcheck_passes_when_colour_is_kept(outputs: dict[str, Path]) -> None:
    folder = next(iter(outputs.values())).parent
    run = subprocess.run([str(LEAKCHECK), str(folder)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout


def test_inspect_shows_text_values_and_size() -> None:
    data = small_png(Comment="hello there", Author="Jane Doe")
    inventory = HANDLER.inspect(io.BytesIO(data))
    found = {(f.category, f.value) for f in inventory.findings}
    assert ("text", "hello there") in found
    assert ("copyright", "Jane Doe") in found
    assert (inventory.width, inventory.height) == (7, 5)


def test_removal_log_names_keywords_never_values() -> None:
    _, result = sanitize(small_png(Comment="secret words", Title="x"))
    names = [name for group in result.removed.values() for name in group]
    assert names == ["PNG tEXt 'Comment' (20 bytes)", "PNG tEXt 'Title' (7 bytes)"]
    assert not any("secret" in name for name in names)


def test_orientation_survives_as_a_minimal_exif() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    Image.new("L", (4, 3)).save(buffer, "PNG", exif=exif.tobytes())
    output, result = sanitize(buffer.getvalue())
    with Image.open(io.BytesIO(output)) as image:
        assert dict(image.getexif()) == {0x0112: 6}
    assert result.kept == ("EXIF:Orientation",)
    assert result.removed["device"] == ("EXIF:Make",)


def test_colour_chunks_go_when_the_profile_removes_them() -> None:
    parts = split_chunks(small_png())
    data = SIGNATURE + parts[0] + chunk(b"gAMA", struct.pack(">I", 45455)) + b"".join(parts[1:])
    output, result = sanitize(data, NO_COLOUR)
    assert b"gAMA" not in output
    assert result.removed == {"color_profile": ("PNG gAMA (4 bytes)",)}
    assert b"gAMA" in sanitize(data)[0]


def test_private_chunks_provenance_and_trailer_are_removed() -> None:
    parts = split_chunks(small_png())
    extra = chunk(b"caBX", b"manifest") + chunk(b"prVt", b"vendor") + chunk(b"tIME", bytes(7))
    data = SIGNATURE + parts[0] + extra + b"".join(parts[1:]) + b"motion photo"
    output, result = sanitize(data)
    assert output.endswith(b"IEND\xaeB`\x82")
    assert result.removed == {
        "provenance": ("PNG caBX (8 bytes)",),
        "other": ("PNG prVt (6 bytes)",),
        "time": ("PNG tIME (7 bytes)",),
        "trailer": ("bytes after IEND (12 bytes)",),
    }


def test_animated_png_keeps_every_frame() -> None:
    images = [Image.new("RGB", (6, 6), (value, 0, 0)) for value in (0, 90, 180)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PNG", save_all=True, append_images=images[1:], duration=50)
    output, _ = sanitize(buffer.getvalue())
    assert len(frames(output)) == 3
    assert frames(output) == frames(buffer.getvalue())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a", "signature"),
        (SIGNATURE, "truncated"),
        (SIGNATURE + chunk(b"IEND", b""), "IHDR"),
        (SIGNATURE + split_chunks(small_png())[0] + chunk(b"IEND", b""), "no IDAT"),
        (SIGNATURE + split_chunks(small_png())[0] + chunk(b"QuUX", b"") + chunk(b"IEND", b""), "critical"),
    ],
)
def test_malformed_inputs_raise_corrupt_media(data: bytes, reason: str) -> None:
    with pytest.raises(CorruptMedia, match=reason):
        sanitize(data)


def test_every_truncation_of_a_real_file_is_refused() -> None:
    data = (Path(GOOD[0]).parent / "1343_exif.png").read_bytes()
    for end in range(len(data) - 1):
        with pytest.raises(CorruptMedia):
            sanitize(data[:end])


SEED = small_png(Comment="c", Author="a")


@st.composite
def mutated_png(draw: st.DrawFn) -> bytes:
    parts = split_chunks(SEED)
    index = draw(st.integers(0, len(parts) - 1))
    action = draw(st.sampled_from(["length", "crc", "truncate", "duplicate", "drop", "byte"]))
    part = parts[index]
    if action == "length":
        part = struct.pack(">I", draw(st.integers(0, 2**32 - 1))) + part[4:]
    elif action == "crc":
        part = part[:-4] + draw(st.binary(min_size=4, max_size=4))
    elif action == "truncate":
        part = part[: draw(st.integers(0, len(part)))]
    elif action == "duplicate":
        part = part + part
    elif action == "drop":
        part = b""
    else:
        position = draw(st.integers(0, len(part) - 1))
        part = part[:position] + bytes([draw(st.integers(0, 255))]) + part[position + 1 :]
    return SIGNATURE + b"".join(parts[:index]) + part + b"".join(parts[index + 1 :])


@settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_png())
def test_mutations_give_a_verified_output_or_a_clean_error(data: bytes) -> None:
    try:
        output, _ = sanitize(data)
    except (CorruptMedia, VerifyFailed):
        return
    assert output.startswith(SIGNATURE)
    assert HANDLER.inspect(io.BytesIO(output)).findings == ()


def test_unreadable_exif_is_dropped_whole() -> None:
    parts = split_chunks(small_png())
    data = SIGNATURE + parts[0] + chunk(b"eXIf", b"MM\0*garbage") + b"".join(parts[1:])
    output, result = sanitize(data)
    assert b"eXIf" not in output
    assert result.removed == {"other": ("PNG eXIf unreadable (11 bytes)",)}
    assert HANDLER.inspect(io.BytesIO(data)).findings[0].name == "PNG eXIf (11 bytes)"


def test_xmp_in_itxt_is_classified_by_property() -> None:
    (path,) = [p for p in GOOD if p.name == "photoshop-8x12-rgb24-all-metadata.png"]
    with path.open("rb") as source:
        findings = HANDLER.inspect(source).findings
    assert ("identifiers", "XMP:xmpMM:DocumentID") in {(f.category, f.name) for f in findings}
