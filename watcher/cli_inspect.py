"""`sharesafe inspect` (what a file carries) and `sharesafe check` (audit already-shared files)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from watcher.cli_clean import add_profile_options, load_profile
from watcher.formats.base import Finding
from watcher.pipeline.batch import collect
from watcher.pipeline.inventory import Reading, read_inventory
from watcher.rules.profile import CATEGORIES, STRICT, Profile


def _grouped(findings: tuple[Finding, ...]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.category].append(finding)
    return {c: groups[c] for c in CATEGORIES if c in groups}


def _finding_json(finding: Finding, profile: Profile) -> dict[str, Any]:
    action = "keep" if profile.keeps(finding.category) else "remove"
    return {
        "category": finding.category,
        "name": finding.name,
        "value": finding.value,
        "size": finding.size,
        "action": action,
    }


def _print_inspect(reading: Reading, profile: Profile) -> None:
    print(f"{reading.path}")
    if reading.inventory is None:
        print(f"  cannot read: {reading.error}")
        return
    inv = reading.inventory
    size = f", {inv.width}x{inv.height}" if inv.width and inv.height else ""
    print(f"  format: {inv.format}{size}   (values below are sensitive: do not paste them publicly)")
    if not inv.findings:
        print("  no metadata found")
    for category, findings in _grouped(inv.findings).items():
        verdict = "kept" if profile.keeps(category) else "removed"
        print(f"  {category} ({len(findings)}, {verdict} by profile {profile.name!r}):")
        for f in findings:
            value = f" = {f.value}" if f.value is not None else ""
            blob = f" [{f.size:,} bytes]" if f.size is not None else ""
            print(f"    {f.name}{value}{blob}")


def cmd_inspect(args: argparse.Namespace) -> int:
    profile = load_profile(args)
    failed = 0
    for path in args.files:
        reading = read_inventory(path)
        failed += reading.inventory is None
        if args.json:
            inv = reading.inventory
            print(
                json.dumps(
                    {
                        "source": str(path),
                        "format": inv.format if inv else None,
                        "error": reading.error,
                        "width": inv.width if inv else None,
                        "height": inv.height if inv else None,
                        "findings": [_finding_json(f, profile) for f in inv.findings] if inv else [],
                    },
                    ensure_ascii=True,
                )
            )
        else:
            _print_inspect(reading, profile)
    return 1 if failed else 0


def _violations(reading: Reading) -> list[Finding]:
    if reading.inventory is None:
        return []
    return [f for f in reading.inventory.findings if not STRICT.keeps(f.category)]


def cmd_check(args: argparse.Namespace) -> int:
    bad = 0
    tasks = collect(args.paths, Path(), STRICT)
    for task in tasks:
        reading = read_inventory(task.source)
        found = _violations(reading)
        ok = reading.inventory is not None and not found
        bad += not ok
        if args.json:
            print(
                json.dumps(
                    {
                        "source": str(task.source),
                        "ok": ok,
                        "error": reading.error,
                        "format": reading.inventory.format if reading.inventory else None,
                        "violations": [{"category": f.category, "name": f.name} for f in found],
                    },
                    ensure_ascii=True,
                )
            )
        elif reading.inventory is None:
            print(f"UNREADABLE {task.source}: {reading.error}")
        elif found:
            names = ", ".join(f"{f.category}: {f.name}" for f in found[:6])
            more = f" and {len(found) - 6} more" if len(found) > 6 else ""
            print(f"CARRIES   {task.source}: {names}{more}")
    print(f"sharesafe: {len(tasks)} files checked, {bad} not share-safe", file=sys.stderr)
    return 1 if bad else 0


def add_inspect_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inspect = sub.add_parser(
        "inspect",
        help="show what a file carries and what the profile would remove",
        description="Show every metadata item in each file, grouped by category, with its value, and "
        "whether the profile keeps or removes it. Values are printed: this is your own terminal.",
        epilog="examples:\n  sharesafe inspect IMG_1234.HEIC\n  sharesafe inspect --json -p family *.jpg",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_profile_options(inspect)
    inspect.add_argument("--json", action="store_true", help="one JSON object per file")
    inspect.add_argument("files", nargs="+", type=Path, metavar="FILE")
    inspect.set_defaults(func=cmd_inspect)
    check = sub.add_parser(
        "check",
        help="audit already-shared files; exit 1 if any carries what 'strict' forbids",
        description="Read every file (folders recursively) with sharesafe's own readers and list those "
        "that carry anything the strict profile removes, or that cannot be read.",
        epilog="example:\n  sharesafe check ~/Share/Family && echo all clean",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--json", action="store_true", help="one JSON object per file")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.set_defaults(func=cmd_check)
