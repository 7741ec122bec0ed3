"""Any Hugging Face language model as Time-LLM's backbone through ``--llm_path`` (docs/BACKBONES.md).

Tiny random models of fourteen architectures (``tests.helpers.tiny_backbones.TINY``: llama, mistral,
qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, gpt_neox, gpt2, opt, bert, distilbert, roberta)
are built offline from configs and saved to a temporary folder. Checked: what the loader reads
from each model (depth, layer list, width, causality, pad token); the prompt KV cache on and off
give the same outputs and gradients (1e-5) for every causal one, through the lean runner where it
serves the architecture and through ``transformers``' own cache objects otherwise; the lean
runner refuses the architectures whose layers it does not reproduce; a run of ``run_main`` end
to end with each (slow); an architecture that cannot run is one line and exit status 2.
"""
from __future__ import annotations

import json

import pytest
import torch

import run_main
from layers.backbones import backbone_name, layer_list, load_backbone
from layers.fast import llama_lean
from layers.fast.prompt_cache import TransformersRunner
from models.TimeLLM import Model
from tests.helpers.fast_vs_plain import assert_training_agrees
from tests.helpers.tiny_backbones import CAUSAL, ENCODERS, TINY
from tests.helpers.timellm import series_batch, tiny_configs
from utils.errors import ConfigError, UserError

pytestmark = pytest.mark.usefixtures("one_thread")

# the class transformers' AutoModel gives for each architecture's config
BASE_CLASS = {"llama": "LlamaModel", "mistral": "MistralModel", "qwen2": "Qwen2Model",
              "qwen3": "Qwen3Model", "gemma": "GemmaModel", "gemma2": "Gemma2Model",
              "gemma3_text": "Gemma3TextModel", "phi3": "Phi3Model", "gpt_neox": "GPTNeoXModel",
              "gpt2": "GPT2Model", "opt": "OPTModel", "bert": "BertModel",
              "distilbert": "DistilBertModel", "roberta": "RobertaModel"}
# tiny_backbones builds these without a sliding window; Qwen3 and Gemma-3 (query/key norms),
# Gemma-2 (softcapping, sliding window) run through transformers
LEAN = {"llama", "mistral", "qwen2", "gemma"}


def test_the_zoo_covers_the_issue_list():
    assert set(TINY) == set(CAUSAL) | set(ENCODERS) == set(BASE_CLASS)
    assert {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3",
            "gpt_neox", "gpt2"} <= set(CAUSAL)
    assert {"bert", "roberta"} <= set(ENCODERS)


@pytest.mark.parametrize("family", sorted(TINY))
def test_read_from_the_model(tiny_zoo, family):
    """Depth, layer list, width, causality and pad token come from the model (llm_model auto)."""
    bb = load_backbone(None, 1, llm_path=tiny_zoo[family])
    assert type(bb.model).__name__ == BASE_CLASS[family] and bb.family == family
    assert bb.depth == 2 and bb.llm_dim == 32 and bb.identity["name"] == "auto"
    assert len(layer_list(bb.model)) == 1  # truncated to --llm_layers
    assert bb.is_causal == (family in CAUSAL)
    assert all(not p.requires_grad for p in bb.model.parameters())
    tok = bb.tokenizer
    assert tok.pad_token == (tok.eos_token or "[PAD]") and tok.pad_token_id is not None
    assert llama_lean.supports(bb.model) == (family in LEAN)
    with torch.no_grad():  # the truncated model runs and keeps the width
        out = bb.model(inputs_embeds=torch.randn(2, 5, 32)).last_hidden_state
    assert out.shape == (2, 5, 32) and torch.isfinite(out).all()


def test_causality_is_what_the_model_does(tiny_zoo):
    """The flag the loader reads agrees with the computation: for a causal model a change to the
    last position leaves the earlier outputs alone; for an encoder it does not."""
    for family in ("gemma2", "gemma3_text", "gpt_neox", "bert", "roberta"):
        bb = load_backbone("auto", 2, llm_path=tiny_zoo[family])
        x = torch.randn(1, 6, 32)
        y = x.clone()
        y[:, -1] += torch.randn(32)  # not a constant shift: a LayerNorm would remove it
        with torch.no_grad():
            a, b = (bb.model(inputs_embeds=t).last_hidden_state[:, :-1] for t in (x, y))
        assert torch.allclose(a, b, atol=1e-6) == bb.is_causal, family


@pytest.mark.parametrize("family", sorted(CAUSAL))
def test_prompt_cache_on_and_off_agree(tiny_zoo, family):
    """The exact prompt KV cache for every causal architecture: outputs and gradients of every
    trainable parameter equal with the cache on and off (1e-5), in training (dropout, optimiser
    steps between batches) and evaluation, with the run-wide shared prefix hit."""
    models = []
    for cache in (1, 0):
        torch.manual_seed(0)
        models.append(Model(tiny_configs(None, tiny_zoo[family], prompt_cache=cache, dropout=0.1)))
    cached, plain = models
    assert cached.prompt_cache and not plain.prompt_cache
    opts = [torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
            for m in models]
    assert_training_agrees(cached, plain, opts, [series_batch(B=3, seed=i) for i in range(3)])
    for m in models:
        m.eval()
    with torch.no_grad():
        x = series_batch(B=4, N=2, seed=9)
        y1, y0 = cached(x, None, None, None), plain(x, None, None, None)
    assert torch.allclose(y1, y0, atol=1e-5, rtol=1e-5), (y1 - y0).abs().max()
    stats = cached._kv_cache.stats
    assert stats["hits"] >= 2 and stats["prefix_tokens"] > 0
    runner = "lean" if family in LEAN else "transformers"
    assert stats[runner] == 4 and stats["lean" if runner == "transformers" else "transformers"] == 0


@pytest.mark.parametrize("family", sorted(LEAN))
def test_lean_runner_equals_transformers_cache(tiny_zoo, family):
    """The lean runner's keys/values and hidden states over a cached prefix equal the model's own
    forward with a DynamicCache (Mistral, Qwen2 and Gemma as well as LLaMA)."""
    llm = load_backbone("auto", 2, llm_path=tiny_zoo[family]).model
    lean, ref = llama_lean.LeanLlama(llm), TransformersRunner(llm)
    g = torch.Generator().manual_seed(3)
    prefix, prompt, patches = (torch.randn(b, n, 32, generator=g)
                               for b, n in ((1, 7), (3, 9), (3, 5)))
    with torch.no_grad():
        kv, ref_kv = lean.keys_values(prefix, 0), ref.keys_values(prefix, 0)
        kv, ref_kv = lean.keys_values(prompt, 7, kv), ref.keys_values(prompt, 7, ref_kv)
        out, ref_out = lean.hidden_states(patches, 16, kv), ref.hidden_states(patches, 16, ref_kv)
    for (k, v), (rk, rv) in zip(kv, ref_kv):
        torch.testing.assert_close(k, rk, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(v, rv, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)


def test_a_sliding_window_turns_the_lean_runner_off(tiny_zoo):
    llm = load_backbone("auto", 2, llm_path=tiny_zoo["mistral"]).model
    assert llama_lean.supports(llm)
    llm.config.sliding_window = 16
    assert not llama_lean.supports(llm)


def test_the_lean_runner_refuses_query_key_norms(tiny_zoo):
    """Qwen3 has LLaMA's layer layout plus per-head query/key RMSNorms, which the lean runner
    does not apply: ``supports`` refuses it, and rightly: forced onto the model, the lean
    runner's hidden states are not the model's. (Gemma-3's layers, with the same norms and a
    rotary embedding per layer type, are refused too: ``test_read_from_the_model``.)"""
    llm = load_backbone("auto", 2, llm_path=tiny_zoo["qwen3"]).model
    assert not llama_lean.supports(llm)
    x = torch.randn(2, 6, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = TransformersRunner(llm).hidden_states(x, 0)
        lean = llama_lean.LeanLlama(llm).hidden_states(x, 0)
    assert lean.shape == ref.shape and not torch.allclose(lean, ref, atol=1e-3)


def test_llm_model_auto_and_its_default():
    assert backbone_name(None, "/some/folder") == "auto"
    assert backbone_name(None, None) == "SmolLM2"
    assert backbone_name("gpt2", "/some/folder") == "GPT2"
    with pytest.raises(ConfigError) as err:
        backbone_name("auto", None)
    assert "--llm_path" in str(err.value) and "\n" not in str(err.value)


def _unsupported_folders(tmp_path) -> dict[str, str]:
    """A T5 (encoder-decoder) config and a config of an architecture transformers does not know."""
    from transformers import AutoConfig

    t5 = tmp_path / "t5"
    AutoConfig.for_model("t5", num_layers=2, d_model=32).save_pretrained(t5)
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "config.json").write_text(json.dumps({"model_type": "no_such_arch_xyz"}))
    return {"t5": str(t5), "no_such_arch_xyz": str(unknown)}


def test_unsupported_architecture_is_one_line(tmp_path):
    for arch, folder in _unsupported_folders(tmp_path).items():
        with pytest.raises(UserError) as err:
            load_backbone(None, 1, llm_path=folder)
        text = str(err.value)
        assert "\n" not in text and arch in text, text


def test_unsupported_architecture_exits_2(tmp_path, capsys, data_root):
    folder = _unsupported_folders(tmp_path)["t5"]
    argv = ["--model", "TimeLLM", "--data", "ETTh1", "--root_path", "./dataset/ETT-small/",
            "--data_path", "ETTh1.csv", "--features", "S", "--llm_path", folder,
            "--checkpoints", str(tmp_path / "ckpt"), "--results_dir", str(tmp_path / "res")]
    assert run_main.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'t5' is not supported" in err[0], err


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(TINY))
def test_timellm_runs_end_to_end(tiny_zoo, family, tmp_path, data_root):
    """run_main with ``--llm_path`` alone (no --llm_model): one short epoch on real ETTh1 (1% of
    the training windows, one channel), then the test pass; the metrics are finite and the
    recorded backbone is the folder's."""
    argv = ["--task_name", "long_term_forecast", "--model", "TimeLLM", "--data", "ETTh1",
            "--root_path", "./dataset/ETT-small/", "--data_path", "ETTh1.csv", "--features", "S",
            "--seq_len", "32", "--label_len", "8", "--pred_len", "8", "--d_model", "8",
            "--d_ff", "16", "--n_heads", "2", "--patch_len", "8", "--stride", "4",
            "--llm_path", tiny_zoo[family], "--llm_layers", "2", "--num_tokens", "20",
            "--batch_size", "32", "--eval_batch_size", "512", "--train_epochs", "1",
            "--percent", "1", "--des", family, "--checkpoints", str(tmp_path / "ckpt"),
            "--results_dir", str(tmp_path / "results")]
    assert run_main.main(argv) == 0
    (metrics,) = (tmp_path / "results").glob("*/metrics.json")
    m = json.loads(metrics.read_text())
    assert m["metrics"]["n_samples"] == 2880 - 8 + 1
    assert 0 < m["metrics"]["mse"] < 10 and 0 < m["metrics"]["mae"] < 10
    ckpt = torch.load(m["checkpoint"], weights_only=False)
    assert ckpt["backbone"]["name"] == "auto" and ckpt["backbone"]["path"] == tiny_zoo[family]
