"""Running the independent oracle (`../shared/tools/leakcheck`, built on ExifTool) over outputs.

A kept ICC colour profile is part of the picture, and its header fields trip the oracle's name patterns:
`ProfileDateTime` (the profile's own creation date, matched as a time), localized
`ProfileDescriptionML-xx-XX` names (matched as "Description") and `Chromaticity*` (matched as "City").
`assert_no_leaks` therefore runs the oracle once plainly, checks that every flag is one of those ICC
header fields, then runs it again allowing exactly those tag names, which must exit 0. Nothing outside the
ICC_Profile group is ever allowed, and a `color_profile: remove` run needs no allowance at all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import LEAKCHECK

ICC_HEADER_FIELDS = re.compile(
    r"^(ProfileDateTime|ProfileDescriptionML-[A-Za-z]{2}-[A-Za-z]{2}|Chromaticity\w*)$"
)


def run_leakcheck(*paths: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LEAKCHECK), *extra, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=1200,
    )


def flagged_tags(stdout: str) -> list[tuple[str, str, str]]:
    """(line, group0, tag name) for every tag leakcheck flagged."""
    tags = []
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            key = parts[1]
            tags.append((line, key.partition(":")[0], key.rsplit(":", 1)[-1]))
    return tags


def assert_no_leaks(*paths: Path, allow_time: bool = False) -> str:
    """Assert the oracle finds nothing but kept-ICC header fields; returns its summary line."""
    extra = ("--allow-time",) if allow_time else ()
    first = run_leakcheck(*paths, extra=extra)
    assert first.returncode in (0, 1), first.stderr
    flagged = flagged_tags(first.stdout)
    not_icc = [
        line for line, group, name in flagged if group != "ICC_Profile" or not ICC_HEADER_FIELDS.match(name)
    ]
    assert not not_icc, "\n".join(not_icc[:40])
    allowances = sorted({f"ICC_Profile:{name}" for _, _, name in flagged})
    second = run_leakcheck(*paths, extra=extra + tuple(a for tag in allowances for a in ("--allow-tag", tag)))
    assert second.returncode == 0, second.stdout[-4000:]
    return second.stdout.strip().splitlines()[-1]
