"""Hand-made lakes built once per test process and copied for each test that asks for one: a new lake's migrations
cost seconds (a DuckLake commit each), a copy of its folder a few milliseconds. A folder lake moves with its files
(README, "The warehouse"): the copy is a real lake of its own, which a test may change as it likes."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_built: dict[tuple, Path] = {}
_folder: list[Path] = []


def copy_of(key: tuple, build, dest: Path) -> Path:
    """`dest` as `build(dest)` would make it: `build` runs once per process for `key` (which must name everything
    the lake depends on), each later call copies its lake."""
    if key not in _built:
        if not _folder:
            _folder.append(Path(tempfile.mkdtemp(prefix="newsflow-test-lakes-")))
            atexit.register(shutil.rmtree, _folder[0], True)
        made = _folder[0] / str(len(_built))
        build(made)
        _built[key] = made
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_built[key], dest)
    return dest
