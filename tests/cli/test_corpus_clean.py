"""The whole real corpus through `sharesafe clean`, then the independent oracle over the outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from tests.conftest import CORPUS, load_manifest
from tests.oracle import assert_no_leaks

# ExifTool formats sharesafe publishes, mapped to the output formats it may produce.
SUPPORTED = {
    "JPEG",
    "MPO",
    "PNG",
    "WEBP",
    "Extended WEBP",
    "GIF",
    "TIFF",
    "HEIC",
    "HEIF",
    "AVIF",
    "MP4",
    "MOV",
    "3GP",
}
STILL = SUPPORTED - {"MP4", "MOV", "3GP"}

pytestmark = pytest.mark.slow


def pillow_opens(path: Path) -> bool:
    pillow_heif.register_heif_opener()
    try:
        with Image.open(path) as im:
            im.load()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    out = tmp_path_factory.mktemp("corpus-out")
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "clean", "--json", "-o", str(out), str(CORPUS)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode in (0, 1), proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    return out, {str(Path(r["source"]).relative_to(CORPUS)): r for r in records}


def test_leakcheck_finds_nothing_in_the_outputs(cleaned: tuple[Path, dict[str, dict[str, object]]]) -> None:
    out, records = cleaned
    published = [r for r in records.values() if r["status"] == "published"]
    assert published, "nothing was published"
    summary = assert_no_leaks(out)
    assert f"{len(published)} files" in summary


def test_leakcheck_finds_nothing_at_all_when_the_colour_profile_is_removed(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("profiles:\n  bare:\n    color_profile: remove\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "watcher",
            "clean",
            "-q",
            "-c",
            str(config),
            "-p",
            "bare",
            "-o",
            str(out),
            str(CORPUS),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert_no_leaks(out)


def test_every_openable_still_of_a_supported_format_is_published(
    cleaned: tuple[Path, dict[str, dict[str, object]]],
) -> None:
    _, records = cleaned
    expected = [
        r["path"] for r in load_manifest() if r["format"] in STILL and pillow_opens(CORPUS / r["path"])
    ]
    not_published = {p: records[p]["reason"] for p in expected if records[p]["status"] != "published"}
    assert not not_published
    assert len(expected) >= 250  # the corpus has ~300 decodable stills: refusing everything must fail


def test_every_input_has_a_record_and_each_refusal_a_specific_reason(
    cleaned: tuple[Path, dict[str, dict[str, object]]],
) -> None:
    _, records = cleaned
    media = [r["path"] for r in load_manifest()]
    assert set(media) <= set(records)
    for path, record in records.items():
        if record["status"] != "published":
            reason = str(record["reason"])
            assert reason and "internal error" not in reason, (path, reason)


def test_no_value_leaks_into_the_records(cleaned: tuple[Path, dict[str, dict[str, object]]]) -> None:
    _, records = cleaned
    # File names are the user's own (and here they spell camera models): check everything else.
    text = json.dumps([{k: v for k, v in r.items() if k not in ("source", "output")} for r in records.values()])
    # The camera models the corpus carries are values: the records may name the tag, never its content.
    models = {r["model"] for r in load_manifest() if len(r["model"]) >= 6}
    assert len(models) > 20
    leaked = sorted(m for m in models if m in text)
    assert not leaked
