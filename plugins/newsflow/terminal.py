"""What newsflow prints that came from outside (a stored page's text, a webhook's answer): made safe to hand to a
terminal. Standard library only: the DAG files import the alerts, which use this."""

from __future__ import annotations

import re

# What a terminal must not be handed: C0/C1 controls (an ESC sequence stored from a hostile page would drive the
# analyst's terminal: retitle it, rewrite the screen) and the bidi embeddings, overrides and isolates (they would
# reorder the rest of the line).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with each such character shown as U+FFFD."""
    return _UNSHOWABLE.sub("\ufffd", text)
