"""Workers: what a worker thread does with the jobs it took (see ``pool``): re-check each file, run them
through the pipeline as one batch (see ``batches``), record the outcomes in one ledger transaction.

No file is lost to a bug: an unexpected error is logged and the files are recorded as failed, to be
retried with back-off.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from watcher.daemon.batches import INTERNAL_ERROR, BatchRunner, Failed, Item, Outcome, Processor, run_batch
from watcher.daemon.ledger import Finished, Job, Ledger
from watcher.daemon.reconcile import forget_source
from watcher.daemon.release import output_stem, release_at, stem_of
from watcher.daemon.settle import snapshot_of
from watcher.daemon.watches import Watch
from watcher.errors import PublishError
from watcher.log import RemovalLogWriter, get_logger
from watcher.pipeline import FileRecord, process_file
from watcher.privacy.zones import Zone

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = ["JobRunner", "Processor", "in_thread"]

Key = tuple[str, str]
# A file that stays unchanged but structurally incomplete this long is processed anyway: the pipeline
# refuses a truncated file, and a later change retries it.
INCOMPLETE_GRACE_SECONDS = 60.0
_Ready = tuple[Watch, Job, Path]  # a job to process now, with its watch and source path

log = get_logger()


def in_thread(processor: Processor) -> BatchRunner:
    """A ``BatchRunner`` that sanitizes in the calling thread (tests, and a daemon without processes)."""
    return partial(run_batch, processor=processor)


class JobRunner:
    """Processes the jobs a worker thread took together: re-check each file, sanitize the batch, record the
    outcomes."""

    def __init__(
        self,
        watches: Callable[[], Mapping[str, Watch]],
        ledger: Ledger,
        removal_log: RemovalLogWriter,
        *,
        wall_clock: Callable[[], float] = time.time,
        runner: BatchRunner | None = None,
        is_complete: Callable[[Path], bool] | None = None,
    ) -> None:
        if is_complete is None:
            from watcher.pipeline.detect import is_complete as detect_complete

            is_complete = detect_complete
        self._watches = watches
        self._ledger = ledger
        self._removal_log = removal_log
        self._wall_clock = wall_clock
        self._run_batch = runner or in_thread(process_file)
        self._is_complete = is_complete
        self._held_reported: set[Key] = set()

    def __call__(self, jobs: Sequence[Job]) -> None:
        ready: list[_Ready] = []
        for job in jobs:
            with self._failing_on_bugs([job]):
                found = self._ready(job)
                if found is not None:
                    ready.append(found)
        # A file that failed before goes alone: if it crashes its worker process again, it takes no
        # first-time file down with it.
        fresh = [entry for entry in ready if not entry[1].retry]
        alone = [[entry] for entry in ready if entry[1].retry]
        for group in [fresh, *alone] if fresh else alone:
            self._run(group)

    @contextlib.contextmanager
    def _failing_on_bugs(self, jobs: Sequence[Job]) -> Iterator[None]:
        """A bug (or a crashed worker process): record the jobs as failed so they back off instead of
        spinning, and keep the worker thread alive."""
        try:
            yield
        except Exception:
            error = traceback.format_exc(limit=-3)
            for job in jobs:
                log.error("worker_crashed", watch=job.watch, source=job.relative, error=error)
            now = self._wall_clock()
            self._ledger.record_outcomes(
                [Finished(job, "failed", error=INTERNAL_ERROR) for job in jobs], now=now
            )

    def _ready(self, job: Job) -> _Ready | None:
        """The job with its watch and source when the file is to be processed now; None when it was
        handled otherwise."""
        watch = self._watches().get(job.watch)
        if watch is None:
            return None  # the watch was removed by a reload; its rows wait in case it comes back
        source = watch.source_path(job.relative)
        if not self._settled(watch, job, source) or self._held(watch, job, source):
            return None
        return watch, job, source

    def _run(self, group: list[_Ready]) -> None:
        recorded: list[tuple[Watch, Job, Outcome]] = []
        with self._failing_on_bugs([job for _, job, _ in group]):
            prepared = self._prepare(group)
            items = [item for _, _, item in prepared if isinstance(item, Item)]
            outcomes = self._run_batch(items) if items else []
            if len(outcomes) != len(items):
                raise RuntimeError(
                    f"the batch runner returned {len(outcomes)} outcomes for {len(items)} files"
                )
            given = iter(outcomes)
            done = [(w, job, next(given) if isinstance(item, Item) else item) for w, job, item in prepared]
            self._record(done)
            recorded = done
        batch_log = log.bind()  # bound once: a logger per line costs more than the line itself
        for watch, job, outcome in recorded:  # after the record: a failure to log must not undo it
            _log_outcome(batch_log, watch, job, outcome)

    def _prepare(self, group: list[_Ready]) -> list[tuple[Watch, Job, Item | Failed]]:
        """What to hand to the batch runner for each job, or why the job fails without it."""
        prepared: list[tuple[Watch, Job, Item | Failed]] = []
        unmounted: dict[str, Failed | None] = {}
        zones: dict[str, dict[str, Zone]] = {}  # one plain, picklable copy per watch and batch
        new_names: dict[str, list[tuple[str, str]]] = {}
        for watch, job, source in group:
            if watch.name not in unmounted:
                unmounted[watch.name] = _destination_problem(watch)
            problem = unmounted[watch.name]
            if problem is not None:
                prepared.append((watch, job, problem))
                continue
            profile = watch.config.profile
            stem = output_stem(job, profile)
            if stem is not None and stem != job.name:
                new_names.setdefault(watch.name, []).append((job.relative, stem))
            watch_zones = zones.setdefault(watch.name, dict(watch.zones))
            item = Item(source, PurePosixPath(job.relative), watch.destination, profile, stem, watch_zones)
            prepared.append((watch, job, item))
        for watch_name, names in new_names.items():  # stored before the publish, so a retry reuses them
            self._ledger.keep_names(watch_name, names)
        return prepared

    def _held(self, watch: Watch, job: Job, source: Path) -> bool:
        """A delayed profile: not yet time for this copy to appear (it waits in the ledger, held), unless a
        person released it early with `sharesafe release`."""
        if watch.config.profile.delay is None or self._ledger.is_released(job.watch, job.relative):
            return False
        release = release_at(source, watch.config.profile, job.arrival)
        if release is None or release <= self._wall_clock():
            return False
        self._ledger.hold(job.watch, job.relative, job.snapshot, release)
        log.info("file_held", watch=watch.name, source=job.relative, reason="delay", until=round(release))
        return True

    def _settled(self, watch: Watch, job: Job, source: Path) -> bool:
        """The file still has the identity it was queued with and looks finished; otherwise look later."""
        now = self._wall_clock()
        current = snapshot_of(source)
        if current is None:
            outcome = forget_source(watch, self._ledger, job.relative)
            if outcome == "source_missing":
                self._ledger.defer(job.watch, job.relative, job.snapshot, now + 60)  # share unmounted?
            elif outcome == "kept" and self._ledger.get(job.watch, job.relative) is not None:
                # Still there, but unreadable or no longer a regular file (a symlink, a folder).
                error = "the source is not a readable regular file"
                self._ledger.record_outcome(job, "failed", now=now, error=error)
            return False
        settle = watch.config.settle_seconds
        quiet_for = now - current.mtime_ns / 1e9
        # A modification time in the future (clock skew on a NAS) cannot say anything: rely on the stats.
        recent = 0 <= quiet_for < settle
        # Long unchanged: the structural check (it reads the tail of the file) cannot change the outcome.
        complete = quiet_for >= max(INCOMPLETE_GRACE_SECONDS, settle) or self._is_complete(source)
        if current != job.snapshot or recent or not complete:
            if (
                current == job.snapshot
                and not recent
                and (job.watch, job.relative) not in self._held_reported
            ):
                self._held_reported.add((job.watch, job.relative))  # once, not on every look
                log.info("file_held", watch=watch.name, source=job.relative, reason="structurally incomplete")
            self._ledger.defer(job.watch, job.relative, current, now + max(settle, 0.05))
            return False
        self._held_reported.discard((job.watch, job.relative))
        return True

    def _record(self, done: list[tuple[Watch, Job, Outcome]]) -> None:
        """The removal-log records first, then one ledger transaction: a kill between the two repeats the
        batch's records after the restart, but never loses one."""
        self._removal_log.write_many(
            (outcome, watch.name) for watch, _, outcome in done if isinstance(outcome, FileRecord)
        )
        finished: list[Finished] = []
        for watch, job, outcome in done:
            if isinstance(outcome, Failed):
                finished.append(Finished(job, "failed", error=outcome.reason))
            elif outcome.status == "staged":  # a runner that never committed it: nothing was published
                finished.append(Finished(job, "failed", error=INTERNAL_ERROR))
            elif outcome.status == "published":
                self._remove_replaced_output(watch, job.previous_output, outcome.output)
                name = stem_of(outcome.output, watch.config.profile)
                content_hash, output, profile_hash = outcome.source_hash, outcome.output, watch.profile_hash
                finished.append(Finished(job, "published", content_hash, output, None, profile_hash, name))
            else:
                finished.append(Finished(job, outcome.status, outcome.source_hash, error=outcome.reason))
        self._ledger.record_outcomes(finished, now=self._wall_clock())

    @staticmethod
    def _remove_replaced_output(watch: Watch, previous: str | None, current: str | None) -> None:
        # A new profile can change the output name (HEIC kept vs. converted): drop the copy it replaces.
        old = watch.output_path(previous)
        if old is not None and current is not None and old != Path(current):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


def _destination_problem(watch: Watch) -> Failed | None:
    try:
        watch.check_destination()
    except PublishError as error:
        return Failed(str(error))
    return None


def _log_outcome(logger: FilteringBoundLogger, watch: Watch, job: Job, outcome: Outcome) -> None:
    if isinstance(outcome, Failed):
        if outcome.detail is not None:
            logger.error("worker_crashed", watch=watch.name, source=job.relative, error=outcome.detail)
        logger.warning("file_failed", watch=watch.name, source=job.relative, reason=outcome.reason)
    elif outcome.status == "published":
        logger.info("file_published", watch=watch.name, source=job.relative, output=outcome.output)
    else:
        event = "file_refused" if outcome.status == "refused" else "file_skipped"
        logger.info(event, watch=watch.name, source=job.relative, reason=outcome.reason)
