"""Per-host politeness shared by every fetch task on one machine: request slots and request spacing per host live in
small lock files, so tasks running side by side (one per source under a real executor) stay within the limits together.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import random
import re
import time
from contextlib import asynccontextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_POLL_FIRST_S, _POLL_MAX_S = 0.005, 0.1
# a reservation further ahead than this is left over from a clock jump, not queued requests
_STALE_AHEAD_S = 3600.0
_NEXT_WIDTH = 32


class HostGate:
    """Cross-process host limits: `slot(key)` holds one of `concurrency` request slots of a host (an exclusive flock on
    one of its slot files), `reserve(key, interval)` books the host's next request start (a wall-clock time kept in
    the host's pacing file) and says how long to wait for it.

    flock locks belong to an open file, not a process, so each acquisition opens its own descriptor: two coroutines
    of one process contend like two processes do, and a crashed task's locks go with its descriptors. Files are a
    few bytes per host and never removed (the next run reuses them). File operations are short and local, done on
    the event loop; waits are asyncio sleeps with backoff, never blocking calls.
    """

    def __init__(self, folder: Path, concurrency: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self._rng = random.Random()
        self._slot_paths: dict[str, list[str]] = {}
        # descriptor -> slot file, for the slots this gate holds right now: they are locked, and trying them
        # again costs an open, a refused flock and a close each (~5 per request with 16 slots mostly in use)
        self._held: dict[int, str] = {}

    def path(self, key: str, suffix: str) -> Path:
        readable = re.sub(r"[^A-Za-z0-9.-]+", "_", key)[:60]
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
        return self.folder / f"{readable}-{digest}.{suffix}"

    @asynccontextmanager
    async def slot(self, key: str):
        fd = await self.acquire(key)
        try:
            yield
        finally:
            self.release(fd)

    def release(self, fd: int) -> None:
        self._held.pop(fd, None)
        os.close(fd)  # closing the descriptor releases its lock

    async def acquire(self, key: str) -> int:
        """Wait for a free request slot of the host; returns the descriptor holding it (for release).
        OSError (a full disk, a file system that stopped allowing locks) goes to the caller."""
        paths = self._slot_paths.get(key)
        if paths is None:
            paths = self._slot_paths[key] = [str(self.path(key, f"slot{i}")) for i in range(self.concurrency)]
        wait = _POLL_FIRST_S
        while True:
            # only the slots this gate does not hold itself can be free; other processes' locks still decide
            mine = set(self._held.values())
            candidates = [path for path in paths if path not in mine]
            # a random first slot spreads contending processes over the files
            first = self._rng.randrange(len(candidates)) if candidates else 0
            for path in candidates[first:] + candidates[:first]:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._held[fd] = path
                    return fd
                except BlockingIOError:
                    os.close(fd)
                except BaseException:
                    os.close(fd)
                    raise
            await asyncio.sleep(wait * (0.5 + self._rng.random()))
            wait = min(wait * 2, _POLL_MAX_S)

    async def reserve(self, key: str, interval: float, max_wait: float | None = None) -> float | None:
        """Book the host's next request start at least `interval` after the previous booking; returns the seconds to
        wait before starting (0 when the host is free). None, and nothing booked, when that start is more than
        `max_wait` seconds away: a fetch whose time is up must leave no booking for other tasks to wait out."""
        fd = os.open(self.path(key, "next"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            wait = _POLL_FIRST_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, _POLL_MAX_S)
            now = time.time()
            try:
                booked = float(os.pread(fd, _NEXT_WIDTH, 0).decode("ascii").strip() or 0.0)
            except ValueError:
                booked = 0.0
            if booked > now + _STALE_AHEAD_S:
                booked = 0.0
            start = max(now, booked)
            if max_wait is not None and start - now > max_wait:
                return None
            os.pwrite(fd, f"{start + interval:.6f}".ljust(_NEXT_WIDTH).encode("ascii"), 0)
            return start - now
        finally:
            os.close(fd)


def open_gate(folder: Path | None, concurrency: int) -> HostGate | None:
    """A gate in `folder`, or None (limits per task only) when there is no folder or it cannot be used: not
    writable, or on a file system without flock (some network and FUSE mounts refuse it)."""
    if folder is None:
        return None
    try:
        gate = HostGate(folder, concurrency)
        fd = os.open(gate.folder / ".probe", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another task is probing at this moment: locks work
        finally:
            os.close(fd)
        return gate
    except OSError as exc:
        log.warning("host limits apply per task only: cannot use %s (%s)", folder, exc)
        return None
