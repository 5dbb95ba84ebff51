"""The ledger: the work queue on disk, outcomes that survive a restart, and its refusal of network disks."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.daemon import ledger as ledger_module
from watcher.daemon.ledger import Finished, Ledger, retry_delay
from watcher.daemon.mounts import filesystem_type, is_network_filesystem
from watcher.daemon.settle import Snapshot
from watcher.errors import ConfigError

A = Snapshot(100, 1_000, 7)
B = Snapshot(120, 2_000, 7)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    opened = Ledger.open(tmp_path / "state", retry_base_seconds=10)
    yield opened  # type: ignore[misc]
    opened.close()


def test_pending_files_are_handed_out_once_and_their_outcome_survives_a_reopen(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "state")
    ledger.mark_pending("w", "a.jpg", A, now=50)
    ledger.mark_pending("w", "b.jpg", A, now=60)
    jobs = ledger.due(now=100, limit=10, watches=["w"])
    assert [job.relative for job in jobs] == ["a.jpg", "b.jpg"]
    assert ledger.due(now=100, limit=10, watches=["w"], exclude={("w", "a.jpg")})[0].relative == "b.jpg"
    ledger.record_outcome(jobs[0], "published", now=101, content_hash="ab", output="/d/a.jpg", profile_hash="p1")
    ledger.close()
    reopened = Ledger.open(tmp_path / "state")
    row = reopened.get("w", "a.jpg")
    assert row is not None
    assert (row.status, row.content_hash, row.output, row.profile_hash, row.snapshot) == (
        "published",
        "ab",
        "/d/a.jpg",
        "p1",
        A,
    )
    assert [job.relative for job in reopened.due(now=100, limit=10, watches=["w"])] == ["b.jpg"]
    reopened.close()


def test_a_file_that_changed_while_processed_stays_pending(ledger: Ledger) -> None:
    ledger.mark_pending("w", "a.jpg", A, now=1)
    [job] = ledger.due(now=2, limit=1, watches=["w"])
    ledger.mark_pending("w", "a.jpg", B, now=3)  # a newer version settled meanwhile
    ledger.record_outcome(job, "published", now=4, output="/d/a.jpg")
    row = ledger.get("w", "a.jpg")
    assert row is not None and row.status == "pending" and row.snapshot == B


def test_failed_files_back_off_exponentially(ledger: Ledger) -> None:
    ledger.mark_pending("w", "a.jpg", A, now=0)
    for attempt, expected_delay in enumerate((10, 20, 40), start=1):
        [job] = ledger.due(now=1_000 * attempt, limit=1, watches=["w"])
        ledger.record_outcome(job, "failed", now=1_000 * attempt, error="destination is full")
        row = ledger.get("w", "a.jpg")
        assert row is not None and row.attempts == attempt
        assert row.next_attempt == 1_000 * attempt + expected_delay
        assert ledger.due(now=1_000 * attempt + expected_delay - 1, limit=1, watches=["w"]) == []
    assert ledger.counts("w")["failed"] == 1
    assert ledger.last_errors("w") == [("a.jpg", "failed", "destination is full")]
    assert retry_delay(50, 10) == 6 * 3600


def test_a_change_resets_the_attempts(ledger: Ledger) -> None:
    ledger.mark_pending("w", "a.jpg", A, now=0)
    [job] = ledger.due(now=1, limit=1, watches=["w"])
    ledger.record_outcome(job, "failed", now=1, error="x")
    ledger.mark_pending("w", "a.jpg", B, now=2)
    row = ledger.get("w", "a.jpg")
    assert row is not None and row.attempts == 0 and row.status == "pending"


def test_rows_under_a_folder(ledger: Ledger) -> None:
    for relative in ("2024/a.jpg", "2024/05/b.jpg", "2024-old/c.jpg", "2025/d.jpg", "2024"):
        ledger.mark_pending("w", relative, A, now=0)
    assert sorted(ledger.relatives_under("w", "2024")) == ["2024/05/b.jpg", "2024/a.jpg"]


def test_network_file_systems_are_recognized() -> None:
    mountinfo = "\n".join(
        [
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
            "40 27 0:50 / /mnt/nas rw,relatime shared:1 - nfs4 nas:/photos rw",
            r"41 27 0:51 / /mnt/my\040share rw,relatime - cifs //nas/share rw",
            "42 27 0:52 / /mnt/remote rw - fuse.sshfs me@host:/ rw",
        ]
    )
    assert filesystem_type(Path("/mnt/nas/2024/a.jpg"), mountinfo) == "nfs4"
    assert is_network_filesystem(Path("/mnt/my share/x"), mountinfo)
    assert is_network_filesystem(Path("/mnt/remote"), mountinfo)
    assert not is_network_filesystem(Path("/mnt/nasty"), mountinfo)
    assert not is_network_filesystem(Path("/home/me"), mountinfo)


def test_a_state_dir_on_a_network_file_system_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "is_network_filesystem", lambda _path: True)
    monkeypatch.setattr(ledger_module, "filesystem_type", lambda _path: "nfs4")
    with pytest.raises(ConfigError, match="network file system"):
        Ledger.open(tmp_path / "state")
    assert not (tmp_path / "state").exists()


def test_only_current_watches_and_idle_rows_count_as_due(ledger: Ledger) -> None:
    ledger.mark_pending("removed-watch", "old.jpg", A, now=0)
    ledger.mark_pending("w", "busy.jpg", A, now=1)
    ledger.mark_pending("w", "later.jpg", A, now=1)
    ledger.defer("w", "later.jpg", A, until=50)
    busy = {("w", "busy.jpg")}
    assert [job.relative for job in ledger.due(now=10, limit=5, watches=["w"], exclude=busy)] == []
    assert ledger.next_due(["w"], exclude=busy) == 50
    assert ledger.next_due(["w"]) == 1
    assert ledger.next_due(["nothing"]) is None


def test_a_failure_of_an_outdated_version_does_not_delay_the_new_one(ledger: Ledger) -> None:
    ledger.mark_pending("w", "a.jpg", A, now=1)
    [job] = ledger.due(now=2, limit=1, watches=["w"])
    ledger.mark_pending("w", "a.jpg", B, now=3)  # edited while being read
    ledger.record_outcome(job, "failed", now=4, error="the source changed while it was being read")
    row = ledger.get("w", "a.jpg")
    assert row is not None
    assert (row.status, row.attempts, row.next_attempt, row.snapshot) == ("pending", 0, 4, B)


def test_a_batch_of_outcomes_is_stored_together_each_by_its_own_rules(ledger: Ledger) -> None:
    for relative in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        ledger.mark_pending("w", relative, A, now=1)
    jobs = {job.relative: job for job in ledger.due(now=2, limit=10, watches=["w"])}
    assert not any(job.retry for job in jobs.values())
    ledger.mark_pending("w", "d.jpg", B, now=3)  # a newer version settled while the batch ran
    ledger.record_outcomes(
        [
            Finished(jobs["a.jpg"], "published", content_hash="aa", output="/d/a.jpg", profile_hash="p"),
            Finished(jobs["b.jpg"], "failed", error="the destination is full"),
            Finished(jobs["c.jpg"], "refused", error="not a photo"),
            Finished(jobs["d.jpg"], "published", output="/d/d.jpg"),
        ],
        now=4,
    )
    rows = ledger.rows_for("w", ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
    assert {relative: (row.status, row.attempts) for relative, row in rows.items()} == {
        "a.jpg": ("published", 0),
        "b.jpg": ("failed", 1),
        "c.jpg": ("refused", 0),
        "d.jpg": ("pending", 0),
    }
    assert (rows["a.jpg"].content_hash, rows["a.jpg"].output, rows["b.jpg"].next_attempt) == ("aa", "/d/a.jpg", 14)
    [newer, retry] = ledger.due(now=20, limit=10, watches=["w"])  # pending first, then failed
    assert (newer.relative, newer.retry) == ("d.jpg", False)
    assert (retry.relative, retry.retry) == ("b.jpg", True)  # a failed file is handed out as a retry


def test_names_kept_for_a_batch_come_back_with_the_jobs(ledger: Ledger) -> None:
    ledger.mark_pending("w", "a.jpg", A, now=1)
    ledger.mark_pending("w", "b.jpg", A, now=1)
    ledger.keep_names("w", [("a.jpg", "k3x9"), ("b.jpg", "p2q7")])
    assert {job.relative: job.name for job in ledger.due(now=2, limit=10, watches=["w"])} == {
        "a.jpg": "k3x9",
        "b.jpg": "p2q7",
    }
