"""The one trainer: long-term, short-term (M4), few-shot and zero-shot runs through task hooks.

Differences from the reference, each on purpose (REFERENCE.md section 4): the best weights are
reloaded before testing, the test set is scored once on every sample gathered across
processes, checkpoints are kept (never deleted), the schedule actually used is recorded, and
results land in a per-run folder that is never silently overwritten.
"""
from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from exp.progress import progress_bar
from exp.results import ResultWriter
from exp.tracking import RunTracker, accelerator_kwargs
from exp.tasks import evaluate_long_term, evaluate_m4, get_task
from models import get_model_class, model_attr
from utils.checkpoint import (apply_checkpoint, atomic_save, load_checkpoint, make_checkpoint,
                              save_adapter)
from utils.errors import ConfigError, UserError
from utils.optim import build_optimizer


def setting_string(args, ii: int, zero_shot_suffix: bool = True) -> str:
    """The reference's run name, plus ``_p<percent>`` for few-shot runs and ``_to_<test_data>``
    for zero-shot results.

    Checkpoints use the name without the suffix: the trained model does not depend on where it
    is tested, so a zero-shot test can reuse a finished training run's checkpoint.
    """
    s = (f"{args.task_name}_{args.model_id}_{args.model}_{args.data}_ft{args.features}"
         f"_sl{args.seq_len}_ll{args.label_len}_pl{args.pred_len}_dm{args.d_model}_nh{args.n_heads}"
         f"_el{args.e_layers}_dl{args.d_layers}_df{args.d_ff}_fc{args.factor}_eb{args.embed}"
         f"_{args.des}_{ii}")
    if args.percent < 100:  # few-shot runs must not share a folder with the full run
        s += f"_p{args.percent}"
    s += model_attr(args.model, "setting_suffix", lambda a: "")(args)  # e.g. a model variant
    if zero_shot_suffix and args.test_data and args.test_data != args.data:
        s += f"_to_{args.test_data}"
    return s


def resolve_args(args) -> None:
    """Fill defaults that depend on the model and task; validate cheap flag combinations."""
    get_model_class(args.model)  # unknown model -> one line listing the valid names
    task = get_task(args)
    task.configure(args)
    if args.channel_independence == -1:
        args.channel_independence = int(model_attr(args.model, "channel_independent", False))
    if args.lr_quirk == "auto":
        args.lr_quirk = "on" if model_attr(args.model, "reference_lr_quirk", False) else "off"
    from utils.lr_schedule import LR_MODES
    if args.lradj not in LR_MODES:
        from utils.errors import unknown_name
        raise unknown_name("lradj", args.lradj, LR_MODES)
    from utils.losses import get_loss
    get_loss(args.loss)
    for name in ("batch_size", "eval_batch_size", "train_epochs", "seq_len", "pred_len", "grad_accum"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if not args.learning_rate > 0:  # also NaN
        raise ConfigError(f"--learning_rate must be positive, got {args.learning_rate}")
    check_writable(args.results_dir, "--results_dir")
    if args.is_training:
        check_writable(args.checkpoints, "--checkpoints")


def check_writable(folder: str, flag: str) -> None:
    """Fail before any training when ``folder`` cannot be created or written (not after it)."""
    import tempfile

    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ConfigError(f"{flag} {folder} is not writable ({e.strerror or e}); "
                          f"choose a folder you can write to") from None


def check_channels(args, dataset) -> None:
    """``--enc_in`` must be the number of channels the run reads (1 for features S)."""
    n = getattr(dataset, "n_channels", None)
    if n is None or args.task_name == "short_term_forecast" or args.enc_in == n:
        return
    name = getattr(dataset, "data_name", None) or args.data
    raise ConfigError(f"--enc_in {args.enc_in}, but {name} has {n} channel{'' if n == 1 else 's'} "
                      f"with --features {args.features}; pass --enc_in {n} (and --dec_in/--c_out to match)")


def mixed_precision(args) -> str | None:
    """``--mixed_precision`` wins; ``--use_amp`` means fp16 on a GPU, and bf16 on a CPU that has
    native bf16 (AVX512-BF16 or AMX; elsewhere bf16 is emulated and slower, so fp32 with a note).
    An explicit bf16 on a CPU without it runs as asked, with a warning."""
    from utils.cpu import native_bf16

    on_cpu = not torch.cuda.is_available()
    if args.mixed_precision:
        if args.mixed_precision == "bf16" and on_cpu and not native_bf16():
            warnings.warn("--mixed_precision bf16 on a CPU without native bf16 (no avx512_bf16 or "
                          "amx_bf16 flag): PyTorch emulates it, usually slower than fp32",
                          stacklevel=2)
        return args.mixed_precision
    if args.use_amp:
        if not on_cpu:
            return "fp16"
        if native_bf16():
            return "bf16"
        print("--use_amp: this CPU has no native bf16 (avx512_bf16 / amx_bf16); training in fp32",
              file=sys.stderr)
        return "no"
    return None  # let `accelerate launch --mixed_precision ...` decide


def _deepspeed_on_cpu_world() -> None:
    """Make Accelerate see the real world size when DeepSpeed runs on CPU processes.

    Under ``torchrun`` with ``ACCELERATE_USE_DEEPSPEED=true`` and no GPU, Accelerate initialises
    DeepSpeed's communication (gloo) but records one process, so every rank would read the
    whole data set. The DeepSpeed engine itself partitions over the real world size (ZeRO-2
    works), so we correct Accelerate's shared state before the Accelerator is built.
    """
    import torch.distributed as dist
    from accelerate.state import PartialState

    state = PartialState()
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > state.num_processes:
        state._shared_state.update(num_processes=dist.get_world_size(), process_index=dist.get_rank(),
                                   local_process_index=int(os.environ.get("LOCAL_RANK", 0)),
                                   backend="gloo")


def build_accelerator(args):
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    kwargs = {}
    if args.use_deepspeed:
        from accelerate.utils import DeepSpeedPlugin
        if not Path(args.deepspeed_config).is_file():
            raise ConfigError(f"DeepSpeed config not found: {args.deepspeed_config}")
        os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
        if not torch.cuda.is_available():
            _deepspeed_on_cpu_world()
        kwargs["deepspeed_plugin"] = DeepSpeedPlugin(hf_ds_config=args.deepspeed_config)
    cpu = not torch.cuda.is_available() and not args.use_deepspeed
    return Accelerator(mixed_precision=mixed_precision(args), cpu=cpu,
                       gradient_accumulation_steps=args.grad_accum,
                       dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
                       **accelerator_kwargs(args), **kwargs)


def backbone_checksum(model) -> float | None:
    """Sum of |w| over the backbone's frozen (non-adapter) weights; None without a backbone."""
    llm = getattr(model, "llm_model", None)
    if llm is None:
        return None
    from layers.peft_adapters import base_weight_checksum
    return base_weight_checksum(llm)


def distributed_info(acc, model) -> dict:
    """How the run was distributed (recorded in metrics.json)."""
    info = {"type": str(acc.distributed_type).split(".")[-1], "num_processes": acc.num_processes,
            "mixed_precision": acc.mixed_precision, "device": str(acc.device)}
    if model is not None and hasattr(model, "zero_optimization_stage"):  # a DeepSpeed engine
        info.update(zero_stage=model.zero_optimization_stage(), dp_world_size=model.dp_world_size)
    return info


@dataclass
class BestTest:
    """The test pass of the best epoch so far and the digest of the weights it was made with."""

    epoch: int
    digest: str
    result: object  # the exp.tasks.Evaluation of that epoch's full test pass


def weights_digest(model) -> str:
    """SHA-256 over the trainable tensors (names, shapes, bytes): equal digests, equal weights."""
    import hashlib

    h = hashlib.sha256()
    for name, p in model.named_parameters():
        if p.requires_grad:
            t = p.detach().float().cpu().contiguous()
            h.update(name.encode())
            h.update(str(tuple(t.shape)).encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


class Trainer:
    """Train with early stopping, reload the best weights, test once, write the results."""

    def __init__(self, args, setting: str, accelerator, train_setting: str | None = None):
        from data_provider.data_factory import data_provider
        from utils.losses import get_loss

        self.args, self.setting, self.acc = args, setting, accelerator
        self.task = get_task(args)
        self.data_provider = data_provider
        self.ckpt_dir = Path(args.checkpoints) / f"{train_setting or setting}-{args.model_comment}"
        self.best_path = self.ckpt_dir / "checkpoint.pt"
        self.state_path = self.ckpt_dir / "state.pt"
        self.results = ResultWriter(args, setting, accelerator.is_main_process)
        self.criterion = get_loss(args.loss)
        self.model = get_model_class(args.model)(args)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.needs_training = model_attr(args.model, "needs_training", True) and bool(self.trainable)
        self.history: list[dict] = []
        self.schedule_note = "none (nothing to train)"
        self.dist_info = distributed_info(accelerator, None)
        self.backbone_checksum: dict = {}
        self.best_test: BestTest | None = None  # the best epoch's test pass, reused by test()
        self.tracker = RunTracker(accelerator, args, self.results.folder)

    # ------------------------------------------------------------------ helpers
    def log(self, msg: str) -> None:
        if self.acc.is_main_process:
            print(msg, flush=True)

    def n_trainable(self) -> int:
        return sum(p.numel() for p in self.trainable)

    def _evaluate(self, model, flag: str, full: bool, loaders: dict):
        if self.task.name == "short_term_forecast":
            dataset = loaders[flag][0]
            naive2 = getattr(dataset, "naive2", None) if flag == "test" else None
            return evaluate_m4(self.task, model, dataset, self.acc, full,
                               full_history=model_attr(self.args.model, "full_history", False),
                               naive2=naive2, desc=flag)
        dataset, loader = loaders[flag]
        return evaluate_long_term(self.task, model, loader, dataset, self.acc,
                                  self._plain_criterion, full, desc=flag)

    def _plain_criterion(self, pred, true):
        return self.criterion(pred, true) if self.task.name != "short_term_forecast" else None

    def _loss(self, out, true, kw):
        if self.task.name == "short_term_forecast":
            from data_provider.m4 import M4_PATTERNS
            freq = M4_PATTERNS[self.args.seasonal_patterns].seasonality
            return self.criterion(out.float(), true, insample=kw["insample"], mask=kw["mask"], freq=freq)
        return self.criterion(out.float(), true)

    def _loaders(self, flags) -> dict:
        return {flag: self.data_provider(self.args, flag) for flag in flags}

    # ------------------------------------------------------------------ training
    def train(self) -> None:
        args, acc = self.args, self.acc
        loaders = self._loaders(("train", "val", "test"))
        if not self.needs_training:
            self.log(f"{args.model} has nothing to train; going straight to the test")
            return
        from utils.lr_schedule import LRController
        from utils.tools import EarlyStopping

        check_channels(args, loaders["train"][0])
        train_loader = loaders["train"][1]
        optimizer = build_optimizer(self.trainable, args)
        # the reference counts batches before sharding; Accelerate steps its scheduler once per process
        lr_ctrl = LRController(optimizer, args, steps_per_epoch=math.ceil(len(train_loader) / args.grad_accum),
                               steps_per_batch=acc.num_processes)
        self.schedule_note = lr_ctrl.describe()
        early = EarlyStopping(patience=args.patience)
        model, optimizer, train_loader = acc.prepare(self.model, optimizer, train_loader)
        if self.task.name == "long_term_forecast":
            for flag in ("val", "test"):
                ds, ld = loaders[flag]
                loaders[flag] = (ds, acc.prepare(ld))
        self.dist_info = distributed_info(acc, model)
        self.backbone_checksum = {"before": backbone_checksum(self.model)}
        start_epoch = self._maybe_resume(model, optimizer, lr_ctrl, early)
        self.log(f">>> training {self.setting}: {self.n_trainable():,} trainable parameters, "
                 f"{len(loaders['train'][0])} train samples, {acc.num_processes} process(es), "
                 f"lr schedule: {self.schedule_note}")
        for epoch in range(start_epoch, args.train_epochs):
            t0 = time.time()
            train_loss = self._train_epoch(model, optimizer, train_loader, lr_ctrl, epoch)
            vali = self._evaluate(model, "val", False, loaders)
            # the full pass (metrics and arrays): the final test reuses it if this epoch is the best
            test = self._evaluate(model, "test", True, loaders) if args.test_every_epoch else None
            improved = early.step(vali.loss)
            row = {"epoch": epoch + 1, "train_loss": train_loss, "vali_loss": vali.loss,
                   "test_loss": test.loss if test else None, "lr": lr_ctrl.current_lr,
                   "seconds": time.time() - t0, "best": bool(improved)}
            self.history.append(row)
            self.tracker.epoch(row)
            test_text = f" test {test.loss:.7f}" if test else ""
            self.log(f"Epoch {epoch + 1} | {row['seconds']:.1f}s | train {train_loss:.7f} "
                     f"vali {vali.loss:.7f}{test_text} | lr {row['lr']:.3g}"
                     + (" | best, saved" if improved else f" | no improvement {early.counter}/{args.patience}"))
            if improved:
                self._save_best(model, epoch + 1)
                self.best_test = (BestTest(epoch + 1, weights_digest(self.acc.unwrap_model(model)), test)
                                  if test is not None else None)
            lr_ctrl.on_epoch_end(epoch + 1)
            self._save_state(model, optimizer, lr_ctrl, early, epoch + 1)
            if early.early_stop:
                self.log(f"Early stopping after epoch {epoch + 1}")
                break
        acc.wait_for_everyone()
        self.model = acc.unwrap_model(model)
        self.backbone_checksum["after"] = backbone_checksum(self.model)

    def _train_epoch(self, model, optimizer, loader, lr_ctrl, epoch: int) -> float:
        acc, args = self.acc, self.args
        model.train()
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        total, count = 0.0, 0
        bar = progress_bar(acc, f"epoch {epoch + 1}/{args.train_epochs}", unit="step", iterable=loader)
        for step, batch in enumerate(bar):
            with acc.accumulate(model):
                out, true, kw = self.task.forward(model, batch, acc.device)
                loss = self._loss(out, true, kw)
                if not torch.isfinite(loss):
                    raise UserError(
                        f"non-finite training loss ({loss.item()}) at epoch {epoch + 1}, step {step + 1}: "
                        f"lower --learning_rate (now {lr_ctrl.current_lr:.3g}) or avoid fp16 overflow "
                        f"(use bf16/fp32); the last good checkpoint is kept in {self.ckpt_dir}")
                acc.backward(loss)
                if acc.sync_gradients and args.max_grad_norm > 0:
                    acc.clip_grad_norm_(self.trainable, args.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            if acc.sync_gradients:
                lr_ctrl.on_batch_end()
            value = loss.item()
            total += value
            count += 1
            self.tracker.step(value, lr_ctrl.current_lr)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr_ctrl.current_lr:.2e}", refresh=False)
        return total / max(count, 1)

    def _save_best(self, model, epoch: int) -> None:
        if self.acc.is_main_process:
            inner = self.acc.unwrap_model(model)
            atomic_save(make_checkpoint(inner, vars(self.args).copy(), epoch=epoch), self.best_path)
            llm = getattr(inner, "llm_model", None)
            if llm is not None and hasattr(llm, "peft_config"):  # adapters also in peft's format
                save_adapter(llm, self.ckpt_dir / "adapter")
        self.acc.wait_for_everyone()

    def _save_state(self, model, optimizer, lr_ctrl, early, epoch: int) -> None:
        """Everything needed to continue after ``epoch`` (1-based) as if never interrupted."""
        import random

        import numpy as np

        if self.acc.is_main_process:
            state = make_checkpoint(self.acc.unwrap_model(model), vars(self.args).copy(), epoch=epoch)
            # a ZeRO optimizer holds only this rank's partition: not resumable from one file
            opt_state = None if self.dist_info.get("zero_stage") else optimizer.state_dict()
            state.update(optimizer=opt_state, lr=lr_ctrl.state_dict(),
                         early=early.state_dict(), history=self.history,
                         rng={"python": random.getstate(), "numpy": np.random.get_state(),
                              "torch": torch.get_rng_state()})
            atomic_save(state, self.state_path)
        self.acc.wait_for_everyone()

    def _maybe_resume(self, model, optimizer, lr_ctrl, early) -> int:
        import random

        import numpy as np

        if not self.args.resume:
            if self.best_path.exists() and not self.args.overwrite:
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
        saved_fast = state.get("config", {}).get("fast_path", 1)
        if int(saved_fast) != int(getattr(self.args, "fast_path", 1)):
            raise ConfigError(f"cannot resume: the run used --fast_path {saved_fast} (its optimiser "
                              "state has that path's layout); resume with the same --fast_path")
        apply_checkpoint(self.acc.unwrap_model(model), state, source=str(self.state_path))
        optimizer.load_state_dict(state["optimizer"])
        lr_ctrl.load_state_dict(state["lr"])
        early.load_state_dict(state["early"])
        self.history = list(state["history"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        self.log(f"Resumed {self.setting} after epoch {state['epoch']}")
        if early.early_stop:
            return self.args.train_epochs
        return int(state["epoch"])

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

    def test(self, t_start: float) -> dict:
        args, acc = self.args, self.acc
        if self.needs_training:
            ckpt = load_checkpoint(self.best_path)
            apply_checkpoint(self.model, ckpt, source=str(self.best_path))
            best_epoch = ckpt.get("epoch")
        else:
            best_epoch = None
        model = self.model.to(acc.device)
        if self.needs_training:  # autocast for mixed precision, no DDP wrapper for inference
            model = acc.prepare_model(model, evaluation_mode=True)
        loaders = self._loaders(("test",))
        check_channels(args, loaders["test"][0])
        result = self._reused_test(best_epoch)
        if result is None:
            if self.task.name == "long_term_forecast":
                ds, ld = loaders["test"]
                loaders["test"] = (ds, acc.prepare(ld))
            result = self._evaluate(model, "test", True, loaders)
        else:
            self.log(f"final test: the pass of epoch {best_epoch} (made with these weights) is reused")
        info = {"setting": self.setting, "best_epoch": best_epoch, "wall_seconds": time.time() - t_start,
                "trainable_parameters": self.n_trainable(), "num_processes": acc.num_processes,
                "lr_schedule": self.schedule_note, "history": self.history, "distributed": self.dist_info,
                "backbone_checksum": self.backbone_checksum,
                "checkpoint": str(self.best_path) if self.needs_training else None}
        if acc.is_main_process:
            self.results.write(result, info, loaders["test"][0])
        self.tracker.finish(result.metrics)
        acc.wait_for_everyone()
        return result.metrics


def run(args) -> list[dict]:
    """Run ``args.itr`` experiments; return their test metrics."""
    from utils.tools import set_seed

    resolve_args(args)
    accelerator = build_accelerator(args)
    out = []
    base_seed = args.seed
    for ii in range(args.itr):
        args.seed = base_seed + ii
        set_seed(args.seed)
        setting = setting_string(args, ii)
        t0 = time.time()
        trainer = Trainer(args, setting, accelerator,
                          train_setting=setting_string(args, ii, zero_shot_suffix=False))
        trainer.results.check_free()
        if args.is_training:
            trainer.train()
        metrics = trainer.test(t0)
        if accelerator.is_main_process:
            print(trainer.results.summary_line(metrics), flush=True)
            print(f"results: {trainer.results.folder}", flush=True)
        out.append(metrics)
    args.seed = base_seed
    return out
