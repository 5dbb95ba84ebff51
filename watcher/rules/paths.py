"""Durations and paths in the config: units, `~` and `$VARS`, defaults from the environment, overlap."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message: escaped (no forged lines) and cut short (no megabyte messages)."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)", re.IGNORECASE)
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)\}|(\w+))")


def parse_duration(text: str) -> float:
    """Seconds in "6h", "30m", "10s", "2d", "1h30m" or a plain number; ValueError when it is none of those."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    unitless = len(parts) > 1 and any(not unit for _, unit in parts)  # is "5m5" 5m5s? Better to ask.
    if not compact or unitless or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"{shown(text)} is not a duration; write a number with s, m, h or d, like 30m or 6h")
    seconds = sum(float(number) * _SECONDS_PER_UNIT[unit.lower()] for number, unit in parts)
    if not math.isfinite(seconds):
        raise ValueError(f"{shown(text)} is too long a duration")
    return seconds


def home_folder(env: Mapping[str, str]) -> Path:
    home = env.get("HOME", "")
    return Path(home) if Path(home).is_absolute() else Path.home()


def expand_path(text: str, env: Mapping[str, str], base: Path) -> Path:
    """``~`` and ``$VARS`` expanded (``$$`` is a literal ``$``), relative to ``base``, normalized.

    An unset variable is an error rather than an empty string: ``$UNSET/photos`` must not become ``/photos``.
    """

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        variable = match.group(2) or match.group(3)
        if variable not in env:
            raise ValueError(f"environment variable ${variable} is not set")
        return env[variable]

    expanded = _VARIABLE.sub(substitute, text)
    if expanded == "~" or expanded.startswith("~/"):
        expanded = str(home_folder(env)) + expanded[1:]
    elif expanded.startswith("~"):
        try:
            expanded = str(Path(expanded).expanduser())
        except RuntimeError:
            raise ValueError(f"unknown user in {shown(text)}") from None
    return Path(os.path.normpath(base / expanded))


def default_state_dir(env: Mapping[str, str]) -> Path:
    """$STATE_DIRECTORY (systemd's StateDirectory=), else $XDG_STATE_HOME/sharesafe, else ~/.local/state."""
    systemd = env.get("STATE_DIRECTORY", "").split(":")[0]
    if Path(systemd).is_absolute():
        return Path(systemd)
    xdg = env.get("XDG_STATE_HOME", "")
    if Path(xdg).is_absolute():  # the XDG spec says relative values are to be ignored
        return Path(xdg) / "sharesafe"
    return home_folder(env) / ".local" / "state" / "sharesafe"


def real_path(path: Path) -> Path:
    """``path`` through its symlinks (a link into a source is still inside it), as far as it exists."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return path


def is_within(inner: Path, outer: Path) -> bool:
    """True when ``inner`` is ``outer`` or below it (compare ``real_path``s)."""
    return inner == outer or outer in inner.parents
