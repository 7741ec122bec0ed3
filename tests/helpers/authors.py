"""The authors' forward on our weights, for the equality checks of the re-implemented baselines
(``tests.helpers.model_checks``), and how each baseline is paired with their code.

A test finds the authors' repository where ``utils/authors.py`` says (``$TIMELLM_AUTHORS``,
default ``/tmp/authors``) and is skipped when it is absent. Their model runs in a child process
with only their folder on the path: it builds ``Model``
from the given configuration, loads our ``state_dict`` (the same parameter names and shapes, or
the test fails; see ``own_buffers``), and returns its output on the given inputs in eval mode.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models import get_model_class
from tests.helpers.model_inputs import make_batch
from utils.authors import STAND_INS, authors_root, missing_message

CHILD = STAND_INS + r"""
import importlib, json, sys, types
import torch
repo, module, workdir = sys.argv[1:4]
install_stand_ins(sys.argv[4:])  # optional packages their other models import, never called here
sys.path.insert(0, repo)
torch.set_num_threads(1)
spec = json.load(open(workdir + "/configs.json"))
cfg = types.SimpleNamespace(**spec["configs"])
mod = importlib.import_module(module)
model = eval(spec["build"], {"mod": mod, "cfg": cfg, "torch": torch})
result = model.load_state_dict(torch.load(workdir + "/state.pt"), strict=False)
assert not result.unexpected_keys, result.unexpected_keys
assert set(result.missing_keys) <= set(spec["own_buffers"]), result.missing_keys
model.eval()
inputs = torch.load(workdir + "/inputs.pt")
with torch.no_grad():
    out = eval(spec["call"], {"model": model, "inputs": inputs, "torch": torch})
torch.save(out[0] if isinstance(out, tuple) else out, workdir + "/out.pt")
"""


def authors_repo(name: str, marker: str) -> Path:
    """The authors' checkout ``$TIMELLM_AUTHORS/<name>``; skips the test when ``marker`` (a file
    of theirs, relative to it) is missing."""
    root = authors_root() / name
    if not (root / marker).is_file():
        pytest.skip(missing_message(root))
    return root


def authors_forward(repo: Path, module: str, configs: dict, state_dict: dict,
                    inputs: tuple, workdir: Path, stubs: tuple[str, ...] = (),
                    build: str = "mod.Model(cfg)", own_buffers: tuple[str, ...] = (),
                    call: str = "model(*inputs)") -> torch.Tensor:
    """Output of the authors' ``<module>.Model(configs)`` carrying ``state_dict``, on ``inputs``.

    ``build``: the expression that builds their model, over ``mod`` (their module), ``cfg``
    (``configs`` as attributes) and ``torch``, for code without a ``Model(configs)`` class.
    ``own_buffers``: keys of their state that ours does not save and theirs computes itself
    (e.g. a sinusoidal table we keep as a non-persistent buffer); every other key must match.
    ``call``: the expression that runs their model, over ``model``, ``inputs`` and ``torch``
    (e.g. picking the forecast from a returned tuple; a tuple's first item is kept otherwise).
    ``stubs``: packages (or modules) their shared modules import at the top for other models (e.g.
    ``reformer_pytorch``), stood in by empty modules so that they need not be installed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "configs.json").write_text(json.dumps({"configs": configs, "build": build,
                                                                 "own_buffers": list(own_buffers), "call": call}))
    torch.save(state_dict, workdir / "state.pt")
    torch.save(inputs, workdir / "inputs.pt")
    done = subprocess.run([sys.executable, "-c", CHILD, str(repo), module, str(workdir), *stubs],
                          cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(workdir / "out.pt")


# ---- each baseline beside the authors' code: (our output, theirs) on the same weights and inputs,
# ours built from ``cfg`` under the caller's seed

def itransformer_outputs(repo: Path, cfg, workdir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """thuml/iTransformer's ``model/iTransformer.py`` (the projection head)."""
    ours = get_model_class("iTransformer")(cfg).eval()
    batch = tuple(make_batch(cfg, B=3)[:4])
    theirs_cfg = {k: getattr(cfg, k) for k in ("seq_len", "pred_len", "d_model", "n_heads", "e_layers",
                                               "d_ff", "factor", "dropout", "embed", "freq",
                                               "activation", "use_norm")}
    theirs_cfg.update(output_attention=False, class_strategy="projection")
    theirs = authors_forward(repo, "model.iTransformer", theirs_cfg, ours.state_dict(), batch, workdir,
                             stubs=("reformer_pytorch",))
    with torch.no_grad():
        return ours(*batch), theirs


def timesnet_outputs(repo: Path, cfg, workdir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-Series-Library's ``models/TimesNet.py``, which forecasts every input channel: its last
    ``c_out`` are ours."""
    ours = get_model_class("TimesNet")(cfg).eval()
    batch = tuple(make_batch(cfg, B=3)[:4])
    keys = ("task_name", "seq_len", "label_len", "pred_len", "enc_in", "c_out", "d_model", "d_ff",
            "e_layers", "top_k", "num_kernels", "embed", "freq", "dropout")
    theirs_cfg = {k: getattr(cfg, k) for k in keys}
    theirs = authors_forward(repo, "models.TimesNet", theirs_cfg, ours.state_dict(), batch, workdir,
                             own_buffers=("enc_embedding.position_embedding.pe",))
    with torch.no_grad():
        out = ours(*batch)
    return out, theirs[:, :, -cfg.c_out:]


def nbeats_outputs(repo: Path, cfg, workdir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """ServiceNow/N-BEATS's generic ``models/nbeats.py`` (one series per row, with its mask)."""
    ours = get_model_class("NBEATS")(cfg).eval()
    x = torch.randn(4, cfg.seq_len, 1)
    mask = torch.ones(4, cfg.seq_len, 1)
    mask[0, :5] = 0.0                                      # a short series, zero-padded at the start
    x[0, :5] = 0.0
    build = ("mod.NBeats(torch.nn.ModuleList([mod.NBeatsBlock(input_size=cfg.L, theta_size=cfg.L + cfg.H, "
             "basis_function=mod.GenericBasis(backcast_size=cfg.L, forecast_size=cfg.H), "
             "layers=cfg.layers, layer_size=cfg.layer_size) for _ in range(cfg.stacks)]))")
    spec = {"L": cfg.seq_len, "H": cfg.pred_len, "layers": cfg.layers, "layer_size": cfg.layer_size,
            "stacks": cfg.stacks}
    theirs = authors_forward(repo, "models.nbeats", spec, ours.state_dict(), (x[:, :, 0], mask[:, :, 0]), workdir,
                             build=build)
    with torch.no_grad():
        return ours(x, mask)[:, :, 0], theirs


def nhits_outputs(repo: Path, cfg, workdir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """cchallu/n-hits's ``src/models/nhits/nhits.py`` (identity stacks, no static or exogenous inputs)."""
    L, H, pools = cfg.seq_len, cfg.pred_len, cfg.n_pool_kernel_size
    ours = get_model_class("NHITS")(cfg).eval()
    B = 4
    x = torch.randn(B, L, 1) * 3 + 1
    mask = torch.ones(B, L, 1)
    mask[0, :5] = 0.0                                      # a short series, zero-padded at the start
    x[0, :5] = 0.0
    # their forward takes the window and the horizon as one series Y (B, L + H) and returns
    # (outsample_y, forecast, outsample_mask); no static (S) or exogenous (X) inputs
    Y = torch.cat([x[:, :, 0], torch.zeros(B, H)], dim=1)
    available = torch.cat([mask[:, :, 0], torch.ones(B, H)], dim=1)
    inputs = (torch.zeros(B, 0), Y, torch.zeros(B, 0, L + H), available, torch.ones(B, L + H))
    n = len(pools)
    build = ("mod._NHITS(n_time_in=cfg.L, n_time_out=cfg.H, n_s=0, n_x=0, n_s_hidden=0, n_x_hidden=0, "
             "stack_types=cfg.n * ['identity'], n_blocks=cfg.blocks, n_layers=cfg.n * [cfg.layers], "
             "n_theta_hidden=cfg.n * [cfg.layers * [cfg.layer_size]], n_pool_kernel_size=cfg.pools, "
             "n_freq_downsample=cfg.downsample, pooling_mode=cfg.pooling, interpolation_mode=cfg.interpolation, "
             "dropout_prob_theta=0.0, activation='ReLU', initialization='lecun_normal', "
             "batch_normalization=False, shared_weights=False)")
    spec = {"L": L, "H": H, "n": n, "blocks": cfg.n_blocks, "layers": cfg.layers, "layer_size": cfg.layer_size,
            "pools": pools, "downsample": cfg.n_freq_downsample, "pooling": cfg.pooling_mode,
            "interpolation": cfg.interpolation_mode}
    theirs = authors_forward(repo, "src.models.nhits.nhits", spec, ours.state_dict(), inputs, workdir,
                             stubs=("pytorch_lightning", "src.losses.utils"), build=build,
                             call="model(*inputs)[1]")
    with torch.no_grad():
        return ours(x, mask)[:, :, 0], theirs
