"""A stable short hash of what a profile does, so outputs made under other settings can be found again."""

from __future__ import annotations

import hashlib
import json

from watcher.rules.profile import Profile

# Bump when the meaning of a setting changes, so every output is redone under the new meaning.
FINGERPRINT_VERSION = 1


def profile_fingerprint(profile: Profile) -> str:
    """12 hex digits over the profile's settings (not its name): renaming a profile changes nothing."""
    settings = profile.as_dict()
    settings.pop("name", None)
    text = json.dumps({"version": FINGERPRINT_VERSION, "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
