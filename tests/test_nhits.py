"""N-HiTS: pooling and knot sizes, shapes, the doubly residual start, one-batch overfit, the flag
checks, the M4 recipe and CPU profile scripts, and equality with the authors' forward on the same
weights (skipped without their code, see tests/authors.py: cchallu/n-hits as /tmp/authors/n-hits)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from exp.config import build_config
from layers.NHITS_blocks import InterpolatedBasis, NHitsBlock, n_knots, pooled_length
from models import get_model_class
from run_main import build_parser
from tests.authors import authors_forward, authors_repo
from tests.test_baselines import overfit_losses, small_configs
from timellm_api import config_from_argv, flags_to_argv
from utils.errors import ConfigError
from utils.launches import script_launches

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def configs(**over):
    return small_configs("NHITS", **{"seq_len": 24, "label_len": 12, "pred_len": 12, "enc_in": 1,
                                     "layers": 2, "layer_size": 32, **over})


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


def test_overfits_one_batch():
    torch.manual_seed(0)
    model = get_model_class("NHITS")(configs(layer_size=64)).train()
    x, y = torch.randn(8, 24, 1), torch.randn(8, 12, 1)
    first, final = overfit_losses(model, (x,), y, 1e-3, 200)
    assert final < 0.1 * first, (first, final)


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
    launches = script_launches(ROOT / "scripts/NHITS_M4.sh", {})
    args = [build_parser().parse_args(launch.run_args) for launch in launches]
    assert [a.seasonal_patterns for a in args] == ["Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly"]
    assert [a.train_epochs for a in args] == [44, 42, 22, 1000, 200, 1000]
    for a in args:
        assert (a.task_name, a.data, a.model, a.loss) == ("short_term_forecast", "m4", "NHITS", "SMAPE")
        assert (a.n_pool_kernel_size, a.n_freq_downsample, a.n_blocks) == ([2, 2, 1], [4, 2, 1], [1, 1, 1])
        assert (a.layers, a.layer_size, a.pooling_mode, a.interpolation_mode) == (2, 512, "max", "linear")
        assert (a.batch_size, a.learning_rate, a.max_grad_norm, a.lr_quirk) == (1024, 1e-3, 0.0, "off")
        assert a.patience == a.train_epochs
    assert len(script_launches(ROOT / "scripts/NHITS_M4.sh", {"PATTERNS": "Hourly"})) == 1
    mase = script_launches(ROOT / "scripts/NHITS_M4.sh", {"LOSS": "MASE", "PATTERNS": "Daily"})
    assert build_parser().parse_args(mase[0].run_args).loss == "MASE"


def test_cpu_profile_runs_hourly_in_one_python_process():
    launches = script_launches(ROOT / "scripts/cpu/NHITS_M4_Hourly.sh", {})
    assert len(launches) == 1 and (launches[0].command, launches[0].launcher_args) == ("python", [])
    a = build_parser().parse_args(launches[0].run_args)
    assert (a.model, a.seasonal_patterns, a.loss, a.des) == ("NHITS", "Hourly", "MASE", "cpu")
    assert (a.n_pool_kernel_size, a.n_freq_downsample, a.layers, a.layer_size) == ([2, 2, 1], [4, 2, 1], 2, 512)
    assert (a.batch_size, a.train_epochs, a.patience, a.max_grad_norm) == (64, 60, 10, 1.0)


@pytest.mark.parametrize("L,H,pools,downsample,blocks,pooling,interpolation", [
    (24, 12, [2, 2, 1], [4, 2, 1], [1, 1, 1], "max", "linear"),          # the authors' defaults
    (25, 7, [8, 4, 1], [5, 2, 1], [2, 1, 1], "max", "linear"),           # partial pooling windows, 7 // 5 = 1 knot
    (30, 13, [16, 3], [24, 1], [1, 2], "average", "nearest"),            # fewer knots than 1: one
])
def test_equals_the_authors_forward_on_the_same_weights(tmp_path, L, H, pools, downsample, blocks, pooling,
                                                        interpolation):
    repo = authors_repo("n-hits", "src/models/nhits/nhits.py")
    torch.manual_seed(0)
    cfg = configs(seq_len=L, pred_len=H, n_pool_kernel_size=pools, n_freq_downsample=downsample,
                  n_blocks=blocks, pooling_mode=pooling, interpolation_mode=interpolation)
    ours = get_model_class("NHITS")(cfg).eval()
    B = 4
    x = torch.randn(B, L, 1) * 3 + 1
    mask = torch.ones(B, L, 1)
    mask[0, :5] = 0.0                                      # a short series, zero-padded at the start
    x[0, :5] = 0.0
    # their forward takes the window and the horizon as one series Y (B, L + H) and returns
    # (outsample_y, forecast, outsample_mask); no static (S) or exogenous (X) inputs
    Y = torch.cat([x[:, :, 0], torch.zeros(B, H)], dim=1)
    available = torch.cat([mask[:, :, 0], torch.ones(B, H)], dim=1)
    inputs = (torch.zeros(B, 0), Y, torch.zeros(B, 0, L + H), available, torch.ones(B, L + H))
    n = len(pools)
    build = ("mod._NHITS(n_time_in=cfg.L, n_time_out=cfg.H, n_s=0, n_x=0, n_s_hidden=0, n_x_hidden=0, "
             "stack_types=cfg.n * ['identity'], n_blocks=cfg.blocks, n_layers=cfg.n * [cfg.layers], "
             "n_theta_hidden=cfg.n * [cfg.layers * [cfg.layer_size]], n_pool_kernel_size=cfg.pools, "
             "n_freq_downsample=cfg.downsample, pooling_mode=cfg.pooling, interpolation_mode=cfg.interpolation, "
             "dropout_prob_theta=0.0, activation='ReLU', initialization='lecun_normal', "
             "batch_normalization=False, shared_weights=False)")
    spec = {"L": L, "H": H, "n": n, "blocks": blocks, "layers": 2, "layer_size": 32, "pools": pools,
            "downsample": downsample, "pooling": pooling, "interpolation": interpolation}
    theirs = authors_forward(repo, "src.models.nhits.nhits", spec, ours.state_dict(), inputs, tmp_path,
                             stubs=("pytorch_lightning", "src.losses.utils"), build=build,
                             call="model(*inputs)[1]")
    with torch.no_grad():
        torch.testing.assert_close(ours(x, mask)[:, :, 0], theirs, rtol=1e-5, atol=1e-5)
