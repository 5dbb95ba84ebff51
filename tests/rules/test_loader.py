"""The YAML layer: positions in every error, refused aliases and tags, and the typed readers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.errors import ConfigError
from watcher.rules.loader import Problems, compose_text, load_document
from watcher.rules.paths import default_state_dir, expand_path, is_within, parse_duration


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_document(path)
    return caught.value.problems


def write(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_syntax_error_has_file_line_column(tmp_path: Path) -> None:
    path = write(tmp_path, "watches:\n  - source: a\n    destination: [b\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:4:1: YAML error: ")


def test_mapping_value_in_wrong_place(tmp_path: Path) -> None:
    path = write(tmp_path, "a: b: c\n")
    assert problems_of(path) == [f"{path}:1:5: YAML error: mapping values are not allowed here"]


def test_tab_indentation_is_a_positioned_error(tmp_path: Path) -> None:
    path = write(tmp_path, "profiles:\n\tfamily: {}\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2:1: YAML error: ")


def test_aliases_are_refused_at_their_position(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &anchor [1, 2]\nb: *anchor\n")
    assert problems_of(path) == [
        f"{path}:2:4: YAML error: aliases (*name) are not allowed in sharesafe files"
    ]


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(20)]
    [problem] = problems_of(write(tmp_path, "\n".join(lines)))
    assert "aliases (*name) are not allowed" in problem


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[" * 50_000 + "]" * 50_000)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:1:")
    assert "nested deeper than" in problem


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("---\n...\n", "the file is empty"),
        ("~\n", "the file is empty"),
    ],
)
def test_empty_files(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, content)
    assert problems_of(path) == [f"{path}: {message}"]


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]
    assert problems_of(tmp_path) == [f"{tmp_path}: is a folder, not a YAML file"]


def test_not_utf8_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, b"state_dir: ok\nworkers: \xff\n")
    assert problems_of(path) == [f"{path}:2:10: not UTF-8 text"]


def test_control_character_gives_position(tmp_path: Path) -> None:
    path = write(tmp_path, "a: b\nc: d\x07\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2:5: YAML error: ")


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, "# " + "x" * (2 * 1024 * 1024))
    [problem] = problems_of(path)
    assert "larger than 1024 KiB" in problem


def test_several_documents_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\n---\nb: 2\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2:1: YAML error: but found another document")


def reader(text: str) -> tuple[Problems, object]:
    node = compose_text(text, "f.yaml")
    assert node is not None
    return Problems("f.yaml"), node


def test_mapping_reports_unknown_and_duplicate_keys() -> None:
    problems = Problems("f.yaml")
    node = compose_text("tme: 1\nname: a\nname: b\nzzz: 3\n", "f.yaml")
    assert node is not None
    entries = problems.mapping(node, "profiles.x", ("time", "name"))
    assert entries is not None and list(entries) == ["name"]
    assert problems.items == [
        "f.yaml:1:1: profiles.x.tme: unknown key (did you mean 'time'?)",
        "f.yaml:3:1: profiles.x.name: duplicate key (first given on line 2)",
        "f.yaml:4:1: profiles.x.zzz: unknown key (valid keys: time, name)",
    ]


def test_custom_and_python_tags_are_refused() -> None:
    problems = Problems("f.yaml")
    node = compose_text("a: !!python/object:os.system echo\nb: !mine 3\nc: !!str 5\n", "f.yaml")
    assert node is not None
    entries = problems.mapping(node, "")
    assert entries is not None
    assert problems.string(entries["a"][1], "a") is None
    assert problems.number(entries["b"][1], "b") is None
    assert problems.string(entries["c"][1], "c") == "5"
    assert problems.items == [
        "f.yaml:1:4: a: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
        "f.yaml:2:4: b: YAML tag '!mine' is not allowed",
    ]


@pytest.mark.parametrize(
    ("text", "integer", "expected"),
    [
        ("3", True, 3),
        ("0x10", True, 16),
        ("2.5", False, 2.5),
        ("7", False, 7.0),
        ("2.5", True, None),
        ("'3'", True, None),
        ("true", False, None),
        (".inf", False, None),
        (".nan", False, None),
        ("1e999", False, None),
        ("9" * 5000, True, None),
        ("[3]", False, None),
    ],
)
def test_number_reader(text: str, integer: bool, expected: float | None) -> None:
    problems = Problems("f.yaml")
    node = compose_text(text, "f.yaml")
    assert node is not None
    value = problems.number(node, "n", integer=integer)
    assert value == expected
    assert bool(problems.items) == (expected is None)
    if expected is not None:
        assert type(value) is (int if integer else float)


def test_choice_keeps_the_text_as_written() -> None:
    problems = Problems("f.yaml")
    node = compose_text("off", "f.yaml")
    assert node is not None
    assert problems.choice(node, "faces", ("off", "blur")) == "off"
    bad = compose_text("blurr", "f.yaml")
    assert bad is not None
    assert problems.choice(bad, "faces", ("off", "blur")) is None
    assert problems.items == [
        "f.yaml:1:1: faces: must be one of off, blur (got 'blurr'); did you mean 'blur'?"
    ]


@pytest.mark.parametrize(
    ("text", "expected"), [("yes", True), ("false", False), ("'true'", None), ("1", None)]
)
def test_boolean_reader(text: str, expected: bool | None) -> None:
    problems = Problems("f.yaml")
    node = compose_text(text, "f.yaml")
    assert node is not None
    assert problems.boolean(node, "b") is expected


@pytest.mark.parametrize("text", ["''", "~", '"a\\nb"', "[]", "{}"])
def test_string_reader_refuses_empty_control_and_collections(text: str) -> None:
    problems = Problems("f.yaml")
    node = compose_text(f"k: {text}", "f.yaml")
    assert node is not None
    entries = problems.mapping(node, "")
    assert entries is not None
    assert problems.string(entries["k"][1], "k") is None
    [problem] = problems.items
    assert problem.startswith("f.yaml:1:4: k: must ")


def test_empty_value_is_an_empty_mapping_or_list() -> None:
    problems = Problems("f.yaml")
    node = compose_text("a:\n", "f.yaml")
    assert node is not None
    entries = problems.mapping(node, "")
    assert entries is not None
    assert problems.mapping(entries["a"][1], "a") == {}
    assert problems.sequence(entries["a"][1], "a") == []
    assert problems.items == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("30m", 1800), ("6h", 21600), ("2d", 172800), ("90", 90), ("1.5h", 5400), ("1h30m", 5400)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "6x", "-5m", "1 hour", "5m5", "1e999999d", "nan"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["s", "m", "h", "d"]))
def test_parse_duration_units(count: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert parse_duration(f"{count}{unit}") == count * factor


@given(st.text(max_size=20))
def test_parse_duration_fails_only_with_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert math.isfinite(seconds) and seconds >= 0


def test_expand_path() -> None:
    env = {"HOME": "/home/ana", "PHOTOS": "/data/photos"}
    base = Path("/etc/sharesafe")
    assert expand_path("~/Sync", env, base) == Path("/home/ana/Sync")
    assert expand_path("~", env, base) == Path("/home/ana")
    assert expand_path("$PHOTOS/in", env, base) == Path("/data/photos/in")
    assert expand_path("${PHOTOS}x", env, base) == Path("/data/photosx")
    assert expand_path("cost$$5", env, base) == Path("/etc/sharesafe/cost$5")
    assert expand_path("../state", env, base) == Path("/etc/state")
    with pytest.raises(ValueError, match=r"environment variable \$NOPE is not set"):
        expand_path("$NOPE/photos", env, base)
    with pytest.raises(ValueError, match="unknown user"):
        expand_path("~no-such-user-here/x", env, base)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STATE_DIRECTORY": "/var/lib/sharesafe:/other", "HOME": "/h"}, "/var/lib/sharesafe"),
        ({"XDG_STATE_HOME": "/xdg/state", "HOME": "/h"}, "/xdg/state/sharesafe"),
        ({"XDG_STATE_HOME": "relative/ignored", "HOME": "/h"}, "/h/.local/state/sharesafe"),
        ({"HOME": "/h"}, "/h/.local/state/sharesafe"),
    ],
)
def test_default_state_dir(env: dict[str, str], expected: str) -> None:
    assert default_state_dir(env) == Path(expected)


def test_is_within() -> None:
    assert is_within(Path("/a/b"), Path("/a"))
    assert is_within(Path("/a"), Path("/a"))
    assert not is_within(Path("/ab"), Path("/a"))
    assert not is_within(Path("/a"), Path("/a/b"))


def test_long_and_multiline_values_are_escaped_and_cut_in_messages() -> None:
    problems = Problems("f.yaml")
    text = '? "' + "x" * 5000 + '\\nforged: line"\n: 1\nk: "' + "y" * 5000 + '"\n'
    node = compose_text(text, "f.yaml")
    assert node is not None
    entries = problems.mapping(node, "", ("k",))
    assert entries is not None
    assert problems.choice(entries["k"][1], "k", ("a", "b")) is None
    assert all("\n" not in problem and len(problem) < 200 for problem in problems.items)
    assert problems.items[0] == "f.yaml:1:3: '" + "x" * 37 + "...': unknown key (valid keys: k)"
