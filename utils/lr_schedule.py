"""Learning-rate schedules of ``--lradj`` (docs/REFERENCE.md section 4), with the reference's quirk.

Modes. Epoch-wise modes follow TSLib's ``adjust_learning_rate(optimizer, epoch, args)``,
called *after* each (1-based) epoch ``e`` with the formula below, so the value set after
epoch ``e`` is the lr of epoch ``e + 1``; epoch 1 runs at the starting lr:

=========  ===========================================================================
type1      lr * 0.5^(e-1)              (epochs 1 and 2 both run at lr, then halving)
type2      table {2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7, 20: 5e-8};
           other epochs keep the current lr
type3      lr if e < 3 else lr * 0.9^(e-3)
PEMS       lr * 0.95^e
constant   lr
COS        torch CosineAnnealingLR(T_max=20, eta_min=1e-8), stepped after every epoch
TST        torch OneCycleLR(max_lr=lr, pct_start, steps_per_epoch, epochs), stepped after
           every batch
=========  ===========================================================================

The reference quirk (Time-LLM ``run_main.py``): for every mode but COS it builds
``OneCycleLR(optimizer, max_lr=learning_rate, ...)``, whose constructor sets the lr to
``max_lr / 25`` and, for Adam, beta1 to 0.95 (``cycle_momentum``); it never steps it for the
epoch-wise modes, and after epoch 1 it sets ``args.learning_rate`` to that lr, so the
epoch-wise schedule starts from ``learning_rate / 25``: ``--lradj type1 --learning_rate 0.01``
gives 4e-4 in epochs 1-2, then 2e-4, 1e-4, ... With ``quirk=True`` :class:`LRController`
does exactly that (it constructs the same OneCycleLR, so beta1 changes too). The quirk
changes nothing for TST and COS. ``--lr_quirk auto`` takes it from the model class
attribute ``reference_lr_quirk`` (on for TimeLLM, off for the baselines, whose TSLib /
LTSF-Linear recipes start at ``learning_rate``); the run configuration resolves it
(``exp/config.py``) and passes the model's value here as ``model_default``.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR

from utils.errors import ConfigError, unknown_name

DIV_FACTOR = 25.0  # OneCycleLR default: initial lr = max_lr / 25
COS_T_MAX = 20
COS_ETA_MIN = 1e-8
TYPE2_TABLE: dict[int, float] = {2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7, 20: 5e-8}

# Epoch-wise adjustment: (learning_rate, epoch just finished) -> new lr, or None for no change.
EPOCH_RULES: dict[str, Callable[[float, int], float | None]] = {
    "type1": lambda lr, e: lr * 0.5 ** ((e - 1) // 1),
    "type2": lambda lr, e: TYPE2_TABLE.get(e),
    "type3": lambda lr, e: lr if e < 3 else lr * 0.9 ** ((e - 3) // 1),
    "PEMS": lambda lr, e: lr * 0.95 ** (e // 1),
    "constant": lambda lr, e: lr,
}
LR_MODES: tuple[str, ...] = (*EPOCH_RULES, "COS", "TST")


def canonical_mode(mode: str) -> str:
    """Registry spelling of ``mode`` (case-insensitive); unknown modes raise ConfigError."""
    for name in LR_MODES:
        if name.lower() == str(mode).lower():
            return name
    raise unknown_name("lradj mode", str(mode), LR_MODES)


def quirk_start_lr(learning_rate: float, div_factor: float = DIV_FACTOR) -> float:
    """The lr OneCycleLR's constructor leaves in the optimizer, bit for bit as torch computes it
    (cosine annealing from ``max_lr / div_factor`` at step 0), e.g. 0.01 -> 0.0003999999999999993."""
    start, end = learning_rate / div_factor, learning_rate
    return end + (start - end) / 2.0 * (math.cos(0.0) + 1)


def adjusted_lr(mode: str, learning_rate: float, epoch: int) -> float | None:
    """The lr an epoch-wise mode sets after (1-based) ``epoch``, or None when it keeps the lr."""
    mode = canonical_mode(mode)
    if mode not in EPOCH_RULES:
        raise ValueError(f"lradj {mode} is not an epoch-wise rule")
    return EPOCH_RULES[mode](learning_rate, epoch)


def cosine_lr(base_lr: float, epoch: int, t_max: int = COS_T_MAX, eta_min: float = COS_ETA_MIN) -> float:
    """COS: lr during (1-based) ``epoch`` (closed form of CosineAnnealingLR after epoch - 1 steps)."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * (epoch - 1) / t_max)) / 2


def effective_lr(mode: str, base_lr: float, epoch: int, quirk: bool = False,
                 div_factor: float = DIV_FACTOR) -> float:
    """The lr used during (1-based) ``epoch`` for an epoch-wise mode (type1/2/3, PEMS, constant, COS).

    ``base_lr`` is ``--learning_rate``; ``quirk`` applies the reference's OneCycle start
    (``base_lr / div_factor``; no effect for COS). TST changes every batch: use :class:`LRController`.
    """
    mode = canonical_mode(mode)
    if epoch < 1:
        raise ValueError(f"epochs are 1-based, got {epoch}")
    if mode == "TST":
        raise ValueError("TST changes the lr every batch; use LRController")
    if mode == "COS":
        return cosine_lr(base_lr, epoch)
    lr = quirk_start_lr(base_lr, div_factor) if quirk else base_lr
    start = lr
    for finished in range(1, epoch):
        new = EPOCH_RULES[mode](start, finished)
        if new is not None:
            lr = new
    return lr


def _fmt(v: float) -> str:
    """4e-04, 1.5e-04: short scientific notation for descriptions."""
    mantissa, exp = f"{v:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{exp}"


QUIRKS: dict[str, bool | str] = {"on": True, "off": False, "first_epoch": "first_epoch"}


def resolve_quirk_name(lr_quirk: str, model_default: bool | None = None) -> str:
    """``--lr_quirk`` without 'auto': 'on' / 'off' / 'first_epoch' as given, 'auto' = 'on' when
    ``model_default`` (the model's ``reference_lr_quirk``) else 'off'.

    'on' is Time-LLM's quirk (the lr/25 start is carried into the epoch-wise schedule);
    'first_epoch' is PatchTST's authors' trainer, which also builds an unused OneCycleLR, so
    only epoch 1 runs at lr/25 before its schedule restarts from ``learning_rate`` (both
    leave Adam's beta1 at OneCycle's 0.95).
    """
    value = str(lr_quirk).lower()
    if value == "auto":
        if model_default is None:
            raise ValueError("--lr_quirk auto needs the model's default (its reference_lr_quirk)")
        return "on" if model_default else "off"
    if value not in QUIRKS:
        raise ConfigError(f"--lr_quirk must be auto, on, off or first_epoch, got '{lr_quirk}'")
    return value


def resolve_quirk(lr_quirk: str, model_default: bool | None = None) -> bool | str:
    """The ``quirk`` argument of :class:`LRController` for ``--lr_quirk``: True ('on'), False
    ('off') or 'first_epoch'; 'auto' takes ``model_default`` (see :func:`resolve_quirk_name`)."""
    return QUIRKS[resolve_quirk_name(lr_quirk, model_default)]


class LRController:
    """Drives the optimizer's lr for one run; the trainer calls two hooks.

    - :meth:`on_batch_end` after every optimizer step (only TST reacts),
    - :meth:`on_epoch_end` with the 1-based epoch just finished (the reference calls it
      after the early-stopping check, so a stopping epoch is never adjusted; either order
      gives the same training).

    Build it as ``LRController(optimizer, mode, learning_rate, steps_per_epoch=...,
    epochs=..., pct_start=..., quirk=...)`` or from the run's flags with
    :func:`build_lr_controller`. TST's OneCycle spans ``steps_per_epoch * epochs`` scheduler
    steps and each :meth:`on_batch_end` takes ``steps_per_batch`` of them. The reference takes
    ``steps_per_epoch = len(train_loader)`` before ``accelerator.prepare`` (all processes'
    batches) and Accelerate's scheduler wrapper steps once per process on every batch; so
    pass the unsharded batch count with ``steps_per_batch = num_processes`` to match it
    exactly, or the per-process batch count with 1 (the same curve on a coarser grid).
    ``current_lr`` is the lr the next
    batch will use; ``description`` says which schedule ran (for metrics.json).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, mode: str, learning_rate: float, *,
                 steps_per_epoch: int = 1, epochs: int = 1, pct_start: float = 0.2,
                 quirk: bool | str = False, steps_per_batch: int = 1) -> None:
        self.optimizer = optimizer
        self.mode = canonical_mode(mode)
        self.learning_rate = float(learning_rate)
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.steps_per_batch = max(int(steps_per_batch), 1)
        self.epochs = max(int(epochs), 1)
        self.pct_start = float(pct_start)
        self.quirk = quirk if quirk == "first_epoch" else bool(quirk)
        self.steps_done = 0
        self.epochs_done = 0
        self.scheduler = None
        self._set_lr(self.learning_rate)
        if self.mode == "TST":
            self.scheduler = self._one_cycle()
            self.base_lr = self.learning_rate
            self.description = (f"TST OneCycle max_lr {_fmt(self.base_lr)}, pct_start "
                                f"{self.pct_start:g}, stepped per batch")
        elif self.mode == "COS":
            self.scheduler = CosineAnnealingLR(optimizer, T_max=COS_T_MAX, eta_min=COS_ETA_MIN)
            self.base_lr = self.learning_rate
            self.description = (f"COS cosine from {_fmt(self.base_lr)}, T_max {COS_T_MAX}, "
                                f"eta_min {_fmt(COS_ETA_MIN)}, stepped per epoch")
        elif self.quirk == "first_epoch":
            self._one_cycle()  # sets epoch 1's lr to learning_rate / 25 (and Adam's beta1)
            self.base_lr = self.learning_rate
            self.description = (f"{self.mode} from {_fmt(self.base_lr)}, epoch 1 at "
                                f"{_fmt(self.current_lr)} (PatchTST authors' OneCycle quirk")
            self.description += ", Adam beta1 0.95)" if self._has_betas() else ")"
        elif self.quirk:
            self._one_cycle()  # constructed for its side effects only, as in the reference
            self.base_lr = self.current_lr
            self.description = f"{self.mode} from {_fmt(self.base_lr)} (reference OneCycle quirk"
            self.description += ", Adam beta1 0.95)" if self._has_betas() else ")"
        else:
            self.base_lr = self.learning_rate
            self.description = f"{self.mode} from {_fmt(self.base_lr)}"

    def describe(self) -> str:
        """Which schedule this run uses, e.g. 'type1 from 4e-04 (reference OneCycle quirk, ...)'."""
        return self.description

    def _has_betas(self) -> bool:
        return "betas" in self.optimizer.defaults

    def _one_cycle(self) -> OneCycleLR:
        cycle_momentum = "momentum" in self.optimizer.defaults or self._has_betas()
        return OneCycleLR(self.optimizer, max_lr=self.learning_rate, epochs=self.epochs,
                          steps_per_epoch=self.steps_per_epoch, pct_start=self.pct_start,
                          cycle_momentum=cycle_momentum)

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @property
    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def on_batch_end(self) -> None:
        """After an optimizer step: TST advances its OneCycle (held at its end, where the
        reference would raise)."""
        if self.mode != "TST":
            return
        for _ in range(self.steps_per_batch):
            if self.steps_done >= self.scheduler.total_steps:
                break
            self.scheduler.step()
            self.steps_done += 1

    def on_epoch_end(self, epoch: int) -> None:
        """After (1-based) ``epoch``: set the lr of the next epoch."""
        self.epochs_done = int(epoch)
        if self.mode == "COS":
            self.scheduler.step()
        elif self.mode != "TST":
            new = EPOCH_RULES[self.mode](self.base_lr, int(epoch))
            if new is not None:
                self._set_lr(new)

    def state_dict(self) -> dict:
        return {
            "mode": self.mode, "learning_rate": self.learning_rate, "quirk": self.quirk,
            "base_lr": self.base_lr, "lr": self.current_lr, "steps_done": self.steps_done,
            "epochs_done": self.epochs_done, "description": self.description,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume: restores counters, the torch scheduler's state and the optimizer's lr."""
        if state["mode"] != self.mode or state["quirk"] != self.quirk:
            raise ConfigError(
                f"cannot resume: the run used lradj {state['mode']} (quirk {state['quirk']}), "
                f"this one {self.mode} (quirk {self.quirk}); use the same --lradj / --lr_quirk")
        self.learning_rate = float(state["learning_rate"])
        self.base_lr = float(state["base_lr"])
        self.steps_done = int(state["steps_done"])
        self.epochs_done = int(state["epochs_done"])
        self.description = state["description"]
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self._set_lr(float(state["lr"]))


def build_lr_controller(optimizer: torch.optim.Optimizer, args, steps_per_epoch: int,
                        steps_per_batch: int = 1) -> LRController:
    """An :class:`LRController` from the run's flags: ``lradj``, ``learning_rate``,
    ``train_epochs``, ``pct_start`` and ``lr_quirk`` (already resolved: on, off or first_epoch)."""
    return LRController(optimizer, args.lradj, args.learning_rate, steps_per_epoch=steps_per_epoch,
                        epochs=args.train_epochs, pct_start=args.pct_start,
                        quirk=resolve_quirk(args.lr_quirk), steps_per_batch=steps_per_batch)
