"""`sharesafe report`: figures from the corpus originals, and a page that fetches nothing when opened."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from watcher.cli_report import add_report_command, summary_lines
from watcher.privacy.zones import Zone
from watcher.report.html import CSP, render, write_report
from watcher.report.scan import scan
from watcher.report.summary import Report, summarize

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


@pytest.fixture(scope="module")
def report() -> Report:
    return summarize(scan([CORPUS]), {"arezzo": Zone(43.4675, 11.8851, 2000), "nowhere": Zone(0.5, -150, 10)})


def test_the_corpus_report_finds_what_sharing_would_expose(report: Report) -> None:
    assert len(report.with_gps) >= 60
    assert report.clusters[0].place == "Arezzo, Italy" and report.clusters[0].count == 5
    assert report.zones == {"arezzo": 5, "nowhere": 0}
    assert "NIKON COOLPIX P6000" in report.devices
    assert report.serials and report.owners
    assert report.first is not None and report.last is not None and report.first.year >= 1990
    assert sum(report.hours) == sum(report.weekdays) > 100
    assert report.motion_photos >= 2 and report.with_thumbnails > 100


def test_the_terminal_summary_and_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_report_command(parser.add_subparsers())
    folder = CORPUS / "ianare__exif-samples/jpg/gps"
    args = parser.parse_args(["report", str(folder), "--html", str(tmp_path / "r.html")])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "precise GPS:         5 files" in printed and "Arezzo, Italy (5)" in printed
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o600
    assert summary_lines(summarize(()))[0].startswith("files scanned:       0")


def test_the_page_is_self_contained(report: Report, tmp_path: Path) -> None:
    page = render(report)
    assert f'content="{CSP}"' in page
    assert not re.search(r"(?i)\b(src|href|action|srcset)\s*=|url\(|@import|<script|<link|<iframe", page)
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.replace(CSP, ""))
    target = tmp_path / "r.html"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    write_report(report, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def _page_requests(page: Path, tmp_path: Path, screenshot: Path) -> list[str]:
    """URLs the page itself asked for, from Chromium's net log (the browser's own update checks, whose
    initiator is "not an origin", are not the page's)."""
    net_log = tmp_path / "net.json"
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={net_log}",
            "--window-size=1100,1500",
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    text = net_log.read_text(encoding="utf-8").rstrip()
    log = json.loads(text if text.endswith("}") else text.rstrip(",") + "]}")
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    return [
        event["params"]["url"]
        for event in log["events"]
        if names[event["type"]] == "URL_REQUEST_START_JOB"
        and event.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_chromium_renders_the_page_without_any_request(report: Report, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    write_report(report, page)
    screenshot = tmp_path / "report.png"
    assert _page_requests(page, tmp_path / "run", screenshot) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    # The detector itself works: a page that does load a remote picture shows up in the log.
    control = tmp_path / "control.html"
    control.write_text('<img src="http://example.invalid/pixel.png">', encoding="utf-8")
    assert _page_requests(control, tmp_path / "control", tmp_path / "control.png") == [
        "http://example.invalid/pixel.png"
    ]
