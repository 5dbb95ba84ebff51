"""Apply an EXIF orientation to the pixels: losslessly with jpegtran when possible, else by re-encoding."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

from PIL import JpegImagePlugin

from watcher.errors import CorruptMedia, TooLarge
from watcher.formats.base import RemovalLog
from watcher.formats.jpeg_rebuild import rebuild
from watcher.formats.pillow import Image
from watcher.rules.profile import Profile

JPEGTRAN_TIMEOUT_SECONDS = 120
MAX_JPEGTRAN_BYTES = 512 * 1024 * 1024
JPEGTRAN_OPERATIONS: dict[int, tuple[str, ...]] = {
    2: ("-flip", "horizontal"),
    3: ("-rotate", "180"),
    4: ("-flip", "vertical"),
    5: ("-transpose",),
    6: ("-rotate", "90"),
    7: ("-transverse",),
    8: ("-rotate", "270"),
}
PILLOW_OPERATIONS: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def reorient(output: BinaryIO, orientation: int, profile: Profile) -> tuple[bool, str]:
    """Rewrite the sanitized JPEG in ``output`` upright. Returns (lossless, note)."""
    with tempfile.TemporaryDirectory(prefix="sharesafe-") as folder:
        clean = Path(folder) / "clean.jpg"
        upright = Path(folder) / "upright.jpg"
        output.seek(0)
        with clean.open("wb") as handle:
            shutil.copyfileobj(output, handle)
        if _jpegtran(clean, upright, orientation):
            lossless, note = True, f"orientation {orientation} applied losslessly (jpegtran -perfect)"
        else:
            _pillow(clean, upright, orientation, profile.jpeg_quality)
            lossless = False
            note = f"orientation {orientation} applied by re-encoding (quality {profile.jpeg_quality})"
        output.seek(0)
        output.truncate()
        with upright.open("rb") as handle:
            # The clean file is already filtered; this pass only normalizes what the tool wrote.
            rebuild(handle, output, profile, RemovalLog())
    return lossless, note


def _jpegtran(source: Path, target: Path, orientation: int) -> bool:
    tool = shutil.which("jpegtran")
    if tool is None or source.stat().st_size > MAX_JPEGTRAN_BYTES:
        return False
    command = [tool, "-perfect", "-copy", "all", *JPEGTRAN_OPERATIONS[orientation], "-outfile", str(target)]
    try:
        completed = subprocess.run(
            [*command, str(source)], capture_output=True, timeout=JPEGTRAN_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0 and target.is_file() and target.stat().st_size > 0


def _pillow(source: Path, target: Path, orientation: int, quality: int) -> None:
    try:
        with Image.open(source) as image:
            options: dict[str, object] = {"quality": quality}
            if icc := image.info.get("icc_profile"):
                options["icc_profile"] = icc
            for key in ("exif", "xmp"):
                if value := image.info.get(key):
                    options[key] = value
            sampling = JpegImagePlugin.get_sampling(image)
            if sampling != -1:
                options["subsampling"] = sampling
            upright = image.transpose(PILLOW_OPERATIONS[orientation])
            upright.save(target, "JPEG", **options)
    except Image.DecompressionBombError as error:
        raise TooLarge(f"too many pixels to re-encode: {error}") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptMedia(f"could not decode the image to apply its orientation: {error}") from None
