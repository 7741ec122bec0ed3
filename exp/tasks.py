"""Task hooks: what differs between long-term and short-term (M4) forecasting.

The trainer in ``exp/exp_main.py`` owns the loop; a task says how a batch becomes
(forecast, target), which loss it trains, and how a split is evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from utils.errors import ConfigError, unknown_name


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
    """Sliding-window forecasting on ETT / custom CSVs; MSE (or MAE) loss; scaled metrics."""

    name = "long_term_forecast"
    result_file = "result_long_term_forecast.txt"

    def __init__(self, args):
        self.args = args
        self.f_dim = -1 if args.features == "MS" else 0

    def configure(self, args) -> None:
        """Fill task-specific defaults in ``args`` before data and model are built."""

    def forward(self, model, batch, device) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """One batch -> (forecast (B, H, C'), target (B, H, C'), loss kwargs)."""
        a = self.args
        batch_x, batch_y, x_mark, y_mark = (t.float().to(device) for t in batch)
        dec_inp = decoder_input(batch_y, a.label_len, a.pred_len)
        out = model(batch_x, x_mark, dec_inp, y_mark)
        out = out[:, -a.pred_len:, self.f_dim:]
        true = batch_y[:, -a.pred_len:, self.f_dim:]
        return out, true, {}


class ShortTermTask(LongTermTask):
    """M4: random training windows with masks, sMAPE loss, sMAPE/MASE/OWA on the last window."""

    name = "short_term_forecast"
    result_file = "result_short_term_forecast.txt"

    def configure(self, args) -> None:
        from data_provider.m4 import m4_lengths

        args.seq_len, args.label_len, args.pred_len = m4_lengths(args.seasonal_patterns)
        if args.data != "m4":
            raise ConfigError(f"--task_name short_term_forecast needs --data m4, got '{args.data}'")

    def forward(self, model, batch, device):
        a = self.args
        batch_x, batch_y, x_mask, y_mask = (t.float().to(device) for t in batch)
        dec_inp = decoder_input(batch_y, a.label_len, a.pred_len)
        out = model(batch_x, None, dec_inp, None)[:, -a.pred_len:, self.f_dim:]
        true = batch_y[:, -a.pred_len:, self.f_dim:]
        mask = y_mask[:, -a.pred_len:, self.f_dim:]
        return out, true, {"insample": batch_x, "mask": mask}


TASKS = {t.name: t for t in (LongTermTask, ShortTermTask)}


def get_task(args):
    """The task object for ``args.task_name`` (ConfigError listing valid names if unknown)."""
    if args.task_name not in TASKS:
        raise unknown_name("task_name", args.task_name, TASKS)
    return TASKS[args.task_name](args)


# --------------------------------------------------------------------------- evaluation


def _gather_arrays(accelerator, out: torch.Tensor, true: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    out, true = accelerator.gather_for_metrics((out.contiguous(), true.contiguous()))
    return out.float().cpu().numpy(), true.float().cpu().numpy()


def _channel_scales(dataset, pred: np.ndarray) -> np.ndarray:
    """Scaler standard deviations broadcastable to ``pred`` (n, H, C'), for original-scale metrics.

    Multivariate view: one std per channel. Channel-independent view: sample i is channel
    ``i // tot_len`` (the test loader keeps the dataset's order).
    """
    scale = np.asarray(dataset.scaler.scale_, dtype=np.float64)
    n, _, c = pred.shape
    if c == len(scale):
        return scale[None, None, :]
    if c == 1 and n <= dataset.tot_len * len(scale) and len(dataset) == dataset.tot_len * len(scale):
        return scale[np.arange(n) // dataset.tot_len][:, None, None]
    return scale[-c:][None, None, :]  # MS in the multivariate view: the target is last


def evaluate_long_term(task: LongTermTask, model, loader, dataset, accelerator, criterion,
                       full: bool, desc: str = "eval") -> Evaluation:
    """Forecast a whole split; loss over every sample; with ``full`` also metrics and arrays."""
    from exp.progress import progress_bar
    from utils.metrics import metric

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


def m4_forecast(model, dataset, accelerator, args, full_history: bool,
                desc: str = "eval") -> np.ndarray:
    """Forecast every series' last window: (S, H), sharded over processes and gathered.

    Statistical models (``full_history``) see float64 histories: their forecasts must equal
    the official submissions to the file's printed precision.
    """
    from accelerate.utils import gather_object

    from exp.progress import progress_bar

    x, mask = dataset.full_history_window() if full_history else dataset.last_insample_window()
    dtype = torch.float64 if full_history else torch.float32
    x = torch.as_tensor(np.asarray(x), dtype=dtype).unsqueeze(-1)
    mask = torch.as_tensor(np.asarray(mask), dtype=dtype).unsqueeze(-1)
    idx = list(range(len(x)))
    chunks: list[tuple[int, np.ndarray]] = []
    model.eval()
    bar = progress_bar(accelerator, desc, total=len(idx), unit="series")
    with torch.no_grad(), accelerator.split_between_processes(idx) as mine, bar:
        bs = args.eval_batch_size
        for s in range(0, len(mine), bs):
            bar.update(min(len(mine[s:s + bs]) * accelerator.num_processes, bar.total - bar.n))
            ids = mine[s:s + bs]
            xb = x[ids].to(accelerator.device)
            dec = torch.cat([xb[:, -args.label_len:, :],
                             torch.zeros(len(ids), args.pred_len, 1, device=xb.device, dtype=dtype)], dim=1)
            mark = mask[ids].to(accelerator.device) if full_history else None
            out = model(xb, mark, dec, None)[:, -args.pred_len:, 0]
            chunks.append((ids[0], out.cpu().numpy().astype(np.float64)))
    chunks = gather_object(chunks) if accelerator.num_processes > 1 else chunks
    chunks.sort(key=lambda c: c[0])
    return np.concatenate([c[1] for c in chunks])


def evaluate_m4(task: ShortTermTask, model, dataset, accelerator, full: bool,
                full_history: bool = False, naive2: np.ndarray | None = None,
                desc: str = "eval") -> Evaluation:
    """Score the last-window forecasts of one M4 pattern: sMAPE (the loss), MASE, OWA."""
    from utils.m4_summary import m4_scores

    args = task.args
    pred = m4_forecast(model, dataset, accelerator, args, full_history, desc)
    true = np.asarray(dataset.targets, dtype=np.float64)
    p = args.seasonal_patterns
    scores = m4_scores({p: pred}, {p: true}, {p: dataset.history},
                       {p: naive2} if naive2 is not None else None)
    loss = float(scores[p]["smape"])
    if not full:
        return Evaluation(loss=loss)
    return Evaluation(loss=loss, metrics={"m4": scores, "n_samples": int(len(pred))},
                      pred=pred, true=true)
