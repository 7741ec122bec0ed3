"""Where a Time-LLM step's time goes, against the CPU's GEMM peak: a roofline per part.

    python -m bench.bench_roofline --llm_layers 2 --train_batch 192 --eval_batch 32 --threads 2

For the campaign's settings (``scripts/results/ETTh1_fewshot10.sh``: SmolLM2 x 2, L=512, H=96,
d_model 32, d_ff 128, 8 heads, 1000 prototypes; a sample is one channel of one ETTh1 window, as
in the reference's loader), it prints one table for a training step of ``--train_batch``
samples (the campaign's global batch, 192) and one for an evaluation batch of ``--eval_batch``
samples (its 32), with the evaluation prompt store empty, then holding the batch, as in the
first and the later validation passes. Per part of the model:

- FLOPs counted from the shapes (:func:`part_flops`; forward, plus the backward a training step
  runs: input gradients through the frozen backbone, input and weight gradients elsewhere);
- the measured seconds (``torch.profiler`` with the model's ``timellm.*`` labels, backward time
  attributed through autograd sequence numbers: ``bench.timellm_parts.breakdown``);
- the achieved GFLOP/s, its share of the GEMM peak measured in the same process (the mapping
  layer's forward GEMM, V x D x M, the largest product of a step) and the floor, FLOPs / peak.

Parts whose time is not arithmetic (prompt text and tokenisation, glue) show no FLOPs.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import torch
from torch.profiler import ProfilerActivity, profile

from bench.harness import best_seconds, cpu_model, cpu_pressure, malloc_no_mmap, md_header, md_row
from bench.timellm_parts import Variant, add_recipe_args, breakdown, load_windows


@dataclass(frozen=True)
class Shapes:
    """What the FLOP count needs of a model and a batch of ``n`` series."""

    n: int              # samples (series) in the batch
    patches: int        # P, patch tokens per series
    d_model: int
    heads: int          # reprogramming heads H
    d_keys: int         # E, per head (Time-LLM: d_ff)
    prototypes: int     # S
    vocab: int          # V, rows of the mapped embedding table
    d_llm: int          # D
    intermediate: int   # the backbone MLP's width
    kv_dim: int         # keys (and values) width per token, kv_heads x head_dim
    layers: int         # backbone layers run
    prefix: int         # prompt tokens shared by the run (computed once)
    remainder: int      # prompt tokens per series after the prefix (padded to the batch)
    pred_len: int
    d_ff: int
    score_maps: bool    # the fast path's score maps (d_model + 1 wide) instead of keys


def _layer_linear(s: Shapes) -> float:
    """Multiply-adds x 2 of one backbone layer's projections and MLP, per token."""
    return 2 * s.d_llm * (2 * s.d_llm + 2 * s.kv_dim) + 6 * s.d_llm * s.intermediate


def part_flops(s: Shapes, training: bool) -> dict[str, float]:
    """FLOPs of each part for one batch; a training step includes its backward.

    mapping: prototypes = W E + b, forward 2VDM and (training) the weight gradient 2VDM; in
    evaluation the prototypes are computed once per pass, 0 per batch. reprogramming: the
    prototypes' score maps or keys and values (per step in training, once per pass in
    evaluation), the patches' scores and weighted values, the output projection; backward 2x.
    LLM prompt part (no gradient): the remainder tokens through every layer but the last, whose
    keys and values alone are computed; layer 0's projections are gathered per token id (no
    FLOPs). LLM patch part: P tokens through every layer, attending to prompt and patches;
    backward: input gradients only (frozen weights), 1x the products and 2x the attention.
    head: the flatten head, backward 2x.
    """
    n, P = s.n, s.patches
    q = (s.d_model + 1) if s.score_maps else s.d_keys
    out: dict[str, float] = {}
    mapping = 2 * s.vocab * s.d_llm * s.prototypes
    out["mapping layer"] = 2 * mapping if training else 0.0
    source = (2 * s.heads * (s.d_model + 1) * s.d_keys * s.d_llm
              + 2 * s.heads * (s.d_model + 1) * s.d_llm * s.prototypes
              if s.score_maps else 2 * s.prototypes * s.d_llm * s.heads * s.d_keys)
    source += 2 * s.prototypes * s.d_llm * s.heads * s.d_keys  # values
    attend = (2 * s.heads * n * P * s.prototypes * (q + s.d_keys)
              + 2 * n * P * s.heads * s.d_keys * s.d_llm
              + (0 if s.score_maps else 2 * n * P * s.d_model * s.heads * s.d_keys))
    out["reprogramming"] = 3 * (attend + source) if training else attend
    R, L = s.remainder, s.layers
    keys_before = s.prefix + (R + 1) / 2  # mean keys a remainder token attends to
    attention = 4 * s.d_llm * keys_before
    layer0 = _layer_linear(s) - 2 * s.d_llm * (s.d_llm + 2 * s.kv_dim) + attention  # no q, k, v
    middle = (L - 2) * (_layer_linear(s) + attention) if L > 1 else 0
    last = 2 * s.d_llm * 2 * s.kv_dim if L > 1 else 0
    out["LLM prompt part"] = n * R * (layer0 + middle + last) if L > 1 else n * R * last
    patch_keys = s.prefix + R + (P + 1) / 2
    linear, attn = L * _layer_linear(s), L * 4 * s.d_llm * patch_keys
    out["LLM patch part"] = n * P * ((2 * linear + 3 * attn) if training else (linear + attn))
    head = 2 * n * s.d_ff * P * s.pred_len
    out["head"] = 3 * head if training else head
    return out


def gemm_peak(vocab: int, d_llm: int, prototypes: int, repeats: int = 5) -> float:
    """GFLOP/s of the mapping layer's forward GEMM, (V, D)^T-shaped product: the best of
    ``repeats`` (a peak; on a shared machine a median would count other tenants' load)."""
    g = torch.Generator().manual_seed(0)
    table, weight = torch.randn(vocab, d_llm, generator=g), torch.randn(vocab, prototypes, generator=g)
    return 2 * vocab * d_llm * prototypes / best_seconds(lambda: torch.mm(weight.t(), table), repeats) / 1e9


EVAL_SECTIONS = [("prompt statistics + text + tokenisation", "timellm.prompt"),
                 ("patch embedding", "timellm.patch_embedding"),
                 ("reprogramming", "timellm.reprogramming"),
                 ("LLM prompt part", "timellm.llm_prompt"),
                 ("LLM patch part", "timellm.llm_patches"),
                 ("head", "timellm.head")]


def eval_breakdown(model, x: torch.Tensor) -> dict[str, float]:
    """Seconds per labelled section of one evaluation forward (profiler overhead included)."""
    t0 = time.perf_counter()
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x, None, None, None)
    total = time.perf_counter() - t0
    seconds = {}
    for row, label in EVAL_SECTIONS:
        seconds[row] = sum(e.time_range.elapsed_us() for e in prof.events() if e.name == label) / 1e6
    seconds["other (norm, glue, profiler)"] = total - sum(seconds.values())
    seconds["total (profiled)"] = total
    return seconds


TRAIN_ROWS = {  # timellm_parts.breakdown's rows -> this table's parts
    "prompt statistics + text + tokenisation": "prompt statistics + text + tokenisation",
    "mapping layer forward": "mapping layer", "mapping layer backward": "mapping layer",
    "patch embedding (fwd+bwd)": "patch embedding",
    "reprogramming (fwd+bwd)": "reprogramming",
    "LLM prompt part (no_grad KV cache)": "LLM prompt part",
    "LLM patch part (fwd+bwd); plain: whole [prompt;patches]": "LLM patch part",
    "head (fwd+bwd)": "head", "optimizer step": "optimizer step",
}


def shapes_of(model, n: int, x: torch.Tensor, pred_len: int) -> Shapes:
    """The :class:`Shapes` of ``model`` on the series ``x`` (n, T, 1): prompt lengths from the
    token ids the model builds and the shared prefix its cache settled on (run a batch first)."""
    config = model.llm_model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    ids = model.prompt_ids(model.normalize_layers(x, "norm"))
    prefix = model._kv_cache.shared_length
    layer = model.reprogramming_layer
    return Shapes(n=n, patches=model.patch_nums, d_model=layer.query_projection.in_features,
                  heads=layer.n_heads, d_keys=layer.query_projection.out_features // layer.n_heads,
                  prototypes=model.num_tokens, vocab=model.mapped_table().shape[0],
                  d_llm=model.d_llm, intermediate=config.intermediate_size,
                  kv_dim=kv_heads * head_dim, layers=config.num_hidden_layers, prefix=prefix,
                  remainder=ids.shape[1] - prefix, pred_len=pred_len, d_ff=model.d_ff,
                  score_maps=bool(getattr(layer, "uses_score_maps", False)))


def table(title: str, seconds: dict[str, float], flops: dict[str, float], peak: float,
          samples: int) -> list[str]:
    lines = [f"### {title}", "",
             *md_header(["part", "GFLOP", "seconds", "share", "GFLOP/s", "of peak", "floor (s)"])]
    total = seconds["total (profiled)"]

    def row(part: str, f: float | None, sec: float) -> str:
        if not f:
            return md_row([part, "-", f"{sec:.3f}", f"{sec / total:.0%}", "-", "-", "-"])
        gflop = f / 1e9
        return md_row([part, f"{gflop:,.1f}", f"{sec:.3f}", f"{sec / total:.0%}", f"{gflop / sec:,.0f}",
                       f"{gflop / sec / peak:.0%}", f"{gflop / peak:.3f}"])

    lines += [row(part, flops.get(part), sec) for part, sec in seconds.items()
              if part != "total (profiled)"]
    lines.append(row("**total**", sum(flops.values()), total))
    lines += ["", f"{samples / total:.1f} samples/s under the profiler", ""]
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_recipe_args(p, learning_rate=0.01)
    p.add_argument("--llm_model", default="SmolLM2")
    p.add_argument("--llm_layers", type=int, default=2)
    p.add_argument("--train_batch", type=int, default=192,
                   help="samples (one channel of one window each) a training step")
    p.add_argument("--eval_batch", type=int, default=32, help="samples an evaluation batch")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--reuse_memory", type=int, default=1, choices=[0, 1],
                   help="as run_main.py's flag (its default 1): the allocator keeps freed memory")
    p.add_argument("--seed", type=int, default=2021)
    args = p.parse_args(argv)
    alloc = malloc_no_mmap() if args.reuse_memory else "allocator defaults"
    torch.set_num_threads(args.threads)
    n_train, n_eval = args.train_batch, args.eval_batch
    fast = Variant("fast", args, True, "cpu")
    model = fast.model
    xs, ys = load_windows(args, n=max(2 * n_train, 3 * n_eval))
    peak = gemm_peak(model.mapped_table().shape[0], model.d_llm, model.num_tokens)

    x, y = xs[:n_train], ys[:n_train]
    fast.train_step(x, y, 0)  # warm-up: settles the shared prefix, packs weights
    train_seconds = {}
    for row, sec in breakdown(fast, xs[n_train:2 * n_train], ys[n_train:2 * n_train], 1).items():
        part = TRAIN_ROWS.get(row, row)
        train_seconds[part] = train_seconds.get(part, 0.0) + sec
    train_flops = part_flops(shapes_of(model, n_train, x, args.pred_len), training=True)

    batches = [xs[i * n_eval:(i + 1) * n_eval] for i in range(3)]
    model.train()
    model.eval()
    with torch.no_grad():
        for b in batches[:2]:
            model(b, None, None, None)  # the first pass: prototypes and the prompt store fill
    first = eval_breakdown(model, batches[2])       # a batch the store has not seen
    later = eval_breakdown(model, batches[1])       # a batch it holds: a later pass
    shapes = shapes_of(model, n_eval, batches[2], args.pred_len)
    eval_flops = part_flops(shapes, training=False)
    later_flops = {**eval_flops, "LLM prompt part": 0.0}

    print(f"# Time-LLM roofline: {cpu_model()}, {args.threads} thread(s), "
          f"CPU pressure {cpu_pressure()}, {alloc}")
    print(f"SmolLM2 x {args.llm_layers}, L={args.seq_len}, H={args.pred_len}, "
          f"{model.num_tokens} prototypes; prompt: {shapes.prefix} shared + {shapes.remainder} "
          f"per-series tokens; GEMM peak (mapping forward GEMM, same process): {peak:.0f} GFLOP/s")
    print()
    lines = table(f"Training step, {n_train} samples", train_seconds, train_flops, peak, n_train)
    lines += table(f"Evaluation batch, {n_eval} samples, first pass", first, eval_flops, peak,
                   n_eval)
    lines += table(f"Evaluation batch, {n_eval} samples, later passes (prompt store hit)",
                   later, later_flops, peak, n_eval)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
