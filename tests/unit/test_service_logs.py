"""The service's log writer, run as the service runs it (`python -m newsflow.service_logs FILE`, the component's
output on its standard input): files rolled over by size at line boundaries, nothing lost or reordered within
what is kept, `down`'s SIGTERM outlived until the component closes its end, bad settings refused by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsflow.service_logs import rotation

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def writer(path: Path, **settings: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_SERVICE_LOG")}
    env.update(settings)
    return subprocess.Popen([sys.executable, "-m", "newsflow.service_logs", str(path)], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)


def lines(n: int, start: int = 0) -> bytes:
    # scheduler-like lines in three scripts, ~100 bytes each
    return b"".join(f"{i:07d} [info] run scheduled__2026-12-04 فحص проверка 检查 {'x' * 40}\n".encode()
                    for i in range(start, start + n))


def test_rolls_over_by_size_and_keeps_the_newest_lines_whole_and_in_order(tmp_path):
    log = tmp_path / "scheduler.log"
    proc = writer(log, NEWSFLOW_SERVICE_LOG_MB="1", NEWSFLOW_SERVICE_LOG_FILES="2")
    proc.communicate(lines(60_000), timeout=60)  # ~6.5 MB through a 1 MB file and 2 older ones
    assert proc.returncode == 0
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["scheduler.log", "scheduler.log.1", "scheduler.log.2"]
    assert all(f.stat().st_size <= MB for f in files)
    kept = b"".join((tmp_path / name).read_bytes() for name in ("scheduler.log.2", "scheduler.log.1", "scheduler.log"))
    numbers = [int(line[:7]) for line in kept.splitlines()]
    # the oldest files were dropped, the rest is one unbroken, ordered tail ending at the last line written
    assert numbers == list(range(numbers[0], 60_000)) and len(numbers) > 2 * MB // 120
    assert kept.endswith(lines(1, 59_999))


def test_outlives_sigterm_until_its_component_closes_the_pipe(tmp_path):
    # `down` SIGTERMs the whole process group: a component's last words come after the signal
    log = tmp_path / "api-server.log"
    proc = writer(log)
    proc.stdin.write(b"INFO: started\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while (not log.exists() or not log.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_bytes() == b"INFO: started\n"  # on disk as soon as it is written, for `tail -f`
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert proc.poll() is None
    proc.stdin.write(b"INFO: Shutting down\n")
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert log.read_bytes() == b"INFO: started\nINFO: Shutting down\n"


def test_bytes_that_are_not_utf8_and_an_unfinished_last_line_are_kept(tmp_path):
    log = tmp_path / "triggerer.log"
    proc = writer(log)
    proc.communicate("Ошибка: \n".encode() + b"latin-1 caf\xe9\n" + b"no newline at the end", timeout=30)
    assert proc.returncode == 0
    assert log.read_text(encoding="utf-8") == "Ошибка: \nlatin-1 caf\\xe9\nno newline at the end"


def test_an_endless_line_is_written_in_pieces_and_rolled_over(tmp_path):
    log = tmp_path / "dag-processor.log"
    proc = writer(log, NEWSFLOW_SERVICE_LOG_MB="1", NEWSFLOW_SERVICE_LOG_FILES="1")
    proc.communicate(b"y" * (3 * MB) + b"\n", timeout=60)
    assert proc.returncode == 0
    assert sorted(f.name for f in tmp_path.iterdir()) == ["dag-processor.log", "dag-processor.log.1"]
    assert all(f.stat().st_size <= MB + 1 for f in tmp_path.iterdir())


@pytest.mark.parametrize(("settings", "message"), [
    ({"NEWSFLOW_SERVICE_LOG_MB": "lots"}, "NEWSFLOW_SERVICE_LOG_MB='lots': expected a number of megabytes"),
    ({"NEWSFLOW_SERVICE_LOG_MB": "0.5"}, "NEWSFLOW_SERVICE_LOG_MB='0.5': must be at least 1"),
    # a size past what a float holds in bytes: int(inf) raised OverflowError, a traceback in `up` and `status`
    ({"NEWSFLOW_SERVICE_LOG_MB": "1e303"}, "NEWSFLOW_SERVICE_LOG_MB='1e303': must be at most 100000"),
    ({"NEWSFLOW_SERVICE_LOG_FILES": "2.5"}, "NEWSFLOW_SERVICE_LOG_FILES='2.5': expected a whole number of files"),
    ({"NEWSFLOW_SERVICE_LOG_FILES": "0"}, "NEWSFLOW_SERVICE_LOG_FILES='0': must be at least 1"),
])
def test_bad_settings_are_refused_by_name(tmp_path, monkeypatch, settings, message):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.") + "$"):
        rotation()
    proc = writer(tmp_path / "x.log", **settings)
    _, err = proc.communicate(b"", timeout=30)
    assert proc.returncode == 2 and message in err.decode()


def test_defaults(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_SERVICE_LOG_MB", raising=False)
    monkeypatch.setenv("NEWSFLOW_SERVICE_LOG_FILES", " ")
    assert rotation() == (20 * MB, 4)


@pytest.mark.parametrize(("setting", "message"), [
    ({"NEWSFLOW_SERVICE_LOG_MB": "-3"}, "NEWSFLOW_SERVICE_LOG_MB='-3': must be at least 1"),
    ({"NEWSFLOW_SERVICE_LOG_MB": "1e303"}, "NEWSFLOW_SERVICE_LOG_MB='1e303': must be at most 100000"),
    ({"NEWSFLOW_ALERT_LEVEL": "everything"}, "NEWSFLOW_ALERT_LEVEL='everything': expected one of warn, fail"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "hooks.example.org/T/B/token"}, "NEWSFLOW_ALERT_WEBHOOK: expected an http(s) URL"),
])
def test_up_refuses_bad_settings_before_starting_anything(tmp_path, setting, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    env.update({"AIRFLOW_HOME": str(tmp_path / "home"), "NEWSFLOW_DATA_DIR": str(tmp_path / "data"), **setting})
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "up", "--demo", "--port", "18931"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert f"newsflow: {message}" in done.stderr
    assert "token" not in done.stderr
    assert not (tmp_path / "home").exists() and not (tmp_path / "data").exists()


def test_the_writer_stays_light():
    # six writers run as long as the service does: no pydantic, YAML, DuckDB or Airflow in them
    script = ("import sys, newsflow.service_logs; "
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'yaml', 'duckdb', 'airflow'}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True,
                          cwd=ROOT)
    assert done.stdout.strip() == "[]"
