"""GPT4TS (One Fits All) against the authors' code on the same random tiny GPT-2; any backbone.

The authors' ``Long-term_Forecasting/models/GPT4TS.py`` and ``embed.py`` are read at test time
from a local copy of github.com/DAMO-DI-ML/NeurIPS2023-One-Fits-All (a bare git directory from
``$ONE_FITS_ALL_GIT``, default the session mirror; the test is skipped without it, nothing of
theirs is stored here). Their model loads ``GPT2Model.from_pretrained('gpt2')``; the test points
that name at the tiny GPT-2 folder, so both models hold the same backbone weights, and copies
their patch embedding and head into ours. Tolerance: outputs and gradients to 1e-5 (relative to
each tensor's largest value); the backbone runs with eager attention there and SDPA here.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from transformers import GPT2Model

from models.GPT4TS import Model, trainable_backbone_parameters
from tests.helpers.args import make_args, parser_args

pytestmark = pytest.mark.usefixtures("one_thread")

THEIR_GIT = os.environ.get("ONE_FITS_ALL_GIT",
                           "/work/.mirror/DAMO-DI-ML+NeurIPS2023-One-Fits-All/repo")


def _configs(llm_path: str, **overrides) -> Namespace:
    base = dict(model="GPT4TS", seq_len=40, pred_len=12, label_len=8, enc_in=1, patch_len=16,
                stride=8, llm_model=None, llm_path=llm_path, llm_layers=2, llm_dim=None)
    return parser_args(**{**base, **overrides})


def _their_module(tmp_path: Path):
    """The authors' GPT4TS module, written to ``tmp_path`` from their git history and imported."""
    if not Path(THEIR_GIT).is_dir() or importlib.util.find_spec("einops") is None:
        pytest.skip("the authors' code (ONE_FITS_ALL_GIT) or einops is not available")
    for src, dst in (("Long-term_Forecasting/models/GPT4TS.py", "their_gpt4ts.py"),
                     ("Long-term_Forecasting/embed.py", "embed.py")):
        text = subprocess.run(["git", "--git-dir", THEIR_GIT, "show", f"HEAD:{src}"],
                              capture_output=True, text=True, check=True).stdout
        (tmp_path / dst).write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        spec = importlib.util.spec_from_file_location("their_gpt4ts", tmp_path / "their_gpt4ts.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("embed", None)
    return module


def _rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def test_equals_the_authors_forward_and_gradients(tmp_path, tiny_dirs):
    folder = tiny_dirs["GPT2"]
    module = _their_module(tmp_path)

    class TinyGPT2(GPT2Model):  # their from_pretrained('gpt2') -> the tiny folder
        @classmethod
        def from_pretrained(cls, name, **kwargs):
            return GPT2Model.from_pretrained(folder, **kwargs)

    module.GPT2Model = TinyGPT2
    theirs_cfg = Namespace(is_gpt=1, patch_size=16, pretrain=1, stride=8, seq_len=40, d_model=32,
                           pred_len=12, gpt_layers=2, freeze=1)
    torch.manual_seed(0)
    theirs = module.GPT4TS(theirs_cfg, torch.device("cpu"))
    ours = Model(_configs(folder))
    with torch.no_grad():
        for mine, their in ((ours.in_layer, theirs.in_layer), (ours.out_layer, theirs.out_layer)):
            mine.weight.copy_(their.weight)
            mine.bias.copy_(their.bias)
    # the same trainable parts: their rule is a name with 'ln' or 'wpe'
    their_trainable = {n for n, p in theirs.gpt2.named_parameters() if p.requires_grad}
    assert their_trainable == set(trainable_backbone_parameters(ours.llm_model))
    assert their_trainable == {n for n, p in ours.llm_model.named_parameters() if p.requires_grad}
    assert ours.patch_nums == theirs.patch_num == 5
    x = torch.randn(4, 40, 3, generator=torch.Generator().manual_seed(1)).cumsum(1) * 2 + 5
    for mode in ("train", "eval"):  # the tiny GPT-2 has no dropout: both modes are deterministic
        for m in (ours, theirs):
            getattr(m, mode)()
            m.zero_grad(set_to_none=True)
        y_ours, y_theirs = ours(x.clone(), None, None, None), theirs(x.clone(), 0)
        assert y_ours.shape == y_theirs.shape == (4, 12, 3)
        assert _rel_error(y_ours, y_theirs) < 1e-5
        for y in (y_ours, y_theirs):
            (y.square().mean() + y.mean()).backward()
        pairs = [(ours.in_layer.weight, theirs.in_layer.weight),
                 (ours.out_layer.weight, theirs.out_layer.weight)]
        named = dict(theirs.gpt2.named_parameters())
        pairs += [(p, named[n]) for n, p in ours.llm_model.named_parameters() if p.requires_grad]
        assert len(pairs) == 2 + 4 * 2 + 2 + 1  # ln_1, ln_2 per layer, ln_f, wpe
        for a, b in pairs:
            assert a.grad is not None and _rel_error(a.grad, b.grad) < 1e-5


@pytest.mark.parametrize("family,trains", [
    ("gpt2", {"ln_1", "ln_2", "ln_f", "wpe"}),
    ("llama", {"input_layernorm", "post_attention_layernorm", "norm"}),  # RMSNorm scales only
    ("opt", {"self_attn_layer_norm", "final_layer_norm", "embed_positions"}),
    ("bert", {"LayerNorm", "position_embeddings"}),
])
def test_trainable_parts_on_any_backbone(tiny_zoo, family, trains):
    """Layer norms and learned positions train, nothing else of the backbone; a step changes them
    and leaves every frozen weight as it was."""
    model = Model(_configs(tiny_zoo[family]))
    names = {n for n, p in model.llm_model.named_parameters() if p.requires_grad}
    assert names and {part for n in names for part in n.split(".")} & trains == trains
    assert not any("proj" in n or "attn.c_" in n or "mlp" in n for n in names)
    frozen = {n: p.clone() for n, p in model.llm_model.named_parameters() if not p.requires_grad}
    trained = {n: p.clone() for n, p in model.llm_model.named_parameters() if p.requires_grad}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    y = model(torch.randn(3, 40, 1), None, None, None)
    assert y.shape == (3, 12, 1)
    y.square().mean().backward()
    opt.step()
    after = dict(model.llm_model.named_parameters())
    assert all(torch.equal(after[n], p) for n, p in frozen.items())
    assert any(not torch.equal(after[n], p) for n, p in trained.items())


def test_default_backbone_is_gpt2(tmp_path):
    from exp.config import build_config

    cfg = build_config(make_args("--model", "GPT4TS", "--data", "ETTh1", "--root_path",
                                 "./dataset/ETT-small/", "--data_path", "ETTh1.csv",
                                 "--results_dir", str(tmp_path / "r"),
                                 "--checkpoints", str(tmp_path / "c")))
    assert cfg.llm_model == "GPT2" and cfg.channel_independence == 1


@pytest.mark.parametrize("data,seq_len,stride", [("ETTh1", 336, 8), ("ETTh2", 336, 8),
                                                 ("ETTm1", 512, 16), ("ETTm2", 512, 16)])
def test_scripts_give_the_authors_recipe(data, seq_len, stride):
    """scripts/GPT4TS_<data>.sh: the authors' values, one launch per horizon, GPT-2 x 6 by
    default and the backbone from LLM_MODEL."""
    from run_main import build_parser
    from utils.launches import script_launches

    script = Path(__file__).resolve().parents[1] / "scripts" / f"GPT4TS_{data}.sh"
    runs = [build_parser().parse_args(launch.run_args) for launch in script_launches(script)]
    assert [a.pred_len for a in runs] == [96, 192, 336, 720]
    for a in runs:
        assert (a.model, a.data, a.seq_len) == ("GPT4TS", data, seq_len)
        assert (a.stride, a.patch_len) == (stride, 16)
        assert (a.llm_model, a.llm_layers, a.batch_size, a.learning_rate) == ("GPT2", 6, 256, 1e-4)
        assert (a.lradj, a.train_epochs, a.patience, a.channel_independence) == ("COS", 10, 3, 1)
    smol = script_launches(script, {"LLM_MODEL": "SmolLM2", "PRED_LENS": "96"})
    assert len(smol) == 1 and build_parser().parse_args(smol[0].run_args).llm_model == "SmolLM2"
