"""`newsflow check`: what each source of a sources file lists today, read by the discover stage itself in a throwaway
data dir, so a new or edited source can be tried before it is scheduled; nothing is fetched beyond its listings.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# what a listing row's reason means for the person editing the sources file
HINTS = {
    "feed_linked": "a web page: it announces the feed read next; put that feed's URL in the file",
    "sitemaps_from_robots": "a web page: its site's robots.txt is read next for sitemaps; put one in the file",
    "html_page": "a web page, not a listing: give the site's feed or sitemap URL",
    "not_a_url_list:sitemap": "a sitemap, not one URL a line: give it as kind: sitemap",
    "not_a_url_list:feed": "a feed, not one URL a line: give it as kind: feed",
    "not_a_feed": "not RSS, Atom or JSON Feed",
    "not_a_sitemap": "not a sitemap (urlset, index, text list of URLs, feed or robots.txt)",
    "xml_parse_error": "not readable as XML",
    "too_large": "over the 50 MiB the sitemap protocol allows a listing, uncompressed: ask for a sitemap index",
    "robots_disallowed": "the site's robots.txt disallows it; settings.respect_robots: false ignores it",
    # a robots.txt answering a server error is read as disallowing everything (RFC 9309)
    "robots_disallowed:http_5xx": "robots.txt answered a server error: the whole site counts as disallowed (RFC "
                                  "9309) until it answers again",
    "tls_error": "the site's HTTPS is broken (certificate: expired, self-signed or for another name; handshake: no TLS "
                 "session, e.g. an https:// URL on a plain-HTTP port): open it in a browser",
    "refused_address": "a private or loopback address (settings.allow_private_hosts)",
    "blocked": "the site's bot wall refuses clients without a browser: ask the publisher to let newsflow's "
               "user_agent through, or ingest a crawl of the site as a warc source",
    "blocked:gate": "a consent or login page answers instead: ask the publisher for an open feed, or ingest a crawl "
                    "of the site as a warc source",
}


@dataclass
class SourceReport:
    name: str
    kind: str
    documents: list[dict] = field(default_factory=list)  # each listing document's ledger fields
    articles: int = 0  # URLs a run would fetch (distinct, well-formed)
    left_out: Counter = field(default_factory=Counter)  # reason -> URLs listed but not to be fetched
    examples: list[tuple[str, str | None]] = field(default_factory=list)  # (url, listed date) of the first few
    disallowed: int = 0  # URLs the site's robots.txt keeps a run from fetching
    disallowed_examples: list[tuple[str, str]] = field(default_factory=list)  # (url, reason) of the first few

    @property
    def ok(self) -> bool:
        return self.articles > 0 and not any(d["outcome"] == "failed" for d in self.documents)


def check_sources(sources_file: str | os.PathLike, names: list[str] | None = None,
                  examples: int = 3) -> list[SourceReport]:
    """Run the discover stage of every selected source (all by default) and report what it found, in the file's
    order. A malformed file raises ConfigError before any request."""
    import asyncio

    from newsflow.stages.plan import make_jobs

    with _printable_logs(), tempfile.TemporaryDirectory(prefix="newsflow-check-") as scratch:
        previous = os.environ.get("NEWSFLOW_DATA_DIR")
        # the stage writes its ledger, the listings' WARC and the host gate under the data dir: a throwaway one,
        # and no warehouse, so no earlier validators make a listing answer 304 with nothing to show
        os.environ["NEWSFLOW_DATA_DIR"] = scratch
        try:
            jobs = make_jobs(str(sources_file), names, "check", str(Path(scratch) / "warehouse"))
            return asyncio.run(_check_all(jobs, examples)) if jobs else []
        finally:
            if previous is None:
                os.environ.pop("NEWSFLOW_DATA_DIR", None)
            else:
                os.environ["NEWSFLOW_DATA_DIR"] = previous


async def _check_all(jobs: list, examples: int) -> list[SourceReport]:
    """The sources read at once, as a run's tasks are, each with its own Fetcher: requests to one host stay its
    interval apart through the host gate every Fetcher shares (newsflow.host_gate), and each site's robots.txt is
    asked once for the whole check. At most global_concurrency sources at a time."""
    import asyncio

    from newsflow.fetch import SharedRobots

    robots = SharedRobots()
    at_once = asyncio.Semaphore(jobs[0].settings.global_concurrency)

    async def one(job) -> SourceReport:
        async with at_once:
            return await _check_source(job, robots, examples)

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def _in_daemon_thread(function, *args):
    """`function(*args)` in a thread of its own, awaited as a future of the running loop. A daemon thread: an
    executor's threads are joined when the interpreter exits, so Ctrl-C during the check of a large crawl said
    'interrupted' and then held the terminal until the whole file had been read (a minute for 60,000 records)."""
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def settle(result, error) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def work() -> None:
        try:
            outcome = (function(*args), None)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting task, which raises it
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: the check was stopped, nobody waits for this source
            pass

    threading.Thread(target=work, name="newsflow-check-warc", daemon=True).start()
    return done


async def _check_source(job, robots, examples: int) -> SourceReport:
    import asyncio

    from newsflow import staging
    from newsflow.stages.discover import discover_source_async
    from newsflow.stages.fetch_extract import cap_articles

    if job.source.kind == "warc":
        # a crawl file is read from disk, nothing asked of a site: its seconds of reading and inflating, on the loop,
        # held the other sources' requests while their timeouts ran
        return await _in_daemon_thread(_check_warc, job, examples)
    await discover_source_async(job, robots)
    rows = staging.rows(job.staging / staging.DISCOVER_LEDGER_FILE, staging.LEDGER)
    # a run caps the listing first and refuses at the fetch, so a refused or disallowed URL takes its
    # share of max_articles: the cap on the listing as a run sees it, every refusal said all the same
    open_before = [row["outcome"] is None for row in rows]
    refused = [dict(row) for row in rows]
    await asyncio.to_thread(_refuse_internal, job, refused)  # name lookups: the other sources go on meanwhile
    await _disallow_by_robots(job, refused, robots)
    cap_articles(job, rows)
    for row, seen, was_open in zip(rows, refused, open_before, strict=True):
        if was_open and seen["outcome"] is not None:
            row.update(outcome=seen["outcome"], reason=seen["reason"])
    return _report(job.source, rows, examples)


def _check_warc(job, examples: int) -> SourceReport:
    """_check_source of a warc source, in a thread of its own: an archive's pages are never fetched, so no address
    is refused and no robots.txt asked, only the cap applies."""
    from newsflow import staging
    from newsflow.stages.discover import discover_source
    from newsflow.stages.fetch_extract import cap_articles

    discover_source(job)
    rows = staging.rows(job.staging / staging.DISCOVER_LEDGER_FILE, staging.LEDGER)
    cap_articles(job, rows)
    return _report(job.source, rows, examples)


def _refuse_internal(job, rows: list[dict]) -> None:
    """The article URLs whose host a run's fetch would refuse (a private or loopback address, by IP or by name): left
    out as `refused_address`, as the run records them. Each host is resolved once, a few at a time."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    from newsflow.netsafety import allowed_private, host_refusal

    if job.source.kind == "warc":  # an archive's pages are read from the file, never fetched
        return
    allowed = allowed_private(job.settings.allow_private_hosts)
    pending = [r for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    targets = {}
    for row in pending:
        parts = urlsplit(row["url"])
        try:
            targets[row["seq"]] = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except ValueError:  # an unusable port: the run's fetch says invalid_url
            continue
    hosts = sorted(set(targets.values()))
    with ThreadPoolExecutor(max_workers=8) as pool:
        refusals = dict(zip(hosts, pool.map(lambda hp: host_refusal(hp[0], hp[1], allowed), hosts), strict=True))
    for row in pending:
        if row["seq"] in targets and refusals[targets[row["seq"]]]:
            row.update(outcome="failed", reason="refused_address")


async def _disallow_by_robots(job, rows: list[dict], robots) -> None:
    """The article URLs the site's robots.txt keeps a run's fetch from: left out as the run records them
    (`robots_disallowed`, or `robots_disallowed:http_5xx` for a robots.txt answering a server error), decided by the
    run's own Fetcher, which reads robots.txt once per site with the run's user agent, pacing and address rules
    (once per site for the whole check: `robots`, shared with every source's Fetcher)."""
    import asyncio

    from newsflow.fetch import Fetcher
    from newsflow.stages.http import host_gate_dir
    from newsflow.urls import redirect_target, url_problem

    if job.source.kind == "warc" or not job.settings.respect_robots:
        return
    pending = []
    for row in rows:
        if row["url_kind"] == "article" and row["outcome"] is None:
            # the run asks a click-through redirector's link at its target, and robots.txt of the target's site
            target = redirect_target(row["url"]) or row["url"]
            if not url_problem(target):  # the run's fetch refuses such a URL before robots.txt is asked
                pending.append((row, target))

    if not pending:
        return
    async with Fetcher(job.settings, host_gate_dir=host_gate_dir(), robots=robots) as fetcher:
        found = await asyncio.gather(*(fetcher.robots_refusal(target) for _, target in pending),
                                     return_exceptions=True)
    for (row, _), refusal in zip(pending, found, strict=True):
        # an exception is the run's fetch_error for that URL, a failure the check cannot foresee: still to fetch
        if isinstance(refusal, str):
            row.update(outcome="skipped", reason=refusal)


def _report(source, rows: list[dict], examples: int) -> SourceReport:
    report = SourceReport(source.name, source.kind)
    for row in rows:
        if row["url_kind"] != "article":
            report.documents.append({k: row[k] for k in ("url", "url_kind", "outcome", "reason", "http_status",
                                                         "final_url")})
        elif row["outcome"] is None:
            report.articles += 1
            if len(report.examples) < examples:
                report.examples.append((row["url"], row["hint_date"]))
        elif (row["reason"] or "").startswith("robots_disallowed"):
            report.disallowed += 1
            if len(report.disallowed_examples) < examples:
                report.disallowed_examples.append((row["url"], row["reason"]))
        else:
            report.left_out[(row["reason"] or row["outcome"]).split(":")[0]] += 1
    return report


def render(reports: list[SourceReport]) -> str:
    from newsflow.terminal import printable

    lines = []
    for report in reports:
        verdict = "ok" if report.ok else "PROBLEM"
        left = ", ".join(f"{reason} {n}" + (" (max_articles: the next runs fetch them)" if reason == "over_limit" else "")
                         for reason, n in report.left_out.most_common())
        lines.append(f"{report.name} ({report.kind}): {verdict}: {report.articles} article URL(s) to fetch"
                     + (f"; disallowed by robots.txt: {report.disallowed}" if report.disallowed else "")
                     + (f"; left out: {left}" if left else ""))
        for doc in report.documents:
            reason = doc["reason"] or ""
            status = f" HTTP {doc['http_status']}" if doc["http_status"] else ""
            hint = _hint(reason)
            if doc["final_url"] and doc["final_url"] != doc["url"] and doc["outcome"] != "failed":
                # every run pays the redirect again: the file should name where the listing is now
                hint = f"redirected to {doc['final_url']}: put that URL in the file" + (f"; {hint}" if hint else "")
            lines.append(f"  {doc['url_kind']} {doc['url']}: {doc['outcome']} {reason}{status}"
                         + (f" ({hint})" if hint else ""))
        for url, listed in report.examples:
            lines.append(f"  e.g. {url}" + (f" (listed {listed})" if listed else ""))
        said = None
        for url, reason in report.disallowed_examples:
            hint = _hint(reason)
            lines.append(f"  robots.txt disallows {url}" + (f" ({hint})" if hint and hint != said else ""))
            said = hint
    # the URLs, dates and reasons are the sites' text, headed for a terminal: an ESC sequence in a feed's date
    # would retitle or clear it, a bidi override reverse the rest of a URL's line
    return "\n".join(printable(line) for line in lines)


def _hint(reason: str) -> str | None:
    return (HINTS.get(re.sub(r"http_5\d\d$", "http_5xx", reason)) or HINTS.get(reason)
            or HINTS.get(reason.split(":")[0]))


@contextmanager
def _printable_logs():
    """The log lines the discover stage writes while check runs go to the same terminal, on stderr ("… is a web page;
    reading <the feed it announces> instead"): a site's URLs and text in them made printable as render's lines."""
    import logging

    from newsflow.terminal import printable

    def shown(arg):
        if isinstance(arg, int | float):
            return arg
        text = str(arg)
        # an argument with nothing to hide keeps its type, for %d and %r
        return arg if printable(text) == text else printable(text)

    make_record = logging.getLogRecordFactory()

    def printable_record(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(shown(arg) for arg in record.args)
        elif not record.args and not isinstance(record.msg, str):  # log.warning(exc): the exception's own text
            record.msg = shown(record.msg)
        if record.exc_info:  # an exception's message may quote the site; formatted here, the handler uses it as is
            trace = logging.Formatter().formatException(record.exc_info)
            record.exc_text = "\n".join(printable(line) for line in trace.split("\n"))
        return record

    logging.setLogRecordFactory(printable_record)
    try:
        yield
    finally:
        logging.setLogRecordFactory(make_record)
