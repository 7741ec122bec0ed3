"""Per-run results a researcher can use: metrics.json, forecasts, a plot, loss curves, a summary line.

Layout under ``--results_dir``::

    <setting>/metrics.json      every metric, sample count, wall time, parameters, full args
    <setting>/pred.npy true.npy test forecasts and targets (scaled), when not too large
    <setting>/pred_original.npy the same forecasts in the data's original units (long-term runs)
    <setting>/forecast.csv      ``--do_predict 1``: the pred_len steps after the file's last row
    <setting>/forecast_future.png  ``--do_predict 1``: the file's last seq_len rows and that forecast
    <setting>/forecast.png      a few test windows: input, truth, forecast
    <setting>/losses.csv        train / validation / test loss and lr per epoch
    <setting>/submission-<Pattern>.csv   M4 forecasts in the official layout
    result_long_term_forecast.txt / result_short_term_forecast.txt   one line appended per run

Nothing is overwritten unless ``--overwrite`` is given; every file is written atomically.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from utils.checkpoint import atomic_write_text
from utils.errors import UserError

MAX_SAVED_VALUES = 50_000_000  # pred.npy / true.npy beyond this many floats are truncated


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=30, check=True).stdout


def source_provenance(root: Path | None = None) -> dict | None:
    """The code a run starts from: ``{"commit": sha, "dirty": bool, "diff_sha256": str | None}``,
    or None outside a git checkout. ``dirty`` when tracked files differ from the commit or files
    git does not ignore are untracked; ``diff_sha256`` hashes ``git diff HEAD`` and the untracked
    files' names and contents, so two dirty runs with equal hashes ran the same code. Taken when
    the run starts (metrics.json's ``commit`` names the code that trained, not the code current
    when it ended)."""
    root = root or Path(__file__).resolve().parents[1]
    try:
        sha = _git(root, "rev-parse", "HEAD").decode().strip()
        diff = _git(root, "diff", "HEAD", "--binary", "--")
        untracked = sorted(_git(root, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0"))
    except (OSError, subprocess.SubprocessError):
        return None
    untracked = [name for name in untracked if name and (root / name.decode()).is_file()]
    if not diff and not untracked:
        return {"commit": sha, "dirty": False, "diff_sha256": None}
    h = hashlib.sha256(diff)
    for name in untracked:
        h.update(b"\0" + name + b"\0" + (root / name.decode()).read_bytes())
    return {"commit": sha, "dirty": True, "diff_sha256": h.hexdigest()}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else the platform's); "" when neither says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_info(device: str | torch.device = "cpu") -> dict:
    """Where a process runs, which sets a run's wall time and, through the thread count and the
    kernels, its last digits: ``{"cpu": model name, "cores": logical cores, "threads": torch's
    intra-op threads, "capability": the CPU kernels torch picked ("AVX512", "AVX2", ...),
    "torch": version, "device": "cpu" or the accelerator's name}``."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return {"cpu": cpu_model() or platform.machine(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
            "device": name}


def run_origin(device: str | torch.device = "cpu", root: Path | None = None) -> dict:
    """One provenance entry of metrics.json: the code a process starts from
    (:func:`source_provenance`; ``commit`` None outside a checkout) and the machine it runs on
    (``machine``: :func:`machine_info`)."""
    code = source_provenance(root) or {"commit": None, "dirty": False, "diff_sha256": None}
    return {**code, "machine": machine_info(device)}


def machine_label(provenance: dict | None) -> str:
    """A run's machines in a few words, for the results table: "2 threads, AVX512", with the
    other machines that resumed it after a slash; "—" for runs older than the record."""
    entries = [] if not provenance else [provenance.get("started") or {}, *provenance.get("resumed", [])]
    labels = []
    for m in (e.get("machine") for e in entries):
        if m:
            where = m["capability"] if m["device"] == "cpu" else m["device"]
            label = f"{m['threads']} thread{'' if m['threads'] == 1 else 's'}, {where}"
            if label not in labels:
                labels.append(label)
    return " / ".join(labels) or "—"


def commit_label(provenance: dict | None) -> str | None:
    """The one-string form of :func:`source_provenance` (runs.csv's ``commit``): ``sha`` or
    ``sha+dirty``; None outside a checkout."""
    if not provenance or not provenance.get("commit"):
        return None
    return provenance["commit"] + ("+dirty" if provenance["dirty"] else "")


def _atomic_npy(array: np.ndarray, path: Path) -> None:
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)


def _save_figure(fig, plt, path: Path) -> None:
    """Lay out ``fig``, write it to ``path`` atomically (temporary file + rename), close it."""
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)


def plot_forecasts(path: Path, title: str, result, n_windows: int = 4) -> None:
    """``path`` (PNG): ``n_windows`` test windows spread over the set, last channel: input (when
    kept), truth and forecast. Nothing is written without forecasts."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if result.pred is None or len(result.pred) == 0:
        return
    idx = np.linspace(0, len(result.pred) - 1, n_windows).astype(int)
    fig, axes = plt.subplots(n_windows, 1, figsize=(10, 2.4 * n_windows), squeeze=False)
    for ax, i in zip(axes[:, 0], idx):
        h = result.pred.shape[1]
        x = result.inputs[i, :, -1] if result.inputs is not None and i < len(result.inputs) else None
        off = 0
        if x is not None:
            ax.plot(np.arange(len(x)), x, color="0.5", lw=1, label="input")
            off = len(x)
        ax.plot(off + np.arange(h), result.true[i, :, -1], color="k", lw=1.2, label="truth")
        ax.plot(off + np.arange(h), result.pred[i, :, -1], color="tab:red", lw=1.2, label="forecast")
        ax.set_title(f"test window {i}", fontsize=9)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=8)
    _save_figure(fig, plt, path)


def plot_future(path: Path, title: str, history_dates, history: np.ndarray, table,
                columns: list[str], max_channels: int = 8) -> None:
    """``path`` (PNG): per forecast channel (the first ``max_channels``), the input rows
    ``history`` (L, C') at ``history_dates`` and the forecast ``table`` (``date`` + ``columns``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = columns[:max_channels]
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 2.2 * len(shown)), squeeze=False, sharex=True)
    for k, (ax, name) in enumerate(zip(axes[:, 0], shown)):
        ax.plot(history_dates, history[:, k], color="0.4", lw=1, label="history")
        ax.plot(table["date"], table[name], color="tab:red", lw=1.2, label="forecast")
        ax.set_ylabel(name, fontsize=8)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=8)
    fig.autofmt_xdate()
    _save_figure(fig, plt, path)


def plot_panel_future(path: Path, title: str, rows: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """``path`` (PNG): one panel per (series id, last input values, forecast) in ``rows``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 2.2 * len(rows)), squeeze=False)
    for ax, (name, history, forecast) in zip(axes[:, 0], rows):
        ax.plot(np.arange(len(history)), history, color="0.4", lw=1, label="history")
        ax.plot(len(history) + np.arange(len(forecast)), forecast, color="tab:red", lw=1.2, label="forecast")
        ax.set_title(str(name), fontsize=9)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=8)
    _save_figure(fig, plt, path)


class ResultWriter:
    """Writes one run's results folder (main process only); the task adds its own files
    (a plot, an M4 submission) and its summary line."""

    def __init__(self, cfg, task, setting: str, is_main: bool):
        self.cfg, self.task, self.setting, self.is_main = cfg, task, setting, is_main
        self.root = Path(cfg.results_dir)
        self.folder = self.root / setting

    def check_free(self) -> None:
        """Refuse to run when the results folder exists, unless ``--overwrite``."""
        if self.folder.exists() and (self.folder / "metrics.json").exists() and not self.cfg.overwrite:
            raise UserError(f"results already exist in {self.folder}; pass --overwrite to replace them "
                            "or change --model_id / --des")

    def write(self, result, info: dict, dataset) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        metrics = dict(result.metrics)
        info = dict(info)
        provenance = info.pop("provenance", None) or {"started": run_origin()}
        payload = {"metrics": metrics, **info, "args": self.cfg.as_dict(),
                   "commit": commit_label(provenance["started"]), "provenance": provenance,
                   "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        if result.pred is not None:
            saved = self._save_arrays(result.pred, result.true)
            payload["saved_samples"] = saved
            original = self.task.original_units(result.pred[:saved], dataset)
            if original is not None:
                _atomic_npy(original.astype(np.float32), self.folder / "pred_original.npy")
        atomic_write_text(json.dumps(_jsonable(payload), indent=2), self.folder / "metrics.json")
        self._write_losses(info.get("history") or [])
        if result.pred is not None:
            self.task.write_outputs(self.folder, self.setting, result, dataset)
        self._append_summary(metrics)

    def _save_arrays(self, pred: np.ndarray, true: np.ndarray) -> int:
        n = len(pred)
        per = int(np.prod(pred.shape[1:])) or 1
        keep = min(n, max(1, MAX_SAVED_VALUES // per))
        _atomic_npy(pred[:keep].astype(np.float32), self.folder / "pred.npy")
        _atomic_npy(np.asarray(true[:keep], dtype=np.float32), self.folder / "true.npy")
        return keep

    def _write_losses(self, history: list[dict]) -> None:
        if not history:
            return
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
        atomic_write_text(buf.getvalue(), self.folder / "losses.csv")

    def summary_line(self, metrics: dict) -> str:
        return self.task.summary_line(self.setting, metrics)

    def _append_summary(self, metrics: dict) -> None:
        with open(self.root / self.task.result_file, "a") as f:
            f.write(self.summary_line(metrics) + "\n")
