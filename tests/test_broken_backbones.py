"""Backbone folders a download left broken are refused in one line naming the folder, what is
wrong and the fix (layers/backbones.py), never with a traceback or a library message cut short.

Each broken folder is made from a tiny random LLaMA (``tests.helpers.tiny_backbones``) or a tiny ViT in
seconds, offline: weights cut short, a shard missing, a vision model, a config.json whose sizes do
not match the weights, no tokenizer, no weights. The valid neighbours (a sharded checkpoint, a
``...ForCausalLM`` checkpoint) still load, and ``run_main.py`` ends such a run with one stderr
line and exit status 2.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, LlamaForCausalLM, ViTConfig, ViTModel

from layers.backbones import load_backbone
from tests.helpers.tiny_backbones import build_tiny
from utils.errors import UserError

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Path:
    """A tiny random LLaMA folder (hidden size 32, 2 layers) with its tokenizer."""
    return Path(build_tiny("llama", tmp_path_factory.mktemp("good") / "llama"))


def _copy(llama: Path, tmp_path: Path, name: str = "broken") -> Path:
    return Path(shutil.copytree(llama, tmp_path / name))


def _cut(file: Path, fraction: float) -> None:
    with open(file, "r+b") as f:
        f.truncate(int(file.stat().st_size * fraction))


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def _vit(folder: Path) -> Path:
    ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=64, image_size=32, patch_size=8)).save_pretrained(folder)
    return folder


def _sharded(llama: Path, folder: Path) -> Path:
    """The LLaMA saved as a ...ForCausalLM (keys under ``model.``) in three shards."""
    LlamaForCausalLM(AutoConfig.from_pretrained(llama)).save_pretrained(folder,
                                                                         max_shard_size="60KB")
    for f in llama.glob("tokenizer*"):
        shutil.copy(f, folder / f.name)
    assert len(list(folder.glob("model-*-of-00003.safetensors"))) == 3
    return folder


def _refusal(folder: Path, llm_layers: int = 2, **kwargs) -> str:
    """The one-line message ``load_backbone`` refuses ``folder`` with."""
    with pytest.raises(UserError) as err:
        load_backbone(None, llm_layers, llm_path=str(folder), **kwargs)
    text = str(err.value)
    assert "\n" not in text and f"folder '{folder}'" in text, text
    return text


def test_weights_cut_short(llama, tmp_path):
    folder = _copy(llama, tmp_path)
    size = (folder / "model.safetensors").stat().st_size
    _cut(folder / "model.safetensors", 0.5)
    text = _refusal(folder)
    assert f"model.safetensors is cut short ({size // 2} of {size} bytes" in text
    assert text.endswith("re-download the weights"), text
    _cut(folder / "model.safetensors", 0.0)  # an empty file: not even the header
    assert "model.safetensors is cut short (0 bytes, not even its header" in _refusal(folder)


def test_weights_with_bytes_beyond_their_header(llama, tmp_path):
    folder = _copy(llama, tmp_path)
    with open(folder / "model.safetensors", "ab") as f:
        f.write(b"\0" * 10)
    assert "model.safetensors has 10 bytes more than its header describes" in _refusal(folder)


def test_a_missing_or_cut_shard(llama, tmp_path):
    folder = _sharded(llama, tmp_path / "sharded")
    assert load_backbone(None, 2, llm_path=str(folder)).llm_dim == 32  # intact: loads
    _cut(folder / "model-00003-of-00003.safetensors", 0.9)
    assert "model-00003-of-00003.safetensors is cut short" in _refusal(folder)
    (folder / "model-00002-of-00003.safetensors").unlink()
    assert ("model-00002-of-00003.safetensors, listed in model.safetensors.index.json, is "
            "missing: re-download the weights") in _refusal(folder)


def test_vision_model(tmp_path):
    folder = _vit(tmp_path / "vit")
    for layers in (2, 6):  # refused before llm_layers is checked against its depth
        text = _refusal(folder, llm_layers=layers)
        assert "this is a vision model (ViTModel): give a text model" in text, text


def test_config_that_does_not_match_the_weights(llama, tmp_path):
    """An edited hidden size shows in the embedding table before the load; an edited MLP width
    is found by the load itself. Both name the first mismatching tensor and its two shapes."""
    folder = _copy(llama, tmp_path)
    vocab = json.loads((folder / "config.json").read_text())["vocab_size"]
    _edit_config(folder, hidden_size=48)
    text = _refusal(folder)
    assert (f"config.json does not match the weights: embed_tokens.weight is [{vocab}, 32] in "
            f"model.safetensors but [{vocab}, 48] by config.json") in text, text
    _edit_config(folder, hidden_size=32, intermediate_size=80)
    text = _refusal(folder)
    assert "config.json does not match the weights: layers.0.mlp." in text, text
    assert "[64, 32]" in text or "[32, 64]" in text, text
    # a ...ForCausalLM checkpoint names the table model.embed_tokens.weight
    sharded = _sharded(llama, tmp_path / "sharded")
    _edit_config(sharded, hidden_size=48)
    assert "model.embed_tokens.weight is [" in _refusal(sharded)


def test_no_tokenizer(llama, tmp_path):
    """The library's message is kept whole (it was cut after 'from one of: ')."""
    folder = _copy(llama, tmp_path)
    for f in folder.glob("tokenizer*"):
        f.unlink()
    text = _refusal(folder)
    assert text.startswith(f"backbone auto: cannot load the tokenizer of folder '{folder}': it "
                           "has no tokenizer files (tokenizer.json"), text
    assert "copy them into it from the model's download" in text
    assert "from one of: (1) a `tokenizers` library serialization file, (2)" in text, text


def test_tokenizer_cut_short(llama, tmp_path):
    folder = _copy(llama, tmp_path)
    _cut(folder / "tokenizer.json", 0.5)
    assert "re-download the tokenizer files (" in _refusal(folder)


def test_no_weights(llama, tmp_path):
    folder = _copy(llama, tmp_path)
    (folder / "model.safetensors").unlink()
    text = _refusal(folder)
    assert "cannot load the weights of folder" in text and "re-download the weights (" in text


def test_random_init_reads_no_weights(llama, tmp_path):
    """A random initialisation needs the config and tokenizer only: weights cut short are fine."""
    folder = _copy(llama, tmp_path)
    _cut(folder / "model.safetensors", 0.5)
    bb = load_backbone(None, 2, llm_path=str(folder), random_init=True)
    assert bb.llm_dim == 32 and bb.identity["init"] == "random(seed=0)"


def test_checks_leave_the_rng_alone(llama):
    torch.manual_seed(5)
    load_backbone(None, 2, llm_path=str(llama))
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(torch.rand(3), after)


def test_run_main_refuses_a_broken_folder_with_one_line(llama, tmp_path):
    folder = _copy(llama, tmp_path)
    _cut(folder / "model.safetensors", 0.5)
    argv = ["--task_name", "long_term_forecast", "--model", "TimeLLM", "--data", "ETTh1",
            "--root_path", "./dataset/ETT-small/", "--data_path", "ETTh1.csv", "--features", "S",
            "--seq_len", "32", "--label_len", "8", "--pred_len", "8", "--d_model", "8",
            "--d_ff", "16", "--n_heads", "2", "--patch_len", "8", "--stride", "4",
            "--llm_path", str(folder), "--llm_layers", "2", "--train_epochs", "1",
            "--checkpoints", str(tmp_path / "ckpt"), "--results_dir", str(tmp_path / "res")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "run_main.py", *argv], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.splitlines() == [
        f"error: backbone auto: cannot use folder '{folder}': model.safetensors is cut short "
        f"({(llama / 'model.safetensors').stat().st_size // 2} of "
        f"{(llama / 'model.safetensors').stat().st_size} bytes; an interrupted download?): "
        "re-download the weights"], proc.stderr[-2000:]
