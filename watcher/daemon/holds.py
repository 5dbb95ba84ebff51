"""Held files (delayed publishing) in the ledger.

A held file is a ``pending`` row with ``held_until`` set to its release time (wall-clock seconds); its
``next_attempt`` is that time too, so the work queue reaches it when the delay is over. ``held_until`` is
NULL when the file was never held (or was held and then published), and -1 when a person released it early:
the worker then publishes it without holding it again. A new version of the file resets it to NULL, so the
new version is held afresh.
"""

from __future__ import annotations

import sqlite3
import threading

from watcher.daemon.settle import Snapshot

RELEASED = -1.0


def add_held_column(database: sqlite3.Connection) -> None:
    """Ledgers written before delayed publishing lack the column: add it (SQLite has no ADD IF NOT EXISTS)."""
    columns = {str(row[1]) for row in database.execute("PRAGMA table_info(files)")}
    if "held_until" not in columns:
        database.execute("ALTER TABLE files ADD COLUMN held_until REAL")


class Holds:
    """The hold methods of the ledger (mixed into ``Ledger``, which owns the connection and its lock)."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def hold(self, watch: str, relative: str, snapshot: Snapshot, until: float) -> None:
        """Hold a file until ``until``: like ``defer``, and marked as held so status can show it."""
        with self._lock:
            self._db.execute(
                """UPDATE files SET size=?, mtime_ns=?, inode=?, next_attempt=?, held_until=?
                WHERE watch=? AND relative=?""",
                (snapshot.size, snapshot.mtime_ns, snapshot.inode, until, until, watch, relative),
            )

    def held(self, watch: str) -> list[tuple[str, float]]:
        """(relative, release time) of the held files of ``watch``, soonest first."""
        with self._lock:
            found = self._db.execute(
                """SELECT relative, held_until FROM files
                WHERE watch=? AND status='pending' AND held_until > 0 ORDER BY held_until, relative""",
                (watch,),
            ).fetchall()
        return [(str(relative), float(until)) for relative, until in found]

    def release(self, watch: str, relative: str | None) -> int:
        """Publish held files early: the file ``relative``, everything under it when it is a folder, or
        every held file of ``watch`` when it is None. Returns how many were released."""
        where = "watch=? AND status='pending' AND held_until > 0"
        values: tuple[str, ...] = (watch,)
        if relative is not None:
            prefix = relative.rstrip("/") + "/"
            # "0" sorts right after "/": the range is exactly the paths inside the folder.
            where += " AND (relative=? OR (relative >= ? AND relative < ?))"
            values = (watch, relative.rstrip("/"), prefix, prefix[:-1] + "0")
        with self._lock:
            # Only constant SQL is formatted in; every value is bound.
            changed = self._db.execute(
                f"UPDATE files SET held_until=?, next_attempt=0 WHERE {where}",  # noqa: S608
                (RELEASED, *values),
            )
            return int(changed.rowcount)

    def is_released(self, watch: str, relative: str) -> bool:
        """A person released this version of the file early: publish it without holding it again."""
        with self._lock:
            found = self._db.execute(
                "SELECT held_until FROM files WHERE watch=? AND relative=?", (watch, relative)
            ).fetchone()
        return found is not None and found[0] is not None and float(found[0]) == RELEASED
