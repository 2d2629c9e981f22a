"""A host that refuses every connection stops costing time: after host_failure_limit connection failures in a
row its remaining URLs fail as host_unreachable without a connection attempt; other hosts are not affected."""

from __future__ import annotations

import socket

from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer
from tests.support.stage_run import run

DEAD_URLS = 40


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dead_host_stops_early(tmp_path, data_env):
    dead = free_port()
    with FaultServer() as server:
        urls = [f"http://127.0.0.1:{dead}/story/{i}" for i in range(DEAD_URLS)]
        urls += [server.url(f"/ok/alive-{i}") for i in range(3)]
        (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
        run(tmp_path, server, "dead_host", "  - {name: mixed, kind: urls, urls_file: urls.txt}\n",
            settings=f"  allow_private_hosts: ['127.0.0.1:{dead}', '127.0.0.1:{server.port}']\n"
                     "  host_failure_limit: 4\n  host_concurrency: 2\n  max_tries: 3\n  backoff_base_s: 0\n"
                     "  respect_robots: false\n")
    con = connect(data_env / "warehouse", read_only=True)
    rows = con.execute("select url, outcome, reason, tries from fetch_log where url_kind = 'article'").fetchall()
    dead_rows = [r for r in rows if f":{dead}/" in r[0]]
    reasons = {}
    for _url, _outcome, reason, _tries in dead_rows:
        reasons[reason] = reasons.get(reason, 0) + 1
    assert len(dead_rows) == DEAD_URLS and {r[1] for r in dead_rows} == {"failed"}
    # at most the limit plus the requests already in flight on the host's slots tried to connect
    attempts = sum(tries or 0 for _u, _o, reason, tries in dead_rows if reason == "connection_error")
    assert 4 <= attempts <= 4 + 2, (attempts, reasons)
    assert reasons["host_unreachable"] >= DEAD_URLS - (4 + 2), reasons
    assert set(reasons) == {"connection_error", "host_unreachable"}
    unreachable_tries = {tries for _u, _o, reason, tries in dead_rows if reason == "host_unreachable"}
    assert unreachable_tries == {0}, unreachable_tries
    alive = [r for r in rows if f":{server.port}/" in r[0]]
    assert [r[1:3] for r in alive] == [("loaded", "new")] * 3
