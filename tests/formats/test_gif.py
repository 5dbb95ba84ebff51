"""The GIF handler over every corpus GIF, generated edge cases and structure-aware mutations."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import LEAKCHECK, corpus_files
from tests.handler_helpers import frames, sanitize_with
from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats.base import Sanitized
from watcher.formats.gif import HANDLER
from watcher.rules.profile import STRICT, Profile

GOOD = corpus_files("GIF")
NO_COLOUR = Profile(name="no-colour", color_profile="remove")
TRAILER = b";"


def sanitize(data: bytes, profile: Profile = STRICT) -> tuple[bytes, Sanitized]:
    return sanitize_with(HANDLER, data, profile)


def sub_blocks(payload: bytes) -> bytes:
    return b"".join(
        bytes([len(payload[i : i + 255])]) + payload[i : i + 255] for i in range(0, len(payload), 255)
    )


def extension(label: int, payload: bytes) -> bytes:
    return b"!" + bytes([label]) + sub_blocks(payload) + b"\0"


def application(identifier: bytes, payload: bytes) -> bytes:
    return b"!\xff\x0b" + identifier + sub_blocks(payload) + b"\0"


def small_gif(comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("P", (5, 4), value) for value in (1, 2)]
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], loop=0, comment=comment)
    return buffer.getvalue()


def with_block(data: bytes, block: bytes) -> bytes:
    """``data`` with ``block`` inserted just before the trailer."""
    assert data.endswith(TRAILER)
    return data[:-1] + block + TRAILER


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_corpus_output_has_the_same_frames_and_no_metadata(path: Path) -> None:
    output, result = sanitize(path.read_bytes())
    assert frames(output) == frames(path.read_bytes())
    inventory = HANDLER.inspect(io.BytesIO(output))
    assert {f.category for f in inventory.findings} <= {"color_profile"}
    assert result.lossless


def test_leakcheck_passes_on_every_output(tmp_path: Path) -> None:
    for index, path in enumerate(GOOD):
        (tmp_path / f"{index:02d}.gif").write_bytes(sanitize(path.read_bytes(), NO_COLOUR)[0])
    run = subprocess.run([str(LEAKCHECK), str(tmp_path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout


def test_comments_and_xmp_of_corpus_files_are_found_and_removed() -> None:
    (path,) = [p for p in GOOD if p.name == "GIF.gif"]
    with path.open("rb") as source:
        before = HANDLER.inspect(source)
    categories = {f.category for f in before.findings}
    assert {"text", "color_profile"} <= categories
    output, result = sanitize(path.read_bytes())
    assert "text" in result.removed
    assert result.kept == ("ICC profile (460 bytes)",)  # packed anew without its date and device fields
    assert result.removed["time"] == ("ICC creation date",)
    assert result.removed["device"] == ("ICC device maker and model",)
    assert b"XMP DataXMP" not in output


def test_icc_goes_when_the_profile_removes_it() -> None:
    (path,) = [p for p in GOOD if p.name == "GIF.gif"]
    output, result = sanitize(path.read_bytes(), NO_COLOUR)
    assert b"ICCRGBG1" not in output
    assert result.removed["color_profile"] == ("GIF application extension 'ICCRGBG1012' (506 bytes)",)


def test_inspect_shows_comment_values_and_size() -> None:
    inventory = HANDLER.inspect(io.BytesIO(small_gif(b"taken at home")))
    assert ("text", "taken at home") in {(f.category, f.value) for f in inventory.findings}
    assert (inventory.width, inventory.height) == (5, 4)


def test_animation_loop_is_kept_and_other_blocks_are_named() -> None:
    data = small_gif(b"secret")
    data = with_block(data, application(b"VENDORX11.0", b"payload"))
    data = with_block(data, extension(0x01, bytes(12) + b"hello"))
    output, result = sanitize(data + b"appended bytes")
    assert b"NETSCAPE2.0" in output
    assert b"secret" not in output
    assert result.removed == {
        "text": ("GIF comment (7 bytes)", "GIF plain text extension (18 bytes)"),
        "other": ("GIF application extension 'VENDORX11.0' (20 bytes)",),
        "trailer": ("bytes after the GIF trailer (14 bytes)",),
    }
    assert frames(output) == frames(data)
    with Image.open(io.BytesIO(output)) as image:
        assert image.info.get("loop") == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF90a" + bytes(20), "signature"),
        (b"GIF89a\x01\x00", "screen descriptor"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "global colour table"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "no image"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x07;", "unknown block"),
    ],
)
def test_malformed_inputs_raise_corrupt_media(data: bytes, reason: str) -> None:
    with pytest.raises(CorruptMedia, match=reason):
        sanitize(data)


def test_every_truncation_of_a_real_file_is_refused() -> None:
    data = next(p for p in GOOD if p.name == "dirty.gif").read_bytes()
    for end in range(len(data) - 1):
        with pytest.raises(CorruptMedia):
            sanitize(data[:end])


SEED = with_block(small_gif(b"c"), application(b"XMP DataXMP", b"<x/>"))


@st.composite
def mutated_gif(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    action = draw(st.sampled_from(["byte", "truncate", "duplicate", "insert"]))
    position = draw(st.integers(0, len(data) - 1))
    if action == "byte":
        data[position] = draw(st.integers(0, 255))
        return bytes(data)
    if action == "truncate":
        return bytes(data[:position])
    end = draw(st.integers(position, len(data)))
    if action == "duplicate":
        return bytes(data[:end] + data[position:])
    return bytes(data[:position] + draw(st.binary(max_size=40)) + data[position:])


@settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_gif())
def test_mutations_give_a_verified_output_or_a_clean_error(data: bytes) -> None:
    try:
        output, _ = sanitize(data)
    except (CorruptMedia, VerifyFailed):
        return
    assert output.endswith(TRAILER)
    assert HANDLER.inspect(io.BytesIO(output)).findings == ()
