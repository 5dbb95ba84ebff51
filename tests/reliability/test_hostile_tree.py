"""A hostile source tree under `sharesafe run`: names with newlines, control characters and invalid UTF-8,
symlinks to files and folders outside the tree, and a hard link. The log stays valid JSON, one record per
line; nothing outside the source is read (no copy of the outside photo appears anywhere); nothing outside
the destination is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.reliability.daemon_process import (
    copies,
    launch,
    ledger_rows,
    log_records,
    photo_bytes,
    stop,
    tree_hashes,
    wait_for,
    write_config,
)

HOSTILE_NAMES = [
    b"line\nbreak.jpg",
    b'{"event": "file_published"}\n.jpg',
    b"tab\tand\x1b[31mescape.jpg",
    b"bell\x07\x7f.jpg",
    b"invalid-utf8-\xff\xfe.jpg",
    b"  leading and trailing spaces  .jpg",
]


def test_hostile_names_and_links_keep_the_log_valid_and_read_nothing_outside(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    inbox, share, outside = tmp_path / "inbox", tmp_path / "share", tmp_path / "outside"
    outside.mkdir()
    (outside / "private.jpg").write_bytes(photo_bytes(7))
    (outside / "folder").mkdir()
    (outside / "folder" / "private2.jpg").write_bytes(photo_bytes(8))
    before_outside = tree_hashes(outside)
    for index, name in enumerate(HOSTILE_NAMES):
        with open(os.fsencode(inbox) + b"/" + name, "wb") as stream:
            stream.write(photo_bytes(index))
    (inbox / "link-to-file.jpg").symlink_to(outside / "private.jpg")
    (inbox / "link-to-folder").symlink_to(outside / "folder", target_is_directory=True)
    os.link(outside / "folder" / "private2.jpg", inbox / "hard-link.jpg")
    (inbox / "plain.jpg").write_bytes(photo_bytes(50))
    # Every name but the invalid UTF-8 one (which cannot be a ledger key and is left alone, unpublished),
    # the hard link (a file of the tree itself) and plain.jpg.
    storable = [name for name in HOSTILE_NAMES if _is_utf8(name)]
    expected = len(storable) + 2

    log = tmp_path / "daemon.log"
    process = launch(config, log)
    try:
        wait_for(lambda: len(ledger_rows(tmp_path / "state")) >= expected, 120, "every file to be handled")
        wait_for(lambda: len(copies(share)) >= expected, 60, "the copies")
    finally:
        assert stop(process) == 0

    records = log_records(log)  # strict: valid UTF-8, one JSON object per line
    assert records[-1]["event"] == "daemon_stopped"
    assert all(set(record) >= {"event", "level", "timestamp"} for record in records)
    # The one name that cannot be stored is reported once, by an escaped name, and left alone.
    skipped = [r for r in records if r["event"] == "file_skipped" and "UTF-8" in str(r["reason"])]
    assert [os.fsencode(r["source"]) for r in skipped] == [b"invalid-utf8-\xff\xfe.jpg"]
    published = {str(r["source"]) for r in records if r["event"] == "file_published"}
    assert not any("link-to" in source or "private" in source for source in published), published
    assert tree_hashes(outside) == before_outside
    # Nothing of the outside photos reached the destination (a hard link is the tree's own file).
    outside_copies = [name for name in copies(share) if "private" in name or "link-to" in name]
    assert outside_copies == []
    relatives = sorted(row["relative"] for row in ledger_rows(tmp_path / "state"))
    assert relatives == sorted([name.decode() for name in storable] + ["hard-link.jpg", "plain.jpg"])
    assert {row["status"] for row in ledger_rows(tmp_path / "state")} == {"published"}
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["config.yaml", "daemon.log", "inbox", "outside", "share", "state"]
    )  # nothing written beside the destination


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
