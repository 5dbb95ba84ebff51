"""A run loads the code its files need: cleaning JPEGs never imports Pillow, HEIF, TIFF or video code.

Start-up is a fixed cost of every `clean` and every daemon start; the lossless JPEG path needs none of
these. Checked by what is imported, not by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS

PHOTO = CORPUS / "drewnoakes__metadata-extractor-images/jpg/Apple iPhone 6.jpg"
SCRIPT = """
import json, sys
from watcher.cli import main
code = main(["clean", "-q", "-j", "1", "-o", sys.argv[1], sys.argv[2]])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
NEVER_FOR_A_JPEG = (
    "PIL",
    "watcher.formats.heif",
    "watcher.formats.tiff",
    "watcher.formats.png",
    "watcher.formats.webp",
    "watcher.formats.gif",
    "watcher.formats.video",
    "watcher.formats.motion",
    "watcher.formats.jpeg_orient",
    "watcher.privacy.resize",
    "watcher.faces",
)


def test_cleaning_a_jpeg_loads_no_other_format_nor_pillow(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "out"), str(PHOTO)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] == 0
    assert "watcher.formats.jpeg" in report["modules"]
    assert [name for name in NEVER_FOR_A_JPEG if name in report["modules"]] == []
