"""verify_anonymized refuses any output that carries more than pixels and a kept colour profile."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

pytest.importorskip("onnxruntime")

from watcher.errors import VerifyFailed
from watcher.faces import verify_anonymized
from watcher.faces.container import check_structure
from watcher.formats.base import Sanitized
from watcher.rules.profile import PUBLIC

PICTURE = Image.linear_gradient("L").convert("RGB").resize((64, 48))


def clean(format_name: str) -> bytes:
    buffer = io.BytesIO()
    PICTURE.save(buffer, format=format_name.upper())
    return buffer.getvalue()


def result(format_name: str, kept: tuple[str, ...] = ()) -> Sanitized:
    extension = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}[format_name]
    return Sanitized(format=format_name, extension=extension, lossless=False, kept=kept)


def verify(data: bytes, format_name: str, kept: tuple[str, ...] = ()) -> None:
    verify_anonymized(io.BytesIO(data), PUBLIC, result(format_name, kept))


@pytest.mark.parametrize("format_name", ["jpeg", "png", "webp"])
def test_a_clean_output_passes(format_name: str) -> None:
    verify(clean(format_name), format_name)


def jpeg_with(segment: bytes) -> bytes:
    data = clean("jpeg")
    return data[:2] + segment + data[2:]


def segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@pytest.mark.parametrize(
    "data",
    [
        jpeg_with(segment(0xFE, b"a comment")),
        jpeg_with(segment(0xE1, b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00")),
        jpeg_with(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>")),
        jpeg_with(segment(0xE2, b"MPF\x00" + b"\x00" * 16)),
        jpeg_with(segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 128)),  # not kept in this result
        clean("jpeg") + b"ftypmp42 and a video",
        clean("jpeg")[:-200],
    ],
    ids=["comment", "exif", "xmp", "mpf", "icc-not-kept", "trailer", "truncated"],
)
def test_a_jpeg_carrying_anything_else_fails(data: bytes) -> None:
    with pytest.raises(VerifyFailed):
        verify(data, "jpeg")


def test_a_png_with_text_or_a_trailer_fails() -> None:
    data = clean("png")
    with pytest.raises(VerifyFailed):
        verify(data[:33] + png_chunk(b"tEXt", b"Author\x00someone") + data[33:], "png")
    with pytest.raises(VerifyFailed):
        verify(data + b"trailing bytes", "png")


def test_a_webp_with_exif_fails() -> None:
    data = clean("webp")
    body = data[12:] + b"EXIF" + struct.pack("<I", 4) + b"II*\x00"
    with pytest.raises(VerifyFailed):
        verify(b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body, "webp")


def test_an_output_of_another_format_than_announced_fails() -> None:
    with pytest.raises(VerifyFailed):
        verify(clean("png"), "jpeg")


SIGNATURES = {"jpeg": b"\xff\xd8", "png": b"\x89PNG\r\n\x1a\n", "webp": b"RIFF"}


@given(st.sampled_from(["jpeg", "png", "webp"]), st.binary(max_size=300))
def test_the_walk_refuses_malformed_files_with_verify_failed_only(format_name: str, tail: bytes) -> None:
    data = SIGNATURES[format_name] + tail
    try:
        check_structure(data, format_name, icc_allowed=True)
    except VerifyFailed:
        return
    # Anything accepted must at least end where its format says a file ends.
    assert data.endswith(b"\xff\xd9") or b"IEND" in data or format_name == "webp"
