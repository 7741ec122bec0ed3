"""Time-LLM's layers without an LLM: shapes, reference formulas, prompt statistics and text."""
from __future__ import annotations

from argparse import Namespace
from math import sqrt

import pytest
import torch
import torch.nn.functional as F

import layers.prompt

from layers.Embed import PatchEmbedding, TokenEmbedding, patch_count
from layers.StandardNorm import Normalize
from layers.fast.prompt import autocorrelation_lags, build_prompts, prompt_statistics
from layers.fast.reprogramming import FastReprogrammingLayer, dropout_mask
from layers.prompt import DEFAULT_DESCRIPTION, resolve_description
from layers.reprogramming import FlattenHead, ReprogrammingLayer
from models.ablations import ABLATIONS, get_ablation
from utils.errors import ConfigError


pytestmark = pytest.mark.usefixtures("one_thread")


def test_patch_count_reference_values():
    assert patch_count(512, 16, 8) == 64
    assert patch_count(96, 16, 8) == 12
    assert patch_count(36, 1, 1) == 37  # M4 settings: patch 1, stride 1


def test_token_embedding_shape_and_init():
    emb = TokenEmbedding(16, 32)
    conv = emb.tokenConv
    assert conv.bias is None and conv.padding_mode == "circular" and conv.kernel_size == (3,)
    assert emb(torch.randn(4, 10, 16)).shape == (4, 10, 32)


def test_patch_embedding_shape():
    emb = PatchEmbedding(d_model=32, patch_len=16, stride=8, dropout=0.0)
    out, n_vars = emb(torch.randn(2, 3, 512))
    assert out.shape == (6, 64, 32) and n_vars == 3


def test_normalize_round_trip_and_stats():
    x = torch.randn(4, 50, 3) * 5 + 2
    norm = Normalize(3, affine=False)
    z = norm(x, "norm")
    assert torch.allclose(z.mean(dim=1), torch.zeros(4, 3), atol=1e-5)
    assert torch.allclose(z.var(dim=1, unbiased=False), torch.ones(4, 3), atol=1e-3)
    assert torch.allclose(norm(z, "denorm"), x, atol=1e-4)
    assert list(norm.parameters()) == []


def test_reprogramming_layer_shapes_names_and_formula():
    torch.manual_seed(0)
    layer = ReprogrammingLayer(d_model=8, n_heads=2, d_keys=5, d_llm=12, attention_dropout=0.0)
    names = {n for n, _ in layer.named_children()}
    assert names == {"query_projection", "key_projection", "value_projection", "out_projection",
                     "dropout"}
    assert layer.query_projection.out_features == 10 and layer.out_projection.out_features == 12
    target, source = torch.randn(3, 7, 8), torch.randn(20, 12)
    out = layer(target, source, source)
    assert out.shape == (3, 7, 12)
    # the formula written out per head
    q = layer.query_projection(target).view(3, 7, 2, 5)
    k = layer.key_projection(source).view(20, 2, 5)
    v = layer.value_projection(source).view(20, 2, 5)
    heads = []
    for h in range(2):
        a = torch.softmax(q[:, :, h] @ k[:, h].T / sqrt(5), dim=-1)
        heads.append(a @ v[:, h])
    expected = layer.out_projection(torch.cat(heads, dim=-1))
    assert torch.allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("train,chunk_bytes", [(True, None), (True, 4 * 7 * 20 * 4), (False, None)])
@pytest.mark.parametrize("d_model", [4, 8])  # score maps (4 + 1 < 6) or keys (8 + 1 >= 6)
def test_fast_reprogramming_equals_reference_with_the_same_dropout(train, chunk_bytes, d_model,
                                                                   monkeypatch):
    """Score maps instead of keys, (H, B*L, S) layout: same outputs, same dropout masks, same
    gradients for every parameter and for the prototypes (the key bias: 0 in exact arithmetic).
    Training goes through DroppedAttention: in one slice, or (``chunk_bytes``) one sample a slice."""
    if chunk_bytes:
        monkeypatch.setattr("layers.fast.reprogramming.CHUNK_BYTES", chunk_bytes)
    torch.manual_seed(0)
    layer = FastReprogrammingLayer(d_model=d_model, n_heads=4, d_keys=6, d_llm=12,
                                   attention_dropout=0.3)  # it has the plain methods too
    assert layer.uses_score_maps == (d_model == 4) and layer.chunked
    with torch.no_grad():
        layer.key_projection.bias.normal_()  # non-zero: its terms must cancel in the softmax
    layer.train(train)
    target, source = torch.randn(3, 7, d_model), torch.randn(20, 12)
    outs, grads = [], []
    for fast in (False, True):
        layer.zero_grad(set_to_none=True)
        src = source.clone().requires_grad_(True)
        torch.manual_seed(11)
        if fast:
            out = layer.attend_fast(target, *layer.fast_source(src, src))
        else:
            out = layer.attend(target, *layer.project_source(src, src))
        out.square().sum().backward()
        outs.append(out.detach())
        grads.append({"source": src.grad, **{n: p.grad for n, p in layer.named_parameters()}})
    assert torch.allclose(outs[0], outs[1], atol=1e-5)  # dropout masks identical
    scale = max(g.abs().max() for g in grads[0].values())
    for name, g in grads[0].items():
        if name == "key_projection.bias":
            assert g.abs().max() < 1e-5 * scale and grads[1][name].abs().max() < 1e-5 * scale
        else:
            assert torch.allclose(g, grads[1][name], atol=1e-5 * scale), name


def test_flatten_head_shape():
    head = FlattenHead(n_vars=1, nf=16 * 64, target_window=96, head_dropout=0.0)
    assert {n for n, _ in head.named_children()} == {"flatten", "linear", "dropout"}
    assert head(torch.randn(2, 3, 16, 64)).shape == (2, 3, 96)


def _loop_statistics(x: torch.Tensor) -> dict:
    """The reference's computation, one series at a time."""
    rows = {"min": [], "max": [], "median": [], "trend": [], "lags": [], "corr": []}
    for b in range(x.shape[0]):
        s = x[b]  # (T, 1)
        rows["min"].append(torch.min(s, dim=0)[0][0])
        rows["max"].append(torch.max(s, dim=0)[0][0])
        rows["median"].append(torch.median(s, dim=0).values[0])
        rows["trend"].append(s.diff(dim=0).sum(dim=0)[0])
        f = torch.fft.rfft(s.T.contiguous(), dim=-1)
        corr = torch.mean(torch.fft.irfft(f * torch.conj(f), dim=-1), dim=0)
        rows["corr"].append(corr)
        rows["lags"].append(torch.topk(corr, 5, dim=-1)[1])
    return {k: torch.stack(v) for k, v in rows.items()}


def _reference_calcute_lags(x_enc: torch.Tensor) -> torch.Tensor:
    """The reference's batched ``calcute_lags``, transcribed."""
    q_fft = torch.fft.rfft(x_enc.permute(0, 2, 1).contiguous(), dim=-1)
    k_fft = torch.fft.rfft(x_enc.permute(0, 2, 1).contiguous(), dim=-1)
    corr = torch.fft.irfft(q_fft * torch.conj(k_fft), dim=-1)
    return torch.topk(torch.mean(corr, dim=1), 5, dim=-1)[1]


@pytest.mark.parametrize("T", [32, 33, 96])
def test_prompt_statistics_match_per_sample_loop(T):
    torch.manual_seed(T)
    x = torch.randn(6, T, 1).cumsum(dim=1)
    stats = prompt_statistics(x)
    expected = _loop_statistics(x)
    for key in ("min", "max", "median", "trend"):
        assert stats[key].shape == (6,)
        assert torch.equal(stats[key], expected[key]), key
    assert stats["lags"].shape == (6, 5)
    # The circular autocorrelation is symmetric (lag k and T-k tie up to rounding), so a loop may
    # break ties differently from the batched FFT; the selected values must agree, and the
    # indices must equal the reference's own batched computation exactly.
    corr = expected["corr"]
    assert torch.allclose(corr.gather(1, stats["lags"]), corr.gather(1, expected["lags"]),
                          rtol=1e-5, atol=1e-4)
    assert torch.equal(stats["lags"], _reference_calcute_lags(x))
    assert (stats["lags"][:, 0] == 0).all()  # lag 0 always leads, as in the reference
    assert torch.equal(autocorrelation_lags(x), stats["lags"])


def test_prompt_text_is_the_reference_text():
    x = torch.tensor([0.1, -0.5, 0.25, 1.5, -2.0, 0.75, 0.3, 0.2]).view(1, 8, 1)
    prompts = build_prompts(DEFAULT_DESCRIPTION, 96, 512, prompt_statistics(x))
    expected = (
        "<|start_prompt|>Dataset description: The Electricity Transformer Temperature (ETT) is a "
        "crucial indicator in the electric power long-term deployment.Task description: forecast "
        "the next 96 steps given the previous 512 steps information; Input statistics: min value "
        "-2.0, max value 1.5, median value 0.20000000298023224, the trend of input is upward, top 5 "
        "lags are : [0, 3, 5, 4, 6]<|<end_prompt>|>"
    )
    assert prompts == [expected]


def test_prompt_trend_downward_and_batch():
    x = torch.stack([torch.linspace(1, 0, 16), torch.linspace(0, 1, 16),
                     torch.zeros(16)]).unsqueeze(-1)
    prompts = build_prompts("D. ", 4, 16, prompt_statistics(x))
    assert len(prompts) == 3
    assert "the trend of input is downward" in prompts[0]
    assert "the trend of input is upward" in prompts[1]
    assert "the trend of input is downward" in prompts[2]  # zero trend is not upward
    assert prompts[2].startswith("<|start_prompt|>Dataset description: D. Task description")


def test_description_default_and_prompt_bank(monkeypatch):
    assert resolve_description(Namespace(prompt_domain=0, data="Weather")) == DEFAULT_DESCRIPTION
    monkeypatch.setattr(layers.prompt, "load_description", lambda name: f"About {name}.")
    assert resolve_description(Namespace(prompt_domain=1, data="Weather")) == "About Weather."


def test_ablation_registry():
    assert set(ABLATIONS) == {"none", "no_llm", "attention_layer", "llm2attn", "random_llm",
                              "no_prompt", "no_reprogramming"}
    assert get_ablation(None).name == "none"
    with pytest.raises(ConfigError, match="unknown ablation 'nope'; valid: attention_layer"):
        get_ablation("nope")


def test_a_description_too_long_for_the_prompt_is_cut_and_the_statistics_kept(capsys):
    from tests.helpers.tiny_backbones import make_tokenizer
    from layers.prompt import PromptIds, fit_description, reference_prompts
    tok = make_tokenizer("llama")
    short = "The daily footfall of one shop. "
    assert fit_description(tok, short, 96, 512) == short and capsys.readouterr().err == ""
    long = "hourly load of a transformer station with a weekly cycle " * 400
    cut = fit_description(tok, long, 96, 512)
    assert long.startswith(cut.strip()[:200]) and len(cut) < len(long)
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1 and "the statistics are kept" in notice[0]
    x = torch.randn(4, 512, 1) * 1000
    for text in reference_prompts(x, cut, 96, 512):
        ids = tok(text).input_ids
        assert len(ids) <= PromptIds.max_length and text.endswith("<|<end_prompt>|>")
        assert "min value" in tok.decode(ids)  # the statistics survive the tokenizer's truncation


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_mask_is_nn_dropouts_own_draw(dtype):
    """The fast path's CPU mask equals F.dropout applied to ones, and leaves the generator where
    F.dropout leaves it (the next draws, e.g. the head's dropout, stay the reference's)."""
    like = torch.zeros(1, dtype=dtype)
    torch.manual_seed(5)
    want, after_want = F.dropout(torch.ones(3, 4, 7, 50, dtype=dtype), 0.3, training=True), torch.rand(3)
    torch.manual_seed(5)
    got, after_got = dropout_mask((3, 4, 7, 50), 0.3, like), torch.rand(3)
    assert got.dtype == dtype and torch.equal(got, want) and torch.equal(after_got, after_want)
    assert 0 < (got == 0).float().mean() < 1  # something is dropped, something kept


def test_dropped_attention_in_slices_equals_the_whole_products():
    """DroppedAttention against the unsliced fast path (``chunked`` off): outputs and gradients of
    features, maps and values, with the same mask; the mask keeps as many as the generator says."""
    torch.manual_seed(1)
    layer = FastReprogrammingLayer(d_model=4, n_heads=2, d_keys=6, d_llm=10, attention_dropout=0.2)
    target, source = torch.randn(5, 9, 4), torch.randn(30, 10)
    results = []
    for chunked in (False, True):
        layer.chunked = chunked
        layer.zero_grad(set_to_none=True)
        src = source.clone().requires_grad_(True)
        tgt = target.clone().requires_grad_(True)
        torch.manual_seed(3)
        out = layer.attend_fast(tgt, *layer.fast_source(src, src))
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        results.append([out.detach(), tgt.grad, src.grad,
                        *[p.grad for p in layer.parameters() if p.grad is not None]])
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
