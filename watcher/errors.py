"""The one exception tree. Handlers fail only by raising one of these, with a reason a person can act on."""


class WatcherError(Exception):
    """Base of every error sharesafe raises on purpose. ``str(err)`` is the user-facing reason."""


class ConfigError(WatcherError):
    """The configuration or a rule profile is invalid. ``problems`` holds every problem found."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class UnsupportedFormat(WatcherError):
    """The file is of a kind sharesafe does not publish (RAW, PSD, documents, sidecars...)."""


class CorruptMedia(WatcherError):
    """The file claims a supported format but is truncated, malformed or hostile."""


class TooLarge(CorruptMedia):
    """The file would need more memory or pixels than the configured limits allow."""


class VerifyFailed(WatcherError):
    """The sanitized output, re-read before publishing, still carries something outside the keep-list."""


class PublishError(WatcherError):
    """The sanitized copy could not be written into the destination (disk full, read-only, unsafe path...)."""


class SourceError(WatcherError):
    """The source could not be read safely (vanished, permission denied, symlink out of the tree...)."""
