"""Time-LLM end to end on tiny random backbones, plus one slow test on the embedded real ones."""
from __future__ import annotations

import time

import pytest
import torch

import layers.prompt

from layers.fast.prompt import build_prompts, prompt_statistics
from exp.config import setting_string
from models import get_model_class
from models.TimeLLM import Model
from run_main import build_parser
from tests.helpers.mirror import etth1_windows
from tests.helpers.timellm import real_configs, series_batch, tiny_configs
from utils.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


TRAINED = ("patch_embedding.", "mapping_layer.", "reprogramming_layer.", "output_projection.")


def _model(tiny_dirs, name="LLAMA", seed=0, **overrides) -> Model:
    torch.manual_seed(seed)
    path = tiny_dirs[overrides.pop("folder", name)]
    return Model(tiny_configs(overrides.pop("llm_model", name), path, **overrides))


def _trainable(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_registry_and_class_attributes():
    cls = get_model_class("TimeLLM")
    assert cls is Model and cls.channel_independent is True and cls.reference_lr_quirk is True


@pytest.mark.parametrize("name", ["LLAMA", "GPT2", "BERT"])
def test_forward_shapes(tiny_dirs, name):
    model = _model(tiny_dirs, name, dropout=0.1)
    x = series_batch(B=2, N=3)
    y = model(x, torch.zeros(2, 32, 4), torch.zeros(2, 16, 3), torch.zeros(2, 16, 4))
    assert y.shape == (2, 8, 3) and torch.isfinite(y).all()
    model.eval()
    with torch.no_grad():
        assert model(x, None, None, None).shape == (2, 8, 3)
    assert model.prompt_cache == (name != "BERT")
    assert model.patch_nums == 8 and model.head_nf == 16 * 8


def _reference_keys(model) -> set[str]:
    """The key set of the reference model's state_dict for the same backbone."""
    keys = {f"llm_model.{k}" for k in model.llm_model.state_dict()}
    keys |= {"word_embeddings", "patch_embedding.value_embedding.tokenConv.weight",
             "mapping_layer.weight", "mapping_layer.bias",
             "output_projection.linear.weight", "output_projection.linear.bias"}
    for part in ("query", "key", "value", "out"):
        keys |= {f"reprogramming_layer.{part}_projection.weight",
                 f"reprogramming_layer.{part}_projection.bias"}
    return keys


@pytest.mark.parametrize("name", ["LLAMA", "GPT2", "BERT"])
def test_reference_names_and_strict_state_dict(tiny_dirs, name):
    model = _model(tiny_dirs, name)
    assert model.word_embeddings is model.llm_model.get_input_embeddings().weight
    assert isinstance(model.patch_embedding.value_embedding.tokenConv, torch.nn.Conv1d)
    assert model.mapping_layer.out_features == 20 and model.mapping_layer.in_features == model.vocab_size
    state = model.state_dict()
    assert set(state) == _reference_keys(model)
    torch.manual_seed(1)
    reference_state = {k: torch.randn_like(v) if v.is_floating_point() else v.clone()
                       for k, v in state.items()}
    reference_state["word_embeddings"] = reference_state["llm_model." + next(
        k for k in model.llm_model.state_dict() if k.endswith(("embed_tokens.weight", "wte.weight",
                                                               "word_embeddings.weight")))]
    result = model.load_state_dict(reference_state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.mapping_layer.weight_mv(), reference_state["mapping_layer.weight"])
    assert torch.equal(model.state_dict()["mapping_layer.weight"], reference_state["mapping_layer.weight"])
    assert _trainable(model) == {n for n in state if n.startswith(TRAINED)}
    assert model.trainable_parameters() == sum(state[n].numel() for n in _trainable(model))


def test_prompt_ids_are_the_tokenised_reference_prompts(tiny_dirs):
    model = _model(tiny_dirs, "GPT2")
    x = series_batch(B=4)
    z = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5)
    series = z.permute(0, 2, 1).reshape(4, 32, 1)
    prompts = build_prompts(model.description, 8, 32, prompt_statistics(series))
    assert prompts[0].startswith("<|start_prompt|>Dataset description: The Electricity Transformer")
    expected = model.tokenizer(prompts, return_tensors="pt", padding=True, truncation=True,
                               max_length=2048).input_ids
    assert torch.equal(model.prompt_ids(series), expected)


def _output_and_grads(model, x, cache: bool, seed: int = 0):
    model.prompt_cache = cache
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    y = model(x, None, None, None)
    (y.square().mean() + y.mean()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return y.detach(), grads


def _assert_cache_exact(model, batches, train: bool):
    model.train(train)
    for x in batches:
        y1, g1 = _output_and_grads(model, x, cache=True)
        y0, g0 = _output_and_grads(model, x, cache=False)
        assert torch.allclose(y1, y0, atol=1e-5, rtol=1e-5), (y1 - y0).abs().max()
        assert set(g1) == set(g0) and len(g1) == 13
        for n in g0:  # agree to 1e-5 of the gradient's scale (absolute below 1)
            error = (g1[n] - g0[n]).abs().max().item()
            assert error <= 1e-5 * max(1.0, g0[n].abs().max().item()), (n, error)


@pytest.mark.parametrize("name", ["LLAMA", "GPT2"])
def test_prompt_cache_is_exact_with_shared_prefix(tiny_dirs, name):
    model = _model(tiny_dirs, name)
    batches = [series_batch(B=3, seed=s) for s in range(3)] + [series_batch(B=1, seed=9),
                                                                series_batch(B=5, seed=4)]
    _assert_cache_exact(model, batches, train=True)
    stats = model._kv_cache.stats
    assert stats["hits"] >= 3 and stats["prefix_tokens"] > 0
    # the shared prefix is the description + task text, cached once for the whole run
    prefix = next(iter(model._kv_cache._prefixes.values()))[0]
    text = model.tokenizer.decode(prefix)
    assert "forecast the next 8 steps given the previous 32 steps" in text
    _assert_cache_exact(model, batches[:2], train=False)


def test_prompt_cache_is_exact_with_left_padding(tiny_dirs):
    model = _model(tiny_dirs, "LLAMA")
    model.tokenizer.padding_side = "left"
    before = dict(model._kv_cache.stats)
    _assert_cache_exact(model, [series_batch(B=4, seed=1), series_batch(B=2, seed=2)], train=True)
    assert model._kv_cache.stats["hits"] == before["hits"]  # no shared prefix with left padding
    assert model._kv_cache.stats["misses"] == before["misses"]


def test_prompt_cache_with_backbone_dropout(tiny_dirs):
    """A GPT-2 with dropout (active in training, as in the reference): per-batch cache only."""
    model = _model(tiny_dirs, "GPT2", folder="GPT2_dropout")
    x = series_batch(B=3)
    model.train()
    model.prompt_cache = True
    y = model(x, None, None, None)
    y.mean().backward()
    assert torch.isfinite(y).all() and model._kv_cache.stats["misses"] == 0
    _assert_cache_exact(model, [x], train=False)


def test_prompt_cache_off_by_flag_and_for_bert(tiny_dirs):
    assert not _model(tiny_dirs, "LLAMA", prompt_cache=0).prompt_cache
    assert not _model(tiny_dirs, "BERT", prompt_cache=1).prompt_cache


def test_prototype_keys_values_cached_only_in_evaluation(tiny_dirs):
    model = _model(tiny_dirs, "LLAMA")
    layer = model.reprogramming_layer

    def fresh():
        source = model.mapping_layer(model.word_embeddings.T).T
        return layer.fast_source(source, source)

    model.eval()
    with torch.no_grad():
        a = model._source_kv()
        assert model._source_kv() is a
        assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, fresh()))
        for edit in (lambda: model.mapping_layer.weight.add_(0.5),  # an optimiser step, a reload
                     lambda: model.mapping_layer.bias.sub_(0.1),
                     lambda: layer.key_projection.weight.mul_(2.0),
                     lambda: layer.query_projection.bias.add_(0.3),
                     lambda: layer.value_projection.bias.add_(1.0),
                     lambda: model.load_state_dict({"mapping_layer.bias": torch.zeros(20)},
                                                   strict=False)):
            edit()
            b = model._source_kv()
            assert b is not a and all(torch.allclose(x, y, atol=1e-6) for x, y in zip(b, fresh()))
            a = b
    assert model._source_kv()[0].requires_grad  # grad enabled: never the cached tensors
    model.train()
    assert model._source is None
    plain = _model(tiny_dirs, "LLAMA", fast_path=0)  # the plain path recomputes every batch
    plain.eval()
    with torch.no_grad():
        assert plain._source_kv() is not plain._source_kv() and plain._source is None


def test_optimizer_step_invalidates_prototypes(tiny_dirs):
    model = _model(tiny_dirs, "GPT2")
    x = series_batch(B=2)
    model.eval()
    with torch.no_grad():
        before = model(x, None, None, None)
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(x, None, None, None).mean().backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        after = model(x, None, None, None)
        model._source = None
        recomputed = model(x, None, None, None)
    assert not torch.allclose(before, after) and torch.equal(after, recomputed)


@pytest.mark.parametrize("overrides, needle", [
    ({"llm_layers": 5}, "has 2 layers"),
    ({"llm_dim": 4096}, "hidden size 32"),
    ({"llm_model": "GPT5"}, "unknown backbone 'GPT5'"),
    ({"ablation": "no_brain"}, "unknown ablation 'no_brain'"),
    ({"d_ff": 64}, "exceeds the backbone's hidden size 32"),
    ({"task_name": "imputation"}, "task_name"),
])
def test_bad_configs_fail_with_one_line(tiny_dirs, overrides, needle):
    with pytest.raises(ConfigError) as err:
        _model(tiny_dirs, "LLAMA", **overrides)
    assert needle in str(err.value) and "\n" not in str(err.value)


ABLATION_TRAINABLE = {
    "none": TRAINED,
    "no_llm": TRAINED,
    "attention_layer": TRAINED + ("attention_layer.",),
    "llm2attn": TRAINED + ("self_attention.", "self_attention_norm."),
    "random_llm": TRAINED,
    "no_prompt": TRAINED,
    "no_reprogramming": ("patch_embedding.", "patch_projection.", "output_projection."),
}


@pytest.mark.parametrize("ablation", sorted(ABLATION_TRAINABLE))
def test_ablations_run_and_train_the_right_parts(tiny_dirs, ablation):
    model = _model(tiny_dirs, "LLAMA", ablation=ablation)
    prefixes = ABLATION_TRAINABLE[ablation]
    trainable = _trainable(model)
    assert all(n.startswith(prefixes) for n in trainable)
    assert {n.split(".")[0] + "." for n in trainable} == set(prefixes)
    assert all(not p.requires_grad for p in model.llm_model.parameters())
    x = series_batch(B=2)
    y = model(x, None, None, None)
    assert y.shape == (2, 8, 1) and torch.isfinite(y).all()
    y.mean().backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if n in trainable)
    assert hasattr(model, "mapping_layer") == (ablation != "no_reprogramming")
    assert model.identity()["ablation"] == ablation


def test_llm2attn_is_one_self_attention_and_a_norm_over_prompt_and_patches(tiny_dirs):
    model = _model(tiny_dirs, "LLAMA", ablation="llm2attn").eval()
    attn, norm = model.self_attention, model.self_attention_norm
    D, H = model.d_llm, attn.num_heads
    assert sum(p.numel() for p in attn.parameters()) == 4 * D * D + 4 * D  # q, k, v, out: no FFN
    assert sum(p.numel() for p in norm.parameters()) == 2 * D
    with torch.no_grad():                                         # a trained norm, not the identity
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    seen = {}
    attn.register_forward_hook(lambda m, i, o: seen.update(x=i[0]))
    norm.register_forward_hook(lambda m, i, o: seen.update(y=o))
    with torch.no_grad():
        model(series_batch(B=2), None, None, None)
        x = seen["x"]                                             # [prompt ; patches]
        assert x.shape[1] > model.patch_nums                      # the prompt is in front
        q, k, v = (x @ w.T + b for w, b in zip(attn.in_proj_weight.chunk(3), attn.in_proj_bias.chunk(3)))
        split = lambda t: t.view(*t.shape[:2], H, D // H).transpose(1, 2)
        a = torch.softmax(split(q) @ split(k).transpose(-1, -2) / (D // H) ** 0.5, dim=-1)
        mixed = attn.out_proj((a @ split(v)).transpose(1, 2).reshape(x.shape))
        mean, var = mixed.mean(-1, keepdim=True), mixed.var(-1, unbiased=False, keepdim=True)
        by_hand = (mixed - mean) / (var + norm.eps).sqrt() * norm.weight + norm.bias
    assert torch.allclose(seen["y"], by_hand, atol=1e-5)


def test_random_llm_is_random_and_reproducible(tiny_dirs):
    pretrained = _model(tiny_dirs, "LLAMA")
    a = _model(tiny_dirs, "LLAMA", ablation="random_llm", seed=1)
    b = _model(tiny_dirs, "LLAMA", ablation="random_llm", seed=2)
    wa, wb, wp = (m.llm_model.layers[0].mlp.up_proj.weight for m in (a, b, pretrained))
    assert torch.equal(wa, wb) and not torch.equal(wa, wp)  # seeded by configs.seed, not the RNG
    assert a.backbone_identity["init"] == "random(seed=2021)"
    _assert_cache_exact(a, [series_batch(B=2)], train=True)


def test_no_prompt_and_no_llm_skip_the_prompt(tiny_dirs, monkeypatch):
    for ablation in ("no_prompt", "no_llm"):
        model = _model(tiny_dirs, "GPT2", ablation=ablation)
        monkeypatch.setattr(model, "prompt_ids", lambda s: pytest.fail("prompt built"))
        model(series_batch(B=2), None, None, None)


def test_prompt_domain_uses_the_prompt_bank(tiny_dirs, monkeypatch):
    monkeypatch.setattr(layers.prompt, "load_description", lambda name: f"Readings of {name}. ")
    model = _model(tiny_dirs, "GPT2", prompt_domain=1, data="Weather")
    assert model.description == "Readings of Weather. "
    ids = model.prompt_ids(torch.randn(2, 32, 1))
    text = model.tokenizer.decode(ids[0])
    assert text.startswith("<|start_prompt|>Dataset description: Readings of Weather. Task")


def test_bfloat16_backbone_runs(tiny_dirs):
    model = _model(tiny_dirs, "LLAMA", dtype="bfloat16")
    assert model.word_embeddings.dtype == torch.bfloat16
    assert model.mapping_layer.weight.dtype == torch.float32
    y = model(series_batch(B=2), None, None, None)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
    y.mean().backward()


def test_identity_for_checkpoints(tiny_dirs):
    model = _model(tiny_dirs, "GPT2")
    assert model.backbone_identity == {"name": "GPT2", "path": tiny_dirs["GPT2"], "layers": 2,
                                       "hidden_size": 32, "vocab_size": model.vocab_size}
    assert model.identity() == {"backbone": model.backbone_identity, "ablation": "none"}


# ---- the real embedded backbones ---------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("llm_model", ["SmolLM2", "MiniLM"])
def test_real_backbone_on_etth1(llm_model):
    pytest.importorskip("pandas")
    x = etth1_windows()
    torch.manual_seed(0)
    start = time.perf_counter()
    model = Model(real_configs(llm_model, 2))
    built = time.perf_counter() - start
    assert all(not p.requires_grad for p in model.llm_model.parameters())
    assert _trainable(model) == {n for n, _ in model.named_parameters() if n.startswith(TRAINED)}
    model.train()
    y = model(x, None, None, None)
    assert y.shape == (2, 96, 1) and torch.isfinite(y).all()
    y.square().mean().backward()
    print(f"\n{llm_model} (2 layers, D={model.d_llm}): trainable parameters "
          f"{model.trainable_parameters():,}; built in {built:.1f}s")
    if llm_model != "SmolLM2":
        assert not model.prompt_cache
        return
    model.eval()  # real SmolLM2, batch 2: cache on/off equality, forward and gradients
    _assert_cache_exact(model, [x], train=False)


def test_an_ablation_has_its_own_setting():
    """Results and checkpoints of `--ablation X` never land in the full model's folders."""
    full = setting_string(build_parser().parse_args(["--model", "TimeLLM"]), 0)
    ablated = setting_string(build_parser().parse_args(["--model", "TimeLLM", "--ablation", "no_llm"]), 0)
    assert ablated == full + "_no_llm"
