"""No module of the project reaches into the private parts of Airflow, cadwyn or warcio: their private names change
without notice between releases, and replacing their attributes changes behaviour for every other caller."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARDED = ("airflow", "cadwyn", "warcio")
FOLDERS = ("plugins", "dags", "tests", "bench")


def _guarded(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in GUARDED


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def private_uses(source: str) -> list[str]:
    """`import airflow._x`, `from airflow._x import y`, `from airflow.x import _y`, `airflow._x` attribute use,
    and assignments to attributes of a guarded module (monkeypatching)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if _guarded(name.name):
                    aliases[(name.asname or name.name).split(".")[0]] = name.name
                    if _private(name.name):
                        found.append(f"line {node.lineno}: import {name.name}")
        elif isinstance(node, ast.ImportFrom) and _guarded(node.module):
            if _private(node.module):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            for name in node.names:
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
                if _private(name.name):
                    found.append(f"line {node.lineno}: from {node.module} import {name.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                found.append(f"line {node.lineno}: {aliases[base.id]}...{node.attr}")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute):
                    base = target.value
                    while isinstance(base, ast.Attribute):
                        base = base.value
                    if isinstance(base, ast.Name) and base.id in aliases:
                        found.append(f"line {node.lineno}: assigns {aliases[base.id]}...{target.attr}")
    return found


@pytest.mark.parametrize("source, expected", [
    ("from airflow._shared.plugins import x", 1),
    ("from airflow.sdk.api.datamodels._generated import API_VERSION", 1),
    ("from cadwyn.route_generation import _DELETED_ROUTE_TAG", 1),
    ("import warcio\nwarcio.recordloader.ArcWarcRecordLoader._x = 1", 2),
    ("from airflow.api_fastapi.execution_api import versions\nversions.bundle = None", 1),
    ("from airflow.sdk import dag, task\nfrom warcio.archiveiterator import ArchiveIterator", 0),
    ("import os\nos._exit(0)", 0),
])
def test_detector_finds_what_it_should(source, expected):
    assert len(private_uses(source)) == expected, private_uses(source)


def test_no_private_names_of_dependencies():
    offenders = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.resolve() == Path(__file__).resolve():
                continue  # this file spells the forbidden patterns as test data
            found = private_uses(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_no_interpreter_tuning():
    banned = ("gc.freeze", "gc.set_threshold", "os._exit")
    # tests/support/crashing_worker.py leaves through os._exit on purpose: it plays a worker killed mid-task
    offenders = [
        f"{path.relative_to(ROOT)}: {word}"
        for folder in ("plugins", "dags", "bench") for path in (ROOT / folder).rglob("*.py")
        for word in banned if word in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
