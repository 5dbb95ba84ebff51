"""A batch: the files one worker takes from a backlog at once, sanitized in one call, synced once.

Handing a worker process one file at a time costs a round trip, a folder fsync and a ledger commit per file;
during a backlog that bookkeeping competed with the sanitizing itself for the cores. A batch is staged
(each file sanitized, verified and left complete in its temp file), then committed (each file fsynced and
renamed into place, then every folder that received files fsynced once), and only then recorded: whatever
it reports as published survives a power loss by the time the ledger records it. A worker process stages;
the daemon's thread commits, so the process takes its next batch while this one waits for the disk.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Protocol

from watcher.errors import PublishError, SourceError
from watcher.pipeline import FileRecord
from watcher.pipeline.batch import commit_records, output_folders
from watcher.pipeline.publish import sync_folders
from watcher.privacy.zones import Zone
from watcher.rules.profile import Profile


class Processor(Protocol):
    """``process_file``'s shape (tests may stand in their own)."""

    def __call__(
        self,
        source: Path,
        relative: PurePath,
        destination: Path,
        profile: Profile,
        *,
        name: str | None = None,
        zones: Mapping[str, Zone] | None = None,
        stage: bool = False,
    ) -> FileRecord: ...


@dataclass(frozen=True)
class Item:
    """One file of a batch. Items of one watch share their profile and zones objects, so pickling a batch
    for a worker process writes each of them once."""

    source: Path
    relative: PurePath
    destination: Path
    profile: Profile
    name: str | None
    zones: Mapping[str, Zone]


@dataclass(frozen=True)
class Failed:
    """A file to retry later: ``reason`` for the ledger; ``detail`` is the traceback of a bug, for the log."""

    reason: str
    detail: str | None = None


Outcome = FileRecord | Failed
INTERNAL_ERROR = "internal error (see the log)"
# Runs a batch somewhere (a worker process, or this thread): one outcome per item, in order.
BatchRunner = Callable[[Sequence[Item]], list[Outcome]]


def run_batch(
    items: Sequence[Item], processor: Processor, each: AbstractContextManager[object] | None = None
) -> list[Outcome]:
    """``stage_batch`` then ``commit_batch``, in this thread."""
    return commit_batch(stage_batch(items, processor, each))


def stage_batch(
    items: Sequence[Item], processor: Processor, each: AbstractContextManager[object] | None = None
) -> list[Outcome]:
    """Each item through ``processor`` (inside ``each``, entered anew per file), its output staged, not yet
    published. A file's own problem fails that file only."""
    return [_run_one(item, processor, each or contextlib.nullcontext()) for item in items]


def commit_batch(outcomes: Sequence[Outcome], syncer: Executor | None = None) -> list[Outcome]:
    """Publish a staged batch: each staged file fsynced (on ``syncer``'s threads when given) and renamed
    into place, then one fsync per folder that received a file. A file that cannot be published fails (and
    is redone under the same name)."""
    committed = list(outcomes)
    for index, error in commit_records(outcomes, syncer).items():
        record = outcomes[index]
        assert isinstance(record, FileRecord)
        committed[index] = Failed(error) if error else record.committed(None)
    return _synced(committed)


def _run_one(item: Item, processor: Processor, each: AbstractContextManager[object]) -> Outcome:
    try:
        with each:
            return processor(
                item.source,
                item.relative,
                item.destination,
                item.profile,
                name=item.name,
                zones=item.zones,
                stage=True,
            )
    except (SourceError, PublishError) as error:
        return Failed(str(error))
    except Exception:  # a bug with one file must not cost the others their publish
        return Failed(INTERNAL_ERROR, traceback.format_exc(limit=-3))


def _synced(outcomes: list[Outcome]) -> list[Outcome]:
    """``outcomes`` once the folders of its published files are synced; files in a folder that cannot be
    synced are not durably published, so they fail (and are redone under the same name)."""
    synced = list(outcomes)
    for folder, indexes in output_folders(outcomes).items():
        try:
            sync_folders({folder})
        except PublishError as error:
            for index in indexes:
                synced[index] = Failed(str(error))
    return synced
