"""Output names that do not reveal the original: random names and capture-day names with a counter."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable
from datetime import datetime

RANDOM_BYTES = 10  # 80 bits, 16 base32 characters: collisions are not a practical concern
_DATE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})_(\d{4,})(?:\.[^.]+)+")


def random_stem() -> str:
    """A fresh random stem. Never derived from the source: a hash of the original would link copies.
    (os.urandom is what ``secrets.token_bytes`` calls; the secrets module would add hmac and hashlib to
    every start-up.)"""
    return base64.b32encode(os.urandom(RANDOM_BYTES)).decode("ascii").lower()


def date_prefix(capture: datetime | None, publish: datetime) -> str:
    """``2024-06-12``: the capture day, or the publish day when the capture time is unknown."""
    return (capture or publish).strftime("%Y-%m-%d")


def next_date_stem(prefix: str, existing: Iterable[str]) -> str:
    """``{prefix}_NNNN`` with a counter one above the highest already used for that day in ``existing``."""
    highest = 0
    for name in existing:
        match = _DATE_NAME.fullmatch(name)
        if match and match[1] == prefix:
            highest = max(highest, int(match[2]))
    return f"{prefix}_{highest + 1:04d}"
