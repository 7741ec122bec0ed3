"""The authors' forward on our weights, for the equality tests of the re-implemented baselines.

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
