"""The watch daemon: watchdog events -> settle queue -> ledger (SQLite) -> workers; signals; sd_notify.

The daemon itself is ``watcher.daemon.service.Daemon``. This package imports nothing on its own, so the
worker processes (``processes``) can be started before the rest of the daemon is loaded.
"""
