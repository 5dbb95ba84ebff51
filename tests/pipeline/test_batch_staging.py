"""Many files at once: workers stage, this process commits; an interrupted run leaves no temp file."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path, PurePath

import pytest

from tests.conftest import CORPUS
from watcher.pipeline import batch, process_file
from watcher.pipeline.batch import Task, collect, commit, run_all, run_chunk
from watcher.pipeline.publish import is_temp_name
from watcher.rules.profile import STRICT

KEEP_NAMES = dataclasses.replace(STRICT, names="keep")
PHOTO = CORPUS / "drewnoakes__metadata-extractor-images/jpg/Apple iPhone 6.jpg"


def _inbox(tmp_path: Path, count: int) -> Path:
    inbox = tmp_path / "in"
    inbox.mkdir()
    for n in range(count):
        shutil.copyfile(PHOTO, inbox / f"IMG_{n:03d}.jpg")
    return inbox


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_a_staged_file_is_published_only_by_its_commit(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    record = process_file(inbox / "IMG_000.jpg", PurePath("IMG_000.jpg"), out, KEEP_NAMES, stage=True)
    assert record.status == "staged" and record.staged is not None
    assert [is_temp_name(name) for name in _names(out)] == [True]
    [published] = commit([record])
    assert published.status == "published" and published.staged is None
    assert published.output == str(out / "IMG_000.jpg")
    assert _names(out) == ["IMG_000.jpg"]
    assert "staged" not in published.as_json().values()


def test_a_date_name_is_committed_at_once_so_its_placeholder_never_waits(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    by_date = dataclasses.replace(STRICT, names="date")
    record = process_file(inbox / "IMG_000.jpg", PurePath("IMG_000.jpg"), out, by_date, stage=True)
    assert record.status == "published" and record.staged is None
    assert [p.stat().st_size > 0 for p in out.iterdir()] == [True]


def test_run_all_publishes_every_file_in_order_from_worker_processes(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 40)
    out = tmp_path / "out"
    out.mkdir()
    records = list(run_all(collect([inbox], out, KEEP_NAMES), jobs=2))
    assert [Path(r.source).name for r in records] == [f"IMG_{n:03d}.jpg" for n in range(40)]
    assert {r.status for r in records} == {"published"}
    assert _names(out) == [f"IMG_{n:03d}.jpg" for n in range(40)]


def test_a_run_stopped_early_removes_what_it_staged_and_keeps_what_it_published(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path, 40)
    out = tmp_path / "out"
    out.mkdir()
    records = run_all(collect([inbox], out, KEEP_NAMES), jobs=2)
    first = next(records)
    records.close()  # as a Ctrl-C in the reader does
    assert first.status == "published"
    left = _names(out)
    assert "IMG_000.jpg" in left
    assert not [name for name in left if is_temp_name(name)]
    assert all((out / name).stat().st_size > 0 for name in left)


def test_a_worker_stopped_inside_a_chunk_removes_the_outputs_it_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path, 3)
    out = tmp_path / "out"
    out.mkdir()
    tasks = collect([inbox], out, KEEP_NAMES)
    real = batch.run_task

    def interrupted_at_the_third(task: Task) -> object:
        if task.source.name == "IMG_002.jpg":
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(batch, "run_task", interrupted_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        run_chunk(tasks)
    assert _names(out) == []


@pytest.mark.parametrize(("count", "jobs"), [(1, 2), (17, 2), (500, 2), (5000, 8)])
def test_chunks_cover_every_task_once_in_order_and_shrink_to_one_at_the_end(count: int, jobs: int) -> None:
    tasks = [Task(Path(f"{n}.jpg"), PurePath(f"{n}.jpg"), Path("out"), STRICT) for n in range(count)]
    chunks = batch._chunks(tasks, jobs)
    assert [task for chunk in chunks for task in chunk] == tasks
    sizes = [len(chunk) for chunk in chunks]
    assert max(sizes) <= 32
    assert sizes == sorted(sizes, reverse=True)  # no long chunk left for the end
    assert sizes[-jobs:] == [1] * min(jobs, len(sizes))
