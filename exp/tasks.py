"""Task hooks: everything that differs between long-term and short-term (M4) forecasting.

The trainer in ``exp/exp_main.py`` owns the loop and never asks which task it runs; a task says
which flag values it fixes, how its data is read and checked, how a batch becomes
(forecast, target, loss keywords), how a split is evaluated, and which files and summary line
its results get. Register a new task in :data:`TASKS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from accelerate.utils import gather_object

from data_provider.data_factory import data_provider
from data_provider.datasets import m4_pattern
from data_provider.m4 import m4_lengths
from data_provider.m4_scoring import m4_scores
from exp.predict import (FutureInput, SeriesPanel, forecast_table, forecast_values, long_panel,
                         model_inputs, panel_inputs, panel_table, read_future_input, write_forecast,
                         write_panel_forecast)
from exp.progress import progress_bar
from exp.results import plot_forecasts
from models import model_attr
from utils.errors import ConfigError, unknown_name
from utils.losses import get_loss
from utils.m4_summary import smape_per_series, write_submission
from utils.metrics import metric


def decoder_input(batch_y: torch.Tensor, label_len: int, pred_len: int) -> torch.Tensor:
    """Start tokens then zeros: (B, label_len + pred_len, C) as in Time-Series-Library."""
    zeros = torch.zeros_like(batch_y[:, -pred_len:, :])
    return torch.cat([batch_y[:, :label_len, :], zeros], dim=1)


@dataclass
class Evaluation:
    """What an evaluation pass returns: a scalar loss for early stopping plus metrics/arrays."""

    loss: float
    metrics: dict[str, Any] = field(default_factory=dict)
    pred: np.ndarray | None = None
    true: np.ndarray | None = None
    inputs: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LongTermTask:
    """Sliding-window forecasting on ETT / custom CSVs; MSE (or MAE) loss; scaled metrics.

    ``cfg`` is the run's configuration (:class:`exp.config.RunConfig`, or any object with the
    same flag attributes).
    """

    name = "long_term_forecast"
    result_file = "result_long_term_forecast.txt"

    @staticmethod
    def settings(args) -> dict[str, Any]:
        """Flag values this task fixes, from the parsed flags (none); ConfigError if they clash."""
        return {}

    def __init__(self, cfg):
        self.cfg = cfg
        self.f_dim = -1 if cfg.features == "MS" else 0
        self.criterion = get_loss(cfg.loss)

    # ------------------------------------------------------------------ data
    def loaders(self, flags) -> dict[str, tuple]:
        """flag -> (dataset, loader) for each split in ``flags``, each dataset checked."""
        out = {}
        for flag in flags:
            dataset, loader = data_provider(self.cfg, flag)
            self.check_data(dataset)
            out[flag] = (dataset, loader)
        return out

    def check_data(self, dataset) -> None:
        """``--enc_in`` must be the number of channels the run reads (1 for features S)."""
        n, cfg = dataset.n_channels, self.cfg
        if cfg.enc_in != n:
            raise ConfigError(f"--enc_in {cfg.enc_in}, but {dataset.data_name} has {n} "
                              f"channel{'' if n == 1 else 's'} with --features {cfg.features}; "
                              f"pass --enc_in {n} (and --dec_in/--c_out to match)")

    def eval_loader(self, accelerator, loader):
        """The loader an evaluation pass reads: sharded over the processes by Accelerate."""
        return accelerator.prepare(loader)

    # ------------------------------------------------------------------ batches
    def forward(self, model, batch, device) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """One batch -> (forecast (B, H, C'), target (B, H, C'), keywords of the loss)."""
        c = self.cfg
        batch_x, batch_y, x_mark, y_mark = (t.float().to(device) for t in batch)
        dec_inp = decoder_input(batch_y, c.label_len, c.pred_len)
        out = model(batch_x, x_mark, dec_inp, y_mark)
        out = out[:, -c.pred_len:, self.f_dim:]
        true = batch_y[:, -c.pred_len:, self.f_dim:]
        return out, true, {}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, model, accelerator, flag: str, dataset, loader, full: bool) -> Evaluation:
        """Score split ``flag``: the loss, and with ``full`` the metrics and arrays too."""
        return evaluate_long_term(self, model, loader, dataset, accelerator, self.criterion, full,
                                  desc=flag)

    # ------------------------------------------------------------------ results
    def write_outputs(self, folder: Path, setting: str, result: Evaluation, dataset) -> None:
        """Files beside metrics.json: a plot of a few test windows."""
        plot_forecasts(folder / "forecast.png", setting, result)

    def original_units(self, pred: np.ndarray, dataset) -> np.ndarray | None:
        """Test forecasts (n, H, C') in the data's original units (pred_original.npy), float64."""
        channel = _sample_channels(dataset, pred)
        if channel is None:
            return dataset.inverse_transform(pred)
        return dataset.inverse_transform(pred, channel=channel)

    def data_columns(self, dataset) -> list[str] | None:
        """The channels' names as in the file, recorded in checkpoints and metrics.json."""
        return list(dataset.columns)

    # ------------------------------------------------------------------ forecast past the data
    def future_input(self, dataset, table: pd.DataFrame | None = None) -> FutureInput:
        """What ``--do_predict`` starts from: the file's last seq_len rows and the future dates;
        with ``table`` (a DataFrame in the file's layout, the Python API's ``predict(df)``), its
        last rows instead."""
        c = self.cfg
        source = dataset.path if table is None else "the table given to predict()"
        return read_future_input(source, dataset.columns, c.features, c.target, c.seq_len,
                                 c.pred_len, c.freq, dataset.data_name, table=table,
                                 date_unit=c.date_unit)

    def forecast_future(self, model, accelerator, dataset, future: FutureInput) -> pd.DataFrame:
        """The forecast after the file's last row in original units: forecast.csv's table."""
        c = self.cfg
        ci = dataset.channel_independence
        tensors = model_inputs(future, dataset.scaler, c.label_len, dataset.timeenc, dataset.freq,
                               dataset.minute_step, c.features, ci)
        out = self.forecast_tensors(model, accelerator, tensors)
        values = forecast_values(out, future, dataset.inverse_transform, c.features, ci)
        return forecast_table(future, values)

    def forecast_tensors(self, model, accelerator, tensors) -> np.ndarray:
        """The model on the four input tensors, in evaluation batches: (B, pred_len, C') float32."""
        c = self.cfg
        model.eval()
        outs = []
        with torch.no_grad():
            for s in range(0, len(tensors[0]), c.eval_batch_size):
                out = model(*(t[s:s + c.eval_batch_size].to(accelerator.device) for t in tensors))
                outs.append(out[:, -c.pred_len:, self.f_dim:].float().cpu().numpy())
        return np.concatenate(outs)

    def write_future(self, folder: Path, setting: str, future: FutureInput, table: pd.DataFrame) -> None:
        """forecast.csv and forecast_future.png."""
        write_forecast(folder, setting, future, table)

    def summary_line(self, setting: str, metrics: dict) -> str:
        return (f"{setting}: mse {metrics['mse']:.4f} mae {metrics['mae']:.4f} "
                f"(original scale mse {metrics['mse_original']:.4f} mae {metrics['mae_original']:.4f}, "
                f"{metrics['n_samples']} test samples)")


class ShortTermTask(LongTermTask):
    """M4: random training windows with masks, sMAPE loss, sMAPE/MASE/OWA on the last window."""

    name = "short_term_forecast"
    result_file = "result_short_term_forecast.txt"

    @staticmethod
    def settings(args) -> dict[str, Any]:
        """The pattern fixes the window: (seq_len, label_len, pred_len) = (2H, H, H)."""
        seq_len, label_len, pred_len = m4_lengths(args.seasonal_patterns)
        if args.data != "m4":
            raise ConfigError(f"--task_name short_term_forecast needs --data m4, got '{args.data}'")
        return {"seq_len": seq_len, "label_len": label_len, "pred_len": pred_len}

    def __init__(self, cfg):
        super().__init__(cfg)
        self.seasonality = m4_pattern(cfg.seasonal_patterns).seasonality
        self.full_history = bool(model_attr(cfg.model, "full_history", False))

    def check_data(self, dataset) -> None:
        """Every M4 series is one channel: nothing to check against the flags."""

    def eval_loader(self, accelerator, loader):
        """Unused: M4 evaluation forecasts each series' last window (:func:`m4_forecast`)."""
        return loader

    def forward(self, model, batch, device):
        c = self.cfg
        batch_x, batch_y, x_mask, y_mask = (t.float().to(device) for t in batch)
        dec_inp = decoder_input(batch_y, c.label_len, c.pred_len)
        out = model(batch_x, None, dec_inp, None)[:, -c.pred_len:, self.f_dim:]
        true = batch_y[:, -c.pred_len:, self.f_dim:]
        mask = y_mask[:, -c.pred_len:, self.f_dim:]
        return out, true, {"insample": batch_x, "mask": mask, "freq": self.seasonality}

    def evaluate(self, model, accelerator, flag: str, dataset, loader, full: bool) -> Evaluation:
        return evaluate_m4(self, model, dataset, accelerator, full, full_history=self.full_history,
                           naive2=dataset.naive2, desc=flag)

    def write_outputs(self, folder: Path, setting: str, result: Evaluation, dataset) -> None:
        """The forecasts in the official M4 layout, ``submission-<Pattern>.csv``."""
        write_submission(folder / f"submission-{self.cfg.seasonal_patterns}.csv", list(dataset.ids),
                         result.pred)

    def original_units(self, pred: np.ndarray, dataset) -> np.ndarray | None:
        """M4 is not scaled: pred.npy is already in original units."""
        return None

    def data_columns(self, dataset) -> list[str] | None:
        """M4 series are not named columns."""
        return None

    def future_input(self, dataset, table: pd.DataFrame | None = None) -> SeriesPanel:
        """Every series with its test values appended: the forecast follows its last value."""
        if table is not None:
            raise ConfigError("predict(df) takes a table only for long-term forecasting; M4 runs "
                              "forecast every series of their files (call predict() without a table)")
        series = [np.concatenate([h, t]) for h, t in zip(dataset.history, dataset.targets)]
        return SeriesPanel(list(dataset.ids), series, self.cfg.seq_len)

    def forecast_future(self, model, accelerator, dataset, future: SeriesPanel) -> pd.DataFrame:
        """One forecast per series after its last value: (unique_id, step, y_hat) rows."""
        pred = m4_forecast(model, future, accelerator, self.cfg, self.full_history, desc="forecast")
        return panel_table(future, pred)

    def write_future(self, folder: Path, setting: str, future: SeriesPanel, table: pd.DataFrame) -> None:
        write_panel_forecast(folder, setting, future, table)

    def summary_line(self, setting: str, metrics: dict) -> str:
        p = self.cfg.seasonal_patterns
        s = metrics["m4"].get(p, {})
        return (f"{setting}: {p} smape {s.get('smape', float('nan')):.3f} "
                f"mase {s.get('mase', float('nan')):.3f} owa {s.get('owa', float('nan')):.3f}")


class LongTableTask(LongTermTask):
    """Long-term forecasting on a long table (``--data long``): the same windows, loss and metrics
    (averaged over every window of every series); the forecast past the data is one per series,
    after its own last date, in a long ``unique_id, ds, y_hat`` table."""

    def future_input(self, dataset, table: pd.DataFrame | None = None) -> SeriesPanel:
        """Every series' last seq_len rows and its own future dates."""
        if table is not None:
            raise ConfigError("predict(df) takes a table only for a wide file; a --data long run "
                              "forecasts every series of its file (call predict() without a table)")
        c = self.cfg
        return long_panel(dataset.table, c.seq_len, c.pred_len, c.freq)

    def forecast_future(self, model, accelerator, dataset, future: SeriesPanel) -> pd.DataFrame:
        """Each series forecast with its own scaler, back in its original units."""
        tensors = panel_inputs(future, dataset.scaler, self.cfg.label_len, dataset.timeenc,
                               dataset.freq, dataset.minute_step)
        out = self.forecast_tensors(model, accelerator, tensors)[:, :, 0]  # (S, H)
        return panel_table(future, dataset.inverse_transform(out, channel=np.arange(len(out))))

    def write_future(self, folder: Path, setting: str, future: SeriesPanel, table: pd.DataFrame) -> None:
        write_panel_forecast(folder, setting, future, table)


TASKS = {t.name: t for t in (LongTermTask, ShortTermTask)}
# (task name, --data) -> the task's variant for that data
DATA_TASKS: dict[tuple[str, str], type[LongTermTask]] = {
    (LongTermTask.name, "long"): LongTableTask,
}


def task_class(name: str) -> type[LongTermTask]:
    """The task registered as ``--task_name name`` (ConfigError listing valid names if unknown)."""
    if name not in TASKS:
        raise unknown_name("task_name", name, TASKS)
    return TASKS[name]


def get_task(cfg) -> LongTermTask:
    """The task object of ``cfg.task_name`` (its variant for ``cfg.data`` in :data:`DATA_TASKS`)."""
    return DATA_TASKS.get((cfg.task_name, cfg.data), task_class(cfg.task_name))(cfg)


# --------------------------------------------------------------------------- evaluation


def _gather_arrays(accelerator, out: torch.Tensor, true: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    out, true = accelerator.gather_for_metrics((out.contiguous(), true.contiguous()))
    return out.float().cpu().numpy(), true.float().cpu().numpy()


def _sample_channels(dataset, pred: np.ndarray) -> np.ndarray | int | None:
    """Which channels ``pred`` (n, H, C') holds: None (all C), an int array (n,) of one channel
    per sample (``dataset.sample_channels``: in the channel-independent view sample i is channel
    ``i // tot_len``, in a long table the series of window i; the test loader keeps the dataset's
    order), or the target's index (MS in the multivariate view: it is last)."""
    n_ch = len(dataset.scaler.scale_)
    n, _, c = pred.shape
    if c == n_ch:
        return None
    per_sample = dataset.sample_channels(n) if c == 1 else None
    return per_sample if per_sample is not None else n_ch - 1


def _channel_scales(dataset, pred: np.ndarray) -> np.ndarray:
    """Scaler standard deviations broadcastable to ``pred`` (n, H, C'), for original-scale metrics:
    one per channel (multivariate view) or one per sample (channel-independent view)."""
    scale = np.asarray(dataset.scaler.scale_, dtype=np.float64)
    channel = _sample_channels(dataset, pred)
    if channel is None:
        return scale[None, None, :]
    if isinstance(channel, np.ndarray):
        return scale[channel][:, None, None]
    return scale[-pred.shape[-1]:][None, None, :]  # MS in the multivariate view: the target is last


def evaluate_long_term(task: LongTermTask, model, loader, dataset, accelerator, criterion,
                       full: bool, desc: str = "eval") -> Evaluation:
    """Forecast a whole split; loss over every sample; with ``full`` also metrics and arrays."""
    model.eval()
    preds, trues, inputs = [], [], []
    bar = progress_bar(accelerator, desc, total=len(dataset), unit="win")
    with torch.no_grad(), bar:
        for batch in loader:
            out, true, _ = task.forward(model, batch, accelerator.device)
            p, t = _gather_arrays(accelerator, out, true)
            preds.append(p)
            trues.append(t)
            bar.update(min(len(p), bar.total - bar.n))
            if full and len(inputs) < 4:
                x = accelerator.gather_for_metrics(batch[0].contiguous().to(accelerator.device))
                inputs.append(x.float().cpu().numpy())
    pred, true = np.concatenate(preds), np.concatenate(trues)
    loss = float(criterion(torch.from_numpy(pred), torch.from_numpy(true)))
    if not full:
        return Evaluation(loss=loss)
    metrics = {k.lower(): float(v) for k, v in metric(pred, true).items()}
    scale = _channel_scales(dataset, pred)
    err = (pred.astype(np.float64) - true) * scale
    metrics["mse_original"] = float(np.mean(err ** 2))
    metrics["mae_original"] = float(np.mean(np.abs(err)))
    metrics["n_samples"] = int(len(pred))
    return Evaluation(loss=loss, metrics=metrics, pred=pred, true=true,
                      inputs=np.concatenate(inputs) if inputs else None)


def m4_forecast(model, dataset, accelerator, cfg, full_history: bool,
                desc: str = "eval") -> np.ndarray:
    """Forecast every series' last window: (S, H), sharded over processes and gathered.

    Statistical models (``full_history``) see float64 histories: their forecasts must equal
    the official submissions to the file's printed precision.
    """
    x, mask = dataset.full_history_window() if full_history else dataset.last_insample_window()
    dtype = torch.float64 if full_history else torch.float32
    x = torch.as_tensor(np.asarray(x), dtype=dtype).unsqueeze(-1)
    mask = torch.as_tensor(np.asarray(mask), dtype=dtype).unsqueeze(-1)
    idx = list(range(len(x)))
    chunks: list[tuple[int, np.ndarray]] = []
    model.eval()
    bar = progress_bar(accelerator, desc, total=len(idx), unit="series")
    with torch.no_grad(), accelerator.split_between_processes(idx) as mine, bar:
        bs = cfg.eval_batch_size
        for s in range(0, len(mine), bs):
            bar.update(min(len(mine[s:s + bs]) * accelerator.num_processes, bar.total - bar.n))
            ids = mine[s:s + bs]
            xb = x[ids].to(accelerator.device)
            dec = torch.cat([xb[:, -cfg.label_len:, :],
                             torch.zeros(len(ids), cfg.pred_len, 1, device=xb.device, dtype=dtype)], dim=1)
            mark = mask[ids].to(accelerator.device) if full_history else None
            out = model(xb, mark, dec, None)[:, -cfg.pred_len:, 0]
            chunks.append((ids[0], out.cpu().numpy().astype(np.float64)))
    chunks = gather_object(chunks) if accelerator.num_processes > 1 else chunks
    chunks.sort(key=lambda c: c[0])
    return np.concatenate([c[1] for c in chunks])


def evaluate_m4(task: ShortTermTask, model, dataset, accelerator, full: bool,
                full_history: bool = False, naive2: np.ndarray | None = None,
                desc: str = "eval") -> Evaluation:
    """Score the last-window forecasts of one M4 pattern: sMAPE (the loss), and with ``full``
    MASE and OWA too (OWA needs Naive2's forecasts of every series, seconds of work that the
    per-epoch validation, which reads the loss only, does not pay)."""
    cfg = task.cfg
    pred = m4_forecast(model, dataset, accelerator, cfg, full_history, desc)
    true = np.asarray(dataset.targets, dtype=np.float64)
    if not full:  # the pattern's sMAPE, as m4_scores aggregates it: the mean over its series
        return Evaluation(loss=float(smape_per_series(pred, true).mean()))
    p = cfg.seasonal_patterns
    scores = m4_scores({p: pred}, {p: true}, {p: dataset.history},
                       {p: naive2} if naive2 is not None else None)
    return Evaluation(loss=float(scores[p]["smape"]), metrics={"m4": scores, "n_samples": int(len(pred))},
                      pred=pred, true=true)
