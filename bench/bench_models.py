"""Per-model cost, each on its script's data: training-step time, evaluation time and trainable
parameters (ETTh1 at horizon 96; M4 Hourly for the M4 models).

    python -m bench.bench_models --threads 2 --steps 10
    python -m bench.bench_models --models DLinear PatchTST/42 --steps 20

Each row runs exactly what a run script would run: its ``run_main.py`` arguments are recorded
from ``scripts/<Model>_ETTh1.sh`` with ``PRED_LENS=96`` (or an M4 script with ``PATTERNS=Hourly``;
stub launchers, ``bench.harness.script_recipe``),
so the batch size, window and model size are the recipe's. Each row runs in its own process
(peak memory is its own): the model is built by the registry, the optimiser by the trainer's
``build_optimizer``, and batches come from the trainer's own data loader (shuffled train split,
the model's data view). Timed after ``--warmup`` steps: ``--steps`` training steps (forward,
loss, backward, optimiser step; median) and as many evaluation forwards (median, at the recipe's
evaluation batch size). The epoch estimate is steps per epoch x the median step (data loading
is not included). Printed as a markdown table; ``--json FILE`` keeps every measurement.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import torch

from bench.harness import (REPO, ChildFailed, child_env, child_json, md_header, md_row, peak_rss_mib,
                           recipe_config, script_recipe, timed_steps)
from data_provider.data_factory import data_provider
from exp.tasks import get_task
from models import get_model_class
from utils.optim import build_optimizer

# row label -> (script, launch environment, extra run_main.py arguments)
ROWS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "DLinear": ("scripts/DLinear_ETTh1.sh", {}, []),
    "DLinear (individual)": ("scripts/DLinear_ETTh1.sh", {}, ["--individual", "1"]),
    "PatchTST/42": ("scripts/PatchTST_ETTh1.sh", {"VARIANT": "42"}, []),
    "PatchTST/64": ("scripts/PatchTST_ETTh1.sh", {"VARIANT": "64"}, []),
    "Autoformer": ("scripts/Autoformer_ETTh1.sh", {}, []),
    "Informer": ("scripts/Informer_ETTh1.sh", {}, []),
    "Time-LLM (CPU profile)": ("scripts/cpu/TimeLLM_ETTh1.sh", {}, []),
    "Time-LLM (paper recipe, SmolLM2 x 4 layers)": (
        "scripts/TimeLLM_ETTh1.sh", {"LLM_MODEL": "SmolLM2", "LLM_LAYERS": "4"}, []),
    "iTransformer": ("scripts/iTransformer_ETTh1.sh", {}, []),
    "TimesNet": ("scripts/TimesNet_ETTh1.sh", {}, []),
    "GPT4TS (paper recipe, SmolLM2 x 6 layers)": (
        "scripts/GPT4TS_ETTh1.sh", {"LLM_MODEL": "SmolLM2"}, []),
    "N-BEATS (M4 Hourly, CPU profile)": ("scripts/cpu/NBEATS_M4_Hourly.sh", {}, []),
    "N-BEATS (M4 Hourly, paper recipe)": ("scripts/NBEATS_M4.sh", {"PATTERNS": "Hourly"}, []),
    "N-HiTS (M4 Hourly, CPU profile)": ("scripts/cpu/NHITS_M4_Hourly.sh", {}, []),
    "N-HiTS (M4 Hourly, recipe)": ("scripts/NHITS_M4.sh", {"PATTERNS": "Hourly"}, []),
}


def recipe(label: str) -> list[str]:
    """The ``run_main.py`` arguments of ``label``'s one run (horizon 96, or its M4 pattern),
    recorded from its script."""
    script, env, extra = ROWS[label]
    return script_recipe(script, env, tuple(extra))


def measure(argv: list[str], steps: int, warmup: int, threads: int, seed: int) -> dict:
    """Build the run's model, data and optimiser in this process and time it."""
    torch.set_num_threads(threads)
    args = recipe_config(argv)
    torch.manual_seed(seed)
    _, train_loader = data_provider(args, "train")
    _, test_loader = data_provider(args, "test")
    rss_before_model = peak_rss_mib()
    model = get_model_class(args.model)(args)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(trainable, args)
    task = get_task(args)
    device = torch.device("cpu")

    def batches(loader):
        while True:
            yield from loader

    def train_step(batch) -> None:
        optimizer.zero_grad(set_to_none=True)
        out, true, loss_kwargs = task.forward(model, batch, device)
        loss = task.criterion(out.float(), true, **loss_kwargs)  # as the trainer calls it
        loss.backward()
        optimizer.step()

    n = warmup + steps
    model.train()
    step_times = timed_steps(train_step, itertools.islice(batches(train_loader), n), warmup)
    model.eval()
    with torch.no_grad():
        eval_times = timed_steps(lambda batch: task.forward(model, batch, device),
                                 itertools.islice(batches(test_loader), n), warmup)
    step = statistics.median(step_times)
    return {
        "model": args.model, "seq_len": args.seq_len, "pred_len": args.pred_len,
        "batch_size": args.batch_size, "eval_batch_size": args.eval_batch_size,
        "view": "one channel per sample" if args.channel_independence else "all channels per sample",
        "trainable": sum(p.numel() for p in trainable),
        "train_step_s": step, "train_steps": step_times, "eval_forward_s": statistics.median(eval_times),
        "windows_per_s": args.batch_size / step, "steps_per_epoch": len(train_loader),
        "epoch_min": len(train_loader) * step / 60, "peak_rss_mib": peak_rss_mib(),
        "rss_before_model_mib": rss_before_model, "threads": threads,
    }


def run_row(label: str, ns) -> dict:
    """Measure one row in a fresh process; returns its figures (or the error)."""
    argv = recipe(label)
    cmd = [sys.executable, "-m", "bench.bench_models", "--_worker", json.dumps(argv),
           "--steps", str(ns.steps), "--warmup", str(ns.warmup), "--threads", str(ns.threads),
           "--seed", str(ns.seed)]
    try:
        return {"label": label, **child_json(cmd, cwd=REPO, env=child_env(ns.threads))}
    except ChildFailed as failed:
        return {"label": label, "error": (failed.stderr.strip().splitlines() or ["no output"])[-1]}


def table(rows: list[dict]) -> list[str]:
    out = md_header(["model", "L", "batch", "data view", "trainable params", "train step (s)",
                     "windows/s", "eval forward (s)", "steps/epoch", "epoch (min)", "peak RSS (MiB)"])
    for r in rows:
        if "error" in r:
            out.append(f"| {r['label']} | | | | | error: {r['error']} | | | | | |")
            continue
        out.append(md_row([r["label"], r["seq_len"], r["batch_size"], r["view"], f"{r['trainable']:,}",
                           f"{r['train_step_s']:.4f}", f"{r['windows_per_s']:.1f}",
                           f"{r['eval_forward_s']:.4f} (batch {r['eval_batch_size']})",
                           f"{r['steps_per_epoch']:,}", f"{r['epoch_min']:.3g}",
                           f"{r['peak_rss_mib']:,.0f}"]))
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="*", default=list(ROWS), metavar="LABEL",
                   help=f"rows to run (default all): {', '.join(ROWS)}")
    p.add_argument("--steps", type=int, default=10, help="timed steps per row (medians)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--json", default=None, help="also write every measurement to this file")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    ns = parse_args(argv)
    if ns._worker is not None:
        print(json.dumps(measure(json.loads(ns._worker), ns.steps, ns.warmup, ns.threads, ns.seed)))
        return 0
    unknown = [m for m in ns.models if m not in ROWS]
    if unknown:
        print(f"error: unknown row(s) {unknown}; choose from: {', '.join(ROWS)}", file=sys.stderr)
        return 2
    print(f"# Per-model cost on each script's data: ETTh1 horizon 96, M4 Hourly for the M4 models "
          f"({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, {ns.threads} thread(s), fp32, "
          f"medians of {ns.steps} steps after {ns.warmup})\n")
    rows = []
    for label in ns.models:
        rows.append(run_row(label, ns))
        print(f"[{label}: done]", file=sys.stderr, flush=True)
    print("\n".join(table(rows)))
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
