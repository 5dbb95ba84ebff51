"""The stage end to end: upright, anonymized, re-encoded with nothing carried over, or refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

pytest.importorskip("onnxruntime")

from faces_helpers import load_labels

from tests.conftest import CORPUS
from tests.icc_helpers import assert_same_colours
from tests.oracle import assert_no_leaks
from watcher.errors import ConfigError, CorruptMedia, TooLarge, UnsupportedFormat
from watcher.faces import anonymize_image, verify_anonymized
from watcher.formats.base import Sanitized
from watcher.rules.profile import PUBLIC, Profile

NO_COLOUR_PROFILE = Profile(name="bare", faces="blur", color_profile="remove")
ORIENTATION = 0x0112


def run(data: bytes, profile: Profile = PUBLIC) -> tuple[bytes, Sanitized]:
    output = io.BytesIO()
    result = anonymize_image(io.BytesIO(data), output, profile, threads=1)
    verify_anonymized(output, profile, result)
    return output.getvalue(), result


def labelled(name: str) -> tuple[Image.Image, tuple[tuple[int, int, int, int], ...]]:
    entry = next(item for item in load_labels() if item.name == name)
    assert entry.boxes is not None
    with Image.open(entry.path) as image:
        return image.convert("RGB"), tuple(tuple(map(int, box)) for box in entry.boxes)  # type: ignore[misc]


def encoded(image: Image.Image, format_name: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def changed(before: Image.Image, after: Image.Image, box: tuple[int, int, int, int]) -> float:
    difference = np.asarray(ImageChops.difference(before.crop(box), after.convert("RGB").crop(box)))
    return float(difference.mean())


def test_a_sideways_photo_is_blurred_in_the_right_place_and_published_upright() -> None:
    upright, faces = labelled("2008_001009.jpg")
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90 CW to display": the sensor's pixels lie rotated 90 CCW
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    data, result = run(encoded(stored, "JPEG", quality=95, exif=exif.tobytes()))
    with Image.open(io.BytesIO(data)) as published:
        assert published.size == upright.size
        assert ORIENTATION not in published.getexif()
        for box in faces:
            assert changed(upright, published, box) > 10
        assert changed(upright, published, (0, 380, 120, 480)) < 4  # a corner with no face
    assert "orientation applied to the pixels" in result.notes
    assert "faces_detected: 2" in result.notes
    assert "faces anonymized: 2 (blur)" in result.notes
    assert result.removed.get("orientation") == ("EXIF:Orientation",)


@pytest.mark.parametrize("method", ["blur", "mosaic", "fill"])
def test_every_method_names_itself_in_the_log(method: str) -> None:
    image, faces = labelled("2008_001322.jpg")
    data, result = run(encoded(image, "JPEG"), Profile(name="m", faces=method))  # type: ignore[arg-type]
    assert f"faces anonymized: {len(faces)} ({method})" in result.notes
    with Image.open(io.BytesIO(data)) as published:
        assert all(changed(image, published, box) > 15 for box in faces)


def test_alpha_goes_to_png_and_survives() -> None:
    image, faces = labelled("2008_002506.jpg")
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(image.size))
    data, result = run(encoded(rgba, "WEBP", lossless=True))
    assert (result.format, result.extension) == ("webp", ".webp")
    data, result = run(encoded(rgba, "PNG"))
    assert (result.format, result.extension, result.lossless) == ("png", ".png", False)
    with Image.open(io.BytesIO(data)) as published:
        assert published.mode == "RGBA"
        assert published.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()
        assert all(changed(image, published, box) > 15 for box in faces)


@pytest.mark.parametrize(
    ("mode", "format_name", "expected"),
    [
        ("L", "JPEG", "L"),
        ("CMYK", "JPEG", "CMYK"),
        ("I;16", "PNG", "L"),
        ("P", "GIF", "RGB"),
        ("1", "PNG", "L"),
    ],
)
def test_grey_cmyk_deep_and_palette_pictures(mode: str, format_name: str, expected: str) -> None:
    image, _ = labelled("2008_002470.jpg")
    source = image.convert(mode) if mode != "I;16" else image.convert("L").convert("I;16")
    data, _ = run(encoded(source, format_name))
    with Image.open(io.BytesIO(data)) as published:
        assert published.mode == expected
        assert published.size == image.size


def test_the_colour_profile_is_kept_only_when_the_profile_keeps_it(tmp_path: Path) -> None:
    image, _ = labelled("2008_004176.jpg")
    icc = (CORPUS / "drewnoakes__metadata-extractor-images/jpg/Multiple ICC segments.jpg").read_bytes()
    with Image.open(io.BytesIO(icc)) as cmyk:
        profile_bytes = cmyk.info["icc_profile"]
    source = encoded(image.convert("CMYK"), "JPEG", icc_profile=profile_bytes)
    kept, kept_result = run(source, PUBLIC)
    bare, bare_result = run(source, NO_COLOUR_PROFILE)
    assert_same_colours(profile_bytes, Image.open(io.BytesIO(kept)).info.get("icc_profile"))
    assert "icc_profile" not in Image.open(io.BytesIO(bare)).info
    assert kept_result.kept == ("ICC profile",) and bare_result.kept == ()
    (tmp_path / "kept.jpg").write_bytes(kept)
    (tmp_path / "bare.jpg").write_bytes(bare)
    assert_no_leaks(tmp_path / "kept.jpg", tmp_path / "bare.jpg")


CARRIERS = [
    "photoprism__photoprism/pkg/media/video/testdata/image-isom-avc1.jpg",  # motion-photo video trailer
    "python-pillow__Pillow/Tests/images/frame_size.mpo",  # MPF second frame
    "immich-app__test-assets/metadata/faces/portrait-orientation-6.jpg",  # face regions, grey, sideways
    "exiftool__exiftool/t/images/PhotoMechanic.jpg",  # PhotoMechanic trailer
    "exiftool__exiftool/t/images/ExifTool.jpg",  # EXIF, XMP, IPTC, thumbnail, AFCP
    "strukturag__libheif/tests/data/rainbow-451x461.heic",
    "strukturag__libheif/tests/data/with-alpha-512x512.heic",
    "python-pillow__Pillow/Tests/images/hopper_orientation_6.webp",
    "Tommy-Geenexus__exif-eraser/app/src/main/res/raw/webp_with_exif.webp",
]


def test_nothing_the_sources_carried_reaches_the_outputs(tmp_path: Path) -> None:
    outputs = []
    for relative in CARRIERS:
        data, result = run((CORPUS / relative).read_bytes())
        assert result.removed, relative
        path = tmp_path / f"{len(outputs)}{result.extension}"
        path.write_bytes(data)
        outputs.append(path)
    assert_no_leaks(*outputs)


def test_a_heic_with_alpha_becomes_png() -> None:
    _, result = run((CORPUS / "strukturag__libheif/tests/data/with-alpha-512x512.heic").read_bytes())
    assert result.format == "png"


def test_truncated_and_garbage_input_is_refused() -> None:
    image, _ = labelled("2008_001009.jpg")
    data = encoded(image, "JPEG")
    with pytest.raises(CorruptMedia):
        run(data[: len(data) // 3])
    with pytest.raises(UnsupportedFormat):
        run(b"not a picture at all" * 10)


def png_claiming(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + end


def test_a_huge_picture_is_refused_before_decoding() -> None:
    with pytest.raises(TooLarge):
        run(png_claiming(20_000, 20_000))


def test_animated_pictures_and_videos_are_refused() -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedFormat, match="animated"):
        run(buffer.getvalue())
    video = CORPUS / "Exiv2__exiv2/test/data/issue_ghsa_fgw8_p7pr_37cp_poc.mov"
    with pytest.raises(UnsupportedFormat):
        run(video.read_bytes())


def test_a_profile_with_faces_off_does_not_belong_here() -> None:
    image, _ = labelled("2008_001009.jpg")
    with pytest.raises(ConfigError):
        run(encoded(image, "JPEG"), Profile())
