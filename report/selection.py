"""A setting chosen on validation: of several finished runs that differ in one value (GPT4TS's
learning rate: One Fits All's few-shot script runs two and does not say which it reported), the
one whose best validation loss (``losses.csv``, the epoch early stopping kept) is lowest.

Only validation losses are read, never a test figure, so the choice does not peek at the test
split. A run that diverged (a NaN or infinite validation loss) loses to any finite one.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from utils.errors import UserError


def best_validation(run: str | Path) -> float:
    """The lowest validation loss of a finished run (a folder holding, at any depth, exactly one
    run's ``metrics.json`` and ``losses.csv``); NaN counts as +inf."""
    found = sorted(Path(run).glob("**/metrics.json"))
    if len(found) != 1:
        raise UserError(f"{run}: expected one finished run (metrics.json), found {len(found)}; "
                        f"finish the run first or name its own folder")
    losses = found[0].parent / "losses.csv"
    if not losses.is_file():
        raise UserError(f"{losses} not found: the run's per-epoch losses are needed to choose on validation")
    with losses.open() as f:
        values = [float(row["vali_loss"]) for row in csv.DictReader(f) if row.get("vali_loss")]
    if not values:
        raise UserError(f"{losses}: no validation loss recorded")
    return min((v if math.isfinite(v) else math.inf) for v in values)


def pick(candidates: dict[str, str | Path]) -> tuple[str, dict[str, float]]:
    """``(label of the lowest best validation loss, {label: its best validation loss})``; a tie goes
    to the first label given."""
    if not candidates:
        raise UserError("pick needs LABEL=RUN_FOLDER candidates")
    scores = {label: best_validation(folder) for label, folder in candidates.items()}
    return min(scores, key=lambda label: scores[label]), scores
