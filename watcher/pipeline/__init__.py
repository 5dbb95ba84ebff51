"""detect -> plan -> sanitize -> verify -> publish -> record, each a small function."""

from watcher.pipeline.process import process_file
from watcher.pipeline.record import FileRecord

__all__ = ["FileRecord", "process_file"]
