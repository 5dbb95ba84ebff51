"""The kept ICC profile: colour data byte for byte, identity (date, device, private tags, translations) gone."""

from __future__ import annotations

import hashlib
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import CORPUS
from tests.icc_helpers import assert_same_colours, srgb_profile, tags
from watcher.errors import CorruptMedia
from watcher.formats.icc import clean_profile, is_clean, split_for_jpeg

SRGB = srgb_profile()


def corpus_profiles() -> dict[bytes, str]:
    """Every distinct ICC profile Pillow finds in the corpus's stills, with one file that carries it."""
    found: dict[bytes, str] = {}
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(path) as image:
                    icc = image.info.get("icc_profile")
        except Exception:
            continue
        if icc:
            found.setdefault(icc, str(path.relative_to(CORPUS)))
    return found


PROFILES = corpus_profiles()


def with_header(profile: bytes, **fields: bytes) -> bytes:
    offsets = {"date": 24, "maker": 48, "model": 52, "profile_id": 84, "reserved": 100}
    data = bytearray(profile)
    for name, value in fields.items():
        data[offsets[name] : offsets[name] + len(value)] = value
    return bytes(data)


def with_tags(entries: list[tuple[bytes, bytes]], header: bytes = SRGB[:128]) -> bytes:
    """A profile holding ``entries`` (signature, data) with a fresh tag table."""
    table, body = bytearray(struct.pack(">I", len(entries))), bytearray()
    start = 132 + 12 * len(entries)
    for signature, data in entries:
        table += struct.pack(">4sII", signature, start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    profile = bytearray(header) + table + body
    struct.pack_into(">I", profile, 0, len(profile))
    return bytes(profile)


def mluc(*records: tuple[bytes, str]) -> bytes:
    texts = [text.encode("utf-16-be") for _, text in records]
    head = b"mluc" + bytes(4) + struct.pack(">II", len(records), 12)
    offset, entries = 16 + 12 * len(records), b""
    for (language, _), text in zip(records, texts, strict=True):
        entries += struct.pack(">4sII", language, len(text), offset)
        offset += len(text)
    return head + entries + b"".join(texts)


def test_a_dated_profile_loses_its_date_and_its_informative_chromaticities_only() -> None:
    cleaned = clean_profile(SRGB)
    assert cleaned.removed == (("time", "ICC creation date"), ("other", "ICC tag 'chrm' (36 bytes)"))
    assert cleaned.data[24:36] == bytes(12)
    assert set(tags(cleaned.data)) == set(tags(SRGB)) - {b"chrm"}
    assert_same_colours(SRGB, cleaned.data)


def test_a_clean_profile_comes_back_as_the_same_bytes() -> None:
    clean = clean_profile(SRGB).data
    again = clean_profile(clean)
    assert again.data is clean and again.removed == ()
    assert is_clean(clean) and not is_clean(SRGB)


def test_curves_shared_by_three_tags_stay_shared() -> None:
    clean = clean_profile(SRGB).data
    (count,) = struct.unpack_from(">I", clean, 128)
    entries = {sig: (off, size) for sig, off, size in (struct.unpack_from(">4sII", clean, 132 + 12 * i) for i in range(count))}
    assert entries[b"rTRC"] == entries[b"gTRC"] == entries[b"bTRC"]
    assert len(clean) == struct.unpack_from(">I", clean, 0)[0]
    assert all(off % 4 == 0 for off, _ in entries.values())


def test_device_fields_private_tags_and_calibration_date_go() -> None:
    source = with_tags(
        [*tags(SRGB).items(), (b"mmod", b"mmod" + bytes(36)), (b"calt", b"dtim" + bytes(16)), (b"dscm", b"x" * 9)],
        header=with_header(SRGB[:128], maker=b"APPL", model=b"X123"),
    )
    cleaned = clean_profile(source)
    assert ("device", "ICC device maker and model") in cleaned.removed
    assert ("device", "ICC tag 'mmod' (40 bytes)") in cleaned.removed
    assert ("time", "ICC tag 'calt' (20 bytes)") in cleaned.removed
    assert ("text", "ICC tag 'dscm' (9 bytes)") in cleaned.removed
    assert cleaned.data[48:56] == bytes(8)
    assert not {b"mmod", b"calt", b"dscm", b"chrm"} & set(tags(cleaned.data))
    assert_same_colours(source, cleaned.data)


def test_a_translated_description_keeps_only_its_english_record() -> None:
    description = mluc((b"deDE", "Farbprofil"), (b"enUS", "Colour profile"), (b"frFR", "Profil"))
    source = with_tags([(b"desc", description), *((s, d) for s, d in tags(SRGB).items() if s != b"desc")])
    cleaned = clean_profile(source)
    assert ("text", "ICC desc in 2 other languages") in cleaned.removed
    kept = tags(cleaned.data)[b"desc"]
    assert struct.unpack_from(">I4s", kept, 8)[0] == 1
    assert kept.endswith("Colour profile".encode("utf-16-be")) and b"enUS" in kept
    assert is_clean(cleaned.data)


def test_a_profile_id_is_recomputed_from_the_new_bytes() -> None:
    source = with_header(SRGB, profile_id=b"\x11" * 16)
    clean = clean_profile(source).data
    zeroed = bytearray(clean)
    zeroed[44:48], zeroed[64:68], zeroed[84:100] = bytes(4), bytes(4), bytes(16)
    assert clean[84:100] == hashlib.md5(zeroed).digest()


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p[:100],
        lambda p: p[:36] + b"xxxx" + p[40:],
        lambda p: p[:128] + struct.pack(">I", 10_000) + p[132:],
        lambda p: p[:136] + struct.pack(">I", 10_000) + p[140:],
        lambda p: struct.pack(">I", len(p) + 50) + p[4:],
    ],
    ids=["short", "no-signature", "huge-table", "tag-outside", "size-past-end"],
)
def test_a_damaged_profile_is_refused(damage: object) -> None:
    with pytest.raises(CorruptMedia):
        clean_profile(damage(SRGB))  # type: ignore[operator]
    assert not is_clean(damage(SRGB))  # type: ignore[operator]


def test_a_large_profile_splits_into_numbered_jpeg_chunks() -> None:
    parts = split_for_jpeg(b"p" * 150_000, b"ICC_PROFILE\0")
    assert [part[12:14] for part in parts] == [b"\x01\x03", b"\x02\x03", b"\x03\x03"]
    assert b"".join(part[14:] for part in parts) == b"p" * 150_000
    assert max(len(part) for part in parts) <= 65533


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_mutation_gives_a_refusal_or_a_clean_profile(data: st.DataObject) -> None:
    profile = bytearray(data.draw(st.sampled_from(sorted(PROFILES, key=len)[:20] or [SRGB])))
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(profile) - 1))
        profile[index] = data.draw(st.integers(0, 255))
    try:
        cleaned = clean_profile(bytes(profile))
    except CorruptMedia:
        return
    assert is_clean(cleaned.data)


@pytest.mark.slow
def test_every_corpus_profile_renders_the_same_after_cleaning() -> None:
    assert len(PROFILES) >= 15, "the corpus carries many distinct colour profiles"
    readable = 0
    for profile, name in PROFILES.items():
        try:
            cleaned = clean_profile(profile)
        except CorruptMedia:
            continue
        readable += 1
        assert is_clean(cleaned.data), name
        try:
            assert_same_colours(profile, cleaned.data)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
    assert readable >= len(PROFILES) - 2


def test_a_description_in_one_other_language_is_relabelled_english() -> None:
    # Readers name a non-English description in the tag's name (ProfileDescription-de-DE), as they would a
    # caption's; the text itself is the profile's name and stays.
    description = mluc((b"deDE", "Farbprofil"))
    source = with_tags([(b"desc", description), *((s, d) for s, d in tags(SRGB).items() if s != b"desc")])
    cleaned = clean_profile(source)
    assert ("text", "ICC desc language tag") in cleaned.removed
    kept = tags(cleaned.data)[b"desc"]
    assert kept[16:20] == b"enUS" and kept.endswith("Farbprofil".encode("utf-16-be"))
    assert is_clean(cleaned.data)


def test_a_text_tag_whose_records_do_not_fit_makes_the_profile_unreadable() -> None:
    broken = b"mluc" + bytes(4) + struct.pack(">II", 5, 12) + b"enUS"
    source = with_tags([(b"desc", broken), *((s, d) for s, d in tags(SRGB).items() if s != b"desc")])
    with pytest.raises(CorruptMedia):
        clean_profile(source)
