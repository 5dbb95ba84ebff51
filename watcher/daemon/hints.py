"""What the main loop does with each hint: changed files start settling, arrived folders are rescanned,
departed files and folders are forgotten (and their copies removed with ``on_source_delete: delete``)."""

from __future__ import annotations

from pathlib import Path

from watcher.daemon.ledger import Ledger
from watcher.daemon.observer import Hint
from watcher.daemon.reconcile import forget_source
from watcher.daemon.reconciler import Reconciler
from watcher.daemon.settle import SettleQueue
from watcher.daemon.watches import Watch

# Files settling at once before further arrivals are left to a rescan: bounds the settle queue's memory
# (the rescan's own check of modification times stands in for the settle period).
SETTLE_LIMIT = 50_000


def handle_hint(
    watch: Watch, hint: Hint, settle: SettleQueue, ledger: Ledger, reconciler: Reconciler
) -> None:
    if hint.kind == "file_changed":
        relative = watch.wanted_file(hint.path)
        if relative is not None:
            key = (watch.name, relative.as_posix())
            if len(settle) >= SETTLE_LIMIT and key not in settle:
                reconciler.request(watch.name)
            else:
                settle.note(key, watch.source_path(key[1]), watch.config.settle_seconds)
        return
    relative = watch.relative_of(hint.path)
    if relative is None:
        return
    if hint.kind == "folder_arrived":
        # Folders moved in come with no event per file: scan them.
        if not watch.ignore.ignores_folder(relative, Path(hint.path)):
            reconciler.request(watch.name, relative)
        return
    if hint.kind == "folder_gone":
        gone = ledger.relatives_under(watch.name, relative.as_posix())
    else:
        gone = [relative.as_posix()]
    for name in gone:
        settle.forget((watch.name, name))
        forget_source(watch, ledger, name)
