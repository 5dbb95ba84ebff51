"""The sanitize stage: the handler's lossless rebuild, or a re-encode when a rule needs new pixels
(resize, face anonymization); then both verifications before anything may be published."""

from __future__ import annotations

import dataclasses
import io
from typing import BinaryIO

from watcher.errors import VerifyFailed
from watcher.formats.base import Handler, Inventory, Sanitized
from watcher.pipeline.detect import detect
from watcher.pipeline.publish import TempOutput
from watcher.pipeline.verify import verify_output
from watcher.rules.profile import Profile


def _verify_reencoded(output: BinaryIO, profile: Profile, result: Sanitized) -> None:
    """A re-encoded picture has no source pixels to match: the output's own handler checks its
    structure and metadata against a copy of itself."""
    output_handler, _ = detect(output)
    if output_handler is None:
        raise VerifyFailed("the re-encoded output is not a recognizable picture")
    copy = io.BytesIO(output.read())
    output.seek(0)
    output_handler.verify(output, copy, profile, result)


def _anonymized(handler: Handler, src: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
    """Faces anonymized (after the resize, when the profile has one: detection then works on fewer
    pixels and the picture is re-encoded once more at most)."""
    from watcher.faces import anonymize_image, verify_anonymized
    from watcher.privacy.resize import resize_sanitized

    resized: Sanitized | None = None
    if profile.resize is not None:
        staged = io.BytesIO()
        resized = resize_sanitized(handler, src, staged, profile, profile.resize)
        staged.seek(0)
        src = staged
    result = anonymize_image(src, output, profile)
    output.flush()
    output.seek(0)
    verify_anonymized(output, profile, result)
    if resized is None:
        return result
    # The first stage saw the original: its inventory is what was removed from the user's file.
    return dataclasses.replace(result, removed=resized.removed, notes=(*resized.notes, *result.notes))


def sanitize_and_verify(handler: Handler, src: BinaryIO, out: TempOutput, profile: Profile) -> Sanitized:
    inventory: Inventory | None = None
    still = handler.name != "video"
    if still and profile.faces != "off":
        result = _anonymized(handler, src, out.file, profile)
    elif still and profile.resize is not None:
        from watcher.privacy.resize import resize_sanitized  # Pillow: loaded by the rules that decode

        result = resize_sanitized(handler, src, out.file, profile, profile.resize)
        out.file.flush()
        out.file.seek(0)
        _verify_reencoded(out.file, profile, result)
    else:
        result = handler.sanitize(src, out.file, profile)
        out.file.flush()
        src.seek(0)
        out.file.seek(0)
        inventory = handler.verify(out.file, src, profile, result)
    out.file.flush()
    out.file.seek(0)
    verify_output(out.file, profile, result, inventory)
    return result
