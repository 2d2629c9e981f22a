"""A disk newsflow writes that fills fails every load, fetch and Airflow's own writes: `newsflow status` shows each
disk's free space and the housekeeper tells once when one falls under NEWSFLOW_DISK_LOW_GB, once when it is back."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from newsflow.alerts import AlertSettings
from newsflow.cleanup import disk_low_bytes, free_space
from tests.support.webhook import Webhook

GB = 1024**3


def test_free_space_names_each_disk_once_and_reads_what_is_not_made_yet_on_its_parent(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    disks = free_space(data, str(tmp_path / "data" / "warehouse" / "not-made-yet"), tmp_path / "airflow")
    [(what, path, free, total)] = disks  # one disk under tmp_path
    assert what == "data dir, warehouse, Airflow home" and path == data
    usage = shutil.disk_usage(tmp_path)
    assert 0 < free <= total == usage.total
    # a lake in Postgres is not on this machine's disks
    assert [d[0] for d in free_space(data, "ducklake:postgres:dbname=lake host=127.0.0.1", data)] == [
        "data dir, Airflow home"]
    # a lake on another disk (/dev/shm, a tmpfs, when the machine has one apart from tmp_path's) is said apart
    shm = Path("/dev/shm")
    if shm.is_dir() and shm.stat().st_dev != tmp_path.stat().st_dev:
        assert [d[0] for d in free_space(data, str(shm / "lake"), data)] == ["data dir, Airflow home", "warehouse"]


def test_the_limit_is_a_number_of_gb(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_DISK_LOW_GB", raising=False)
    assert disk_low_bytes() == 2 * GB
    monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", "0.5")
    assert disk_low_bytes() == GB // 2
    for bad in ("2GB", "-1", "nan"):
        monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", bad)
        with pytest.raises(ValueError, match="NEWSFLOW_DISK_LOW_GB"):
            disk_low_bytes()


def test_the_housekeeper_tells_a_low_disk_once_and_its_recovery_once(tmp_path):
    from newsflow.housekeeper import DiskWatch

    (tmp_path / "data").mkdir()
    free = shutil.disk_usage(tmp_path).free
    state = {"url": "http://127.0.0.1:8080", "data_dir": str(tmp_path / "data"),
             "warehouse": str(tmp_path / "data" / "warehouse"), "airflow_home": str(tmp_path / "airflow"),
             "disk_low_bytes": free * 4}  # the real disk, judged against a limit it is under
    said: list[str] = []
    with Webhook() as hook:
        watch = DiskWatch(said.append, alerts=AlertSettings(webhook=hook.url))
        new, recovered = watch.look(state)
        assert [d[0] for d in new] == ["data dir, warehouse, Airflow home"] and recovered == []
        assert watch.look(state) == ([], [])  # still low: not told again
        # freed, but not a quarter above the limit: a disk hovering at the limit is not told at every look
        state["disk_low_bytes"] = int(free * 0.9)
        assert watch.look(state) == ([], [])
        state["disk_low_bytes"] = free // 4
        new, recovered = watch.look(state)
        assert new == [] and [d[0] for d in recovered] == ["data dir, warehouse, Airflow home"]
        assert watch.look(state) == ([], [])
    assert [p["newsflow"]["kind"] for p in hook.posts] == ["disk_low", "disk_low_cleared"]
    low = hook.posts[0]
    assert low["text"].startswith("newsflow: LOW DISK: ") and low["text"].endswith(
        f"on the disk of the data dir, warehouse, Airflow home ({tmp_path / 'data'}), under {free * 4 / GB:g} GB; "
        "loads, fetches and Airflow fail when it fills\nhttp://127.0.0.1:8080")
    assert low["newsflow"]["limit_bytes"] == free * 4 and 0 < low["newsflow"]["free_bytes"] <= low["newsflow"][
        "total_bytes"]
    assert len(said) == 2 and " newsflow housekeeper: LOW DISK: " in said[0] and "has" in said[1], said


def test_status_marks_a_disk_under_the_limit(tmp_path):
    from newsflow.service import _echo_free_space

    lines: list[str] = []
    assert _echo_free_space(lines.append, tmp_path, str(tmp_path / "lake"), tmp_path, low=10**18) is True
    [line] = lines
    assert line.startswith("  free ") and f"on the disk of the data dir, warehouse, Airflow home ({tmp_path})" in line
    assert "LOW: under NEWSFLOW_DISK_LOW_GB=" in line
    lines.clear()
    assert _echo_free_space(lines.append, tmp_path, str(tmp_path / "lake"), tmp_path, low=0) is False
    assert "LOW" not in lines[0]


def test_a_low_disk_the_webhook_refused_is_posted_at_the_next_look(tmp_path):
    from newsflow.housekeeper import DiskWatch

    free = shutil.disk_usage(tmp_path).free
    state = {"data_dir": str(tmp_path), "warehouse": str(tmp_path / "warehouse"), "airflow_home": str(tmp_path),
             "disk_low_bytes": free * 4}
    said: list[str] = []
    with Webhook(status=500, answer=b"boom") as hook:
        watch = DiskWatch(said.append, alerts=AlertSettings(webhook=hook.url, timeout_s=5))
        watch.look(state)
        assert said[-1].endswith("answered HTTP 500: boom); the next look posts it again"), said
        hook.status = 200
        watch.look(state)
        watch.look(state)
        hook.status = 500
        state["disk_low_bytes"] = free // 4
        watch.look(state)
        hook.status = 200
        watch.look(state)
        watch.look(state)
    assert [p["newsflow"]["kind"] for p in hook.posts] == ["disk_low"] * 2 + ["disk_low_cleared"] * 2


def test_a_limit_too_big_for_bytes_is_refused_by_name(monkeypatch):
    # 1e300 GB is finite, but not in bytes: an OverflowError (no ValueError) was a traceback from `newsflow up` and
    # `newsflow status`, as NEWSFLOW_SERVICE_LOG_MB=1e303 was
    monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", "1e300")
    with pytest.raises(ValueError, match="NEWSFLOW_DISK_LOW_GB='1e300': must be at most"):
        disk_low_bytes()


def test_a_lake_on_a_disk_of_its_own_is_told_low_once_before_and_after_its_first_load(tmp_path):
    # the lake's folder is made by the first load: until then its disk is read at the nearest folder that exists.
    # The disk told low at the look before was told low again once the folder was there (a folder is not a disk)
    from newsflow.housekeeper import DiskWatch

    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second disk (/dev/shm, a tmpfs) apart from tmp_path's")
    apart = Path(tempfile.mkdtemp(dir=shm, prefix="newsflow-test-"))
    try:
        state = {"data_dir": str(tmp_path), "warehouse": str(apart / "lake"), "airflow_home": str(tmp_path),
                 "disk_low_bytes": 2**62}  # every disk under it
        with Webhook() as hook:
            watch = DiskWatch(lambda _line: None, alerts=AlertSettings(webhook=hook.url))
            watch.look(state)
            (apart / "lake").mkdir()  # the first load
            watch.look(state)
        assert sorted(p["newsflow"]["disk"] for p in hook.posts) == ["data dir, Airflow home", "warehouse"]
    finally:
        shutil.rmtree(apart)


def test_the_housekeeper_without_a_state_file_watches_the_disks_of_its_own_settings(tmp_path, monkeypatch):
    """docker-compose runs the housekeeper in a container no `newsflow up` started: no service.json, and its
    disks are those its environment names."""
    from newsflow.housekeeper import watch_forever

    data = tmp_path / "data"
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(data))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.delenv("NEWSFLOW_WAREHOUSE", raising=False)
    monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", "1000000")  # more than any disk here: low
    said: list[str] = []
    with Webhook() as hook:
        monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", hook.url)
        watch_forever(every=0, echo=said.append, looks=2)
    assert [p["newsflow"]["kind"] for p in hook.posts] == ["disk_low"]
    assert hook.posts[0]["newsflow"]["path"] == str(tmp_path)  # data dir, lake and home: not made yet, on its disk
    assert sum("LOW DISK" in line for line in said) == 1, said


def test_a_malformed_limit_is_said_once_not_at_every_look(tmp_path, monkeypatch):
    from newsflow.housekeeper import DiskWatch

    monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", "two")
    state = {"data_dir": str(tmp_path), "warehouse": str(tmp_path / "warehouse"), "airflow_home": str(tmp_path)}
    said: list[str] = []
    watch = DiskWatch(said.append)
    for _ in range(3):
        assert watch.look(state) == ([], [])
    monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", "-1")
    watch.look(state)
    watch.look(state)
    assert [line.split("free space not judged: ")[1] for line in said] == [
        "NEWSFLOW_DISK_LOW_GB='two': expected a number of GB (GiB)", "NEWSFLOW_DISK_LOW_GB='-1': must not be negative"]


def test_a_postgres_lake_is_judged_by_the_disk_of_its_data_files(tmp_path, monkeypatch):
    """A lake whose catalog is in Postgres keeps its Parquet files in NEWSFLOW_LAKE_DATA, on a disk of this machine
    (or a mount every machine sees): the files that grow with every load. status and the housekeeper left that disk
    out, so a small volume holding them filled with no LOW line and no disk_low post."""
    from newsflow.cleanup import footprint
    from newsflow.housekeeper import DiskWatch

    data, home = tmp_path / "data", tmp_path / "airflow"
    data.mkdir()
    lake_data = tmp_path / "lake"
    (lake_data / "main" / "articles").mkdir(parents=True)
    (lake_data / "main" / "articles" / "ducklake-1.parquet").write_bytes(b"p" * 1000)
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(lake_data))
    catalog = "postgres:dbname=lake host=127.0.0.1 port=5432 user=newsflow"
    assert [d[0] for d in free_space(data, catalog, home)] == ["data dir, warehouse, Airflow home"]
    rows = {what: (path, size, files) for what, path, size, files, _kept in footprint(data, catalog, home)}
    assert rows["warehouse"] == (lake_data, 1000, 1)
    state = {"url": "http://127.0.0.1:8080", "data_dir": str(data), "warehouse": catalog, "airflow_home": str(home),
             "disk_low_bytes": shutil.disk_usage(tmp_path).free * 4}
    new, _recovered = DiskWatch(lambda line: None, alerts=AlertSettings(webhook=None)).look(state)
    assert [d[0] for d in new] == ["data dir, warehouse, Airflow home"]
    # object storage is not a disk of this machine
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", "s3://bucket/lake/")
    assert [d[0] for d in free_space(data, catalog, home)] == ["data dir, Airflow home"]


def test_status_says_a_small_postgres_lake_data_volume_is_low(tmp_path, monkeypatch):
    """The lake's data files on a volume of their own (a 4 MB tmpfs): `newsflow status` names that volume LOW."""
    from newsflow.service import _echo_footprint
    from tests.support.small_disk import small_disk

    with small_disk(tmp_path / "small", "4m") as small:
        monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(small / "lake"))
        monkeypatch.setenv("NEWSFLOW_WAREHOUSE", "postgres:dbname=lake host=127.0.0.1 port=5432 user=newsflow")
        monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("NEWSFLOW_DISK_LOW_GB", "0.01")  # 10 MB: the tmpfs is under it, tmp_path's disk is not
        said: list[str] = []
        assert _echo_footprint(said.append) is True
        [line] = [line for line in said if "on the disk of the warehouse" in line]
        assert f"({small})" in line and "LOW: under NEWSFLOW_DISK_LOW_GB=0.01" in line
