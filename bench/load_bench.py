"""Load: files arriving fast across nested folders while `sharesafe run` watches them.

    .venv/bin/python bench/load_bench.py [--files 20000] [--seconds 60] [--folders 200]

The daemon runs as a process on temp folders. A writer creates --files small JPEG/PNG files (temp name,
then rename into place, as sync tools do) spread evenly over --seconds across 4 x --folders nested
folders, created while the daemon runs. Measured: files lost (must be 0: every file has a ledger row and a
copy), time from the last arrival to the last copy, files/s over the whole run, the daemon's peak RSS
(VmHWM, main process and worker processes), and the watch mode the daemon logged (inotify or polling).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.reliability.daemon_process import (  # noqa: E402  (after the path set-up)
    copies,
    launch,
    log_records,
    photo_bytes,
    published_count,
    stop,
    wait_for,
    write_config,
)


def peak_rss_mb(pid: int) -> float:
    """VmHWM of ``pid`` and its children, summed (the workers are separate processes)."""
    total = 0
    for each in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


def arrive(inbox: Path, files: int, seconds: float, folders: int, sample_rss: Callable[[], float]) -> float:
    """Write the files at an even rate; returns the peak RSS seen meanwhile."""
    start = time.monotonic()
    peak = 0.0
    payloads = [photo_bytes(index) for index in range(64)]
    for index in range(files):
        folder = inbox / f"year-{index % 4}" / f"album-{index // 4 % folders:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        extension = ".png" if index % 64 % 4 == 3 else ".jpg"
        staging = folder / f".part-{index}"
        staging.write_bytes(payloads[index % 64])
        staging.rename(folder / f"IMG_{index:06d}{extension}")
        due = start + seconds * (index + 1) / files
        if index % 500 == 0:
            peak = max(peak, sample_rss())
        if (pause := due - time.monotonic()) > 0:
            time.sleep(pause)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--folders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sharesafe-load-") as temp:
        root = Path(temp)
        config = write_config(root, settle=1.0)
        log = root / "daemon.log"
        process = launch(config, log)
        try:
            wait_for(
                lambda: any(r["event"] == "daemon_started" for r in log_records(log, killed=True)),
                60,
                "start",
            )
            started = time.monotonic()
            peak = arrive(
                root / "inbox", args.files, args.seconds, args.folders, lambda: peak_rss_mb(process.pid)
            )
            arrived = time.monotonic()
            while published_count(root / "state") < args.files:
                peak = max(peak, peak_rss_mb(process.pid))
                if time.monotonic() - arrived > 1800:
                    break
                time.sleep(0.2)
            drained = time.monotonic()
            peak = max(peak, peak_rss_mb(process.pid))
        finally:
            stop(process, timeout=120)
        records = log_records(log)
        published = len(copies(root / "share"))
        result = {
            "files": args.files,
            "arrival_seconds": args.seconds,
            "published": published,
            "lost": args.files - published,
            "drain_after_last_arrival_s": round(drained - arrived, 2),
            "files_per_second_overall": round(args.files / (drained - started), 1),
            "peak_rss_mb": round(peak, 1),
            "watch_modes": sorted({str(r.get("mode")) for r in records if r["event"] == "watch_started"}),
            "polling_fallbacks": sum(1 for r in records if r["event"] == "watch_polling"),
            "failed_events": sum(1 for r in records if r["event"] in ("file_failed", "worker_crashed")),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
