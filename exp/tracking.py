"""Experiment trackers through Accelerate (``--report_to``): per-step loss and lr, per-epoch losses,
the final test metrics.

``none`` (default) logs nothing. ``tensorboard`` writes an event file under
``<results_dir>/<setting>/tensorboard/`` (view with ``tensorboard --logdir RESULTS_DIR``). Tags:
``train/loss`` and ``train/lr`` per optimiser step (the step counts batches across epochs),
``epoch/train_loss``, ``epoch/vali_loss``, ``epoch/test_loss`` (when tested that epoch),
``epoch/lr`` per epoch, and ``test/<metric>`` once at the end. Only the main process writes.
"""
from __future__ import annotations

from pathlib import Path

from utils.errors import ConfigError, unknown_name

REPORT_TO = ("none", "tensorboard")


def check_tracker(report_to: str) -> None:
    """``--report_to`` must be a known tracker whose package is installed (ConfigError)."""
    if report_to not in REPORT_TO:
        raise unknown_name("report_to", report_to, REPORT_TO)
    if report_to == "tensorboard":
        try:
            import tensorboard  # noqa: F401 (optional: only this tracker needs it)
        except ImportError:
            raise ConfigError("--report_to tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None


def accelerator_kwargs(cfg) -> dict:
    """What ``Accelerator(...)`` needs for ``--report_to`` (nothing for ``none``)."""
    if cfg.report_to == "none":
        return {}
    return {"log_with": cfg.report_to, "project_dir": cfg.results_dir}


def _hparams(cfg) -> dict:
    """The run's flags that a tracker can store (bool, str, int, float)."""
    return {k: v for k, v in sorted(cfg.as_dict().items()) if isinstance(v, (bool, str, int, float))}


class RunTracker:
    """One run's tracker session: ``start``, ``step``, ``epoch``, ``finish``; no-ops with ``none``."""

    def __init__(self, accelerator, cfg, folder: Path):
        self.acc, self.on = accelerator, cfg.report_to != "none"
        self.steps = 0
        if self.on:
            accelerator.project_configuration.logging_dir = str(folder)  # this run's folder
            accelerator.init_trackers("tensorboard", config=_hparams(cfg))

    def step(self, loss: float, lr: float) -> None:
        self.steps += 1
        if self.on:
            self.acc.log({"train/loss": loss, "train/lr": lr}, step=self.steps)

    def epoch(self, row: dict) -> None:
        if self.on:
            values = {f"epoch/{k}": float(row[k]) for k in ("train_loss", "vali_loss", "test_loss", "lr")
                      if row.get(k) is not None}
            self.acc.log(values, step=int(row["epoch"]))

    def finish(self, metrics: dict) -> None:
        if self.on:
            flat = {f"test/{k}": float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
            self.acc.log(flat, step=max(self.steps, 1))
            # not acc.end_training(): that also ends the process group, and --itr runs go on
            for tracker in self.acc.trackers:
                tracker.finish()
            self.acc.trackers.clear()
