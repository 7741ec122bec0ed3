"""N-BEATS-G: shared weights across channels and the parameter count, the doubly residual stack,
the M4 recipe and CPU profile scripts. Registered, shapes, one-batch overfit and equality with the
authors' forward on the same weights are the shared checks (tests/test_models.py,
tests/helpers/model_checks.py)."""
from __future__ import annotations

from functools import partial

import pytest
import torch

from layers.NBEATS_blocks import GenericBasis, NBeatsBlock, doubly_residual
from models import get_model_class
from run_main import build_parser
from tests.helpers.model_checks import model_configs
from tests.helpers.project import ROOT
from tests.helpers.scripts import launches

pytestmark = pytest.mark.usefixtures("one_thread")
configs = partial(model_configs, "NBEATS")  # the shared checks' test size, flags overridable


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


def test_m4_script_is_the_paper_recipe():
    recorded = launches(ROOT / "scripts/NBEATS_M4.sh", {})
    args = [build_parser().parse_args(launch.run_args) for launch in recorded]
    assert [a.seasonal_patterns for a in args] == ["Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly"]
    for a in args:
        assert (a.task_name, a.data, a.model, a.loss) == ("short_term_forecast", "m4", "NBEATS", "SMAPE")
        assert (a.stacks, a.layers, a.layer_size) == (30, 4, 512)
        assert (a.batch_size, a.learning_rate, a.max_grad_norm, a.lr_quirk) == (1024, 1e-3, 1.0, "off")
    only = launches(ROOT / "scripts/NBEATS_M4.sh", {"PATTERNS": "Hourly"})
    assert len(only) == 1


def test_cpu_profile_runs_hourly_in_one_python_process():
    recorded = launches(ROOT / "scripts/cpu/NBEATS_M4_Hourly.sh", {})
    assert len(recorded) == 1 and (recorded[0].command, recorded[0].launcher_args) == ("python", [])
    a = build_parser().parse_args(recorded[0].run_args)
    assert (a.model, a.seasonal_patterns, a.loss, a.des) == ("NBEATS", "Hourly", "MASE", "cpu")
    assert (a.stacks, a.layers, a.layer_size, a.batch_size, a.train_epochs, a.patience) == (6, 2, 256, 64, 60, 10)
