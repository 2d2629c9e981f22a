"""A stand-in extraction worker for tests: a page marked `crash` kills its worker process outright, the way a
segfault in a C extension or the kernel's OOM killer would; every other page is extracted as usual."""

from __future__ import annotations

import os


def extract_or_die(items: list[dict]) -> list[dict]:
    from newsflow.stages.extraction_pool import extract_batch

    if any(item.get("crash") for item in items):
        os._exit(70)
    return extract_batch(items)


def slow_extract(items: list[dict]) -> list[dict]:
    """Real extraction, slowed so that a test can act while pages are in flight."""
    import time

    from newsflow.stages.extraction_pool import extract_batch

    time.sleep(0.5)
    return extract_batch(items)
