"""Reconcile a source tree against the ledger: catch up on files that arrived while the daemon was down or
whose events were lost, and notice sources that went away.

A source root that is missing or empty while the ledger remembers files is read as "the share is not
mounted", never as "the user deleted everything": nothing is removed then.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from watcher.daemon.ledger import Ledger, Row
from watcher.daemon.settle import Snapshot
from watcher.daemon.watches import Watch
from watcher.log import get_logger

# Below this many remembered files an empty source is believable (the user emptied a small folder).
EMPTY_SOURCE_GUARD_ROWS = 10
# Scanned files are queued in ledger transactions of growing size: the first few reach the workers within
# milliseconds of start-up, and a large tree still costs few commits.
_FIRST_BATCH = 16
_BATCH = 500
Forgotten = Literal["forgotten", "kept", "source_missing"]

log = get_logger()


@dataclass(frozen=True)
class ReconcileReport:
    watch: str
    seen: int = 0
    queued: int = 0
    gone: int = 0
    skipped_reason: str | None = None


def needs_processing(row: Row | None, snapshot: Snapshot, profile_hash: str, watch: Watch) -> bool:
    """Whether a file with identity ``snapshot`` must be (re)processed, given its ledger row."""
    if row is None or row.snapshot != snapshot:
        return True
    if row.status == "published" and row.profile_hash != profile_hash:
        # Re-make under the new profile, unless the user deleted the copy: that choice stands.
        output = watch.output_path(row.output)
        return output is not None and os.path.lexists(output)
    # pending: already queued; failed: the back-off retries it; refused/skipped: only a change retries it.
    return False


def admit(ledger: Ledger, watch: Watch, relative: str, snapshot: Snapshot, now: float) -> bool:
    """Queue ``relative`` in the ledger when it needs processing; True when it was queued."""
    if not needs_processing(ledger.get(watch.name, relative), snapshot, watch.profile_hash, watch):
        return False
    ledger.mark_pending(watch.name, relative, snapshot, now)
    return True


def scan(watch: Watch, under: PurePosixPath | None = None) -> Iterator[tuple[str, Snapshot]]:
    """(relative path, identity) of every publishable file in the source (or the folder ``under``).

    Folders are judged once on the way down, so each file costs one name check (this runs over whole
    trees of 100,000 files).
    """
    if under is not None and watch.ignore.ignores_folder(under, watch.source / under):
        return
    prefix = "" if under is None else under.as_posix() + "/"
    folders = [(str(watch.source / under) if under else str(watch.source), prefix)]
    while folders:
        folder, relative_folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            relative = relative_folder + entry.name
            if not _storable(watch.name, relative) or watch.ignore.is_excluded(entry.path):
                continue
            if entry.is_dir(follow_symlinks=False):
                if watch.config.recursive and not watch.ignore.ignores_folder_name(entry.name):
                    folders.append((entry.path, relative + "/"))
            elif entry.is_file(follow_symlinks=False) and not watch.ignore.ignores_file_name(
                entry.name, relative
            ):
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    yield relative, Snapshot(info.st_size, info.st_mtime_ns, info.st_ino)


# (watch, name) of the names already reported as not storable: each is said once per run, not per scan.
_REPORTED_NAMES: set[tuple[str, str]] = set()


def _storable(watch_name: str, relative: str) -> bool:
    # Names that are not valid UTF-8 cannot be keys in the ledger; they are skipped (and not published).
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        if (watch_name, relative) not in _REPORTED_NAMES:
            _REPORTED_NAMES.add((watch_name, relative))
            reason = "the name is not valid UTF-8 (not published; rename it to publish it)"
            log.warning("file_skipped", watch=watch_name, source=relative, reason=reason)
        return False
    return True


def source_looks_unmounted(watch: Watch, ledger: Ledger) -> bool:
    """True when the source root is missing, or empty while the ledger remembers many of its files."""
    try:
        with os.scandir(watch.source) as entries:
            empty = next(entries, None) is None
    except OSError:
        return True
    return empty and ledger.count(watch.name) >= EMPTY_SOURCE_GUARD_ROWS


def forget_source(watch: Watch, ledger: Ledger, relative: str) -> Forgotten:
    """The source of ``relative`` seems gone: drop its row and, with ``on_source_delete: delete``, its copy.

    "kept" when the file is still there after all (renamed back, or only unreadable right now) or has no
    row; "source_missing" (nothing done) when the source root itself looks unmounted.
    """
    row = ledger.get(watch.name, relative)
    if row is None or not _really_gone(watch.source_path(relative)):
        return "kept"
    if source_looks_unmounted(watch, ledger):
        log.warning("source_missing", watch=watch.name, source=str(watch.source), action="nothing removed")
        return "source_missing"
    output = watch.output_path(row.output)
    if watch.config.on_source_delete == "delete" and output is not None:
        with contextlib.suppress(FileNotFoundError):
            output.unlink()
            log.info("file_deleted", watch=watch.name, source=relative, output=str(output))
    ledger.remove(watch.name, relative)
    return "forgotten"


def _really_gone(path: Path) -> bool:
    # Only "no such file" means gone: a folder that became unreadable must not cost the user its copies.
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def reconcile(
    watch: Watch,
    ledger: Ledger,
    clock: Callable[[], float],
    *,
    under: PurePosixPath | None = None,
    stop: threading.Event | None = None,
    queued_some: Callable[[], None] | None = None,
) -> ReconcileReport:
    """Queue every new or changed file; with ``under`` None also handle files whose source is gone."""
    if under is None and source_looks_unmounted(watch, ledger):
        log.warning("source_missing", watch=watch.name, source=str(watch.source), action="scan skipped")
        return ReconcileReport(watch.name, skipped_reason="source missing or empty")
    log.info("scan_started", watch=watch.name, folder=under.as_posix() if under else ".")
    seen: set[str] = set()
    queued = 0
    batch: list[tuple[str, Snapshot]] = []
    limit = _FIRST_BATCH
    for item in scan(watch, under):
        if stop is not None and stop.is_set():
            return ReconcileReport(watch.name, len(seen), queued, 0, "stopped")
        seen.add(item[0])
        batch.append(item)
        if len(batch) >= limit:
            queued += _queue_batch(watch, ledger, batch, clock())
            batch, limit = [], min(2 * limit, _BATCH)
            if queued and queued_some is not None:
                queued_some()  # let the workers start on a large catch-up while the scan goes on
    queued += _queue_batch(watch, ledger, batch, clock())
    gone = 0 if under is not None else _forget_missing(watch, ledger, seen)
    log.info("scan_finished", watch=watch.name, seen=len(seen), queued=queued, gone=gone)
    return ReconcileReport(watch.name, len(seen), queued, gone)


def _queue_batch(watch: Watch, ledger: Ledger, batch: list[tuple[str, Snapshot]], now: float) -> int:
    rows = ledger.rows_for(watch.name, [relative for relative, _ in batch])
    queued = [
        item for item in batch if needs_processing(rows.get(item[0]), item[1], watch.profile_hash, watch)
    ]
    ledger.mark_many_pending(watch.name, queued, now)
    return len(queued)


def _forget_missing(watch: Watch, ledger: Ledger, seen: set[str]) -> int:
    if not seen and ledger.count(watch.name) >= EMPTY_SOURCE_GUARD_ROWS:
        log.warning("source_missing", watch=watch.name, source=str(watch.source), action="nothing removed")
        return 0
    gone = 0
    for relative, _output in ledger.iter_outputs(watch.name):
        if relative not in seen and forget_source(watch, ledger, relative) == "forgotten":
            gone += 1
    return gone
