"""--lradj schedules with and without the reference's OneCycle quirk; early stopping; seeding."""
import math
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR

from utils.errors import ConfigError
from utils.lr_schedule import (LR_MODES, LRController, adjusted_lr, build_lr_controller, effective_lr,
                               resolve_quirk)
from utils.tools import EarlyStopping, set_seed

EPOCH_MODES = ["type1", "type2", "type3", "PEMS", "constant"]

# no optimizer.step() in these tests: torch's ordering warning is expected
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")


def adam(lr=1e-3):
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def reference_epoch_lrs(mode: str, learning_rate: float, epochs: int, steps: int = 5,
                        quirk: bool = True) -> list[float]:
    """The lr of each epoch, transcribed from Time-LLM's run_main.py / utils/tools.py (quirk)
    or Time-Series-Library's exp + adjust_learning_rate (no quirk)."""
    args = SimpleNamespace(lradj=mode, learning_rate=learning_rate)
    opt = adam(learning_rate)
    if quirk:
        OneCycleLR(optimizer=opt, steps_per_epoch=steps, pct_start=0.2, epochs=epochs, max_lr=learning_rate)

    def adjust_learning_rate(optimizer, epoch, args):
        if args.lradj == "type1":
            lr_adjust = {epoch: args.learning_rate * (0.5 ** ((epoch - 1) // 1))}
        elif args.lradj == "type2":
            lr_adjust = {2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7, 20: 5e-8}
        elif args.lradj == "type3":
            lr_adjust = {epoch: args.learning_rate if epoch < 3 else args.learning_rate * (0.9 ** ((epoch - 3) // 1))}
        elif args.lradj == "PEMS":
            lr_adjust = {epoch: args.learning_rate * (0.95 ** (epoch // 1))}
        elif args.lradj == "constant":
            lr_adjust = {epoch: args.learning_rate}
        if epoch in lr_adjust.keys():
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr_adjust[epoch]

    lrs = []
    for epoch in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])  # the lr this epoch trains with
        if epoch == 0:
            args.learning_rate = opt.param_groups[0]["lr"]
        adjust_learning_rate(opt, epoch + 1, args)
    return lrs


def controller_epoch_lrs(mode, lr, epochs, quirk, steps=5):
    opt = adam(lr)
    ctrl = LRController(opt, mode, lr, steps_per_epoch=steps, epochs=epochs, quirk=quirk)
    out = []
    for e in range(1, epochs + 1):
        out.append(ctrl.current_lr)
        for _ in range(steps):
            ctrl.on_batch_end()
        ctrl.on_epoch_end(e)
    return out, ctrl


def test_type1_quirk_example_verbatim():
    # --lradj type1 --learning_rate 0.01: 4e-4 in epochs 1-2, then 2e-4, 1e-4, ...
    got = [effective_lr("type1", 0.01, e, quirk=True) for e in range(1, 6)]
    np.testing.assert_allclose(got, [4e-4, 4e-4, 2e-4, 1e-4, 5e-5], rtol=1e-12)
    lrs, ctrl = controller_epoch_lrs("type1", 0.01, 5, quirk=True)
    np.testing.assert_allclose(lrs, [4e-4, 4e-4, 2e-4, 1e-4, 5e-5], rtol=1e-12)
    assert ctrl.describe().startswith("type1 from 4e-04 (reference OneCycle quirk")


def test_plain_schedules_epoch_by_epoch():
    lr = 0.01
    table = {
        "type1": [lr, lr, lr / 2, lr / 4, lr / 8],
        "type2": [lr, lr, 5e-5, 5e-5, 1e-5, 1e-5, 5e-6, 5e-6, 1e-6, 1e-6, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7,
                  1e-7, 1e-7, 1e-7, 1e-7, 1e-7, 5e-8, 5e-8],
        "type3": [lr, lr, lr, lr, lr * 0.9, lr * 0.81],
        "PEMS": [lr, lr * 0.95, lr * 0.95 ** 2, lr * 0.95 ** 3],
        "constant": [lr, lr, lr],
    }
    for mode, expected in table.items():
        got = [effective_lr(mode, lr, e) for e in range(1, len(expected) + 1)]
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=mode)
        lrs, ctrl = controller_epoch_lrs(mode, lr, len(expected), quirk=False)
        np.testing.assert_allclose(lrs, expected, rtol=1e-12, err_msg=mode)
        assert ctrl.describe() == f"{mode} from 1e-02"


def test_quirk_schedules_epoch_by_epoch():
    s = 0.01 / 25
    table = {
        "type2": [s, s, 5e-5, 5e-5, 1e-5],
        "type3": [s, s, s, s, s * 0.9],
        "PEMS": [s, s * 0.95, s * 0.95 ** 2],
        "constant": [s, s, s],
    }
    for mode, expected in table.items():
        got = [effective_lr(mode, 0.01, e, quirk=True) for e in range(1, len(expected) + 1)]
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=mode)


@pytest.mark.parametrize("mode", EPOCH_MODES)
@pytest.mark.parametrize("quirk", [True, False])
def test_controller_and_effective_lr_equal_the_reference_loop_bit_for_bit(mode, quirk):
    expected = reference_epoch_lrs(mode, 0.02, 22, quirk=quirk)
    lrs, _ = controller_epoch_lrs(mode, 0.02, 22, quirk=quirk)
    assert lrs == expected
    assert [effective_lr(mode, 0.02, e, quirk=quirk) for e in range(1, 23)] == expected


def test_quirk_also_sets_adam_beta1_like_the_reference():
    opt = adam()
    ctrl = LRController(opt, "type1", 0.01, steps_per_epoch=3, epochs=2, quirk=True)
    assert opt.param_groups[0]["betas"][0] == 0.95
    assert "beta1 0.95" in ctrl.describe()
    opt = adam()
    LRController(opt, "type1", 0.01, steps_per_epoch=3, epochs=2, quirk=False)
    assert opt.param_groups[0]["betas"][0] == 0.9


@pytest.mark.parametrize("quirk", [False, True])  # the quirk changes nothing for TST
def test_tst_matches_torch_onecycle_step_by_step(quirk):
    steps, epochs, lr = 7, 3, 0.005
    opt_ref = adam(lr)
    ref = OneCycleLR(opt_ref, max_lr=lr, steps_per_epoch=steps, epochs=epochs, pct_start=0.3)
    opt = adam(lr)
    ctrl = LRController(opt, "TST", lr, steps_per_epoch=steps, epochs=epochs, pct_start=0.3, quirk=quirk)
    assert ctrl.describe().startswith("TST OneCycle max_lr 5e-03")
    expected, got = [], []
    for e in range(1, epochs + 1):
        for _ in range(steps):
            expected.append(opt_ref.param_groups[0]["lr"])
            got.append(ctrl.current_lr)
            ref.step()
            ctrl.on_batch_end()
        ctrl.on_epoch_end(e)  # no effect for TST
    assert got == expected
    assert opt.param_groups[0]["betas"] == opt_ref.param_groups[0]["betas"]  # beta1 cycles too
    assert got[0] == pytest.approx(lr / 25) and 0.99 * lr < max(got) <= lr
    held = ctrl.current_lr
    ctrl.on_batch_end()  # past the end: held (the reference would raise)
    assert ctrl.current_lr == held


def test_tst_with_several_processes_steps_like_accelerate():
    # reference: OneCycle over the unsharded batch count, stepped num_processes times per batch
    full_batches, procs, epochs, lr = 10, 2, 2, 0.01
    opt_ref = adam(lr)
    ref = OneCycleLR(opt_ref, max_lr=lr, steps_per_epoch=full_batches, epochs=epochs, pct_start=0.2)
    ctrl = LRController(adam(lr), "TST", lr, steps_per_epoch=full_batches, epochs=epochs,
                        steps_per_batch=procs)
    for _ in range(full_batches * epochs // procs):
        assert ctrl.current_lr == opt_ref.param_groups[0]["lr"]
        ctrl.on_batch_end()
        for _ in range(procs):
            ref.step()
    assert ctrl.steps_done == ref.total_steps


@pytest.mark.parametrize("quirk", [False, True])  # nor for COS
def test_cos_matches_torch_cosine_annealing_every_epoch(quirk):
    lr = 0.001
    opt_ref = adam(lr)
    ref = CosineAnnealingLR(opt_ref, T_max=20, eta_min=1e-8)
    opt = adam(lr)
    ctrl = LRController(opt, "COS", lr, steps_per_epoch=4, epochs=45, quirk=quirk)
    assert opt.param_groups[0]["betas"][0] == 0.9
    for e in range(1, 46):
        assert ctrl.current_lr == opt_ref.param_groups[0]["lr"]
        assert effective_lr("COS", lr, e) == pytest.approx(opt_ref.param_groups[0]["lr"], rel=1e-9, abs=1e-15)
        for _ in range(4):
            ctrl.on_batch_end()  # no effect for COS
        ctrl.on_epoch_end(e)
        ref.step()
    assert effective_lr("COS", lr, 21) == pytest.approx(1e-8)


@pytest.mark.parametrize("mode,quirk", [("type1", True), ("TST", False), ("COS", False), ("type2", False)])
def test_resume_from_state_dict_continues_identically(mode, quirk):
    steps, epochs = 3, 8

    def run(stop_after=None, state=None):
        opt = adam(0.01)
        ctrl = LRController(opt, mode, 0.01, steps_per_epoch=steps, epochs=epochs, quirk=quirk)
        first = 1
        if state is not None:
            ctrl.load_state_dict(state)
            first = state["epochs_done"] + 1
        lrs = []
        for e in range(first, epochs + 1):
            for _ in range(steps):
                lrs.append(ctrl.current_lr)
                ctrl.on_batch_end()
            ctrl.on_epoch_end(e)
            if e == stop_after:
                return lrs, ctrl.state_dict()
        return lrs, ctrl.state_dict()

    full, _ = run()
    head, state = run(stop_after=3)
    tail, _ = run(state=state)
    assert head + tail == full


def test_resume_refuses_another_schedule():
    ctrl = LRController(adam(), "type1", 0.01, quirk=True)
    other = LRController(adam(), "type1", 0.01, quirk=False)
    with pytest.raises(ConfigError, match="cannot resume"):
        other.load_state_dict(ctrl.state_dict())


def test_modes_registry_and_errors():
    assert set(LR_MODES) == {"type1", "type2", "type3", "PEMS", "constant", "TST", "COS"}
    with pytest.raises(ConfigError, match="unknown lradj mode 'type9'"):
        LRController(adam(), "type9", 0.01)
    with pytest.raises(ValueError, match="every batch"):
        effective_lr("TST", 0.01, 1)
    assert adjusted_lr("type2", 0.01, 3) is None and adjusted_lr("type2", 0.01, 4) == 1e-5
    assert effective_lr("pems", 0.01, 2) == pytest.approx(0.0095)  # case-insensitive


def test_quirk_resolution(monkeypatch):
    import models

    def model_default(name):  # what exp/config.py passes: the model's reference_lr_quirk
        return models.model_attr(name, "reference_lr_quirk", False)

    assert resolve_quirk("on", model_default("DLinear")) is True
    assert resolve_quirk("off", True) is False
    assert resolve_quirk("auto", model_default("Naive2")) is False
    monkeypatch.setattr(models, "model_attr", lambda name, attr, default: name == "TimeLLM")
    assert resolve_quirk("auto", model_default("TimeLLM")) is True
    with pytest.raises(ConfigError):
        resolve_quirk("maybe", True)


def test_controller_from_run_args():
    args = SimpleNamespace(lradj="type1", learning_rate=0.01, train_epochs=10, pct_start=0.2,
                           lr_quirk="on", model="TimeLLM")
    opt = adam()
    ctrl = build_lr_controller(opt, args, steps_per_epoch=4)
    assert ctrl.current_lr == pytest.approx(4e-4)
    args.lr_quirk = "off"
    assert build_lr_controller(adam(), args, 4).current_lr == 0.01


# ----------------------------------------------------------------------------- early stopping


def test_early_stopping_counts_and_stops():
    es = EarlyStopping(patience=2)
    d = es.step(1.0)
    assert d.improved and not d.should_stop and bool(d)
    d = es.step(1.0)  # equal counts as an improvement with delta 0 (TSLib)
    assert d.improved
    d = es.step(1.1)
    assert not d and not d.should_stop and es.counter == 1
    d = es.step(float("nan"))  # never an improvement
    assert not d.improved and d.should_stop and es.early_stop
    assert es.best_loss == 1.0


def test_early_stopping_delta_and_state_dict():
    es = EarlyStopping(patience=3, delta=0.1)
    es.step(1.0)
    assert not es.step(0.95).improved  # not better by delta
    assert es.step(0.85).improved
    es.step(0.9)
    state = es.state_dict()
    other = EarlyStopping(patience=99)
    other.load_state_dict(state)
    assert other.state_dict() == state
    other.step(2.0)
    d = other.step(2.0)
    assert d.should_stop and other.counter == 3


def test_set_seed_reproduces_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    set_seed(123)
    a = draw()
    set_seed(123)
    assert draw() == a
    set_seed(124)
    assert draw() != a
    assert not math.isnan(a[0])


def test_first_epoch_quirk_is_patchtst_authors_trainer():
    """PatchTST's trainer builds an unused OneCycleLR: epoch 1 at lr/25, then type3 from lr."""
    import torch
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1e-4)
    ctrl = LRController(opt, "type3", 1e-4, steps_per_epoch=10, epochs=100, quirk="first_epoch")
    lrs = []
    for epoch in range(1, 6):
        lrs.append(ctrl.current_lr)
        ctrl.on_epoch_end(epoch)
    assert lrs == pytest.approx([4e-6, 1e-4, 1e-4, 1e-4, 9e-5])
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)
    assert "epoch 1 at 4e-06" in ctrl.describe()
