"""The daemon as a real process, for the crash, fault and load tests: configs, backlogs, launching,
watching the destination and the ledger from outside, and a one-shot `clean` reference run."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, PngImagePlugin

from tests.conftest import REPO

TEMP_PREFIX, TEMP_SUFFIX = ".sharesafe-", ".tmp"
LEDGER = "ledger.sqlite3"


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


def write_config(root: Path, *, settle: float = 0.3, **watch: Any) -> Path:
    """A config with one watch ``root/inbox -> root/share`` under ``plain`` (strict, names kept)."""
    document = {
        "state_dir": str(root / "state"),
        "workers": 2,
        "profiles": {"plain": {"extends": "strict", "names": "keep"}},
        "watches": [
            {
                "name": "inbox",
                "source": str(root / "inbox"),
                "destination": str(root / "share"),
                "profile": "plain",
                "settle_seconds": settle,
                **watch,
            }
        ],
    }
    (root / "inbox").mkdir(exist_ok=True)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def photo_bytes(index: int) -> bytes:
    """A small JPEG (with EXIF camera and GPS tags) or PNG (with a text chunk); pixels depend on index."""
    image = Image.new("RGB", (16, 16), (index % 251, (index // 251) % 251, 90))
    buffer = io.BytesIO()
    if index % 4 == 3:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", f"secret note {index}")
        image.save(buffer, format="PNG", pnginfo=info)
    else:
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Example", f"Camera {index}"  # Make, Model
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 18.0)}  # GPS IFD
        image.save(buffer, format="JPEG", quality=80, exif=exif.tobytes())
    return buffer.getvalue()


def fill_backlog(inbox: Path, count: int) -> dict[str, str]:
    """``count`` files in nested folders, old enough to count as settled; relative path -> sha256."""
    hashes = {}
    for index in range(count):
        extension = ".png" if index % 4 == 3 else ".jpg"
        relative = f"{index % 5}/{index % 3}/IMG_{index:05d}{extension}"
        path = inbox / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = photo_bytes(index)
        path.write_bytes(data)
        os.utime(path, (1_700_000_000, 1_700_000_000))
        hashes[relative] = hashlib.sha256(data).hexdigest()
    return hashes


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def launch(config: Path, log: Path, *, prefix: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """`sharesafe run -c config` with its output in ``log`` (``prefix``: a wrapper such as setpriv)."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [*prefix, sys.executable, "-m", "watcher", "run", "-c", str(config)],
            cwd=REPO,
            env=environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def clean_reference(config: Path, source: Path, output: Path) -> None:
    """The one-shot run the daemon's results must equal: `sharesafe clean` with the same profile."""
    command = [sys.executable, "-m", "watcher", "clean", "-c", str(config), "-p", "plain", "-q"]
    subprocess.run(
        [*command, "-o", str(output), str(source)],
        cwd=REPO,
        env=environment(),
        check=True,
        capture_output=True,
        timeout=600,
    )


def walk_files(root: Path) -> list[str]:
    """Every file under ``root`` (scandir: cheap enough to poll while a daemon writes there)."""
    found: list[str] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                found.append(Path(entry.path).relative_to(root).as_posix())
    return sorted(found)


def is_temp(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def copies(share: Path) -> list[str]:
    return [name for name in walk_files(share) if not is_temp(name)]


def temp_files(share: Path) -> list[str]:
    return [name for name in walk_files(share) if is_temp(name)]


def ledger_rows(state: Path) -> list[dict[str, Any]]:
    if not (state / LEDGER).exists():
        return []
    with sqlite3.connect(state / LEDGER, timeout=30) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute("SELECT * FROM files")]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []  # a daemon starting right now has created the file, not yet its table
            raise


def published_count(state: Path) -> int:
    try:
        return sum(1 for row in ledger_rows(state) if row["status"] == "published")
    except sqlite3.OperationalError:  # locked or mid-creation: look again
        return -1


def status_json(config: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "status", "-c", str(config), "--json"],
        cwd=REPO,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def log_records(log: Path, *, killed: bool = False) -> list[dict[str, Any]]:
    """Every line of a daemon's output must be one JSON object (names are escaped, never raw).

    A ``killed`` process may have lost the unfinished end of its output: a last line without its newline
    is left out.
    """
    data = log.read_bytes()
    if killed and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    return [json.loads(line.decode("utf-8")) for line in data.splitlines()]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    process.terminate()
    return process.wait(timeout=timeout)
