"""fetch_extract_source (news_ingest's stage: pages go to the extraction workers as soon as they are archived)
gives the same records and ledger as fetching everything first and extracting afterwards, with real worker
processes, over real HTTP from a loopback server."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from newsflow import staging
from newsflow.stages.discover import discover_source
from newsflow.stages.extraction_pool import ExtractionStream
from newsflow.stages.fetch_extract import extract_source, extraction_item, fetch_extract_source, fetch_source
from newsflow.stages.plan import plan_run
from tests.support.faultserver import FaultServer

PAGES = 48  # above SERIAL_EXTRACTION_BELOW, so the process pool is used
COMPARED = ("url", "canonical_url", "title", "body", "published_date", "date_source", "language", "credit",
            "body_hash", "simhash")


def _sources(tmp_path, server, workers: int) -> str:
    urls = [server.url(f"/ok/page-{i}") for i in range(PAGES)]
    urls += [server.url("/status/404"), server.url("/pdf"), server.url("/ok/page-0?utm_source=x")]
    path = tmp_path / f"sources-{workers}.yaml"
    path.write_text(
        "settings:\n"
        f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n"
        f"  min_host_interval_s: 0\n  max_tries: 1\n  extract_workers: {workers}\n"
        "sources:\n"
        "  - name: wire\n    kind: urls\n    urls:\n" + "".join(f"      - '{u}'\n" for u in urls)
    )
    return str(path)


def _records(job) -> dict[str, dict]:
    table = pq.read_table(job.staging / "articles.parquet")
    return {r["url"]: {k: r[k] for k in COMPARED} for r in table.to_pylist()}


def _ledger(job) -> list[tuple]:
    rows = staging.rows(job.staging / "ledger.extract.parquet", staging.LEDGER)
    return sorted((r["url_kind"], r["seq"], r["url"], r["outcome"], r["reason"]) for r in rows)


@pytest.mark.parametrize("workers", [2, 1])
def test_streamed_stage_matches_fetch_then_extract(tmp_path, data_env, workers):
    with FaultServer() as server:
        sources = _sources(tmp_path, server, workers)
        [streamed] = [fetch_extract_source(discover_source(j))
                      for j in plan_run(sources, None, f"streamed_{workers}")]
        [separate] = [extract_source(fetch_source(discover_source(j)))
                      for j in plan_run(sources, None, f"separate_{workers}")]

    assert streamed.summary["extracted"] == separate.summary["extracted"] == PAGES
    assert streamed.summary["extract_failed"] == separate.summary["extract_failed"] == 0
    assert streamed.summary["fetch_outcomes"] == separate.summary["fetch_outcomes"] == {
        "fetched": PAGES, "failed": 1, "skipped": 2}
    records = _records(streamed)
    assert len(records) == PAGES
    assert records == _records(separate)
    # every page's own path made it into its own record: results were not mixed up between pages
    for url, record in records.items():
        assert f"({url.split(str(server.port), 1)[1]})" in record["title"] + record["body"]
    assert _ledger(streamed) == _ledger(separate)


def _fetched_items(tmp_path, run_id: str) -> list[dict]:
    """The extraction work items of a fetched (not yet extracted) run, as the extract stage builds them."""
    with FaultServer() as server:
        sources = _sources(tmp_path, server, 2)
        [job] = [fetch_source(discover_source(j)) for j in plan_run(sources, None, run_id)]
    rows = staging.rows(job.staging / "ledger.fetch.parquet", staging.LEDGER)
    return [extraction_item(r, job) for r in rows
            if r["url_kind"] == "article" and r["outcome"] is None]


def test_extraction_stream_returns_every_result_once(tmp_path, data_env):
    items = _fetched_items(tmp_path, "s")
    # a page whose archive record is missing (its offset past the file's end) fails alone, as a recorded error
    items.append({**items[0], "seq": 999, "warc_offset": 10**9})
    seen = []
    with ExtractionStream(2, chunk=5) as stream:
        for item in items:
            seen.extend(stream.submit(item))
        seen.extend(stream.finish())
    assert sorted(r["seq"] for r in seen) == sorted(i["seq"] for i in items)
    failed = [r for r in seen if r["error"]]
    assert [r["seq"] for r in failed] == [999]
    assert failed[0]["error"] == "warc_truncated"  # the file ends before the record, not an extraction error


def test_a_page_that_kills_its_worker_is_recorded_and_the_rest_extracted(tmp_path, data_env):
    from tests.support.crashing_worker import extract_or_die

    items = _fetched_items(tmp_path, "c")
    items.insert(20, {**items[0], "seq": 777, "crash": True})
    seen = []
    with ExtractionStream(2, chunk=4, work=extract_or_die) as stream:
        for item in items:
            seen.extend(stream.submit(item))
        # after the crash the stream goes on with a new pool
        seen.extend(stream.submit({**items[1], "seq": 888}))
        seen.extend(stream.finish())
    assert sorted(r["seq"] for r in seen) == sorted([i["seq"] for i in items] + [888])
    assert {r["seq"]: r["error"] for r in seen if r["error"]} == {777: "extract_crashed"}
    assert stream.crashed == 1
    assert all(r["record"]["body"] for r in seen if not r["error"])


def test_a_stream_starts_its_workers_with_the_first_batch_only(tmp_path, data_env):
    # a rerun where every page is unchanged extracts nothing: no worker processes, queues or resource tracker
    with ExtractionStream(2, chunk=4) as stream:
        assert list(stream.finish()) == []
        assert stream._pool is None
    items = _fetched_items(tmp_path, "l")[:5]
    seen = []
    with ExtractionStream(2, chunk=4) as stream:
        for item in items[:3]:
            seen.extend(stream.submit(item))
        assert stream._pool is None  # no batch is full yet
        for item in items[3:]:
            seen.extend(stream.submit(item))
        assert stream._pool is not None
        seen.extend(stream.finish())
    assert sorted(r["seq"] for r in seen) == sorted(i["seq"] for i in items)


def test_nothing_to_extract_does_not_import_the_extractor():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from newsflow.stages.extraction_pool import ExtractionStream\n"
        "for workers in (2, 1):\n"
        "    with ExtractionStream(workers) as stream:\n"
        "        assert list(stream.finish()) == []\n"
        "print('newsflow.extract' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": str(root / "plugins"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("workers", [2, 1])
def test_a_page_over_the_cpu_time_limit_fails_alone(tmp_path, data_env, workers):
    """In the worker pool and in this process (where small batches are extracted)."""
    with FaultServer() as server:
        urls = [server.url(f"/ok/page-{i}") for i in range(12)] + [server.url("/link-farm")]
        path = tmp_path / "sources.yaml"
        path.write_text(
            f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
            "  max_tries: 1\n  extract_time_limit_s: 3\n"
            "sources:\n  - name: wire\n    kind: urls\n    urls:\n" + "".join(f"      - '{u}'\n" for u in urls))
        [job] = [fetch_source(discover_source(j)) for j in plan_run(str(path), None, "t")]
    rows = staging.rows(job.staging / "ledger.fetch.parquet", staging.LEDGER)
    items = [extraction_item(r, job) for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    assert len(items) == 13 and {i["time_limit_s"] for i in items} == {3.0}
    with ExtractionStream(workers, chunk=4) as stream:
        results = [r for item in items for r in stream.submit(item)]
        results.extend(stream.finish())
    url = {i["seq"]: i["url"] for i in items}
    errors = {url[r["seq"]]: r["error"] for r in results if r["error"]}
    assert errors == {server.url("/link-farm"): "extract_timeout"}
    assert len([r for r in results if r["record"] and r["record"]["body"]]) == 12


def test_a_page_is_readable_from_the_archive_as_soon_as_it_is_archived(tmp_path):
    """The extraction workers read each page from the run's WARC, by its offset, while the fetch goes on writing
    that file: a record still in the writer's buffer was `failed: warc_truncated` (a batch's last pages, when pages
    come slowly: 3 of 48 at the default 1 s between two requests to a host)."""
    from newsflow.archive import WarcArchive, read_response
    from tests.support.faultserver import article_html

    with WarcArchive(tmp_path / "run.warc.gz") as archive:
        for i in range(3):
            html = article_html(f"Council votes on the budget, part {i}", f"Story {i}: the council met on Monday. ")
            offset = archive.write_exchange(f"http://site.test/story-{i}", "GET", {"User-Agent": "t"}, 200, "OK",
                                            [("Content-Type", "text/html; charset=utf-8")], html.encode())
            assert f"part {i}".encode() in read_response(archive.path, offset).body  # another reader, the file open
