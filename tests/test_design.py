"""docs/DESIGN.md names every module of the project, and nothing that does not exist.

The layout table's first column holds one or more paths in backticks: a file (``utils/errors.py``,
``scripts/threads.sh``) or a package folder ending in ``/`` (``layers/fast/``), which also names
that package's ``__init__.py``. Every ``.py`` of the project (outside ``tests/`` and the folders
that hold data, run outputs or tooling, see ``tests.helpers.project.SKIPPED``) must be named;
every named path must exist. The failure message lists every module missing from the table and
every stale row.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.project import ROOT, project_files

DESIGN = ROOT / "docs" / "DESIGN.md"


def layout_paths(text: str) -> list[str]:
    """The backticked paths in the first column of the table under ``## Layout``."""
    section = text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    paths = []
    for line in section.splitlines():
        cells = line.replace("\\|", "").split("|")  # an escaped pipe is not a cell border
        if len(cells) < 3 or set(cells[1].strip()) <= set("-: "):
            continue
        paths += re.findall(r"`([^`]+)`", cells[1])
    return paths


def named(rel: Path, paths: set[str]) -> bool:
    """Whether the table names ``rel``: its own path, or its package folder for an ``__init__.py``."""
    if rel.as_posix() in paths:
        return True
    return rel.name == "__init__.py" and f"{rel.parent.as_posix()}/" in paths


def test_layout_table_names_every_module_and_only_existing_ones():
    listed = layout_paths(DESIGN.read_text())
    paths = set(listed)
    missing = [rel.as_posix() for rel in project_files() if not named(rel, paths)]
    stale = [p for p in listed if not (ROOT / p).exists()]
    repeated = sorted({p for p in listed if listed.count(p) > 1})
    problems = ([f"not in docs/DESIGN.md's layout table: {m}" for m in missing]
                + [f"named in docs/DESIGN.md but absent: {s}" for s in stale]
                + [f"named more than once in docs/DESIGN.md: {r}" for r in repeated])
    if problems:
        pytest.fail(f"{len(problems)} problem(s):\n" + "\n".join(problems), pytrace=False)


def test_design_cites_the_reference_in_the_repository():
    text = DESIGN.read_text()
    assert "docs/REFERENCE.md" in "\n".join(text.splitlines()[:5])
    assert "../shared" not in text  # users have only the repository
    assert (ROOT / "docs" / "REFERENCE.md").is_file()
