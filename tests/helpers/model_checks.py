"""The checks every registered model goes through, in the spirit of neuralforecast's ``check_model``.

:func:`check_model` runs, for one name of ``models.MODEL_REGISTRY``:

- ``registered``: the name gives a ``Model`` (an ``nn.Module``) declaring the data view it expects
  (``channel_independent``);
- ``shapes``: (B, pred_len, channels) and finite, in train and eval mode, with and without
  calendar marks;
- ``overfits_one_batch``: Adam on one fixed random batch brings the eval-mode MSE below 10% of
  the first step's loss (:func:`overfit_losses`);
- ``scripts_parse``: each of its run scripts (``scripts/**/<name>_*.sh``) is valid bash, and
  every launch parses with ``run_main.py``'s parser and runs this model;
- ``equals_the_authors:<case>``: on the same weights and inputs, the authors' code gives our
  output to 1e-5 (``tests.helpers.authors``; skipped without their code).

``tests/test_models.py`` runs every check that applies to every registered model, so a new
model is checked by registering it. What applies follows from the class: a model with
``needs_training = False`` (Naive2, SeasonalNaive) has nothing to overfit and needs no recipe
script; a channel-independent one gets one window of series (B, L, C) and no marks. What the
checks cannot read from the class is in :data:`SPECS`, a :class:`ModelSpec` per model (the
defaults serve a model without an entry): its test size, its overfit's learning rate and
steps, its authors' cases, and for a model on a language-model backbone the module that tests
its shapes and learning on tiny backbones (those need fixtures; here it is checked registered
and its scripts parse).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch

from models import get_model_class, model_attr
from tests.helpers import authors
from tests.helpers.model_inputs import make_batch, small_configs
from tests.helpers.project import ROOT
from tests.helpers.scripts import model_scripts, parsed


@dataclass(frozen=True)
class Authors:
    """A baseline's equality with its authors' code: their clone ``$TIMELLM_AUTHORS/<folder>``
    (recognised by the file ``marker``), the function pairing our output with theirs, and the
    cases (an id -> flags over the model's test configuration)."""

    folder: str
    marker: str
    outputs: Callable[[Path, object, Path], tuple[torch.Tensor, torch.Tensor]]
    cases: dict[str, dict]


@dataclass(frozen=True)
class ModelSpec:
    """What the checks need to know of a model beyond its class attributes."""

    configs: dict = field(default_factory=dict)        # flags over small_configs' test size, every check
    overfit_flags: dict = field(default_factory=dict)  # flags over ``configs`` for the overfit
    overfit_lr: float = 3e-3
    overfit_steps: int = 150
    channel_independent: bool = False                  # the data view its class must declare
    backbone_tests: str | None = None                  # the module testing it on tiny backbones
    authors: Authors | None = None


WIDER = {"d_model": 32, "d_ff": 64}
# N-BEATS and N-HiTS: one channel, 24 steps in, 12 out, two layers of 32 a block
BLOCK_STACKS = {"seq_len": 24, "label_len": 12, "pred_len": 12, "enc_in": 1, "layers": 2, "layer_size": 32}

SPECS: dict[str, ModelSpec] = {
    "TimeLLM": ModelSpec(channel_independent=True, backbone_tests="tests/test_timellm.py"),
    "GPT4TS": ModelSpec(channel_independent=True, backbone_tests="tests/test_gpt4ts.py"),
    "DLinear": ModelSpec(overfit_lr=1e-2),
    "PatchTST": ModelSpec(overfit_flags=WIDER),
    "Autoformer": ModelSpec(overfit_flags=WIDER),
    "Informer": ModelSpec(overfit_flags=WIDER, overfit_lr=2e-3, overfit_steps=300),
    "Naive2": ModelSpec(channel_independent=True),
    "SeasonalNaive": ModelSpec(channel_independent=True),
    "iTransformer": ModelSpec(
        configs={"d_model": 32, "d_ff": 32, "n_heads": 4, "use_norm": 1, "factor": 1},
        authors=Authors("iTransformer", "model/iTransformer.py", authors.itransformer_outputs,
                        {f"use_norm={u}": {"use_norm": u, "e_layers": 2, "dropout": 0.1} for u in (1, 0)})),
    "NBEATS": ModelSpec(
        configs={**BLOCK_STACKS, "stacks": 3}, overfit_flags={"layer_size": 64}, overfit_lr=1e-3,
        overfit_steps=200, channel_independent=True,
        authors=Authors("N-BEATS", "models/nbeats.py", authors.nbeats_outputs, {"generic": {}})),
    "NHITS": ModelSpec(
        configs=BLOCK_STACKS, overfit_flags={"layer_size": 64}, overfit_lr=1e-3, overfit_steps=200,
        channel_independent=True,
        authors=Authors("n-hits", "src/models/nhits/nhits.py", authors.nhits_outputs, {
            "their_defaults": dict(seq_len=24, pred_len=12, n_pool_kernel_size=[2, 2, 1],
                                   n_freq_downsample=[4, 2, 1], n_blocks=[1, 1, 1], pooling_mode="max",
                                   interpolation_mode="linear"),
            # partial pooling windows, 7 // 5 = 1 knot
            "partial_pools": dict(seq_len=25, pred_len=7, n_pool_kernel_size=[8, 4, 1],
                                  n_freq_downsample=[5, 2, 1], n_blocks=[2, 1, 1], pooling_mode="max",
                                  interpolation_mode="linear"),
            # fewer knots than 1: one
            "one_knot": dict(seq_len=30, pred_len=13, n_pool_kernel_size=[16, 3], n_freq_downsample=[24, 1],
                             n_blocks=[1, 2], pooling_mode="average", interpolation_mode="nearest"),
        })),
    "TimesNet": ModelSpec(
        configs={"d_model": 16, "d_ff": 32, "top_k": 3, "num_kernels": 4, "e_layers": 2},
        authors=Authors("Time-Series-Library", "models/TimesNet.py", authors.timesnet_outputs,
                        {f"c_out={c}": {"c_out": c, "dropout": 0.1} for c in (7, 1)})),
}


def spec_of(name: str) -> ModelSpec:
    return SPECS.get(name, ModelSpec())


def model_configs(name: str, **over):
    """The test configuration of model ``name`` (its spec's flags over small_configs'), then ``over``."""
    return small_configs(name, **{**spec_of(name).configs, **over})


def overfit_losses(model, inputs: tuple, y: torch.Tensor, lr: float, steps: int) -> tuple[float, float]:
    """Train ``model`` with Adam on one fixed batch for ``steps`` steps; returns (the first
    step's MSE, the eval-mode MSE afterwards)."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start = None
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(*inputs), y)
        loss.backward()
        opt.step()
        start = loss.item() if start is None else start
    model.eval()
    with torch.no_grad():
        final = torch.nn.functional.mse_loss(model(*inputs), y).item()
    return start, final


# ----------------------------------------------------------------------------- the checks

def check_registered(name: str) -> None:
    cls = get_model_class(name)
    assert cls.__name__ == "Model" and issubclass(cls, torch.nn.Module), cls
    assert model_attr(name, "channel_independent", None) is spec_of(name).channel_independent
    if spec_of(name).backbone_tests:
        assert (ROOT / spec_of(name).backbone_tests).is_file(), spec_of(name).backbone_tests


def check_shapes(name: str) -> None:
    cfg = model_configs(name)
    model = get_model_class(name)(cfg)
    if spec_of(name).channel_independent:  # any number of channels, each forecast on its own
        x = torch.randn(4, cfg.seq_len, 3, generator=torch.Generator().manual_seed(0))
        calls, channels = [(x, None, None, None)], 3
    else:
        x_enc, x_mark_enc, x_dec, x_mark_dec, _ = make_batch(cfg)
        calls, channels = [(x_enc, x_mark_enc, x_dec, x_mark_dec), (x_enc, None, x_dec, None)], cfg.c_out
    for mode in (model.train, model.eval):
        mode()
        for inputs in calls:
            out = model(*inputs)
            assert out.shape == (4, cfg.pred_len, channels), (model.training, out.shape)
            assert torch.isfinite(out).all()


def check_overfits_one_batch(name: str) -> None:
    """A fixed random batch must be memorised: the eval-mode MSE after training falls below 10%
    of the first step's loss (for Autoformer this also runs the per-sample inference path)."""
    spec = spec_of(name)
    cfg = model_configs(name, **spec.overfit_flags)
    torch.manual_seed(0)
    model = get_model_class(name)(cfg)
    if spec.channel_independent:
        inputs, y = (torch.randn(8, cfg.seq_len, 1),), torch.randn(8, cfg.pred_len, 1)
    else:
        *inputs, y = make_batch(cfg, B=4)
    start, final = overfit_losses(model, tuple(inputs), y, spec.overfit_lr, spec.overfit_steps)
    assert final < 0.1 * start, (name, start, final)


def check_scripts_parse(name: str) -> None:
    scripts = model_scripts(name)
    if model_attr(name, "needs_training", True):
        assert scripts, f"{name} is trained but has no run script scripts/**/{name}_*.sh"
    for script in scripts:
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
        runs = parsed(script)
        assert runs, f"{script} launches nothing"
        assert {args.model for _, args in runs} == {name}, script


def check_equals_the_authors(name: str, case: str, tmp_path: Path) -> None:
    """Our forward and the authors' on the same weights and inputs, to 1e-5."""
    pair = spec_of(name).authors
    repo = authors.authors_repo(pair.folder, pair.marker)
    cfg = model_configs(name, **pair.cases[case])
    torch.manual_seed(0)
    ours, theirs = pair.outputs(repo, cfg, tmp_path)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


CHECKS = {"registered": check_registered, "shapes": check_shapes,
          "overfits_one_batch": check_overfits_one_batch, "scripts_parse": check_scripts_parse}


def checks_for(name: str) -> list[str]:
    """The checks that apply to model ``name``, in order (its class is imported only where that
    decides: not for a model on a backbone)."""
    spec = spec_of(name)
    names = ["registered"]
    if spec.backbone_tests is None:
        names.append("shapes")
        if model_attr(name, "needs_training", True):
            names.append("overfits_one_batch")
    names.append("scripts_parse")
    return names + [f"equals_the_authors:{case}" for case in (spec.authors.cases if spec.authors else ())]


def check_model(name: str, tmp_path: Path, checks: Iterable[str] | None = None) -> None:
    """Run ``checks`` (default: every one of :func:`checks_for`) on the registered model ``name``;
    ``tmp_path`` is a scratch folder (the authors' child process writes there)."""
    for check in checks if checks is not None else checks_for(name):
        kind, _, case = check.partition(":")
        if kind == "equals_the_authors":
            check_equals_the_authors(name, case, tmp_path)
        else:
            CHECKS[kind](name)
