"""The config file: every mistake reported at once with FILE:LINE:COL, examples valid, safe defaults."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.errors import ConfigError
from watcher.rules.config import (
    PROFILE_KEYS,
    TOP_KEYS,
    WATCH_KEYS,
    default_config,
    find_config,
    load_config,
    parse_duration,
    profile_fingerprint,
)
from watcher.rules.profile import BUILTIN_PROFILES, FAMILY, STRICT, Profile

REPO = Path(__file__).resolve().parents[2]
ENV = {"HOME": "/home/ana"}
BUILTINS = ", ".join(BUILTIN_PROFILES)
READ_BACK = "published copies would be read back as new photos"
OUTSIDE = "a source must stay outside every destination"


def write(folder: Path, text: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(folder: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV if env is None else env)
    return [problem.removeprefix(f"{path}:") for problem in caught.value.problems]


def test_repository_config_validates() -> None:
    config = load_config(REPO / "config" / "sharesafe.yaml", env=ENV)
    [watch] = config.watches
    assert config.state_dir == REPO / "state"
    assert config.removal_log == REPO / "state" / "removed.jsonl"
    assert (watch.source, watch.destination) == (REPO / "inbox", REPO / "share-safe")
    assert watch.profile == STRICT and watch.settle_seconds == 2.0


def test_example_config_validates_and_documents_every_key() -> None:
    path = REPO / "config" / "example.yaml"
    config = load_config(path, env=ENV)
    assert config.profiles["family"] == dataclasses.replace(
        FAMILY, text="keep", names="keep", file_time="capture_date"
    )
    assert config.watches[0].profile.name == "family"
    text = path.read_text(encoding="utf-8")
    for key in (*TOP_KEYS, *WATCH_KEYS, *PROFILE_KEYS, "extends"):
        assert key in text, f"example.yaml does not mention {key}"


def test_the_briefs_example_message(tmp_path: Path) -> None:
    text = "state_dir: /s\nprofiles:\n  family:\n    extends: strict\n\n\n    time: dat\n"
    assert problems(tmp_path, text) == [
        "7:11: profiles.family.time: must be one of remove, date, keep (got 'dat'); did you mean 'date'?"
    ]


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    text = """\
reconcile_every: 6x
workers: 0
wokers: 2
profiles:
  family:
    tme: keep
    jpeg_quality: 101
  other:
    extends: nothere
watches:
  - source: /photos
    destination: /photos/out
    poll: true
    settle_seconds: -1
    ignore: [a, [b]]
    on_source_delete: kep
  - destination: /x
    recursive: maybe
"""
    assert problems(tmp_path, text) == [
        "1:18: reconcile_every: '6x' is not a duration; write a number with s, m, h or d, like 30m or 6h",
        "2:10: workers: must be between 1 and 1024 (got 0)",
        "3:1: wokers: unknown key (did you mean 'workers'?)",
        "6:5: profiles.family.tme: unknown key (did you mean 'time'?)",
        "7:19: profiles.family.jpeg_quality: must be between 1 and 100 (got 101)",
        f"9:14: profiles.other.extends: unknown profile 'nothere' (known: {BUILTINS})",
        "12:18: watches[0].destination: is inside its own source: " + READ_BACK,
        "13:11: watches[0].poll: must be auto, false or a number of seconds (got true)",
        "14:21: watches[0].settle_seconds: must be at least 0 (got -1)",
        "15:17: watches[0].ignore[1]: must be text (got a list)",
        "16:23: watches[0].on_source_delete: must be one of keep, delete (got 'kep'); did you mean 'keep'?",
        "17:5: watches[1]: missing required key 'source'",
        "18:16: watches[1].recursive: must be true or false (got 'maybe')",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n", "1:1: must be a mapping of keys to values (got a list)"),
        ("watches: {}\n", "1:10: watches: must be a list (got a mapping)"),
        ("watches: [3]\n", "1:11: watches[0]: must be a mapping of keys to values (got '3')"),
        ("profiles: [a]\n", "1:11: profiles: must be a mapping of keys to values (got a list)"),
        (
            "profiles:\n  strict: {time: keep}\n",
            "2:3: profiles.strict: 'strict' is built in and cannot be redefined",
        ),
        ("profiles:\n  a b: {}\n", "2:3: profiles.a b: profile names are letters, digits, '-', '_' and '.'"),
        ("workers: 1.5\n", "1:10: workers: must be a whole number (got '1.5')"),
        ("workers: many\n", "1:10: workers: must be a whole number (got 'many')"),
        ("reconcile_every: 0\n", "1:18: reconcile_every: must be longer than zero (got '0')"),
        ("state_dir: $NOPE/s\n", "1:12: state_dir: environment variable $NOPE is not set"),
        ("state_dir: ''\n", "1:12: state_dir: must not be empty"),
        ("removal_log: [a]\n", "1:14: removal_log: must be text (got a list)"),
        ("state_dir: a\nstate_dir: b\n", "2:1: state_dir: duplicate key (first given on line 1)"),
    ],
)
def test_single_problems(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def test_profiles_extend_builtins_and_earlier_profiles(tmp_path: Path) -> None:
    text = """\
profiles:
  family:
    extends: strict
    time: date
  grandparents:
    extends: family
    camera_settings: keep
    jpeg_quality: 80
  plain:
    faces: off
"""
    config = load_config(write(tmp_path, text), env=ENV)
    assert config.profiles["strict"] == STRICT
    assert config.profiles["family"] == Profile(name="family", time="date")
    assert config.profiles["grandparents"] == Profile(
        name="grandparents", time="date", camera_settings="keep", jpeg_quality=80
    )
    assert config.profiles["plain"] == dataclasses.replace(STRICT, name="plain")


def test_profile_cannot_extend_a_later_one(tmp_path: Path) -> None:
    text = "profiles:\n  a:\n    extends: b\n  b:\n    time: keep\n"
    assert problems(tmp_path, text) == [f"3:14: profiles.a.extends: unknown profile 'b' (known: {BUILTINS})"]


def _profile_choices() -> list[tuple[str, object]]:
    hints = get_type_hints(Profile)
    cases: list[tuple[str, object]] = [("jpeg_quality", 1), ("jpeg_quality", 100)]
    for (
        key
    ) in PROFILE_KEYS:  # structured values (location's coarsening, zones...) are tested in tests/privacy
        literals = [arg for arg in (hints[key], *get_args(hints[key])) if get_origin(arg) is Literal]
        cases += [(key, choice) for literal in literals for choice in get_args(literal)]
    return cases


@pytest.mark.parametrize(("key", "value"), _profile_choices())
def test_every_profile_setting_follows_the_dataclass(tmp_path: Path, key: str, value: object) -> None:
    config = load_config(write(tmp_path, f"profiles:\n  mine:\n    {key}: {value}\n"), env=ENV)
    assert getattr(config.profiles["mine"], key) == value


def watch_config(tmp_path: Path, *watches: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    return problems(tmp_path, yaml.safe_dump({"watches": list(watches)}, sort_keys=False), env)


def test_watch_defaults_and_values(tmp_path: Path) -> None:
    text = """\
watches:
  - source: in
    destination: ~/out
  - name: second
    source: $PHOTOS
    destination: /srv/share
    profile: family
    recursive: no
    poll: 2.5
    settle_seconds: 0
    ignore: ["*.tmp"]
    on_source_delete: delete
    conflict_copies: publish
  - source: /c
    destination: /d
    poll: false
"""
    config = load_config(write(tmp_path, text), env={"HOME": "/home/ana", "PHOTOS": "/data/photos"})
    first, second, third = config.watches
    assert first.name == "in" and first.source == tmp_path / "in"
    assert first.destination == Path("/home/ana/out")
    assert (first.profile, first.recursive, first.poll, first.settle_seconds) == (STRICT, True, "auto", 5.0)
    assert (first.ignore, first.on_source_delete, first.conflict_copies) == ((), "keep", "skip")
    assert second.source == Path("/data/photos") and second.profile == FAMILY
    assert (second.recursive, second.poll, second.settle_seconds, second.ignore) == (
        False,
        2.5,
        0.0,
        ("*.tmp",),
    )
    assert (second.on_source_delete, second.conflict_copies) == ("delete", "publish")
    assert third.poll == "off"


@pytest.mark.parametrize(
    ("watches", "expected"),
    [
        (
            [{"source": "/p", "destination": "/p"}],
            "3:16: watches[0].destination: is inside its own source: " + READ_BACK,
        ),
        (
            [{"source": "/p/in", "destination": "/p"}],
            "3:16: watches[0].destination: contains its own source: " + OUTSIDE,
        ),
        (
            [{"source": "/a", "destination": "/out"}, {"source": "/b", "destination": "/a/shared"}],
            "5:16: watches[1].destination: is inside the source of watches[0] (a): "
            "published copies would be read back as new photos",
        ),
        (
            [{"source": "/out/in", "destination": "/x"}, {"source": "/b", "destination": "/out"}],
            "5:16: watches[1].destination: contains the source of watches[0] (in): "
            "a source must stay outside every destination",
        ),
        (
            [{"source": "/a", "destination": "/out"}, {"source": "/b", "destination": "/out/b"}],
            "5:16: watches[1].destination: overlaps the destination of watches[0] (a)",
        ),
        (
            [{"source": "/a/x", "destination": "/o1"}, {"source": "/b/x", "destination": "/o2"}],
            "4:11: watches[1].name: 'x' is already the name of watches[0]; give each watch its own",
        ),
    ],
)
def test_watch_overlaps(tmp_path: Path, watches: list[dict[str, Any]], expected: str) -> None:
    assert watch_config(tmp_path, *watches) == [expected]


def test_earlier_destination_inside_later_source(tmp_path: Path) -> None:
    watches = [{"source": "/a", "destination": "/b/out"}, {"source": "/b", "destination": "/c"}]
    assert watch_config(tmp_path, *watches) == [
        "3:16: watches[0].destination: is inside the source of watches[1] (b): "
        "published copies would be read back as new photos"
    ]


def test_destination_reaching_into_a_source_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "photos")
    found = watch_config(tmp_path, {"source": "photos", "destination": "link/out"})
    assert found == ["3:16: watches[0].destination: is inside its own source: " + READ_BACK]


def test_overlaps_are_checked_even_when_other_keys_are_wrong(tmp_path: Path) -> None:
    found = watch_config(tmp_path, {"source": "/p", "destination": "/p/o", "poll": -1})
    assert [problem.split(": ")[1] for problem in found] == ["watches[0].destination", "watches[0].poll"]


def test_state_dir_and_removal_log(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "state_dir: ../state\nremoval_log: logs/r.jsonl\n"), env=ENV)
    assert config.state_dir == tmp_path.parent / "state"
    assert config.removal_log == tmp_path.parent / "state" / "logs" / "r.jsonl"
    config = load_config(write(tmp_path, "removal_log: /var/log/removed.jsonl\n"), env=ENV)
    assert config.removal_log == Path("/var/log/removed.jsonl")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"STATE_DIRECTORY": "/var/lib/sharesafe", "XDG_STATE_HOME": "/x", "HOME": "/h"},
            "/var/lib/sharesafe",
        ),
        ({"XDG_STATE_HOME": "/x", "HOME": "/h"}, "/x/sharesafe"),
        ({"HOME": "/h"}, "/h/.local/state/sharesafe"),
    ],
)
def test_state_dir_defaults_from_the_environment(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    config = load_config(write(tmp_path, "workers: 2\n"), env=env)
    assert config.state_dir == Path(expected)
    assert config.removal_log == Path(expected) / "removed.jsonl"
    assert default_config(env).state_dir == Path(expected)


def test_workers_and_reconcile(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "workers: auto\nreconcile_every: 6h\n"), env=ENV)
    assert config.workers >= 1 and config.reconcile_every == 6 * 3600
    config = load_config(write(tmp_path, "workers: 3\nreconcile_every: 90\n"), env=ENV)
    assert (config.workers, config.reconcile_every) == (3, 90.0)
    assert parse_duration("2d") == 172800


def test_default_config_has_builtins_and_no_watches() -> None:
    config = default_config(ENV)
    assert config.path is None and config.watches == ()
    assert dict(config.profiles) == BUILTIN_PROFILES
    assert config.reconcile_every == 3600 and config.workers >= 1


def test_find_config(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    expected = tmp_path / "xdg" / "sharesafe" / "config.yaml"
    if not Path("/etc/sharesafe/config.yaml").exists():
        assert find_config(env) is None
    expected.parent.mkdir(parents=True)
    expected.write_text("workers: 1\n", encoding="utf-8")
    assert find_config(env) == expected
    home_config = tmp_path / "home" / ".config" / "sharesafe" / "config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("workers: 1\n", encoding="utf-8")
    assert find_config({"HOME": str(tmp_path / "home")}) == home_config


def test_profile_fingerprint_ignores_the_name_only() -> None:
    assert profile_fingerprint(STRICT) == profile_fingerprint(dataclasses.replace(STRICT, name="other"))
    assert profile_fingerprint(STRICT) != profile_fingerprint(dataclasses.replace(STRICT, jpeg_quality=91))
    assert profile_fingerprint(STRICT) != profile_fingerprint(FAMILY)
    # Pinned: a change here makes every published file look stale, so it must be deliberate.
    assert profile_fingerprint(STRICT) == "9caf1c3c3b2a"


KEYS = st.sampled_from([*TOP_KEYS, *WATCH_KEYS, *PROFILE_KEYS, "extends", "family", "strict"]) | st.text(
    max_size=8
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["auto", "off", "keep", "date", "1h", "~", "/tmp", "$HOME", "$NOPE", "..", ""])
    | st.text(max_size=12)
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


# Shaped like a config, so the fuzzing reaches the value checks rather than stopping at unknown keys.
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "workers": SCALARS,
        "reconcile_every": SCALARS,
        "state_dir": SCALARS,
        "profiles": st.dictionaries(KEYS, st.dictionaries(KEYS, SCALARS, max_size=4), max_size=3),
        "watches": st.lists(st.dictionaries(st.sampled_from(WATCH_KEYS), SCALARS, max_size=6), max_size=3),
    },
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(KEYS, STRUCTURES, max_size=6) | SHAPED)
def test_random_structures_load_or_raise_config_error(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        try:
            config = load_config(path, env={"HOME": folder})
        except ConfigError as error:
            assert error.problems and all(problem.startswith(str(path)) for problem in error.problems)
            return
        assert all(watch.source.is_absolute() for watch in config.watches)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_random_bytes_load_or_raise_config_error(content: bytes | str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        try:
            config = load_config(path, env={"HOME": folder})
        except ConfigError as error:
            assert error.problems and all(problem.startswith(str(path)) for problem in error.problems)
            return
        assert config.path == path


def test_unreadable_and_special_files(tmp_path: Path) -> None:
    blocker = write(tmp_path, "workers: 1\n")
    with pytest.raises(ConfigError, match=r"config.yaml/c.yaml: cannot be read \(Not a directory\)"):
        load_config(blocker / "c.yaml", env=ENV)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"fifo\.yaml: not a regular file"):
        load_config(fifo, env=ENV)


def test_face_threads_is_a_whole_number_or_auto(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "face_threads: 3\n"), env=ENV).face_threads == 3
    assert load_config(write(tmp_path, "face_threads: auto\n"), env=ENV).face_threads is None
    assert problems(tmp_path, "face_threads: 0\n") == [
        "1:15: face_threads: must be between 1 and 1024 (got 0)"
    ]


def test_a_faces_profile_applies_face_threads_before_any_worker_starts(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from watcher.faces import model

    text = f"face_threads: 2\nwatches:\n  - source: {tmp_path / 'in'}\n    destination: {tmp_path / 'out'}\n    profile: public\n"
    (tmp_path / "in").mkdir()
    try:
        load_config(write(tmp_path, text), env=ENV)
        assert model.default_threads() == 2
    finally:
        model.set_default_threads(None)
