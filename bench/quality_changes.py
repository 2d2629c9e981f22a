"""Time what the alerts read after each quality run on a lake holding a long history of quality runs: by default a
year of runs every 15 minutes with 100 check rows each (3.5 M rows), and a year of alerts (alerts_sent).

    python bench/quality_changes.py [--runs 35040] [--checks 100] [--repeat 5] [--output /tmp/qc-lake]

The rows are written in one statement into a fresh lake; the timed calls are for a run near the end, on a read-only
connection as send_alerts opens it: newsflow.alerts.alert_changes (what send_alerts posts: this run against what the
alerts last said, macro open_alerts) and quality_changes (the dashboard's comparison with the run before). Prints
the median and min of --repeat calls of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=35040, help="quality runs (default: a year every 15 minutes)")
    parser.add_argument("--checks", type=int, default=100, help="check rows per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", help="lake folder to create (default: a temporary one)")
    args = parser.parse_args()

    from newsflow.alerts import alert_changes, quality_changes
    from newsflow.warehouse import connect, open_for_write

    lake = Path(args.output or tempfile.mkdtemp(prefix="qc-lake-")) / "warehouse"
    con = open_for_write(lake)
    started = time.perf_counter()
    # about one check in a hundred fails at each run, a different one each time: every run has changes
    con.execute(
        "insert into quality_checks select 'q' || lpad(r::varchar, 8, '0'), "
        "timestamptz '2026-01-01 00:00:00+00' + r * interval 15 minute, 'check_' || (c % 20), 'src' || (c // 20), "
        "c::double, 'x', case when (r + c) % 97 = 0 then 'fail' else 'pass' end, null "
        "from range($runs) t(r), range($checks) u(c)", {"runs": args.runs, "checks": args.checks})
    # each failing check was raised by its run's post and cleared by the post two runs on: ~70,000 rows a year
    con.execute(
        "insert into alerts_sent select run_id, check_name, source, 'raised', status, 'fail', observed, checked_at "
        "from quality_checks where status = 'fail' union all "
        "select run_id, check_name, source, 'cleared', 'pass', 'fail', observed, checked_at + interval 30 minute "
        "from quality_checks where status = 'fail'")
    con.close()
    print(f"wrote {args.runs * args.checks:,} rows in {time.perf_counter() - started:.1f} s to {lake}")
    con = connect(lake, read_only=True)
    run = f"q{args.runs - 40:08d}"
    for name, call in (("alert_changes", alert_changes), ("quality_changes", quality_changes)):
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            changes = call(con, run)
            times.append(time.perf_counter() - started)
        print(f"{name}({run!r}): median {statistics.median(times):.3f} s, min {min(times):.3f} s over "
              f"{args.repeat}; raised {len(changes['raised'])}, cleared {len(changes['cleared'])}")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
