"""Crash consistency: `sharesafe run` over a 1,000-file backlog, `kill -9`ed at 24 points and restarted.

Kill points are chosen by watching the daemon from outside, cycling through: a temp file visible in the
destination (mid-write or between write and rename), the ledger's WAL file just changed (mid-ledger-write),
shortly after start (mid-scan of the backlog), and after another twenty-fourth or so of the backlog was
published. After every kill, each file under a final name must be byte-identical to a one-shot
`sharesafe clean` of the same source (so no partial or temp content is ever visible under a destination
name). At the end: every source published exactly once, byte-identical to the clean run, no temp file
left, the ledger consistent, the sources unchanged.

SHARESAFE_CRASH_FILES and SHARESAFE_CRASH_KILLS scale it up for a long run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import xxhash

from tests.reliability.daemon_process import (
    LEDGER,
    clean_reference,
    copies,
    fill_backlog,
    launch,
    ledger_rows,
    log_records,
    published_count,
    status_json,
    stop,
    temp_files,
    tree_hashes,
    wait_for,
    write_config,
)

FILES = int(os.environ.get("SHARESAFE_CRASH_FILES", "1000"))
KILLS = int(os.environ.get("SHARESAFE_CRASH_KILLS", "24"))
TRIGGERS = ("temp_file_visible", "ledger_written", "shortly_after_start", "more_copies")
TRIGGER_TIMEOUT = 60.0


def _wal_state(state: Path) -> tuple[int, int] | None:
    try:
        stat = (state / f"{LEDGER}-wal").stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _trigger(kind: str, share: Path, state: Path, index: int) -> Callable[[], bool]:
    """A predicate that turns true at the moment to kill (built when the daemon has just started)."""
    if kind == "temp_file_visible":
        return lambda: bool(temp_files(share))
    if kind == "ledger_written":
        before = _wal_state(state)
        return lambda: (now := _wal_state(state)) is not None and now != before
    if kind == "shortly_after_start":  # within the start-up, before the first batch is recorded
        deadline = time.monotonic() + 0.05 * (index % 7)
        return lambda: time.monotonic() >= deadline
    # Steps of about one kill's share of the backlog: the other triggers cost a batch or a few each, so
    # the kills are spread over the whole backlog rather than bunched at its start.
    target = len(copies(share)) + FILES // KILLS + index % 11
    return lambda: len(copies(share)) >= target


def _kill_when(process: subprocess.Popen[bytes], fired: Callable[[], bool], state: Path) -> bool:
    """Poll until ``fired`` (then SIGKILL, True) or the backlog is done (False)."""
    deadline = time.monotonic() + TRIGGER_TIMEOUT
    checks = 0
    while time.monotonic() < deadline and process.poll() is None:
        if fired():
            process.kill()
            process.wait(timeout=30)
            return True
        checks += 1
        if checks % 50 == 0 and published_count(state) == FILES:
            break
        time.sleep(0.002)
    return False


def _assert_final_names_are_complete(share: Path, reference: Path) -> None:
    for relative in copies(share):
        expected = reference / relative
        assert expected.is_file(), f"{relative} is not an output the clean run makes"
        assert (share / relative).read_bytes() == expected.read_bytes(), f"{relative} differs from clean"


def test_kill_9_at_many_points_loses_nothing_and_publishes_each_file_once(tmp_path: Path) -> None:
    inbox, share, state = tmp_path / "inbox", tmp_path / "share", tmp_path / "state"
    config = write_config(tmp_path)
    source_hashes = fill_backlog(inbox, FILES)
    reference = tmp_path / "reference"
    clean_reference(config, inbox, reference)
    assert len(copies(reference)) == FILES
    kills: list[tuple[str, int]] = []
    for index in range(KILLS * 3):
        if len(kills) == KILLS:
            break
        kind = TRIGGERS[index % len(TRIGGERS)]
        process = launch(config, tmp_path / f"life-{index:03d}.log")
        try:
            fired = _kill_when(process, _trigger(kind, share, state, index), state)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        if fired:
            kills.append((kind, len(copies(share))))
        _assert_final_names_are_complete(share, reference)
    (tmp_path / "kills.json").write_text(json.dumps(kills), encoding="utf-8")  # for a look after a run
    assert len(kills) >= min(KILLS, 20), kills
    assert {kind for kind, _ in kills} >= {"temp_file_visible", "ledger_written"}, kills

    last_life = tmp_path / "last-life.log"
    process = launch(config, last_life)
    try:
        wait_for(lambda: _drained(state, last_life), timeout=600, what="the backlog to drain")
    finally:
        assert stop(process) == 0
    _assert_consistent(config, inbox, share, state, reference, source_hashes)
    for life in sorted(tmp_path.glob("life-*.log")):
        log_records(life, killed=True)
    assert log_records(last_life)[-1]["event"] == "daemon_stopped"


def _drained(state: Path, log: Path) -> bool:
    """Every file published, and the daemon started (its signal handlers set, so it can be stopped
    cleanly): the earlier lives may have drained the backlog already."""
    return published_count(state) == FILES and b"daemon_started" in log.read_bytes()


def _assert_consistent(
    config: Path, inbox: Path, share: Path, state: Path, reference: Path, source_hashes: dict[str, str]
) -> None:
    assert temp_files(share) == []
    assert copies(share) == copies(reference) == sorted(source_hashes)  # each source once, nothing else
    assert tree_hashes(share) == tree_hashes(reference)  # byte-identical to the one-shot run
    assert tree_hashes(inbox) == source_hashes  # sources untouched
    with sqlite3.connect(state / LEDGER) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = ledger_rows(state)
    assert sorted(row["relative"] for row in rows) == sorted(source_hashes)
    for row in rows:
        assert row["status"] == "published", row
        assert Path(row["output"]) == share / row["relative"]
        assert (
            row["content_hash"]
            == "xxh3-128:" + xxhash.xxh3_128((inbox / row["relative"]).read_bytes()).hexdigest()
        )
    (watch,) = status_json(config)["watches"]
    assert (watch["published"], watch["pending"], watch["failed"]) == (FILES, 0, 0), watch
    for relative, digest in source_hashes.items():
        assert hashlib.sha256((inbox / relative).read_bytes()).hexdigest() == digest
