"""Hostile input through the pipeline: links out of the tree, a symlink swapped in while a file is processed,
`..` and absolute output names, decompression bombs (pixels and nested containers), a 4 GB+ sparse file,
files that claim one format and are another, a JPEG+ZIP polyglot, and a destination pre-seeded with a
symlink named like the next output. Nothing outside the destination is written; nothing outside the
source is read; every file ends as a verified copy or a refusal with a reason.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Any

import pytest

from tests.oracle import assert_no_leaks
from tests.reliability.daemon_process import copies, photo_bytes, tree_hashes
from tests.reliability.reliability_helpers import exercise
from watcher.errors import CorruptMedia, PublishError, SourceError
from watcher.formats.registry import handler_named
from watcher.pipeline import FileRecord, process
from watcher.pipeline.sanitize import sanitize_and_verify
from watcher.rules.profile import STRICT

PLAIN = replace(STRICT, names="keep")
SECRET = b"the secret that lives outside the source tree"


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A source, a destination and an outside folder holding a real photo and a secret."""
    folders = {name: tmp_path / name for name in ("inbox", "share", "outside")}
    for folder in folders.values():
        folder.mkdir()
    (folders["outside"] / "private.jpg").write_bytes(photo_bytes(7))
    (folders["outside"] / "secret.txt").write_bytes(SECRET)
    return folders


def _publish(tree: dict[str, Path], relative: str, **options: Any) -> FileRecord:
    return process.process_file(tree["inbox"] / relative, PurePath(relative), tree["share"], PLAIN, **options)


def test_a_symlink_to_a_file_outside_is_not_followed(tree: dict[str, Path]) -> None:
    (tree["inbox"] / "link.jpg").symlink_to(tree["outside"] / "private.jpg")
    with pytest.raises(SourceError, match="symbolic link"):
        _publish(tree, "link.jpg")
    assert copies(tree["share"]) == []


def test_a_symlink_swapped_in_while_processing_never_reads_the_outside_file(
    tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tree["inbox"] / "photo.jpg"
    photo.write_bytes(photo_bytes(1))

    def swap_then_sanitize(*args: Any, **kwargs: Any) -> Any:
        photo.unlink()
        photo.symlink_to(tree["outside"] / "private.jpg")
        return sanitize_and_verify(*args, **kwargs)

    monkeypatch.setattr(process, "sanitize_and_verify", swap_then_sanitize)
    try:
        record = _publish(tree, "photo.jpg")
    except SourceError:
        return  # refused as changed: fine, nothing was published
    monkeypatch.setattr(process, "sanitize_and_verify", sanitize_and_verify)
    # The file already open was the original: the copy is the original's clean copy, never the outside one.
    reference = tree["share"].parent / "reference"
    reference.mkdir()
    (tree["outside"] / "original.jpg").write_bytes(photo_bytes(1))
    clean = process.process_file(tree["outside"] / "original.jpg", PurePath("photo.jpg"), reference, PLAIN)
    assert Path(str(record.output)).read_bytes() == Path(str(clean.output)).read_bytes()


def test_a_destination_folder_swapped_for_a_symlink_mid_publish_writes_nothing_outside(
    tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree["inbox"] / "sub").mkdir()
    (tree["inbox"] / "sub" / "photo.jpg").write_bytes(photo_bytes(1))
    before = tree_hashes(tree["outside"])

    def swap_then_sanitize(*args: Any, **kwargs: Any) -> Any:
        (tree["share"] / "sub").rename(tree["share"] / "moved")
        (tree["share"] / "sub").symlink_to(tree["outside"], target_is_directory=True)
        return sanitize_and_verify(*args, **kwargs)

    monkeypatch.setattr(process, "sanitize_and_verify", swap_then_sanitize)
    _publish(tree, "sub/photo.jpg")
    assert tree_hashes(tree["outside"]) == before  # the open folder was written, not the symlink's target
    assert copies(tree["share"] / "moved") == ["photo.jpg"]


def test_a_symlink_planted_under_the_next_output_name_is_replaced_not_written_through(
    tree: dict[str, Path],
) -> None:
    (tree["inbox"] / "photo.jpg").write_bytes(photo_bytes(1))
    (tree["share"] / "photo.jpg").symlink_to(tree["outside"] / "secret.txt")
    before = tree_hashes(tree["outside"])
    record = _publish(tree, "photo.jpg")
    assert record.status == "published"
    assert tree_hashes(tree["outside"]) == before
    assert not (tree["share"] / "photo.jpg").is_symlink()


@pytest.mark.parametrize("relative", ["../escape.jpg", "sub/../../escape.jpg", "/tmp/escape.jpg"])
def test_dot_dot_and_absolute_output_names_are_refused(tree: dict[str, Path], relative: str) -> None:
    source = tree["inbox"] / "photo.jpg"
    source.write_bytes(photo_bytes(1))
    with pytest.raises(PublishError, match=r"absolute|plain relative"):
        process.process_file(source, PurePath(relative), tree["share"], PLAIN)
    assert copies(tree["share"].parent) == sorted(
        ["inbox/photo.jpg", "outside/private.jpg", "outside/secret.txt"]
    )


def test_a_disk_full_error_stays_retryable_even_when_a_handler_wraps_it(
    tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: ENOSPC while writing the temp file came back as an internal error (refused for good)."""
    (tree["inbox"] / "photo.jpg").write_bytes(photo_bytes(1))

    def full(*args: Any, **kwargs: Any) -> Any:
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as err:
            raise CorruptMedia("cannot write the encoded image") from err

    monkeypatch.setattr(process, "sanitize_and_verify", full)
    with pytest.raises(PublishError, match="the destination is full"):
        _publish(tree, "photo.jpg")
    assert os.listdir(tree["share"]) == []  # the temp file is gone too


def _png(width: int, height: int, payload: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", payload) + chunk(b"IEND", b"")


def _nested_boxes(depth: int) -> bytes:
    """An ftyp and a `moov` holding `trak`s nested ``depth`` deep (each box claims exactly its child)."""
    inner = b""
    for level in range(depth):
        kind = b"moov" if level == depth - 1 else b"trak"
        inner = struct.pack(">I", 8 + len(inner)) + kind + inner
    return struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 0, b"isom") + inner


BOMBS = {
    # 100,000 x 100,000 pixels declared, a 1 MB stream of zeros that inflates to gigabytes.
    "png_pixels": ("png", _png(100_000, 100_000, zlib.compress(b"\0" * (1 << 20), 9))),
    "png_inflate": ("png", _png(2_000, 2_000, zlib.compress(b"\0" * (64 << 20), 9))),
    "gif_canvas": (
        "gif",
        b"GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02D\x01\x00;",
    ),
    "bmff_nested_video": ("video", _nested_boxes(20_000)),
    "bmff_nested_heif": ("heif", _nested_boxes(20_000).replace(b"isom", b"heic")),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_decompression_bombs_are_refused_within_bounds(name: str, tmp_path: Path) -> None:
    handler_name, data = BOMBS[name]
    outputs = exercise(handler_named(handler_name), data)  # bounded in time; any non-WatcherError fails
    for index, (_, output) in enumerate(outputs):
        (tmp_path / f"{index}.bin").write_bytes(output)
    if outputs:
        assert_no_leaks(*tmp_path.glob("*.bin"))


def test_a_sparse_file_of_more_than_4_gb_is_refused_with_a_reason(tree: dict[str, Path]) -> None:
    source = tree["inbox"] / "huge.jpg"
    with source.open("wb") as stream:
        stream.write(photo_bytes(1)[:200])  # a real JPEG start, then 4.5 GB of holes
        stream.truncate(4_500_000_000)
    record = _publish(tree, "huge.jpg")
    assert record.status == "refused" and record.reason, record
    assert copies(tree["share"]) == []


def test_a_file_named_as_one_format_is_published_as_what_it_is(tree: dict[str, Path]) -> None:
    (tree["inbox"] / "photo.png").write_bytes(photo_bytes(1))  # a JPEG under a PNG name
    (tree["inbox"] / "notes.jpg").write_bytes(b"just some text, not a picture\n" * 20)
    record = _publish(tree, "photo.png")
    assert record.status == "published" and record.format == "jpeg"
    assert str(record.output).endswith(".jpg")
    refused = _publish(tree, "notes.jpg")
    assert refused.status == "refused" and refused.reason


def test_a_jpeg_zip_polyglot_is_published_without_the_zip(tree: dict[str, Path]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("secret.txt", SECRET)
    (tree["inbox"] / "polyglot.jpg").write_bytes(photo_bytes(1) + archive.getvalue())
    record = _publish(tree, "polyglot.jpg")
    assert record.status == "published", record
    output = Path(str(record.output)).read_bytes()
    assert b"PK\x03\x04" not in output and SECRET not in output
    assert not zipfile.is_zipfile(io.BytesIO(output))
    assert_no_leaks(Path(str(record.output)))
