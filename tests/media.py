"""Generated media for tests: what no corpus file has (a full Google motion photo with a GPS movie)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from PIL import Image

from watcher.formats import ffmpeg

XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
 xmlns:Container="http://ns.google.com/photos/1.0/container/"
 xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
 GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" GCamera:MotionPhotoPresentationTimestampUs="0">
<Container:Directory><rdf:Seq>
<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"
 Item:Length="0" Item:Padding="0"/></rdf:li>
<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto"
 Item:Length="{length}" Item:Padding="0"/></rdf:li>
</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"""


def make_movie(path: Path) -> bytes:
    """A one-second MP4 carrying a location and a creation time."""
    subprocess.run(
        [
            ffmpeg.executable(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "mpeg4",
            "-metadata", "location=+52.2097-000.8955/", "-metadata", "creation_time=2024-05-06T07:08:09Z",
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def make_google_motion_photo(movie: bytes, path: Path) -> Path:
    """A JPEG with a Google Container directory in its XMP and ``movie`` appended after EOI."""
    still = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(still, "JPEG")
    packet = b"http://ns.adobe.com/xap/1.0/\0" + XMP.format(length=len(movie)).encode()
    segment = b"\xff\xe1" + (len(packet) + 2).to_bytes(2, "big") + packet
    jpeg = still.getvalue()
    path.write_bytes(jpeg[:2] + segment + jpeg[2:] + movie)
    return path
