"""Many files at once: walk the inputs, then run the pipeline over them in a pool of processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from watcher.errors import PublishError, SourceError
from watcher.pipeline.process import process_file
from watcher.pipeline.publish import sync_folders
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
    """One task, never raising for a per-file problem: retryable errors become refusals here."""
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
            sync_folder=False,
            hash_source=False,
        )
    except (SourceError, PublishError) as err:
        return FileRecord(source=str(task.source), output=None, status="refused", reason=str(err))


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork is fastest to start, but is unsafe once other threads exist in this process.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


def run_all(tasks: list[Task], jobs: int) -> Iterator[FileRecord]:
    """Records in task order, produced by ``jobs`` processes (in-process when jobs is 1 or few files)."""
    if jobs <= 1 or len(tasks) < _POOL_THRESHOLD:
        yield from map(run_task, tasks)
        return
    chunk = max(1, min(32, len(tasks) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
        yield from pool.map(run_task, tasks, chunksize=chunk)


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
