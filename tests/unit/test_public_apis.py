"""newsflow uses trafilatura, htmldate and py3langid through their public APIs only: no module imports one of
their private (underscore) names or replaces one of their attributes, so a library upgrade cannot silently break it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("trafilatura", "htmldate", "py3langid")
CODE = sorted([*(ROOT / "plugins" / "newsflow").rglob("*.py"), *(ROOT / "bench").glob("*.py"),
               *(ROOT / "dags").rglob("*.py")])


def _library(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in LIBRARIES


def private_uses(source: str) -> list[str]:
    """Private names of LIBRARIES the code imports or reads, and attributes of theirs it assigns or deletes."""
    tree = ast.parse(source)
    found: list[str] = []
    aliases: set[str] = set()  # local names bound to a library module or one of its objects
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _library(alias.name):
                    if any(part.startswith("_") for part in alias.name.split(".")):
                        found.append(f"import {alias.name}")
                    aliases.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and _library(node.module):
            if any(part.startswith("_") for part in node.module.split(".")):
                found.append(f"from {node.module} import ...")
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"from {node.module} import {alias.name}")
                aliases.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append(f"{base.id}...{node.attr}")
        targets = []
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            base = target
            while isinstance(base, ast.Attribute | ast.Subscript):
                base = base.value
            if target is not base and isinstance(base, ast.Name) and base.id in aliases:
                found.append(f"assignment to {ast.unparse(target)}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr")
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in aliases):
            found.append(f"{node.func.id}({ast.unparse(node.args[0])}, ...)")
    return found


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_of_the_extraction_libraries(path):
    assert private_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("snippet", [
    "from trafilatura.metadata import _private",
    "from py3langid import _langid",
    "import htmldate._core",
    "from trafilatura import metadata as tm\nx = tm._helper(1)",
    "import trafilatura\ntrafilatura.settings.DEFAULT = 1",
    "from py3langid.langid import LanguageIdentifier\nLanguageIdentifier.classify = print",
    "import py3langid\nsetattr(py3langid, 'classify', print)",
])
def test_the_check_finds_private_uses(snippet):
    assert private_uses(snippet)


def test_the_check_lets_public_uses_through():
    assert private_uses("import trafilatura\nfrom htmldate import find_date\n"
                        "doc = trafilatura.bare_extraction('<p>x</p>', with_metadata=True)\nname = doc.__class__") == []
