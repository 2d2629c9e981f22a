"""WARC archiving cost per page: newsflow's WarcArchive (warcio's public writer into a buffer, each record one
gzip member at zlib level 1) side by side with warcio's own gzip writer (level 9), on the same real pages, in one
run; then reading the archive back with newsflow.archive.scan_archive. Prints ms per page, file sizes and ratios.

    .venv/bin/python bench/warc_writer.py /work/shared/corpora/article-extraction-benchmark [--pages 181] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from newsflow.archive import ArchiveScan, WarcArchive, scan_archive  # noqa: E402


def newsflow_writer(path: Path, pages: list[bytes]) -> None:
    with WarcArchive(path) as archive:
        for i, body in enumerate(pages):
            archive.write_exchange(f"http://bench.test/{i}", "GET", {"User-Agent": "bench"}, 200, "OK",
                                   [("Content-Type", "text/html")], body)


def warcio_gzip_writer(path: Path, pages: list[bytes]) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, body in enumerate(pages):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                       protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"http://bench.test/{i}", "response",
                                                          payload=io.BytesIO(body), http_headers=headers))
            request = StatusAndHeaders("GET / HTTP/1.1", [("User-Agent", "bench")], is_http_request=True)
            writer.write_record(writer.create_warc_record(f"http://bench.test/{i}", "request",
                                                          payload=io.BytesIO(b""), http_headers=request))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="article-extraction-benchmark folder (html/*.html.gz)")
    parser.add_argument("--pages", type=int, default=181)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted((Path(args.corpus) / "html").glob("*.html.gz"))[: args.pages]
    if not files:
        print(f"no pages in {args.corpus}/html", file=sys.stderr)
        return 2
    pages = [gzip.decompress(f.read_bytes()) for f in files]
    print(f"{len(pages)} pages, {sum(map(len, pages)) // len(pages):,} bytes on average")
    times: dict[str, list[float]] = {"newsflow (level 1 members)": [], "warcio gzip=True (level 9)": [],
                                     "scan_archive (read back)": []}
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for name, write in (("newsflow (level 1 members)", newsflow_writer),
                                ("warcio gzip=True (level 9)", warcio_gzip_writer)):
                path = Path(tmp) / f"{round_}-{name.split()[0]}.warc.gz"
                started = time.perf_counter()
                write(path, pages)
                times[name].append((time.perf_counter() - started) * 1000 / len(pages))
                sizes[name] = path.stat().st_size
            started = time.perf_counter()
            scan = ArchiveScan(str(path))
            assert sum(1 for _ in scan_archive(Path(tmp) / f"{round_}-newsflow.warc.gz", scan)) == len(pages)
            times["scan_archive (read back)"].append((time.perf_counter() - started) * 1000 / len(pages))
    for name, values in times.items():
        size = f", {sizes[name] / 1024 / 1024:.1f} MB" if name in sizes else ""
        print(f"{name:30s} median {statistics.median(values):6.2f} ms/page (rounds: "
              f"{', '.join(f'{v:.2f}' for v in values)}){size}")
    ours, theirs = (statistics.median(times[k]) for k in ("newsflow (level 1 members)", "warcio gzip=True (level 9)"))
    print(f"warcio level 9 / newsflow: {theirs / ours:.2f}x the time, "
          f"{sizes['warcio gzip=True (level 9)'] / sizes['newsflow (level 1 members)']:.2f}x the size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
