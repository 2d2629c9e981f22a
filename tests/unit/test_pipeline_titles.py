"""Validation's title pass: a site name that no metadata declared is removed when most of a source's titles
carry it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from newsflow import staging
from newsflow.stages.plan import plan_run, resolve_sources_file
from newsflow.stages.validate import validate_source


def _record(seq: int, title: str) -> dict:
    row = dict.fromkeys(staging.ARTICLE.names)
    row.update(
        seq=seq, article_id=f"id{seq}", url=f"https://kavir.example/{seq}", canonical_url=f"https://kavir.example/{seq}",
        source="kavir", title=title, published_at=datetime(2018, 5, 21, tzinfo=UTC),
        published_date=datetime(2018, 5, 21).date(), language="fa", body="متن خبر " * 60, body_chars=480,
        link_density=0.0, body_hash=f"h{seq}", fetched_at=datetime(2018, 5, 22, tzinfo=UTC),
    )
    return row


def test_undeclared_site_name_is_stripped_from_titles(tmp_path, data_env):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: kavir, kind: urls, urls: ['https://kavir.example/1']}\n")
    folder = tmp_path / "stage"
    folder.mkdir()
    titles = ["سیل در شمال | Kavir", "رأی مجلس | Kavir", "برداشت گندم | Kavir", "بدون نام سایت"]
    staging.write([_record(i, t) for i, t in enumerate(titles)], staging.ARTICLE, folder / "articles.parquet")
    ledger = [dict(dict.fromkeys(staging.LEDGER.names), seq=i, url_kind="article", url=f"https://kavir.example/{i}")
              for i in range(len(titles))]
    staging.write(ledger, staging.LEDGER, folder / "ledger.extract.parquet")
    [job] = plan_run(str(sources), None, "r")
    assert validate_source(dataclasses.replace(job, staging=folder)).summary["valid"] == 4
    kept = [r["title"] for r in staging.rows(folder / "valid.parquet", staging.ARTICLE)]
    assert kept == ["سیل در شمال", "رأی مجلس", "برداشت گندم", "بدون نام سایت"]


def test_relative_sources_file_resolves_from_the_project_root(tmp_path, monkeypatch):
    from newsflow.config import project_root

    monkeypatch.chdir(tmp_path)
    assert resolve_sources_file("config/sources.yaml") == str(project_root() / "config" / "sources.yaml")
    (tmp_path / "mine.yaml").write_text("sources: []\n")
    assert resolve_sources_file("mine.yaml") == str(tmp_path / "mine.yaml")
