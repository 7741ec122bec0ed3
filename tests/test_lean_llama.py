"""The lean LLaMA runner and the oneDNN linears of the fast path equal what they replace."""
from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import GPT2Config, GPT2Model, LlamaConfig, LlamaModel

from layers.fast import llama_lean, onednn
from layers.fast.prompt_cache import TransformersRunner
from models.TimeLLM import Model
from tests.helpers.timellm import tiny_configs

needs_onednn = pytest.mark.skipif(not onednn.available(), reason="no oneDNN fp32 linear here")


def _llama(bias: bool = False, layers: int = 3, dropout: float = 0.0, seed: int = 0):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=64, hidden_size=48, intermediate_size=96,
                         num_hidden_layers=layers, num_attention_heads=6, num_key_value_heads=2,
                         attention_bias=bias, attention_dropout=dropout,
                         max_position_embeddings=256, rope_theta=1000.0)
    model = LlamaModel(config).eval().requires_grad_(False)
    with torch.no_grad():  # norms away from 1, so a norm computed wrongly shows
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


def _embeds(B, L, seed=1):
    return torch.randn(B, L, 48, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bias", [False, True])
def test_keys_values_and_hidden_states_equal_transformers(bias):
    llm = _llama(bias=bias)
    lean, ref = llama_lean.LeanLlama(llm), TransformersRunner(llm)
    prefix, prompt, patches = _embeds(1, 7, 1), _embeds(3, 9, 2), _embeds(3, 5, 3)
    with torch.no_grad():
        kv_prefix = lean.keys_values(prefix, 0)
        ref_prefix = ref.keys_values(prefix, 0)
        kv = lean.keys_values(prompt, 7, kv_prefix)            # batch-1 past, expanded
        ref_kv = ref.keys_values(prompt, 7, ref_prefix)
        out = lean.hidden_states(patches, 16, kv)
        # the whole sequence through the model's own forward, no cache at all
        whole = torch.cat([prefix.expand(3, -1, -1), prompt, patches], dim=1)
        full = llm(inputs_embeds=whole, use_cache=False).last_hidden_state[:, -5:]
    assert len(kv) == len(ref_kv) == 3
    for (k, v), (rk, rv) in zip(kv, ref_kv):
        assert k.shape == rk.shape == (3, 2, 16, 8)
        torch.testing.assert_close(k, rk, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(v, rv, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out, full, rtol=1e-5, atol=1e-5)


def test_prompt_pass_by_token_ids_equals_the_embedding_pass():
    """Layer 0's projections gathered per token id give the same keys/values; the table follows
    a change of the embedding weights."""
    llm = _llama(bias=True)
    lean, ref = llama_lean.LeanLlama(llm), TransformersRunner(llm)
    embed = llm.get_input_embeddings()
    ids = torch.randint(0, 64, (3, 9), generator=torch.Generator().manual_seed(4))
    for _ in range(2):  # the second pass gathers rows computed in the first
        with torch.no_grad():
            got = lean.keys_values(embed(ids), 5, ids=ids)
            want = ref.keys_values(embed(ids), 5)
        for (k, v), (rk, rv) in zip(got, want):
            torch.testing.assert_close(k, rk, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(v, rv, rtol=1e-5, atol=1e-5)
    assert 0 < len(lean.token_projections._rows) <= 64
    with torch.no_grad():
        embed.weight.mul_(1.5)  # an in-place edit: every gathered row must be remade
        got = lean.keys_values(embed(ids), 0, ids=ids)
        want = ref.keys_values(embed(ids), 0)
    torch.testing.assert_close(got[0][0], want[0][0], rtol=1e-5, atol=1e-5)


def test_hidden_states_without_past_is_the_causal_forward():
    llm = _llama()
    x = _embeds(2, 11)
    with torch.no_grad():
        out = llama_lean.LeanLlama(llm).hidden_states(x, 0)
        full = llm(inputs_embeds=x, use_cache=False).last_hidden_state
    torch.testing.assert_close(out, full, rtol=1e-5, atol=1e-5)


def test_gradient_through_the_patch_pass_equals_transformers():
    """In training the patches' hidden states need the gradient for their input embeddings."""
    llm = _llama()
    with torch.no_grad():
        kv = llama_lean.LeanLlama(llm).keys_values(_embeds(2, 6, 1), 0)
    grads = []
    for runner in (llama_lean.LeanLlama(llm), TransformersRunner(llm)):
        x = _embeds(2, 4, 2).requires_grad_(True)
        out = runner.hidden_states(x, 6, kv)
        (out * torch.linspace(-1, 1, 48)).sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-5)
    assert grads[0].abs().sum() > 0


def test_supports_only_plain_llama_without_attention_dropout():
    assert llama_lean.supports(_llama())
    assert not llama_lean.supports(_llama(dropout=0.1))
    assert not llama_lean.supports(GPT2Model(GPT2Config(n_embd=16, n_layer=1, n_head=2)))
    assert not llama_lean.supports(nn.Sequential(_llama()))


# ---- oneDNN linears -------------------------------------------------------------------------
def _linear(i, o, bias=True, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(i, o, bias=bias).requires_grad_(False)


@needs_onednn
@pytest.mark.parametrize("packed", [False, True])
def test_onednn_ops_equal_pytorch(packed):
    packs = onednn.WeightPacks() if packed else None
    mlp = type("MLP", (nn.Module,), {})()
    mlp.gate_proj, mlp.up_proj, mlp.down_proj = _linear(24, 40, False, 1), _linear(24, 40, False, 2), _linear(40, 24, False, 3)
    mlp.act_fn = nn.SiLU()
    lin = _linear(24, 24)
    x, res = _embeds(3, 5)[..., :24], _embeds(3, 5, 2)[..., :24]
    with torch.no_grad():
        torch.testing.assert_close(onednn.linear(lin, x, packs), lin(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(onednn.linear_add(lin, x, res, packs), res + lin(x),
                                   rtol=1e-5, atol=1e-5)
        want = res + mlp.down_proj(F.silu(mlp.gate_proj(x)) * mlp.up_proj(x))
        torch.testing.assert_close(onednn.gated_mlp(mlp, x, res, packs), want, rtol=1e-5, atol=1e-5)
    # with a gradient to record: same values, and the input's gradient is the linear's
    xg = x.clone().requires_grad_(True)
    onednn.gated_mlp(mlp, xg, res, packs).sum().backward()
    xr = x.clone().requires_grad_(True)
    (res + mlp.down_proj(F.silu(mlp.gate_proj(xr)) * mlp.up_proj(xr))).sum().backward()
    torch.testing.assert_close(xg.grad, xr.grad, rtol=1e-5, atol=1e-5)


def test_onednn_linear_leaves_trainable_weights_and_autocast_to_pytorch():
    lin = _linear(8, 4).requires_grad_(True)
    x = torch.randn(2, 8)
    onednn.linear(lin, x).sum().backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0  # it trained
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert onednn.linear(_linear(8, 4), x).dtype == torch.bfloat16  # autocast applied
    assert not onednn.eligible(x.double(), _linear(8, 4).double())


@needs_onednn
def test_weight_packs_follow_the_weight_and_respect_the_budget():
    lin = _linear(16, 8)
    x = torch.randn(4, 16)
    packs = onednn.WeightPacks()
    first = packs(lin)
    assert first.layout != torch.strided and packs(lin) is first  # packed once
    assert packs(lin, transposed=True).layout != torch.strided
    with torch.no_grad():
        lin.weight.mul_(2)  # an in-place edit: the packed copy must follow
        torch.testing.assert_close(onednn.linear(lin, x, packs), lin(x), rtol=1e-5, atol=1e-5)
    assert packs(lin) is not first
    unpacked = onednn.WeightPacks(budget=0)(lin)  # over the budget: the weight itself
    assert unpacked.layout == torch.strided and torch.equal(unpacked, lin.weight)


def test_a_model_with_packed_weights_copies_and_saves(tiny_dirs):
    """The packed copies are a cache: deepcopy and torch.save of a used model still work."""
    model = Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"])).eval()
    x = torch.randn(2, 32, 1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x)
        assert model._kv_cache.stats["lean"] == 1
        twin = copy.deepcopy(model)
        torch.testing.assert_close(twin(x), y, rtol=1e-5, atol=1e-5)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    assert buffer.tell() > 0
