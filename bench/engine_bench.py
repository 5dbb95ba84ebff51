"""Still-image throughput: sharesafe clean against its peers on the same batch of real JPEGs.

    .venv/bin/python bench/engine_bench.py [--files 500] [--repeat 3]

Builds a batch of at least --files JPEGs from the shared corpus (copies of the decodable phone and camera
JPEGs, repeated to reach the count), then times, on that same batch and in the same run:
  cp                        plain copy (the floor)
  python copy+fsync+rename  the floor of a durable publisher: read, temp file, fsync, rename (a process
                            per core, no parsing): what principle 2 costs before any sanitizing
  python copy, 8 fsyncs in flight
                            the same floor with the fsyncs made as sharesafe makes them (eight at a time
                            on threads of the main process, each file renamed once its fsync returned)
  exiftool -all=            strips everything, but also orientation and colour profile
  exiftool keep ICC+orient  the exiftool configuration that keeps what sharesafe keeps
  mat2                      re-encodes via GdkPixbuf/cairo
  sharesafe clean           lossless rebuild + verify + fsync + atomic rename
Each tool runs --repeat times (mat2 once) into a fresh output folder, the tools taking turns round after
round; the best time counts. Prints files/s
and each tool's speed as a ratio to sharesafe's (>1 means faster than sharesafe).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from spent import set_aside

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO / ".." / "shared" / "corpus" / "real").resolve()
SHARESAFE = REPO / ".venv" / "bin" / "sharesafe"


def decodable_jpegs() -> list[Path]:
    with (CORPUS / "MANIFEST.tsv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    found = []
    for row in rows:
        if row["format"] != "JPEG":
            continue
        path = CORPUS / row["path"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow's notes on the corpus's odd MPO/EXIF headers
                with Image.open(path) as im:
                    im.load()
        except Exception:
            continue
        found.append(path)
    return found


def build_batch(folder: Path, count: int) -> list[Path]:
    sources = decodable_jpegs()
    batch = []
    for i in range(count):
        src = sources[i % len(sources)]
        dst = folder / f"{i:05d}.jpg"
        shutil.copyfile(src, dst)
        batch.append(dst)
    return batch


def run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# What both durable-copy floors share: a read and a hidden temp file written in the output folder.
_WRITE_TEMP = """
import os, sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
source, out = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(source))
def write_temp(folder, name):
    with open(os.path.join(source, name), "rb") as reader:
        data = reader.read()
    fd = os.open("." + name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folder)
    os.write(fd, data)
    return fd
"""

# The least any tool that publishes durably must do: read, write a temp file, fsync, rename, on every core.
DURABLE_COPY = (
    _WRITE_TEMP
    + """
def copy(part):
    folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    for name in part:
        fd = write_temp(folder, name)
        os.fsync(fd)
        os.close(fd)
        os.rename("." + name, name, src_dir_fd=folder, dst_dir_fd=folder)
    os.fsync(folder)
if __name__ == "__main__":
    jobs = len(os.sched_getaffinity(0))
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(copy, [names[i::jobs] for i in range(jobs)]))
"""
)

# The same, with the fsyncs made the way sharesafe makes them: processes write the temp files, the main
# process fsyncs them eight at a time on threads and renames each once its own fsync has returned.
DURABLE_COPY_PARALLEL_FSYNC = (
    _WRITE_TEMP
    + """
def write(part):
    folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    for name in part:
        os.close(write_temp(folder, name))
    return part
def sync(name):
    fd = os.open(os.path.join(out, "." + name), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.rename(os.path.join(out, "." + name), os.path.join(out, name))
if __name__ == "__main__":
    jobs = len(os.sched_getaffinity(0))
    with ProcessPoolExecutor(jobs) as pool, ThreadPoolExecutor(8) as threads:
        for part in pool.map(write, [names[i : i + 32] for i in range(0, len(names), 32)]):
            list(threads.map(sync, part))
    folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(folder)
"""
)


def tools(batch_dir: Path) -> dict[str, Callable[[Path], None]]:
    files = sorted(str(p) for p in batch_dir.iterdir())
    return {
        "cp": lambda out: run(["cp", "-r", f"{batch_dir}/.", str(out)]),
        "python copy+fsync+rename": lambda out: run(
            [sys.executable, "-c", DURABLE_COPY, str(batch_dir), str(out)]
        ),
        "python copy, 8 fsyncs in flight": lambda out: run(
            [sys.executable, "-c", DURABLE_COPY_PARALLEL_FSYNC, str(batch_dir), str(out)]
        ),
        "exiftool -all=": lambda out: run(["exiftool", "-q", "-m", "-all=", "-o", f"{out}/", str(batch_dir)]),
        "exiftool keep ICC+orient": lambda out: run(
            [
                "exiftool",
                "-q",
                "-m",
                "-all=",
                "--icc_profile:all",
                "-tagsfromfile",
                "@",
                "-exif:orientation",
                "-o",
                f"{out}/",
                str(batch_dir),
            ]
        ),
        "mat2": lambda out: _mat2(files, out),
        "sharesafe clean": lambda out: run([str(SHARESAFE), "clean", "-q", "-o", str(out), str(batch_dir)]),
    }


def _mat2(files: list[str], out: Path) -> None:
    # mat2 writes NAME.cleaned.jpg beside each input; copy the inputs into the output folder first so every
    # tool reads the same bytes and writes into its own folder (the copy is not timed separately: mat2 is
    # far slower than cp, and the cp row shows the cost).
    for f in files:
        shutil.copyfile(f, out / Path(f).name)
    run(["mat2", "--lightweight", *[str(out / Path(f).name) for f in files]])


def timed(action: Callable[[Path], None], out: Path) -> float:
    out.mkdir()
    subprocess.run(["sync"], check=False)
    started = time.perf_counter()
    action(out)
    seconds = time.perf_counter() - started
    set_aside(out, out.parent / "spent")  # deleted with the temp folder, after the last run
    return seconds


def best_times(actions: dict[str, Callable[[Path], None]], work: Path, repeat: int) -> dict[str, float]:
    """Each tool's best time. The tools take turns, round after round, so a busy moment of a shared
    machine slows one round of every tool rather than all rounds of one."""
    best = dict.fromkeys(actions, float("inf"))
    for attempt in range(repeat):
        for name, action in actions.items():
            # mat2 takes minutes per run and is hundreds of times slower: one run says enough.
            if name == "mat2" and attempt:
                continue
            best[name] = min(best[name], timed(action, work / "out"))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], help="tool name to skip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sharesafe-bench-") as tmp:
        work = Path(tmp)
        batch_dir = work / "batch"
        batch_dir.mkdir()
        batch = build_batch(batch_dir, args.files)
        megabytes = sum(p.stat().st_size for p in batch) / 1e6
        print(f"batch: {len(batch)} JPEGs, {megabytes:.1f} MB, best of {args.repeat}")
        actions = {}
        for name, action in tools(batch_dir).items():
            ours = name.startswith(("sharesafe", "python"))  # run from this venv, not looked up on PATH
            if name in args.skip or (shutil.which(name.split()[0]) is None and not ours):
                print(f"  {name}: skipped")
                continue
            actions[name] = action
        times = best_times(actions, work, args.repeat)
        ours = len(batch) / times["sharesafe clean"]
        print(f"{'tool':<32}{'seconds':>9}{'files/s':>10}{'vs sharesafe':>14}")
        for name, seconds in times.items():
            rate = len(batch) / seconds
            print(f"{name:<32}{seconds:>9.2f}{rate:>10.0f}{rate / ours:>13.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
