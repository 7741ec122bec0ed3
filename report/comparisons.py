"""Every ablation and baseline of a results table against the full Time-LLM at the same horizon.

Pure functions of the rows of ``docs/results/runs.csv`` and their copied run folders. A
comparison pairs runs by seed: the mean MSE difference (entry minus Time-LLM) over the matched
seeds with its Student-t interval (:func:`report.stats.paired_difference`), and per seed a
Diebold-Mariano test on the two runs' per-time-step test MSE (:func:`report.stats.diebold_mariano`,
from each run's ``window_losses.npz``). The wording follows :func:`report.stats.verdict`: an entry
is "better" or "worse" than Time-LLM only when the interval excludes zero.

Which Time-LLM: an ablation is compared with the full model of its own backbone depth and global
batch; a baseline (its own recipe, its own batch) with :func:`reference_cell`, the full-model
cell of that horizon with the most seeds (then the larger global batch, the paper's step, then the
setting with the most runs in the table: the campaign's main depth). The full model at another
depth or global batch is an entry of its own against that cell ("does a deeper LLM help?").
Rows of different global batches are never pooled.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from report.published import published_model_name
from report.results_table import read_window_losses, row_key
from report.stats import DMResult, Interval, diebold_mariano, paired_difference, per_step_losses, verdict

CELL = ("model", "ablation", "seq_len", "pred_len", "llm_model", "llm_layers", "global_batch")


@dataclass(frozen=True)
class Comparison:
    """One entry (an ablation or a baseline cell) against the full Time-LLM cell it is paired with."""

    entry: str                       # "Time-LLM no_llm", "DLinear", ...
    pred_len: int
    global_batch: int                # the entry's
    reference: str                   # the Time-LLM cell, in words
    seeds: tuple[int, ...]           # matched seeds
    difference: Interval             # MSE, entry minus Time-LLM, over the matched seeds
    relative: float                  # mean difference / Time-LLM's mean MSE on those seeds
    dm: tuple[tuple[int, DMResult | None], ...]  # per matched seed (None: no window losses kept)
    verdict: str                     # of the entry against Time-LLM
    ablation: str | None = None      # the entry's --ablation ("none": the full model); None: a baseline
    llm_layers: int | None = None    # the entry's backbone depth (Time-LLM entries)
    reference_layers: int | None = None  # the paired Time-LLM cell's


def entry_name(row: dict) -> str:
    if row["model"] != "TimeLLM":
        return published_model_name(row["model"], row["seq_len"])
    return "Time-LLM" if row["ablation"] == "none" else f"Time-LLM {row['ablation']}"


SETTING = ("llm_model", "llm_layers", "seq_len", "global_batch")  # a full-model setting: its cells span the horizons


def backbone(row: dict) -> str:
    if not row["llm_model"]:
        return "—"
    n = row["llm_layers"]
    return f"{row['llm_model']} × {n} layer{'' if n == 1 else 's'}"


def cells(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Rows grouped by everything but the seed (one cell of a table), in the rows' order."""
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in CELL), []).append(r)
    return out


def is_full(row: dict) -> bool:
    return row["model"] == "TimeLLM" and row["ablation"] == "none"


def reference_cell(rows: list[dict], pred_len: int) -> list[dict]:
    """The full Time-LLM cell a baseline is compared with at ``pred_len``: the most seeds, then the
    larger global batch, then the setting (:data:`SETTING`) with the most runs over all horizons,
    then the shallower backbone; [] when there is none."""
    full = [r for r in rows if is_full(r)]
    runs = Counter(tuple(r[k] for k in SETTING) for r in full)
    at = list(cells([r for r in full if r["pred_len"] == pred_len]).values())
    if not at:
        return []
    return max(at, key=lambda rs: (len(rs), rs[0]["global_batch"], runs[tuple(rs[0][k] for k in SETTING)],
                                   -int(rs[0]["llm_layers"] or 0)))


def _reference_for(rows: list[dict], entry: list[dict]) -> list[dict]:
    first = entry[0]
    if first["model"] == "TimeLLM" and not is_full(first):  # an ablation: the full model of its depth and batch
        return [r for r in rows if is_full(r) and all(r[k] == first[k] for k in CELL if k != "ablation")]
    return reference_cell(rows, first["pred_len"])


def _entries(rows: list[dict]) -> list[list[dict]]:
    """The cells compared with a full Time-LLM cell: the full model's other settings (each horizon's
    cells but its reference cell), then the ablations and baselines, each in the rows' order."""
    key = lambda r: tuple(r[k] for k in CELL)
    variants = [rs for rs in cells([r for r in rows if is_full(r)]).values()
                if [key(r) for r in reference_cell(rows, rs[0]["pred_len"])[:1]] != [key(rs[0])]]
    return variants + list(cells([r for r in rows if not is_full(r)]).values())


def _layers(row: dict) -> int | None:
    return int(row["llm_layers"]) if row["model"] == "TimeLLM" and row["llm_layers"] not in ("", None) else None


def _name(row: dict) -> str:
    """An entry's name: the full model's other settings name their backbone."""
    return f"Time-LLM, {backbone(row)}" if is_full(row) else entry_name(row)


def _per_step_mse(folder: Path | None) -> np.ndarray | None:
    """A copied run's test MSE per time step (channels averaged), or None without window losses."""
    if folder is None:
        return None
    losses = read_window_losses(folder)
    if losses is None:
        return None
    args = json.loads((folder / "metrics.json").read_text())["args"]
    channels = int(args["enc_in"]) if int(args.get("channel_independence", 0)) else 1
    return per_step_losses(losses["mse"], channels)


def _dm(entry: dict, ref: dict, folders: dict) -> DMResult | None:
    a, b = (_per_step_mse(folders.get(row_key(r))) for r in (entry, ref))
    if a is None or b is None or a.shape != b.shape or a.size <= int(entry["pred_len"]):
        return None
    return diebold_mariano(a, b, int(entry["pred_len"]))


def compare(rows: list[dict], folders: dict) -> list[Comparison]:
    """Every other full-model setting, ablation and baseline cell of ``rows`` (one table) against
    its Time-LLM cell (:func:`_entries`' order); cells without a full-model run to pair with at
    their horizon are left out."""
    out = []
    for entry in _entries(rows):
        ref = {r["seed"]: r for r in _reference_for(rows, entry)}
        pairs = [(r, ref[r["seed"]]) for r in sorted(entry, key=lambda r: r["seed"]) if r["seed"] in ref]
        if not pairs:
            continue
        diff = paired_difference([e["mse"] for e, _ in pairs], [f["mse"] for _, f in pairs])
        base = float(np.mean([f["mse"] for _, f in pairs]))
        f0 = pairs[0][1]
        out.append(Comparison(
            entry=_name(entry[0]), pred_len=int(entry[0]["pred_len"]),
            global_batch=int(entry[0]["global_batch"]),
            reference=f"Time-LLM, {backbone(f0)}, global batch {f0['global_batch']}",
            seeds=tuple(e["seed"] for e, _ in pairs), difference=diff, relative=diff.mean / base,
            dm=tuple((e["seed"], _dm(e, f, folders)) for e, f in pairs), verdict=verdict(diff),
            ablation=entry[0]["ablation"] if entry[0]["model"] == "TimeLLM" else None,
            llm_layers=_layers(entry[0]), reference_layers=_layers(f0)))
    return out
