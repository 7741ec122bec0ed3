"""The fast path (``--fast_path 1``) computes what the plain, reference path computes.

Fast and plain models are built from the same seed (same weights) and compared on tiny random
LLaMA / GPT-2 / BERT backbones: outputs in fp32 to 1e-5, gradients of every trainable parameter
to 1e-5 relative, over training and evaluation; one slow test does the same on the real SmolLM2.
"""
from __future__ import annotations

import io

import pytest
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from layers.fast import llama_lean
from layers.fast.mapping import MappingLayer
from layers.fast.prompt import build_prompts, prompt_statistics
from layers.prompt import reference_prompts
from models.TimeLLM import Model
from tests.helpers.args import parser_args
from tests.helpers.fast_vs_plain import (assert_grads_close, assert_training_agrees, fast_and_plain, forward_backward,
                                         trainable_grads)
from tests.helpers.mirror import etth1_windows
from tests.helpers.timellm import real_configs, series_batch, tiny_configs
from utils.errors import ConfigError
from utils.optim import build_optimizer


pytestmark = pytest.mark.usefixtures("one_thread")


# ---- the mapping layer --------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["vm", "mv"])
def test_mapping_layer_equals_linear_forward_and_backward(layout):
    V, M, D = 300, 20, 16
    torch.manual_seed(3)
    linear = nn.Linear(V, M)
    torch.manual_seed(3)
    layer = MappingLayer(V, M, layout=layout)  # the same random draws as nn.Linear
    assert torch.equal(layer.weight_mv(), linear.weight) and torch.equal(layer.bias, linear.bias)
    assert layer.weight.is_contiguous()
    assert layer.weight.shape == ((V, M) if layout == "vm" else (M, V))
    table = torch.randn(V, D)
    grad = torch.randn(M, D)
    expected = linear(table.T).T
    got = layer.prototypes(table)
    assert got.shape == (M, D) and torch.allclose(got, expected, atol=1e-6, rtol=1e-5)
    expected.backward(grad)
    got.backward(grad)
    assert layer.weight.grad.shape == layer.weight.shape  # in the stored layout: no copy
    d_weight = layer.weight.grad.t() if layout == "vm" else layer.weight.grad
    assert torch.allclose(d_weight, linear.weight.grad, atol=1e-6, rtol=1e-5)
    assert torch.allclose(layer.bias.grad, linear.bias.grad, atol=1e-6, rtol=1e-5)
    assert torch.allclose(layer(table.T), linear(table.T), atol=1e-6)  # nn.Linear's forward
    # an unfrozen table gets its gradient too
    table.requires_grad_(True)
    linear(table.T).T.backward(grad)
    reference = table.grad.clone()
    table.grad = None
    layer.prototypes(table).backward(grad)
    assert torch.allclose(table.grad, reference, atol=1e-6, rtol=1e-5)


def test_mapping_layer_state_dict_is_the_reference_one():
    V, M = 300, 20
    torch.manual_seed(0)
    layer = MappingLayer(V, M)
    state = layer.state_dict()
    assert set(state) == {"weight", "bias"} and state["weight"].shape == (M, V)
    linear = nn.Linear(V, M)
    linear.load_state_dict(state, strict=True)  # ours -> the reference's module
    assert torch.equal(linear.weight, layer.weight_mv())
    other = MappingLayer(V, M)
    linear.weight.data.mul_(2)
    result = other.load_state_dict(linear.state_dict(), strict=True)  # reference -> ours
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(other.weight_mv(), linear.weight) and other.weight.is_contiguous()
    buffer = io.BytesIO()
    torch.save(other.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)
    assert loaded["weight"].shape == (M, V) and torch.equal(loaded["weight"], linear.weight)
    with pytest.raises(ValueError):
        MappingLayer(V, M, layout="diagonal")


def test_mapping_layer_reuses_its_gradient_memory_safely():
    V, M, D = 300, 20, 16
    torch.manual_seed(0)
    layer = MappingLayer(V, M)
    reference = nn.Linear(V, M)
    reference.load_state_dict(layer.state_dict())
    table = torch.randn(V, D)
    opt = build_optimizer(layer.parameters(), parser_args(fast_path=1, learning_rate=1e-2))
    opt_ref = build_optimizer(reference.parameters(), parser_args(fast_path=1, learning_rate=1e-2))
    storages = set()
    for _ in range(3):  # the trainer's loop: zero_grad(set_to_none) -> backward -> step
        for o in (opt, opt_ref):
            o.zero_grad(set_to_none=True)
        layer.prototypes(table).square().mean().backward()
        reference(table.T).T.square().mean().backward()
        assert torch.allclose(layer.weight.grad.t(), reference.weight.grad, atol=1e-7)
        storages.add(layer.weight.grad.data_ptr())
        opt.step()
        opt_ref.step()
    assert len(storages) == 1 and layer._grad_buffer.data_ptr() in storages
    kept = layer.weight.grad.clone(), layer.weight.grad  # someone keeps the last gradient
    opt.zero_grad(set_to_none=True)
    layer.prototypes(table).square().mean().backward()
    assert torch.equal(kept[1], kept[0]) and layer.weight.grad.data_ptr() != kept[1].data_ptr()
    once = layer.weight.grad.clone()  # accumulation (no zero_grad) adds up
    layer.prototypes(table).square().mean().backward()
    assert torch.allclose(layer.weight.grad, 2 * once, atol=1e-7)
    layer.eval()
    assert layer._grad_buffer is None


def test_mapping_layer_autocast_and_table_dtype():
    V, M, D = 300, 20, 16
    torch.manual_seed(0)
    layer = MappingLayer(V, M)
    table = torch.randn(V, D)
    exact = layer.prototypes(table)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = layer.prototypes(table)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), exact, atol=0.05, rtol=0.05)
    low.float().sum().backward()
    assert layer.weight.grad.dtype == torch.float32
    # a bf16 table (bf16 backbone) with fp32 weights: converted once, refreshed when it changes
    table16 = table.to(torch.bfloat16)
    a = layer.prototypes(table16)
    first = layer._table_cache[1]
    layer.prototypes(table16)
    assert layer._table_cache[1] is first and a.dtype == torch.float32
    table16.mul_(2)
    b = layer.prototypes(table16)
    assert layer._table_cache[1] is not first and torch.allclose(b, layer(table16.float().T).T,
                                                                  atol=1e-5)


def test_fused_adam_on_the_mapping_layer_follows_plain_adam():
    V, M, D = 300, 20, 16
    torch.manual_seed(0)
    fast = MappingLayer(V, M)
    torch.manual_seed(0)
    plain = nn.Linear(V, M)
    opt_fast = build_optimizer(fast.parameters(), parser_args(fast_path=1, learning_rate=1e-2))
    opt_plain = build_optimizer(plain.parameters(), parser_args(fast_path=0, learning_rate=1e-2))
    assert opt_fast.defaults["fused"] and not opt_plain.defaults.get("fused")
    table = torch.randn(V, D)
    for step in range(3):
        for model, opt, out in ((fast, opt_fast, lambda: fast.prototypes(table)),
                                (plain, opt_plain, lambda: plain(table.T).T)):
            opt.zero_grad(set_to_none=True)
            out().square().mean().backward()
            opt.step()
    assert torch.allclose(fast.weight_mv(), plain.weight, atol=1e-6)
    assert torch.allclose(fast.bias, plain.bias, atol=1e-6)


# ---- prompts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("T", [32, 33])
def test_reference_prompt_code_gives_the_same_text(T):
    torch.manual_seed(T)
    x = torch.randn(7, T, 1).cumsum(dim=1)
    x[3] = -x[3].flip(0)  # a downward one
    fast = build_prompts("Desc. ", 8, T, prompt_statistics(x))
    assert reference_prompts(x, "Desc. ", 8, T) == fast


# ---- the whole model: fast vs plain -------------------------------------------------------------

@pytest.mark.parametrize("name", ["LLAMA", "GPT2", "BERT"])
def test_fast_path_equals_plain_path(tiny_dirs, name):
    fast, plain = fast_and_plain(tiny_dirs, name, dropout=0.1)
    assert fast.prompt_cache == (name != "BERT") and not plain.prompt_cache
    for a, b in zip(fast.state_dict().values(), plain.state_dict().values()):
        assert torch.equal(a, b)  # the same weights, whatever the layout
    batches = [series_batch(B=3, seed=s) for s in range(2)] + [series_batch(B=1, seed=7),
                                                                series_batch(B=4, N=2, seed=5)]
    opts = [build_optimizer([p for p in m.parameters() if p.requires_grad],
                            parser_args(fast_path=f, learning_rate=1e-3))
            for m, f in ((fast, 1), (plain, 0))]
    assert_training_agrees(fast, plain, opts, batches)  # with dropout, an optimiser step after each
    for m in (fast, plain):  # an evaluation pass: the fast path reuses its prototypes
        m.eval()
    with torch.no_grad():
        for x in batches:
            y1, y0 = fast(x, None, None, None), plain(x, None, None, None)
            assert torch.allclose(y1, y0, atol=1e-5, rtol=1e-5), (y1 - y0).abs().max()


def test_plain_path_is_the_reference_computation(tiny_dirs, monkeypatch):
    fast, plain = fast_and_plain(tiny_dirs, "LLAMA")
    assert fast.llm_model.config._attn_implementation == "sdpa"
    assert not fast.llm_model.config.output_attentions
    assert plain.llm_model.config._attn_implementation == "eager"
    assert plain.llm_model.config.output_attentions and plain.llm_model.config.output_hidden_states
    assert type(plain.mapping_layer) is nn.Linear and isinstance(fast.mapping_layer, MappingLayer)
    out = plain.llm_model(inputs_embeds=torch.randn(1, 5, 32))
    assert len(out.attentions) == 2 and len(out.hidden_states) == 3  # maps stored, like the reference
    calls = {"tokenizer": 0, "linear": 0, "prototypes": 0}
    tokenizer_call = type(plain.tokenizer).__call__

    def counting_tokenizer(self, *a, **k):
        calls["tokenizer"] += 1
        return tokenizer_call(self, *a, **k)

    monkeypatch.setattr(type(plain.tokenizer), "__call__", counting_tokenizer)
    plain.mapping_layer.register_forward_hook(lambda *a: calls.__setitem__("linear", calls["linear"] + 1))
    prototypes = fast.mapping_layer.prototypes
    monkeypatch.setattr(fast.mapping_layer, "prototypes",
                        lambda t: calls.__setitem__("prototypes", calls["prototypes"] + 1) or prototypes(t))
    x = series_batch(B=2)
    for m in (fast, plain):
        m.eval()
    with torch.no_grad():
        for _ in range(3):
            fast(x, None, None, None)
            plain(x, None, None, None)
    # plain: a tokenizer call and a mapping-layer pass per batch; fast: prototypes once per pass,
    # tokenisation from the cache
    assert calls["linear"] == 3 and calls["tokenizer"] >= 3 and calls["prototypes"] == 1
    fast.train()
    fast.eval()  # a new pass
    with torch.no_grad():
        fast(x, None, None, None)
    assert calls["prototypes"] == 2


@pytest.mark.parametrize("name,lean", [("LLAMA", True), ("LLAMA", False), ("GPT2", False)])
def test_prompt_pass_stops_after_the_last_keys_and_values(tiny_dirs, name, lean, monkeypatch):
    """The prompt's pass runs the last layer only up to its keys/values (its MLP never runs),
    through the lean LLaMA runner and through the model's own forward alike."""
    model = Model(tiny_configs(name, tiny_dirs[name]))
    model._kv_cache.lean = lean
    layers = model.llm_model.layers if name == "LLAMA" else model.llm_model.h
    rows = []

    def record(mlp, x):
        if mlp is layers[-1].mlp:
            rows.append(x.shape[1])
        elif mlp is layers[0].mlp:
            rows.append(-x.shape[1])

    if lean:  # the lean runner calls the MLP's weights, not the module
        gated_mlp = llama_lean.gated_mlp
        monkeypatch.setattr(llama_lean, "gated_mlp",
                            lambda mlp, x, *a: (record(mlp, x), gated_mlp(mlp, x, *a))[1])
    else:
        for layer in (layers[0], layers[-1]):
            layer.mlp.register_forward_hook(lambda m, i, o: record(m, i[0]))
    model.eval()
    with torch.no_grad():
        for seed in range(3):  # miss (prefix computed), then hits
            rows.clear()
            model(series_batch(B=2, seed=seed), None, None, None)
            first, last = [-r for r in rows if r < 0], [r for r in rows if r > 0]
            assert last == [model.patch_nums]  # the patch pass only
            assert len(first) == len(rows) - 1 >= 2  # prompt passes ran the first layer
    stats = model._kv_cache.stats
    assert stats["hits"] >= 1 and stats["prefix_tokens"] > 0
    assert stats["lean" if lean else "transformers"] == 3 and stats["transformers" if lean else "lean"] == 0


def test_trainable_backbone_weights_turn_the_prompt_cache_off(tiny_dirs):
    """With adapter weights in the backbone (LoRA), the prompt must carry gradients to them."""
    fast, plain = fast_and_plain(tiny_dirs, "LLAMA")
    for m in (fast, plain):  # stand-in for an adapter: one trainable backbone weight
        m.llm_model.layers[0].self_attn.v_proj.weight.requires_grad_(True)
    x = series_batch(B=2)
    misses = fast._kv_cache.stats["misses"]
    with pytest.warns(UserWarning, match="prompt cache"):
        y1, _ = forward_backward(fast, x)
    y0, _ = forward_backward(plain, x)
    g1 = fast.llm_model.layers[0].self_attn.v_proj.weight.grad
    g0 = plain.llm_model.layers[0].self_attn.v_proj.weight.grad
    assert torch.allclose(y1, y0, atol=1e-5) and torch.allclose(g1, g0, atol=1e-5, rtol=1e-5)
    assert fast._kv_cache.stats["misses"] == misses and fast._kv_cache.stats["hits"] == 0


def test_checkpoints_move_between_paths(tiny_dirs):
    fast, plain = fast_and_plain(tiny_dirs, "GPT2", seed=1)
    torch.manual_seed(5)
    plain.mapping_layer.weight.data.normal_()
    plain.reprogramming_layer.out_projection.bias.data.normal_()
    fast.load_state_dict(plain.state_dict(), strict=True)
    x = series_batch(B=2)
    fast.eval(), plain.eval()
    with torch.no_grad():
        assert torch.allclose(fast(x, None, None, None), plain(x, None, None, None), atol=1e-5)
    fresh, _ = fast_and_plain(tiny_dirs, "GPT2", seed=2)
    fresh.load_state_dict(fast.state_dict(), strict=True)
    assert torch.equal(fresh.mapping_layer.weight, fast.mapping_layer.weight)


def test_mapping_vocab_is_an_opt_in_cheaper_mapping(tiny_dirs):
    fast, plain = fast_and_plain(tiny_dirs, "LLAMA", mapping_vocab=50)
    assert fast.mapping_layer.in_features == 50 and plain.mapping_layer.in_features == 50
    assert fast.state_dict()["mapping_layer.weight"].shape == (20, 50)
    x = series_batch(B=2)
    y1, g1 = forward_backward(fast, x)
    y0, g0 = forward_backward(plain, x)
    assert torch.allclose(y1, y0, atol=1e-5) and y1.shape == (2, 8, 1)
    assert_grads_close(g1, g0)
    exact = Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"]))
    assert exact.mapping_vocab == 0 and exact.mapping_layer.in_features == exact.vocab_size
    with pytest.raises(ConfigError, match="mapping_vocab"):
        Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"], mapping_vocab=10**6))


def test_record_function_labels_cover_the_sections(tiny_dirs):
    fast, plain = fast_and_plain(tiny_dirs, "LLAMA")
    x = series_batch(B=2)
    seen = {}
    for m in (fast, plain):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            m(x, None, None, None).mean().backward()
        seen[m.fast_path] = {e.name for e in prof.events() if e.name.startswith("timellm.")}
    common = {"timellm.prompt", "timellm.patch_embedding", "timellm.mapping",
              "timellm.reprogramming", "timellm.head"}
    assert common | {"timellm.llm_prompt", "timellm.llm_patches", "timellm.mapping.backward"} <= seen[True]
    assert common | {"timellm.llm"} <= seen[False]


# ---- the real backbone --------------------------------------------------------------------------

@pytest.mark.slow
def test_fast_equals_plain_on_real_smollm2():
    x = etth1_windows(batch=2)
    y = torch.randn(2, 96, 1, generator=torch.Generator().manual_seed(0))
    results = []
    for fast in (1, 0):
        torch.manual_seed(0)
        model = Model(real_configs("SmolLM2", 2, fast_path=fast))
        model.train()
        torch.manual_seed(1)
        loss = nn.functional.mse_loss(model(x, None, None, None), y)
        loss.backward()
        results.append((loss.item(), trainable_grads(model)))
        del model
    (l1, g1), (l0, g0) = results
    print(f"\nSmolLM2 (2 layers), batch 2: loss fast {l1:.8f} plain {l0:.8f}")
    assert abs(l1 - l0) <= 1e-5 * max(1.0, abs(l0))
    assert_grads_close(g1, g0)


# ---- the optimiser builder ----------------------------------------------------------------------

@pytest.mark.parametrize("name, cls, fused", [("adam", torch.optim.Adam, True),
                                              ("adamw", torch.optim.AdamW, True),
                                              ("sgd", torch.optim.SGD, True),
                                              ("rmsprop", torch.optim.RMSprop, False)])
def test_build_optimizer_reads_the_flags(name, cls, fused):
    params = [nn.Parameter(torch.randn(3, 4))]
    args = parser_args(optimizer=name, learning_rate=0.01, weight_decay=0.1, momentum=0.5,
                       adam_beta1=0.8, adam_beta2=0.99, fast_path=1)
    opt = build_optimizer(params, args)
    assert type(opt) is cls and opt.defaults["lr"] == 0.01 and opt.defaults["weight_decay"] == 0.1
    assert bool(opt.defaults.get("fused")) == fused
    if name.startswith("adam"):
        assert opt.defaults["betas"] == (0.8, 0.99)
    else:
        assert opt.defaults["momentum"] == 0.5
    args.fast_path = 0
    assert not build_optimizer(params, args).defaults.get("fused")
    params[0].grad = torch.ones(3, 4)
    opt.step()


def test_build_optimizer_default_is_the_reference_adam():
    opt = build_optimizer([nn.Parameter(torch.zeros(2))], parser_args(learning_rate=1e-3, fast_path=0))
    assert type(opt) is torch.optim.Adam and opt.defaults["betas"] == (0.9, 0.999)
    assert opt.defaults["weight_decay"] == 0 and not opt.defaults.get("fused")
    with pytest.raises(ConfigError, match="unknown optimizer 'lion'"):
        build_optimizer([nn.Parameter(torch.zeros(2))], parser_args(learning_rate=1e-3, optimizer="lion"))
