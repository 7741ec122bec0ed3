"""N-BEATS-G: shapes, the doubly residual stack, one-batch overfit, the M4 recipe script, and
equality with the authors' forward on the same weights (skipped without their code, see
tests/authors.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from layers.NBEATS_blocks import GenericBasis, NBeatsBlock, doubly_residual
from models import get_model_class
from run_main import build_parser
from tests.authors import authors_forward, authors_repo
from tests.test_baselines import overfit_losses, small_configs
from utils.launches import script_launches

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def configs(**over):
    return small_configs("NBEATS", **{"seq_len": 24, "label_len": 12, "pred_len": 12, "enc_in": 1,
                                      "stacks": 3, "layers": 2, "layer_size": 32, **over})


def test_shapes_and_channels_share_weights():
    cfg = configs()
    model = get_model_class("NBEATS")(cfg)
    x = torch.randn(5, 24, 3)
    out = model(x, None, None, None)
    assert out.shape == (5, 12, 3)
    torch.testing.assert_close(out[:, :, 1], model(x[:, :, 1:2])[:, :, 0])
    per_block = (24 * 32 + 32) + (32 * 32 + 32) + (32 * 36 + 36)
    assert sum(p.numel() for p in model.parameters()) == 3 * per_block


def test_zero_blocks_forecast_the_last_value_and_mask_keeps_padding_at_zero():
    cfg = configs()
    model = get_model_class("NBEATS")(cfg)
    for p in model.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(2, 24, 1)
    torch.testing.assert_close(model(x), x[:, -1:, :].expand(2, 12, 1))
    # one block whose backcast is the input: the residual is zero where observed, and the mask
    # keeps it zero at padded steps too
    block = NBeatsBlock(4, 6, GenericBasis(4, 2), layers=1, layer_size=4)
    seen = []
    block.forward = lambda r: (seen.append(r.clone()) or r * 0 + 1.0, torch.zeros(len(r), 2))
    mask = torch.tensor([[0.0, 1.0, 1.0, 1.0]])
    doubly_residual(torch.nn.ModuleList([block, block]), torch.arange(4.0).view(1, 4), mask)
    torch.testing.assert_close(seen[0], torch.tensor([[3.0, 2.0, 1.0, 0.0]]))     # newest first
    torch.testing.assert_close(seen[1], torch.tensor([[2.0, 1.0, 0.0, 0.0]]))     # masked at padding


def test_overfits_one_batch():
    torch.manual_seed(0)
    cfg = configs(layer_size=64)
    model = get_model_class("NBEATS")(cfg).train()
    x, y = torch.randn(8, 24, 1), torch.randn(8, 12, 1)
    first, final = overfit_losses(model, (x,), y, 1e-3, 200)
    assert final < 0.1 * first, (first, final)


def test_m4_script_is_the_paper_recipe():
    launches = script_launches(ROOT / "scripts/NBEATS_M4.sh", {})
    args = [build_parser().parse_args(launch.run_args) for launch in launches]
    assert [a.seasonal_patterns for a in args] == ["Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly"]
    for a in args:
        assert (a.task_name, a.data, a.model, a.loss) == ("short_term_forecast", "m4", "NBEATS", "SMAPE")
        assert (a.stacks, a.layers, a.layer_size) == (30, 4, 512)
        assert (a.batch_size, a.learning_rate, a.max_grad_norm, a.lr_quirk) == (1024, 1e-3, 1.0, "off")
    only = script_launches(ROOT / "scripts/NBEATS_M4.sh", {"PATTERNS": "Hourly"})
    assert len(only) == 1


def test_cpu_profile_runs_hourly_in_one_python_process():
    launches = script_launches(ROOT / "scripts/cpu/NBEATS_M4_Hourly.sh", {})
    assert len(launches) == 1 and (launches[0].command, launches[0].launcher_args) == ("python", [])
    a = build_parser().parse_args(launches[0].run_args)
    assert (a.model, a.seasonal_patterns, a.loss, a.des) == ("NBEATS", "Hourly", "MASE", "cpu")
    assert (a.stacks, a.layers, a.layer_size, a.batch_size, a.train_epochs, a.patience) == (6, 2, 256, 64, 60, 10)


def test_equals_the_authors_forward_on_the_same_weights(tmp_path):
    repo = authors_repo("N-BEATS", "models/nbeats.py")
    torch.manual_seed(0)
    cfg = configs()
    ours = get_model_class("NBEATS")(cfg).eval()
    x = torch.randn(4, 24, 1)
    mask = torch.ones(4, 24, 1)
    mask[0, :5] = 0.0                                      # a short series, zero-padded at the start
    x[0, :5] = 0.0
    build = ("mod.NBeats(torch.nn.ModuleList([mod.NBeatsBlock(input_size=cfg.L, theta_size=cfg.L + cfg.H, "
             "basis_function=mod.GenericBasis(backcast_size=cfg.L, forecast_size=cfg.H), "
             "layers=cfg.layers, layer_size=cfg.layer_size) for _ in range(cfg.stacks)]))")
    theirs = authors_forward(repo, "models.nbeats", {"L": 24, "H": 12, "layers": 2, "layer_size": 32, "stacks": 3},
                             ours.state_dict(), (x[:, :, 0], mask[:, :, 0]), tmp_path, build=build)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, mask)[:, :, 0], theirs, rtol=1e-5, atol=1e-5)
