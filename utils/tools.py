"""Early stopping and seeding."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class StopDecision:
    """What :meth:`EarlyStopping.step` decided: save the weights? stop training?

    Truthy exactly when ``improved``, so ``if early.step(loss): save()`` reads naturally.
    """

    improved: bool
    should_stop: bool

    def __bool__(self) -> bool:
        return self.improved


class EarlyStopping:
    """Early stopping on validation loss (TSLib semantics, without its file I/O).

    A loss counts as an improvement when ``val_loss <= best - delta`` (TSLib's
    ``score < best_score + delta`` test negated, so with ``delta = 0`` an equal loss also
    counts); the first loss always does. Otherwise the counter grows and training should
    stop once it reaches ``patience``. Unlike TSLib, a NaN loss is never an improvement.
    The trainer saves the weights itself whenever ``improved`` is True.
    """

    def __init__(self, patience: int = 10, delta: float = 0.0) -> None:
        self.patience = int(patience)
        self.delta = float(delta)
        self.best_loss: float | None = None
        self.counter = 0
        self.early_stop = False

    def step(self, val_loss: float) -> StopDecision:
        """Record one validation loss; returns ``StopDecision(improved, should_stop)``
        (truthy when improved; ``should_stop`` is also kept in :attr:`early_stop`)."""
        val_loss = float(val_loss)
        if not math.isnan(val_loss) and (self.best_loss is None or val_loss <= self.best_loss - self.delta):
            self.best_loss = val_loss
            self.counter = 0
            return StopDecision(True, False)
        self.counter += 1
        if self.counter >= self.patience:
            self.early_stop = True
        return StopDecision(False, self.early_stop)

    __call__ = step

    def state_dict(self) -> dict:
        return {"patience": self.patience, "delta": self.delta, "best_loss": self.best_loss,
                "counter": self.counter, "early_stop": self.early_stop}

    def load_state_dict(self, state: dict) -> None:
        """Restore the counters (patience and delta come from the saved run)."""
        self.patience = int(state["patience"])
        self.delta = float(state["delta"])
        self.best_loss = None if state["best_loss"] is None else float(state["best_loss"])
        self.counter = int(state["counter"])
        self.early_stop = bool(state["early_stop"])


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_states() -> dict:
    """The state of every generator a run draws from: Python's ``random``, NumPy's global one,
    torch's CPU generator and, when CUDA is available, every visible GPU's (``cuda``, a list)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_states(state: dict) -> None:
    """Put back what :func:`rng_states` saved. GPU generators are restored when CUDA is available,
    one per saved device up to the devices visible now (a state saved without CUDA has none)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        for index, device_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state, index)
