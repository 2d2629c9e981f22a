"""Extraction quality and speed: newsflow's extraction step next to bare trafilatura on the same pages.

    .venv/bin/python bench/extraction.py /work/shared/corpora/article-extraction-benchmark \
        [--processes 1 2] [--limit N] [--variants] [--with-extract] [--json results.json]

Body quality is scored like the ScrapingHub article-extraction-benchmark: lowercase word tokens, token
precision/recall/F1 per page (multiset overlap), then averaged over pages. The shared corpus has no title or
date ground truth, so those are scored on the bundled sample site (expected.json) and tests/fixtures/pages.
Speed is pages per second over the same pages with 1 and 2 worker processes, plus newsflow's per-page time
over bare trafilatura's (the overhead ratio).
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

SAMPLE_SITE = ROOT / "plugins" / "newsflow" / "sample_site"
FIXTURE_PAGES = ROOT / "tests" / "fixtures" / "pages"
SAMPLE_BASE = "http://127.0.0.1:8000"
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str | None) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def prf(truth: str, pred: str | None) -> tuple[float, float, float]:
    true_tokens, pred_tokens = Counter(tokenize(truth)), Counter(tokenize(pred))
    n_true, n_pred = sum(true_tokens.values()), sum(pred_tokens.values())
    if not n_true and not n_pred:
        return 1.0, 1.0, 1.0
    tp = sum((true_tokens & pred_tokens).values())
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# ------------------------------------------------------------------------------------------------------------
# Page sets


def load_corpus(corpus: Path, limit: int | None) -> list[dict]:
    from newsflow.encoding import decode_html

    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth)[: limit or None]:
        raw = gzip.decompress((corpus / "html" / f"{page_id}.html.gz").read_bytes())
        html, _ = decode_html(raw, "text/html")
        pages.append({"id": page_id, "html": html, "url": truth[page_id]["url"], "body": truth[page_id]["articleBody"]})
    return pages


def _sample_file(path: str) -> Path | None:
    rel = path.split("?", 1)[0].lstrip("/")
    candidate = SAMPLE_SITE / "site" / rel
    if not candidate.suffix:
        candidate = candidate.with_name(candidate.name + ".html")
    return candidate if candidate.is_file() else None


def load_labelled() -> list[dict]:
    """Pages with title/date/credit ground truth: the sample site's articles and the test fixture pages."""
    pages = []
    sources = json.loads((SAMPLE_SITE / "sources.json").read_text(encoding="utf-8"))
    seen = set()
    for entry in json.loads((SAMPLE_SITE / "expected.json").read_text(encoding="utf-8")):
        file = _sample_file(entry["path"])
        if entry["outcome"] != "loaded" or file is None or file in seen:
            continue
        seen.add(file)
        spec = sources[entry["source"]]
        pages.append({
            "id": entry["path"], "url": SAMPLE_BASE + entry["path"], "source": entry["source"],
            "html": file.read_text(encoding="utf-8").replace("{{BASE}}", SAMPLE_BASE),
            "language_hint": spec["language"], "timezone": spec["timezone"],
            "title": entry["title"], "date": entry["published_date"], "credit_display": entry["credit"],
            "language": entry["language"],
        })
    manifest = FIXTURE_PAGES / "expected.json"
    if manifest.is_file():
        for name, entry in json.loads(manifest.read_text(encoding="utf-8")).items():
            pages.append({
                "id": f"fixtures/{name}", "url": entry["url"], "source": entry.get("source", "fixture"),
                "html": (FIXTURE_PAGES / name).read_text(encoding="utf-8"),
                "language_hint": entry.get("language_hint"), "timezone": entry.get("timezone"),
                "title": entry.get("title"), "date": entry.get("published_date"),
                "credit": entry.get("credit"), "language": entry.get("language"),
            })
    return pages


# ------------------------------------------------------------------------------------------------------------
# Extractors (run in worker processes; each returns what was extracted plus its own CPU-side wall time)


def run_newsflow(page: dict) -> dict:
    from newsflow.extract import extract_html

    start = time.perf_counter()
    record = extract_html(
        page["html"], url=page["url"], source=page.get("source", "bench"), fetched_at=FETCHED_AT,
        language_hint=page.get("language_hint"), timezone=page.get("timezone"),
    )
    elapsed = time.perf_counter() - start
    day = record["published_date"]
    return {"id": page["id"], "seconds": elapsed, "body": record["body"], "title": record["title"],
            "date": day.isoformat() if day else None, "credit": record["credit"], "language": record["language"]}


def run_bare(page: dict) -> dict:
    import trafilatura

    start = time.perf_counter()
    doc = trafilatura.bare_extraction(page["html"])
    elapsed = time.perf_counter() - start
    date = (doc.date if doc is not None else None) or None
    return {"id": page["id"], "seconds": elapsed, "body": doc.text if doc is not None else None,
            "title": doc.title if doc is not None else None, "date": date[:10] if date else None,
            "credit": None, "language": None}


def run_bare_metadata(page: dict) -> dict:
    """bare_extraction with with_metadata=True: the defaults report no title or date at all."""
    import trafilatura

    start = time.perf_counter()
    doc = trafilatura.bare_extraction(page["html"], with_metadata=True)
    elapsed = time.perf_counter() - start
    date = (doc.date if doc is not None else None) or None
    return {"id": page["id"], "seconds": elapsed, "body": doc.text if doc is not None else None,
            "title": doc.title if doc is not None else None, "date": date[:10] if date else None,
            "credit": None, "language": None}


def run_extract(page: dict) -> dict:
    import trafilatura

    start = time.perf_counter()
    text = trafilatura.extract(page["html"])
    elapsed = time.perf_counter() - start
    return {"id": page["id"], "seconds": elapsed, "body": text, "title": None, "date": None, "credit": None,
            "language": None}


def run_variant(args: tuple[dict, str]) -> dict:
    """Body only, through newsflow's own body step with one named variant of options and fallbacks."""
    page, variant = args
    from newsflow.extract import VARIANTS, extract_body

    start = time.perf_counter()
    body = extract_body(page["html"], url=page["url"], **VARIANTS[variant])
    return {"id": page["id"], "seconds": time.perf_counter() - start, "body": body}


EXTRACTORS = {"newsflow": run_newsflow, "bare_extraction": run_bare, "bare_extraction+metadata": run_bare_metadata,
              "extract": run_extract}


def _warm(_=None) -> None:
    # import and lazy-load everything (trafilatura, lxml, py3langid model) before anything is timed
    from newsflow.extract import extract_html

    extract_html("<html><body><article><p>" + "warm up text " * 40 + "</p></article></body></html>",
                 url="http://example.org/a", source="bench", fetched_at=FETCHED_AT)


def run_pool(func, items: list, processes: int) -> tuple[list[dict], float]:
    """Results in input order and the wall time of the run (workers warmed up before the clock starts)."""
    if processes <= 1:
        _warm()
        start = time.perf_counter()
        results = [func(item) for item in items]
        return results, time.perf_counter() - start
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        pool.map(_warm, range(processes * 2))
        start = time.perf_counter()
        results = pool.map(func, items, chunksize=1)
        wall = time.perf_counter() - start
    return results, wall


def interleaved_ms(pages: list[dict], names: list[str], rounds: int = 1) -> dict[str, float]:
    """Mean ms/page of each extractor, run one after another on each page in one process: load from other programs
    on the machine then falls on all of them alike, which keeps the overhead ratio honest on a busy machine."""
    _warm()
    totals = dict.fromkeys(names, 0.0)
    for _ in range(rounds):
        for page in pages:
            for name in names:
                totals[name] += EXTRACTORS[name](page)["seconds"]
    return {name: 1000 * total / (len(pages) * rounds) for name, total in totals.items()}


# ------------------------------------------------------------------------------------------------------------
# Scoring


def body_scores(pages: list[dict], results: list[dict]) -> dict:
    scores = [prf(p["body"], r["body"]) for p, r in zip(pages, results, strict=True)]
    n = len(scores) or 1
    return {
        "precision": sum(s[0] for s in scores) / n,
        "recall": sum(s[1] for s in scores) / n,
        "f1": sum(s[2] for s in scores) / n,
        "empty": sum(1 for r in results if not (r["body"] or "").strip()),
    }


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def labelled_scores(pages: list[dict], results: list[dict]) -> dict:
    from newsflow.credits import canonical

    titles = [p for p in pages if p.get("title")]
    dates = [p for p in pages if p.get("date")]
    by_id = {r["id"]: r for r in results}
    out = {
        "title_accuracy": sum(_norm(by_id[p["id"]]["title"]) == _norm(p["title"]) for p in titles) / (len(titles) or 1),
        "date_accuracy": sum(by_id[p["id"]]["date"] == p["date"] for p in dates) / (len(dates) or 1),
        "title_pages": len(titles), "date_pages": len(dates),
        "title_misses": [p["id"] for p in titles if _norm(by_id[p["id"]]["title"]) != _norm(p["title"])],
        "date_misses": [p["id"] for p in dates if by_id[p["id"]]["date"] != p["date"]],
    }
    if any(by_id[p["id"]]["language"] for p in pages):
        langs = [p for p in pages if p.get("language")]
        out["language_accuracy"] = sum(by_id[p["id"]]["language"] == p["language"] for p in langs) / (len(langs) or 1)
        credited = []
        for p in pages:
            if "credit_display" in p:  # the sample site lists the credit as displayed ("وكالات")
                want = canonical(p["credit_display"]) or p["credit_display"] if p["credit_display"] else None
                credited.append((p, want))
            elif "credit" in p:
                credited.append((p, p["credit"]))
        out["credit_accuracy"] = sum(by_id[p["id"]]["credit"] == want for p, want in credited) / (len(credited) or 1)
        out["credit_misses"] = [(p["id"], by_id[p["id"]]["credit"], want) for p, want in credited
                                if by_id[p["id"]]["credit"] != want]
    return out


# ------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="article-extraction-benchmark folder (html/, ground-truth.json)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (sorted by id)")
    parser.add_argument("--with-extract", action="store_true", help="also score trafilatura.extract() defaults")
    parser.add_argument("--variants", action="store_true", help="also score newsflow body-step variants")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)

    if not (args.corpus / "ground-truth.json").is_file() or not (args.corpus / "html").is_dir():
        print(f"SKIP: corpus folder {args.corpus} not found (expected ground-truth.json and html/); nothing measured.")
        return 0

    pages = load_corpus(args.corpus, args.limit)
    labelled = load_labelled()
    # bare_extraction+metadata is the like-for-like baseline: newsflow needs a title, author and sitename too
    names = ["newsflow", "bare_extraction", "bare_extraction+metadata"] + (["extract"] if args.with_extract else [])
    results: dict = {"pages": len(pages), "labelled_pages": len(labelled), "extractors": {}, "variants": {}}

    for name in names:
        func = EXTRACTORS[name]
        entry: dict = {"speed": {}}
        for processes in args.processes:
            out, wall = run_pool(func, pages, processes)
            entry["speed"][processes] = {"pages_per_s": len(pages) / wall if wall else 0.0, "wall_s": wall,
                                         "mean_page_ms": 1000 * sum(r["seconds"] for r in out) / len(out)}
            if "body" not in entry:
                entry["body"] = body_scores(pages, out)
        labeller = run_bare_metadata if name.startswith("bare_extraction") else func
        lab, _ = run_pool(labeller, labelled, 1)
        entry["labelled"] = labelled_scores(labelled, lab) if name != "extract" else {}
        results["extractors"][name] = entry

    if args.variants:
        from newsflow.extract import VARIANTS

        for variant in VARIANTS:
            out, wall = run_pool(run_variant, [(p, variant) for p in pages], max(args.processes))
            results["variants"][variant] = {**body_scores(pages, out), "pages_per_s": len(pages) / wall}

    results["interleaved_ms"] = interleaved_ms(pages, names)
    inter = results["interleaved_ms"]
    results["overhead_interleaved"] = {
        "bare_extraction": inter["newsflow"] / inter["bare_extraction"] - 1,
        "bare_extraction+metadata": inter["newsflow"] / inter["bare_extraction+metadata"] - 1,
    }

    nf, bare = results["extractors"]["newsflow"], results["extractors"]["bare_extraction"]
    meta = results["extractors"]["bare_extraction+metadata"]
    results["overhead"] = {
        p: nf["speed"][p]["mean_page_ms"] / bare["speed"][p]["mean_page_ms"] - 1 for p in args.processes
    }
    results["overhead_vs_metadata"] = {
        p: nf["speed"][p]["mean_page_ms"] / meta["speed"][p]["mean_page_ms"] - 1 for p in args.processes
    }
    print(render(results, args.processes))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


def render(results: dict, processes: list[int]) -> str:
    speed_cols = " | ".join(f"pages/s ({p} proc)" for p in processes)
    lines = [
        f"Corpus: {results['pages']} pages; labelled (title/date): {results['labelled_pages']} pages",
        "",
        f"| extractor | body P | body R | body F1 | empty | title acc | date acc | {speed_cols} | ms/page (1 proc) |",
        "|---" * (7 + len(processes)) + "|---|",
    ]
    for name, e in results["extractors"].items():
        lab = e["labelled"]
        title = f"{lab['title_accuracy']:.3f}" if lab else "-"
        date = f"{lab['date_accuracy']:.3f}" if lab else "-"
        speeds = " | ".join(f"{e['speed'][p]['pages_per_s']:.1f}" for p in processes)
        lines.append(
            f"| {name} | {e['body']['precision']:.3f} | {e['body']['recall']:.3f} | {e['body']['f1']:.3f} | "
            f"{e['body']['empty']} | {title} | {date} | {speeds} | {e['speed'][processes[0]]['mean_page_ms']:.1f} |"
        )
    lines.append("")
    for p, ratio in results["overhead"].items():
        lines.append(f"newsflow per-page overhead over bare_extraction ({p} proc): {ratio:+.1%}; over "
                     f"bare_extraction+metadata: {results['overhead_vs_metadata'][p]:+.1%}")
    inter = results["interleaved_ms"]
    lines.append("interleaved ms/page (each page through every extractor in turn, 1 process): "
                 + ", ".join(f"{name} {ms:.1f}" for name, ms in inter.items()))
    lines.append("newsflow overhead, interleaved: "
                 + ", ".join(f"over {name} {ratio:+.1%}" for name, ratio in results["overhead_interleaved"].items()))
    lab = results["extractors"]["newsflow"]["labelled"]
    if "credit_accuracy" in lab:
        lines.append(f"newsflow credit accuracy {lab['credit_accuracy']:.3f}, language accuracy "
                     f"{lab['language_accuracy']:.3f} on labelled pages")
    lines.append("(bare_extraction title/date accuracy measured with with_metadata=True; its defaults give neither."
                 " ms/page is the mean time inside the extractor call; pages/s is wall time over the run)")
    for key in ("title_misses", "date_misses", "credit_misses"):
        if lab.get(key):
            lines.append(f"newsflow {key}: {lab[key]}")
    if results["variants"]:
        lines += ["", "| newsflow body variant | P | R | F1 | empty | pages/s |", "|---|---|---|---|---|---|"]
        for name, v in results["variants"].items():
            lines.append(f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['empty']} | "
                         f"{v['pages_per_s']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
