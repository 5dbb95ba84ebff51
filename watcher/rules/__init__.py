"""Rule profiles and the config file: YAML -> frozen dataclasses, validated with FILE:LINE:COL messages."""

from watcher.rules.config import (
    Config,
    WatchConfig,
    default_config,
    find_config,
    load_config,
    parse_duration,
    profile_fingerprint,
)
from watcher.rules.profile import BUILTIN_PROFILES, STRICT, Profile

__all__ = [
    "BUILTIN_PROFILES",
    "STRICT",
    "Config",
    "Profile",
    "WatchConfig",
    "default_config",
    "find_config",
    "load_config",
    "parse_duration",
    "profile_fingerprint",
]
