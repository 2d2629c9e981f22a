"""Extraction on every core: pages go to a process pool as soon as they are archived, results come back as
batches finish; a page that kills its worker is found, recorded as `extract_crashed`, and the rest go on.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

SERIAL_EXTRACTION_BELOW = 40  # starting worker processes costs more than extracting a handful of pages


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Extraction worker initializer: the kernel kills this worker when the task process that started it dies,
    however it dies (kill -9 and the OOM killer included), so no worker outlives its task holding pipes, memory
    or the multiprocessing resource tracker open. Linux only (prctl); elsewhere the pool's own shutdown applies."""
    import signal

    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed (errno %d): this worker may outlive its task",
                        ctypes.get_errno())
    if os.getppid() != parent_pid:
        # the task died before prctl took effect: nobody is left to send work or read results
        os.kill(os.getpid(), signal.SIGKILL)


def worker_count(settings) -> int:
    return settings.extract_workers or os.cpu_count() or 1


class ExtractionStream:
    """Pages in as they become available (archived), extraction results out as workers finish them.

    With several workers, pages go to a spawned process pool in batches of `chunk`; results of finished batches
    are handed back by `submit` and `finish`, so they are written out as the run goes and memory stays flat.
    With one worker (or `serial`), pages are extracted in this process when `finish` is called.
    A page that kills its worker process (a crash in a C extension, the kernel's OOM killer) breaks the pool:
    the unfinished pages are then redone one at a time, the killer is recorded as `extract_crashed`, and the
    stream goes on with a new pool.
    """

    def __init__(self, workers: int, *, serial: bool = False, chunk: int = 16, work=None):
        self.workers, self.chunk = workers, chunk
        self.serial = serial or workers <= 1
        self._work = work or extract_batch
        self._batch: list[dict] = []
        self._queued: list[dict] = []
        self._batches: dict = {}  # in-flight future -> its pages, to redo them if the pool breaks
        self._finished: deque = deque()
        self._pool = None
        self.crashed = 0

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        import multiprocessing

        # spawn: a forked copy of an Airflow task process (threads, sockets, DB handles) is not safe to run in
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))

    def __enter__(self) -> ExtractionStream:
        # the pool starts with the first batch: a run whose pages all come back unchanged (304 or same content)
        # spawns no worker processes, resource tracker or queues
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, item: dict) -> list[dict]:
        """Queue one page; returns the results that are ready by now (possibly none)."""
        if self.serial:
            self._queued.append(item)
            return []
        self._batch.append(item)
        if len(self._batch) >= self.chunk:
            self._send()
        return self._ready()

    def _send(self) -> None:
        if not self._batch:
            return
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        future = self._pool.submit(self._work, self._batch)
        self._batches[future] = self._batch
        # the pool's own thread runs this callback: a deque append is safe across threads
        future.add_done_callback(self._finished.append)
        self._batch = []

    def _ready(self) -> list[dict]:
        from concurrent.futures.process import BrokenProcessPool

        results: list[dict] = []
        while self._finished:
            future = self._finished.popleft()
            if future not in self._batches:
                continue
            try:
                results.extend(future.result())
            except BrokenProcessPool:
                return results + self._recover()
            del self._batches[future]
        return results

    def _recover(self) -> list[dict]:
        from concurrent.futures import wait
        from concurrent.futures.process import BrokenProcessPool

        wait(list(self._batches))  # a broken pool fails every pending future at once
        results: list[dict] = []
        redo: list[dict] = []
        for future, batch in self._batches.items():
            try:
                results.extend(future.result())
            except BrokenProcessPool:
                redo.extend(batch)
        self._batches.clear()
        self._finished.clear()
        self._pool.shutdown(wait=True)
        log.warning("an extraction worker died; redoing %d page(s) one at a time to find the cause", len(redo))
        single = self._new_pool(1)
        try:
            for item in redo:
                try:
                    results.extend(single.submit(self._work, [item]).result())
                except BrokenProcessPool:
                    self.crashed += 1
                    log.error("extraction of %s killed its worker process; recorded as extract_crashed", item.get("url"))
                    results.append({"seq": item["seq"], "error": "extract_crashed", "record": None})
                    single.shutdown(wait=True)
                    single = self._new_pool(1)
        finally:
            single.shutdown(wait=True)
        self._pool = self._new_pool(self.workers)
        return results

    def finish(self):
        """Every remaining result, as batches complete."""
        from concurrent.futures import FIRST_COMPLETED, wait

        if self.serial:
            queued, self._queued = self._queued, []
            if queued:  # the extractor's imports are for pages that need extracting, not for unchanged ones
                from newsflow.extract import extract_item

                yield from (extract_item(item) for item in queued)
            return
        self._send()
        yield from self._ready()
        while self._batches:
            done, _ = wait(list(self._batches), return_when=FIRST_COMPLETED)
            # the done-callbacks may not have run yet; _ready skips a future it has already handled
            self._finished.extend(done)
            yield from self._ready()


def run_extraction(items: list[dict], workers: int, chunk: int = 16):
    """Yield extraction results of `items` from `workers` processes (workers read the pages from the WARC)."""
    with ExtractionStream(workers, serial=len(items) < SERIAL_EXTRACTION_BELOW, chunk=chunk) as stream:
        for item in items:
            yield from stream.submit(item)
        yield from stream.finish()


def extract_batch(items: list[dict]) -> list[dict]:
    from newsflow.extract import extract_item

    return [extract_item(item) for item in items]


