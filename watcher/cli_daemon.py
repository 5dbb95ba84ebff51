"""The `run` and `status` subcommands: the watch daemon and a look at its ledger."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from watcher.errors import ConfigError

if TYPE_CHECKING:
    from watcher.daemon.ledger import Ledger
    from watcher.daemon.watches import Watch
    from watcher.rules.config import Config

RUN_EPILOG = """\
examples:
  sharesafe run -c config/sharesafe.yaml     watch the folders of that config
  sharesafe run                              uses $XDG_CONFIG_HOME/sharesafe/config.yaml
                                             or else /etc/sharesafe/config.yaml

signals: SIGTERM/SIGINT finish the files in progress and stop; SIGHUP reloads the config
(an invalid new config is rejected and the running one kept); SIGUSR1 looks at the ledger at once
(`sharesafe release` sends it).
"""

RELEASE_EPILOG = """\
examples:
  sharesafe release                          publish every held file of every watch now
  sharesafe release ~/Sync/Camera/IMG_1.jpg  publish that one file now
  sharesafe release ~/Sync/Camera/2026-11    publish the held files in that folder now
"""
HELD_SHOWN = 10


def add_daemon_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser(
        "run",
        help="watch the configured sync folders and publish share-safe copies (the daemon)",
        description="Watch every configured source folder and publish a share-safe copy of each photo or "
        "video once it has finished arriving. Catches up on files that arrived while it was stopped.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_option(run)
    run.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error"), help="default: info"
    )
    run.set_defaults(func=_cmd_run)
    status = subparsers.add_parser(
        "status",
        help="per watch: published, refused, pending and failed files, last errors, backlog",
        description="Report what the daemon's ledger says about each watch.",
        epilog="example:\n  sharesafe status -c config/sharesafe.yaml --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_option(status)
    status.add_argument("--json", action="store_true", help="one JSON object with a list of watches")
    status.set_defaults(func=_cmd_status)
    release = subparsers.add_parser(
        "release",
        help="publish held files (delayed profiles) now instead of at their release time",
        description="Release files that a delayed profile holds, so they are published at once: every held "
        "file, or those at or under each PATH (a file or folder inside a watch's source). The running daemon "
        "is woken to publish them; if none runs, they are published when it next starts.",
        epilog=RELEASE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_option(release)
    release.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="default: every held file")
    release.set_defaults(func=_cmd_release)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="CONFIG",
        help="config file (default: $XDG_CONFIG_HOME/sharesafe/config.yaml, then /etc/sharesafe/config.yaml)",
    )


def _config_path(args: argparse.Namespace) -> Path:
    from watcher.rules.config import find_config

    if args.config is not None:
        return Path(args.config)
    found = find_config()
    if found is None:
        raise ConfigError(
            "no config file: pass -c CONFIG, or write $XDG_CONFIG_HOME/sharesafe/config.yaml "
            "(sharesafe config init) or /etc/sharesafe/config.yaml"
        )
    return found


_DAEMON_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


def _cmd_run(args: argparse.Namespace) -> int:
    from watcher.log import configure_logging
    from watcher.rules.config import load_config

    # A signal that comes while the daemon is still starting (systemd stopping a unit it just started) is
    # kept and acted on once the daemon exists: a stop then ends it cleanly, never by the signal's default.
    early: list[signal.Signals] = []
    for number in _DAEMON_SIGNALS:
        signal.signal(number, lambda received, _frame: early.append(signal.Signals(received)))
    path = _config_path(args)
    config = load_config(path)
    configure_logging(level=args.log_level)
    if not config.watches:
        raise ConfigError(f"{path}: no watches configured: nothing to do")
    # The worker processes start first, from a process that has loaded only the pipeline: they load their
    # format handlers on the other cores while this one loads the rest of the daemon (watchdog, SQLite...).
    from watcher.daemon.processes import ProcessRunner

    processes = ProcessRunner(config.workers)
    processes.warm_up()
    try:
        from watcher.daemon.notify import Notifier
        from watcher.daemon.service import Daemon

        daemon = Daemon(
            config,
            reload_config=lambda: load_config(path),
            notifier=Notifier(),
            progress=_ProgressBar() if sys.stderr.isatty() else None,
            pid_file=True,
            processes=processes,
        )
    except BaseException:
        processes.shutdown()
        raise
    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGTERM: daemon.request_stop,
        signal.SIGINT: lambda: daemon.request_stop(interrupted=True),
        signal.SIGHUP: daemon.request_reload,
        signal.SIGUSR1: daemon.wake,  # `sharesafe release` released held files: look at the ledger now
    }
    for number, action in handlers.items():
        signal.signal(number, _handler(action))
    for number in early:
        handlers[number]()
    return daemon.run()


def _handler(action: Callable[[], None]) -> Callable[[int, FrameType | None], None]:
    def handle(_number: int, _frame: FrameType | None) -> None:
        action()

    return handle


class _ProgressBar:
    """A one-line catch-up bar on stderr (only on a terminal; logs and systemd STATUS cover the rest)."""

    WIDTH = 30

    def __call__(self, progress: object) -> None:
        from watcher.daemon.status import Progress

        assert isinstance(progress, Progress)
        total = max(progress.total, 1)
        filled = self.WIDTH * min(progress.done, total) // total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        end = "\n" if progress.finished else ""
        print(f"\rcatching up [{bar}] {progress.done}/{progress.total}", end=end, file=sys.stderr, flush=True)


def _open_ledger(config: Config) -> Ledger:
    from watcher.daemon.ledger import LEDGER_NAME, Ledger

    if not (config.state_dir / LEDGER_NAME).exists():
        raise ConfigError(f"no ledger in {config.state_dir}: the daemon has not run with this config yet")
    return Ledger.open(config.state_dir)


def _cmd_status(args: argparse.Namespace) -> int:
    from watcher.daemon.status import describe_release, watch_status
    from watcher.daemon.watches import build_watches
    from watcher.rules.config import load_config

    config = load_config(_config_path(args))
    ledger = _open_ledger(config)
    try:
        statuses = [watch_status(ledger, watch) for watch in build_watches(config).values()]
    finally:
        ledger.close()
    if args.json:
        print(json.dumps({"watches": [status.as_json() for status in statuses]}, indent=2))
        return 0
    now = time.time()
    for status in statuses:
        print(
            f"{status.watch}: {status.published} published, {status.refused} refused, "
            f"{status.skipped} skipped, {status.pending} pending, {len(status.held)} held, "
            f"{status.failed} failed; backlog {status.backlog}"
        )
        print(f"  {status.source} -> {status.destination}")
        for source, release in status.held[:HELD_SHOWN]:
            print(f"  held {json.dumps(source)} until {describe_release(release, now)}")
        if len(status.held) > HELD_SHOWN:
            print(f"  ... and {len(status.held) - HELD_SHOWN} more held (--json lists them all)")
        for source, state, error in status.last_errors:
            print(f"  {state} {json.dumps(source)}: {error}")
    return 1 if any(status.failed for status in statuses) else 0


def _cmd_release(args: argparse.Namespace) -> int:
    from watcher.daemon.pidfile import wake_daemon
    from watcher.daemon.watches import build_watches
    from watcher.rules.config import load_config

    config = load_config(_config_path(args))
    watches = list(build_watches(config).values())
    # Every PATH is checked before anything is released: a typo releases nothing.
    targets: list[tuple[str, str | None, Path | None]] = [
        (*_release_target(path, watches), path) for path in args.paths
    ] or [(watch.name, None, None) for watch in watches]
    ledger = _open_ledger(config)
    try:
        unknown = [
            path
            for watch, relative, path in targets
            if path is not None and not path.exists()
            if relative is None or not _holds_under(ledger, watch, relative)
        ]
        if unknown:
            raise ConfigError([f"{path}: no such file or folder, and nothing held there" for path in unknown])
        released = sum(ledger.release(watch, relative) for watch, relative, _ in targets)
    finally:
        ledger.close()
    woken = released > 0 and wake_daemon(config.state_dir)
    when = "the daemon publishes them now" if woken else "they are published when the daemon runs"
    print(f"released {released} held file{'' if released == 1 else 's'}" + (f"; {when}" if released else ""))
    return 0


def _holds_under(ledger: Ledger, watch: str, relative: str) -> bool:
    prefix = relative + "/"
    return any(held == relative or held.startswith(prefix) for held, _ in ledger.held(watch))


def _release_target(path: Path, watches: list[Watch]) -> tuple[str, str | None]:
    """(watch, relative path or None for the whole watch) of a PATH as the user typed it."""
    # Lexically normalized first (".." removed, links kept): the path as the user sees it.
    absolute = Path(os.path.normpath(path.expanduser().absolute()))
    for candidate in dict.fromkeys((absolute, absolute.resolve())):
        for watch in watches:
            for source in dict.fromkeys((watch.source.absolute(), watch.source.resolve())):
                if candidate == source:
                    return watch.name, None
                if candidate.is_relative_to(source):
                    return watch.name, candidate.relative_to(source).as_posix()
    raise ConfigError(f"{path}: not inside the source folder of any watch")
