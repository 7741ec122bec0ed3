"""Baselines (DLinear, PatchTST, Autoformer, Informer): their particular shapes and variants, the
layers' maths, and the recipe scripts; the checks every model goes through (registered, shapes,
one-batch overfit) are in tests/test_models.py. CPU only, a few seconds each."""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import torch

from layers.AutoCorrelation import AutoCorrelation
from layers.Autoformer_EncDec import moving_avg, series_decomp
from layers.SelfAttention_Family import AttentionLayer, FullAttention, ProbAttention
from layers.TimeEmbed import DataEmbedding, DataEmbedding_wo_pos
from models import get_model_class
from run_main import build_parser
from tests.helpers.model_inputs import make_batch, small_configs
from tests.helpers.project import ROOT
from tests.helpers.scripts import launches

BASELINES = ["DLinear", "PatchTST", "Autoformer", "Informer"]
CHANNELS = {"ETTh1": 7, "ETTh2": 7, "ETTm1": 7, "ETTm2": 7, "Weather": 21, "ECL": 321,
            "Traffic": 862, "ILI": 7, "Exchange": 8}
DATA_FILES = {"ETTh1": "ETT-small/ETTh1.csv", "ETTh2": "ETT-small/ETTh2.csv",
              "ETTm1": "ETT-small/ETTm1.csv", "ETTm2": "ETT-small/ETTm2.csv",
              "Weather": "weather/weather.csv", "ECL": "electricity/electricity.csv",
              "Traffic": "traffic/traffic.csv", "ILI": "illness/national_illness.csv",
              "Exchange": "exchange_rate/exchange_rate.csv"}


pytestmark = pytest.mark.usefixtures("one_thread")


def n_params(model: torch.nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ----------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("name", ["Autoformer", "Informer"])
@pytest.mark.parametrize("embed,freq", [("fixed", "h"), ("fixed", "t"), ("learned", "h")])
def test_shape_integer_marks(name, embed, freq):
    cfg = small_configs(name, embed=embed, freq=freq, enc_in=5, dec_in=5, c_out=5)
    model = get_model_class(name)(cfg).eval()
    out = model(*make_batch(cfg, B=3, embed=embed)[:4])
    assert out.shape == (3, cfg.pred_len, 5)
    if embed == "fixed":  # frozen sinusoidal tables: nothing trainable in the temporal embedding
        assert all(not p.requires_grad for p in model.enc_embedding.temporal_embedding.parameters())


@pytest.mark.parametrize("name", ["Autoformer", "Informer"])
def test_features_ms_gives_c_out_channels(name):
    cfg = small_configs(name, c_out=1)
    out = get_model_class(name)(cfg)(*make_batch(cfg)[:4])
    assert out.shape == (4, cfg.pred_len, 1)


def test_informer_without_distil_and_deeper_encoder():
    for distil, e_layers in ((0, 2), (1, 3)):
        cfg = small_configs("Informer", distil=distil, e_layers=e_layers)
        model = get_model_class("Informer")(cfg)
        assert (model.encoder.conv_layers is None) == (not distil)
        assert model(*make_batch(cfg)[:4]).shape == (4, cfg.pred_len, 7)


def test_informer_variants():
    """Default: the Autoformer/LTSF-Linear/TSLib code behind the quoted numbers (ProbSparse
    cross-attention, mix everywhere); 'informer2020': full cross-attention as in the paper's code."""
    from layers.Transformer_EncDec import ConvLayer
    cfg = small_configs("Informer")
    Model = get_model_class("Informer")
    lineage, original = Model(cfg), Model(cfg, variant="informer2020")
    cross = [m.decoder.layers[0].cross_attention for m in (lineage, original)]
    assert isinstance(cross[0].inner_attention, ProbAttention) and cross[0].mix
    assert isinstance(cross[1].inner_attention, FullAttention) and not cross[1].mix
    assert lineage.encoder.attn_layers[0].attention.mix and not original.encoder.attn_layers[0].attention.mix
    assert n_params(lineage) == n_params(original)
    assert original(*make_batch(cfg)[:4]).shape == (4, cfg.pred_len, 7)
    assert ConvLayer(8)(torch.randn(2, 96, 8)).shape == (2, 49, 8)            # lineage padding 2
    assert ConvLayer(8, padding=1)(torch.randn(2, 96, 8)).shape == (2, 48, 8)  # Informer2020
    with pytest.raises(Exception, match="valid"):
        Model(cfg, variant="nope")
    by_flag = Model(small_configs("Informer", informer_variant="informer2020"))
    assert isinstance(by_flag.decoder.layers[0].cross_attention.inner_attention, FullAttention)
    from exp.exp_main import setting_string
    parsed = build_parser().parse_args(["--model", "Informer", "--informer_variant", "informer2020"])
    assert setting_string(parsed, 0).endswith("_0_informer2020")
    assert setting_string(build_parser().parse_args(["--model", "Informer"]), 0).endswith("_0")


# ----------------------------------------------------------------------------- DLinear

def test_dlinear_individual_vs_shared_params():
    L, H, C = 336, 96, 7
    shared = get_model_class("DLinear")(small_configs("DLinear", seq_len=L, pred_len=H, enc_in=C))
    indiv = get_model_class("DLinear")(small_configs("DLinear", seq_len=L, pred_len=H, enc_in=C, individual=1))
    assert n_params(shared) == 2 * (L * H + H) == 64_704
    assert n_params(indiv) == C * n_params(shared) == 452_928


def test_dlinear_individual_channels_are_independent():
    cfg = small_configs("DLinear", individual=1)
    model = get_model_class("DLinear")(cfg)
    x = torch.randn(2, cfg.seq_len, 7)
    x2 = x.clone()
    x2[:, :, 3] += 5.0
    diff = (model(x2) - model(x)).abs().amax(dim=(0, 1))
    assert diff[3] > 0 and torch.all(diff[torch.arange(7) != 3] == 0)


def test_dlinear_default_linear_init():
    """LTSF-Linear keeps nn.Linear's default init (not TSLib's constant 1/seq_len weights)."""
    model = get_model_class("DLinear")(small_configs("DLinear", seq_len=336, pred_len=96))
    w = model.Linear_Seasonal.weight
    bound = 1 / math.sqrt(336)
    assert w.abs().max() <= bound and w.std() > 0.3 * bound


# ----------------------------------------------------------------------------- decomposition

def test_series_decomp_sums_to_input():
    x = torch.randn(3, 100, 5)
    seasonal, trend = series_decomp(25)(x)
    assert seasonal.shape == trend.shape == x.shape
    torch.testing.assert_close(seasonal + trend, x)


def test_moving_avg_values():
    ma = moving_avg(5)
    const = torch.full((1, 20, 2), 3.0)
    torch.testing.assert_close(ma(const), const)
    line = torch.arange(20.0).view(1, 20, 1)
    out = ma(line)
    torch.testing.assert_close(out[0, 2:-2, 0], line[0, 2:-2, 0])  # interior of a line is kept
    assert out[0, 0, 0].item() == pytest.approx((0 + 0 + 0 + 1 + 2) / 5)  # edge replication


# ----------------------------------------------------------------------------- PatchTST

@pytest.mark.parametrize("seq_len,patches", [(336, 42), (512, 64)])
def test_patchtst_patch_count_and_params(seq_len, patches):
    cfg = small_configs("PatchTST", seq_len=seq_len, pred_len=96, e_layers=3, n_heads=4, d_model=16,
                        d_ff=128, patch_len=16, stride=8)
    model = get_model_class("PatchTST")(cfg)
    assert model.model.patch_num == patches
    per_layer = 3 * (16 * 16 + 16) + (16 * 16 + 16) + 2 * 16 + (16 * 128 + 128) + (128 * 16 + 16) + 2 * 16
    expected = (16 * 16 + 16) + patches * 16 + 3 * per_layer + (16 * patches * 96 + 96)
    assert n_params(model) == expected  # 81,728 trainable for PatchTST/42 on ETTh1


def test_patchtst_revin_makes_it_scale_equivariant():
    cfg = small_configs("PatchTST")
    model = get_model_class("PatchTST")(cfg).eval()
    x = torch.randn(2, cfg.seq_len, 7)
    torch.testing.assert_close(model(3.0 * x + 2.0), 3.0 * model(x) + 2.0, rtol=1e-4, atol=1e-4)


def test_patchtst_individual_head_and_affine():
    cfg = small_configs("PatchTST", individual=1, affine=1, subtract_last=1)
    model = get_model_class("PatchTST")(cfg)
    assert len(model.model.head.linears) == 7
    assert model(torch.randn(2, cfg.seq_len, 7)).shape == (2, cfg.pred_len, 7)


# ----------------------------------------------------------------------------- attention maths

def _qkv(B=2, L=20, S=20, H=2, E=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, L, H, E, generator=g), torch.randn(B, S, H, E, generator=g),
            torch.randn(B, S, H, E, generator=g))


@pytest.mark.parametrize("mask_flag", [False, True])
def test_probattention_equals_full_attention_when_all_queries_kept(mask_flag):
    q, k, v = _qkv()
    # factor 100: u = min(100 * ceil(ln 20), 20) = 20 queries and 20 sampled keys
    prob, _ = ProbAttention(mask_flag, factor=100, attention_dropout=0.0)(q, k, v, None)
    full, _ = FullAttention(mask_flag, attention_dropout=0.0)(q, k, v, None)
    assert prob.shape == full.shape == (2, 20, 2, 8)
    torch.testing.assert_close(prob, full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mask_flag", [False, True])
def test_probattention_lazy_queries_get_mean_or_cumsum(mask_flag):
    q, k, v = _qkv(L=40, S=40)
    out, _ = ProbAttention(mask_flag, factor=1)(q, k, v, None)    # u = ceil(ln 40) = 4 active queries
    lazy = v.cumsum(dim=1) if mask_flag else v.mean(dim=1, keepdim=True).expand_as(v)
    same = torch.isclose(out, lazy, atol=1e-5).all(dim=-1)       # B, L, H
    # at most u rows differ (a kept query 0 under the causal mask also equals cumsum: v_0)
    assert ((same.sum(dim=1) >= 40 - 4) & (same.sum(dim=1) < 40)).all()


def test_attention_layer_mix_reads_heads_in_memory_order():
    torch.manual_seed(0)
    plain = AttentionLayer(FullAttention(False, attention_dropout=0.0), d_model=16, n_heads=4)
    mixed = AttentionLayer(FullAttention(False, attention_dropout=0.0), d_model=16, n_heads=4, mix=True)
    mixed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 12, 16)
    inner, _ = plain.inner_attention(plain.query_projection(x).view(2, 12, 4, 4),
                                     plain.key_projection(x).view(2, 12, 4, 4),
                                     plain.value_projection(x).view(2, 12, 4, 4), None)
    expected = plain.out_projection(inner.transpose(2, 1).contiguous().view(2, 12, 16))
    torch.testing.assert_close(mixed(x, x, x)[0], expected)
    assert not torch.allclose(plain(x, x, x)[0], expected)


def test_autocorrelation_inference_runs_on_cpu_eval():
    """The authors' inference path called .cuda(); ours must run on the CPU in eval mode."""
    cfg = small_configs("Autoformer", seq_len=96, label_len=48, pred_len=96, d_model=32, d_ff=64)
    model = get_model_class("Autoformer")(cfg).eval()
    with torch.no_grad():
        out = model(*make_batch(cfg, B=2)[:4])
    assert out.device.type == "cpu" and out.shape == (2, 96, 7) and torch.isfinite(out).all()


def test_autocorrelation_inference_matches_training_per_sample():
    """Per-sample delays (inference, gather) equal batch-wise delays (training, roll) on a batch of one."""
    ac = AutoCorrelation(False, factor=2)
    g = torch.Generator().manual_seed(1)
    values = torch.randn(3, 2, 4, 30, generator=g)
    corr = torch.randn(3, 2, 4, 30, generator=g)
    inference = ac.time_delay_agg_inference(values, corr)
    for b in range(3):
        training = ac.time_delay_agg_training(values[b: b + 1], corr[b: b + 1])
        torch.testing.assert_close(inference[b: b + 1], training)


def test_autocorrelation_finds_the_period():
    """A series of period 10 correlates most with itself at delays 0, 10, 20 (FFT path)."""
    t = torch.arange(40.0)
    x = torch.sin(2 * math.pi * t / 10).view(1, 40, 1, 1)
    ac = AutoCorrelation(False, factor=1)
    q_fft = torch.fft.rfft(x.permute(0, 2, 3, 1), dim=-1)
    corr = torch.fft.irfft(q_fft * torch.conj(q_fft), n=40, dim=-1)
    top = set(torch.topk(corr.flatten(), 3).indices.tolist())
    assert top == {0, 10, 20} or top == {0, 10, 30}
    out, _ = ac.eval()(x, x, x, None)  # odd/even lengths and eval path run
    assert out.shape == x.shape


def test_autocorrelation_odd_length_and_cross_lengths():
    ac = AutoCorrelation(False, factor=3).train()
    q, k, v = _qkv(L=45, S=30)
    assert ac(q, k, v, None)[0].shape == (2, 45, 2, 8)
    q, k, v = _qkv(L=21, S=30)
    assert ac.eval()(q, k, v, None)[0].shape == (2, 21, 2, 8)


def test_data_embeddings_shapes():
    x = torch.randn(2, 10, 3)
    mark = torch.rand(2, 10, 5) - 0.5
    assert DataEmbedding(3, 8, "timeF", "t", 0.0)(x, mark).shape == (2, 10, 8)
    assert DataEmbedding_wo_pos(3, 8, "timeF", "15min", 0.0)(x, mark).shape == (2, 10, 8)


# ----------------------------------------------------------------------------- scripts

SCRIPTS = sorted(p for m in BASELINES for p in (ROOT / "scripts").glob(f"{m}_*.sh"))


def _argvs(script: Path, env: dict | None = None, extra_args: tuple[str, ...] = ()) -> list[list[str]]:
    """The argument list of each ``accelerate`` launch of the script (stub-recorded)."""
    return [[*launch.launcher_args, "run_main.py", *launch.run_args]
            for launch in launches(script, env, extra_args)]


def test_every_model_and_dataset_has_a_script():
    names = {p.stem for p in SCRIPTS}
    for model in BASELINES:
        for ds in ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "ECL", "Traffic", "ILI"]:
            assert f"{model}_{ds}" in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_lines_parse(script):
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    launcher = (script.parent / "launch.sh").read_text()  # every script launches through it
    assert f'launch.sh" {script.stem.replace("_", " ", 1)} "$@"' in script.read_text()
    assert '--num_processes "${NUM_PROCESSES:-1}"' in launcher
    assert '--mixed_precision "${MIXED_PRECISION:-no}"' in launcher
    model, ds = script.stem.split("_", 1)
    parser = build_parser()
    variants = [{}] + ([{"VARIANT": "64"}] if model == "PatchTST" and ds != "ILI" else [])
    for env in variants:
        argvs = _argvs(script, env)
        horizons = [24, 36, 48, 60] if ds == "ILI" else [96, 192, 336, 720]
        assert len(argvs) == len(horizons)
        for argv, horizon in zip(argvs, horizons):
            assert argv[:5] == ["launch", "--num_processes", "1", "--mixed_precision", "no"]
            assert argv[5] == "run_main.py"
            args = parser.parse_args(argv[6:])
            c = CHANNELS[ds]
            assert (args.model, args.data, args.pred_len) == (model, ds, horizon)
            assert args.root_path.rstrip("/") + "/" + args.data_path == "./dataset/" + DATA_FILES[ds]
            assert args.enc_in == args.dec_in == args.c_out == c
            assert args.task_name == "long_term_forecast" and args.is_training == 1
            assert args.features == "M" and args.channel_independence == 0
            # PatchTST's authors' trainer ran epoch 1 at lr/25 (their unused OneCycleLR)
            assert args.lr_quirk == ("first_epoch" if model == "PatchTST" else "off")
            assert args.train_epochs >= 1 and args.patience >= 1
            assert args.model_id == f"{ds}_{args.seq_len}_{horizon}"
            if model == "PatchTST" and ds != "ILI":
                assert args.seq_len == (512 if env else 336)
            if model in ("Autoformer", "Informer"):
                assert (args.seq_len, args.label_len) == ((36, 18) if ds == "ILI" else (96, 48))
                assert (args.d_model, args.d_ff, args.dropout, args.batch_size) == (512, 2048, 0.05, 32)
            if model == "DLinear":
                assert args.seq_len == (104 if ds == "ILI" else 336) and args.lradj == "type1"
                assert (args.train_epochs, args.patience) == (10, 3)


def test_dlinear_etth1_script_is_the_published_recipe():
    args = build_parser().parse_args(_argvs(ROOT / "scripts/DLinear_ETTh1.sh")[0][6:])
    assert (args.seq_len, args.batch_size, args.learning_rate, args.lradj) == (336, 8, 1e-4, "type1")
    assert (args.train_epochs, args.patience, args.individual) == (10, 3, 0)


def test_scripts_pass_extra_arguments_and_launch_settings():
    argvs = _argvs(ROOT / "scripts/Informer_ETTh1.sh",
                   {"NUM_PROCESSES": "2", "MIXED_PRECISION": "bf16"}, ("--train_epochs", "1"))
    assert argvs[0][:5] == ["launch", "--num_processes", "2", "--mixed_precision", "bf16"]
    assert build_parser().parse_args(argvs[0][6:]).train_epochs == 1  # the last value wins


@pytest.mark.parametrize("script", ["DLinear_ETTh1", "PatchTST_ILI", "TimeLLM_ETTm1"])
def test_pred_lens_runs_a_subset_of_horizons(script):
    """PRED_LENS (space-separated) replaces a script's horizon loop; unset, all four run."""
    path = ROOT / "scripts" / f"{script}.sh"
    every = [build_parser().parse_args(a[a.index("run_main.py") + 1:]).pred_len
             for a in _argvs(path)]
    assert len(every) == 4
    chosen = [build_parser().parse_args(a[a.index("run_main.py") + 1:]).pred_len
              for a in _argvs(path, {"PRED_LENS": f"{every[2]} {every[0]}"})]
    assert chosen == [every[2], every[0]]
