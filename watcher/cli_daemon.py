"""The `run` and `status` subcommands: the watch daemon and a look at its ledger."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from watcher.errors import ConfigError

RUN_EPILOG = """\
examples:
  sharesafe run -c config/sharesafe.yaml     watch the folders of that config
  sharesafe run                              uses $XDG_CONFIG_HOME/sharesafe/config.yaml
                                             or else /etc/sharesafe/config.yaml

signals: SIGTERM/SIGINT finish the files in progress and stop; SIGHUP reloads the config
(an invalid new config is rejected and the running one kept).
"""


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


def _cmd_run(args: argparse.Namespace) -> int:
    from watcher.daemon import Daemon
    from watcher.daemon.notify import Notifier
    from watcher.log import configure_logging
    from watcher.rules.config import load_config

    path = _config_path(args)
    config = load_config(path)
    configure_logging(level=args.log_level)
    if not config.watches:
        raise ConfigError(f"{path}: no watches configured: nothing to do")
    daemon = Daemon(
        config,
        reload_config=lambda: load_config(path),
        notifier=Notifier(),
        progress=_ProgressBar() if sys.stderr.isatty() else None,
    )
    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGTERM: daemon.request_stop,
        signal.SIGINT: lambda: daemon.request_stop(interrupted=True),
        signal.SIGHUP: daemon.request_reload,
    }
    for number, action in handlers.items():
        signal.signal(number, _handler(action))
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


def _cmd_status(args: argparse.Namespace) -> int:
    from watcher.daemon.ledger import LEDGER_NAME, Ledger
    from watcher.daemon.status import watch_status
    from watcher.daemon.watches import build_watches
    from watcher.rules.config import load_config

    config = load_config(_config_path(args))
    if not (config.state_dir / LEDGER_NAME).exists():
        raise ConfigError(f"no ledger in {config.state_dir}: the daemon has not run with this config yet")
    ledger = Ledger.open(config.state_dir)
    try:
        statuses = [watch_status(ledger, watch) for watch in build_watches(config).values()]
    finally:
        ledger.close()
    if args.json:
        print(json.dumps({"watches": [status.as_json() for status in statuses]}, indent=2))
        return 0
    for status in statuses:
        print(
            f"{status.watch}: {status.published} published, {status.refused} refused, "
            f"{status.skipped} skipped, {status.pending} pending, {status.failed} failed; "
            f"backlog {status.backlog}"
        )
        print(f"  {status.source} -> {status.destination}")
        for source, state, error in status.last_errors:
            print(f"  {state} {json.dumps(source)}: {error}")
    return 1 if any(status.failed for status in statuses) else 0
