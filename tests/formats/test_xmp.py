"""The XMP reader: classification of real packets and refusal of hostile ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CORPUS, corpus_files
from watcher.errors import CorruptMedia
from watcher.formats.jpeg_header import XMP_PREFIX
from watcher.formats.jpeg_segments import SOS, SegmentReader
from watcher.formats.xmp import filter_xmp, read_xmp
from watcher.rules.profile import CATEGORIES, FAMILY, STRICT, Profile


def _packets() -> list[bytes]:
    packets = []
    for path in corpus_files("JPEG", "MPO"):
        try:
            with path.open("rb") as handle:
                for item in SegmentReader(handle).segments():
                    if isinstance(item, bytes) or item.marker == SOS:
                        break
                    if item.marker == 0xE1 and item.payload.startswith(XMP_PREFIX):
                        packets.append(item.payload[len(XMP_PREFIX) :])
        except CorruptMedia:
            continue
    return packets


PACKETS = _packets()


def _well_formed(packet: bytes) -> bool:
    try:
        read_xmp(packet)
    except CorruptMedia:
        return False
    return True


def test_real_packets_are_read_and_classified() -> None:
    readable = [packet for packet in PACKETS if _well_formed(packet)]
    assert len(readable) > 40
    seen: set[str] = set()
    for packet in readable:
        for finding in read_xmp(packet):
            assert finding.category in CATEGORIES
            assert finding.name.startswith("XMP:")
            seen.add(finding.category)
    assert {"location", "time", "device", "text", "copyright", "identifiers", "people"} <= seen


def _findings_of(relative: str) -> dict[str, str]:
    path = CORPUS / relative
    with path.open("rb") as handle:
        for item in SegmentReader(handle).segments():
            if not isinstance(item, bytes) and item.payload.startswith(XMP_PREFIX):
                return {f.name: f.category for f in read_xmp(item.payload[len(XMP_PREFIX) :])}
    raise AssertionError(f"no XMP in {relative}")


def test_google_motion_photo_properties_are_trailer() -> None:
    findings = _findings_of("ente-io__motion_photos/assets/pixel_8.jpg")
    assert "trailer" in findings.values()


def test_doctype_and_entities_are_refused() -> None:
    laughs = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>'
    with pytest.raises(CorruptMedia, match="DOCTYPE"):
        read_xmp(laughs)


def test_malformed_packet_is_corrupt_media() -> None:
    with pytest.raises(CorruptMedia):
        read_xmp(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")


def test_attributes_and_elements_are_both_listed() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
        b' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:my="urn:example" exif:GPSLatitude="1,2N">'
        b"<dc:creator><rdf:Seq><rdf:li>Someone</rdf:li></rdf:Seq></dc:creator><my:Thing>x</my:Thing>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    found = {finding.name: finding.category for finding in read_xmp(packet)}
    assert found == {
        "XMP:exif:GPSLatitude": "location",
        "XMP:dc:creator": "copyright",
        "XMP:my:Thing": "other",
    }


@given(packet=st.sampled_from(PACKETS), cut=st.integers(0, 20_000), junk=st.binary(max_size=16))
@settings(max_examples=150, deadline=None)
def test_mutated_packets_fail_only_with_corrupt_media(packet: bytes, cut: int, junk: bytes) -> None:
    try:
        findings = read_xmp(packet[:cut] + junk + packet[cut:])
    except CorruptMedia:
        return
    assert all(finding.category in CATEGORIES for finding in findings)


KEEP_ALL = Profile(
    name="all",
    location="keep",
    time="date",
    device="keep",
    camera_settings="keep",
    people="keep",
    text="keep",
    copyright="keep",
)
READABLE = [packet for packet in PACKETS if _well_formed(packet)]


def test_strict_keeps_no_xmp_at_all() -> None:
    for packet in READABLE:
        assert filter_xmp(packet, STRICT).data is None


@pytest.mark.parametrize("profile", [FAMILY, KEEP_ALL], ids=["family", "keep-all-dates"])
def test_filtered_packets_hold_only_kept_simple_properties(profile: Profile) -> None:
    written = 0
    for packet in READABLE:
        filtered = filter_xmp(packet, profile)
        if filtered.data is None:
            continue
        written += 1
        findings = read_xmp(filtered.data)
        assert [finding.name for finding in findings] == list(filtered.kept)
        for finding in findings:
            assert finding.category in profile.kept_categories() - {"orientation"}
            if finding.category == "time":
                assert finding.value is not None and len(finding.value) == 10
    assert written > 20


def test_structures_are_never_copied() -> None:
    for packet in READABLE:
        kept = filter_xmp(packet, KEEP_ALL).kept
        assert not any(name.startswith(("XMP:mwg-rs:", "XMP:MP:RegionInfo")) for name in kept)


@given(packet=st.sampled_from(READABLE), cut=st.integers(0, 20_000), junk=st.binary(max_size=16))
@settings(max_examples=150, deadline=None)
def test_mutated_packets_filter_to_kept_categories_or_fail_cleanly(
    packet: bytes, cut: int, junk: bytes
) -> None:
    try:
        filtered = filter_xmp(packet[:cut] + junk + packet[cut:], KEEP_ALL)
    except CorruptMedia:
        return
    if filtered.data is not None:
        assert {finding.category for finding in read_xmp(filtered.data)} <= KEEP_ALL.kept_categories()
