"""The record of one file's trip through the pipeline.

It is what `clean --json`, the removal log and the ledger hold.

It carries names of what was removed, never values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from watcher.pipeline.publish import Staged

# "staged": sanitized and verified, waiting in its temp file to be committed (never reported as such).
Status = Literal["published", "refused", "skipped", "staged"]


@dataclass(frozen=True)
class FileRecord:
    source: str
    output: str | None
    status: Status
    format: str | None = None
    reason: str | None = None
    removed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    kept: tuple[str, ...] = ()
    bytes_in: int = 0
    bytes_out: int = 0
    lossless: bool | None = None
    notes: tuple[str, ...] = ()
    source_hash: str | None = None  # of the exact bytes that were sanitized (one consistent version)
    companions: tuple[str, ...] = ()  # further files published from this source (a motion photo's video)
    staged: Staged | None = None  # while the status is "staged": the temp file to commit

    def committed(self, error: str | None) -> FileRecord:
        """This staged record once ``publish.commit_staged`` has run: published, or refused with its error."""
        if error is None:
            return dataclasses.replace(self, status="published", staged=None)
        return dataclasses.replace(self, output=None, status="refused", reason=error, staged=None)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of `clean --json` and the removal log (one object per input; the daemon's log
        adds the watch name, see ``log.record_line``)."""
        return {
            "source": self.source,
            "output": self.output,
            "status": self.status,
            "format": self.format,
            "reason": self.reason,
            "removed": {k: list(v) for k, v in self.removed.items()},
            "kept": list(self.kept),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "lossless": self.lossless,
            "notes": list(self.notes),
            "companions": list(self.companions),
        }
