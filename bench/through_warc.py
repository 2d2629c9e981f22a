"""The labelled corpora ingested as a user ingests a crawl: every page written to one WARC, read by a `warc` source
through a whole `newsflow ingest` run (Airflow, validation, the load), scored from what the warehouse holds, side
by side with bench/extraction.py's in-process path (extract_html on the same bytes, the same validation rules).

    .venv/bin/python bench/through_warc.py [--corpora ../shared/corpora] [--limit N] [--workdir DIR]
        [--content-type 'text/html; charset=iso-8859-1'] [--json out.json]

The WARC has one `response` record a page: HTTP 200, `Content-Type: text/html` (the corpora keep no headers;
`--content-type` sends another for every page, e.g. a server's default charset that is wrong for many), WARC-Date =
bench/extraction.py's FETCHED_AT, so both paths see the same fetch time. A page's pipeline result is its row in
`articles` (loaded) or `rejected_articles` (rejected, with the fields validation saw); a page with neither (failed,
skipped) scores as empty. Printed: per corpus and path, body P/R/F1, date exact and within a day, title exact (the
full title rule on both paths, against the pages whose <h1> equals their JSON-LD headline or og:title), rejections
by reason, and every page whose date, title, body or outcome differs between the two paths.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "plugins"))
import extraction as bench  # noqa: E402
from e2e import PY, fresh_home, prepare_airflow_template, run_measured  # noqa: E402


def write_warc(pages: list[dict], path: Path, content_type: str) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    stamp = bench.FETCHED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for page in pages:
            http = StatusAndHeaders("200 OK", [("Content-Type", content_type),
                                               ("Content-Length", str(len(page["raw"])))], protocol="HTTP/1.1")
            record = writer.create_warc_record(page["url"], "response", payload=io.BytesIO(page["raw"]),
                                               http_headers=http, warc_headers_dict={"WARC-Date": stamp})
            writer.write_record(record)


def page_key(url: str) -> str:
    """Pages are matched on their canonical URL (the warehouse stores a URL with a space as %20), else as given."""
    from newsflow.urls import url_problem

    if url_problem(url):
        return url
    from newsflow.urls import canonicalize

    return canonicalize(url)


def pipeline_results(warehouse: Path) -> dict[str, dict]:
    """page key -> the fields the warehouse holds for it (loaded or rejected) and its outcome."""
    from newsflow.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        rows: dict[str, dict] = {}
        for url, canonical, outcome, reason in con.execute(
                "select url, canonical_url, outcome, reason from fetch_log where url_kind = 'article'").fetchall():
            rows[canonical or url] = {"outcome": outcome, "reason": reason, "body": None, "title": None,
                                      "date": None, "reasons": []}
        for table, extra in (("articles", "[]::varchar[]"), ("rejected_articles", "reasons")):
            for canonical, body, title, day, reasons in con.execute(
                    f"select canonical_url, body, title, published_date, {extra} from {table}").fetchall():  # noqa: S608
                entry = rows.setdefault(canonical, {"outcome": "?", "reason": None, "reasons": []})
                entry.update(body=body, title=title, date=day.isoformat() if day else None, reasons=list(reasons))
    finally:
        con.close()
    return rows


def in_process(pages: list[dict]) -> list[dict]:
    results = [bench.run_newsflow(page) for page in pages]
    rejected = bench.rejection_scores([r["record"] for r in results])["rejected_urls"]
    for page, result in zip(pages, results, strict=True):
        result["reasons"] = rejected.get(page["url"], [])
    return results


def score(pages: list[dict], results: list[dict], titles: list[str | None], with_bodies: bool, with_dates: bool) -> dict:
    out = {"titles": bench.title_scores(titles, results),
           "rejected": Counter(reason for r in results for reason in r["reasons"]),
           "rejected_pages": sum(1 for r in results if r["reasons"])}
    if with_bodies:
        out["body"] = bench.body_scores(pages, results)
    if with_dates:
        out["dates"] = bench.date_scores(pages, results)
    return out


def differences(pages: list[dict], mine: list[dict], through: list[dict]) -> list[dict]:
    rows = []
    for page, a, b in zip(pages, mine, through, strict=True):
        fields = {name: (a[name], b[name]) for name in ("date", "title", "reasons") if a[name] != b[name]}
        if bench.fold(a["body"] or "") != bench.fold(b["body"] or ""):
            fields["body"] = (len(a["body"] or ""), len(b["body"] or ""))
        if fields:
            rows.append({"url": page["url"], "outcome": b.get("outcome"), **{k: list(v) for k, v in fields.items()}})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=bench.DEFAULT_CORPORA)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages of each corpus")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-through-warc"))
    parser.add_argument("--content-type", default="text/html", help="the Content-Type every record is sent with")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    corpora = {}
    if (args.corpora / bench.AEB / "ground-truth.json").is_file():
        corpora[bench.AEB] = (bench.load_aeb(args.corpora / bench.AEB, args.limit), True, False)
    if (args.corpora / bench.HTMLDATE / "ground-truth.jsonl").is_file():
        corpora[bench.HTMLDATE] = (bench.load_htmldate(args.corpora / bench.HTMLDATE, args.limit), False, True)
    if not corpora:
        print(f"SKIP: no labelled corpus under {args.corpora}; nothing measured.")
        return 0
    every = [page for pages, _, _ in corpora.values() for page in pages]
    urls = Counter(page_key(page["url"]) for page in every)
    if len(urls) != len(every):
        repeated = [url for url, n in urls.items() if n > 1]
        print(f"note: {len(repeated)} URLs occur in more than one page; the pipeline keeps one of each: {repeated[:5]}")

    args.workdir.mkdir(parents=True, exist_ok=True)
    warc = args.workdir / "corpora.warc.gz"
    write_warc(every, warc, args.content_type)
    sources = args.workdir / "sources.yaml"
    sources.write_text("settings:\n  extract_workers: 2\nsources:\n"
                       f"  - {{name: {bench.SOURCE}, kind: warc, path: '{warc}'}}\n", encoding="utf-8")
    template = prepare_airflow_template(args.workdir)
    home = fresh_home(template, args.workdir / "airflow")
    data = args.workdir / "data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    data.mkdir()
    warehouse = data / "warehouse"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "NEWSFLOW_DATA_DIR": str(data),
           "NEWSFLOW_WAREHOUSE": str(warehouse), "PYTHONPATH": str(ROOT / "plugins")}
    print(f"newsflow ingest of {len(every)} pages from {warc} ...", flush=True)
    run = run_measured([PY, "-m", "newsflow.cli", "ingest", "--sources", str(sources), "--warehouse", str(warehouse)],
                       env, args.workdir / "ingest.out")
    print(f"  exit {run['exit']}, {run['wall_s']} s wall, {run['cpu_s']} CPU s (log {run['log']})", flush=True)
    if run["exit"] != 0:
        return 1
    stored = pipeline_results(warehouse)
    outcomes = Counter(f"{row['outcome']}:{row['reason'] or ''}" for row in stored.values())

    # the accounting rule: every record of the archive has its one row
    report: dict = {"run": run, "outcomes": dict(outcomes.most_common()), "corpora": {},
                    "every_record_accounted": sum(outcomes.values()) == len(every)}
    for name, (pages, with_bodies, with_dates) in corpora.items():
        titles = [bench.consensus_title(page["html"]) for page in pages]
        mine = in_process(pages)
        empty = {"outcome": "missing", "reason": None, "body": None, "title": None, "date": None, "reasons": []}
        through = [stored.get(page_key(page["url"]), empty) for page in pages]
        report["corpora"][name] = {
            "pages": len(pages),
            "in_process": score(pages, mine, titles, with_bodies, with_dates),
            "through_warc": score(pages, through, titles, with_bodies, with_dates),
            "differences": differences(pages, mine, through),
        }
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


def render(report: dict) -> str:
    lines = [f"outcomes of the run's article rows: {report['outcomes']}",
             f"one row for every record written: {report['every_record_accounted']}", "",
             "| corpus | path | pages | body P | body R | body F1 | date exact | date ±1 day | title exact, full rule (n) "
             "| rejected | by reason |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for corpus, entry in report["corpora"].items():
        for path in ("in_process", "through_warc"):
            e = entry[path]
            title = f"{e['titles']['exact']:.3f} ({e['titles']['pages']})" if e["titles"]["pages"] else "-"
            reasons = ", ".join(f"{k} {v}" for k, v in e["rejected"].most_common()) or "none"
            lines.append(f"| {corpus} | {path} | {entry['pages']} | {bench.cell(e, 'body', 'precision')} | "
                         f"{bench.cell(e, 'body', 'recall')} | {bench.cell(e, 'body', 'f1')} | "
                         f"{bench.cell(e, 'dates', 'exact')} | {bench.cell(e, 'dates', 'within_1_day')} | {title} | "
                         f"{e['rejected_pages']} | {reasons} |")
    for corpus, entry in report["corpora"].items():
        diffs = entry["differences"]
        lines += ["", f"{corpus}: {len(diffs)} of {entry['pages']} pages differ between the paths (in process -> "
                  "through the WARC; body as character counts)"]
        lines += [f"- {json.dumps(row, ensure_ascii=False, default=str)[:300]}" for row in diffs]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
