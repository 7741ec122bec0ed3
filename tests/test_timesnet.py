"""TimesNet: the period search and folding, the merged inception kernel (the fast path), calls
without marks and with one output channel, and the recipe script. Registered, shapes, one-batch
overfit and equality with the authors' forward on the same weights (Time-Series-Library) are the
shared checks (tests/test_models.py, tests/helpers/model_checks.py)."""
from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from layers.Conv_Blocks import Inception_Block_V1
from models import get_model_class
from models.TimesNet import fft_periods
from tests.helpers.model_checks import model_configs
from tests.helpers.model_inputs import make_batch
from tests.helpers.project import ROOT
from tests.helpers.scripts import parsed

pytestmark = pytest.mark.usefixtures("one_thread")
configs = partial(model_configs, "TimesNet")  # the shared checks' test size, flags overridable


def test_without_marks_and_features_ms():
    cfg = configs()
    model = get_model_class("TimesNet")(cfg).eval()
    assert model(make_batch(cfg)[0], None).shape == (4, cfg.pred_len, 7)
    ms = get_model_class("TimesNet")(configs(c_out=1))
    assert ms(*make_batch(configs(c_out=1))[:4]).shape == (4, cfg.pred_len, 1)


def test_fft_periods_find_the_planted_period():
    t = torch.arange(120.0)
    x = torch.sin(2 * math.pi * t / 12).view(1, 120, 1).repeat(2, 1, 3)
    x[1] *= 2.0
    periods, amp = fft_periods(x, 2)
    assert periods[0] == 12 and amp.shape == (2, 2)
    assert amp[1, 0] == pytest.approx(2 * amp[0, 0].item(), rel=1e-5)


def test_inception_block_keeps_the_grid_and_averages_kernels():
    block = Inception_Block_V1(3, 5, num_kernels=3)
    x = torch.randn(2, 3, 7, 4)
    assert block(x).shape == (2, 5, 7, 4)
    expected = sum(conv(x) for conv in block.kernels) / 3
    torch.testing.assert_close(block(x), expected)
    assert all(conv.bias.abs().sum() == 0 for conv in block.kernels)


def test_merged_inception_kernel_equals_the_kernels_one_by_one():
    torch.manual_seed(0)
    block = Inception_Block_V1(4, 6, num_kernels=6)
    for conv in block.kernels:  # non-zero biases, so their averaging is checked too
        torch.nn.init.normal_(conv.bias)
    weight, bias = block.merged_kernel()
    assert weight.shape == (6, 4, 11, 11)
    torch.testing.assert_close(weight[:, :, 5, 5], sum(c.weight[:, :, c.padding[0], c.padding[0]]
                                                        for c in block.kernels) / 6)
    x = torch.randn(3, 4, 5, 9)
    grads = []
    for merged in (True, False):
        block.merged = merged
        block.zero_grad()
        out = block(x)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append((out.detach(), [c.weight.grad.clone() for c in block.kernels],
                      [c.bias.grad.clone() for c in block.kernels]))
    (out_m, wg_m, bg_m), (out_p, wg_p, bg_p) = grads
    torch.testing.assert_close(out_m, out_p, rtol=1e-5, atol=1e-5)
    for a, b in zip(wg_m + bg_m, wg_p + bg_p):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_fast_path_off_runs_the_authors_computation_with_the_same_result():
    torch.manual_seed(0)
    fast = get_model_class("TimesNet")(configs(fast_path=1)).eval()
    plain = get_model_class("TimesNet")(configs(fast_path=0)).eval()
    plain.load_state_dict(fast.state_dict())
    assert all(not m.merged for m in plain.modules() if isinstance(m, Inception_Block_V1))
    assert all(m.merged for m in fast.modules() if isinstance(m, Inception_Block_V1))
    batch = make_batch(configs(), B=3)[:4]
    outs = []
    for model in (fast, plain):
        model.zero_grad()
        out = model(*batch)
        out.square().mean().backward()
        outs.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-5)
    for a, b in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_script_is_the_authors_recipe():
    args = [a for _, a in parsed(ROOT / "scripts/TimesNet_ETTh1.sh")]
    assert [a.pred_len for a in args] == [96, 192, 336, 720]
    for a in args:
        assert (a.model, a.data, a.features, a.seq_len, a.label_len, a.channel_independence) == (
            "TimesNet", "ETTh1", "M", 96, 48, 0)
        assert (a.e_layers, a.top_k, a.num_kernels, a.dropout, a.embed) == (2, 5, 6, 0.1, "timeF")
        assert (a.batch_size, a.learning_rate, a.lradj, a.train_epochs, a.patience, a.seed) == (
            32, 1e-4, "type1", 10, 3, 2021)
    assert [(a.d_model, a.d_ff) for a in args] == [(16, 32)] * 4
