"""Files written the way sync clients write them are published once, complete, and never half-written.

These tests run the real daemon (real watchdog, real pipeline) on temporary folders.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from daemon_helpers import copies, jpeg_bytes, png_bytes, published_files, removal_records, wait_until
from PIL import Image

from watcher.pipeline import process_file
from watcher.rules.config import load_config
from watcher.rules.profile import STRICT

PLAIN = replace(STRICT, name="plain", names="keep")


def write_slowly(
    path: Path, data: bytes, chunks: int, pause: float, stall_at: int = -1, stall: float = 0
) -> None:
    """Append ``data`` to ``path`` in ``chunks`` pieces, like a camera upload or a slow network copy."""
    step = -(-len(data) // chunks)
    with path.open("wb") as handle:
        for index in range(chunks):
            handle.write(data[index * step : (index + 1) * step])
            handle.flush()
            time.sleep(stall if index == stall_at else pause)


def same_pixels(first: Path, second: Path) -> bool:
    with Image.open(first) as one, Image.open(second) as other:
        return one.convert("RGB").tobytes() == other.convert("RGB").tobytes()


def test_sync_client_write_patterns_are_each_published_once_and_complete(
    tmp_path: Path, start_daemon: Callable[..., Any]
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    originals = {name: jpeg_bytes(seed, size=96) for seed, name in enumerate(["st.jpg", "rs.jpg", "nc.jpg"])}
    originals["slow.jpg"] = jpeg_bytes(99, size=160)
    originals["slow.png"] = png_bytes(7) + b""
    temp_names = {"st.jpg": ".syncthing.st.jpg.tmp", "rs.jpg": ".rs.jpg.Xa83kd", "nc.jpg": ".nc.jpg.~3f9a1c"}
    with start_daemon() as daemon:
        writers = [
            threading.Thread(target=write_slowly, args=(inbox / temp, originals[final], 6, 0.1))
            for final, temp in temp_names.items()
        ]
        # In place, growing for about 2 s with a stall longer than the settle time half-way: only the
        # structural check (no JPEG end marker yet) keeps it from being published early.
        writers.append(
            threading.Thread(
                target=write_slowly, args=(inbox / "slow.jpg", originals["slow.jpg"], 12, 0.1, 5, 0.9)
            )
        )
        writers.append(
            threading.Thread(
                target=write_slowly, args=(inbox / "slow.png", originals["slow.png"], 4, 0.1, 1, 0.9)
            )
        )
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        for final, temp in temp_names.items():
            os.replace(inbox / temp, inbox / final)
        wait_until(lambda: len(copies(share)) == 5, what="five copies")
        wait_until(daemon.idle, what="the daemon to go idle")
    assert published_files(share) == sorted(originals)
    records = removal_records(tmp_path / "state" / "removed.jsonl")
    assert sorted(Path(record["source"]).name for record in records) == sorted(originals)
    assert {record["status"] for record in records} == {"published"}
    assert {record["watch"] for record in records} == {"inbox"}
    for name in originals:
        assert same_pixels(inbox / name, share / name), name


def test_a_burst_of_2000_files_is_published_exactly_once(
    tmp_path: Path, start_daemon: Callable[..., Any]
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    names = [f"{index // 500:02d}/IMG_{index:04d}.jpg" for index in range(2000)]
    with start_daemon(processes=True) as daemon:  # the real set-up: worker processes
        for folder in {name.split("/")[0] for name in names}:
            (inbox / folder).mkdir()
        for index, name in enumerate(names):
            temp = inbox / f".syncthing.{index}.tmp"
            temp.write_bytes(jpeg_bytes(index, size=8))
            os.replace(temp, inbox / name)
        wait_until(lambda: len(copies(share)) >= 2000, timeout=120, what="2000 copies")
        wait_until(daemon.idle, timeout=60, what="the daemon to go idle")
        counts = daemon.ledger.counts("inbox")
    assert published_files(share) == sorted(names)
    records = removal_records(tmp_path / "state" / "removed.jsonl")
    assert len(records) == 2000
    assert len({record["source"] for record in records}) == 2000
    assert counts["published"] == 2000


def test_temp_files_of_the_daemon_itself_and_ignored_names_never_appear(
    tmp_path: Path, start_daemon: Callable[..., Any]
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    with start_daemon() as daemon:
        for name in ("a.jpg.part", "Thumbs.db", "b.sync-conflict-20240101-101010-ABCDEFG.jpg", "~c.jpg~"):
            (inbox / name).write_bytes(jpeg_bytes(1))
        (inbox / "@eaDir").mkdir()
        (inbox / "@eaDir" / "thumb.jpg").write_bytes(jpeg_bytes(2))
        (inbox / "real.jpg").write_bytes(jpeg_bytes(3))
        wait_until(lambda: published_files(share) == ["real.jpg"], what="the one real photo")
        wait_until(daemon.idle, what="the daemon to go idle")
    assert published_files(share) == ["real.jpg"]
    assert load_config(tmp_path / "config.yaml").watches[0].conflict_copies == "skip"


def test_a_folder_moved_in_is_scanned(tmp_path: Path, start_daemon: Callable[..., Any]) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    album = tmp_path / "album"
    (album / "day1").mkdir(parents=True)
    for index in range(5):
        (album / "day1" / f"{index}.jpg").write_bytes(jpeg_bytes(index))
    with start_daemon() as daemon:
        wait_until(daemon.idle)
        os.replace(album, inbox / "album")  # one event for the folder, none for its files
        wait_until(lambda: len(copies(share)) == 5, what="the moved-in folder's photos")
        wait_until(daemon.idle)
    assert published_files(share) == [f"album/day1/{index}.jpg" for index in range(5)]
    assert len(removal_records(tmp_path / "state" / "removed.jsonl")) == 5


def test_real_phone_files_copied_in_slowly_get_the_same_outcome_as_clean(
    tmp_path: Path, start_daemon: Callable[..., Any], manifest: list[dict[str, str]], corpus_dir: Path
) -> None:
    inbox, share, reference = tmp_path / "inbox", tmp_path / "share", tmp_path / "reference"
    wanted = {"JPEG": 3, "PNG": 1, "HEIC": 1, "MP4": 1}
    chosen: list[Path] = []
    for row in sorted(manifest, key=lambda row: int(row["size_bytes"])):
        if wanted.get(row["format"], 0) > 0 and int(row["size_bytes"]) > 20_000:
            wanted[row["format"]] -= 1
            chosen.append(corpus_dir / row["path"])
    names = [f"{index}{source.suffix.lower()}" for index, source in enumerate(chosen)]
    with start_daemon() as daemon:
        for source, name in zip(chosen, names, strict=True):
            # A slow in-place copy (a NAS client), in 8 pieces.
            write_slowly(inbox / name, source.read_bytes(), 8, 0.05)
        wait_until(lambda: len(removal_records(tmp_path / "state" / "removed.jsonl")) >= len(chosen))
        wait_until(daemon.idle)
    logged = removal_records(tmp_path / "state" / "removed.jsonl")
    records = {Path(record["source"]).name: record for record in logged}
    assert len(logged) == len(records) == len(names)  # once each
    reference.mkdir()
    for name in names:
        expected = process_file(inbox / name, PurePosixPath(name), reference, PLAIN)
        assert (records[name]["status"], records[name]["format"]) == (expected.status, expected.format), name
    assert published_files(share) == published_files(reference)
