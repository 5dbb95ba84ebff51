"""The generic second check on every output, beside each handler's own verify().

It detects the output's format afresh from its bytes and lists what that format's reader finds in it:
every item must belong to a category the profile keeps. The handler's verify() proves structure and
lossless image data; this proves the keep-list with a reader chosen by content, not by trust.
"""

from __future__ import annotations

from typing import BinaryIO

from watcher.errors import VerifyFailed
from watcher.formats.base import Sanitized
from watcher.formats.registry import SNIFF_BYTES, handler_for
from watcher.rules.profile import Profile


def verify_output(output: BinaryIO, profile: Profile, result: Sanitized) -> None:
    output.seek(0)
    handler = handler_for(output.read(SNIFF_BYTES))
    output.seek(0)
    if handler is None:
        raise VerifyFailed(f"the output is not a recognizable {result.format} file")
    inventory = handler.inspect(output)
    output.seek(0)
    kept = profile.kept_categories()
    stray = sorted({f"{f.category}: {f.name}" for f in inventory.findings if f.category not in kept})
    if stray:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        raise VerifyFailed(f"the output still carries items the profile does not keep: {shown}")
