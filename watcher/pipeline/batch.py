"""Many files at once: walk the inputs, then run the pipeline over them in a pool of processes."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from watcher.errors import PublishError, SourceError
from watcher.pipeline.allocator import tune_allocator
from watcher.pipeline.process import process_file
from watcher.pipeline.publish import commit_staged, discard_staged, sync_folders, sync_pool
from watcher.pipeline.record import FileRecord
from watcher.privacy.zones import Zone
from watcher.rules.profile import Profile

# Below this many files a pool costs more to start than it saves.
_POOL_THRESHOLD = 16


@dataclass(frozen=True)
class Task:
    source: Path
    relative: PurePath
    destination: Path
    profile: Profile
    skip_reason: str | None = None
    zones: Mapping[str, Zone] = field(default_factory=dict)  # the configuration's private zones


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def walk_folder(root: Path) -> Iterator[tuple[Path, PurePath, str | None]]:
    """Files under ``root`` in a stable order; symlinks are reported, never followed."""
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _is_hidden(d) and not Path(folder, d).is_symlink())
        for name in sorted(names):
            path = Path(folder, name)
            relative = path.relative_to(root)
            if _is_hidden(name):
                continue
            yield path, relative, ("symbolic link (not followed)" if path.is_symlink() else None)


def collect(
    inputs: Iterable[Path], destination: Path, profile: Profile, zones: Mapping[str, Zone] | None = None
) -> list[Task]:
    """Tasks for files and folders (recursive), mirroring each folder's relative paths under destination."""
    tasks: list[Task] = []
    for given in inputs:
        if given.is_dir() and not given.is_symlink():
            for path, relative, skip in walk_folder(given):
                tasks.append(Task(path, relative, destination, profile, skip, zones or {}))
        else:
            skip = "symbolic link (not followed)" if given.is_symlink() else None
            tasks.append(Task(given, PurePath(given.name), destination, profile, skip, zones or {}))
    return tasks


def run_task(task: Task) -> FileRecord:
    """One task, never raising for a per-file problem: retryable errors become refusals here. A published
    file comes back "staged": ``commit`` publishes it."""
    if task.skip_reason is not None:
        return FileRecord(source=str(task.source), output=None, status="skipped", reason=task.skip_reason)
    try:
        # One-shot: the batch fsyncs each output folder once at its end (sync_outputs), and keeps no
        # ledger that would need the source's hash.
        return process_file(
            task.source,
            task.relative,
            task.destination,
            task.profile,
            zones=task.zones,
            stage=True,
            hash_source=False,
        )
    except (SourceError, PublishError) as err:
        return FileRecord(source=str(task.source), output=None, status="refused", reason=str(err))


def run_chunk(tasks: Sequence[Task]) -> list[FileRecord]:
    """Tasks in a worker process. If the worker is stopped (Ctrl-C), the outputs it staged but never handed
    back are removed: nobody else knows of them."""
    records: list[FileRecord] = []
    try:
        for task in tasks:
            records.append(run_task(task))
    except BaseException:
        discard_staged([record.staged for record in records if record.staged is not None])
        raise
    return records


def commit_records(records: Sequence[object], syncer: Executor | None = None) -> dict[int, str | None]:
    """Publish the staged FileRecords among ``records`` (fsync, on ``syncer``'s threads when given; rename;
    not their folders' fsync). Returns {index: None once published, or the reason it was not}."""
    staged = [
        (index, record.staged)
        for index, record in enumerate(records)
        if isinstance(record, FileRecord) and record.staged is not None
    ]
    errors = commit_staged([item for _, item in staged], syncer)
    return {index: error for (index, _), error in zip(staged, errors, strict=True)}


def commit(records: Sequence[FileRecord], syncer: Executor | None = None) -> list[FileRecord]:
    """``records`` with the staged ones published, or refused with the reason they could not be."""
    done = list(records)
    for index, error in commit_records(records, syncer).items():
        done[index] = records[index].committed(error)
    return done


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork is fastest to start, but is unsafe once other threads exist in this process.
    if threading.active_count() == 1:
        prepare_fork()
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


def prepare_fork() -> None:
    """Before forking workers: move every object alive now (the imported modules, mostly) out of the
    garbage collector's reach. Otherwise each worker's collections walk them all and, touching their
    reference counts, copy the parent's memory page by page into every worker."""
    gc.freeze()


def _chunks(tasks: list[Task], jobs: int) -> list[list[Task]]:
    """Chunks that shrink as the work runs out: large enough early on that the round trips do not show,
    a single file at the very end, so no process sits idle while another finishes a long chunk."""
    chunks = []
    start = 0
    while start < len(tasks):
        size = max(1, min(32, (len(tasks) - start) // (jobs * 4)))
        chunks.append(tasks[start : start + size])
        start += size
    return chunks


def run_all(tasks: list[Task], jobs: int) -> Iterator[FileRecord]:
    """Records in task order, produced by ``jobs`` processes (in-process when jobs is 1 or few files).

    The processes sanitize and stage; this process commits each chunk as it comes back, so the
    fsyncs overlap with the sanitizing of the next files. Stopped early (Ctrl-C, or the caller stops
    reading), the outputs staged and not yet committed are removed.
    """
    if jobs <= 1 or len(tasks) < _POOL_THRESHOLD:
        tune_allocator()
        for task in tasks:
            yield from commit([run_task(task)])
        return
    context = _pool_context()
    with (
        ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=tune_allocator) as pool,
        sync_pool() as syncer,
    ):
        futures = [pool.submit(run_chunk, chunk) for chunk in _chunks(tasks, jobs)]
        received: list[FileRecord] = []
        unread = 0  # futures[unread:] have not been read yet
        try:
            while unread < len(futures):
                received = futures[unread].result()
                unread += 1
                committed, received = commit(received, syncer), []
                yield from committed
        finally:
            if received or unread < len(futures):
                for future in futures[unread:]:
                    future.cancel()
                pool.shutdown(wait=True)
                _discard(received, futures[unread:])


def _discard(received: list[FileRecord], unread: list[Future[list[FileRecord]]]) -> None:
    """The staged outputs of an interrupted run: those received, and those of chunks finished since."""
    records = list(received)
    for future in unread:
        if future.done() and not future.cancelled() and future.exception() is None:
            records.extend(future.result())
    discard_staged([record.staged for record in records if record.staged is not None])


def output_folders(records: Sequence[object]) -> dict[Path, list[int]]:
    """The folders that received the published files among ``records`` (the copies and their companions),
    each with the indexes of the records that wrote there."""
    folders: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        if isinstance(record, FileRecord) and record.status == "published":
            for output in (record.output, *record.companions):
                if output:
                    # A string, not a Path per file: a large batch spent a noticeable share of its tail on them.
                    folders.setdefault(os.path.dirname(output), []).append(index)  # noqa: PTH120
    return {Path(folder): indexes for folder, indexes in folders.items()}


def sync_outputs(records: list[FileRecord]) -> None:
    """Make a batch's renames durable: one fsync per folder that received a file."""
    sync_folders(set(output_folders(records)))


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)))
