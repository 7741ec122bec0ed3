"""What a Time-LLM run costs per epoch, and which evaluation batch size is fastest.

    python -m bench.bench_eval --depths 1 2 4 --eval_batch_sizes 8 32 64 128 --threads 2

For each backbone depth it builds the fast-path model (real SmolLM2, paper recipe at L=512:
d_model 32, d_ff 128, 1000 prototypes), times a training step at ``--batch_size`` on real ETTh1
training windows and the evaluation forward (no grad, prototypes cached as in a real pass) at
each evaluation batch size on real validation windows, and prints windows/s, the FLOP floor of
an evaluation window (the backbone's products over the per-window tokens, the reprogramming
attention and the head, at the measured GEMM rate of this machine) and the estimated minutes of
one epoch of the 10% few-shot ETTh1 protocol (``--train_samples`` training and ``--eval_samples``
validation windows; add one more pass when the test split is scored every epoch).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from bench.harness import best_seconds, md_header, md_row, timed_steps
from bench.timellm_parts import Variant, add_recipe_args, load_windows, model_configs
from data_provider.data_factory import build_dataset

FEWSHOT10_TRAIN = 5019   # ETTh1, L=512, H=96, 10%: 717 windows x 7 channels
ETTH1_EVAL = 19495       # ETTh1, L=512, H=96: validation (and test) windows x 7 channels


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm_model", default="SmolLM2")
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4],
                   help="backbone depths (--llm_layers values) to measure")
    p.add_argument("--eval_batch_sizes", type=int, nargs="+", default=[8, 32, 64, 128])
    p.add_argument("--batch_size", type=int, default=24, help="training batch size")
    add_recipe_args(p, learning_rate=4e-4)  # the reference's effective lr of epoch 1
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--windows", type=int, default=256, help="evaluation windows timed per batch size")
    p.add_argument("--train_steps", type=int, default=4, help="timed training steps (after 1 warm-up)")
    p.add_argument("--profile", type=int, default=0,
                   help="1: profile the evaluation forward at the first depth and batch size")
    p.add_argument("--train_samples", type=int, default=FEWSHOT10_TRAIN)
    p.add_argument("--eval_samples", type=int, default=ETTH1_EVAL)
    return p.parse_args(argv)


def gemm_rate(m: int = 32 * 168, k: int = 576, n: int = 1536, repeats: int = 7) -> float:
    """Measured fp32 GEMM rate (FLOP/s, best of ``repeats``) on the backbone's own shape: an
    evaluation batch of 32 windows x 168 tokens through SmolLM2's 576 -> 1536 MLP product."""
    a, w = torch.randn(m, k), torch.randn(n, k)
    return 2 * m * k * n / best_seconds(lambda: torch.nn.functional.linear(a, w), repeats)


def profile_eval(v, batches: list[torch.Tensor], top: int = 12) -> list[str]:
    """Where an evaluation forward's time goes: the model's ``timellm.*`` sections and the ops
    with the most self time, per forward over ``batches[1:]`` (the first batch, which computes
    the prototypes, runs before the profiler starts)."""
    model = v.model
    model.eval()
    with torch.no_grad():
        model(batches[0], None, None, None)
        t0 = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for x in batches[1:]:
                model(x, None, None, None)
        total = time.perf_counter() - t0
    n = len(batches) - 1
    sections: dict[str, float] = {}
    for e in prof.events():
        if e.name.startswith("timellm."):
            sections[e.name] = sections.get(e.name, 0.0) + e.time_range.elapsed_us() / 1e3 / n
    lines = [f"profiled {n} evaluation forwards of {len(batches[1])} windows: "
             f"{total * 1e3 / n:.0f} ms each (profiler included)", ""]
    lines += md_header(["section", "ms per forward"])
    lines += [md_row([k, f"{ms:.1f}"]) for k, ms in sorted(sections.items(), key=lambda kv: -kv[1])]
    lines += ["", *md_header(["op (self time)", "ms per forward"])]
    ops = sorted(prof.key_averages(), key=lambda a: -a.self_cpu_time_total)[:top]
    lines += [md_row([a.key, f"{a.self_cpu_time_total / 1e3 / n:.1f}"]) for a in ops]
    return lines


def eval_flops(model, prompt_tokens: float) -> float:
    """FLOPs of one evaluation window, counting only what must be computed per window:
    the backbone's projections over its patch and non-shared prompt tokens, the reprogramming
    attention of the patches over the cached prototypes (scores and values), and the head."""
    cfg = model.llm_model.config
    d, inter = cfg.hidden_size, getattr(cfg, "intermediate_size", 4 * cfg.hidden_size)
    heads = cfg.num_attention_heads
    kv = getattr(cfg, "num_key_value_heads", heads) * (d // heads)
    layer = 2 * (d * d * 2 + d * kv * 2 + 3 * d * inter)     # q, o, k, v, gate/up/down
    layers = len(getattr(model.llm_model, "layers", [])) or cfg.num_hidden_layers
    P = model.patch_nums
    rep = model.reprogramming_layer
    H, E = rep.n_heads, model.d_ff
    S = model.num_tokens
    d_model = rep.query_projection.in_features
    reprogram = 2 * P * H * S * (d_model + 1 + E) + 2 * P * H * E * model.d_llm
    head = 2 * P * model.d_ff * model.pred_len
    return layers * layer * (P + prompt_tokens) + reprogram + head


def per_window_prompt_tokens(model, x: torch.Tensor) -> float:
    """Mean prompt tokens per window that are not the run-wide shared prefix."""
    xn = model.normalize_layers(x, "norm")
    B, T, N = xn.shape
    ids = model.prompt_ids(xn.permute(0, 2, 1).reshape(B * N, T, 1))
    pad = model.tokenizer.pad_token_id
    lengths = (ids != pad).sum(1).float()
    first = ids[0]
    shared = 0
    for j in range(ids.shape[1]):
        if not bool((ids[:, j] == first[j]).all()):
            break
        shared += 1
    return float(lengths.mean()) - shared


def measure(args, layers: int, xs, ys, vx) -> dict:
    args.llm_layers = layers
    v = Variant(f"fast x{layers}", args, True, "cpu")
    model = v.model
    B = args.batch_size
    train = timed_steps(lambda i: v.train_step(xs[i * B:(i + 1) * B], ys[i * B:(i + 1) * B], seed=i),
                        range(args.train_steps + 1), warmup=1)
    rates = {}
    for eb in args.eval_batch_sizes:
        batches = [vx[s:s + eb] for s in range(0, args.windows, eb)]
        times, _ = v.eval_pass(batches[:1] + batches)   # the first computes the prototypes
        rates[eb] = sum(len(b) for b in batches) / sum(times[1:])
    with torch.no_grad():
        prompt = per_window_prompt_tokens(model, vx[:64])
    return {"layers": layers, "train_step": statistics.median(train), "rates": rates,
            "flops": eval_flops(model, prompt), "prompt_tokens": prompt}


def main(argv=None) -> int:
    args = parse_args(argv)
    args.llm_layers = args.depths[0]
    torch.set_num_threads(args.threads)
    xs, ys = load_windows(args, n=args.batch_size * (args.train_steps + 1))
    val = _val_windows(args, args.windows)
    rate = gemm_rate()
    print(f"threads {args.threads}; fp32 GEMM rate {rate / 1e9:.0f} GFLOP/s "
          "(best of 7: 5376 x 576 -> 1536, the backbone's MLP product at eval batch 32)")
    print(f"training batch {args.batch_size}; {args.train_samples} training and {args.eval_samples} "
          "evaluation windows per epoch (10% few-shot ETTh1, L=512, H=96)\n")
    sizes = args.eval_batch_sizes
    print("\n".join(md_header(["llm_layers", "train s/step", *(f"eval b{b} win/s" for b in sizes),
                               "floor win/s", "per-window prompt tokens", "epoch min (val only)",
                               "epoch min (val+test)"])))
    if args.profile:
        eb = args.eval_batch_sizes[0]
        v = Variant("profile", args, True, "cpu")
        print("\n".join(profile_eval(v, [val[s:s + eb] for s in range(0, args.windows, eb)])))
        print()
    for layers in args.depths:
        r = measure(args, layers, xs, ys, val)
        best = max(r["rates"].values())
        train_min = r["train_step"] * args.train_samples / args.batch_size / 60
        eval_min = args.eval_samples / best / 60
        print(md_row([layers, f"{r['train_step']:.3f}", *(f"{r['rates'][b]:.1f}" for b in sizes),
                      f"{rate / r['flops']:.0f}", f"{r['prompt_tokens']:.0f}",
                      f"{train_min + eval_min:.1f}", f"{train_min + 2 * eval_min:.1f}"]), flush=True)
    return 0


def _val_windows(args, n: int) -> torch.Tensor:
    """The first ``n`` validation windows of ETTh1 (channel-independent), x (n, T, 1)."""
    dataset = build_dataset(model_configs(args, True), "val")
    step = max(1, len(dataset) // n)
    return torch.stack([torch.from_numpy(dataset[i][0]) for i in range(0, step * n, step)])


if __name__ == "__main__":
    raise SystemExit(main())
