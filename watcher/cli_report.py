"""`sharesafe report`: what a folder of originals would expose if shared as is."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.errors import ConfigError
from watcher.privacy.zones import Zone

if TYPE_CHECKING:  # the report machinery loads when the command runs, not with every other command
    from watcher.report.summary import Report

EPILOG = """examples:
  sharesafe report ~/Sync/Camera
  sharesafe report -c ~/.config/sharesafe/config.yaml ~/Sync/Camera --html exposure.html

Place names come from an offline list of towns shipped with the program: nothing is looked up online,
and the HTML page fetches nothing when opened (no map tiles, fonts or scripts)."""


def add_report_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser(
        "report",
        help="show what the originals would expose: places, routines, devices, serial numbers, names",
        description="Scan originals (folders recursively) and summarize what sharing them as is would "
        "reveal: files with precise GPS, the places they cluster in, photos inside each private zone, "
        "devices and serial numbers, owner and artist names, the time span and the hours and weekdays "
        "photos are taken on, motion photos and embedded thumbnails. Values are shown: this is your "
        "own terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "-c", "--config", type=Path, metavar="CONFIG", help="config file whose zones to count"
    )
    report.add_argument(
        "--html", type=Path, metavar="FILE", help="also write a self-contained page (mode 0600)"
    )
    report.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    report.set_defaults(func=cmd_report)


def _zones(config: Path | None) -> Mapping[str, Zone]:
    if config is None:
        return {}
    from watcher.rules.config import load_config

    return load_config(config).zones


def _top(mapping: Mapping[str, int], limit: int = 5) -> str:
    items = list(mapping.items())
    shown = ", ".join(f"{name} ({count})" for name, count in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "") if items else "none"


def summary_lines(report: Report) -> list[str]:
    from watcher.report.summary import WEEKDAYS

    span = f"{report.first:%Y-%m-%d} to {report.last:%Y-%m-%d}" if report.first and report.last else "unknown"
    busiest_hour = max(range(24), key=lambda hour: report.hours[hour]) if any(report.hours) else None
    busiest_day = (
        WEEKDAYS[max(range(7), key=lambda day: report.weekdays[day])] if any(report.weekdays) else None
    )
    places = ", ".join(f"{c.place or 'unknown'} ({c.count})" for c in report.clusters[:5]) or "none"
    return [
        f"files scanned:       {report.files} ({report.unreadable} not readable as photos or videos)",
        f"precise GPS:         {len(report.with_gps)} files",
        f"places:              {len(report.clusters)}: {places}",
        f"private zones:       {_top(report.zones)}",
        f"devices:             {_top(report.devices)}",
        f"serial numbers:      {_top(report.serials)}",
        f"owner/artist names:  {_top(report.owners)}",
        f"time span:           {span}",
        f"routine:             busiest hour {busiest_hour if busiest_hour is not None else '-'}:00, "
        f"busiest day {busiest_day or '-'}",
        f"motion photos:       {report.motion_photos}",
        f"with thumbnails:     {report.with_thumbnails}",
    ]


def cmd_report(args: argparse.Namespace) -> int:
    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        raise ConfigError(f"no such file or folder: {', '.join(missing)}")
    from watcher.report.html import write_report
    from watcher.report.scan import scan
    from watcher.report.summary import summarize

    report = summarize(scan(args.paths), _zones(args.config))
    for line in summary_lines(report):
        print(line)
    if args.html:
        write_report(report, args.html)
        print(f"wrote {args.html}")
    return 0
