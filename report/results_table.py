"""The project's reported results as data: ``docs/results/runs.csv``, ``docs/results/m4.csv`` and
the runs behind them.

    python -m report collect ~/runs/fewshot10 --table fewshot10   # add finished runs
    python -m report check                                        # every row traces to its run
    python -m report                                              # render docs/RESULTS.md

``collect`` takes every ``metrics.json`` under the given folders (``run_main.py --results_dir``
folders, at any depth). A long-term run (its metrics have ``mse``) becomes a row of ``runs.csv``;
an M4 run (its metrics have ``m4``) a row of ``m4.csv`` (sMAPE, MASE, OWA of its pattern). Each
run's headline figure is re-computed from its ``pred.npy``/``true.npy`` where they hold every test
sample (MSE/MAE; sMAPE for M4), and a run whose figures do not re-compute is refused. ``collect``
copies ``metrics.json`` and ``losses.csv`` (never the arrays) to
``docs/results/runs/<folder>/seed<seed>/``, with a long-term run's per-window test losses
(``window_losses.npz``: float32 ``mse`` and ``mae``, one per test sample, for paired tests later),
and writes one row per run (a rerun of the same table, setting and seed replaces its row). Every
write is atomic. ``check`` re-reads each row against its copied ``metrics.json``. The rendering
lives in ``report.render``.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from utils.checkpoint import atomic_write_text
from utils.errors import UserError
from utils.m4_summary import smape_per_series

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results"
COPIED = ("metrics.json", "losses.csv")
TOLERANCE = 1e-6  # relative: a re-computed figure must agree to float32 rounding
RERUN = "rerun the test with --is_training 0 or remove the run folder from the sources"


@dataclass(frozen=True)
class Kind:
    """One results file: its columns, how a run's ``metrics.json`` becomes a row, and where the
    run's copied files go. The first ``key_len`` columns identify a run."""

    csv: str
    columns: tuple[str, ...]
    ints: tuple[str, ...]
    floats: tuple[str, ...]
    key_len: int
    figures: tuple[str, ...]                                   # what ``check`` re-reads
    row: Callable[[dict, str, str | None], dict]              # (metrics.json, table, commit) -> row
    folder: Callable[[dict], str]                              # metrics.json -> <folder>/seed<seed>
    recompute: Callable[[Path, dict], dict[str, float] | None]
    kept: Callable[[Path, dict], dict[str, np.ndarray] | None]  # per-window arrays kept with the run
    order: Callable[[dict], tuple]
    summary: Callable[[dict], str]                             # a row in one line, for ``collect``


def has_backbone(data: dict) -> bool:
    """Whether the run had a language model (its metrics.json records the backbone's checksum)."""
    return (data.get("backbone_checksum") or {}).get("before") is not None


def _common(data: dict, commit: str | None) -> dict:
    """The columns every kind ends with."""
    return {"best_epoch": data.get("best_epoch") or "", "wall_s": round(float(data["wall_seconds"]), 1),
            "commit": data.get("commit") or commit or ""}


def global_batch(data: dict) -> int:
    """The windows averaged in one optimiser step: recorded by runs since ``--global_batch``,
    processes x per-process batch x accumulation for the runs before it."""
    a = data["args"]
    if a.get("global_batch"):
        return int(a["global_batch"])
    return int(a["batch_size"]) * int(a.get("grad_accum") or 1) * int(data.get("num_processes") or 1)


def run_row(data: dict, table: str, commit: str | None = None) -> dict:
    """The runs.csv row of one long-term run's metrics.json (``commit`` fills in for runs that lack one)."""
    a, m = data["args"], data["metrics"]
    llm = has_backbone(data)
    return {"table": table, "model": a["model"], "ablation": a.get("ablation") or "none",
            "data": a["data"], "features": a["features"], "percent": int(a.get("percent", 100)),
            "seq_len": int(a["seq_len"]), "pred_len": int(a["pred_len"]),
            "llm_model": a.get("llm_model") if llm else "", "llm_layers": int(a["llm_layers"]) if llm else "",
            "global_batch": global_batch(data), "seed": int(a["seed"]), "mse": float(m["mse"]), "mae": float(m["mae"]),
            "n_samples": int(m["n_samples"]), **_common(data, commit)}


def run_folder(data: dict) -> str:
    """Where a long-term run's files go under ``docs/results/runs/``: its setting and global batch
    (``_gb<G>``: the setting string does not name the batch), then its seed.

    An ablation's setting ends in ``_<ablation>``; runs made before the setting said so get the
    suffix here, so an ablation never shares the full model's folder.
    """
    setting, ablation = data["setting"], data["args"].get("ablation") or "none"
    if ablation != "none" and not setting.endswith(f"_{ablation}"):
        setting += f"_{ablation}"
    return f"{setting}_gb{global_batch(data)}/seed{int(data['args']['seed'])}"


def _arrays(folder: Path, data: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The run's saved forecasts and targets in float64; None when absent or truncated."""
    pred, true = folder / "pred.npy", folder / "true.npy"
    if not (pred.exists() and true.exists()):
        return None
    if int(data.get("saved_samples", -1)) != int(data["metrics"]["n_samples"]):
        return None
    arrays = _load_array(pred), _load_array(true)
    if arrays[0].shape != arrays[1].shape:
        raise UserError(f"{pred}: shape {arrays[0].shape} does not match true.npy's {arrays[1].shape}; {RERUN}")
    return arrays


def _load_array(path: Path) -> np.ndarray:
    """A saved forecast or target array in float64; refused in one line when it cannot be read."""
    try:
        return np.asarray(np.load(path), dtype=np.float64)
    except (OSError, ValueError, EOFError, TypeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else "truncated or not a .npy array"
        raise UserError(f"{path}: cannot be read ({why}); {RERUN}") from None


def recomputed(folder: Path, data: dict) -> dict[str, float] | None:
    """MSE and MAE re-computed from the run's saved arrays; None when they are absent or truncated."""
    arrays = _arrays(folder, data)
    if arrays is None:
        return None
    err = arrays[0] - arrays[1]
    return {"mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err)))}


def window_losses(folder: Path, data: dict) -> dict[str, np.ndarray] | None:
    """Each test window's MSE and MAE (float32, shape (n_samples,), in ``pred.npy``'s window
    order: their means are the run's MSE and MAE), from the run's saved arrays; None when they are
    absent or truncated. A channel-independent run's windows are channel-major (item ``i`` is
    channel ``i // T`` at time offset ``i % T``), a multivariate run's are ordered by time."""
    arrays = _arrays(folder, data)
    if arrays is None:
        return None
    err = arrays[0] - arrays[1]
    axes = tuple(range(1, err.ndim))
    return {"mse": np.mean(err ** 2, axis=axes).astype(np.float32),
            "mae": np.mean(np.abs(err), axis=axes).astype(np.float32)}


WINDOW_LOSSES = "window_losses.npz"


def write_window_losses(losses: dict[str, np.ndarray], path: Path) -> None:
    """``losses`` as an .npz at ``path``, written atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **losses)
    tmp.replace(path)


def read_window_losses(folder: Path) -> dict[str, np.ndarray] | None:
    """A copied run's per-window losses (``mse``, ``mae``), or None when it has none (runs
    collected before they were kept)."""
    path = folder / WINDOW_LOSSES
    if not path.exists():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _long_order(r: dict):
    return (r["table"], r["data"], r["model"] != "TimeLLM", r["model"], r["ablation"] != "none",
            r["ablation"], r["pred_len"], r["seq_len"], r["seed"])


LONG = Kind(csv="runs.csv",
            columns=("table", "model", "ablation", "data", "features", "percent", "seq_len", "pred_len",
                     "llm_model", "llm_layers", "global_batch", "seed", "mse", "mae", "n_samples",
                     "best_epoch", "wall_s", "commit"),
            ints=("percent", "seq_len", "pred_len", "llm_layers", "global_batch", "seed", "n_samples",
                  "best_epoch"),
            floats=("mse", "mae", "wall_s"), key_len=12,
            figures=("mse", "mae", "n_samples", "best_epoch", "wall_s"),
            row=run_row, folder=run_folder, recompute=recomputed, kept=window_losses, order=_long_order,
            summary=lambda r: f"{r['model']} {r['ablation']} H={r['pred_len']} global batch "
                              f"{r['global_batch']} seed {r['seed']}: "
                              f"mse {r['mse']:.4f} mae {r['mae']:.4f}")


def m4_row(data: dict, table: str, commit: str | None = None) -> dict:
    """The m4.csv row of one M4 run: the scores of its pattern, and the flags our M4 runs vary
    (the loss, gradient clipping, the epoch cap)."""
    a = data["args"]
    pattern = a["seasonal_patterns"]
    s = data["metrics"]["m4"][pattern]
    return {"table": table, "model": a["model"], "pattern": pattern, "loss": a.get("loss", "MSE"),
            "max_grad_norm": float(a.get("max_grad_norm") or 0.0), "train_epochs": int(a["train_epochs"]),
            "seed": int(a["seed"]), "smape": float(s["smape"]), "mase": float(s["mase"]),
            "owa": float(s["owa"]), "n_series": int(s["count"]), **_common(data, commit)}


def m4_folder(data: dict) -> str:
    """An M4 run's folder: its setting (which does not name the loss, clipping or epoch cap), those
    three flags, then its seed."""
    r = m4_row(data, "")
    return f"{data['setting']}_{r['loss']}_clip{r['max_grad_norm']:g}_ep{r['train_epochs']}/seed{r['seed']}"


def m4_recomputed(folder: Path, data: dict) -> dict[str, float] | None:
    """sMAPE of the run's pattern re-computed from its saved forecasts (MASE needs each series'
    history, which the run does not save)."""
    arrays = _arrays(folder, data)
    if arrays is None:
        return None
    pred, true = (a.reshape(a.shape[0], -1) for a in arrays)
    return {"smape": float(smape_per_series(pred, true).mean())}


M4 = Kind(csv="m4.csv",
          columns=("table", "model", "pattern", "loss", "max_grad_norm", "train_epochs", "seed",
                   "smape", "mase", "owa", "n_series", "best_epoch", "wall_s", "commit"),
          ints=("train_epochs", "seed", "n_series", "best_epoch"),
          floats=("max_grad_norm", "smape", "mase", "owa", "wall_s"), key_len=7,
          figures=("smape", "mase", "owa", "n_series", "best_epoch", "wall_s"),
          row=m4_row, folder=m4_folder, recompute=m4_recomputed, kept=lambda folder, data: None,
          order=lambda r: (r["table"], r["pattern"], r["model"], r["loss"], r["max_grad_norm"],
                           r["train_epochs"], r["seed"]),
          summary=lambda r: f"{r['model']} M4 {r['pattern']} ({r['loss']}, clip {r['max_grad_norm']:g}, "
                            f"{r['train_epochs']} epochs) seed {r['seed']}: smape {r['smape']:.3f} "
                            f"mase {r['mase']:.3f} owa {r['owa']:.3f}")

KINDS = (LONG, M4)
COLUMNS = LONG.columns  # runs.csv, as the first results issue named them


def kind_of(data: dict) -> Kind | None:
    """The results file a run's metrics.json belongs to: long-term (``mse``) or M4 (``m4``)."""
    metrics = data.get("metrics", {})
    return LONG if "mse" in metrics else M4 if "m4" in metrics else None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def verify_run(folder: Path, data: dict, kind: Kind = LONG) -> None:
    """Refuse a run whose saved forecasts do not give its reported figures."""
    again = kind.recompute(folder, data)
    if again is None:
        return
    reported = kind.row(data, "")
    for k, v in again.items():
        if not _close(v, reported[k]):
            raise UserError(f"{folder}: {k} re-computed from pred.npy/true.npy is {v:.7f}, "
                            f"metrics.json says {reported[k]:.7f}; not collected ({RERUN})")


def read_rows(path: Path = RESULTS / "runs.csv", kind: Kind = LONG) -> list[dict]:
    """The rows of a results file with numbers as numbers (empty cells stay '')."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != kind.columns:
            raise UserError(f"{path}: columns {reader.fieldnames} are not {list(kind.columns)}")
        for rec in reader:
            for k in kind.ints:
                rec[k] = int(rec[k]) if rec[k] != "" else ""
            for k in kind.floats:
                rec[k] = float(rec[k])
            rows.append(rec)
    return rows


def write_rows(rows: list[dict], path: Path, kind: Kind = LONG) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=kind.columns, lineterminator="\n")
    w.writeheader()
    w.writerows(sorted(rows, key=kind.order))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(buf.getvalue(), path)


def row_key(r: dict, kind: Kind = LONG) -> tuple:
    return tuple(r[k] for k in kind.columns[:kind.key_len])


def collect(sources: list[Path], table: str, dest: Path = RESULTS,
            commit: str | None = None) -> list[tuple[Kind, dict]]:
    """Copy every finished run under ``sources`` into ``dest`` and (re)write its row; returns
    each run's kind and row. Other tools' metrics.json are skipped (one line on stderr); an
    unreadable run refuses the whole call before anything is written."""
    found = []
    for src in sources:
        if not Path(src).is_dir():
            raise UserError(f"{src}: no such folder (give the --results_dir of finished runs)")
        found += sorted(Path(src).rglob("metrics.json"))
    found = [p for p in found if dest.resolve() not in p.resolve().parents]
    found = list({p.resolve(): p for p in reversed(found)}.values())[::-1]  # a run linked twice: once
    if not found:
        raise UserError(f"no metrics.json under {', '.join(map(str, sources))}")
    runs, skipped = [], []
    for path in found:
        data = _read_run(path)
        if data is None:
            skipped.append(path)
            continue
        kind = kind_of(data)
        _verify_record(path, data, kind, table, commit)
        runs.append((path, data, kind))
    if not runs:
        raise UserError(f"no runs of this framework under {', '.join(map(str, sources))}: {len(skipped)} "
                        f"metrics.json without setting, args and metrics with mse or m4 (first: {skipped[0]})")
    first: dict[tuple, Path] = {}
    for path, data, kind in runs:  # two runs of one row in one call: neither silently replaces the other
        key = (kind.csv, row_key(kind.row(data, table, commit), kind))
        if key in first:
            raise UserError(f"{first[key]} and {path} are runs of the same {kind.csv} row {key[1]} "
                            f"(they differ in something the row does not record, e.g. a learning rate "
                            f"being chosen); collect the one that belongs in the table by its folder")
        first[key] = path
    by_kind = {kind: ([(path, data) for path, data, k in runs if k is kind],
                      {row_key(r, kind): r for r in read_rows(dest / kind.csv, kind)}) for kind in KINDS}
    for kind, (mine, rows) in by_kind.items():  # refuse before anything of any kind is written
        for path, data in mine:
            clash = _held_by_another_row(kind, rows, dest / "runs" / kind.folder(data),
                                         row_key(kind.row(data, table, commit), kind))
            if clash:
                raise UserError(f"{path}: its folder under {dest / 'runs'} already holds another run, "
                                f"the one of {kind.csv} row {clash}; not collected (give that run another "
                                f"--des or seed, or drop its row first)")
    added = []
    for kind, (mine, rows) in by_kind.items():
        if not mine:
            continue
        for path, data in mine:
            row = kind.row(data, table, commit)
            key = row_key(row, kind)
            if not row["commit"] and key in rows:  # a re-collect keeps the commit given before
                row["commit"] = rows[key]["commit"]
            target = dest / "runs" / kind.folder(data)
            target.mkdir(parents=True, exist_ok=True)
            for name in COPIED:
                if (path.parent / name).exists():
                    atomic_write_text((path.parent / name).read_text(), target / name)
            kept = kind.kept(path.parent, data)
            if kept is not None:
                write_window_losses(kept, target / WINDOW_LOSSES)
            rows[key] = row
            added.append((kind, row))
        write_rows(list(rows.values()), dest / kind.csv, kind)
    if skipped:
        shown = ", ".join(map(str, skipped[:3])) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        print(f"skipped {len(skipped)} metrics.json that are not runs of this framework: {shown}", file=sys.stderr)
    return added


def _read_run(path: Path) -> dict | None:
    """A metrics.json's record when it is a run of this framework (``setting``, ``args`` and
    ``metrics`` with ``mse`` or ``m4``), None when it is another tool's; refused when unreadable."""
    try:
        data = json.loads(path.read_text())
    except ValueError:  # also UnicodeDecodeError
        raise UserError(f"{path}: not valid JSON (truncated?); {RERUN}") from None
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({e.strerror}); {RERUN}") from None
    if not (isinstance(data, dict) and "setting" in data and isinstance(data.get("args"), dict)
            and isinstance(data.get("metrics"), dict) and kind_of(data) is not None):
        return None
    return data


def _verify_record(path: Path, data: dict, kind: Kind, table: str, commit: str | None) -> None:
    """Refuse a run whose metrics.json lacks what its row and folder need, or whose saved forecasts
    do not give its figures (one line naming the file)."""
    try:
        kind.row(data, table, commit), kind.folder(data)
        verify_run(path.parent, data, kind)
    except (KeyError, TypeError, ValueError) as e:
        what = f"no {e.args[0]!r}" if isinstance(e, KeyError) else str(e).splitlines()[0]
        raise UserError(f"{path}: not a complete run record ({what}); {RERUN}") from None


def _held_by_another_row(kind: Kind, rows: dict[tuple, dict], target: Path, key: tuple) -> tuple | None:
    """The key of a row other than ``key`` whose run ``target`` holds now (copying a run there
    would overwrite that row's files), or None. A run's folder names its setting and seed, not
    every flag: a run cut short with ``--train_epochs`` has the full run's folder."""
    held = target / "metrics.json"
    if not held.exists():
        return None
    data = json.loads(held.read_text())
    for other, r in rows.items():
        if other != key and row_key(kind.row(data, r["table"]), kind) == other:
            return other
    return None


def run_folders(dest: Path = RESULTS, kind: Kind = LONG) -> dict[tuple, Path]:
    """``row_key -> folder`` of every copied run of ``kind`` (the folder holds metrics.json and losses.csv).

    A folder is keyed once per table of the kind's file (a run belongs to the table it was collected for).
    """
    tables = {r["table"] for r in read_rows(dest / kind.csv, kind)}
    index: dict[tuple, Path] = {}
    for p in sorted((dest / "runs").glob("*/seed*/metrics.json")):
        data = json.loads(p.read_text())
        if kind_of(data) is not kind:
            continue
        for table in tables:
            index[row_key(kind.row(data, table), kind)] = p.parent
    return index


def _window_problems(folder: Path, row: dict) -> list[str]:
    """A copied run's window losses against its row: one value per test sample, means equal to
    its MSE and MAE (float32 rounding)."""
    losses = read_window_losses(folder)
    if losses is None:
        return []
    out = []
    for k in ("mse", "mae"):
        values = losses.get(k)
        if values is None or values.shape != (row["n_samples"],):
            out.append(f"{folder / WINDOW_LOSSES}: {k} should hold {row['n_samples']} values "
                       f"(one per test sample), holds {None if values is None else values.shape}")
        elif not _close(float(np.mean(values, dtype=np.float64)), float(row[k])):
            out.append(f"{folder / WINDOW_LOSSES}: mean {k} {np.mean(values, dtype=np.float64):.7f}, "
                       f"the row says {row[k]:.7f}")
    return out


def check(dest: Path = RESULTS) -> list[str]:
    """Problems found: a row without its run's files, or whose figures differ from them."""
    problems = []
    used = set()
    for kind in KINDS:
        folders = run_folders(dest, kind)
        rows = read_rows(dest / kind.csv, kind)
        used |= {folders[row_key(r, kind)] for r in rows if row_key(r, kind) in folders}
        for r in rows:
            folder = folders.get(row_key(r, kind))
            if folder is None:
                problems.append(f"row {row_key(r, kind)}: no run folder under {dest / 'runs'} matches")
                continue
            again = kind.row(json.loads((folder / "metrics.json").read_text()), r["table"], r["commit"])
            for k in kind.figures:
                if str(again[k]) != str(r[k]) and not (k in kind.floats and _close(float(again[k]), float(r[k]))):
                    problems.append(f"{folder}: {k} {again[k]} in metrics.json, {r[k]} in {kind.csv}")
            problems += _window_problems(folder, r)
    for p in (dest / "runs").glob("*/seed*/metrics.json"):
        if p.parent not in used:
            problems.append(f"{p.parent}: no row in {(kind_of(json.loads(p.read_text())) or LONG).csv}")
    return problems
