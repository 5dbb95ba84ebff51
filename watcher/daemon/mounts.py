"""Which file system a path lives on, from /proc/self/mountinfo.

Network file systems matter twice: SQLite's locking is unreliable on them (so the ledger refuses them), and
inotify sees only local changes on them (so watches there are polled).
"""

from __future__ import annotations

import re
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "sshfs",
        "fuse.sshfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "davfs",
        "fuse.davfs2",
        "fuse.rclone",
        "fuse.s3fs",
        "ncpfs",
        "coda",
        "gpfs",
        "ocfs2",
        "gfs2",
        "virtiofs",
        "vboxsf",
        "fuse.vmhgfs-fuse",
    }
)
_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash in mount points as octal escapes.
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def _real_path(path: Path) -> Path:
    """``path`` with symlinks resolved as far as it exists (a state dir may not be created yet)."""
    candidate, missing = path.absolute(), []
    while not candidate.exists() and candidate != candidate.parent:
        missing.append(candidate.name)
        candidate = candidate.parent
    return candidate.resolve().joinpath(*reversed(missing))


def filesystem_type(path: Path, mountinfo: str | None = None) -> str:
    """The type of the file system holding ``path`` (or its nearest existing parent); "" when unknown."""
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
    target = _real_path(path)
    best_length, best_type = -1, ""
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if "-" not in fields or len(fields) < 5:
            continue
        mount_point = Path(_unescape(fields[4]))
        fs_type = fields[fields.index("-") + 1]
        if (target == mount_point or mount_point in target.parents) and len(mount_point.parts) > best_length:
            best_length, best_type = len(mount_point.parts), fs_type
    return best_type


def is_network_filesystem(path: Path, mountinfo: str | None = None) -> bool:
    """True when ``path`` is on NFS, SMB/CIFS, sshfs, 9p or another file system shared over a network."""
    return filesystem_type(path, mountinfo) in NETWORK_FILESYSTEMS
