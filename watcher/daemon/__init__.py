"""The watch daemon: watchdog events -> settle queue -> ledger (SQLite) -> workers; signals; sd_notify."""

from watcher.daemon.service import Daemon

__all__ = ["Daemon"]
