"""describe(): every kind of file we refuse gets a specific, human description."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CORPUS, corpus_files
from watcher.formats.registry import SNIFF_BYTES, handler_for
from watcher.formats.unsupported import describe, refusal

REFUSED_KINDS = (
    "PSD",
    "CR3",
    "CRW",
    "RAF",
    "JXL",
    "JXL Codestream",
    "JP2",
    "EPS",
    "AVI",
    "WMV",
    "M2TS",
    "BMP",
    "EXV",
    "EMPTY",
)
EXPECTED = {
    "exiftool__exiftool/t/images/Photoshop.psd": "Photoshop document (PSD)",
    "exiftool__exiftool/t/images/CanonRaw.cr3": "RAW camera file (Canon CR3)",
    "Exiv2__exiv2/test/data/Canon-R6-pruned.CR3": "RAW camera file (Canon CR3)",
    "exiftool__exiftool/t/images/CanonRaw.crw": "RAW camera file (Canon CRW)",
    "exiftool__exiftool/t/images/FujiFilm.raf": "RAW camera file (Fujifilm RAF)",
    "Exiv2__exiv2/test/data/issue_857_poc.raf": "RAW camera file (Fujifilm RAF)",
    "jvoisin__mat2/tests/data/dirty.jxl": "JPEG XL image",
    "exiftool__exiftool/t/images/JXL.jxl": "JPEG XL image (codestream)",
    "Exiv2__exiv2/test/data/Reagan.jp2": "JPEG 2000 image",
    "Exiv2__exiv2/test/data/issue_ghsa_496f_x7cq_cq39_poc.jpg": "PostScript/EPS document (DOS EPS)",
    "jvoisin__mat2/tests/data/dirty.avi": "AVI video",
    "jvoisin__mat2/tests/data/dirty.wmv": "Windows Media video (WMV/ASF)",
    "exiftool__exiftool/t/images/M2TS.mts": "AVCHD/M2TS video",
    "jvoisin__mat2/tests/data/dirty.bmp": "BMP image",
    "Exiv2__exiv2/test/data/crash-23eba73bb01cb01caa96a389eb12955c34b98a37.jpg": "Exiv2 metadata sidecar (EXV)",
    "photoprism__photoprism/pkg/fs/testdata/empty.jpg": "empty file (0 bytes)",
}


def head_of(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as stream:
        return stream.read(SNIFF_BYTES), path.stat().st_size


@pytest.mark.parametrize("path", corpus_files(*REFUSED_KINDS), ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_refused_corpus_files_get_a_specific_description(path: Path) -> None:
    head, size = head_of(path)
    assert handler_for(head) is None
    description = describe(head, size)
    assert not description.startswith("unknown")
    expected = EXPECTED.get(path.relative_to(CORPUS).as_posix())
    if expected is not None:
        assert description == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>', "XMP sidecar"),
        (b'<x:xmpmeta xmlns:x="adobe:ns:meta/">', "XMP sidecar"),
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST',
            "Apple edit sidecar (AAE property list)",
        ),
        (b"%PDF-1.7\n", "PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive or office document"),
        (b"%!PS-Adobe-3.0 EPSF-3.0", "PostScript/EPS document"),
        (b"FOVb\x00\x00\x04\x00", "RAW camera file (Sigma X3F)"),
        (b"\xff\x4f\xff\x51\x00\x2f", "JPEG 2000 codestream"),
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00", "RAW camera file (Canon CR2)"),
        (b"IIU\x00\x08\x00\x00\x00", "RAW camera file (Panasonic RW2)"),
        (b"IIRO\x08\x00\x00\x00", "RAW camera file (Olympus ORF)"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "Matroska/WebM video"),
        (b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  ", "QuickTime video"),
    ],
)
def test_synthetic_heads(head: bytes, expected: str) -> None:
    assert describe(head, len(head) + 100) == expected


def test_unknown_content_names_its_first_bytes() -> None:
    assert describe(b"\x12\x34\x56\x78rest", 100) == "unknown content (starts 0x12345678)"


def test_refusal_says_not_published_by_default() -> None:
    assert refusal(b"8BPS\x00\x01", 5000) == "Photoshop document (PSD): not published by default"


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=1 << 40))
def test_describe_never_raises(head: bytes, size: int) -> None:
    assert describe(head, size)
