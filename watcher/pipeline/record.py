"""The record of one file's trip through the pipeline.

It is what `clean --json`, the removal log and the ledger hold.

It carries names of what was removed, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["published", "refused", "skipped"]


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
    source_sha256: str | None = None  # of the exact bytes that were sanitized (one consistent version)
    watch: str | None = None  # the daemon's watch name; None for `clean`
    companions: tuple[str, ...] = ()  # further files published from this source (a motion photo's video)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of `clean --json` and the removal log (one object per input)."""
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
            **({"watch": self.watch} if self.watch is not None else {}),
        }
