"""Setting a timed run's output aside, instead of deleting it between runs.

On ext4 without a journal (small VMs, some NAS set-ups), making a new file passes over every inode deleted
in the last minute or so. A benchmark that deletes one run's thousand copies just before the next run
makes that run pay for them, more or less by the luck of the order and of which block group its folder
lands in: the spread it adds is as large as the differences being measured.

So a run's output is moved aside and its cached pages dropped (memory is then free again, as after a
delete); everything is deleted once, with the benchmark's temp folder, when all runs are over. It costs
disk space for the duration: every run's copies at once.
"""

from __future__ import annotations

import os
from pathlib import Path


def set_aside(folder: Path, spent: Path) -> None:
    """Move ``folder`` into ``spent`` (created on first use) and drop its files from the page cache. A
    folder the run never made (it failed early) is nothing to set aside."""
    if not folder.exists():
        return
    spent.mkdir(exist_ok=True)
    target = spent / str(sum(1 for _ in spent.iterdir()))
    folder.rename(target)
    os.sync()  # written out first: only clean pages can be dropped
    for current, _folders, names in os.walk(target):
        for name in names:
            fd = os.open(os.path.join(current, name), os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
