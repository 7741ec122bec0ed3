"""The one trainer: long-term, short-term (M4), few-shot and zero-shot runs through task hooks.

:func:`run` builds the run's configuration once (:func:`exp.config.build_config`) and the
Accelerator (:mod:`exp.distributed`), then per repetition :func:`start_repetition` (seeded, the
model built), ``Trainer.train`` and ``Trainer.test``; the Python API (``timellm_api.py``) calls
the same steps, and ``Trainer.forecast`` for its ``predict``. :class:`Trainer` owns the loop and
leaves everything that differs between tasks to the task object (:mod:`exp.tasks`).

Differences from the reference, each on purpose (docs/REFERENCE.md section 4): the best weights are
reloaded before testing, the test set is scored once on every sample gathered across
processes, checkpoints are kept (never deleted), the schedule actually used is recorded, and
results land in a per-run folder that is never silently overwritten.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from exp.config import RunConfig, build_config, identity_differences, setting_string, with_global_batch
from exp.distributed import build_accelerator, distributed_info
from exp.precision import backbone_dtype, set_tf32
from exp.predict import check_columns
from exp.progress import progress_bar
from exp.results import ResultWriter, run_origin
from exp.tasks import Evaluation, get_task
from exp.tracking import RunTracker
from layers.peft_adapters import base_weight_checksum
from models import get_model_class, model_attr
from utils.checkpoint import (apply_checkpoint, atomic_save, atomic_write_text, load_checkpoint, make_checkpoint,
                              save_adapter)
from utils.cpu import reuse_freed_memory
from utils.errors import ConfigError, UserError
from utils.lr_schedule import build_lr_controller
from utils.optim import build_optimizer
from utils.run_lock import RunLock
from utils.tools import EarlyStopping, restore_rng_states, rng_states, set_seed

__all__ = ["BestTest", "StepLosses", "Trainer", "backbone_checksum", "checkpoint_folder",
           "restore_resume_extras", "resume_extras", "run", "setting_string", "start_repetition",
           "start_run", "weights_digest"]

READ_LOSSES_EVERY = 10  # training steps between reads of their losses to the host (one sync)


def backbone_checksum(model) -> float | None:
    """Sum of |w| over the backbone's frozen (non-adapter) weights; None without a backbone."""
    llm = getattr(model, "llm_model", None)
    return None if llm is None else base_weight_checksum(llm)


@dataclass
class BestTest:
    """The test pass of the best epoch so far and the digest of the weights it was made with."""

    epoch: int
    digest: str
    result: Evaluation  # that epoch's full test pass


def weights_digest(model) -> str:
    """SHA-256 over the trainable tensors (names, shapes, bytes): equal digests, equal weights."""
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        if p.requires_grad:
            t = p.detach().float().cpu().contiguous()
            h.update(name.encode())
            h.update(str(tuple(t.shape)).encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


def checkpoint_folder(cfg: RunConfig, train_setting: str) -> Path:
    """Where a run's checkpoints live: ``<checkpoints>/<train_setting>-<model_comment>``."""
    return Path(cfg.checkpoints) / f"{train_setting}-{cfg.model_comment}"


class StepLosses:
    """The training losses of the steps since the last read, kept where they were computed.

    Reading a loss to the host (``.item()``, a finiteness test) waits for the GPU to finish the
    step; :meth:`read` does it once for all pending steps (one transfer every
    :data:`READ_LOSSES_EVERY` steps instead of two per step), so the CPU can queue the next steps
    meanwhile. ``add(step, loss, lr)`` keeps a detached 0-d loss and the step's lr; ``read()`` ->
    ``[(step, value, lr), ...]`` in order, and forgets them.
    """

    def __init__(self, every: int = READ_LOSSES_EVERY):
        self.every = every
        self.pending: list[tuple[int, torch.Tensor, float]] = []

    def add(self, step: int, loss: torch.Tensor, lr: float) -> bool:
        """Keep one step's loss; True when :meth:`read` is due."""
        self.pending.append((step, loss.detach().reshape(()), lr))
        return len(self.pending) >= self.every

    def read(self) -> list[tuple[int, float, float]]:
        if not self.pending:
            return []
        values = torch.stack([loss for _, loss, _ in self.pending]).float().cpu().numpy().tolist()
        out = [(step, value, lr) for (step, _, lr), value in zip(self.pending, values)]
        self.pending.clear()
        return out


def resume_extras(acc) -> dict:
    """What a resumed run needs besides weights, optimiser and schedule: every random generator
    (CUDA's too when present) and the fp16 loss scaler's state (None without one)."""
    scaler = getattr(acc, "scaler", None)
    return {"rng": rng_states(), "scaler": scaler.state_dict() if scaler is not None else None}


def restore_resume_extras(acc, state: dict) -> None:
    """Put back :func:`resume_extras`' generators and scaler (a state without a scaler, e.g. from
    an fp32 or bf16 run, leaves the run's scaler as it is)."""
    restore_rng_states(state["rng"])
    scaler = getattr(acc, "scaler", None)
    if scaler is not None and state.get("scaler") is not None:
        scaler.load_state_dict(state["scaler"])


class Trainer:
    """Train with early stopping, reload the best weights, test once, write the results."""

    def __init__(self, cfg: RunConfig, setting: str, accelerator, train_setting: str | None = None):
        self.t_start = time.time()  # metrics.json's wall_seconds count from here
        self.wall_before = 0.0      # seconds an interrupted run spent before this process resumed it
        # the code and machine the run starts from (a resume keeps it and adds its own: _maybe_resume)
        self.provenance = {"started": run_origin(accelerator.device), "resumed": []}
        self.cfg, self.setting, self.acc = cfg, setting, accelerator
        self.task = get_task(cfg)
        self.ckpt_dir = checkpoint_folder(cfg, train_setting or setting)
        self.best_path = self.ckpt_dir / "checkpoint.pt"
        self.state_path = self.ckpt_dir / "state.pt"
        self.record_path = self.ckpt_dir / "training.json"  # what training recorded, for later tests
        self.results = ResultWriter(cfg, self.task, setting, accelerator.is_main_process)
        self.model = get_model_class(cfg.model)(cfg)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.needs_training = model_attr(cfg.model, "needs_training", True) and bool(self.trainable)
        self.history: list[dict] = []
        self.schedule_note = "none (nothing to train)"
        self.dist_info = distributed_info(accelerator, None)
        self.backbone_checksum: dict = {}
        self.best_test: BestTest | None = None  # the best epoch's test pass, reused by test()
        self.data_columns: list[str] | None = None  # the trained channels' names (checkpoints)
        self.future = None  # --do_predict: what the forecast past the end of the data starts from
        self._inference: tuple | None = None  # (model ready for inference, its checkpoint): best_model()
        self.tracker = RunTracker(accelerator, cfg, self.results.folder)

    # ------------------------------------------------------------------ helpers
    def folders_lock(self):
        """Hold the run's checkpoint and results folders against other live runs while training or
        testing writes them (:class:`utils.run_lock.RunLock`; the main process holds it)."""
        if not self.acc.is_main_process:
            return contextlib.nullcontext()
        return RunLock([self.ckpt_dir, self.results.folder])

    def log(self, msg: str) -> None:
        if self.acc.is_main_process:
            print(msg, flush=True)

    def n_trainable(self) -> int:
        return sum(p.numel() for p in self.trainable)

    def _evaluate(self, model, flag: str, full: bool, loaders: dict) -> Evaluation:
        dataset, loader = loaders[flag]
        return self.task.evaluate(model, self.acc, flag, dataset, loader, full)

    def _shard_for_evaluation(self, loaders: dict, flags) -> None:
        for flag in flags:
            dataset, loader = loaders[flag]
            loaders[flag] = (dataset, self.task.eval_loader(self.acc, loader))

    # ------------------------------------------------------------------ training
    def train(self) -> None:
        cfg, acc = self.cfg, self.acc
        loaders = self.task.loaders(("train", "val", "test"))
        self.data_columns = self.task.data_columns(loaders["train"][0])
        if not self.needs_training:
            self.log(f"{cfg.model} has nothing to train; going straight to the test")
            return
        train_loader = loaders["train"][1]
        optimizer = build_optimizer(self.trainable, cfg)
        # the reference counts batches before sharding; Accelerate steps its scheduler once per process
        lr_ctrl = build_lr_controller(optimizer, cfg,
                                      steps_per_epoch=math.ceil(len(train_loader) / cfg.grad_accum),
                                      steps_per_batch=acc.num_processes)
        self.schedule_note = lr_ctrl.describe()
        early = EarlyStopping(patience=cfg.patience)
        model, optimizer, train_loader = acc.prepare(self.model, optimizer, train_loader)
        self._shard_for_evaluation(loaders, ("val", "test"))
        self.dist_info = distributed_info(acc, model)
        self.backbone_checksum = {"before": backbone_checksum(self.model)}
        start_epoch = self._maybe_resume(model, optimizer, lr_ctrl, early)
        self.log(f">>> training {self.setting}: {self.n_trainable():,} trainable parameters, "
                 f"{len(loaders['train'][0])} train samples, {acc.num_processes} process(es), "
                 f"lr schedule: {self.schedule_note}")
        state_saved_at = time.time()
        for epoch in range(start_epoch, cfg.train_epochs):
            t0 = time.time()
            train_loss = self._train_epoch(model, optimizer, train_loader, lr_ctrl, epoch)
            vali = self._evaluate(model, "val", False, loaders)
            # the full pass (metrics and arrays): the final test reuses it if this epoch is the best
            test = self._evaluate(model, "test", True, loaders) if cfg.test_every_epoch else None
            improved = early.step(vali.loss)
            row = {"epoch": epoch + 1, "train_loss": train_loss, "vali_loss": vali.loss,
                   "test_loss": test.loss if test else None, "lr": lr_ctrl.current_lr,
                   "seconds": time.time() - t0, "best": bool(improved)}
            self.history.append(row)
            self.tracker.epoch(row)
            test_text = f" test {test.loss:.7f}" if test else ""
            self.log(f"Epoch {epoch + 1} | {row['seconds']:.1f}s | train {train_loss:.7f} "
                     f"vali {vali.loss:.7f}{test_text} | lr {row['lr']:.3g}"
                     + (" | best, saved" if improved else f" | no improvement {early.counter}/{cfg.patience}"))
            if improved:
                self._save_best(model, epoch + 1)
                self.best_test = (BestTest(epoch + 1, weights_digest(self.acc.unwrap_model(model)), test)
                                  if test is not None else None)
            lr_ctrl.on_epoch_end(epoch + 1)
            last = early.early_stop or epoch + 1 == cfg.train_epochs
            if last or time.time() - state_saved_at >= cfg.save_state_every:
                self._save_state(model, optimizer, lr_ctrl, early, epoch + 1)
                state_saved_at = time.time()
            if early.early_stop:
                self.log(f"Early stopping after epoch {epoch + 1}")
                break
        acc.wait_for_everyone()
        self.model = acc.unwrap_model(model)
        self.backbone_checksum["after"] = backbone_checksum(self.model)

    def _train_epoch(self, model, optimizer, loader, lr_ctrl, epoch: int) -> float:
        acc, cfg = self.acc, self.cfg
        model.train()
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        total, count = 0.0, 0
        losses = StepLosses()
        bar = progress_bar(acc, f"epoch {epoch + 1}/{cfg.train_epochs}", unit="step", iterable=loader)
        for step, batch in enumerate(bar):
            with acc.accumulate(model):
                out, true, loss_kwargs = self.task.forward(model, batch, acc.device)
                loss = self.task.criterion(out.float(), true, **loss_kwargs)
                acc.backward(loss)
                if acc.sync_gradients and cfg.max_grad_norm > 0:  # DeepSpeed: its config clips
                    acc.clip_grad_norm_(self.trainable, cfg.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            if acc.sync_gradients:
                lr_ctrl.on_batch_end()
            if losses.add(step, loss, lr_ctrl.current_lr):
                total, count = self._account(losses.read(), total, count, epoch, bar)
        total, count = self._account(losses.read(), total, count, epoch, bar)
        return total / max(count, 1)

    def _account(self, steps: list[tuple[int, float, float]], total: float, count: int,
                 epoch: int, bar) -> tuple[float, int]:
        """Add read losses to the epoch's sum; a non-finite one stops the run naming its step
        (the weights may have moved since, but the checkpoint on disk is the last good one)."""
        for step, value, lr in steps:
            if not math.isfinite(value):
                raise UserError(
                    f"non-finite training loss ({value}) at epoch {epoch + 1}, step {step + 1}: "
                    f"lower --learning_rate (now {lr:.3g}) or avoid fp16 overflow "
                    f"(use bf16/fp32); the last good checkpoint is kept in {self.ckpt_dir}")
            total += value
            count += 1
            self.tracker.step(value, lr)
        if steps:
            bar.set_postfix(loss=f"{steps[-1][1]:.4f}", lr=f"{steps[-1][2]:.2e}", refresh=False)
        return total, count

    def _save_best(self, model, epoch: int) -> None:
        if self.acc.is_main_process:
            inner = self.acc.unwrap_model(model)
            atomic_save(make_checkpoint(inner, self.cfg.as_dict(), epoch=epoch,
                                        data_columns=self.data_columns), self.best_path)
            llm = getattr(inner, "llm_model", None)
            if llm is not None and hasattr(llm, "peft_config"):  # adapters also in peft's format
                save_adapter(llm, self.ckpt_dir / "adapter")
        self.acc.wait_for_everyone()

    def _save_state(self, model, optimizer, lr_ctrl, early, epoch: int) -> None:
        """Everything needed to continue after ``epoch`` (1-based) as if never interrupted."""
        if self.acc.is_main_process:
            state = make_checkpoint(self.acc.unwrap_model(model), self.cfg.as_dict(), epoch=epoch,
                                    data_columns=self.data_columns)
            # a ZeRO optimizer holds only this rank's partition: not resumable from one file
            opt_state = None if self.dist_info.get("zero_stage") else optimizer.state_dict()
            record = self.training_record()  # also beside the checkpoint, for later tests
            state.update(optimizer=opt_state, lr=lr_ctrl.state_dict(), early=early.state_dict(),
                         **record, **resume_extras(self.acc))
            atomic_save(state, self.state_path)
            atomic_write_text(json.dumps(record, indent=1), self.record_path)
        self.acc.wait_for_everyone()

    def wall_seconds(self) -> float:
        """The run's wall time so far, over every process that trained or resumed it."""
        return self.wall_before + time.time() - self.t_start

    def training_record(self) -> dict:
        """What training recorded that a later test from the checkpoint (``--is_training 0``)
        must not lose: the epochs, the schedule, the code, the wall time."""
        return {"history": self.history, "lr_schedule": self.schedule_note, "provenance": self.provenance,
                "wall_seconds": self.wall_seconds(), "backbone_checksum": self.backbone_checksum}

    def _recorded_training(self) -> None:
        """``--is_training 0``: take the training record the checkpoint's run left (runs older than
        the record keep this process's figures)."""
        if not self.record_path.exists():
            return
        try:
            record = json.loads(self.record_path.read_text())
        except ValueError as e:
            raise UserError(f"{self.record_path}: not valid JSON ({e}); the checkpoint's training record "
                            "is damaged: retrain, or remove the file to test without it") from None
        tested = self.provenance["started"]
        self.history, self.schedule_note = record["history"], record["lr_schedule"]
        self.provenance = {**record["provenance"], "tested": tested}
        self.wall_before = float(record["wall_seconds"])
        self.backbone_checksum = record.get("backbone_checksum") or self.backbone_checksum

    def _maybe_resume(self, model, optimizer, lr_ctrl, early) -> int:
        cfg = self.cfg
        if not cfg.resume:
            if self.best_path.exists() and not cfg.overwrite:
                raise UserError(f"a checkpoint already exists in {self.ckpt_dir}; pass --resume to "
                                "continue that run or --overwrite to train a new one over it")
            return 0
        if self.dist_info.get("zero_stage"):
            raise ConfigError("--resume is not supported with --use_deepspeed (ZeRO partitions the "
                              "optimizer state); resume without DeepSpeed or start a new run")
        if not self.state_path.exists():
            self.log(f"--resume: no saved state in {self.ckpt_dir}; starting from epoch 1")
            return 0
        state = load_checkpoint(self.state_path)
        changed = identity_differences(state.get("config", {}), cfg)
        if changed:
            flags = ", ".join(f"--{k} {a} (now {b})" for k, a, b in
                              ((k, _flag_text(v[0]), _flag_text(v[1])) for k, v in changed.items()))
            raise ConfigError(f"cannot resume {self.ckpt_dir}: it was trained with {flags}; resume with "
                              "the same flags, or start a new run (another --model_id / --des, or "
                              "--overwrite without --resume)")
        columns = state.get("data_columns")
        if columns is not None and self.data_columns is not None and list(columns) != list(self.data_columns):
            raise ConfigError(f"cannot resume {self.ckpt_dir}: it was trained on the columns "
                              f"{', '.join(columns)}, this run reads {', '.join(self.data_columns)}; "
                              "resume with the same data")
        apply_checkpoint(self.acc.unwrap_model(model), state, source=str(self.state_path))
        optimizer.load_state_dict(state["optimizer"])
        lr_ctrl.load_state_dict(state["lr"])
        early.load_state_dict(state["early"])
        self.history = list(state["history"])
        self.wall_before = float(state.get("wall_seconds", 0.0))
        if state.get("provenance"):  # states older than provenance: the resume's code stands in
            now = self.provenance["started"]
            self.provenance = {"started": state["provenance"]["started"],
                               "resumed": [*state["provenance"]["resumed"],
                                           {**(now or {}), "after_epoch": int(state["epoch"])}]}
        restore_resume_extras(self.acc, state)
        self.log(f"Resumed {self.setting} after epoch {state['epoch']}")
        if early.early_stop:
            return cfg.train_epochs
        return int(state["epoch"])

    # ------------------------------------------------------------------ forecasting the future
    def prepare_predict(self) -> None:
        """``--do_predict``: read the forecast's input now, so a refused file fails before training."""
        dataset, _ = self.task.loaders(("test",))["test"]
        self.future = self.task.future_input(dataset)

    def forecast(self, table: pd.DataFrame | None = None, dataset=None) -> pd.DataFrame:
        """The ``pred_len`` steps after the last row of the data file, or of ``table`` (a DataFrame
        in the file's layout: ``date`` then the run's columns), from the best weights, in original
        units: forecast.csv's table (``date`` then one column per forecast channel).

        ``dataset``: the run's test split when already read (its scaler and calendar settings).
        """
        model, ckpt = self.best_model()
        if dataset is None:
            dataset, _ = self.task.loaders(("test",))["test"]
        check_columns(ckpt.get("data_columns"), self.task.data_columns(dataset), str(self.best_path))
        future = self.future if table is None and self.future is not None \
            else self.task.future_input(dataset, table)
        return self.task.forecast_future(model, self.acc, dataset, future)

    def _predict(self, dataset) -> None:
        """Forecast past the end of the data file; forecast.csv / forecast_future.png."""
        table = self.forecast(dataset=dataset)
        if self.acc.is_main_process:
            self.results.folder.mkdir(parents=True, exist_ok=True)
            self.task.write_future(self.results.folder, self.setting, self.future, table)
            self.log(f"forecast past the end of the data: {self.results.folder / 'forecast.csv'} "
                     f"({len(table)} rows)")

    # ------------------------------------------------------------------ testing
    def _reused_test(self, best_epoch: int | None):
        """The best epoch's full test pass, when it was made with the weights just reloaded.

        Same weights, same loader, same model: the pass would give the same numbers. A run resumed
        after its best epoch has no such pass (it was not kept), and any mismatch of the epoch or
        of the weights' digest (e.g. a checkpoint replaced on disk) runs the test again.
        """
        kept = self.best_test
        if kept is None or kept.epoch != best_epoch:
            return None
        if kept.digest != weights_digest(self.model):
            self.log("final test: the reloaded weights differ from the best epoch's; testing again")
            return None
        return kept.result

    def best_model(self) -> tuple:
        """(the model with its best weights, ready for inference; the checkpoint they came from,
        ``{}`` for a model with nothing to train), loaded once."""
        if self._inference is None:
            acc = self.acc
            ckpt = load_checkpoint(self.best_path) if self.needs_training else {}
            if self.needs_training:
                apply_checkpoint(self.model, ckpt, source=str(self.best_path))
            model = self.model.to(acc.device)
            if self.needs_training:  # autocast for mixed precision, no DDP wrapper for inference
                model = acc.prepare_model(model, evaluation_mode=True)
            self._inference = (model, ckpt)
        return self._inference

    def test(self) -> dict:
        """Score the test split with the best weights, write the results folder (and with
        ``--do_predict`` the forecast past the data); the test metrics."""
        acc = self.acc
        model, ckpt = self.best_model()
        best_epoch = ckpt.get("epoch")
        loaders = self.task.loaders(("test",))
        columns = self.task.data_columns(loaders["test"][0])
        zero_shot = self.cfg.test_data and self.cfg.test_data != self.cfg.data  # another file's columns
        if self.future is not None or not (self.cfg.is_training or zero_shot):
            check_columns(ckpt.get("data_columns"), columns, str(self.best_path))
        if not self.cfg.is_training and self.needs_training:
            self._recorded_training()
        result = self._reused_test(best_epoch)
        if result is None:
            self._shard_for_evaluation(loaders, ("test",))
            result = self._evaluate(model, "test", True, loaders)
        else:
            self.log(f"final test: the pass of epoch {best_epoch} (made with these weights) is reused")
        info = {"setting": self.setting, "best_epoch": best_epoch, "wall_seconds": self.wall_seconds(),
                "trainable_parameters": self.n_trainable(), "num_processes": acc.num_processes,
                "lr_schedule": self.schedule_note, "history": self.history, "distributed": self.dist_info,
                "backbone_checksum": self.backbone_checksum, "data_columns": columns,
                "checkpoint": str(self.best_path) if self.needs_training else None,
                "provenance": self.provenance}
        if acc.is_main_process:
            self.results.write(result, info, loaders["test"][0])
        if self.future is not None:
            self._predict(loaders["test"][0])
        self.tracker.finish(result.metrics)
        acc.wait_for_everyone()
        return result.metrics


def _flag_text(value) -> str:
    """A flag's value as the command line gives it (lists space-separated)."""
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def start_run(cfg: RunConfig) -> tuple[RunConfig, object]:
    """The run's Accelerator, and ``cfg`` with what it decides filled in: the per-process batch
    and the global batch for its number of processes (:func:`exp.config.with_global_batch`),
    ``--dtype auto`` becomes the mixed-precision format for the frozen backbone (exp.precision), and ``--tf32``
    is applied. The command line (:func:`run`) and the Python API both start here."""
    accelerator = build_accelerator(cfg)
    cfg = with_global_batch(cfg, accelerator.num_processes)
    cfg = replace(cfg, dtype=backbone_dtype(cfg.dtype, accelerator.mixed_precision))
    set_tf32(bool(cfg.tf32))
    if cfg.reuse_memory:
        reuse_freed_memory()
    return cfg, accelerator


def start_repetition(cfg: RunConfig, ii: int, accelerator) -> Trainer:
    """Repetition ``ii`` of ``--itr`` up to training: seeded, its model built, and with
    ``--do_predict`` the forecast's input read (a refused file fails before any training).
    The command line (:func:`run`) and the Python API (``timellm_api.py``) both start here."""
    rep = cfg.repetition(ii)
    set_seed(rep.seed)
    trainer = Trainer(rep, setting_string(rep, ii), accelerator,
                      train_setting=setting_string(rep, ii, zero_shot_suffix=False))
    if rep.do_predict:
        trainer.prepare_predict()
    return trainer


def run(args) -> list[dict]:
    """Run the ``--itr`` repetitions the parsed flags ``args`` describe; return their test metrics."""
    cfg, accelerator = start_run(build_config(args))
    out = []
    for ii in range(cfg.itr):
        trainer = start_repetition(cfg, ii, accelerator)
        with trainer.folders_lock():
            trainer.results.check_free()
            if trainer.cfg.is_training:
                trainer.train()
            metrics = trainer.test()
        if accelerator.is_main_process:
            print(trainer.results.summary_line(metrics), flush=True)
            print(f"results: {trainer.results.folder}", flush=True)
        out.append(metrics)
    return out
