"""iTransformer: the inverted embedding and normalisation, calls without calendar tokens and
with any number of variates, the parameter count and the recipe script. Registered, shapes,
one-batch overfit and equality with the authors' forward on the same weights are the shared
checks (tests/test_models.py, tests/helpers/model_checks.py)."""
from __future__ import annotations

from functools import partial

import pytest
import torch

from layers.StandardNorm import window_norm
from layers.TimeEmbed import DataEmbedding_inverted
from models import get_model_class
from tests.helpers.model_checks import model_configs
from tests.helpers.model_inputs import make_batch, small_configs
from tests.helpers.project import ROOT
from tests.helpers.scripts import parsed

pytestmark = pytest.mark.usefixtures("one_thread")
configs = partial(model_configs, "iTransformer")  # the shared checks' test size, flags overridable


def test_no_calendar_tokens_and_any_number_of_variates():
    cfg = configs()
    model = get_model_class("iTransformer")(cfg).eval()
    assert model(make_batch(cfg)[0], None).shape == (4, cfg.pred_len, 7)   # no calendar tokens
    x = torch.randn(3, cfg.seq_len, 11)                                     # any number of variates
    assert model(x, None).shape == (3, cfg.pred_len, 11)


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


def test_parameter_count_of_the_etth1_96_recipe():
    cfg = small_configs("iTransformer", seq_len=96, pred_len=96, d_model=256, d_ff=256, n_heads=8,
                        e_layers=2, use_norm=1)
    model = get_model_class("iTransformer")(cfg)
    d = 256
    layer = 4 * (d * d + d) + 2 * (d * d + d) + 4 * d        # q k v o, two kernel-1 convs, 2 LayerNorms
    expected = (96 * d + d) + 2 * layer + 2 * d + (d * 96 + 96)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_script_is_the_authors_recipe():
    got = {}
    for _, a in parsed(ROOT / "scripts/iTransformer_ETTh1.sh"):
        got[a.pred_len] = a
        assert (a.model, a.data, a.features, a.seq_len, a.channel_independence) == ("iTransformer", "ETTh1", "M", 96, 0)
        assert (a.e_layers, a.n_heads, a.dropout, a.factor, a.use_norm, a.embed) == (2, 8, 0.1, 1, 1, "timeF")
        assert (a.batch_size, a.learning_rate, a.lradj, a.train_epochs, a.patience) == (32, 1e-4, "type1", 10, 3)
        assert (a.seed, a.lr_quirk) == (2023, "off")
    assert sorted(got) == [96, 192, 336, 720]
    assert [(got[h].d_model, got[h].d_ff) for h in (96, 192, 336, 720)] == [(256, 256)] * 2 + [(512, 512)] * 2
