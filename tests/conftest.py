"""Shared fixtures: the real-world corpus (by path, never copied) and its manifest."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO / ".." / "shared" / "corpus" / "real").resolve()
FACES = (REPO / ".." / "shared" / "corpus" / "faces").resolve()
LEAKCHECK = (REPO / ".." / "shared" / "tools" / "leakcheck").resolve()


def load_manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def corpus_files(*formats: str) -> list[Path]:
    """Corpus files whose ExifTool-detected format is one of ``formats`` (all when none given)."""
    rows = load_manifest()
    return [CORPUS / r["path"] for r in rows if not formats or r["format"] in formats]


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    assert CORPUS.is_dir(), f"the shared corpus is missing at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def manifest() -> list[dict[str, str]]:
    return load_manifest()
