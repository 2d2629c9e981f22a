"""Charset detection on pages that declare none: newsflow's detector (Firefox's chardetng) beside charset-normalizer
(what newsflow used before) and bare trafilatura's own decoding of raw bytes (`trafilatura.utils.decode_file`), on
legacy re-encodings of the labelled corpora.

    .venv/bin/python bench/charset_detection.py [--corpora ../shared/corpora] [--json out.json]

Each corpus page is decoded as newsflow reads it, its charset declarations (`<meta charset>`, http-equiv, the XML
declaration) are removed, and it is encoded in the legacy encodings its language was written in before UTF-8 (the
htmldate corpus: by its labelled language; the extraction benchmark: by the script of its labelled body), characters
the encoding lacks as numeric references. Copies that are pure ASCII, or valid UTF-8 (read as UTF-8 before any
detection), are left out. A detector is right when its encoding decodes the bytes to exactly the text they were made
from; "badly wrong" counts copies with more than 20 characters wrong (a paragraph of mojibake, not a currency sign).
Time: detection alone, ms a copy. Then the same copies behind a server-default ISO-8859-1 header, UTF-8 pages whose
meta tag still says ISO-8859-1, UTF-8 pages with a few stray bytes, and pages in UTF-16 without a byte-order mark
or in 7-bit ISO-2022-JP.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
DECLARATION = re.compile(r"<meta[^>]+charset[^>]*>|<\?xml[^>]*>", re.I)
# before UTF-8, by language: the Windows code page and the ISO one sites used
LEGACY = {"de": ["cp1252", "iso-8859-15"], "en": ["cp1252"], "fr": ["cp1252", "iso-8859-15"], "es": ["cp1252"],
          "it": ["cp1252"], "pt": ["cp1252"], "fi": ["cp1252"], "no": ["cp1252"], "id": ["cp1252"],
          "pl": ["cp1250", "iso-8859-2"], "ru": ["cp1251", "koi8-r"], "ar": ["cp1256", "iso-8859-6"],
          "zh": ["gb18030", "big5"], "ja": ["shift_jis", "euc-jp"], "ko": ["euc-kr"], "vi": ["cp1258"],
          "el": ["iso-8859-7"]}
LATIN = frozenset({"cp1252", "iso-8859-15", "cp1250", "iso-8859-2", "cp1258"})
SCRIPTS = [("ru", r"[\u0400-\u04ff]"), ("ja", r"[\u3040-\u30ff]"), ("ko", r"[\uac00-\ud7af]"),
           ("zh", r"[\u4e00-\u9fff]"), ("ar", r"[\u0600-\u06ff]"), ("el", r"[\u0370-\u03ff]"),
           ("pt", r"[éèàüöäñçãõ]")]


def pages(corpora: Path):
    """(corpus, page id, language, html bytes) of every labelled page."""
    aeb = corpora / "article-extraction-benchmark"
    if aeb.is_dir():
        truth = json.loads((aeb / "ground-truth.json").read_text())
        for page_id, label in sorted(truth.items()):
            body = label.get("articleBody") or ""
            language = next((lang for lang, rx in SCRIPTS if len(re.findall(rx, body)) > 5), "en")
            yield "article-extraction-benchmark", page_id, language, gzip.decompress(
                (aeb / "html" / f"{page_id}.html.gz").read_bytes())
    dates = corpora / "htmldate-eval-default"
    if dates.is_dir():
        for line in (dates / "ground-truth.jsonl").read_text().splitlines():
            label = json.loads(line)
            yield "htmldate-eval-default", label["id"], label["language"], gzip.decompress(
                (dates / label["file"]).read_bytes())


def legacy_copies(corpora: Path):
    from newsflow.encoding import decode_html

    for corpus, page_id, language, raw in pages(corpora):
        text = DECLARATION.sub("", decode_html(raw, None)[0])
        for encoding in LEGACY.get(language, []):
            data = text.encode(encoding, "xmlcharrefreplace")
            if data.isascii():
                continue
            try:
                data.decode("utf-8")
                continue
            except UnicodeDecodeError:
                pass
            yield corpus, page_id, encoding, data, data.decode(encoding)


def trafilatura_decode(data: bytes) -> str:
    from trafilatura.utils import decode_file

    return decode_file(data)


def charset_normalizer_detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    return best.encoding if best and best.encoding else "utf-8"


def tally(table: dict, key: tuple[str, str], text: str, truth: str) -> None:
    """Count one copy read as `text` into table[key]: read exactly, or badly wrong (more than 20 characters)."""
    wrong = sum(a != b for a, b in zip(text, truth, strict=False)) + abs(len(text) - len(truth))
    counts = table.setdefault(key, Counter())
    counts["copies"] += 1
    counts["exact"] += wrong == 0
    counts["badly_wrong"] += wrong > 20


def print_table(heading: str, columns: tuple[str, str], table: dict, rows: list[dict], extra=None) -> None:
    """One markdown table of `table` ((first, second) -> counts), also added to `rows` for --json."""
    if heading:
        print(f"\n{heading}\n")
    more = f" | {extra[0]}" if extra else ""
    print(f"| {columns[0]} | {columns[1]} | copies | read exactly | badly wrong (> 20 chars){more} |")
    print("|---|---|---:|---:|---:|" + ("---:|" if extra else ""))
    for (first, second), c in table.items():
        rows.append({"table": heading or "detectors", columns[0]: first, columns[1]: second, **c})
        cell = f" | {extra[1](first, second)}" if extra else ""
        print(f"| {first} | {second} | {c['copies']} | {c['exact'] / c['copies']:.3f} ({c['exact']}) | "
              f"{c['badly_wrong']}{cell} |")


def detectors_table(corpora: Path, rows: list[dict]) -> None:
    from newsflow.encoding import detect

    # a detector gives an encoding name; bare trafilatura (what a user hands raw bytes to) gives the text
    detectors = {"newsflow (chardetng)": detect, "charset-normalizer (newsflow before)": charset_normalizer_detect,
                 "bare trafilatura (decode_file)": trafilatura_decode}
    table: dict = {}
    seconds: Counter = Counter()
    copies: Counter = Counter()
    for corpus, _page_id, _encoding, data, truth in legacy_copies(corpora):
        for name, detector in detectors.items():
            started = time.perf_counter()
            guess = detector(data)
            seconds[name] += time.perf_counter() - started
            copies[name] += 1
            if not name.startswith("bare"):
                try:
                    guess = data.decode(guess, "replace")
                except LookupError:
                    guess = ""
            tally(table, (corpus, name), guess, truth)
    table = dict(sorted(table.items(), key=lambda item: (list(detectors).index(item[0][1]), item[0][0])))
    print_table("", ("corpus", "detector"), table, rows,
                extra=("ms a copy (all corpora)", lambda _c, name: f"{1000 * seconds[name] / copies[name]:.2f}"))


def served_latin1_table(corpora: Path, rows: list[dict]) -> None:
    """The same copies served with the server default "charset=ISO-8859-1": newsflow's decode_html (which lets a
    detected encoding of another script overrule that default) beside reading them as the header says."""
    from newsflow.encoding import decode_html

    table: dict = {}
    for _corpus, _page_id, encoding, data, truth in legacy_copies(corpora):
        script = "Latin" if encoding in LATIN else "other scripts"
        tally(table, (script, "newsflow decode_html"), decode_html(data, "text/html; charset=ISO-8859-1")[0], truth)
        tally(table, (script, "as the header says (windows-1252)"), data.decode("cp1252", "replace"), truth)
    print_table("served with `Content-Type: text/html; charset=ISO-8859-1` (both corpora)", ("copies in", "read"),
                dict(sorted(table.items())), rows)


def stale_meta_table(corpora: Path, rows: list[dict]) -> None:
    """UTF-8 pages whose meta tag says ISO-8859-1 (a template's old declaration kept after the move to UTF-8), no
    charset in the header; and the windows-1252 copies given that tag, which must not be read worse for it."""
    from newsflow.encoding import decode_html

    latin1_meta = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    table: dict = {}
    for _corpus, _page_id, _language, raw in pages(corpora):
        text = DECLARATION.sub("", decode_html(raw, None)[0])
        page = re.sub(r"(?i)<head([^>]*)>", lambda m: m[0] + latin1_meta, text, count=1)
        data = page.encode("utf-8")
        if not data.isascii():
            tally(table, ("UTF-8 pages", "newsflow decode_html"), decode_html(data, None)[0], page)
            tally(table, ("UTF-8 pages", "as the meta tag says (windows-1252)"), data.decode("cp1252", "replace"),
                  page)
    for _corpus, _page_id, encoding, data, _truth in legacy_copies(corpora):
        if encoding in ("cp1252", "iso-8859-15"):
            data = re.sub(rb"(?i)<head([^>]*)>", lambda m: m[0] + latin1_meta.encode(), data, count=1)
            kind = "windows-1252 / ISO-8859-15 pages"
            tally(table, (kind, "newsflow decode_html"), decode_html(data, None)[0], data.decode(encoding))
            tally(table, (kind, "as the meta tag says (windows-1252)"), data.decode("cp1252", "replace"),
                  data.decode(encoding))
    print_table("with `<meta … charset=iso-8859-1>` and no charset in the header (both corpora)", ("pages", "read"),
                dict(sorted(table.items())), rows)


def stray_bytes_table(corpora: Path, rows: list[dict]) -> None:
    """UTF-8 corpus pages (no declaration) with 1, 5 or 20 stray bytes inserted at random (a CMS pasting a
    windows-1252 quote, a damaged byte): the right reading is UTF-8 with U+FFFD for the strays."""
    import random

    from newsflow.encoding import decode_html

    rng = random.Random(19)
    table: dict = {}
    for _corpus, _page_id, _language, raw in pages(corpora):
        data = DECLARATION.sub("", decode_html(raw, None)[0]).encode("utf-8")
        if data.isascii():
            continue
        for strays in (1, 5, 20):
            damaged = bytearray(data)
            for _ in range(strays):
                at = rng.randrange(len(damaged))
                damaged[at:at] = bytes([rng.choice([0x92, 0x93, 0x96, 0xA0, 0xE9, 0xFF])])
            damaged = bytes(damaged)
            truth = damaged.decode("utf-8", "replace")
            label = f"{strays} stray byte{'s' if strays > 1 else ''}"
            tally(table, (label, "newsflow decode_html"), decode_html(damaged, None)[0], truth)
            tally(table, (label, "charset-normalizer (newsflow before)"),
                  damaged.decode(charset_normalizer_detect(damaged), "replace"), truth)
            tally(table, (label, "bare trafilatura (decode_file)"), trafilatura_decode(damaged), truth)
    print_table("UTF-8 pages with stray bytes, no declaration (both corpora)", ("pages with", "read by"),
                dict(sorted(table.items(), key=lambda item: (int(item[0][0].split()[0]), item[0][1]))), rows)


def unmarked_table(corpora: Path, rows: list[dict]) -> None:
    """Every corpus page, declarations removed, in UTF-16 without a byte-order mark (either byte order), and the
    Japanese ones in ISO-2022-JP (7-bit: valid ASCII, hence valid UTF-8, to a reader that tries UTF-8 first)."""
    from newsflow.encoding import decode_html

    table: dict = {}
    for _corpus, _page_id, language, raw in pages(corpora):
        page = DECLARATION.sub("", decode_html(raw, None)[0])
        encodings = ["utf-16-le", "utf-16-be"] + (["iso2022_jp"] if language == "ja" else [])
        for encoding in encodings:
            try:
                data = page.encode(encoding)
            except UnicodeEncodeError:  # a character ISO-2022-JP lacks: not a page it could have carried
                continue
            label = {"iso2022_jp": "ISO-2022-JP (Japanese pages)"}.get(encoding, "UTF-16, no BOM")
            tally(table, (label, "newsflow decode_html"), decode_html(data, None)[0], page)
            # newsflow before read none of these right: it tried UTF-8 (NUL and ESC are valid) before detecting
            tally(table, (label, "charset-normalizer (detection alone)"),
                  data.decode(charset_normalizer_detect(data), "replace"), page)
            tally(table, (label, "bare trafilatura (decode_file)"), trafilatura_decode(data), page)
    print_table("UTF-16 without a byte-order mark, ISO-2022-JP; no declaration (both corpora)",
                ("pages in", "read by"), dict(sorted(table.items())), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: list[dict] = []
    detectors_table(args.corpora, rows)
    served_latin1_table(args.corpora, rows)
    stale_meta_table(args.corpora, rows)
    stray_bytes_table(args.corpora, rows)
    unmarked_table(args.corpora, rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
