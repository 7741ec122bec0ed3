"""LoRA adapters (--peft lora): what trains, exactness of the prompt cache, checkpoints, bad input."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaModel

from layers.peft_adapters import apply_peft, base_weight_checksum, linear_module_names
from models.TimeLLM import Model
from tests.helpers.runs import TIMELLM_TINY, only_metrics, run_main
from tests.helpers.timellm import tiny_configs
from utils.errors import ConfigError


pytestmark = pytest.mark.usefixtures("one_thread")


def lora_model(tiny_dirs, name="LLAMA", **kw):
    torch.manual_seed(0)
    return Model(tiny_configs(name, tiny_dirs[name], peft="lora", lora_r=4, lora_alpha=8,
                              lora_dropout=0.0, lora_target_modules=None, **kw))


@pytest.mark.parametrize("name,targets", [("LLAMA", ("q_proj", "v_proj")), ("GPT2", ("c_attn",))])
def test_only_adapters_and_timellm_layers_train(tiny_dirs, name, targets):
    model = lora_model(tiny_dirs, name)
    llm_trainable = [n for n, p in model.llm_model.named_parameters() if p.requires_grad]
    assert llm_trainable and all("lora_" in n for n in llm_trainable)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in llm_trainable} == set(targets)
    assert model.mapping_layer.weight.requires_grad


def test_unknown_target_module_lists_the_valid_names(tiny_dirs):
    with pytest.raises(ConfigError) as err:
        Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"], peft="lora", lora_r=4, lora_alpha=8,
                           lora_dropout=0.0, lora_target_modules="query,value"))
    msg = str(err.value)
    assert "query" in msg and "q_proj" in msg and "v_proj" in msg and "\n" not in msg


def _adapters_nonzero(model):
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.1)


@pytest.mark.parametrize("name", ["LLAMA", "GPT2"])
def test_prompt_cache_on_and_off_agree_with_trainable_adapters(tiny_dirs, name):
    torch.manual_seed(1)
    x = torch.randn(3, 32, 1)
    outs, grads = [], []
    for cache in (1, 0):
        model = lora_model(tiny_dirs, name, prompt_cache=cache)
        _adapters_nonzero(model)
        model.train()
        out = model(x, None, None, None)
        out.pow(2).mean().backward()
        outs.append(out.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        model.eval()
        with torch.no_grad():
            outs.append(model(x, None, None, None))
    torch.testing.assert_close(outs[0], outs[2], rtol=1e-5, atol=1e-5)  # training forward
    torch.testing.assert_close(outs[1], outs[3], rtol=1e-5, atol=1e-5)  # evaluation forward
    assert grads[0].keys() == grads[1].keys() and any("lora_" in k for k in grads[0])
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-5, atol=1e-6)


def test_training_changes_adapters_not_base_weights(tiny_dirs):
    model = lora_model(tiny_dirs)
    before = base_weight_checksum(model.llm_model)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.randn(4, 32, 1)
    lora_b = next(p for n, p in model.named_parameters() if "lora_B" in n)
    start = lora_b.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        model(x, None, None, None).pow(2).mean().backward()
        opt.step()
    assert base_weight_checksum(model.llm_model) == before
    assert not torch.equal(lora_b.detach(), start)


def test_linear_module_names_of_a_llama():
    m = LlamaModel(LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32,
                               num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1))
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= set(
        linear_module_names(m))
    with pytest.raises(ConfigError):
        apply_peft(m, "llama", type("C", (), {"peft": "lora", "lora_r": 2, "lora_alpha": 4,
                                              "lora_dropout": 0.0, "lora_target_modules": "c_attn"})())


def test_lora_run_reloads_its_adapter_and_reproduces_its_mse(tmp_path, tiny_dirs, data_root):
    args = [*TIMELLM_TINY, "--llm_path", tiny_dirs["LLAMA"], "--peft", "lora", "--lora_r", "4",
            "--model_id", "lora"]
    run_main(args, tmp_path)
    m = only_metrics(tmp_path)
    ckpt = torch.load(m["checkpoint"], weights_only=False)
    adapters = [k for k in ckpt["state_dict"] if "lora_" in k]
    assert adapters and not any("base_layer" in k for k in ckpt["state_dict"])
    assert (Path(m["checkpoint"]).parent / "adapter" / "adapter_config.json").exists()
    assert m["backbone_checksum"]["before"] == m["backbone_checksum"]["after"]
    run_main([*args, "--is_training", "0", "--overwrite"], tmp_path)
    assert only_metrics(tmp_path)["metrics"]["mse"] == pytest.approx(m["metrics"]["mse"], abs=1e-7)
