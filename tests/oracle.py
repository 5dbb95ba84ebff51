"""Running the independent oracle (`../shared/tools/leakcheck`, built on ExifTool) over outputs.

It runs plainly, with no tag allowed: a kept ICC colour profile is reduced to its colour data (creation
date zeroed, one-language description; see watcher/formats/icc.py), so nothing in it trips the oracle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import LEAKCHECK


def run_leakcheck(*paths: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LEAKCHECK), *extra, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=1200,
    )


def assert_no_leaks(*paths: Path, allow_time: bool = False) -> str:
    """Assert the oracle exits 0 over ``paths``; returns its summary line."""
    result = run_leakcheck(*paths, extra=("--allow-time",) if allow_time else ())
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr)
    return result.stdout.strip().splitlines()[-1]
