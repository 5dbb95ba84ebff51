"""One file through the pipeline: open -> detect -> plan -> sanitize -> verify -> publish -> record."""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from watcher.formats.base import Handler
from watcher.log import get_logger
from watcher.pipeline import naming, privacy_stage
from watcher.pipeline.detect import describe_unsupported, detect
from watcher.pipeline.publish import Staged, check_relative, temp_output
from watcher.pipeline.record import FileRecord
from watcher.pipeline.sanitize import sanitize_and_verify
from watcher.pipeline.source import HashingReader, SourceState, check_unchanged, open_source
from watcher.pipeline.verify import verify_output
from watcher.privacy.zones import Zone
from watcher.rules.profile import Profile


def _refused(source: Path, reason: str, **fields: object) -> FileRecord:
    return FileRecord(source=str(source), output=None, status="refused", reason=reason, **fields)  # type: ignore[arg-type]


def _publish_motion_video(
    stem: str, destination: Path, folder: tuple[str, ...], src: BinaryIO, profile: Profile, mtime: float
) -> tuple[str, ...]:
    """Under `motion: separate`, publish a motion photo's embedded video beside the still."""
    from watcher.formats import motion  # loaded by the rule that needs it, like the other media rules

    src.seek(0)
    with temp_output(destination, folder) as out:
        result = motion.sanitize_motion_video(src, out.file, profile)
        if result is None:
            return ()
        out.file.seek(0)
        verify_output(out.file, profile, result)
        name = naming.companion_name(stem, "motion", result)
        privacy_stage.set_file_time(out, mtime)
        out.commit(name)
    return (str(destination.joinpath(*folder, name)),)


def _live_photo_video(handler: Handler, src: BinaryIO, profile: Profile) -> bool:
    if handler.name != "video" or profile.live_photo_video != "drop":
        return False
    from watcher.formats import livephoto

    found = livephoto.content_identifier(src) is not None
    src.seek(0)
    return found


def _publish(
    source: Path,
    relative: PurePath,
    destination: Path,
    profile: Profile,
    src: BinaryIO,
    state: SourceState,
    options: _Options,
) -> FileRecord:
    handler, head = detect(src)
    if handler is None:
        raise UnsupportedFormat(describe_unsupported(head, state.size))
    if _live_photo_video(handler, src, profile):
        reason = "Live Photo video (the profile has live_photo_video: drop)"
        return FileRecord(
            source=str(source), output=None, status="skipped", reason=reason, format=handler.name
        )
    now = options.now()
    decided = privacy_stage.plan(handler, src, profile, options.zones, now)
    if decided.held_by is not None:
        reason = f'held back by private zone "{decided.held_by}"'
        return FileRecord(
            source=str(source), output=None, status="skipped", reason=reason, format=handler.name
        )
    profile = decided.profile
    folder = privacy_stage.output_folder(check_relative(relative), profile)
    mtime = privacy_stage.output_time(profile, decided.capture, now)
    # A date name is reserved by an empty placeholder under that name: such a file is committed at once,
    # so the placeholder never stands in the share-safe folder for longer than a rename.
    placeholder = profile.names == "date" and options.name is None
    staged: Staged | None = None
    with temp_output(destination, folder) as out:
        result = sanitize_and_verify(handler, src, out, profile)
        digest = src.content_hash() if isinstance(src, HashingReader) else None
        check_unchanged(src, state)
        name = privacy_stage.choose_name(
            source, out.folder_fd, result, profile, options.name, decided.capture, now
        )
        try:
            privacy_stage.set_file_time(out, mtime)
            if options.stage and not placeholder:
                staged = out.stage(name)
            else:
                out.commit(name, sync_folder=not options.stage)
        finally:
            if not out.committed and placeholder:
                with contextlib.suppress(OSError):  # the empty placeholder reserving the date name
                    os.unlink(name, dir_fd=out.folder_fd)
        bytes_out = out.size()
    output = destination.joinpath(*folder, name)
    companions: tuple[str, ...] = ()
    notes = (*decided.notes, *result.notes)
    if profile.motion == "separate" and handler.name in ("jpeg", "heif"):
        try:
            stem = name[: -len(result.extension)] if name.endswith(result.extension) else Path(name).stem
            companions = _publish_motion_video(stem, destination, folder, src, profile, mtime)
        except (CorruptMedia, UnsupportedFormat, VerifyFailed) as err:
            # The still is published already; the video alone stays back, and the record says why.
            notes = (*notes, f"motion video not published: {err}")
    return FileRecord(
        source=str(source),
        output=str(output),
        status="published" if staged is None else "staged",
        format=result.format,
        removed=result.removed,
        kept=result.kept,
        bytes_in=state.size,
        bytes_out=bytes_out,
        lossless=result.lossless,
        notes=notes,
        source_hash=digest,
        companions=companions,
        staged=staged,
    )


@dataclass(frozen=True)
class _Options:
    name: str | None
    zones: Mapping[str, Zone]
    now: Callable[[], float]
    stage: bool


def process_file(
    source: Path,
    relative: PurePath,
    destination: Path,
    profile: Profile,
    *,
    name: str | None = None,
    zones: Mapping[str, Zone] | None = None,
    now: Callable[[], float] = time.time,
    stage: bool = False,
    hash_source: bool = True,
) -> FileRecord:
    """Sanitize ``source`` into ``destination / relative`` (extension fixed to the real format).

    ``name`` is an output stem chosen by the caller (the daemon keeps random names stable in its ledger);
    otherwise the profile's ``names`` rule picks one. ``zones`` are the configuration's private zones;
    ``now`` is the clock for publish times and date names. ``stage=True`` leaves a published output in its
    temp file, for the caller to commit with ``publish.commit_staged`` (the record's status is then
    "staged"); files it cannot stage are committed at once, and either way the folder's fsync is the
    caller's. ``hash_source=False`` skips the source's content hash (the record's ``source_hash`` is then None):
    only a ledger needs it.

    Bad files come back as a refused record with a reason. Problems worth retrying later (the source
    vanished or changed, the destination is full or read-only) raise SourceError or PublishError.
    """
    src, state = open_source(source, hashing=hash_source)
    with src:
        try:
            options = _Options(name, zones or {}, now, stage)
            return _publish(source, relative, destination, profile, src, state, options)
        except (SourceError, PublishError):
            raise
        except WatcherError as err:
            # What was read may mix two versions of a file rewritten meanwhile: read it again later
            # rather than refuse it for a corruption that was never in any one version.
            check_unchanged(src, state)
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
