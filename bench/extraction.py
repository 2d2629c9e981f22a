"""Extraction quality and speed on the labelled corpora: newsflow's extraction step beside bare trafilatura
(`bare_extraction(with_metadata=True)`), both on the same decoded pages in one run.

    .venv/bin/python bench/extraction.py [--corpora ../shared/corpora] [--limit N] [--json out.json]
        [--date-sources] [--variants] [--recall-gap]

Per corpus: body token P/R/F1 (article-extraction-benchmark: lowercase word tokens, multiset overlap per page,
averaged over pages), date exact and within one day (htmldate-eval-default), title exact where a title can be
derived (the page's <h1> equals its JSON-LD headline or og:title: two statements of the publisher agree; newsflow
scored by its title rule without the <h1>, its full rule's score on these labels printed apart as an upper bound),
and the rejection rate by reason through newsflow's real validation rules (quality.ArticleValidator, Great
Expectations). Every corpus page is an article, so every rejection counts against the extractor. Speed: mean ms a
page of each extractor, run one after the other on each page in one process (load from other programs then falls
on both alike), and the ratio. --date-sources adds each date source's precision (docs/dates.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
AEB, HTMLDATE = "article-extraction-benchmark", "htmldate-eval-default"
# the corpora record no fetch time; a fixed one after every labelled date keeps runs comparable
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = "bench"
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
# Corpora


def _decode(raw: bytes) -> dict:
    """The page as both paths read it: its bytes (bench/through_warc.py archives them), text and charset."""
    from newsflow.encoding import decode_html

    text, charset = decode_html(raw, "text/html")
    return {"raw": raw, "html": text, "charset": charset}


def load_aeb(folder: Path, limit: int | None) -> list[dict]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth)[: limit or None]:
        raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append({"id": page_id, **_decode(raw), "url": truth[page_id]["url"],
                      "body": truth[page_id]["articleBody"]})
    return pages


def load_htmldate(folder: Path, limit: int | None) -> list[dict]:
    pages = []
    lines = (folder / "ground-truth.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[: limit or None]:
        entry = json.loads(line)
        raw = gzip.decompress((folder / entry["file"]).read_bytes())
        pages.append({"id": entry["id"], **_decode(raw), "url": entry["url"], "date": entry["date"]})
    return pages


def consensus_title(html: str) -> str | None:
    """The headline where the page states it twice alike: its <h1> (the only one with text) equals its JSON-LD
    headline or its og:title, compared with blanks collapsed. None when they differ or one is missing."""
    from lxml import etree

    try:
        root = etree.HTML(html.encode("utf-8", "replace"), etree.HTMLParser(encoding="utf-8"))
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    h1s = [fold("".join(h.itertext())) for h in root.iter("h1")]
    h1s = [h for h in h1s if h]
    if len(h1s) != 1:
        return None
    stated = [fold(m.get("content") or "") for m in root.iter("meta") if m.get("property") == "og:title"]
    for script in root.iter("script"):
        if "ld+json" in (script.get("type") or "") and script.text:
            stated += [fold(h) for h in re.findall(r'"headline"\s*:\s*"((?:[^"\\]|\\.)*)"', script.text)]
    return h1s[0] if h1s[0] in stated else None


def title_without_h1(html: str, url: str, trafilatura_title: str | None) -> str | None:
    """newsflow's title rule for a page without a usable <h1>: trafilatura's title (else the page's <title>) with
    site-name parts stripped (og:site_name and the domain as the site's names). Scored against consensus_title, it
    measures that path on labels it does not read."""
    from lxml import etree

    from newsflow.titles import choose_title
    from newsflow.urls import registered_domain

    try:
        root = etree.HTML(html.encode("utf-8", "replace"), etree.HTMLParser(encoding="utf-8"))
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    title = next((fold("".join(t.itertext())) for t in root.iter("title")), None)
    names = [m.get("content") for m in root.iter("meta") if m.get("property") == "og:site_name" and m.get("content")]
    return choose_title([], [trafilatura_title, title], site_names=[*names, registered_domain(url).split(".")[0]])


def fold(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------------------
# Extractors: each returns the fields scored and the time inside the call


def run_newsflow(page: dict) -> dict:
    from newsflow.extract import extract_html

    start = time.perf_counter()
    record = extract_html(page["html"], url=page["url"], source=SOURCE, fetched_at=FETCHED_AT)
    seconds = time.perf_counter() - start
    day = record["published_date"]
    return {"seconds": seconds, "record": record, "body": record["body"], "title": record["title"],
            "date": day.isoformat() if day else None}


def run_bare(page: dict) -> dict:
    """bare_extraction(with_metadata=True): trafilatura's body, title and (htmldate's) date, defaults otherwise."""
    import trafilatura

    start = time.perf_counter()
    doc = trafilatura.bare_extraction(page["html"], url=page["url"], with_metadata=True)
    seconds = time.perf_counter() - start
    text = (doc.text if doc is not None else None) or ""
    day = ((doc.date if doc is not None else None) or "")[:10] or None
    return {"seconds": seconds, "record": bare_record(page, text, day), "body": text,
            "title": doc.title if doc is not None else None, "date": day}


def bare_record(page: dict, text: str, day: str | None) -> dict:
    """What bare trafilatura gives, in the shape newsflow validates: its date as the publication day, the language
    py3langid's public classify() finds in its text, and no link density (bare trafilatura has none)."""
    import py3langid

    language = py3langid.classify(text[:1200])[0] if len(text.strip()) >= 20 else None
    return {"url": page["url"], "source": SOURCE, "body": text, "body_chars": len(text), "language": language,
            "link_density": 0.0, "published_at": datetime.fromisoformat(day).replace(tzinfo=UTC) if day else None,
            "date_reason": None if day else "missing_date", "fetched_at": FETCHED_AT}


def run_variant(page: dict, variant: str) -> dict:
    from newsflow.extract import VARIANTS, extract_body

    start = time.perf_counter()
    body = extract_body(page["html"], url=page["url"], **VARIANTS[variant])
    return {"seconds": time.perf_counter() - start, "body": body}


EXTRACTORS = {"newsflow": run_newsflow, "bare": run_bare}

# The settings a publisher's own JSON-LD articleBody could choose between (--variants): newsflow's, trafilatura's
# defaults, recall; the one whose text agrees best (token F1) with articleBody is kept, newsflow's on a tie.
ARTICLE_BODY_CHOICES = {
    "newsflow": {},
    "balanced": {"fast": False, "favor_precision": False},
    "recall": {"fast": False, "favor_precision": False, "favor_recall": True},
}


def jsonld_article_body(html: str) -> str | None:
    """The longest articleBody of the page's JSON-LD (tags stripped), when it has 200 characters or more."""
    import html as html_module

    bodies: list[str] = []
    for match in re.finditer(r"<script[^>]*ld\+json[^>]*>(.*?)</script>", html, re.S | re.I):
        try:
            stack = [json.loads(match.group(1), strict=False)]
        except ValueError:
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                for key, value in node.items():
                    if key == "articleBody" and isinstance(value, str):
                        bodies.append(value)
                    elif isinstance(value, dict | list):
                        stack.append(value)
    text = re.sub(r"<[^>]+>", " ", html_module.unescape(max(bodies, key=len))) if bodies else ""
    return text if len(text) >= 200 else None


def run_article_body_choice(page: dict) -> dict:
    from newsflow.extract import extract_body

    start = time.perf_counter()
    reference = jsonld_article_body(page["html"])
    body = extract_body(page["html"], url=page["url"])
    if reference:
        texts = {name: extract_body(page["html"], url=page["url"], options=opts) if opts else body
                 for name, opts in ARTICLE_BODY_CHOICES.items()}
        body = texts[max(texts, key=lambda name: (prf(reference, texts[name])[2], name == "newsflow"))]
    return {"seconds": time.perf_counter() - start, "body": body, "has_article_body": reference is not None}


def _warm() -> None:
    # imports and lazy loads (trafilatura, lxml, the py3langid model) happen before anything is timed
    page = {"html": "<html><body><article><p>" + "warm up text " * 40 + "</p></article></body></html>",
            "url": "http://example.org/a"}
    for func in EXTRACTORS.values():
        func(page)


# ------------------------------------------------------------------------------------------------------------
# Scoring


def body_scores(pages: list[dict], results: list[dict]) -> dict:
    scores = [prf(p["body"], r["body"]) for p, r in zip(pages, results, strict=True)]
    n = len(scores) or 1
    return {"precision": sum(s[0] for s in scores) / n, "recall": sum(s[1] for s in scores) / n,
            "f1": sum(s[2] for s in scores) / n, "empty": sum(1 for r in results if not (r["body"] or "").strip())}


def date_scores(pages: list[dict], results: list[dict]) -> dict:
    exact = near = 0
    for page, result in zip(pages, results, strict=True):
        if result["date"]:
            got, want = date.fromisoformat(result["date"]), date.fromisoformat(page["date"])
            exact += got == want
            near += abs(got - want) <= timedelta(days=1)
    n = len(pages) or 1
    return {"exact": exact / n, "within_1_day": near / n, "pages": len(pages),
            "dated": sum(1 for r in results if r["date"])}


def title_scores(titles: list[str | None], results: list[dict]) -> dict:
    labelled = [(t, r) for t, r in zip(titles, results, strict=True) if t]
    hits = sum(fold(r["title"] or "").casefold() == t.casefold() for t, r in labelled)
    return {"exact": hits / (len(labelled) or 1), "pages": len(labelled)}


def rejection_scores(records: list[dict]) -> dict:
    """newsflow's validation (Great Expectations, the pipeline's suite and defaults) over the records."""
    from newsflow.config import Settings
    from newsflow.quality import ArticleValidator

    settings = Settings()
    validator = ArticleValidator(source=SOURCE, known_sources=[SOURCE], min_body_chars=settings.min_body_chars,
                                 max_body_chars=settings.max_body_chars)
    rows = [{**r, "fetched_at": FETCHED_AT} for r in records]
    outcome = validator.validate(rows)
    reasons = Counter(reason for r in outcome.rejected for reason in r["reasons"])
    return {"rate": len(outcome.rejected) / (len(records) or 1), "rejected": len(outcome.rejected),
            "by_reason": dict(reasons.most_common()), "rejected_urls": {r["url"]: r["reasons"] for r in outcome.rejected}}


def date_source_precision(pages: list[dict], records: list[dict]) -> dict:
    """For each date source: on how many pages it offered a date (its first candidate, the one that votes), how
    often that candidate's publisher day is the labelled day (exact and within one day), and the same on the pages
    where it disagrees with another source's day (what decides between disagreeing candidates). chosen:* rows: the
    days newsflow chose, by the source it chose."""
    stats: dict[str, Counter] = {}
    for page, record in zip(pages, records, strict=True):
        want = date.fromisoformat(page["date"])
        firsts: dict[str, date] = {}
        for cand in json.loads(record["date_candidates"] or "[]"):
            if cand["source"] != "warc":
                firsts.setdefault(cand["source"], datetime.fromisoformat(cand["value"]).date())
        for source, got in firsts.items():
            entry = stats.setdefault(source, Counter())
            entry["offered"] += 1
            entry["exact"] += got == want
            entry["near"] += abs(got - want) <= timedelta(days=1)
            if any(day != got for day in firsts.values()):
                entry["disagreeing"] += 1
                entry["right_disagreeing"] += got == want
        entry = stats.setdefault(f"chosen:{record['date_source'] or 'none'}", Counter())
        got = record["published_date"]
        entry["offered"] += 1
        entry["exact"] += got == want
        entry["near"] += got is not None and abs(got - want) <= timedelta(days=1)
    return {source: {"offered": c["offered"], "precision": c["exact"] / c["offered"],
                     "within_1_day": c["near"] / c["offered"], "disagreeing": c["disagreeing"],
                     "right_disagreeing": c["right_disagreeing"]} for source, c in sorted(stats.items())}


# ------------------------------------------------------------------------------------------------------------


def recall_gap(pages: list[dict], results: dict[str, list[dict]]) -> list[dict]:
    """The pages where bare trafilatura's body recall is above newsflow's, largest first: each page's share of the
    gap in the mean, and the lines of bare trafilatura's text that newsflow's lacks (where dropped story text shows;
    a line outside the labelled body can still add recall, its common words standing in for ones missed elsewhere)."""
    rows = []
    for page, mine, bare in zip(pages, results["newsflow"], results["bare"], strict=True):
        r_mine, r_bare = prf(page["body"], mine["body"])[1], prf(page["body"], bare["body"])[1]
        if r_bare > r_mine:
            have = {fold(line) for line in (mine["body"] or "").splitlines()}
            lines = [fold(line) for line in (bare["body"] or "").splitlines()]
            rows.append({"id": page["id"], "url": page["url"], "recall_bare": r_bare, "recall_newsflow": r_mine,
                         "share": (r_bare - r_mine) / len(pages), "lines": [x for x in lines if x and x not in have]})
    return sorted(rows, key=lambda row: -row["share"])


def run_corpus(pages: list[dict], *, with_bodies: bool, with_dates: bool, times: dict[str, float]) -> dict:
    """Both extractors on every page, interleaved; scores per extractor."""
    titles = [consensus_title(p["html"]) for p in pages]
    out: dict = {"pages": len(pages), "extractors": {}}
    results: dict[str, list[dict]] = {name: [] for name in EXTRACTORS}
    for page in pages:
        for name, func in EXTRACTORS.items():
            result = func(page)
            times[name] += result["seconds"]
            results[name].append(result)
    if with_bodies:
        out["recall_gap"] = recall_gap(pages, results)
    for name, res in results.items():
        entry = {"titles": title_scores(titles, res), "rejections": rejection_scores([r["record"] for r in res])}
        if with_bodies:
            entry["body"] = body_scores(pages, res)
        if with_dates:
            entry["dates"] = date_scores(pages, res)
        out["extractors"][name] = entry
    out["records"] = [r["record"] for r in results["newsflow"]]
    # The headline title score: newsflow's full rule takes the <h1> its metadata confirms, the very agreement the
    # labels are made of, so its score on them is an upper bound (titles_upper_bound). Its rule without the <h1>
    # (trafilatura's title, site names stripped) never reads the <h1>, as bare trafilatura's title does not.
    for name in out["extractors"]:
        out["extractors"][name]["titles_upper_bound"] = out["extractors"][name]["titles"]
    out["extractors"]["newsflow"]["titles"] = title_scores(titles, [
        {"title": title_without_h1(p["html"], p["url"], bare["title"]) if t else None}
        for p, t, bare in zip(pages, titles, results["bare"], strict=True)])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA,
                        help=f"folder holding {AEB}/ and {HTMLDATE}/ (default {DEFAULT_CORPORA})")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages of each corpus")
    parser.add_argument("--date-sources", action="store_true", help="also each date source's precision")
    parser.add_argument("--variants", action="store_true", help="also score newsflow's body-step variants")
    parser.add_argument("--rejected", action="store_true", help="list newsflow's rejected pages and reasons")
    parser.add_argument("--recall-gap", action="store_true",
                        help="list the pages where bare trafilatura's body recall is above newsflow's")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)

    corpora = {}
    if (args.corpora / AEB / "ground-truth.json").is_file():
        corpora[AEB] = (load_aeb(args.corpora / AEB, args.limit), True, False)
    if (args.corpora / HTMLDATE / "ground-truth.jsonl").is_file():
        corpora[HTMLDATE] = (load_htmldate(args.corpora / HTMLDATE, args.limit), False, True)
    if not corpora:
        print(f"SKIP: no labelled corpus under {args.corpora}; nothing measured.")
        return 0

    _warm()
    times = dict.fromkeys(EXTRACTORS, 0.0)
    results: dict = {"corpora": {}, "fetched_at": FETCHED_AT.isoformat()}
    n_pages = 0
    for name, (pages, with_bodies, with_dates) in corpora.items():
        scored = run_corpus(pages, with_bodies=with_bodies, with_dates=with_dates, times=times)
        records = scored.pop("records")
        if args.date_sources and with_dates:
            scored["date_sources"] = date_source_precision(pages, records)
        if args.variants and with_bodies:
            from newsflow.extract import VARIANTS

            scored["variants"] = {v: body_scores(pages, [run_variant(p, v) for p in pages]) for v in VARIANTS}
            chosen = [run_article_body_choice(p) for p in pages]
            with_body = sum(r["has_article_body"] for r in chosen)
            scored["variants"][f"chosen per page by JSON-LD articleBody ({with_body} pages have one)"] = \
                body_scores(pages, chosen)
        results["corpora"][name] = scored
        n_pages += len(pages)
    results["ms_per_page"] = {name: 1000 * total / n_pages for name, total in times.items()}
    results["speed_ratio"] = times["newsflow"] / times["bare"] if times["bare"] else None
    print(render(results, args.rejected, args.recall_gap))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


def cell(entry: dict, *keys: str, fmt: str = "{:.3f}") -> str:
    for key in keys:
        if not isinstance(entry, dict) or key not in entry:
            return "-"
        entry = entry[key]
    return fmt.format(entry)


def render(results: dict, list_rejected: bool = False, list_recall_gap: bool = False) -> str:
    lines = ["| corpus | extractor | pages | body P | body R | body F1 | date exact | date ±1 day | title exact "
             "(n) | title, full rule (upper bound) | rejected | rejections by reason |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for corpus, scored in results["corpora"].items():
        for name, e in scored["extractors"].items():
            rej = e["rejections"]
            reasons = ", ".join(f"{k} {v}" for k, v in rej["by_reason"].items()) or "none"
            title = f"{e['titles']['exact']:.3f} ({e['titles']['pages']})" if e["titles"]["pages"] else "-"
            bound = e["titles_upper_bound"]
            upper = "-" if not bound["pages"] or name != "newsflow" else f"{bound['exact']:.3f}"
            lines.append(
                f"| {corpus} | {name} | {scored['pages']} | {cell(e, 'body', 'precision')} | "
                f"{cell(e, 'body', 'recall')} | {cell(e, 'body', 'f1')} | {cell(e, 'dates', 'exact')} | "
                f"{cell(e, 'dates', 'within_1_day')} | {title} | {upper} | {rej['rate']:.3f} ({rej['rejected']}) | {reasons} |")
    lines += ["", "title exact: against the headline where the page's single <h1> equals its JSON-LD headline or "
              "og:title; newsflow's title rule scored without the <h1> (trafilatura's title, site names stripped), "
              "which never reads the labels' <h1>. The full rule takes the <h1> the metadata confirms, the very "
              "agreement the labels are made of: an upper bound, not a measure."]
    ms = results["ms_per_page"]
    lines += ["", f"ms/page (interleaved, 1 process): newsflow {ms['newsflow']:.1f}, bare_extraction(with_metadata="
              f"True) {ms['bare']:.1f}; newsflow/bare = {results['speed_ratio']:.2f}"]
    for corpus, scored in results["corpora"].items():
        if "date_sources" in scored:
            lines += ["", f"date sources on {corpus} (first candidate of each source; chosen:* = what newsflow chose)",
                      "| source | pages offered | precision (exact day) | within 1 day | right when disagreeing |",
                      "|---|---:|---:|---:|---:|"]
            for source, s in sorted(scored["date_sources"].items(), key=lambda kv: -kv[1]["precision"]):
                split = (f"{s['right_disagreeing']}/{s['disagreeing']} = {s['right_disagreeing'] / s['disagreeing']:.3f}"
                         if s["disagreeing"] else "-")
                lines.append(f"| {source} | {s['offered']} | {s['precision']:.3f} | {s['within_1_day']:.3f} | {split} |")
        if "variants" in scored:
            lines += ["", f"body variants on {corpus}", "| variant | P | R | F1 | empty |", "|---|---:|---:|---:|---:|"]
            for variant, v in scored["variants"].items():
                lines.append(f"| {variant} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['empty']} |")
        if list_recall_gap and "recall_gap" in scored:
            gap = scored["recall_gap"]
            lines += ["", f"pages where bare trafilatura's body recall is above newsflow's on {corpus} ({len(gap)}; "
                      f"their shares add up to {sum(r['share'] for r in gap):.4f})",
                      "| page | R bare | R newsflow | share of the mean | lines bare has and newsflow not (first 3) |",
                      "|---|---:|---:|---:|---|"]
            for r in gap:
                shown = " / ".join(line[:70] for line in r["lines"][:3]).replace("|", "\\|")
                lines.append(f"| {r['id'][:8]} {r['url'][:60]} | {r['recall_bare']:.3f} | {r['recall_newsflow']:.3f} | "
                             f"{r['share']:.5f} | {shown} |")
        if list_rejected:
            for url, reasons in scored["extractors"]["newsflow"]["rejections"]["rejected_urls"].items():
                lines.append(f"rejected on {corpus}: {url} {reasons}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
