"""The project's reported results as data: ``docs/results/runs.csv`` and the runs behind it.

    python -m report collect ~/runs/fewshot10 --table fewshot10   # add finished runs
    python -m report check                                        # every row traces to its run
    python -m report                                              # render docs/RESULTS.md

``collect`` takes every ``metrics.json`` under the given folders (``run_main.py --results_dir``
folders, at any depth), re-computes the test MSE/MAE from the run's ``pred.npy``/``true.npy``
where they hold every test sample (and refuses a run whose figures do not re-compute), copies
``metrics.json`` and ``losses.csv`` (never the arrays) to ``docs/results/runs/<setting>/seed<seed>/``
and writes one row per run into ``runs.csv`` (a rerun of the same table, setting and seed
replaces its row). Every write is atomic. ``check`` re-reads each row against its copied
``metrics.json``. The rendering lives in ``report.render``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from utils.checkpoint import atomic_write_text
from utils.errors import UserError

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results"
COLUMNS = ("table", "model", "ablation", "data", "features", "percent", "seq_len", "pred_len",
           "llm_model", "llm_layers", "seed", "mse", "mae", "n_samples", "best_epoch", "wall_s",
           "commit")
INT_COLUMNS = ("percent", "seq_len", "pred_len", "llm_layers", "seed", "n_samples", "best_epoch")
FLOAT_COLUMNS = ("mse", "mae", "wall_s")
COPIED = ("metrics.json", "losses.csv")
TOLERANCE = 1e-6  # relative: a re-computed figure must agree to float32 rounding


def has_backbone(data: dict) -> bool:
    """Whether the run had a language model (its metrics.json records the backbone's checksum)."""
    return (data.get("backbone_checksum") or {}).get("before") is not None


def run_row(data: dict, table: str, commit: str | None = None) -> dict:
    """The runs.csv row of one run's metrics.json (``commit`` fills in for runs that lack one)."""
    a, m = data["args"], data["metrics"]
    llm = has_backbone(data)
    return {"table": table, "model": a["model"], "ablation": a.get("ablation") or "none",
            "data": a["data"], "features": a["features"], "percent": int(a.get("percent", 100)),
            "seq_len": int(a["seq_len"]), "pred_len": int(a["pred_len"]),
            "llm_model": a.get("llm_model") if llm else "", "llm_layers": int(a["llm_layers"]) if llm else "",
            "seed": int(a["seed"]), "mse": float(m["mse"]), "mae": float(m["mae"]),
            "n_samples": int(m["n_samples"]), "best_epoch": data.get("best_epoch") or "",
            "wall_s": round(float(data["wall_seconds"]), 1),
            "commit": data.get("commit") or commit or ""}


def run_folder(data: dict) -> str:
    """Where a run's files go under ``docs/results/runs/``: its setting, then its seed.

    An ablation's setting ends in ``_<ablation>``; runs made before the setting said so get the
    suffix here, so an ablation never shares the full model's folder.
    """
    setting, ablation = data["setting"], data["args"].get("ablation") or "none"
    if ablation != "none" and not setting.endswith(f"_{ablation}"):
        setting += f"_{ablation}"
    return f"{setting}/seed{int(data['args']['seed'])}"


def recomputed(folder: Path, data: dict) -> dict[str, float] | None:
    """MSE and MAE re-computed from the run's saved arrays; None when they are absent or truncated."""
    pred, true = folder / "pred.npy", folder / "true.npy"
    if not (pred.exists() and true.exists()):
        return None
    if int(data.get("saved_samples", -1)) != int(data["metrics"]["n_samples"]):
        return None
    err = np.load(pred).astype(np.float64) - np.load(true).astype(np.float64)
    return {"mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err)))}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def verify_run(folder: Path, data: dict) -> None:
    """Refuse a run whose saved forecasts do not give its reported MSE/MAE."""
    again = recomputed(folder, data)
    if again is None:
        return
    for k, v in again.items():
        if not _close(v, float(data["metrics"][k])):
            raise UserError(f"{folder}: {k} re-computed from pred.npy/true.npy is {v:.7f}, "
                            f"metrics.json says {data['metrics'][k]:.7f}; not collected")


def read_rows(path: Path = RESULTS / "runs.csv") -> list[dict]:
    """The rows of runs.csv with numbers as numbers (empty cells stay '')."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise UserError(f"{path}: columns {reader.fieldnames} are not {list(COLUMNS)}")
        for rec in reader:
            for k in INT_COLUMNS:
                rec[k] = int(rec[k]) if rec[k] != "" else ""
            for k in FLOAT_COLUMNS:
                rec[k] = float(rec[k])
            rows.append(rec)
    return rows


def write_rows(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(sorted(rows, key=row_order))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(buf.getvalue(), path)


def row_order(r: dict):
    return (r["table"], r["data"], r["model"] != "TimeLLM", r["model"], r["ablation"] != "none",
            r["ablation"], r["pred_len"], r["seq_len"], r["seed"])


def row_key(r: dict) -> tuple:
    return tuple(r[k] for k in COLUMNS[:11])


def collect(sources: list[Path], table: str, dest: Path = RESULTS, commit: str | None = None) -> list[dict]:
    """Copy every finished run under ``sources`` into ``dest`` and (re)write its runs.csv row."""
    found = []
    for src in sources:
        if not Path(src).is_dir():
            raise UserError(f"{src}: no such folder (give the --results_dir of finished runs)")
        found += sorted(Path(src).rglob("metrics.json"))
    found = [p for p in found if dest.resolve() not in p.resolve().parents]
    if not found:
        raise UserError(f"no metrics.json under {', '.join(map(str, sources))}")
    rows = {row_key(r): r for r in read_rows(dest / "runs.csv")}
    added = []
    for path in found:
        data = json.loads(path.read_text())
        if "mse" not in data.get("metrics", {}):
            raise UserError(f"{path}: not a long-term forecasting run (no mse); runs.csv holds those only")
        verify_run(path.parent, data)
        row = run_row(data, table, commit)
        if not row["commit"] and row_key(row) in rows:  # a re-collect keeps the commit given before
            row["commit"] = rows[row_key(row)]["commit"]
        target = dest / "runs" / run_folder(data)
        target.mkdir(parents=True, exist_ok=True)
        for name in COPIED:
            if (path.parent / name).exists():
                atomic_write_text((path.parent / name).read_text(), target / name)
        rows[row_key(row)] = row
        added.append(row)
    write_rows(list(rows.values()), dest / "runs.csv")
    return added


def run_folders(dest: Path = RESULTS) -> dict[tuple, Path]:
    """``row_key -> folder`` of every copied run (the folder holds metrics.json and losses.csv).

    A folder is keyed once per table of runs.csv (a run belongs to the table it was collected for).
    """
    tables = {r["table"] for r in read_rows(dest / "runs.csv")}
    index: dict[tuple, Path] = {}
    for p in sorted((dest / "runs").glob("*/seed*/metrics.json")):
        data = json.loads(p.read_text())
        for table in tables:
            index[row_key(run_row(data, table))] = p.parent
    return index


def check(dest: Path = RESULTS) -> list[str]:
    """Problems found: a row without its run's files, or whose figures differ from them."""
    problems = []
    folders = run_folders(dest)
    rows = read_rows(dest / "runs.csv")
    used = {folders[row_key(r)] for r in rows if row_key(r) in folders}
    for r in rows:
        folder = folders.get(row_key(r))
        if folder is None:
            problems.append(f"row {row_key(r)}: no run folder under {dest / 'runs'} matches")
            continue
        again = run_row(json.loads((folder / "metrics.json").read_text()), r["table"], r["commit"])
        for k in ("mse", "mae", "n_samples", "best_epoch", "wall_s"):
            if str(again[k]) != str(r[k]) and not (k in FLOAT_COLUMNS and _close(float(again[k]), float(r[k]))):
                problems.append(f"{folder}: {k} {again[k]} in metrics.json, {r[k]} in runs.csv")
    for p in (dest / "runs").glob("*/seed*/metrics.json"):
        if p.parent not in used:
            problems.append(f"{p.parent}: no row in runs.csv")
    return problems
