"""Shared fixtures: the project root on sys.path, isolated data folders, and the loopback sample site."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "plugins", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

CORPUS = ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """A private data folder and warehouse for one test."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    return tmp_path / "data"


@pytest.fixture(scope="session")
def sample_site():
    from newsflow.sample_site.server import SampleSite

    with SampleSite() as site:
        yield site
