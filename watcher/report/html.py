"""One self-contained HTML page: inline CSS and SVG only, and a Content-Security-Policy that forbids
every fetch, so opening the report cannot send the places in it anywhere."""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from watcher.report.geocode import land_cells
from watcher.report.summary import WEEKDAYS, Report

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#f4f6f8;border-radius:8px;padding:.6em 1em}
.card b{display:block;font-size:1.5em}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.2em .6em;border-bottom:1px solid #eee}td.n{text-align:right}
svg{background:#fff;max-width:100%;height:auto}.sea{fill:#eaf2fb}.land{fill:#cfd8c4}
.spot{fill:#d7301f;fill-opacity:.75;stroke:#fff}.bar{fill:#3b6ea5}.axis{font-size:10px;fill:#555}
.muted{color:#777}
"""
MAP_WIDTH, MAP_HEIGHT, CELL = 720, 360, 2  # 2 px per degree, equirectangular


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> str:
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{_e(c)}</td>' if isinstance(c, int) else f"<td>{_e(c)}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    if not body:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{body}</table>"


def _map(report: Report) -> str:
    land = "".join(f"M{c * CELL * 2} {r * CELL * 2}h4v4h-4z" for r, c in sorted(land_cells(2)))
    spots = "".join(
        f'<circle class="spot" cx="{(c.lon + 180) * CELL:.1f}" cy="{(90 - c.lat) * CELL:.1f}" '
        f'r="{3 + 2 * math.sqrt(c.count):.1f}"><title>{_e(c.place or "unknown place")}: {c.count}</title></circle>'
        for c in report.clusters
    )
    return (
        f'<svg viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" width="{MAP_WIDTH}" height="{MAP_HEIGHT}" role="img" '
        f'aria-label="map of photo places"><rect class="sea" width="{MAP_WIDTH}" height="{MAP_HEIGHT}"/>'
        f'<path class="land" d="{land}"/>{spots}</svg>'
    )


def _histogram(counts: Sequence[int], labels: Sequence[str], title: str) -> str:
    width, height, bar = 40 + 24 * len(counts), 150, 20
    top = max(counts) or 1
    bars = "".join(
        f'<rect class="bar" x="{30 + 24 * i}" y="{120 - 100 * n / top:.1f}" width="{bar}" '
        f'height="{100 * n / top:.1f}"><title>{_e(labels[i])}: {n}</title></rect>'
        f'<text class="axis" x="{40 + 24 * i}" y="135" text-anchor="middle">{_e(labels[i])}</text>'
        for i, n in enumerate(counts)
    )
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{_e(title)}">{bars}</svg>'


def _cards(report: Report) -> str:
    items = [
        ("files scanned", report.files),
        ("with precise GPS", len(report.with_gps)),
        ("places", len(report.clusters)),
        ("devices", len(report.devices)),
        ("serial numbers", len(report.serials)),
        ("owner names", len(report.owners)),
        ("motion photos", report.motion_photos),
        ("with thumbnails", report.with_thumbnails),
    ]
    return (
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{n}</b>{_e(t)}</div>' for t, n in items)
        + "</div>"
    )


def _counts(mapping: Mapping[str, int]) -> list[tuple[str, int]]:
    return list(mapping.items())


def render(report: Report) -> str:
    span = "no capture times found"
    if report.first and report.last:
        span = f"{report.first:%Y-%m-%d} to {report.last:%Y-%m-%d}"
    places = [(c.place or "unknown", c.count, f"{c.lat:.3f}, {c.lon:.3f}") for c in report.clusters]
    sections = [
        _cards(report),
        "<h2>Places</h2>",
        _map(report),
        f"<h2>Routines</h2><p>Time span: {_e(span)}. Photos by hour of day, and by weekday:</p>",
        _histogram(report.hours, [f"{h}" for h in range(24)], "photos by hour of day"),
        _histogram(report.weekdays, WEEKDAYS, "photos by weekday"),
        "<h2>Private zones</h2>",
        _table(("zone", "photos inside"), _counts(report.zones), "No zones configured (pass -c CONFIG)."),
        "<h2>Places in detail</h2>",
        _table(("nearest town", "photos", "position"), places, "No photo carries a position."),
        "<h2>Devices</h2>",
        _table(("device", "files"), _counts(report.devices), "No device names found."),
        "<h2>Serial numbers</h2>",
        _table(("serial number", "files"), _counts(report.serials), "No serial numbers found."),
        "<h2>Owner and artist names</h2>",
        _table(("name", "files"), _counts(report.owners), "No owner or artist names found."),
        "<h2>Files with precise GPS</h2>",
        _table(("file",), [(path,) for path in report.with_gps], "None."),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>sharesafe exposure report</title><style>{STYLE}</style></head><body>"
        "<h1>What these originals would expose</h1>"
        f'<p class="muted">{report.files} files, {report.unreadable} not readable as photos or videos. '
        "This page is self-contained and fetches nothing.</p>" + "".join(sections) + "</body></html>"
    )


def write_report(report: Report, path: Path) -> None:
    """Write the page readable by its owner only (0600): it holds the places and names it warns about."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        os.fchmod(stream.fileno(), 0o600)  # an existing file keeps its old mode otherwise
        stream.write(render(report))
