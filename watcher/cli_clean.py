"""`sharesafe clean`: the one-shot sanitizer over files and folders."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from watcher.errors import ConfigError
from watcher.log import RemovalLogWriter
from watcher.pipeline.batch import collect, default_jobs, run_all, sync_outputs
from watcher.pipeline.record import FileRecord
from watcher.privacy.zones import Zone
from watcher.rules.profile import BUILTIN_PROFILES, Profile

CLEAN_EPILOG = """\
examples:
  sharesafe clean -o ~/Share/Family ~/Sync/Camera
      every photo and video under ~/Sync/Camera, mirrored under ~/Share/Family
  sharesafe clean -p family -c config/example.yaml -o out IMG_1234.HEIC
      keep what the 'family' profile keeps (e.g. the day, camera settings)
  sharesafe clean --json --log removed.jsonl -o out photos/ | jq .status
      one JSON record per input on stdout, and appended to removed.jsonl

Files that cannot be sanitized and verified are not published; each is listed
with the reason. Sources are never modified. Exit 1 if any file was refused.
"""


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, metavar="CONFIG", help="config file with profiles")
    parser.add_argument(
        "-p", "--profile", default="strict", metavar="PROFILE", help="profile name (default: strict)"
    )


def load_profile(args: argparse.Namespace) -> Profile:
    return load_profile_and_zones(args)[0]


def load_profile_and_zones(args: argparse.Namespace) -> tuple[Profile, Mapping[str, Zone]]:
    """The chosen profile and the configuration's private zones (for `private_zones` rules)."""
    profiles: Mapping[str, Profile] = BUILTIN_PROFILES
    zones: Mapping[str, Zone] = {}
    if args.config:  # the YAML machinery is loaded only for a config file
        from watcher.rules.config import load_config

        config = load_config(args.config)
        profiles, zones = config.profiles, config.zones
    try:
        return profiles[args.profile], zones
    except KeyError:
        known = ", ".join(sorted(profiles))
        raise ConfigError(f"unknown profile {args.profile!r} (known: {known})") from None


def add_clean_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clean = sub.add_parser(
        "clean",
        help="write sanitized copies of files and folders into OUTDIR",
        description="Write a sanitized, verified copy of every photo and video given (folders are "
        "walked recursively) into OUTDIR, mirroring relative paths. Under `names: random` (the "
        "strict profile's) every run picks fresh random names: `--json` and `--log` record which "
        "output came from which source; the daemon keeps each source's random name stable.",
        epilog=CLEAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_profile_options(clean)
    clean.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="destination")
    clean.add_argument("--json", action="store_true", help="print one JSON record per input")
    clean.add_argument("--log", type=Path, metavar="FILE", help="append the records as JSON lines to FILE")
    clean.add_argument("-j", "--jobs", type=int, default=0, metavar="N", help="processes (default: cores)")
    clean.add_argument("-q", "--quiet", action="store_true", help="print only refusals and the summary")
    clean.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    clean.set_defaults(func=cmd_clean)


class Progress:
    """A one-line bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.enabled = stream.isatty() and total > 1
        self._last = 0.0

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            filled = int(30 * self.done / self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} files")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 60 + "\r")


def _print_record(record: FileRecord, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(record.as_json(), ensure_ascii=True))
    elif record.status == "refused":
        print(f"refused   {record.source}: {record.reason}", file=sys.stderr)
    elif not args.quiet:
        detail = "lossless" if record.lossless else "re-encoded"
        removed = sum(len(v) for v in record.removed.values())
        line = record.reason if record.status == "skipped" else f"{removed} items removed, {detail}"
        print(f"{record.status:<9} {record.source} -> {record.output or '-'} ({line})")


def _check_paths(args: argparse.Namespace) -> None:
    out = args.output.resolve()
    for path in args.paths:
        if not path.exists() and not path.is_symlink():
            raise ConfigError(f"{path}: no such file or folder")
        if path.is_dir() and (out == path.resolve() or path.resolve() in out.parents):
            raise ConfigError(f"the output folder {args.output} is inside the input {path}")


def cmd_clean(args: argparse.Namespace) -> int:
    profile, zones = load_profile_and_zones(args)
    _check_paths(args)
    args.output.mkdir(parents=True, exist_ok=True)
    tasks = collect(args.paths, args.output, profile, zones)
    log = RemovalLogWriter(args.log) if args.log else None
    counts: Counter[str] = Counter()
    progress = Progress(len(tasks), sys.stderr)
    started = time.monotonic()
    published: list[FileRecord] = []
    try:
        for record in run_all(tasks, args.jobs or default_jobs()):
            counts[record.status] += 1
            if record.status == "published":
                published.append(record)
            progress.step()
            if log:
                log.write(record)
            _print_record(record, args)
        sync_outputs(published)
    finally:
        progress.finish()
        if log:
            log.close()
    seconds = time.monotonic() - started
    summary = ", ".join(f"{counts[s]} {s}" for s in ("published", "refused", "skipped"))
    print(f"sharesafe: {summary} in {seconds:.1f} s", file=sys.stderr)
    return 1 if counts["refused"] else 0
