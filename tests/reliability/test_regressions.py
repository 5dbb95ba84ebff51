"""Replays every file in tests/reliability/regressions/: hostile inputs worth keeping as fixed bytes and
every case the fuzzer ever failed on (its reproducer, saved there with the handler's name as prefix).

Each must inspect and clean to a verified output or a WatcherError, go through the whole pipeline to a
published or refused record (never an internal error), and leave no output the oracle flags.
Found by fuzzing and fixed: a JPEG whose SOS length swallowed the EOI, so the trailers after it (Canon
VRD, FotoStation, IPTC values) were copied as "image data" (jpeg_coding.py now checks every kept coding
segment's structure); TIFFs whose mutated Compression claims JPEG over raw strips, published as an
undecodable image other readers take for a preview (tiff.py now refuses them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePath

import pytest

from tests.oracle import assert_no_leaks
from tests.reliability.reliability_helpers import FUZZ_PROFILE, exercise
from watcher.formats.registry import handler_named
from watcher.pipeline import process_file

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
CASES = sorted(path for path in REGRESSIONS.iterdir() if path.is_file())


def test_the_regression_folder_is_not_empty() -> None:
    assert CASES


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_a_regression_case_is_handled_cleanly(case: Path, tmp_path: Path) -> None:
    data = case.read_bytes()
    exercise(handler_named(case.name.split("-", 1)[0]), data)  # raises on anything but a WatcherError
    (tmp_path / "share").mkdir()
    record = process_file(case, PurePath(case.name), tmp_path / "share", replace(FUZZ_PROFILE, names="keep"))
    assert record.status in ("published", "refused"), record
    assert "internal error" not in (record.reason or ""), record.reason
    if record.status == "published":
        assert_no_leaks(Path(str(record.output)))
