"""A source taken out of the sources file and put back later, through the real stages (loopback HTTP, real DuckDB):
what the quality checks say of it at its first runs back."""

from __future__ import annotations

import json

from newsflow import quality_checks as qc
from newsflow.warehouse import connect
from tests.support import stage_run
from tests.support.faultserver import FaultServer

DAILY, HOURLY = "news_ingest_every_1d", "news_ingest_every_1h"


def list_in_feed(server: FaultServer, path: str, names) -> None:
    items = "".join(f"<item><title>{n}</title><link>{server.url('/ok/' + n)}</link></item>" for n in names)
    server.pages[path] = ("application/rss+xml", (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>').encode())


def turnover(tmp_path) -> dict:
    con = connect(tmp_path / "data" / "warehouse", read_only=True)
    try:
        row = {r["source"]: r for r in qc.check_listing_turnover(con)}["harbour"]
    finally:
        con.close()
    return {"status": row["status"], **json.loads(row["details"])}


def test_a_feed_back_in_the_sources_file_is_not_told_to_be_read_more_often(tmp_path, data_env):
    """harbour, read daily beside `other`, is taken out of the sources file for a while: its feed turns over
    meanwhile. Its first run back (on its schedule, then moved to an hourly one) found none of the items known, and
    listing_turnover warned "read it more often" of a schedule that had not read it once; the next run of the
    schedule is judged as before."""
    with FaultServer() as server:
        harbour = f"  - {{name: harbour, kind: feed, url: '{server.url('/harbour.xml')}'}}\n"
        other = f"  - {{name: other, kind: feed, url: '{server.url('/other.xml')}'}}\n"
        list_in_feed(server, "/other.xml", [f"o{i}" for i in range(6)])
        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(6)])
        stage_run.run(tmp_path, server, "d1", harbour + other, dag_id=DAILY)
        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(3, 9)])
        stage_run.run(tmp_path, server, "d2", harbour + other, dag_id=DAILY)
        assert turnover(tmp_path)["status"] == "pass"
        stage_run.run(tmp_path, server, "d3", other, dag_id=DAILY)  # harbour taken out

        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(20, 26)])  # turned over while out
        stage_run.run(tmp_path, server, "d4", harbour + other, dag_id=DAILY)
        back = turnover(tmp_path)
        assert (back["status"], back["ingest_run_id"], back["listed"]) == ("pass", "d4", 6), back
        assert "did not read the source" in back["note"]  # not judged: an alert told before stands

        # moved to an hourly schedule: its first run there has no run before it on that schedule
        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(30, 36)])
        stage_run.run(tmp_path, server, "h1", harbour.replace("}", ", schedule: 1h}"), dag_id=HOURLY)
        moved = turnover(tmp_path)
        assert (moved["status"], moved["ingest_run_id"]) == ("pass", "h1") and moved["note"], moved

        # from then on the schedule is judged: a feed that turned over between two of its runs still warns
        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(40, 46)])
        stage_run.run(tmp_path, server, "h2", harbour.replace("}", ", schedule: 1h}"), dag_id=HOURLY)
        again = turnover(tmp_path)
        assert (again["status"], again["ingest_run_id"], again.get("note")) == ("warn", "h2", None), again


def test_a_feed_read_by_hand_among_other_sources_runs_is_still_judged(tmp_path, data_env):
    """`newsflow ingest --source harbour`, then `--source other`, then `--source harbour` (two jobs by hand, or
    cron, on the one unscheduled news_ingest DAG): harbour's feed turned over completely between its two runs. The
    run before its latest on news_ingest was other's, which did not list it, and the check took harbour for a
    source back in the sources file and judged nothing, whichever run turned over: it warned before, and a feed
    read by hand has no schedule a run of another source's could have kept it off."""
    with FaultServer() as server:
        both = (f"  - {{name: harbour, kind: feed, url: '{server.url('/harbour.xml')}'}}\n"
                f"  - {{name: other, kind: feed, url: '{server.url('/other.xml')}'}}\n")
        list_in_feed(server, "/other.xml", [f"o{i}" for i in range(6)])
        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(6)])
        stage_run.run(tmp_path, server, "m1", both, dag_id="news_ingest", names=["harbour"])
        stage_run.run(tmp_path, server, "m2", both, dag_id="news_ingest", names=["other"])
        list_in_feed(server, "/harbour.xml", [f"h{i}" for i in range(20, 26)])  # turned over since m1
        stage_run.run(tmp_path, server, "m3", both, dag_id="news_ingest", names=["harbour"])
        row = turnover(tmp_path)
        assert (row["status"], row["ingest_run_id"], row["listed"], row.get("note")) == ("warn", "m3", 6, None), row
