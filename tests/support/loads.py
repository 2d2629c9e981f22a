"""Hand-made staged runs for load tests: article records as the validate stage writes them, and one real
load_run over them (every article valid, one ledger row each)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from newsflow import staging
from newsflow.dedup import body_hash, simhash

D1, D2, D3, D4, D5 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 12), date(2024, 3, 6), date(2024, 3, 7)
WIRE = "Iran and its neighbours resumed talks on Monday about the central bank and the shipping lanes."
PORT = "Dockers at the port went on strike over wages, the union said in a statement on Monday."


def record(source, seq, day, title, body, **extra):
    url = f"https://{source}.example/news/{seq}"
    published = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
    row = {
        "seq": seq, "article_id": hashlib.sha1(url.encode()).hexdigest()[:20], "url": url, "canonical_url": url,
        "source": source, "source_domain": f"{source}.example", "sitename": source, "title": title,
        "author": None, "published_at": published, "published_date": day, "date_source": "meta",
        "date_disagreement": False, "date_reason": None, "date_candidates": None, "language": "en",
        "language_source": "detected", "body": body, "body_chars": len(body), "link_density": 0.0,
        "body_hash": body_hash(body), "simhash": simhash(body), "credit": None, "categories": [], "tags": [],
        "fetched_at": published + timedelta(hours=1), "http_status": 200, "warc_file": None, "warc_offset": None,
        "extractor_version": "test-1", "extractor_settings": "{}",
    }
    row.update(extra)
    return row


def load(tmp_path: Path, run_id: str, by_source: dict, warehouse: Path | str | None = None, started_at=None,
         dag_id: str = "test") -> dict:
    """One load_run of the given staged articles per source into `warehouse` (default tmp_path / 'w')."""
    from newsflow.stages.load import load_run

    return load_run(stage(tmp_path, run_id, by_source, warehouse), run_id=run_id, dag_id=dag_id, started_at=started_at)


def stage(tmp_path: Path, run_id: str, by_source: dict, warehouse: Path | str | None = None) -> list:
    """The jobs of a run whose stages staged the given articles per source, ready for its load."""
    import dataclasses

    from newsflow.stages.plan import make_jobs

    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        "sources:\n" + "".join(f"  - {{name: {s}, kind: urls, urls: ['https://{s}.example/']}}\n" for s in by_source),
        encoding="utf-8",
    )
    planned = {job.name: job for job in make_jobs(str(sources_file), None, run_id, str(warehouse or tmp_path / "w"))}
    jobs = []
    for source, records in by_source.items():
        folder = tmp_path / "staging" / run_id / source
        folder.mkdir(parents=True, exist_ok=True)
        staging.write(records, staging.ARTICLE, folder / "valid.parquet")
        ledger = [{"seq": r["seq"], "url_kind": "article", "url": r["url"], "canonical_url": r["url"],
                   "article_id": r["article_id"], "http_status": 200, "fetched_at": r["fetched_at"],
                   "etag": f'"{r["body_hash"][:8]}"'} for r in records]
        staging.write(ledger, staging.LEDGER, folder / "ledger.validate.parquet")
        staging.write([], staging.REJECTED, folder / "rejected.parquet")
        staging.write([], staging.VALIDATION, folder / "validation.parquet")
        jobs.append(dataclasses.replace(planned[source], staging=folder))
    return jobs
