"""iTransformer: shapes, one-batch overfit, the inverted embedding and normalisation, the
recipe script, and equality with the authors' forward on the same weights (skipped without
their code, see tests/authors.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from layers.TimeEmbed import DataEmbedding_inverted
from models import get_model_class, model_attr
from layers.StandardNorm import window_norm
from run_main import build_parser
from tests.authors import authors_forward, authors_repo
from tests.test_baselines import make_batch, overfit_losses, small_configs
from utils.launches import script_launches

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def configs(**over):
    return small_configs("iTransformer", **{"d_model": 32, "d_ff": 32, "n_heads": 4, "use_norm": 1,
                                            "factor": 1, **over})


def test_registered_multivariate_and_shapes():
    assert model_attr("iTransformer", "channel_independent", None) is False
    cfg = configs()
    model = get_model_class("iTransformer")(cfg)
    batch = make_batch(cfg)
    for mode in (model.train, model.eval):
        mode()
        assert model(*batch[:4]).shape == (4, cfg.pred_len, 7)
    assert model(batch[0], None).shape == (4, cfg.pred_len, 7)              # no calendar tokens
    x = torch.randn(3, cfg.seq_len, 11)                                     # any number of variates
    assert model.eval()(x, None).shape == (3, cfg.pred_len, 11)


def test_inverted_embedding_tokens_are_variates_then_marks():
    emb = DataEmbedding_inverted(seq_len=10, d_model=6, dropout=0.0)
    x, mark = torch.randn(2, 10, 3), torch.randn(2, 10, 4)
    out = emb(x, mark)
    assert out.shape == (2, 7, 6)
    torch.testing.assert_close(out[:, 1], emb.value_embedding(x[:, :, 1]))
    torch.testing.assert_close(out[:, 5], emb.value_embedding(mark[:, :, 2]))


def test_use_norm_makes_it_scale_equivariant_per_variate():
    torch.manual_seed(0)
    model = get_model_class("iTransformer")(configs()).eval()
    x = torch.randn(2, 48, 7)
    scale, shift = torch.rand(1, 1, 7) * 5 + 0.5, torch.randn(1, 1, 7) * 10
    torch.testing.assert_close(model(x * scale + shift), model(x) * scale + shift, rtol=1e-4, atol=1e-4)
    plain = get_model_class("iTransformer")(configs(use_norm=0)).eval()
    plain.load_state_dict(model.state_dict())
    assert not torch.allclose(plain(x * 5), plain(x) * 5, atol=1e-2)
    z, mean, std = window_norm(x)
    torch.testing.assert_close(z * std + mean, x)
    torch.testing.assert_close(z.mean(1), torch.zeros(2, 7), atol=1e-5, rtol=0)


def test_overfits_one_batch():
    torch.manual_seed(0)
    cfg = configs()
    model = get_model_class("iTransformer")(cfg).train()
    x_enc, x_mark, x_dec, y_mark, y = make_batch(cfg, B=4)
    first, final = overfit_losses(model, (x_enc, x_mark, x_dec, y_mark), y, 3e-3, 150)
    assert final < 0.1 * first, (first, final)


def test_parameter_count_of_the_etth1_96_recipe():
    cfg = small_configs("iTransformer", seq_len=96, pred_len=96, d_model=256, d_ff=256, n_heads=8,
                        e_layers=2, use_norm=1)
    model = get_model_class("iTransformer")(cfg)
    d = 256
    layer = 4 * (d * d + d) + 2 * (d * d + d) + 4 * d        # q k v o, two kernel-1 convs, 2 LayerNorms
    expected = (96 * d + d) + 2 * layer + 2 * d + (d * 96 + 96)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_script_is_the_authors_recipe():
    launches = script_launches(ROOT / "scripts/iTransformer_ETTh1.sh", {})
    parser = build_parser()
    got = {}
    for launch in launches:
        a = parser.parse_args(launch.run_args)
        got[a.pred_len] = a
        assert (a.model, a.data, a.features, a.seq_len, a.channel_independence) == ("iTransformer", "ETTh1", "M", 96, 0)
        assert (a.e_layers, a.n_heads, a.dropout, a.factor, a.use_norm, a.embed) == (2, 8, 0.1, 1, 1, "timeF")
        assert (a.batch_size, a.learning_rate, a.lradj, a.train_epochs, a.patience) == (32, 1e-4, "type1", 10, 3)
        assert (a.seed, a.lr_quirk) == (2023, "off")
    assert sorted(got) == [96, 192, 336, 720]
    assert [(got[h].d_model, got[h].d_ff) for h in (96, 192, 336, 720)] == [(256, 256)] * 2 + [(512, 512)] * 2


@pytest.mark.parametrize("use_norm", [1, 0])
def test_equals_the_authors_forward_on_the_same_weights(use_norm, tmp_path):
    repo = authors_repo("iTransformer", "model/iTransformer.py")
    torch.manual_seed(0)
    cfg = configs(use_norm=use_norm, e_layers=2, dropout=0.1)
    ours = get_model_class("iTransformer")(cfg).eval()
    batch = tuple(make_batch(cfg, B=3)[:4])
    theirs_cfg = {k: getattr(cfg, k) for k in ("seq_len", "pred_len", "d_model", "n_heads", "e_layers",
                                               "d_ff", "factor", "dropout", "embed", "freq",
                                               "activation", "use_norm")}
    theirs_cfg.update(output_attention=False, class_strategy="projection")
    theirs = authors_forward(repo, "model.iTransformer", theirs_cfg, ours.state_dict(), batch, tmp_path,
                            stubs=("reformer_pytorch",))
    with torch.no_grad():
        torch.testing.assert_close(ours(*batch), theirs, rtol=1e-5, atol=1e-5)
