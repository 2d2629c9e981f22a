"""A news_reprocess run whose extract fails for chosen sources, through a real fault on disk (no mock)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from newsflow.staging import EXTRACT_LEDGER_FILE


@contextmanager
def failing_reprocess_extract(data: Path, names: set[str]):
    """While in it, the extract of each source in `names` fails in the news_reprocess run that starts: as soon as
    that run's plan makes the source's staging folder (its extract starts a task later), the path of the
    extract's ledger is taken by a folder, so the stage cannot write it. Only a triggered run's folder (`manual__`,
    the run `newsflow reprocess` starts, on the service or not) is touched: on the service, scheduled ingest runs
    of the same sources stage beside it."""
    staging = data / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    before = set(staging.iterdir())
    stop = threading.Event()

    def poison() -> None:
        left = set(names)
        while left and not stop.wait(0.005):
            for folder in set(staging.iterdir()) - before:
                for name in sorted(left):
                    if folder.name.startswith("manual__") and (folder / name).is_dir():
                        (folder / name / EXTRACT_LEDGER_FILE).mkdir(exist_ok=True)
                        left.discard(name)

    watcher = threading.Thread(target=poison, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(5)
