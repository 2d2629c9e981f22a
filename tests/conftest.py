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
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(tmp_path / "data" / "warehouse"))
    return tmp_path / "data"


@pytest.fixture(scope="session")
def sample_site():
    from newsflow.sample_site.server import SampleSite

    with SampleSite() as site:
        yield site


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A private Airflow home (SQLite metadata, the duckdb_write pool) shared by the integration tests."""
    import os

    home = tmp_path_factory.mktemp("airflow_home")
    old = os.environ.get("AIRFLOW_HOME")
    os.environ["AIRFLOW_HOME"] = str(home)
    from newsflow.airflow_runner import ensure_airflow

    ensure_airflow()
    yield home
    if old is None:
        os.environ.pop("AIRFLOW_HOME", None)
    else:
        os.environ["AIRFLOW_HOME"] = old


# The slowest files (real Airflow runs; `pytest --durations`, session 14: 80-260 s each) are collected first. With
# `make test PYTEST_WORKERS=2`, xdist hands whole files to its two workers as they free up, each taking its next file
# before the current one ends: with these at the front both workers share them and the short unit files fill in at
# the end, instead of one worker running a two-minute file alone after the other has finished.
_SLOWEST_FIRST = ("test_service.py", "test_ingest_sample_site.py", "test_kill_during_fetch.py",
                  "test_concurrent_reader.py", "test_quality_dag.py", "test_faults_dag.py", "test_term_index.py",
                  "test_hostile_site.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(_SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: other files keep their order
