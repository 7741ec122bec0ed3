"""N-HiTS: pooling and knot sizes, blocks and shared weights across channels, the doubly residual
start, the flag checks, the M4 recipe and CPU profile scripts. Registered, shapes, one-batch
overfit and equality with the authors' forward on the same weights (cchallu/n-hits as
/tmp/authors/n-hits) are the shared checks (tests/test_models.py, tests/helpers/model_checks.py)."""
from __future__ import annotations

from functools import partial

import pytest
import torch

from exp.config import build_config
from layers.NHITS_blocks import InterpolatedBasis, NHitsBlock, n_knots, pooled_length
from models import get_model_class
from run_main import build_parser
from tests.helpers.model_checks import model_configs
from tests.helpers.project import ROOT
from tests.helpers.scripts import launches
from timellm_api import config_from_argv, flags_to_argv
from utils.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")
configs = partial(model_configs, "NHITS")  # the shared checks' test size, flags overridable


@pytest.mark.parametrize("L,k,pooled", [(24, 1, 24), (24, 2, 12), (24, 5, 5), (96, 16, 6), (12, 8, 2)])
def test_pooled_length_is_what_the_pooling_layer_gives(L, k, pooled):
    assert pooled_length(L, k) == pooled
    block = NHitsBlock(L, 6, k, 1, layers=1, layer_size=4)
    assert block.layers[0].in_features == pooled
    seen = []
    block.layers.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    block(torch.randn(3, L))
    assert seen == [(3, pooled)]


@pytest.mark.parametrize("H,f,knots", [(48, 4, 12), (48, 24, 2), (6, 4, 1), (6, 8, 1), (13, 2, 6), (12, 1, 12)])
def test_knots_and_their_interpolation_to_the_horizon(H, f, knots):
    assert n_knots(H, f) == knots
    block = NHitsBlock(10, H, 1, f, layers=1, layer_size=4)
    assert block.layers[-1].out_features == 10 + knots
    backcast, forecast = block(torch.randn(2, 10))
    assert backcast.shape == (2, 10) and forecast.shape == (2, H)


def test_linear_and_nearest_interpolation_of_the_knots():
    theta = torch.tensor([[9.0, 0.0, 2.0]])             # backcast 9, knots 0 and 2
    backcast, lin = InterpolatedBasis(1, 4, "linear")(theta)
    torch.testing.assert_close(backcast, torch.tensor([[9.0]]))
    # align_corners=False: the knots sit at the centres of two halves of the horizon
    torch.testing.assert_close(lin, torch.tensor([[0.0, 0.5, 1.5, 2.0]]))
    _, near = InterpolatedBasis(1, 4, "nearest")(theta)
    torch.testing.assert_close(near, torch.tensor([[0.0, 0.0, 2.0, 2.0]]))
    _, same = InterpolatedBasis(1, 2, "linear")(theta)  # as many knots as steps: the knots
    torch.testing.assert_close(same, theta[:, 1:])


def test_shapes_blocks_and_channels_share_weights():
    cfg = configs(n_pool_kernel_size=[4, 2, 1, 1], n_freq_downsample=[6, 3, 1, 1], n_blocks=[2, 1, 1, 1])
    model = get_model_class("NHITS")(cfg)
    assert len(model.blocks) == 5
    assert [b.layers[0].in_features for b in model.blocks] == [6, 6, 12, 24, 24]
    assert [b.layers[-1].out_features - 24 for b in model.blocks] == [2, 2, 4, 12, 12]
    x = torch.randn(5, 24, 3)
    out = model(x, None, None, None)
    assert out.shape == (5, 12, 3)
    torch.testing.assert_close(out[:, :, 1], model(x[:, :, 1:2])[:, :, 0])
    per_block = lambda pooled, knots: (pooled * 32 + 32) + (32 * 32 + 32) + (32 * (24 + knots) + 24 + knots)
    expected = 2 * per_block(6, 2) + per_block(12, 4) + 2 * per_block(24, 12)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_zero_blocks_forecast_the_last_value():
    model = get_model_class("NHITS")(configs())
    for p in model.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(2, 24, 1)
    torch.testing.assert_close(model(x), x[:, -1:, :].expand(2, 12, 1))


M4_HOURLY = ["--task_name", "short_term_forecast", "--data", "m4", "--root_path", "./dataset/m4",
             "--seasonal_patterns", "Hourly", "--model", "NHITS", "--features", "M", "--enc_in", "1",
             "--dec_in", "1", "--c_out", "1"]


@pytest.mark.parametrize("extra,message", [
    (["--n_pool_kernel_size", "2", "1"], "one value per stack.*2 in --n_pool_kernel_size, 3 in --n_freq_downsample"),
    (["--n_blocks", "1", "0", "1"], "--n_blocks must be at least 1"),
    (["--n_freq_downsample", "4", "0", "1"], "--n_freq_downsample must be at least 1"),
    (["--layers", "0"], "--layers must be at least 1"),
    (["--n_pool_kernel_size", "200", "2", "1"], "longer than the input window .seq_len 96"),
    (["--pooling_mode", "min"], "unknown pooling_mode 'min'; valid: average, max"),
    (["--interpolation_mode", "cubic"], "unknown interpolation_mode 'cubic'; valid: linear, nearest"),
])
def test_bad_flags_are_one_config_error_before_any_data(extra, message, tmp_path):
    argv = M4_HOURLY + ["--results_dir", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "c"), *extra]
    with pytest.raises(ConfigError, match=message):
        build_config(build_parser().parse_args(argv))


def test_per_stack_flags_from_python_keywords(tmp_path):
    argv = flags_to_argv({"model": "NHITS", "n_pool_kernel_size": [8, 4, 1], "n_freq_downsample": (24, 12, 1)})
    assert argv[:2] == ["--model=NHITS", "--n_pool_kernel_size"] and argv[2:5] == ["8", "4", "1"]
    cfg = config_from_argv(M4_HOURLY + argv[1:] + ["--results_dir", str(tmp_path / "r"),
                                                   "--checkpoints", str(tmp_path / "c")])
    assert (cfg.n_pool_kernel_size, cfg.n_freq_downsample, cfg.n_blocks) == ([8, 4, 1], [24, 12, 1], [1, 1, 1])


def test_m4_script_is_the_authors_default_model():
    recorded = launches(ROOT / "scripts/NHITS_M4.sh", {})
    args = [build_parser().parse_args(launch.run_args) for launch in recorded]
    assert [a.seasonal_patterns for a in args] == ["Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly"]
    assert [a.train_epochs for a in args] == [44, 42, 22, 1000, 200, 1000]
    for a in args:
        assert (a.task_name, a.data, a.model, a.loss) == ("short_term_forecast", "m4", "NHITS", "SMAPE")
        assert (a.n_pool_kernel_size, a.n_freq_downsample, a.n_blocks) == ([2, 2, 1], [4, 2, 1], [1, 1, 1])
        assert (a.layers, a.layer_size, a.pooling_mode, a.interpolation_mode) == (2, 512, "max", "linear")
        assert (a.batch_size, a.learning_rate, a.max_grad_norm, a.lr_quirk) == (1024, 1e-3, 0.0, "off")
        assert a.patience == a.train_epochs
    assert len(launches(ROOT / "scripts/NHITS_M4.sh", {"PATTERNS": "Hourly"})) == 1
    mase = launches(ROOT / "scripts/NHITS_M4.sh", {"LOSS": "MASE", "PATTERNS": "Daily"})
    assert build_parser().parse_args(mase[0].run_args).loss == "MASE"


def test_cpu_profile_runs_hourly_in_one_python_process():
    recorded = launches(ROOT / "scripts/cpu/NHITS_M4_Hourly.sh", {})
    assert len(recorded) == 1 and (recorded[0].command, recorded[0].launcher_args) == ("python", [])
    a = build_parser().parse_args(recorded[0].run_args)
    assert (a.model, a.seasonal_patterns, a.loss, a.des) == ("NHITS", "Hourly", "MASE", "cpu")
    assert (a.n_pool_kernel_size, a.n_freq_downsample, a.layers, a.layer_size) == ([2, 2, 1], [4, 2, 1], 2, 512)
    assert (a.batch_size, a.train_epochs, a.patience, a.max_grad_norm) == (64, 60, 10, 1.0)
