"""Markup repairs on a copy of the page before trafilatura reads the body: story text its precision mode drops
for the markup around it (an empty anchor before a paragraph, a styled span inside a sentence, an icon link in a heading).
"""

from __future__ import annotations

import re
from copy import deepcopy

# Empty elements that favor_precision deletes together with the text that follows them (its tail). A block (a
# spacer div, a clearfix) breaks the line: what follows is a line of its own. An empty inline element with an id
# is an anchor target (WordPress' "more-123" span before the paragraph after the teaser, a table of contents'
# section anchor in a heading): what follows is the text it points to. An empty inline element without an id is
# mostly an icon glyph, whose text after it is a control's label ("Print", "Comments (3)"): left as it is.
_BLOCKS = frozenset({"article", "blockquote", "dd", "div", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "li", "main",
                     "p", "pre", "section"})
_INLINE = frozenset({"b", "em", "i", "q", "span", "strong"})
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def repaired(tree):
    """A copy of `tree` (trafilatura's load_html tree) with the three repairs below, or `tree` itself when none
    applies (most pages: no copy then); `tree` is never changed (the page's metadata and dates are read from it)."""
    if not any(repair(tree, apply=False) for repair in _REPAIRS):
        return tree
    copy = deepcopy(tree)
    for repair in _REPAIRS:
        repair(copy)
    return copy


def carry_tails(tree, apply: bool = True) -> int:
    """The text after an empty spacer block or anchor target moves in front of it, so deleting the empty element
    keeps it. Returns how many moved (with apply=False: 1 if one would, and nothing moves)."""
    moved = 0
    for el in list(tree.iter(*_BLOCKS, *_INLINE)):
        tail = el.tail
        if el.text is not None or len(el) or not tail or not tail.strip():
            continue
        if el.tag in _INLINE and not el.get("id"):
            continue
        parent = el.getparent()
        if parent is None:
            continue
        if not apply:
            return 1
        previous = el.getprevious()
        before = parent.text if previous is None else previous.tail
        # a block ended the line before the text that follows it
        joint = "\n" if el.tag in _BLOCKS and before and not before[-1].isspace() and not tail[0].isspace() else ""
        if previous is None:
            parent.text = (before or "") + joint + tail
        else:
            previous.tail = (before or "") + joint + tail
        el.tail = None
        moved += 1
    return moved


def unwrap_spans_in_sentences(tree, apply: bool = True) -> int:
    """A span with text on both sides inside a paragraph is part of a sentence ("has reported that <span
    class="link"><a>the NFL will fine Rudolph</a></span> for his role"): its tag goes, its content stays, so no
    class or style of the span (favor_precision drops class "link", "bottom", any "border" style) cuts the sentence.
    Spans hidden from readers stay as they are. Returns how many were unwrapped (apply=False: 1 if one would be)."""
    unwrapped = 0
    for paragraph in list(tree.iter("p")):
        for span in list(paragraph.iter("span")):
            parent = span.getparent()
            if parent is None or _hidden(span) or not span.text_content().strip():
                continue
            previous = span.getprevious()
            before = parent.text if previous is None else previous.tail
            if before and before.strip() and span.tail and span.tail.strip():
                if not apply:
                    return 1
                span.drop_tag()
                unwrapped += 1
    return unwrapped


def unwrap_empty_heading_links(tree, apply: bool = True) -> int:
    """A link without text or picture in a heading (a named anchor, a permalink icon) is unwrapped: trafilatura's
    link-density test counts a heading whose links carry no text as a list of links and drops the heading. A
    picture's link stays (a heading the parser made hold an image box is a gallery, not a heading). Returns how many
    (apply=False: 1 if one would be)."""
    unwrapped = 0
    for heading in list(tree.iter(*_HEADINGS)):
        for link in list(heading.iter("a")):
            if (link.getparent() is not None and not link.text_content().strip()
                    and next(link.iter("img", "picture"), None) is None):
                if not apply:
                    return 1
                link.drop_tag()
                unwrapped += 1
    return unwrapped


_REPAIRS = (carry_tails, unwrap_spans_in_sentences, unwrap_empty_heading_links)


def _hidden(el) -> bool:
    return (el.get("aria-hidden") == "true" or el.get("hidden") is not None
            or bool(_HIDDEN_STYLE.search(el.get("style") or "")))
