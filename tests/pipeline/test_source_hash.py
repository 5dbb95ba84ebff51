"""The content hash the ledger keeps: taken while the pipeline reads the source, equal to a plain hash of
the whole file whatever the handler's reads looked like."""

from __future__ import annotations

import io
from pathlib import Path, PurePath

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_files
from watcher.pipeline import process_file
from watcher.pipeline.source import HashingReader
from watcher.rules.profile import STRICT


def _plain(data: bytes) -> str:
    return "xxh3-128:" + xxhash.xxh3_128(data).hexdigest()


# Reads as handlers do them: sequential chunks, re-reads after seeking back, jumps ahead, whole reads.
_STEP = st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 5000)),
    st.tuples(st.just("read1"), st.integers(-1, 5000)),
    st.tuples(st.just("seek"), st.integers(0, 12000)),
    st.tuples(st.just("seek_end"), st.integers(-3000, 0)),
)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=0, max_size=10000), steps=st.lists(_STEP, max_size=12))
def test_the_hash_is_the_whole_files_whatever_the_reads(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, steps: list[tuple[str, int]]
) -> None:
    path = tmp_path_factory.mktemp("hash") / "file"
    path.write_bytes(data)
    with HashingReader(io.FileIO(path, "rb"), 1024) as reader:
        for action, value in steps:
            if action == "read":
                assert reader.read(value) is not None
            elif action == "read1":
                reader.read1(value)
            elif action == "seek":
                reader.seek(value)
            else:
                reader.seek(max(value, -len(data)), io.SEEK_END)
        position = reader.tell()
        assert reader.content_hash() == _plain(data)
        assert reader.tell() == position  # the caller's place is kept
        assert reader.content_hash() == _plain(data)  # and asking again changes nothing


@pytest.mark.parametrize(
    # One of each container the handlers read differently: segment streams, chunks, boxes read through
    # Pillow or pillow-heif, and a video remuxed natively.
    "kind",
    ["JPEG", "PNG", "Extended WEBP", "GIF", "TIFF", "HEIC", "MP4"],
)
def test_the_recorded_hash_is_of_the_source_for_every_kind_of_handler(kind: str, tmp_path: Path) -> None:
    published = 0
    for source in sorted(corpus_files(kind), key=lambda path: path.stat().st_size, reverse=True)[:8]:
        record = process_file(source, PurePath(source.name), tmp_path, STRICT)
        if record.status == "published":  # a refused file has no hash to keep
            published += 1
            assert record.source_hash == _plain(source.read_bytes()), source
    assert published >= 3


def test_no_hash_is_taken_when_none_is_asked_for(tmp_path: Path) -> None:
    source = corpus_files("JPEG")[0]
    record = process_file(source, PurePath(source.name), tmp_path, STRICT, hash_source=False)
    assert record.source_hash is None
