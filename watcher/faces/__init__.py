"""Opt-in face anonymization (the ``faces`` extra): CenterFace on onnxruntime, shipped inside the package.

Import the stage lazily: ``watcher.faces.stage`` needs numpy, which only the extra installs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from watcher.faces.detect import Box
    from watcher.formats.base import Sanitized
    from watcher.formats.pillow import Image
    from watcher.rules.profile import Profile


def faces_available() -> bool:
    """True when the ``faces`` extra is installed and the packaged model loads."""
    from watcher.faces.model import extra_installed

    if not extra_installed():
        return False
    from watcher.faces import stage

    return stage.faces_available()


def set_default_threads(threads: int | None) -> None:
    """Detector threads per process from the config's `face_threads` (None: half the cores)."""
    from watcher.faces.model import set_default_threads as configure

    configure(threads)


def require_faces() -> None:
    """Raise ConfigError, with an install hint, when face anonymization cannot run."""
    from watcher.faces.model import extra_installed

    if not extra_installed():
        from watcher.errors import ConfigError

        raise ConfigError(
            "a rule has faces on, but the faces extra is missing: pip install 'sharesafe[faces]'"
        )
    from watcher.faces import stage

    stage.require_faces()


def anonymize_image(
    source: BinaryIO, output: BinaryIO, profile: Profile, *, threads: int | None = None
) -> Sanitized:
    from watcher.faces import stage

    return stage.anonymize_image(source, output, profile, threads=threads)


def verify_anonymized(output: BinaryIO, profile: Profile, result: Sanitized) -> None:
    from watcher.faces import stage

    stage.verify_anonymized(output, profile, result)


def detect_faces(image: Image.Image, *, threads: int | None = None) -> list[Box]:
    from watcher.faces import detect

    return detect.detect_faces(image, threads=threads)


__all__ = ["anonymize_image", "detect_faces", "faces_available", "require_faces", "verify_anonymized"]
