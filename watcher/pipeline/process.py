"""One file through the pipeline: open -> detect -> plan -> sanitize -> verify -> publish -> record."""

from __future__ import annotations

import traceback
from pathlib import Path, PurePath
from typing import BinaryIO

from watcher.errors import (
    CorruptMedia,
    PublishError,
    SourceError,
    UnsupportedFormat,
    VerifyFailed,
    WatcherError,
)
from watcher.formats import livephoto, motion
from watcher.formats.base import Handler, Sanitized
from watcher.log import get_logger
from watcher.pipeline import limits, naming
from watcher.pipeline.detect import describe_unsupported, detect
from watcher.pipeline.publish import TempOutput, check_relative, temp_output
from watcher.pipeline.record import FileRecord
from watcher.pipeline.source import SourceState, check_unchanged, hash_stream, open_source
from watcher.pipeline.verify import verify_output
from watcher.rules.profile import Profile

limits.install()


def _refused(source: Path, reason: str, **fields: object) -> FileRecord:
    return FileRecord(source=str(source), output=None, status="refused", reason=reason, **fields)  # type: ignore[arg-type]


def _sanitize_and_verify(handler: Handler, src: BinaryIO, out: TempOutput, profile: Profile) -> Sanitized:
    result = handler.sanitize(src, out.file, profile)
    out.file.flush()
    src.seek(0)
    out.file.seek(0)
    handler.verify(out.file, src, profile, result)
    out.file.seek(0)
    verify_output(out.file, profile, result)
    return result


def _publish_motion_video(
    source: Path, destination: Path, folder: tuple[str, ...], src: BinaryIO, profile: Profile
) -> tuple[str, ...]:
    """Under `motion: separate`, publish a motion photo's embedded video beside the still."""
    src.seek(0)
    with temp_output(destination, folder) as out:
        result = motion.sanitize_motion_video(src, out.file, profile)
        if result is None:
            return ()
        out.file.seek(0)
        verify_output(out.file, profile, result)
        name = naming.companion_name(source, "motion", result)
        out.commit(name)
    return (str(destination.joinpath(*folder, name)),)


def _live_photo_video(handler: Handler, src: BinaryIO, profile: Profile) -> bool:
    if handler.name != "video" or profile.live_photo_video != "drop":
        return False
    found = livephoto.content_identifier(src) is not None
    src.seek(0)
    return found


def _publish(
    source: Path, relative: PurePath, destination: Path, profile: Profile, src: BinaryIO, state: SourceState
) -> FileRecord:
    handler, head = detect(src)
    if handler is None:
        raise UnsupportedFormat(describe_unsupported(head, state.size))
    if _live_photo_video(handler, src, profile):
        reason = "Live Photo video (the profile has live_photo_video: drop)"
        return FileRecord(source=str(source), output=None, status="skipped", reason=reason, format=handler.name)
    digest = hash_stream(src)
    parts = check_relative(relative)
    with temp_output(destination, parts[:-1]) as out:
        result = _sanitize_and_verify(handler, src, out, profile)
        check_unchanged(src, state)
        name = naming.output_name(source, result)
        out.commit(name)
        bytes_out = out.size()
    output = destination.joinpath(*parts[:-1], name)
    companions: tuple[str, ...] = ()
    notes = result.notes
    if profile.motion == "separate" and handler.name in ("jpeg", "heif"):
        try:
            companions = _publish_motion_video(source, destination, parts[:-1], src, profile)
        except (CorruptMedia, UnsupportedFormat, VerifyFailed) as err:
            # The still is published already; the video alone stays back, and the record says why.
            notes = (*notes, f"motion video not published: {err}")
    return FileRecord(
        source=str(source),
        output=str(output),
        status="published",
        format=result.format,
        removed=result.removed,
        kept=result.kept,
        bytes_in=state.size,
        bytes_out=bytes_out,
        lossless=result.lossless,
        notes=notes,
        source_sha256=digest,
        companions=companions,
    )


def process_file(source: Path, relative: PurePath, destination: Path, profile: Profile) -> FileRecord:
    """Sanitize ``source`` into ``destination / relative`` (extension fixed to the real format).

    Bad files come back as a refused record with a reason. Problems worth retrying later (the source
    vanished or changed, the destination is full or read-only) raise SourceError or PublishError.
    """
    src, state = open_source(source)
    with src:
        try:
            return _publish(source, relative, destination, profile, src, state)
        except (SourceError, PublishError):
            raise
        except WatcherError as err:
            return _refused(source, str(err), bytes_in=state.size, format=_format_name(src))
        except (MemoryError, RecursionError) as err:
            return _refused(source, f"the file needs more resources than allowed ({type(err).__name__})")
        except Exception as err:  # fail closed: a bug must not publish, nor stop the other files
            get_logger().error("file_failed", source=str(source), error=traceback.format_exc(limit=-3))
            return _refused(
                source, f"internal error while sanitizing ({type(err).__name__}); please report it"
            )


def _format_name(src: BinaryIO) -> str | None:
    try:
        handler, _ = detect(src)
    except OSError:
        return None
    return handler.name if handler else None
