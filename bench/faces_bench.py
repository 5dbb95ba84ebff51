"""Face anonymization cost per 12 MP photo: decode + detect + anonymize + encode, and peak memory.

    .venv/bin/python bench/faces_bench.py [--repeat 3] [--threads N]

Builds 12 MP JPEGs (4000 x 3000 or so) from the labelled faces corpus, then, in a fresh child process so
that the peak RSS is the stage's own, runs each through ``watcher.faces.anonymize_image`` with the
``public`` profile, --repeat times, and reports the best and median seconds per photo, the faces found,
and the child's peak RSS. The first call also loads the model; it is timed apart. Targets on the 2-core
machine: at most 1.5 s per photo and 700 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
FACES = (REPO / ".." / "shared" / "corpus" / "faces").resolve()
PHOTOS = ("2007_007763.jpg", "2008_004176.jpg", "bald_guys.jpg", "fr_obama-1080p.jpg", "dogs.jpg")
TWELVE_MEGAPIXELS = 12_000_000


def build(folder: Path) -> list[Path]:
    built = []
    for name in PHOTOS:
        with Image.open(FACES / name) as image:
            rgb = image.convert("RGB")
        factor = (TWELVE_MEGAPIXELS / (rgb.width * rgb.height)) ** 0.5
        large = rgb.resize((round(rgb.width * factor), round(rgb.height * factor)), Image.Resampling.BICUBIC)
        path = folder / name
        large.save(path, format="JPEG", quality=92)
        built.append(path)
    return built


def measure(paths: list[Path], repeat: int, threads: int | None) -> dict[str, object]:
    """Runs in the child: times every photo ``repeat`` times, returns the figures."""
    sys.path.insert(0, str(REPO))
    from watcher.faces import anonymize_image
    from watcher.faces.model import default_threads, detector
    from watcher.rules.profile import PUBLIC

    started = time.perf_counter()
    detector(threads)
    load_seconds = time.perf_counter() - started
    photos = []
    for path in paths:
        data = path.read_bytes()
        timings = []
        notes: tuple[str, ...] = ()
        for _ in range(repeat):
            output = io.BytesIO()
            started = time.perf_counter()
            notes = anonymize_image(io.BytesIO(data), output, PUBLIC, threads=threads).notes
            timings.append(time.perf_counter() - started)
        with Image.open(path) as image:
            size = image.size
        photos.append(
            {
                "photo": path.name,
                "size": size,
                "best": min(timings),
                "median": statistics.median(timings),
                "notes": notes[:1],
            }
        )
    return {
        "threads": threads or default_threads(),
        "model_load_seconds": load_seconds,
        "photos": photos,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: the stage's (half the cores)")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        sys.stdout.write(json.dumps(measure([Path(p) for p in args.child], args.repeat, args.threads)))
        return 0
    with tempfile.TemporaryDirectory(prefix="sharesafe-faces-bench-") as folder:
        paths = build(Path(folder))
        command = [sys.executable, __file__, "--repeat", str(args.repeat)]
        if args.threads is not None:
            command += ["--threads", str(args.threads)]
        completed = subprocess.run(
            [*command, "--child", *map(str, paths)], capture_output=True, text=True, check=True
        )
    figures = json.loads(completed.stdout)
    lines = [f"threads {figures['threads']}; model load {figures['model_load_seconds']:.2f} s"]
    for photo in figures["photos"]:
        width, height = photo["size"]
        lines.append(
            f"{photo['photo']:22} {width}x{height}  best {photo['best']:.2f} s  median {photo['median']:.2f} s"
            f"  {', '.join(photo['notes'])}"
        )
    medians = [photo["median"] for photo in figures["photos"]]
    lines.append(f"mean of medians {statistics.mean(medians):.2f} s per 12 MP photo (target <= 1.5 s)")
    lines.append(f"peak RSS {figures['peak_rss_mb']:.0f} MB (target <= 700 MB)")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
