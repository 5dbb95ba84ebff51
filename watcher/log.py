"""Logging: structlog to stdout (journald keeps it), and the removal log of what was taken out of each file.

Event names form a closed list so a typo cannot invent a new event. Values removed from files never reach
either log: records carry tag names, categories and sizes only. File names are logged as JSON strings, so a
newline in a name cannot forge a log line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:  # the pipeline logs through this module: import the record type for annotations only
    import structlog

    from watcher.pipeline.record import FileRecord

EventName = Literal[
    "file_published",
    "file_refused",
    "file_skipped",
    "file_failed",
    "file_held",
    "file_deleted",
    "file_changed_while_settling",
    "scan_started",
    "scan_finished",
    "watch_started",
    "watch_stopped",
    "watch_restarted",
    "watch_polling",
    "source_missing",
    "config_reloaded",
    "config_rejected",
    "daemon_started",
    "daemon_stopping",
    "daemon_stopped",
    "backlog_progress",
    "temp_files_removed",
    "worker_crashed",
]


def configure_logging(*, json_output: bool | None = None, level: str = "info") -> None:
    """Console rendering on a terminal, JSON lines under systemd or when piped."""
    import logging

    import structlog

    if json_output is None:
        under_systemd = "INVOCATION_ID" in os.environ or "JOURNAL_STREAM" in os.environ
        json_output = under_systemd or not sys.stdout.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        # WriteLogger writes each record and its newline in one call, so a kill -9 cannot leave a record
        # whose line the next start would continue (print() writes the two separately).
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )


class _DeferredLogger:
    """Stands in for structlog's logger until the first message: importing structlog costs a one-shot
    `sharesafe clean` about a fifth of its start-up, and most runs of it never log an event."""

    _logger: Any = None  # structlog's lazy proxy, made once (it reads the configuration on each call)

    def __getattr__(self, name: str) -> Any:
        if _DeferredLogger._logger is None:
            import structlog

            _DeferredLogger._logger = structlog.get_logger("sharesafe")
        return getattr(_DeferredLogger._logger, name)


def get_logger() -> structlog.typing.FilteringBoundLogger:
    return cast("structlog.typing.FilteringBoundLogger", _DeferredLogger())


def record_line(record: FileRecord, watch: str | None = None) -> str:
    """One JSON line for the removal log (with ``watch``, the daemon's watch the file came from).
    ``ensure_ascii`` keeps control characters and invalid UTF-8 (surrogate-escaped names) as escapes, so
    every record is exactly one valid line."""
    fields = record.as_json()
    if watch is not None:
        fields["watch"] = watch
    return json.dumps(fields, ensure_ascii=True, sort_keys=False) + "\n"


class RemovalLogWriter:
    """Appends one JSON record per file. Reopens the file when logrotate moved it away (inode check)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._inode: int | None = None

    def _open(self) -> IO[str]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        handle = os.fdopen(fd, "a", encoding="utf-8")
        self._inode = os.fstat(fd).st_ino
        return handle

    def _current(self) -> IO[str]:
        try:
            moved = self._path.stat().st_ino != self._inode
        except FileNotFoundError:
            moved = True
        if self._handle is None or moved:
            if self._handle is not None:
                self._handle.close()
            self._handle = self._open()
        return self._handle

    def write(self, record: FileRecord, watch: str | None = None) -> None:
        self.write_many([(record, watch)])

    def write_many(self, records: Iterable[tuple[FileRecord, str | None]]) -> None:
        """Several (record, watch) pairs with one write (the daemon's batches)."""
        lines = "".join(record_line(record, watch) for record, watch in records)
        if not lines:
            return
        with self._lock:
            handle = self._current()
            handle.write(lines)
            handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
