"""What a term table (term, article_id) kept by the loads would cost (issue 14's last remedy for term_coverage).

    .venv/bin/python bench/term_table.py --lake /tmp/lake-200k [--articles 50000] [--workdir /tmp/newsflow-terms]

Takes the first --articles articles of a synthetic lake (bench/synthetic_warehouse.py: real-length bodies, a
50,000-word long tail) and measures, each step timed with wall and CPU seconds (resource.getrusage):
  read          sum(length(body)) over the sample (held in memory): the floor of any pass over the text
  sql_tokens    the terms in SQL at load time: distinct lower-cased words (term_words' regular expression) of
                title + body, CJK text as single Han/Hiragana/Katakana characters
  py_tokens     the same in Python (the `regex` module), per article: what tokenising in the extraction workers
                would add to each page
  bare          into an empty table of a fresh lake, `insert ... select *` of the sample (what the load's 3x
                budget is measured against)
  terms_unsorted  the sample's (term, article_id) rows inserted as they come
  terms_sorted    the same rows `order by term` (what lets Parquet min/max statistics prune a one-word lookup)
  lookups       one word / a phrase's candidates from the sorted table, against a scan of the same sample
and the rows per article and the bytes on disk. The tokenised sample is staged as Parquet with a `terms` list
(as the extraction stage would hand it to the load) before anything is timed against the lake.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

WORD = r"[^\p{P}\p{S}\p{Z}\p{C}]+"  # term_words' regular expression (sql/macros/term_words.sql)
CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
# the distinct terms of a lower-cased text: its words, except that text with CJK characters in it gives those
# characters one by one instead of the words holding them (a CJK run has no word boundaries to cut at)
SQL_TERMS = f"""list_distinct(case when regexp_matches(txt, '{CJK}')
    then list_concat(list_filter(regexp_extract_all(txt, '{WORD}'), lambda x: not regexp_matches(x, '{CJK}')),
                     regexp_extract_all(txt, '{CJK}'))
    else regexp_extract_all(txt, '{WORD}') end)"""


def timed(results: dict, label: str, con, sql: str, params=None):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    out = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    results[label] = {"wall_s": round(time.monotonic() - t0, 2),
                      "cpu_s": round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 2)}
    print(f"  {label:<22} {results[label]['wall_s']:7.2f} s wall {results[label]['cpu_s']:7.2f} s CPU", flush=True)
    return out


def py_terms(title: str | None, body: str) -> list[str]:
    import regex

    text = ((title or "") + "\n" + body).lower()
    words = regex.findall(WORD, text)
    if regex.search(CJK, text):
        words = [w for w in words if not regex.search(CJK, w)] + regex.findall(CJK, text)
    return list(set(words))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-terms"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from newsflow.warehouse import connect

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    staged = args.workdir / "staged.parquet"
    results: dict = {"articles": args.articles}

    source = connect(args.lake, read_only=True)
    source.execute("set enable_progress_bar = false")
    # the sample held in memory, so that every step below times its own work on the same rows, not a lake scan
    source.execute(f"create temp table sample as select * from articles using sample reservoir({args.articles} rows) "
                   "repeatable (7)")
    sample = "sample"
    timed(results, "read", source, f"select sum(length(body)) from {sample}")
    timed(results, "sql_tokens", source,
          f"select sum(len({SQL_TERMS})) from (select lower(title || chr(10) || body) as txt from {sample})")
    rows = source.execute(f"select title, body from {sample} limit 2000").fetchall()
    started = time.process_time()
    for title, body in rows:
        py_terms(title, body)
    results["py_tokens_ms_per_article"] = round((time.process_time() - started) / len(rows) * 1000, 3)
    print(f"  py_tokens              {results['py_tokens_ms_per_article']:.3f} ms CPU per article", flush=True)
    # staged as the extraction stage would hand it over (the bench's own tokenising, untimed)
    source.execute(f"copy (select * exclude (txt), {SQL_TERMS} as terms from "
                   f"(select *, lower(title || chr(10) || body) as txt from {sample})) "
                   f"to '{staged}' (row_group_size 2048)")
    source.close()

    lake = connect(args.workdir / "lake")
    lake.execute("set enable_progress_bar = false")
    lake.execute(f"create table bare as select * exclude (terms) from read_parquet('{staged}') limit 0")
    lake.execute("create table terms_unsorted (term varchar, article_id varchar)")
    lake.execute("create table terms_sorted (term varchar, article_id varchar)")
    timed(results, "bare", lake, f"insert into bare select * exclude (terms) from read_parquet('{staged}')")
    timed(results, "terms_unsorted", lake, "insert into terms_unsorted "
          f"select unnest(terms) as term, article_id from read_parquet('{staged}')")
    timed(results, "terms_sorted", lake, "insert into terms_sorted "
          f"select unnest(terms) as term, article_id from read_parquet('{staged}') order by term")
    results["term_rows"] = lake.execute("select count(*) from terms_sorted").fetchone()[0]
    results["term_rows_per_article"] = round(results["term_rows"] / args.articles)
    for table in ("bare", "terms_sorted"):
        results[f"{table}_mib"] = round(sum(f.stat().st_size for f in (args.workdir / "lake" / "data" / "main" / table)
                                            .rglob("*.parquet")) / 2**20, 1)
    lake.execute("select count(*) from terms_sorted where term = 'zzzz'").fetchall()  # the first query's cold start
    for word in ("earthquake", "the", "政"):
        timed(results, f"lookup {word}", lake, "select count(*) from terms_sorted where term = $w", {"w": word})
        timed(results, f"scan {word}", lake, "select count(*) from bare where regexp_matches(title || chr(10) || body,"
              " '(?i)(?:^|[\\p{P}\\p{S}\\p{Z}\\p{C}])' || regexp_escape($w) || '(?:$|[\\p{P}\\p{S}\\p{Z}\\p{C}])')",
              {"w": word})
    timed(results, "candidates central bank", lake,
          "select count(*) from (select article_id from terms_sorted where term in ('central', 'bank') "
          "group by article_id having count(*) = 2)")
    lake.close()
    for step in ("sql_tokens", "bare", "terms_unsorted", "terms_sorted"):
        results[f"{step}_over_bare_cpu"] = round(results[step]["cpu_s"] / results["bare"]["cpu_s"], 2)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
