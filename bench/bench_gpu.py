"""The GPU section of ``bench/gpu_check.sh``: Time-LLM fast vs plain on one device, briefly.

    python -m bench.bench_gpu --device cuda --llm_layers 30 --batch_size 24 --precision bf16 \\
        --json gpu.json
    python -m bench.bench_gpu --device cpu            # the small CPU stand-in (the defaults)

Both paths are built from the same seed (same weights, ``bench.timellm_parts.Variant``) and fed
the same real ETTh1 windows (L=512, H=96 unless told). With ``--precision bf16`` the frozen backbone
is stored in bf16 (what ``--dtype auto`` gives a bf16 run) and the model runs under bf16 autocast;
``fp32`` runs in IEEE fp32 (TF32 off). Per path it measures: the training step (forward, backward,
optimiser; median of ``--steps`` after ``--warmup``), the evaluation forward (median over one
pass of ``--eval_batches`` batches, prototypes cached as in a real pass), the peak memory of a
training step (CUDA: ``max_memory_allocated``; CPU: not measured), and the host synchronisations
of one training step without the trainer's loss read (CUDA: PyTorch's sync debug mode; CPU: the
reads of tensor values to the host, ``bench.host_reads``). Also the first step's loss fast vs
plain. Prints a markdown table; ``--json`` writes the figures (``bench/gpu_check.sh`` reads them).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from bench.harness import md_header, md_row, median, timed_steps
from bench.host_reads import count_host_reads, cuda_syncs
from bench.timellm_parts import Variant, add_recipe_args, compare_first_step, load_windows
from exp.precision import set_tf32


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--llm_model", default="SmolLM2")
    p.add_argument("--llm_layers", type=int, default=None, help="default: 30 on CUDA, 1 on a CPU")
    p.add_argument("--batch_size", type=int, default=None, help="default: 24 on CUDA, 4 on a CPU")
    p.add_argument("--precision", choices=["bf16", "fp32"], default=None,
                   help="default: bf16 on CUDA, fp32 on a CPU (bf16 is emulated on most CPUs)")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--eval_batches", type=int, default=4)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--json", default=None)
    add_recipe_args(p, learning_rate=0.01)
    args = p.parse_args(argv)
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    args.device = "cuda" if cuda else "cpu"
    given = argv if argv is not None else sys.argv[1:]
    if not cuda:  # the small stand-in: seconds on 2 cores
        args.seq_len = args.seq_len if "--seq_len" in given else 96
        args.num_tokens = args.num_tokens if "--num_tokens" in given else 100
    args.llm_layers = args.llm_layers or (30 if cuda else 1)
    args.batch_size = args.batch_size or (24 if cuda else 4)
    args.precision = args.precision or ("bf16" if cuda else "fp32")
    return args


def host_syncs(v: Variant, x, y, seed: int) -> tuple[int, list[str]]:
    """Synchronisations (CUDA) or host reads of tensor values (CPU) in one training step that
    does not read its loss (``Variant.step``; the trainer reads one in ten)."""
    if v.device == "cuda":
        with cuda_syncs() as seen:
            v.step(x, y, seed)
        return len(seen), seen[:5]
    with count_host_reads() as counts:
        v.step(x, y, seed)
    return sum(counts.values()), sorted(counts)


def measure(v: Variant, xs, ys, args) -> dict:
    B, device = args.batch_size, args.device
    x, y = xs[:B].to(device), ys[:B].to(device)
    for s in range(args.warmup):
        v.train_step(x, y, s)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = timed_steps(lambda s: v.train_step(x, y, s), range(args.warmup, args.warmup + args.steps),
                        sync=v.sync)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    syncs, where = host_syncs(v, x, y, 99)
    batches = [xs[i * B:(i + 1) * B].to(device) for i in range(args.eval_batches)]
    eval_times, _ = v.eval_pass(batches)
    return {"train_step_s": median(times), "eval_forward_s": median(eval_times[1:] or eval_times),
            "peak_train_mib": peak, "host_syncs_per_step": syncs, "sync_sites": where}


def main(argv=None) -> int:
    args = parse_args(argv)
    set_tf32(False)
    autocast = "bfloat16" if args.precision == "bf16" else None
    dtype = "bfloat16" if args.precision == "bf16" else "float32"
    xs, ys = load_windows(args, n=max(64, args.batch_size * args.eval_batches))
    t0 = time.perf_counter()
    fast = Variant("fast", args, True, args.device, autocast=autocast, dtype=dtype)
    plain = Variant("plain", args, False, args.device, autocast=autocast, dtype=dtype)
    check = compare_first_step(fast, plain, xs[:2].to(args.device), ys[:2].to(args.device),
                               args.seed)
    rows = {v.name: measure(v, xs, ys, args) for v in (fast, plain)}
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else "none"
    out = {"device": args.device, "gpu": gpu, "llm_model": args.llm_model,
           "llm_layers": args.llm_layers, "batch_size": args.batch_size,
           "precision": args.precision, "seq_len": args.seq_len, "pred_len": args.pred_len,
           "loss_fast": check["loss_fast"], "loss_plain": check["loss_plain"],
           "grad_max_rel_diff": check["grad_max_rel_diff"], "paths": rows,
           "seconds": time.perf_counter() - t0}
    print(f"## Time-LLM on {args.device} ({gpu}): {args.llm_model} x {args.llm_layers} layers, "
          f"batch {args.batch_size}, L={args.seq_len}, H={args.pred_len}, {args.precision}")
    print(f"\nfirst step: loss fast {check['loss_fast']:.6f} plain {check['loss_plain']:.6f}; "
          f"gradients max relative diff {check['grad_max_rel_diff']:.1e}\n")
    print("\n".join(md_header(["path", "train step (s)", "eval forward (s)",
                               "peak memory, train (MiB)", "host syncs / step"])))
    for name, r in rows.items():
        peak = "-" if r["peak_train_mib"] is None else f"{r['peak_train_mib']:.0f}"
        print(md_row([name, f"{r['train_step_s']:.4f}", f"{r['eval_forward_s']:.4f}", peak,
                      r["host_syncs_per_step"]]))
    f, p = rows["fast"], rows["plain"]
    print(f"\nplain/fast: training {p['train_step_s'] / f['train_step_s']:.2f}x, evaluation "
          f"{p['eval_forward_s'] / f['eval_forward_s']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
