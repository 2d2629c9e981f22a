"""The service components' output, written to size-rotated log files: each component writes into a pipe read by
one of these writers (what `rotatelogs` is to Apache httpd), so an always-on service keeps bounded logs.

`python -m newsflow.service_logs <file>` copies standard input to <file>, which it rolls over to <file>.1 ...
<file>.N (NEWSFLOW_SERVICE_LOG_FILES older files, each up to NEWSFLOW_SERVICE_LOG_MB) at a line boundary.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import signal
import sys
from pathlib import Path

from newsflow.env_settings import number_setting

DEFAULT_MB = 20.0
MAX_MB = 100_000  # 100 GB a file: more is a typo (an exponent, extra zeros), and past ~1e302 the bytes overflow
DEFAULT_FILES = 4  # older files kept beside the current one: five files, 100 MB a component at most by default
CHUNK = 1 << 20  # a longer line is written in pieces: one endless line must not hold the writer's memory


def rotation() -> tuple[int, int]:
    """(bytes per file, older files kept) from NEWSFLOW_SERVICE_LOG_MB (at least 1) and NEWSFLOW_SERVICE_LOG_FILES
    (at least 1), or a ValueError that names the variable and what is wrong with it."""
    megabytes = number_setting("NEWSFLOW_SERVICE_LOG_MB", DEFAULT_MB, minimum=1, maximum=MAX_MB,
                               expected="a number of megabytes")
    files = number_setting("NEWSFLOW_SERVICE_LOG_FILES", DEFAULT_FILES, kind=int, minimum=1,
                           expected="a whole number of files")
    return int(megabytes * 1024 * 1024), int(files)


def copy(stream, path: str | Path, max_bytes: int, backups: int) -> None:
    """Copy the byte stream to `path` line by line until it ends, rolling over when a line would pass `max_bytes`.
    Bytes that are not UTF-8 are kept as \\x escapes; a line is on disk (flushed) as soon as it is read."""
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.terminator = ""  # the lines keep their own newlines
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for line in iter(lambda: stream.readline(CHUNK), b""):
            handler.handle(logging.makeLogRecord({"msg": line.decode("utf-8", "backslashreplace")}))
    finally:
        handler.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsflow.service_logs", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="the log file to write (rolled over to FILE.1 ... FILE.N)")
    args = parser.parse_args(argv)
    try:
        max_bytes, backups = rotation()
    except ValueError as exc:
        parser.error(str(exc))
    # `down` signals the whole process group: the writer outlives its component's last words and stops at the end
    # of its input, when the component has exited (a component that never exits is killed with it)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    copy(sys.stdin.buffer, args.file, max_bytes, backups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
