"""Rule profiles: YAML -> frozen dataclasses, validated with FILE:LINE:COL messages."""

from watcher.rules.profile import BUILTIN_PROFILES, STRICT, Profile

__all__ = ["BUILTIN_PROFILES", "STRICT", "Profile"]
