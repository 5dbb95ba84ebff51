"""Fixtures shared by the format handlers' tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.formats.video_corpus import PublishedVideo, publish_corpus_videos
from watcher.errors import CorruptMedia


@pytest.fixture(scope="session")
def published_corpus_videos(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Path, PublishedVideo | CorruptMedia]:
    """The corpus videos published once for the whole run: several test modules look at the same
    outputs from different sides."""
    return publish_corpus_videos(tmp_path_factory.mktemp("published-videos"))
