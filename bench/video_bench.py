"""Video throughput (MB/s): sharesafe's video handler against mat2, `exiftool -all=` and `cp`.

    PYTHONPATH=. .venv/bin/python bench/video_bench.py [--seconds 20] [--repeat 3]

The batch is every corpus MP4/MOV/3GP the handler publishes plus one generated 1080p video of --seconds
(mpeg4 + AAC, large enough that per-process start-up does not dominate). Each tool runs --repeat times
over the whole batch into a fresh folder; the best run counts. Timed:
  cp                        plain copy, one `cp` process per file (the floor, as a per-file tool runs)
  copy in process           shutil.copyfile in this process: the floor without a process start per file,
                            as the sharesafe rows run (in this process, without fsync)
  ffmpeg -c copy            the bare remux every ffmpeg-based sanitizer starts from (no fix-up, no check)
  exiftool -all=            rewrites the metadata boxes only, keeps every track
  mat2                      ffmpeg remux (drops every non-audio/video stream), writes NAME.cleaned.EXT
  sharesafe sanitize        remux + box fix-up (the handler's sanitize: the native remux where it applies,
                            ffmpeg for the rest, as in production)
  sharesafe sanitize+verify the above plus our box check and the proof that every kept sample (packet) is
                            the source's (native: our own sample hashes; ffmpeg path: ffmpeg's streamhash)
Targets: sharesafe at least as fast as mat2 and exiftool, and within 3x of cp.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from conftest import corpus_files  # noqa: E402

from watcher.errors import WatcherError  # noqa: E402
from watcher.formats import ffmpeg  # noqa: E402
from watcher.formats.video import HANDLER  # noqa: E402
from watcher.rules.profile import STRICT  # noqa: E402

Tool = Callable[[list[Path], Path], None]


def generated_video(folder: Path, seconds: int) -> Path:
    path = folder / "generated_1080p.mp4"
    subprocess.run(
        [
            ffmpeg.executable(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "mpeg4", "-q:v", "2", "-c:a", "aac",
            "-metadata", "location=+52.2097-000.8955/", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def build_batch(folder: Path, seconds: int) -> list[Path]:
    batch = [generated_video(folder, seconds)]
    for source in corpus_files("MP4", "MOV", "3GP"):
        try:
            with source.open("rb") as reader, tempfile.TemporaryFile() as scratch:
                HANDLER.sanitize(reader, scratch, STRICT)
        except WatcherError:
            continue
        copy = folder / f"{len(batch):03d}{source.suffix.lower()}"
        shutil.copyfile(source, copy)
        batch.append(copy)
    return batch


def run_cp(batch: list[Path], out: Path) -> None:
    for path in batch:
        subprocess.run(["cp", str(path), str(out / path.name)], check=True)


def run_copyfile(batch: list[Path], out: Path) -> None:
    # The copy alone, in this process: no process start per file (what the in-process sanitizer rows pay).
    for path in batch:
        shutil.copyfile(path, out / path.name)


def run_ffmpeg_copy(batch: list[Path], out: Path) -> None:
    # The remux alone, with no fix-up and no verification: the least the design (remux through
    # ffmpeg without re-encoding) can cost.
    for path in batch:
        subprocess.run(
            [
                ffmpeg.executable(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
                "-map", "0:V:0", "-map", "0:a?", "-c", "copy", "-map_metadata", "-1", "-y",
                str(out / path.name),
            ],
            check=False,
            stderr=subprocess.DEVNULL,  # a corpus 3GP needs the handler's own container choice
        )  # fmt: skip


def run_exiftool(batch: list[Path], out: Path) -> None:
    for path in batch:
        subprocess.run(["exiftool", "-q", "-q", "-all=", "-o", str(out / path.name), str(path)], check=False)


def run_mat2(batch: list[Path], out: Path) -> None:
    for path in batch:
        subprocess.run(["mat2", "--lightweight", str(out / path.name)], check=False, capture_output=True)


def prepare_mat2(batch: list[Path], out: Path) -> None:
    for path in batch:  # mat2 writes beside its input: give it copies (not timed)
        shutil.copyfile(path, out / path.name)


def sanitizer(verify: bool) -> Tool:
    def run(batch: list[Path], out: Path) -> None:
        for path in batch:
            with path.open("rb") as reader, (out / path.name).open("w+b") as writer:
                result = HANDLER.sanitize(reader, writer, STRICT)
                if verify:
                    HANDLER.verify(writer, reader, STRICT, result)

    return run


def best_time(tool: Tool, batch: list[Path], repeat: int, prepare: Tool | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="video-bench-") as folder:
            out = Path(folder)
            if prepare is not None:
                prepare(batch, out)
            started = time.perf_counter()
            tool(batch, out)
            best = min(best, time.perf_counter() - started)
    return best


def compare(title: str, batch: list[Path], repeat: int) -> None:
    megabytes = sum(path.stat().st_size for path in batch) / 1e6
    print(f"{title}: {len(batch)} videos, {megabytes:.1f} MB")
    tools: list[tuple[str, Tool, Tool | None]] = [
        ("cp", run_cp, None),
        ("copy in process", run_copyfile, None),
        ("ffmpeg -c copy (remux only)", run_ffmpeg_copy, None),
        ("exiftool -all=", run_exiftool, None),
        ("mat2", run_mat2, prepare_mat2),
        ("sharesafe sanitize", sanitizer(verify=False), None),
        ("sharesafe sanitize+verify", sanitizer(verify=True), None),
    ]
    speeds: dict[str, float] = {}
    for name, tool, prepare in tools:
        if shutil.which(name.split()[0]) is None and not name.startswith(("sharesafe", "ffmpeg", "copy")):
            print(f"  {name:28s} not installed")
            continue
        seconds = best_time(tool, batch, repeat, prepare)
        speeds[name] = megabytes / seconds
        print(f"  {name:28s} {seconds:7.2f} s  {speeds[name]:8.1f} MB/s")
    ours = speeds["sharesafe sanitize+verify"]
    for name, speed in speeds.items():
        print(f"  {name:28s} {speed / ours:6.2f}x the speed of sharesafe sanitize+verify")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of the generated 1080p video")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="video-bench-batch-") as folder:
        batch = build_batch(Path(folder), arguments.seconds)
        compare("whole batch (corpus videos + generated)", batch, arguments.repeat)
        compare("generated 1080p video alone", batch[:1], arguments.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
