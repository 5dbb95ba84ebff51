"""One file through the whole pipeline, on real corpus files and generated edge cases."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
from pathlib import Path, PurePath

import pytest
import xxhash
from PIL import Image

from tests.conftest import CORPUS
from watcher.errors import PublishError, SourceError
from watcher.formats import jpeg
from watcher.pipeline import process_file
from watcher.rules.profile import STRICT

# The name rules are tested in tests/privacy; these tests follow the source's name.
KEEP_NAMES = dataclasses.replace(STRICT, names="keep")

IPHONE_JPEG = CORPUS / "drewnoakes__metadata-extractor-images/jpg/Apple iPhone 6.jpg"
PNG_NAMED_JPG = CORPUS / "ente-io__motion_photos/assets/normalphoto.jpg"
IPHONE_HEIC = CORPUS / "photoprism__photoprism/assets/examples/iphone_7.heic"


def _fingerprint(path: Path) -> tuple[str, int, int, int, int]:
    st = path.stat()
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
        st.st_mode,
    )


def test_a_phone_jpeg_is_published_and_the_source_is_untouched(tmp_path: Path) -> None:
    source = tmp_path / "in" / "IMG_1.JPG"
    source.parent.mkdir()
    shutil.copy2(IPHONE_JPEG, source)
    before = _fingerprint(source)
    (tmp_path / "out").mkdir()
    record = process_file(source, PurePath("IMG_1.JPG"), tmp_path / "out", KEEP_NAMES)
    assert record.status == "published", record.reason
    assert record.output == str(tmp_path / "out" / "IMG_1.JPG")
    assert record.lossless is True
    assert "location" in record.removed and "device" in record.removed
    assert record.source_hash == "xxh3-128:" + xxhash.xxh3_128(source.read_bytes()).hexdigest()
    assert _fingerprint(source) == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["IMG_1.JPG"]


def test_the_extension_follows_the_content_not_the_name(tmp_path: Path) -> None:
    record = process_file(PNG_NAMED_JPG, PurePath("normalphoto.jpg"), tmp_path, KEEP_NAMES)
    assert record.status == "published", record.reason
    assert record.format == "png"
    assert Path(str(record.output)).name == "normalphoto.png"
    with Image.open(str(record.output)) as im:
        assert im.format == "PNG"


def test_heic_becomes_an_upright_jpeg_and_says_it_was_not_lossless(tmp_path: Path) -> None:
    record = process_file(IPHONE_HEIC, PurePath("iphone_7.heic"), tmp_path, KEEP_NAMES)
    assert record.status == "published", record.reason
    assert Path(str(record.output)).name == "iphone_7.jpg"
    assert record.lossless is False
    assert any("not lossless" in n for n in record.notes)


def test_a_heic_beside_a_jpeg_of_the_same_name_keeps_both(tmp_path: Path) -> None:
    shutil.copy(IPHONE_HEIC, tmp_path / "IMG_1.HEIC")
    shutil.copy(IPHONE_JPEG, tmp_path / "IMG_1.JPG")
    out = tmp_path / "out"
    out.mkdir()
    a = process_file(tmp_path / "IMG_1.HEIC", PurePath("IMG_1.HEIC"), out, KEEP_NAMES)
    b = process_file(tmp_path / "IMG_1.JPG", PurePath("IMG_1.JPG"), out, KEEP_NAMES)
    assert {Path(str(a.output)).name, Path(str(b.output)).name} == {"IMG_1.HEIC.jpg", "IMG_1.JPG"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"8BPS\x00\x01" + bytes(64), "PSD"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "truncated"),
    ],
)
def test_bad_inputs_are_refused_with_a_reason_and_leave_nothing(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    source = tmp_path / "x.jpg"
    source.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    record = process_file(source, PurePath("x.jpg"), out, STRICT)
    assert record.status == "refused"
    assert reason.lower() in str(record.reason).lower()
    assert list(out.iterdir()) == []


def test_a_symlinked_source_is_never_followed(tmp_path: Path) -> None:
    link = tmp_path / "link.jpg"
    link.symlink_to(IPHONE_JPEG)
    with pytest.raises(SourceError, match="symbolic link"):
        process_file(link, PurePath("link.jpg"), tmp_path, STRICT)


def test_a_bug_in_a_handler_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(type(jpeg.HANDLER), "verify", broken)
    out = tmp_path / "out"
    out.mkdir()
    record = process_file(IPHONE_JPEG, PurePath("a.jpg"), out, STRICT)
    assert record.status == "refused"
    assert "internal error" in str(record.reason)
    assert list(out.iterdir()) == []


def test_a_source_modified_while_read_is_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "a.jpg"
    shutil.copy(IPHONE_JPEG, source)
    real_sanitize = type(jpeg.HANDLER).sanitize

    def sanitize_then_touch(self: object, src: io.BufferedReader, out: object, profile: object) -> object:
        result = real_sanitize(self, src, out, profile)  # type: ignore[arg-type]
        os.utime(source, ns=(1, 1))  # the sync client rewrites the file under us
        return result

    monkeypatch.setattr(type(jpeg.HANDLER), "sanitize", sanitize_then_touch)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SourceError, match="changed while"):
        process_file(source, PurePath("a.jpg"), out, STRICT)
    assert list(out.iterdir()) == []


def test_a_missing_destination_root_is_not_created(tmp_path: Path) -> None:
    # An unmounted NAS share leaves an empty mount point: writing there would fill the wrong disk.
    with pytest.raises(PublishError, match="missing"):
        process_file(IPHONE_JPEG, PurePath("a.jpg"), tmp_path / "unmounted", STRICT)
    assert not (tmp_path / "unmounted").exists()
