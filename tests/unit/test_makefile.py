"""The Makefile's bootstrap: a venv made in another folder (the project renamed, moved or copied) is made again, one
made here is kept. `make -n` evaluates the check for real and only prints the recipes, so nothing is installed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def project_with_venv(folder: Path, made_in: Path) -> Path:
    folder.mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, folder / name)
    scripts = folder / ".venv" / "bin"
    scripts.mkdir(parents=True)
    (scripts / "newsflow").write_text(f"#!{made_in}/.venv/bin/python\nimport sys\n", encoding="utf-8")
    (folder / ".venv" / ".synced").touch()
    return folder


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_venv_made_in_another_folder_is_made_again(tmp_path):
    moved = project_with_venv(tmp_path / "новый проект", tmp_path / "old")
    moved = moved.rename(tmp_path / "moved")  # make does not take a folder with a space
    out = subprocess.run(["make", "-n", "setup"], cwd=moved, capture_output=True, text=True, timeout=60)
    assert f".venv was made in another folder ({tmp_path / 'old'}/.venv/bin/python); making it again here" in out.stdout
    assert not (moved / ".venv").exists()
    assert "uv sync --frozen" in out.stdout  # and the sync is what runs next


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_venv_made_here_is_kept(tmp_path):
    here = tmp_path / "here"
    project_with_venv(here, here)
    (here / ".tools" / "bin").mkdir(parents=True)
    (here / ".tools" / "bin" / "uv").touch()
    (here / ".venv" / ".synced").touch()  # newer than the lock: nothing to do
    out = subprocess.run(["make", "-n", "setup"], cwd=here, capture_output=True, text=True, timeout=60)
    assert "another folder" not in out.stdout and (here / ".venv" / "bin" / "newsflow").exists()
    assert "uv sync" not in out.stdout, out.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_test_fast_leaves_the_scale_out_test_to_make_test_scaleout():
    """`make test-fast`'s `-m "not integration"` replaced pyproject's `-m 'not scaleout'`: the scale-out cluster test
    was collected, and started Postgres, Redis and Celery workers whenever the venv had the celery extra (after a
    `make test-scaleout`)."""
    out = subprocess.run(["make", "-n", "test-fast", "PYTEST_WORKERS=0"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    (command,) = [line for line in out.stdout.replace("\\\n", " ").splitlines() if " -m pytest " in line]
    args = [sys.executable, *shlex.split(command)[1:], "--collect-only", "-q", "-p", "no:cacheprovider",
            "tests/scaleout"]
    collected = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "test_celery_cluster.py::" not in collected.stdout, collected.stdout
