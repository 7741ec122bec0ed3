"""The repository root and the project's Python files."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Top-level folders that are not project code: tests, data, run outputs, the checkout's neighbours.
SKIPPED = {"tests", "dataset", "checkpoints", "results", "shared"}


def project_files(root: Path = ROOT, include_tests: bool = False) -> list[Path]:
    """Every ``.py`` of the project, relative to ``root``, sorted (hidden folders and caches skipped)."""
    skipped = SKIPPED - ({"tests"} if include_tests else set())
    out = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        folders = rel.parts[:-1]
        if any(p.startswith(".") or p == "__pycache__" for p in folders):
            continue
        if folders and folders[0] in skipped:
            continue
        out.append(rel)
    return sorted(out)
