"""YAML documents with node marks, and a small toolkit to validate them with FILE:LINE:COL messages.

The document is composed (never constructed) so every node keeps its position; the typed readers below
record a problem instead of raising, so one run reports every mistake in a file at once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from watcher.errors import ConfigError
from watcher.rules.paths import shown

MAX_FILE_BYTES = 1024 * 1024  # a config is a few kilobytes; anything larger is a mistake or an attack
MAX_DEPTH = 32  # the composer recurses once per level: deep nesting would exhaust the stack

YAML = "tag:yaml.org,2002:"
# Explicit tags other than these (!!python/object, !!binary, custom tags) are refused.
STANDARD_TAGS = frozenset(YAML + name for name in ("str", "int", "float", "bool", "null", "seq", "map"))
STANDARD_TAGS |= {YAML + "timestamp"}  # implicit for plain scalars like 2024-05-01; read as text


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (no expansion bombs) and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, "aliases (*name) are not allowed in sharesafe files", mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _read_text(path: Path, name: str) -> str:
    try:
        if path.is_dir():
            raise IsADirectoryError
        if path.exists() and not path.is_file():  # a FIFO or device would block or never end
            raise ConfigError(f"{name}: not a regular file")
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a folder, not a YAML file") from None
    except OSError as error:
        raise ConfigError(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_FILE_BYTES // 1024} KiB; is this really a config file?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        prefix = data[: error.start].decode("utf-8", errors="replace")
        line, column = _position(prefix, len(prefix))
        raise ConfigError(f"{name}:{line}:{column}: not UTF-8 text") from None


def compose_text(text: str, name: str) -> Node | None:
    """The node tree of one YAML document (None when it holds nothing); syntax errors as ConfigError."""
    try:
        return yaml.compose(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "invalid YAML"
        if error.problem and error.context:
            reason = f"{error.problem} ({error.context})"
        if mark is None:
            raise ConfigError(f"{name}: YAML error: {reason}") from None
        raise ConfigError(f"{name}:{mark.line + 1}:{mark.column + 1}: YAML error: {reason}") from None
    except yaml.reader.ReaderError as error:
        line, column = _position(text, error.position)
        raise ConfigError(f"{name}:{line}:{column}: YAML error: {error.reason}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{name}: YAML error: {error}") from None


def load_document(path: Path) -> Node:
    """Read and compose one YAML file. Missing, unreadable, empty or malformed files raise ConfigError."""
    name = str(path)
    root = compose_text(_read_text(path, name), name)
    if root is None or root.tag == YAML + "null":
        raise ConfigError(f"{name}: the file is empty")
    return root


def join(path: str, key: str) -> str:
    if not key.isprintable() or len(key) > 40 or not key:
        key = shown(key)
    return f"{path}.{key}" if path else key


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == YAML + "null":
        return "nothing"
    return shown(node.value)


def suggestion(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


@dataclass
class Problems:
    """Problems found in one file, each ``FILE:LINE:COL: key.path: message``."""

    filename: str
    found: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def items(self) -> list[str]:
        """In the order they appear in the file (problems without a position first)."""
        return [text for _, _, text in sorted(self.found, key=lambda problem: problem[:2])]

    def add(self, node: Node | None, path: str, message: str) -> None:
        where, line, column = self.filename, 0, 0
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            where += f":{line}:{column}"
        self.found.append((line, column, f"{where}: {path}: {message}" if path else f"{where}: {message}"))

    def raise_if_any(self) -> None:
        if self.found:
            raise ConfigError(self.items)

    def tag_ok(self, node: Node, path: str) -> bool:
        if node.tag in STANDARD_TAGS:
            return True
        self.add(node, path, f"YAML tag {shown(node.tag, 80)} is not allowed")
        return False

    def mapping(
        self, node: Node, path: str, allowed: Collection[str] | None = None
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        """A mapping's entries by key; unknown keys (when ``allowed`` is set) and duplicates are problems."""
        if isinstance(node, ScalarNode) and node.tag == YAML + "null":
            return {}  # `key:` with nothing under it means an empty mapping
        if not isinstance(node, MappingNode):
            self.add(node, path, f"must be a mapping of keys to values (got {describe(node)})")
            return None
        if not self.tag_ok(node, path):
            return None
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (YAML + "str", YAML + "int"):
                self.add(key_node, path, f"keys must be plain words (got {describe(key_node)})")
                continue
            key = key_node.value
            first = first_lines.setdefault(key, key_node.start_mark.line + 1)
            if first != key_node.start_mark.line + 1 or key in entries:
                self.add(key_node, join(path, key), f"duplicate key (first given on line {first})")
            elif allowed is not None and key not in allowed:
                hint = suggestion(key, allowed) or "valid keys: " + ", ".join(allowed)
                self.add(key_node, join(path, key), f"unknown key ({hint})")
            else:
                entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: Node, path: str) -> list[Node] | None:
        if isinstance(node, ScalarNode) and node.tag == YAML + "null":
            return []
        if not isinstance(node, SequenceNode):
            self.add(node, path, f"must be a list (got {describe(node)})")
            return None
        return list(node.value) if self.tag_ok(node, path) else None

    def scalar(self, node: Node, path: str, expected: str) -> ScalarNode | None:
        if isinstance(node, ScalarNode) and self.tag_ok(node, path):
            return node
        if isinstance(node, ScalarNode):
            return None
        self.add(node, path, f"must be {expected} (got {describe(node)})")
        return None

    def string(self, node: Node, path: str) -> str | None:
        """Any scalar's text as written (YAML would read `on` or `2024-05-01` as a bool or a date)."""
        scalar = self.scalar(node, path, "text")
        if scalar is None:
            return None
        if scalar.tag == YAML + "null" or not scalar.value.strip():
            self.add(node, path, "must not be empty")
            return None
        if any(ord(character) < 32 for character in scalar.value):
            self.add(node, path, "must not contain control characters (newlines, tabs...)")
            return None
        return str(scalar.value)

    def choice(self, node: Node, path: str, choices: Collection[str]) -> str | None:
        scalar = self.scalar(node, path, "one of " + ", ".join(choices))
        if scalar is None:
            return None
        value = str(scalar.value)  # the text as written: `off` stays "off" rather than YAML's false
        if value in choices:
            return value
        message = f"must be one of {', '.join(choices)} (got {shown(value)})"
        hint = suggestion(value, choices)
        self.add(node, path, f"{message}; {hint}" if hint else message)
        return None

    def boolean(self, node: Node, path: str) -> bool | None:
        scalar = self.scalar(node, path, "true or false")
        if scalar is None:
            return None
        if scalar.tag != YAML + "bool":
            self.add(node, path, f"must be true or false (got {describe(node)})")
            return None
        return bool(SafeConstructor().construct_yaml_bool(scalar))

    def number(self, node: Node, path: str, *, integer: bool = False) -> float | None:
        """A finite int (or float unless ``integer``); booleans and quoted digits are not numbers."""
        expected = "a whole number" if integer else "a number"
        scalar = self.scalar(node, path, expected)
        if scalar is None:
            return None
        tags = (YAML + "int",) if integer else (YAML + "int", YAML + "float")
        if scalar.tag not in tags:
            self.add(node, path, f"must be {expected} (got {describe(node)})")
            return None
        try:
            raw = SafeConstructor().construct_object(scalar)
            value = float(raw) if isinstance(raw, int | float) else math.nan
        except (ConstructorError, ValueError, OverflowError):  # 5,000 digits, 1e999...
            raw, value = math.nan, math.nan
        if not math.isfinite(value) or abs(value) > 2**53:
            self.add(node, path, f"must be {expected} of sensible size (got {describe(node)})")
            return None
        return int(raw) if integer else value

    def bounded(
        self, node: Node, path: str, value: float | None, minimum: float, maximum: float | None = None
    ) -> float | None:
        """``value`` when minimum <= value <= maximum, else a problem."""
        if value is None:
            return None
        if value < minimum or (maximum is not None and value > maximum):
            shown = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"at least {minimum:g}"
            self.add(node, path, f"must be {shown} (got {value:g})")
            return None
        return value
