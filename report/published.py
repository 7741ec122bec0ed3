"""Published figures (``docs/published.csv``) and the paper configurations our runs are compared with.

Pure functions and tables: no file is read at import time.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

PUBLISHED_CSV = Path(__file__).resolve().parents[1] / "docs" / "published.csv"

STANDARD_HORIZONS = (96, 192, 336, 720)
ILI_HORIZONS = (24, 36, 48, 60)
M4_GROUP_ORDER = ("Yearly", "Quarterly", "Monthly", "Others", "Average")


def horizons_of(dataset: str) -> tuple[int, ...]:
    """The benchmark's four prediction lengths for a dataset (ILI is weekly: 24 ... 60)."""
    return ILI_HORIZONS if dataset == "ILI" else STANDARD_HORIZONS


@dataclass(frozen=True)
class Published:
    """One published figure: MSE/MAE (long-term tasks) or sMAPE/MASE/OWA (M4), with its source."""

    task: str          # long_term | few_shot | zero_shot | m4
    model: str         # TimeLLM, DLinear, PatchTST/42, ...
    dataset: str       # ETTh1, ..., "ETTh1->ETTh2" for zero-shot, "m4"
    percent: int
    horizon: str       # "96", "avg", or an M4 group
    values: dict[str, float]
    source: str


def load_published(path: str | Path | None = None) -> list[Published]:
    """Read the published-figures CSV (lines starting with ``#`` are comments)."""
    path = Path(path) if path is not None else PUBLISHED_CSV
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    rows = []
    for rec in csv.DictReader(lines):
        values = {k: float(rec[k]) for k in ("mse", "mae", "smape", "mase", "owa") if rec.get(k, "").strip()}
        rows.append(Published(rec["task"], rec["model"], rec["dataset"], int(rec["percent"] or 100),
                              rec["horizon"].strip(), values, rec["source"].strip()))
    return rows


def lookup(rows: list[Published], task: str, model: str, dataset: str, percent: int = 100,
           horizon: str | int | None = None) -> list[Published]:
    """Published rows matching the keys (every horizon when ``horizon`` is None)."""
    return [r for r in rows if r.task == task and r.model == model and r.dataset == dataset
            and r.percent == percent and (horizon is None or r.horizon == str(horizon))]


def published_model_name(model: str, seq_len: int | None) -> str:
    """The name a run's model has in the published tables (PatchTST/42 for L=336, /64 for L=512)."""
    if model == "PatchTST":
        return {336: "PatchTST/42", 512: "PatchTST/64"}.get(seq_len or 0, "PatchTST")
    return model


# ----------------------------------------------------------------------------- paper configurations
# What the published figures were produced with (scripts/recipes.sh gives the sources:
# the authors' scripts and docs/REFERENCE.md section 4). Processes: the paper ran 8 GPUs.

PAPER_PROCESSES = 8

_TIMELLM_COMMON = dict(llm_model="LLAMA", llm_layers=32, features="M", num_tokens=1000, n_heads=8,
                       patch_len=16, stride=8, seq_len=512)


def _timellm_long_term(dataset: str, h: int) -> dict | None:
    base = dict(_TIMELLM_COMMON, d_model=32, d_ff=128, batch_size=24, learning_rate=0.01, lradj="type1",
                train_epochs=10)
    if dataset == "ETTh1":
        base.update(train_epochs=100, **{192: dict(learning_rate=0.02),
                                         336: dict(learning_rate=0.001, lradj="COS")}.get(h, {}))
    elif dataset == "ETTh2":
        base.update({192: dict(learning_rate=0.002, lradj="TST"), 336: dict(learning_rate=0.005, lradj="TST"),
                     720: dict(d_model=16, learning_rate=0.005, lradj="TST", train_epochs=20)}.get(h, {}))
    elif dataset == "ETTm1":
        base.update(train_epochs=100, learning_rate=0.001, lradj="TST")
    elif dataset == "ETTm2":
        base.update(dict(batch_size=16) if h == 96 else dict(learning_rate=0.002, lradj="TST"))
    elif dataset == "Weather":
        base.update(d_ff=32 if h in (96, 192) else 128, train_epochs=15 if h == 720 else 10)
    elif dataset in ("ECL", "Traffic"):
        base.update(d_model=16, d_ff=32, batch_size=1 if (dataset == "Traffic" and h == 336) else 24)
    elif dataset == "ILI":  # no published script: only the settings common to every Time-LLM run
        return {k: v for k, v in _TIMELLM_COMMON.items() if k != "seq_len"}
    else:
        return None
    return base


def paper_config(kind: str, model: str, dataset: str, pred_len: int | None, seq_len: int | None = None,
                 percent: int = 100) -> dict | None:
    """Settings of the published run a run of ours is compared with (None when unknown).

    ``kind`` is long_term | few_shot | zero_shot | m4; for zero-shot ``dataset`` is the source.
    """
    if model == "TimeLLM":
        if kind == "m4":
            return dict(_TIMELLM_COMMON, seq_len=None, d_model=8, d_ff=32, patch_len=1, stride=1,
                        batch_size=24, learning_rate=0.001, lradj="type1", train_epochs=50, loss="SMAPE")
        cfg = _timellm_long_term(dataset, pred_len or 0)
        if cfg is None:
            return None
        if kind == "zero_shot":
            cfg = dict(cfg, train_epochs=5)
        return dict(cfg, percent=percent if kind == "few_shot" else 100)
    if kind != "long_term":
        return None
    if model == "DLinear":
        return dict(features="M", seq_len=104 if dataset == "ILI" else 336, batch_size=8,
                    learning_rate=1e-4, train_epochs=10, percent=100)
    if model == "PatchTST":
        return dict(features="M", seq_len=seq_len if seq_len in (336, 512) else 336, percent=100)
    if model in ("Autoformer", "Informer"):
        return dict(features="M", seq_len=36 if dataset == "ILI" else 96, label_len=18 if dataset == "ILI" else 48,
                    percent=100)
    return None


def config_differences(args: dict, num_processes: int, paper: dict) -> dict[str, tuple]:
    """``{setting: (ours, paper)}`` for every compared setting that differs.

    The batch is compared globally (per-process batch x accumulation x processes against the
    paper's x 8).
    """
    diffs: dict[str, tuple] = {}
    for key, want in paper.items():
        if want is None:
            continue
        if key == "batch_size":
            ours = int(args.get("batch_size", 0)) * int(args.get("grad_accum") or 1) * int(num_processes or 1)
            want = want * PAPER_PROCESSES
            if ours != want:
                diffs["global batch"] = (ours, want)
            continue
        have = args.get(key)
        if isinstance(want, float) and isinstance(have, (int, float)):
            if abs(float(have) - want) > 1e-12 * max(1.0, abs(want)):
                diffs[key] = (have, want)
        elif have != want:
            diffs[key] = (have, want)
    return diffs
