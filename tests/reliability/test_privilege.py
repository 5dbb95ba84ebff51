"""Privilege: outputs get the configured mode (0644) whatever the umask, never the source's owner, mode,
extended attributes or ACLs; the daemon's state dir is 0700 and its removal log 0600; the system unit's
`systemd-analyze security` exposure is at most 2.0."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path, PurePath

import pytest

from tests.conftest import REPO
from tests.reliability.daemon_process import (
    fill_backlog,
    launch,
    published_count,
    stop,
    wait_for,
    write_config,
)
from watcher.pipeline import process_file
from watcher.rules.profile import STRICT

PLAIN = replace(STRICT, names="keep")
MAX_EXPOSURE = 2.0
# A POSIX access ACL (version 2): owner rw, user 4242 rw, group r, mask rw, other none.
ACL_ENTRIES = (
    (0x01, 6, 0xFFFFFFFF),
    (0x02, 6, 4242),
    (0x04, 4, 0xFFFFFFFF),
    (0x10, 6, 0xFFFFFFFF),
    (0x20, 0, 0xFFFFFFFF),
)
ACL = (2).to_bytes(4, "little") + b"".join(
    tag.to_bytes(2, "little") + perm.to_bytes(2, "little") + ident.to_bytes(4, "little")
    for tag, perm, ident in ACL_ENTRIES
)


def _private_source(folder: Path) -> Path:
    """A source owned by another user, mode 0600, with a user xattr and (where supported) an ACL."""
    fill_backlog(folder, 1)
    (source,) = folder.rglob("*.jpg")
    os.chown(source, 4242, 4242)
    source.chmod(0o600)
    for name, value in (("user.secret", b"where I live"), ("system.posix_acl_access", ACL)):
        try:
            os.setxattr(source, name, value)
        except OSError:
            continue  # the file system has no xattrs or ACLs: nothing to carry over then
    return source


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the source another owner needs root")
@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_outputs_get_0644_and_nothing_of_the_source_identity(tmp_path: Path, umask: int) -> None:
    source = _private_source(tmp_path / "inbox")
    (tmp_path / "share").mkdir()
    previous = os.umask(umask)
    try:
        record = process_file(source, PurePath("out.jpg"), tmp_path / "share", PLAIN)
    finally:
        os.umask(previous)
    assert record.status == "published", record
    output = Path(str(record.output))
    info = output.stat()
    assert stat.S_IMODE(info.st_mode) == 0o644
    assert (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid())
    assert os.listxattr(output) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the source another owner needs root")
def test_the_daemon_state_is_private_whatever_the_umask(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    fill_backlog(tmp_path / "inbox", 3)
    process = subprocess_with_umask(config, tmp_path / "daemon.log")
    try:
        wait_for(lambda: published_count(tmp_path / "state") == 3, timeout=120, what="three copies")
    finally:
        assert stop(process) == 0
    state = tmp_path / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "removed.jsonl").stat().st_mode) == 0o600
    for output in (tmp_path / "share").rglob("*.*"):
        assert stat.S_IMODE(output.stat().st_mode) == 0o644
        assert output.stat().st_uid == os.geteuid()


def subprocess_with_umask(config: Path, log: Path) -> subprocess.Popen[bytes]:
    previous = os.umask(0)  # inherited by the daemon: the most careless umask a service could get
    try:
        return launch(config, log)
    finally:
        os.umask(previous)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_system_unit_exposure_is_at_most_2() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(REPO / "systemd" / "sharesafe.service")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout
