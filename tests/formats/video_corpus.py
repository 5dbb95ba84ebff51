"""The corpus videos, published once for every video test (see ``conftest.published_corpus_videos``)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from tests.conftest import corpus_files
from watcher.errors import CorruptMedia
from watcher.formats.base import Sanitized
from watcher.formats.video import HANDLER
from watcher.rules.profile import STRICT

CORPUS_VIDEOS = corpus_files("MP4", "MOV", "3GP")


class PublishedVideo(NamedTuple):
    output: Path
    result: Sanitized


def publish_corpus_videos(folder: Path) -> dict[Path, PublishedVideo | CorruptMedia]:
    """Every corpus video sanitized and verified under `strict` into ``folder``: its output and result, or
    the refusal."""
    outcomes: dict[Path, PublishedVideo | CorruptMedia] = {}
    for index, source in enumerate(CORPUS_VIDEOS):
        output = folder / f"{index:03d}{source.suffix}"
        try:
            # Some corrupt samples carry no video brand; the handler must still refuse them cleanly.
            with source.open("rb") as reader, output.open("w+b") as writer:
                result = HANDLER.sanitize(reader, writer, STRICT)
                HANDLER.verify(writer, reader, STRICT, result)
        except CorruptMedia as error:
            output.unlink()
            outcomes[source] = error
            continue
        outcomes[source] = PublishedVideo(output, result)
    return outcomes
