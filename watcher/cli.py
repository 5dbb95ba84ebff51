"""The `sharesafe` command: argparse subcommands, one top-level try, the only place that prints."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from watcher import __version__
from watcher.errors import ConfigError, WatcherError

DESCRIPTION = """\
Publish share-safe copies of photos and videos: everything a rule does not keep
(GPS, capture time, device serials, owner names, face names, thumbnails, motion-photo
videos, trailers...) is removed, losslessly where the format allows, and every copy is
re-read and verified before it appears.

examples:
  sharesafe clean -o ~/Share ~/Sync/Camera        sanitize a folder (strict profile)
  sharesafe clean --json -o out IMG_1234.HEIC     one JSON record per input
  sharesafe inspect IMG_1234.jpg                  what a file carries (values shown)
  sharesafe check ~/Share                         audit files you already shared
  sharesafe run -c config/sharesafe.yaml          watch sync folders (the daemon)
  sharesafe config init                           write a commented starter config
"""

EPILOG = """\
exit status: 0 ok, 1 some files refused (or, for check, carry metadata),
2 usage or configuration error, 130 interrupted.
"""


def _add_config_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser(
        "config",
        help="validate or create a configuration file",
        description="Validate a configuration, or write a commented one offering the sync folders found.",
    )
    config_sub = config.add_subparsers(dest="config_command", metavar="{validate,init}", required=True)
    validate = config_sub.add_parser(
        "validate",
        help="check a config file; every problem is reported as FILE:LINE:COL: key.path: message",
        description="Check a config file and report every problem at once.",
        epilog="example:\n  sharesafe config validate config/example.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("file", type=Path, metavar="FILE")
    validate.set_defaults(func=_cmd_config_validate)
    init = config_sub.add_parser(
        "init",
        help="write a commented starter config, offering the sync folders found",
        description="Write a commented config. Syncthing, Nextcloud/ownCloud InstantUpload, Dropbox "
        "'Camera Uploads' and similar folders found in your home are offered as watches.",
        epilog="examples:\n  sharesafe config init              writes ~/.config/sharesafe/config.yaml\n"
        "  sharesafe config init -o -         prints it instead",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("-o", "--output", metavar="FILE", help="where to write it ('-' for stdout)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_cmd_config_init)


def build_parser() -> argparse.ArgumentParser:
    from watcher.cli_clean import add_clean_command
    from watcher.cli_daemon import add_daemon_commands
    from watcher.cli_inspect import add_inspect_commands
    from watcher.cli_report import add_report_command

    parser = argparse.ArgumentParser(
        prog="sharesafe",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sharesafe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_clean_command(sub)
    add_inspect_commands(sub)
    add_daemon_commands(sub)
    add_report_command(sub)
    _add_config_commands(sub)
    return parser


def _cmd_config_validate(args: argparse.Namespace) -> int:
    from watcher.rules.config import load_config

    config = load_config(args.file)
    print(f"{args.file}: valid ({len(config.profiles)} profiles, {len(config.watches)} watches)")
    return 0


def _cmd_config_init(args: argparse.Namespace) -> int:
    from watcher.rules.template import discover_sync_folders, render_config

    text = render_config(discover_sync_folders(Path.home()))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    target = Path(args.output) if args.output else Path(base) / "sharesafe" / "config.yaml"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} already exists (use --force to overwrite it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}; edit it, then check it with: sharesafe config validate {target}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as err:
        for problem in err.problems:
            print(f"sharesafe: {problem}", file=sys.stderr)
        return 2
    except WatcherError as err:
        print(f"sharesafe: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sharesafe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; nothing more to say.
        sys.stderr.close()
        return 1
    return code
