"""Every still picture of the real corpus through the stage: published clean, or refused with a reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from tests.conftest import corpus_files
from tests.oracle import assert_no_leaks
from watcher.errors import WatcherError
from watcher.faces import anonymize_image, verify_anonymized
from watcher.rules.profile import PUBLIC

STILLS = ("JPEG", "MPO", "PNG", "WEBP", "Extended WEBP", "GIF", "HEIC", "HEIF", "AVIF", "TIFF")


@pytest.mark.slow
def test_every_still_is_published_clean_or_refused(tmp_path: Path) -> None:
    published = []
    refused = 0
    for number, path in enumerate(corpus_files(*STILLS)):
        output = io.BytesIO()
        try:
            with path.open("rb") as source:
                result = anonymize_image(source, output, PUBLIC)
            verify_anonymized(output, PUBLIC, result)
        except WatcherError as err:
            assert str(err), path
            refused += 1
            continue
        target = tmp_path / f"{number}{result.extension}"
        target.write_bytes(output.getvalue())
        published.append(target)
    assert len(published) > refused
    assert_no_leaks(*published)
