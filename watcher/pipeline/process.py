"""One file through the pipeline: open -> detect -> plan -> sanitize -> verify -> publish -> record."""

from __future__ import annotations

import traceback
from pathlib import Path, PurePath
from typing import BinaryIO

from watcher.errors import PublishError, SourceError, UnsupportedFormat, WatcherError
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


def _publish(
    source: Path, relative: PurePath, destination: Path, profile: Profile, src: BinaryIO, state: SourceState
) -> FileRecord:
    handler, head = detect(src)
    if handler is None:
        raise UnsupportedFormat(describe_unsupported(head, state.size))
    digest = hash_stream(src)
    parts = check_relative(relative)
    with temp_output(destination, parts[:-1]) as out:
        result = _sanitize_and_verify(handler, src, out, profile)
        check_unchanged(src, state)
        name = naming.output_name(source, result)
        out.commit(name)
        bytes_out = out.size()
    output = destination.joinpath(*parts[:-1], name)
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
        notes=result.notes,
        source_sha256=digest,
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
