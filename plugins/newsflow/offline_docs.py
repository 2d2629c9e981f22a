"""Make a Great Expectations Data Docs site work offline.

GX 1.x templates load Bootstrap, jQuery, popper, bootstrap-table, bootstrap-datepicker, bootstrap-dark,
font-awesome and vega from public CDNs and logos from S3. `make_offline` copies the vendored copies of exactly
those files (`static/vendor/`, byte-identical to the npm tarballs of the referenced versions; see its README.md)
into `<docs>/_vendor/` and rewrites every such URL in the site's HTML (script/link/img tags and CSS `url()`s in
`<style>` blocks or style attributes) and in its own .css files to a relative path, so pages at any depth work from
`file://` and behind the Airflow UI plugin alike. URLs that cannot be served locally are dropped (the tag is
removed, a CSS `url()` becomes `none`); a dangling relative `static/...` reference (GX's favicon link on validation
pages) is re-anchored on the site's static/ dir. Plain `<a href>` links are left alone: they are navigation, not loads.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
VENDOR_SUBDIR = "_vendor"
LOGO = "newsflow/logo.svg"

# CDN URL (without query string / fragment) -> file under static/vendor/. Floating versions (vega@5, ...) are
# pinned to what npm resolved them to when vendored.
CDN_FILES: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/6.29.0/build/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free/6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js/1.12.9/dist/umd/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/4.3.1/dist/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap/4.3.1/dist/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table/1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table/1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # index_page.j2 asks for the .min.css, page.j2 / page_minimal.j2 for the .css: the same rules
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/1.1.0/dist/css/bootstrap-prefers-dark.min.css",
}
# GX's logos (logo-long.png in the navbar, full_logo_dark.png in the dark-mode CSS) -> a small local SVG
IMAGE_HOSTS = ("https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/",)
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")

_TAG = re.compile(r"<(script|link|img)\b[^>]*>(?:\s*</script\s*>)?", re.IGNORECASE)
_URL_ATTR = re.compile(r"""(\s(?:src|href)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_SRI_ATTR = re.compile(r"""\s(?:integrity|crossorigin)(?:\s*=\s*(["']).*?\1)?(?=[\s/>])""", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_STYLE_ATTR = re.compile(r"""(\sstyle\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(["']?)((?:https?:)?//[^"')\s]+)\1\s*\)""", re.IGNORECASE)


def is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://", "//"))


def vendored_file(url: str) -> str | None:
    """The path under static/vendor/ that serves `url`, or None when it cannot be served locally."""
    url = url.strip().replace("&amp;", "&")
    if url.startswith("//"):
        url = "https:" + url
    base = re.split(r"[?#]", url, maxsplit=1)[0]
    base = "https://" + base.split("://", 1)[1] if base.lower().startswith("http://") else base
    if base in CDN_FILES:
        return CDN_FILES[base]
    if base.startswith(IMAGE_HOSTS) and base.lower().endswith(IMAGE_SUFFIXES):
        return LOGO
    return None


class _Rewriter:
    def __init__(self, vendor_root: Path, page_dir: Path):
        self.vendor_root = vendor_root
        self.page_dir = page_dir
        self.rewritten = 0
        self.dropped: list[str] = []

    def local(self, url: str) -> str | None:
        rel = vendored_file(url)
        if rel is None:
            return None
        return quote(Path(os.path.relpath(self.vendor_root / rel, self.page_dir)).as_posix())

    def repair(self, match: re.Match) -> str:
        """GX's favicon link on validation pages climbs one directory too few (favicon.j2 uses dot count + 3,
        top_navbar.j2 + 4): re-anchor a dangling `.../static/...` reference on the site's own static/ dir."""
        url = match.group(3)
        if is_remote(url) or url.startswith(("data:", "#", "/")) or "static/" not in url:
            return match.group(0)
        path = re.split(r"[?#]", url, maxsplit=1)[0]
        if (self.page_dir / path).exists():
            return match.group(0)
        target = self.vendor_root.parent / ("static/" + path.split("static/", 1)[1])
        if not target.is_file():
            return match.group(0)
        self.rewritten += 1
        local = Path(os.path.relpath(target, self.page_dir)).as_posix()
        return match.group(1) + match.group(2) + local + match.group(2)

    def tag(self, match: re.Match) -> str:
        text = match.group(0)
        urls = [m for m in _URL_ATTR.finditer(text) if is_remote(m.group(3))]
        if not urls:
            return _URL_ATTR.sub(self.repair, text)
        url = urls[0].group(3)
        local = self.local(url)
        if local is None:
            self.dropped.append(url)
            self.rewritten += 1
            return ""
        self.rewritten += 1
        text = _URL_ATTR.sub(lambda m: m.group(1) + m.group(2) + local + m.group(2) if is_remote(m.group(3))
                             else m.group(0), text)
        # SRI / CORS attributes: a crossorigin request for a file:// URL is blocked by browsers; the vendored
        # files are byte-identical to the CDN ones (tests check the SRI hashes GX pins).
        return _SRI_ATTR.sub("", text)

    def css(self, text: str) -> str:
        def one(match: re.Match) -> str:
            url = match.group(2)
            local = self.local(url)
            self.rewritten += 1
            if local is None:
                self.dropped.append(url)
                return "none"
            return f"url('{local}')"

        return _CSS_URL.sub(one, text)

    def html(self, text: str) -> str:
        text = _TAG.sub(self.tag, text)
        text = _STYLE_BLOCK.sub(lambda m: m.group(1) + self.css(m.group(2)) + m.group(3), text)
        return _STYLE_ATTR.sub(lambda m: m.group(1) + m.group(2) + self.css(m.group(3)) + m.group(2), text)


def make_offline(docs_dir: Path) -> int:
    """Copy the vendored assets into `docs_dir/_vendor/` and point every CDN/S3 reference of every .html (and
    every site .css) under `docs_dir` at them; returns the number of references rewritten (dropped ones
    included). Idempotent: a second run finds nothing to rewrite."""
    docs_dir = Path(docs_dir)
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"no Data Docs directory at {docs_dir}")
    vendor_root = docs_dir / VENDOR_SUBDIR
    shutil.copytree(VENDOR_DIR, vendor_root, dirs_exist_ok=True)
    total = 0
    dropped: list[str] = []
    for path in sorted([*docs_dir.rglob("*.html"), *docs_dir.rglob("*.css")]):
        if vendor_root in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        rewriter = _Rewriter(vendor_root, path.parent)
        new = rewriter.html(text) if path.suffix == ".html" else rewriter.css(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
        total += rewriter.rewritten
        dropped += rewriter.dropped
    if dropped:
        log.warning("Data Docs: dropped %d remote reference(s) with no local copy: %s", len(dropped),
                    sorted(set(dropped)))
    log.info("Data Docs made offline: %d reference(s) rewritten under %s", total, docs_dir)
    return total
