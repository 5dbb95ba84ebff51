"""`sharesafe status` and the `run` command's configuration handling."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import copies, jpeg_bytes, wait_until

from watcher.cli import main


def test_status_reports_counts_errors_and_backlog(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Callable[..., Any], capsys: Any
) -> None:
    config = write_config()
    inbox = tmp_path / "inbox"
    with start_daemon(config) as daemon:
        (inbox / "a.jpg").write_bytes(jpeg_bytes(1))
        (inbox / "b.jpg").write_bytes(jpeg_bytes(2))
        (inbox / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
        wait_until(lambda: len(copies(tmp_path / "share")) == 2)
        wait_until(daemon.idle)
    capsys.readouterr()
    assert main(["status", "-c", str(config), "--json"]) == 0
    [watch] = json.loads(capsys.readouterr().out)["watches"]
    assert (watch["watch"], watch["published"], watch["refused"], watch["backlog"]) == ("inbox", 2, 1, 0)
    assert [error["source"] for error in watch["last_errors"]] == ["broken.jpg"]
    assert main(["status", "-c", str(config)]) == 0
    text = capsys.readouterr().out
    assert "inbox: 2 published, 1 refused" in text
    assert 'refused "broken.jpg"' in text


def test_status_before_the_first_run_says_so(write_config: Callable[..., Path], capsys: Any) -> None:
    assert main(["status", "-c", str(write_config())]) == 2
    assert "has not run" in capsys.readouterr().err


def test_run_without_a_config_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing-here"))
    if Path("/etc/sharesafe/config.yaml").exists():
        pytest.skip("this machine has a system-wide sharesafe config")
    assert main(["run"]) == 2
    assert "no config file" in capsys.readouterr().err


def test_run_with_an_invalid_config_reports_every_problem(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("watches:\n  - source: 3\n    colour: red\n", encoding="utf-8")
    assert main(["run", "-c", str(config)]) == 2
    errors = capsys.readouterr().err
    assert "bad.yaml:" in errors
