"""The generic second check on every output, beside each handler's own verify().

It detects the output's format afresh from its bytes and lists what that format's reader finds in it:
every item must belong to a category the profile keeps. The handler's verify() proves structure and
lossless image data; this proves the keep-list with a reader chosen by content, not by trust.
"""

from __future__ import annotations

from typing import BinaryIO

from watcher.errors import VerifyFailed
from watcher.formats.base import Finding, Inventory, Sanitized
from watcher.formats.exif_gps import COARSE_TAGS
from watcher.formats.registry import SNIFF_BYTES, handler_for
from watcher.privacy.coarsen import is_cell_centre
from watcher.privacy.positions import positions_in
from watcher.rules.profile import Coarsen, Profile

COARSE_NAMES = frozenset(f"EXIF:{name}" for name in COARSE_TAGS.values())


def verify_output(
    output: BinaryIO, profile: Profile, result: Sanitized, read: Inventory | None = None
) -> None:
    """``read``: the output's inventory as its handler's verify() gathered it; used only when detection
    by content picks that same handler, else the output is inspected afresh."""
    output.seek(0)
    handler = handler_for(output.read(SNIFF_BYTES))
    output.seek(0)
    if handler is None:
        raise VerifyFailed(f"the output is not a recognizable {result.format} file")
    reusable = read is not None and read.format == handler.name
    inventory = read if read is not None and reusable else handler.inspect(output)
    output.seek(0)
    kept = profile.kept_categories()
    stray = sorted({f"{f.category}: {f.name}" for f in inventory.findings if f.category not in kept})
    if stray:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        raise VerifyFailed(f"the output still carries items the profile does not keep: {shown}")
    if isinstance(profile.location, Coarsen):
        _check_coarse(inventory.findings, profile.location.km)


def _check_coarse(findings: tuple[Finding, ...], km: float) -> None:
    """Under coarsening, the only location items are the EXIF GPS position, and it is a cell centre."""
    extra = sorted({f.name for f in findings if f.category == "location" and f.name not in COARSE_NAMES})
    if extra:
        raise VerifyFailed(f"the output keeps location items finer than a grid cell: {', '.join(extra[:5])}")
    for position in positions_in(findings):
        if not is_cell_centre(position.lat, position.lon, km):
            raise VerifyFailed(f"the output's {position.source} position is not a {km:g} km cell centre")
