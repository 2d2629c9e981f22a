"""Which warehouses a news_quality run checks: every one its triggering asset events name, not the latest only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from newsflow.dag_tasks import triggered_warehouses

T0 = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def event(minutes: int, warehouse: str | None) -> SimpleNamespace:
    # the fields of Airflow's AssetEvent the task reads
    return SimpleNamespace(timestamp=T0 + timedelta(minutes=minutes), extra={"warehouse": warehouse} if warehouse else {})


def test_every_warehouse_the_queued_events_name_is_checked_once_in_the_order_loaded():
    """Events queue while a quality run is in progress and the next run takes them all: a `newsflow ingest
    --warehouse /srv/other` between two of the newsroom's every-minute loads was one run with them, and only the
    newest event's warehouse was checked (seen in CI: the service test's other warehouse never got its checks)."""
    events = [event(2, "/srv/main"), event(0, "/srv/main"), event(1, "/srv/other"), event(3, None)]
    assert triggered_warehouses(events) == ["/srv/main", "/srv/other"]
    assert triggered_warehouses([event(0, "postgres:dbname=lake host=db")]) == ["postgres:dbname=lake host=db"]
    # a run by hand or from events that name no warehouse: the caller falls back to the param or the deployment's
    assert triggered_warehouses([]) == [] and triggered_warehouses([event(0, None)]) == []
