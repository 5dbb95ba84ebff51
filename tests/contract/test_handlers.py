"""One contract, every handler in the registry: what any format must do, proven on real files.

Each handler: claims its own corpus samples and nothing else claims them; reads metadata into known
categories; cleans to nothing the strict profile forbids (its own verify and the generic keep-list check
agree); raises only CorruptMedia-family errors on truncated or garbled input; never writes its source.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tests.conftest import CORPUS, load_manifest
from watcher.errors import CorruptMedia, UnsupportedFormat, VerifyFailed, WatcherError
from watcher.formats.base import Handler, Sanitized
from watcher.formats.registry import FORMATS, SNIFF_BYTES, all_handlers, handler_for
from watcher.pipeline.verify import verify_output
from watcher.rules.profile import BUILTIN_PROFILES, CATEGORIES, STRICT

HANDLERS = all_handlers()

# ExifTool's format names per handler, to pick real samples from the manifest.
SAMPLE_FORMATS = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "webp": ("WEBP", "Extended WEBP"),
    "gif": ("GIF",),
    "tiff": ("TIFF",),
    "heif": ("HEIC", "HEIF"),
    "video": ("MP4", "MOV", "3GP"),
}
SAMPLES_PER_HANDLER = 4


def _samples(handler: Handler) -> list[Path]:
    """Up to a few real files of the handler's format that it can sanitize (the first ones that do)."""
    chosen: list[Path] = []
    rows = [r for r in load_manifest() if r["format"] in SAMPLE_FORMATS[handler.name]]
    # Files rich in metadata first (most has_* flags), small ones first among equals, to keep this fast.
    rows.sort(key=lambda r: (-sum(int(v) for k, v in r.items() if k.startswith("has_")), int(r["size_bytes"])))
    for row in rows:
        path = CORPUS / row["path"]
        data = path.read_bytes()
        if not handler.sniff(data[:SNIFF_BYTES]):
            continue
        try:
            handler.sanitize(io.BytesIO(data), io.BytesIO(), STRICT)
        except WatcherError:
            continue  # a damaged sample: the corpus tests cover those
        chosen.append(path)
        if len(chosen) == SAMPLES_PER_HANDLER:
            break
    return chosen


def _sanitize(handler: Handler, data: bytes) -> tuple[bytes, Sanitized]:
    out = io.BytesIO()
    result = handler.sanitize(io.BytesIO(data), out, STRICT)
    return out.getvalue(), result


_SAMPLE_CACHE: dict[str, list[Path]] = {}


def samples(handler: Handler) -> list[Path]:
    if handler.name not in _SAMPLE_CACHE:
        _SAMPLE_CACHE[handler.name] = _samples(handler)
    return _SAMPLE_CACHE[handler.name]


@pytest.fixture(params=HANDLERS, ids=lambda h: h.name)
def handler(request: pytest.FixtureRequest) -> Handler:
    h: Handler = request.param
    return h


def test_the_registry_names_each_handler_once() -> None:
    names = [h.name for h in HANDLERS]
    assert len(names) == len(set(names)) == len(SAMPLE_FORMATS)
    # Detection runs the registry's sniffers without loading the handlers: each agrees with its handler.
    assert [name for name, _sniff in FORMATS] == names
    for (_, sniff), h in zip(FORMATS, HANDLERS, strict=True):
        for path in samples(h):
            head = path.read_bytes()[:SNIFF_BYTES]
            assert sniff(head) == h.sniff(head) is True
    for h in HANDLERS:
        assert (h.extension.startswith(".") and h.extension in h.extensions) or h.name in ("heif", "video")


def test_claims_its_samples_and_no_other_handler_does(handler: Handler) -> None:
    found = samples(handler)
    assert found, f"no corpus sample for {handler.name}"
    for path in found:
        assert handler_for(path.read_bytes()[:SNIFF_BYTES]) is handler, path


def test_inspect_sorts_every_finding_into_a_known_category(handler: Handler) -> None:
    for path in samples(handler):
        inventory = handler.inspect(io.BytesIO(path.read_bytes()))
        assert inventory.findings, f"{path.name}: a real phone/camera file carries metadata"
        assert {f.category for f in inventory.findings} <= set(CATEGORIES)


def test_cleans_to_nothing_strict_forbids_and_verifies(handler: Handler) -> None:
    for path in samples(handler):
        data = path.read_bytes()
        before = hashlib.sha256(data).hexdigest()
        out, result = _sanitize(handler, data)
        handler.verify(io.BytesIO(out), io.BytesIO(data), STRICT, result)
        verify_output(io.BytesIO(out), STRICT, result)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert result.removed, f"{path.name}: nothing reported removed"
        names = [n for names in result.removed.values() for n in names]
        assert all(isinstance(n, str) and "\n" not in n for n in names)


@pytest.mark.parametrize("profile_name", ["strict", "family"])
def test_an_inventory_verify_returns_is_what_inspect_lists(handler: Handler, profile_name: str) -> None:
    # The generic check reuses it instead of reading the output again: it must not differ in any item.
    profile = BUILTIN_PROFILES[profile_name]
    for path in samples(handler):
        data = path.read_bytes()
        out = io.BytesIO()
        result = handler.sanitize(io.BytesIO(data), out, profile)
        read = handler.verify(io.BytesIO(out.getvalue()), io.BytesIO(data), profile, result)
        if read is not None:
            assert read == handler.inspect(io.BytesIO(out.getvalue())), path.name
            verify_output(io.BytesIO(out.getvalue()), profile, result, read)


def test_verify_rejects_an_output_with_metadata_appended(handler: Handler) -> None:
    path = samples(handler)[0]
    data = path.read_bytes()
    out, result = _sanitize(handler, data)
    tampered = out + b"GPSLatitude=48.8583;Owner=someone" * 4
    with pytest.raises(VerifyFailed):
        handler.verify(io.BytesIO(tampered), io.BytesIO(data), STRICT, result)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_input_raises_a_watcher_error_only(handler: Handler, cut: float) -> None:
    data = samples(handler)[0].read_bytes()
    truncated = data[: max(SNIFF_BYTES, int(len(data) * cut))]
    try:
        out, result = _sanitize(handler, truncated)
        handler.verify(io.BytesIO(out), io.BytesIO(truncated), STRICT, result)
    except WatcherError as err:
        assert str(err)
    # A truncation that still parses completely (e.g. cut inside a trailer) must verify clean.


def test_garbage_after_the_magic_is_corrupt_media(handler: Handler) -> None:
    data = samples(handler)[0].read_bytes()
    garbage = data[:16] + bytes(range(256)) * 8
    with pytest.raises((CorruptMedia, UnsupportedFormat)):
        out, result = _sanitize(handler, garbage)
        handler.verify(io.BytesIO(out), io.BytesIO(garbage), STRICT, result)
