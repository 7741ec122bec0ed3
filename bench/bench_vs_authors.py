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

Time-LLM against the authors' ``models/TimeLLM.py`` (github.com/KimMeen/Time-LLM):

    mkdir -p /tmp/authors/Time-LLM
    git clone https://github.com/KimMeen/Time-LLM /tmp/authors/Time-LLM   # or, from a bare copy:
    #   git --git-dir=<bare copy> archive HEAD | tar -x -C /tmp/authors/Time-LLM
    python -m bench.bench_vs_authors --model TimeLLM --steps 3 --warmup 1 --rounds 1 --threads 1

The recipe is the paper's ETTh1 one at L=512 (``bench.timellm_parts.add_recipe_args``, learning
rate 0.01), channel-independent (each window is one series, ``enc_in`` 1), with SmolLM2-135M
truncated to ``--llm_layers``; ours runs its default fast path. Their Model asks the hub for
LLaMA-7B: in their process only, ``LlamaConfig``/``LlamaModel``/``LlamaTokenizer.from_pretrained``
are sent to the local SmolLM2 folder our backbone registry finds (the model in float32, the
folder's own tokenizer, as ours loads it), so their ``llm_dim`` is SmolLM2's 576. Their forward
casts the patch input to bfloat16 (their runs are bf16 under DeepSpeed; an fp32 model fails on
that cast): the bench removes that one cast from the source it executes, so fp32 meets fp32.
Both sides load our initial state dict strictly. Per batch size (``--batch_sizes``, windows of
one series each) each process first times two evaluation passes over ``--eval_batches`` batches
after ``--warmup`` untimed forwards (``train()`` then ``eval()`` before each, no grad; from the
initial weights, so the outputs are compared): a run's first validation pass and a later one,
which our evaluation prompt store (``--prompt_store_mb``) shortens; ours runs with the allocator
setting ``run_main.py`` applies (``--reuse_memory 1``),
then ``--warmup`` + ``--steps`` training steps, step i seeded ``seed + i`` (the same dropout
masks); the first step's losses of the two sides are compared.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from bench.harness import (REPO, ChildFailed, child_env, child_json, cpu_model, cpu_pressure,
                           md_header, md_row, recipe_config, script_recipe)
from bench.timellm_parts import add_recipe_args, load_windows, model_configs, window_indices
from data_provider.data_factory import data_provider
from layers.backbones import backbone_spec
from models import get_model_class
from utils.authors import STAND_INS, authors_root, missing_message

# model -> (authors' repository folder, their module, configuration keys their Model reads,
#           packages to stand in for, our buffers they compute themselves)
AUTHORS = {
    "TimesNet": ("Time-Series-Library", "models.TimesNet",
                 ("task_name", "seq_len", "label_len", "pred_len", "enc_in", "c_out", "d_model",
                  "d_ff", "e_layers", "top_k", "num_kernels", "embed", "freq", "dropout"),
                 ("reformer_pytorch",), ("enc_embedding.position_embedding.pe",)),
    "TimeLLM": ("Time-LLM", "models.TimeLLM",
                ("task_name", "seq_len", "pred_len", "enc_in", "d_model", "d_ff", "n_heads",
                 "patch_len", "stride", "llm_layers", "dropout", "prompt_domain", "content"),
                (), ()),
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
    args = recipe_config(script_recipe(f"scripts/{model}_ETTh1.sh"))
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
    plain = {k: v for k, v in args.as_dict().items() if isinstance(v, (int, float, str, bool, type(None)))}
    spec = {"model": model, "repo": str(authors_root() / folder), "module": module,
            "stubs": list(stubs), "own_buffers": list(own), "ours": str(REPO),
            "configs": {k: plain[k] for k in keys}, "all_configs": plain,
            "lr": args.learning_rate, "steps_per_epoch": len(loader), "batch_size": args.batch_size}
    (workdir / "spec.json").write_text(json.dumps(spec))
    return spec


def run_worker(side: str, source: str, args: list[str], cwd: str, threads: int) -> dict:
    """Run a worker's ``source`` for ``side`` (theirs or ours) in a fresh process from ``cwd``
    (only that folder on the path); its JSON answer, or the end of its errors and an exit."""
    try:
        return child_json([sys.executable, "-c", source, side, *args], cwd=cwd,
                          env=child_env(threads, PYTHONPATH=""))
    except ChildFailed as failed:
        sys.stderr.write(failed.stderr[-3000:])
        raise SystemExit(f"error: the {side} worker failed (its error output is above)") from None


def run_side(side: str, workdir: Path, ns, cwd: str) -> dict:
    return run_worker(side, WORKER, [str(workdir), str(ns.steps), str(ns.warmup), str(ns.threads)],
                      cwd, ns.threads)


# ----------------------------------------------------------------------------- Time-LLM
TIMELLM_LLM = "SmolLM2"      # the embedded LLaMA-architecture backbone the reference is sent to
TIMELLM_CAST = "x_enc.to(torch.bfloat16)"  # their patch input's hard cast, removed (fp32 vs fp32)

TIMELLM_WORKER = r"""
import importlib, json, sys, time, types
import torch
side, workdir = sys.argv[1], sys.argv[2]
spec = json.load(open(workdir + "/spec.json"))
torch.set_num_threads(spec["threads"])
notes = {}


def theirs():
    # their Model with its LLaMA loads sent to the local folder, float32, and the bf16 cast removed
    import transformers
    folder, asked = spec["llm_folder"], notes.setdefault("asked_for", [])
    load_config = transformers.LlamaConfig.from_pretrained
    load_model = transformers.LlamaModel.from_pretrained
    def config(cls, name, *args, **kwargs):
        asked.append(f"LlamaConfig {name}")
        return load_config(folder)
    def model(cls, name, *args, config=None, **kwargs):
        asked.append(f"LlamaModel {name} {sorted(kwargs)}")
        return load_model(folder, config=config, dtype=torch.float32, local_files_only=True)
    def tokenizer(cls, name, *args, **kwargs):
        asked.append(f"LlamaTokenizer {name}")
        return transformers.AutoTokenizer.from_pretrained(folder)
    transformers.LlamaConfig.from_pretrained = classmethod(config)
    transformers.LlamaModel.from_pretrained = classmethod(model)
    transformers.LlamaTokenizer.from_pretrained = classmethod(tokenizer)
    sys.path.insert(0, spec["repo"])
    path = spec["repo"] + "/models/TimeLLM.py"
    source = open(path).read()
    if source.count(spec["cast"]) != 1:
        raise SystemExit(f"{path} has {source.count(spec['cast'])} copies of {spec['cast']!r}, "
                         "not the one this bench removes")
    importlib.import_module("models")
    module = types.ModuleType("models.TimeLLM")
    module.__file__ = path
    sys.modules["models.TimeLLM"] = module
    exec(compile(source.replace(spec["cast"], "x_enc"), path, "exec"), module.__dict__)
    net = module.Model(types.SimpleNamespace(**spec["configs"]))
    notes["attention"] = net.llm_model.config._attn_implementation
    notes["dtype"] = str(net.llm_model.dtype)
    return net, lambda params: torch.optim.Adam(params, lr=spec["lr"])  # their run_main's


def ours():
    sys.path.insert(0, spec["ours"])
    from bench.timellm_parts import model_configs
    from models.TimeLLM import Model
    from utils.optim import build_optimizer
    from utils.cpu import reuse_freed_memory
    configs = model_configs(types.SimpleNamespace(**spec["recipe"]), True)
    net = Model(configs)
    notes["dtype"] = str(net.llm_model.dtype)
    # the process setting run_main.py applies by default (--reuse_memory 1)
    notes["allocator"] = "freed memory reused" if reuse_freed_memory() else "allocator defaults"
    return net, lambda params: build_optimizer(params, configs)  # our trainer's


model, optimizer_for = theirs() if side == "theirs" else ours()
state = torch.load(workdir + "/state.pt")
batches = torch.load(workdir + "/batches.pt")
H, seed, warmup = spec["pred_len"], spec["seed"], spec["warmup"]
result = {"notes": notes, "rows": {}}
for B in spec["batch_sizes"]:
    data = batches[str(B)]
    model.load_state_dict(state)   # strict; every batch size starts from the same weights
    model.eval()
    with torch.no_grad():
        for _ in range(warmup):
            model(data["eval"][0], None, None, None)
        passes = []
        for _ in range(2):         # the first validation pass of a run, then a later one
            model.train()          # a new pass, as the trainer starts one
            model.eval()
            t0 = time.perf_counter()
            outs = [model(x, None, None, None) for x in data["eval"]]
            passes.append(time.perf_counter() - t0)
    torch.save(outs[0], f"{workdir}/eval_{side}_{B}.pt")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer_for(params)
    model.train()
    steps, losses = [], []
    for i, (x, y) in enumerate(data["train"]):
        torch.manual_seed(seed + i)  # the same dropout masks on both sides
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x, None, None, None)[:, -H:, :], y)
        loss.backward()
        opt.step()
        steps.append(time.perf_counter() - t0)
        losses.append(loss.item())
    result["rows"][str(B)] = {"eval_pass": passes[0], "eval_later": passes[1],
                              "steps": steps[warmup:], "losses": losses}
print(json.dumps(result))
"""


def timellm_recipe(ns) -> argparse.Namespace:
    """The paper's ETTh1 recipe at L=512 (``add_recipe_args``' defaults, learning rate 0.01) with
    SmolLM2 truncated to ``ns.llm_layers``: the arguments ``timellm_parts.model_configs`` reads."""
    p = argparse.ArgumentParser()
    add_recipe_args(p, learning_rate=0.01)
    args = p.parse_args([])
    args.llm_model, args.llm_layers, args.seed = TIMELLM_LLM, ns.llm_layers, ns.seed
    return args


def reference_configs(configs, llm_dim: int) -> dict:
    """What the reference's ``Model`` reads, from our run configuration: its LLaMA branch (which
    the worker sends to the SmolLM2 folder), ``llm_dim`` typed in as the reference wants it, and
    the prompt's default description (ours: ``--prompt_domain 0``)."""
    if int(configs.num_tokens) != 1000:
        raise ValueError(f"the reference fixes num_tokens at 1000, not {configs.num_tokens}")
    keys = AUTHORS["TimeLLM"][2]
    return {**{k: getattr(configs, k) for k in keys}, "llm_model": "LLAMA", "llm_dim": int(llm_dim)}


def timellm_batches(xs: torch.Tensor, ys: torch.Tensor, B: int, n_train: int, n_eval: int,
                    offset: int) -> dict:
    """``n_train`` training batches (x (B, T, 1), y (B, H, 1)) and ``n_eval`` evaluation inputs of
    B consecutive windows, as ``python -m bench.bench_timellm`` picks them."""
    n = xs.shape[0]
    train = [(xs[idx], ys[idx]) for idx in
             (window_indices(offset + i * B, B, n) for i in range(n_train))]
    evals = [xs[window_indices(offset + (100 + k) * B, B, n)] for k in range(n_eval)]
    return {"train": train, "eval": evals}


def prepare_timellm(ns, workdir: Path) -> dict:
    """Build our model (its initial weights are both sides' weights), save the windows of every
    batch size and the spec the workers read."""
    args = timellm_recipe(ns)
    configs = model_configs(args, True)
    torch.manual_seed(args.seed)
    ours = get_model_class("TimeLLM")(configs)
    torch.save(ours.state_dict(), workdir / "state.pt")
    folder = backbone_spec(TIMELLM_LLM)[1].locate()
    xs, ys = load_windows(args)
    batches = {str(B): timellm_batches(xs, ys, B, ns.warmup + ns.steps, ns.eval_batches, i * 97)
               for i, B in enumerate(ns.batch_sizes)}
    torch.save(batches, workdir / "batches.pt")
    spec = {"repo": str(authors_root() / AUTHORS["TimeLLM"][0]), "ours": str(REPO),
            "llm_folder": folder, "cast": TIMELLM_CAST, "recipe": vars(args),
            "configs": reference_configs(configs, ours.d_llm), "lr": args.learning_rate,
            "pred_len": args.pred_len, "seed": args.seed, "warmup": ns.warmup,
            "batch_sizes": list(ns.batch_sizes), "threads": ns.threads}
    (workdir / "spec.json").write_text(json.dumps(spec))
    return spec


def timellm_table(batch_sizes: list[int], runs: dict[str, list[dict]]) -> list[str]:
    """Markdown rows: per batch size the median training step over every timed step of every
    round and the median evaluation passes over rounds (a run's first validation pass, then a
    later one, which our evaluation prompt store shortens), theirs, ours and theirs/ours."""
    lines = md_header(["batch", "train step theirs (s)", "ours (s)", "theirs/ours",
                       "first eval pass theirs (s)", "ours (s)", "theirs/ours",
                       "later eval pass theirs (s)", "ours (s)", "theirs/ours"])
    for B in batch_sizes:
        medians = [{s: statistics.median(t for r in runs[s] for t in r["rows"][str(B)]["steps"])
                    for s in ("theirs", "ours")}]
        medians += [{s: statistics.median(r["rows"][str(B)][key] for r in runs[s])
                     for s in ("theirs", "ours")} for key in ("eval_pass", "eval_later")]
        lines.append(md_row([B, *(cell for m in medians for cell in (
            f"{m['theirs']:.3f}", f"{m['ours']:.3f}", f"{m['theirs'] / m['ours']:.2f}x"))]))
    return lines


def main_timellm(ns) -> int:
    pressure = cpu_pressure()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        spec = prepare_timellm(ns, workdir)
        runs: dict[str, list[dict]] = {"theirs": [], "ours": []}
        for _ in range(ns.rounds):
            for side, cwd in (("theirs", spec["repo"]), ("ours", str(REPO))):
                runs[side].append(run_worker(side, TIMELLM_WORKER, [str(workdir)], cwd, ns.threads))
        out_diff = {B: (torch.load(workdir / f"eval_theirs_{B}.pt")
                        - torch.load(workdir / f"eval_ours_{B}.pt")).abs().max().item()
                    for B in ns.batch_sizes}
    notes = runs["theirs"][0]["notes"]
    print(f"# Time-LLM against the authors' code: {cpu_model()}, {ns.threads} thread(s), "
          f"/proc/pressure/cpu at start `{pressure}`, at end `{cpu_pressure()}`")
    print(f"# {TIMELLM_LLM} x {ns.llm_layers} layers, ETTh1 L=512 H=96, channel-independent; "
          f"fp32 both sides (theirs {notes['dtype']}, {notes['attention']} attention, the patch "
          f"input's cast to bfloat16 removed; ours {runs['ours'][0]['notes']['dtype']}, "
          f"fast path, {runs['ours'][0]['notes']['allocator']} as run_main.py does); "
          f"median of {ns.steps} steps after {ns.warmup} and two passes of {ns.eval_batches} "
          f"batches, {ns.rounds} round(s), processes alternating")
    print("\n".join(timellm_table(ns.batch_sizes, runs)))
    print(f"\nThe reference asked for: {'; '.join(notes['asked_for'])} -> {spec['llm_folder']}")
    for B in ns.batch_sizes:
        firsts = [(t["rows"][str(B)]["losses"][0], o["rows"][str(B)]["losses"][0])
                  for t, o in zip(runs["theirs"], runs["ours"])]
        diff = max(abs(t - o) for t, o in firsts)
        print(f"- batch {B}: first training step's loss theirs {firsts[0][0]:.8f} ours "
              f"{firsts[0][1]:.8f}, max |diff| over rounds {diff:.1e}; evaluation outputs "
              f"(first batch, initial weights) max |diff| {out_diff[B]:.1e}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="TimesNet", choices=sorted(AUTHORS))
    p.add_argument("--rounds", type=int, default=2, help="pairs of (theirs, ours) processes")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--llm_layers", type=int, default=4, help="TimeLLM: SmolLM2 layers kept")
    p.add_argument("--batch_sizes", type=int, nargs="+", default=[8, 24],
                   help="TimeLLM: windows (series) per batch")
    p.add_argument("--eval_batches", type=int, default=8,
                   help="TimeLLM: batches per evaluation pass")
    p.add_argument("--seed", type=int, default=2021, help="TimeLLM: weights, windows, dropout")
    ns = p.parse_args(argv)
    repo = authors_root() / AUTHORS[ns.model][0]
    if not (repo / (AUTHORS[ns.model][1].replace(".", "/") + ".py")).is_file():
        print(f"error: {missing_message(repo)}", file=sys.stderr)
        return 2
    if ns.model == "TimeLLM":
        return main_timellm(ns)
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
    print("\n".join(md_header(["round", "code", "train step (s)", "epoch estimate (min)"])))
    for r, side, median in rows:
        print(md_row([r, side, f"{median:.3f}", f"{median * spec['steps_per_epoch'] / 60:.1f}"]))
    for side in ("theirs", "ours"):
        meds = [m for _, s, m in rows if s == side]
        print(f"{side}: median over rounds {statistics.median(meds):.3f} s/step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
