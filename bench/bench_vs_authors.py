"""Training-step time of our model against the authors' code on the same weights and batches.

    python -m bench.bench_vs_authors --model TimesNet --rounds 2 --steps 5

Each side runs in its own process, alternating (theirs, ours, theirs, ours, ...), so that a
change in the machine's load hits both: the recipe is the one ``python -m bench.bench_models``
records from ``scripts/<Model>_ETTh1.sh`` (horizon 96), the batches are the first training
batches of our data loader, saved once, and both sides start from our initial weights with Adam
at the recipe's learning rate. A step is forward, MSE on the last ``pred_len`` steps, backward
and the optimiser step; the table gives the median over ``--steps`` steps after ``--warmup``,
and the epoch estimate (steps per epoch x median; data loading excluded). The authors' code is
looked up where ``utils/authors.py`` says (``$TIMELLM_AUTHORS`` or ``/tmp/authors``), with empty
modules standing in for the optional packages its shared files import.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from bench.bench_models import ROWS, anchored, recipe
from data_provider.data_factory import data_provider
from exp.config import build_config
from models import get_model_class
from run_main import build_parser
from utils.authors import STAND_INS, authors_root, missing_message

REPO = Path(__file__).resolve().parents[1]

# model -> (authors' repository folder, their module, configuration keys their Model reads,
#           packages to stand in for, our buffers they compute themselves)
AUTHORS = {
    "TimesNet": ("Time-Series-Library", "models.TimesNet",
                 ("task_name", "seq_len", "label_len", "pred_len", "enc_in", "c_out", "d_model",
                  "d_ff", "e_layers", "top_k", "num_kernels", "embed", "freq", "dropout"),
                 ("reformer_pytorch",), ("enc_embedding.position_embedding.pe",)),
}

WORKER = STAND_INS + r"""
import importlib, json, statistics, sys, time, types
import torch
side, workdir, steps, warmup, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
torch.set_num_threads(threads)
spec = json.load(open(workdir + "/spec.json"))
if side == "theirs":
    install_stand_ins(spec["stubs"])
    sys.path.insert(0, spec["repo"])
    cfg = types.SimpleNamespace(**spec["configs"])
    model = importlib.import_module(spec["module"]).Model(cfg)
    missing = model.load_state_dict(torch.load(workdir + "/state.pt"), strict=False).missing_keys
    assert set(missing) <= set(spec["own_buffers"]), missing
else:
    sys.path.insert(0, spec["ours"])
    from models import get_model_class
    model = get_model_class(spec["model"])(types.SimpleNamespace(**spec["all_configs"]))
    model.load_state_dict(torch.load(workdir + "/state.pt"))
batches = torch.load(workdir + "/batches.pt")
opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
model.train()
H, c = spec["configs"]["pred_len"], spec["configs"]["c_out"]
times = []
for i in range(warmup + steps):
    x, y, xm, ym = batches[i % len(batches)]
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    out = model(x, xm, None, ym)
    loss = torch.nn.functional.mse_loss(out[:, -H:, -c:], y[:, -H:, -c:])
    loss.backward()
    opt.step()
    if i >= warmup:
        times.append(time.perf_counter() - t0)
print(json.dumps({"median": statistics.median(times), "steps": times}))
"""


def prepare(model: str, workdir: Path, n_batches: int) -> dict:
    """Record the recipe, build our model (its initial weights are both sides' weights) and save
    ``n_batches`` training batches; returns the spec the workers read."""
    folder, module, keys, stubs, own = AUTHORS[model]
    label = next(k for k, (script, _, _) in ROWS.items() if script == f"scripts/{model}_ETTh1.sh")
    flags = build_parser().parse_args(anchored(recipe(label)))
    args = build_config(flags)
    torch.manual_seed(args.seed)
    ours = get_model_class(model)(args)
    torch.save(ours.state_dict(), workdir / "state.pt")
    _, loader = data_provider(args, "train")
    batches = []
    for x, y, xm, ym in loader:
        batches.append((x.float(), y.float(), xm.float(), ym.float()))
        if len(batches) == n_batches:
            break
    torch.save(batches, workdir / "batches.pt")
    plain = {k: v for k, v in vars(args).items() if isinstance(v, (int, float, str, bool, type(None)))}
    spec = {"model": model, "repo": str(authors_root() / folder), "module": module,
            "stubs": list(stubs), "own_buffers": list(own), "ours": str(REPO),
            "configs": {k: plain[k] for k in keys}, "all_configs": plain,
            "lr": args.learning_rate, "steps_per_epoch": len(loader), "batch_size": args.batch_size}
    (workdir / "spec.json").write_text(json.dumps(spec))
    return spec


def run_side(side: str, workdir: Path, ns, cwd: str) -> dict:
    cmd = [sys.executable, "-c", WORKER, side, str(workdir), str(ns.steps), str(ns.warmup),
           str(ns.threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(ns.threads), PYTHONPATH="")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"error: the {side} worker failed (its error output is above)")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="TimesNet", choices=sorted(AUTHORS))
    p.add_argument("--rounds", type=int, default=2, help="pairs of (theirs, ours) processes")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    ns = p.parse_args(argv)
    repo = authors_root() / AUTHORS[ns.model][0]
    if not (repo / (AUTHORS[ns.model][1].replace(".", "/") + ".py")).is_file():
        print(f"error: {missing_message(repo)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        spec = prepare(ns.model, workdir, ns.warmup + ns.steps)
        rows = []
        for r in range(ns.rounds):
            for side, cwd in (("theirs", str(repo)), ("ours", str(REPO))):
                rows.append((r + 1, side, run_side(side, workdir, ns, cwd)["median"]))
    print(f"# {ns.model}, ETTh1-96 recipe (batch {spec['batch_size']}, "
          f"{spec['steps_per_epoch']} steps an epoch), {ns.threads} thread(s), "
          f"median of {ns.steps} steps after {ns.warmup}, processes alternating")
    print("| round | code | train step (s) | epoch estimate (min) |")
    print("|---|---|---|---|")
    for r, side, median in rows:
        print(f"| {r} | {side} | {median:.3f} | {median * spec['steps_per_epoch'] / 60:.1f} |")
    for side in ("theirs", "ours"):
        meds = [m for _, s, m in rows if s == side]
        print(f"{side}: median over rounds {statistics.median(meds):.3f} s/step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
