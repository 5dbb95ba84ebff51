"""Daemon test fixtures: configs written as YAML and loaded by the real loader, a daemon factory, and a
check that no test leaves a thread behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from daemon_helpers import running

from watcher.pipeline import process_file
from watcher.rules.config import load_config


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config with one watch (``inbox`` -> ``share``) plus overrides; returns its path.

    The watch uses ``plain`` (strict, but keeping file names) so tests can name what they expect;
    ``family-plain`` is the family profile with names kept. Random names have tests of their own.
    """

    def write(watches: list[dict[str, Any]] | None = None, **top: Any) -> Path:
        (tmp_path / "inbox").mkdir(exist_ok=True)
        default_watch = {
            "name": "inbox",
            "source": str(tmp_path / "inbox"),
            "destination": str(tmp_path / "share"),
            "settle_seconds": 0.3,
            "profile": "plain",
        }
        document: dict[str, Any] = {
            "state_dir": str(tmp_path / "state"),
            "workers": 2,
            "profiles": {"plain": {"names": "keep"}, "family-plain": {"extends": "family", "names": "keep"}},
            **top,
            "watches": watches if watches is not None else [default_watch],
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path

    return write


@pytest.fixture
def start_daemon(write_config: Callable[..., Path]) -> Callable[..., Any]:
    """``with start_daemon(config_path=None, **Daemon options) as daemon:`` a daemon in a thread.

    Files are sanitized in the daemon's own threads (``processor=process_file``) unless a test asks for
    ``processes=True``: starting worker processes for every short test would only cost time; the process
    pool is covered by the burst test and by the tests that run `sharesafe run` itself.
    """

    def start(config_path: Path | None = None, *, processes: bool = False, **options: Any) -> Any:
        if not processes:
            options.setdefault("processor", process_file)
        path = config_path or write_config()
        return running(load_config(path), reload_config=lambda: load_config(path), **options)

    return start


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked:
            return
        time.sleep(0.05)
    raise AssertionError(f"threads left running: {[t.name for t in leaked]}")
