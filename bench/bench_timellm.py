"""Time-LLM speed: the fast path against the plain path, in one process, alternating runs.

    python -m bench.bench_timellm --llm_layers 4 --batch_sizes 8 24 --seq_len 512 --pred_len 96 \\
        --threads 1 --repeats 5

The fast path is the default model (``--fast_path 1``); the plain path (``--fast_path 0``) is the
reference's computation (see ``models/TimeLLM.py``). Both models are built from the same seed, so
they hold the same weights; every timed step feeds both the same ETTh1 windows (the project's own
train split, channel-independent, as ``run_main.py`` builds it) with the same dropout seed, and the
order of the variants rotates between repeats. Printed (markdown):

- header: machine, threads, CPU pressure (``/proc/pressure/cpu``), bf16 support;
- exactness: loss and output differences fast vs plain, gradient agreement of every trainable
  parameter at the first step;
- per batch size: training step (forward, backward, optimiser) and evaluation forward (median of
  the steady state of an evaluation pass, i.e. with the prototypes cached as in a real pass),
  medians and the plain/fast ratio; peak memory of a training step and its activation share;
  the breakdown by section (``torch.profiler`` with the model's ``timellm.*`` labels; backward
  time attributed to sections through autograd sequence numbers);
- throughput (windows/s) for the ``--throughput_batches`` sizes;
- where the fast evaluation's speed comes from (first batch size, CPU, ``--ablate 1``): the fast
  model's evaluation forward with the lean LLaMA runner or its oneDNN products switched off,
  alternating with the plain path;
- the mapping layer alone (forward GEMM + weight-gradient GEMM + its Adam update), per layout:
  the floor of an exact training step;
- optional rows: ``--mixed_precision bf16`` (autocast, not exact: its loss difference is shown)
  and ``--mapping_vocab K`` (the non-exact cheap-prototype option);
- a CUDA section (fp32 and bf16 autocast) when ``torch.cuda.is_available()``.

``--thp 1`` sets ``THP_MEM_ALLOC_ENABLE=1`` before torch is imported (transparent huge pages for
PyTorch's large CPU allocations: a process setting that changes no number and applies to both
paths alike). Off by default: on the measured VM it saved ~5% of a fast training step in the
steady state (the 197 MB weight gradient is allocated afresh every step, and huge pages cut its
page faults) but made the first steps stall on page compaction.

``--malloc_no_mmap 1`` is the other process setting that matters here: glibc maps every block
above its mmap threshold afresh and unmaps it when freed, so a new large tensor pays page faults
on first touch. The plain path allocates several 197 MB tensors per training step (the mapping
weight's gradient, the reference Adam's temporaries); the fast path reuses its gradient memory and
its fused Adam has no temporaries. With the flag both paths reuse freed memory, which shows how
much of the plain path's time is page faults (it applies to both alike; off by default, as in any
PyTorch process).
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__" and "--thp" in sys.argv and "THP_MEM_ALLOC_ENABLE" not in os.environ:
    os.environ["THP_MEM_ALLOC_ENABLE"] = (sys.argv[sys.argv.index("--thp") + 1:] or ["0"])[0]

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from bench.harness import (cpu_model, cpu_pressure, malloc_no_mmap, md_header, md_row,  # noqa: E402
                           median, timed)
from bench.timellm_parts import (Variant, add_recipe_args, breakdown,  # noqa: E402
                                 compare_first_step, load_windows, step_memory, window_indices)
from layers.fast.mapping import MappingLayer  # noqa: E402
from utils.cpu import NATIVE_BF16_FLAGS, cpu_flags  # noqa: E402


# ----------------------------------------------------------------------------- setup
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llm_model", default="SmolLM2")
    p.add_argument("--llm_layers", type=int, default=4)
    p.add_argument("--batch_sizes", type=int, nargs="*", default=[8, 24],
                   help="batch sizes of the main table (none: only throughput and floor)")
    p.add_argument("--throughput_batches", type=int, nargs="*", default=[8, 16, 24, 32],
                   help="batch sizes of the throughput sweep (fast path; plain with --throughput_plain)")
    p.add_argument("--throughput_plain", type=int, default=1)
    add_recipe_args(p, learning_rate=1e-3)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per variant (medians)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first")
    p.add_argument("--eval_batches", type=int, default=4,
                   help="batches per evaluation pass (the first one computes the prototypes)")
    p.add_argument("--profile", type=int, default=1, help="1: breakdown and memory per batch size")
    p.add_argument("--floor", type=int, default=1, help="1: time the mapping layer alone")
    p.add_argument("--ablate", type=int, default=1,
                   help="1: evaluation with the lean LLaMA runner / oneDNN switched off (CPU)")
    p.add_argument("--mixed_precision", choices=["no", "bf16"], default="no",
                   help="bf16: add a fast-path variant under bf16 autocast (not exact)")
    p.add_argument("--mapping_vocab", type=int, default=4096,
                   help="K > 0: add the non-exact fast-path variant mapping only K token ids (0: skip)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: the CPU tables, then a CUDA section when CUDA is available")
    p.add_argument("--thp", type=int, default=0, help="(read before torch is imported) see module doc")
    p.add_argument("--malloc_no_mmap", type=int, default=0,
                   help="1: glibc serves every allocation from its heap and never trims it "
                        "(mallopt), so freed memory is reused without page faults (see module doc)")
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--json", default=None, help="also write every measurement to this file")
    return p.parse_args(argv)


def bf16_support() -> str:
    flags = cpu_flags()
    native = sorted(f for f in flags if f in (*NATIVE_BF16_FLAGS, "amx_tile"))
    try:
        onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        onednn = None
    return (f"CPU flags {native or 'none (bf16 emulated)'}; oneDNN available "
            f"{torch.backends.mkldnn.is_available()}, oneDNN bf16 supported {onednn}")


def header(args) -> list[str]:
    return [
        f"# Time-LLM fast vs plain ({time.strftime('%Y-%m-%d %H:%M:%S %Z')})",
        "",
        f"- command: `python -m bench.bench_timellm {' '.join(sys.argv[1:])}`",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical CPUs; torch {torch.__version__}, "
        f"{args.threads} thread(s) (torch.set_num_threads); THP_MEM_ALLOC_ENABLE="
        f"{os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}",
        f"- CPU pressure at start: `{cpu_pressure()}`; load average {os.getloadavg()}",
        f"- bf16: {bf16_support()}",
        f"- CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}",
        f"- model: {args.llm_model} with {args.llm_layers} layers, seq_len {args.seq_len}, pred_len "
        f"{args.pred_len}, d_model {args.d_model}, d_ff {args.d_ff}, n_heads {args.n_heads}, "
        f"{args.num_tokens} prototypes, dropout {args.dropout}, fp32",
    ]


# ----------------------------------------------------------------------------- suites
def trainable_state(model) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: t for k, t in model.state_dict().items() if k in names}


def sync_weights(variants: list["Variant"]) -> None:
    """Copy the first variant's trainable weights into the others of the same architecture.

    Adam turns rounding-level gradient differences into different updates (a weight whose
    gradient is ~0, e.g. the key bias, moves by +-lr either way), so two exact paths drift
    apart over steps; starting every step from the same weights keeps the per-step loss
    comparison meaningful. Untimed; the optimiser states stay each variant's own.
    """
    source = trainable_state(variants[0].model)
    for v in variants[1:]:
        own = trainable_state(v.model)
        if all(k in own and own[k].shape == t.shape for k, t in source.items()):
            v.model.load_state_dict(source, strict=False)


def rotated(items: list, r: int) -> list:
    """``items`` started at position r (mod its length): the order of repeat r, so every variant
    goes first equally often."""
    k = r % len(items)
    return items[k:] + items[:k]


def run_batch(variants: list[Variant], xs, ys, B: int, args, offset: int) -> dict:
    """Alternating timed training steps and evaluation passes of every variant at batch B."""
    n = xs.shape[0]
    device = variants[0].device

    def batch(i):
        idx = window_indices(offset + i * B, B, n)
        return xs[idx].to(device), ys[idx].to(device)

    step = {v.name: {"wall": [], "cpu": [], "loss": []} for v in variants}
    for r in range(args.warmup + args.repeats):
        x, y = batch(r)
        sync_weights(variants)
        order = rotated(variants, r)
        for v in order:
            wall, cpu, loss = timed(lambda v=v: v.train_step(x, y, args.seed + r), v.sync)
            if r >= args.warmup:
                step[v.name]["wall"].append(wall)
                step[v.name]["cpu"].append(cpu)
                step[v.name]["loss"].append(loss)
    evals = {v.name: {"steady": [], "pass": [], "outs": []} for v in variants}
    eval_batches = [batch(100 + k)[0] for k in range(args.eval_batches)]
    sync_weights(variants)
    for r in range(args.warmup + args.repeats):
        order = rotated(variants, r)
        for v in order:
            times, outs = v.eval_pass(eval_batches)
            if r >= args.warmup:
                evals[v.name]["steady"].append(median(times[1:] or times))
                evals[v.name]["pass"].append(sum(times) / len(times))
                if not evals[v.name]["outs"]:
                    evals[v.name]["outs"] = outs
    result = {"B": B, "train": {}, "eval": {}}
    for v in variants:
        s = step[v.name]
        result["train"][v.name] = {"median": median(s["wall"]), "cpu": median(s["cpu"]),
                                   "all": s["wall"], "loss": s["loss"]}
        e = evals[v.name]
        result["eval"][v.name] = {"median": median(e["steady"]), "pass_mean": median(e["pass"]),
                                  "all": e["steady"]}
    ref = evals[variants[0].name]["outs"]
    for v in variants[1:]:
        outs = evals[v.name]["outs"]
        result["eval"][v.name]["max_abs_diff_vs_" + variants[0].name] = max(
            (a - b).abs().max().item() for a, b in zip(outs, ref))
        result["train"][v.name]["max_loss_diff_vs_" + variants[0].name] = max(
            abs(a - b) for a, b in zip(step[v.name]["loss"], step[variants[0].name]["loss"]))
    if args.profile:
        x, y = batch(50)
        result["memory"], result["breakdown"] = {}, {}
        for v in variants[:2]:
            result["memory"][v.name] = step_memory(v, x, y, args.seed)
            if device == "cpu":
                result["breakdown"][v.name] = breakdown(v, x, y, args.seed)
    return result


ABLATIONS = {  # name: (lean LLaMA runner, oneDNN linears)
    "fast (default)": (True, True),
    "fast, oneDNN off (MKL products, no fused epilogues)": (True, False),
    "fast, transformers' forward for the cached passes (MKL)": (False, True),
}


def fast_ablation(fast: Variant, plain: Variant, xs, B: int, args) -> dict[str, float]:
    """Evaluation forward (steady state, median) of the fast model with parts of its LLM pass
    switched off, alternating with the plain path: where the fast evaluation's speed comes from.
    The switches are the prompt KV cache's own (per model, nothing process-wide)."""
    model = fast.model
    kv_cache = model._kv_cache
    n = xs.shape[0]
    batches = [xs[window_indices(300 + k * B, B, n)].to(fast.device)
               for k in range(args.eval_batches)]
    names = [*ABLATIONS, plain.name]
    times: dict[str, list[float]] = {name: [] for name in names}
    try:
        for r in range(args.warmup + args.repeats):
            for name in rotated(names, r):
                if name == plain.name:
                    t, _ = plain.eval_pass(batches)
                else:
                    kv_cache.lean, kv_cache.onednn = ABLATIONS[name]
                    t, _ = fast.eval_pass(batches)
                if r >= args.warmup:
                    times[name].append(median(t[1:] or t))
    finally:
        kv_cache.lean, kv_cache.onednn = True, True
    return {name: median(v) for name, v in times.items()}


def throughput(variants: list[Variant], xs, ys, batches: list[int], args) -> dict:
    out = {}
    for B in batches:
        res = {v.name: [] for v in variants}
        for r in range(args.warmup + args.repeats):
            idx = window_indices(r * B, B, xs.shape[0])
            x, y = xs[idx].to(variants[0].device), ys[idx].to(variants[0].device)
            order = rotated(variants, r)
            for v in order:
                wall, _, _ = timed(lambda v=v: v.train_step(x, y, args.seed + r), v.sync)
                if r >= args.warmup:
                    res[v.name].append(wall)
        out[B] = {name: B / median(ts) for name, ts in res.items()}
    return out


def mapping_floor(table: torch.Tensor, M: int, repeats: int, lr: float) -> dict:
    """The mapping layer alone: forward, weight gradient, Adam update, per implementation."""
    V, D = table.shape
    gflop = 2 * V * D * M / 1e9
    g = torch.Generator().manual_seed(0)
    grad = torch.randn(M, D, generator=g).to(table.device) * 1e-3
    impls = {}
    for name, layout in (("fast, weight stored (V, M) [default]", "vm"),
                         ("fast, weight stored (M, V)", "mv"), ("plain nn.Linear", None)):
        torch.manual_seed(0)
        layer = (MappingLayer(V, M, layout) if layout else torch.nn.Linear(V, M)).to(table.device)
        params = list(layer.parameters())
        opt = torch.optim.Adam(params, lr=lr, **({"fused": True} if layout else {}))
        if layout:
            forward = lambda layer=layer: layer.prototypes(table)  # noqa: E731
        else:
            forward = lambda layer=layer: layer(table.permute(1, 0)).permute(1, 0)  # noqa: E731
        impls[name] = (layer, opt, forward)
    sync = torch.cuda.synchronize if table.device.type == "cuda" else (lambda: None)
    times = {name: defaultdict(list) for name in impls}
    for r in range(repeats + 1):
        for name in rotated(list(impls), r):
            layer, opt, forward = impls[name]
            opt.zero_grad(set_to_none=True)
            f, _, out = timed(forward, sync)
            b, _, _ = timed(lambda: out.backward(grad), sync)
            a, _, _ = timed(opt.step, sync)
            if r:
                times[name]["forward"].append(f)
                times[name]["weight gradient"].append(b)
                times[name]["Adam update"].append(a)
    result = {}
    for name, parts in times.items():
        row = {k: median(v) for k, v in parts.items()}
        row["total"] = sum(row.values())
        row["forward GFLOP/s"] = gflop / row["forward"]
        row["weight-gradient GFLOP/s"] = gflop / row["weight gradient"]
        result[name] = row
    del impls
    return result


# ----------------------------------------------------------------------------- printing
def fmt_s(x: float) -> str:
    return "n/a" if x != x else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def fmt_mb(x) -> str:
    return "n/a" if x is None else f"{x / 2**20:,.0f}"


def print_suite(lines: list[str], results: list[dict], names: list[str], device: str) -> None:
    fast, plain = names[0], names[1]
    lines += ["", f"## Training step and evaluation forward ({device}; seconds, medians)", ""]
    lines += md_header(["batch", "variant", "train step", "(cpu s)", "eval forward (steady)",
                        "eval pass mean", "train plain/this", "eval plain/this"])
    for res in results:
        tp, ep = res["train"][plain]["median"], res["eval"][plain]["median"]
        for name in names:
            t, e = res["train"][name], res["eval"][name]
            lines.append(md_row([res["B"], name, fmt_s(t["median"]), fmt_s(t["cpu"]),
                                 fmt_s(e["median"]), fmt_s(e["pass_mean"]),
                                 f"**{tp / t['median']:.2f}x**", f"**{ep / e['median']:.2f}x**"]))
    lines += ["", "Agreement with the fast path over the timed steps (every step starts from the "
              "fast path's weights, same batch, same dropout seed; evaluation after syncing):", ""]
    for res in results:
        for name in names[1:]:
            lines.append(f"- batch {res['B']}, {name}: max |loss - fast loss| "
                         f"{res['train'][name]['max_loss_diff_vs_' + fast]:.2e}; eval outputs max "
                         f"|diff| {res['eval'][name]['max_abs_diff_vs_' + fast]:.2e}")
    if any("memory" in r for r in results):
        lines += ["", f"## Peak memory of a training step ({device}; MiB)", ""]
        lines += md_header(["batch", "path", "peak", "params (all)", "grads", "optimizer state",
                            "caches",
                            "activations + temporaries (peak - params - grads - optimizer)",
                            "activations saved for backward", "peak RSS"])
        for res in results:
            for name, m in res.get("memory", {}).items():
                rss = (m.get("rss") or {}).get("peak_rss")
                lines.append(md_row([res["B"], name, fmt_mb(m["peak"]), fmt_mb(m["params"]),
                                     fmt_mb(m["grads"]), fmt_mb(m["optimizer_state"]),
                                     fmt_mb(m["caches"]),
                                     f"{fmt_mb(m['activations'])} ({m['activations'] / m['peak']:.0%})",
                                     fmt_mb(m.get("saved_for_backward")), fmt_mb(rss)]))
        lines += ["", "Peak = tensors alive before the step (after `zero_grad`) + the highest "
                  "level of the profiler's allocation events during it; caches (prompt-prefix KV, "
                  "converted table, the reused weight-gradient memory, oneDNN's packed copies of "
                  "the backbone's weights) are counted in the activation share, "
                  "which is 0 when the peak "
                  "comes at the end of the backward, once the 197 MB weight gradient exists and the "
                  "activations are freed. 'Saved for backward' is the level when the backward "
                  "starts. Peak RSS is the whole process's (every model in it)."]
    for res in results:
        if not res.get("breakdown"):
            continue
        bd = res["breakdown"]
        lines += ["", f"## Breakdown of one profiled training step, batch {res['B']} (seconds)", ""]
        lines += md_header(["section", fast, plain, "plain/fast"])
        for row in bd[fast]:
            a, b = bd[fast][row], bd[plain][row]
            ratio = f"{b / a:.1f}x" if a > 1e-4 else "-"
            lines.append(md_row([row, f"{a:.3f}", f"{b:.3f}", ratio]))


def main(argv=None) -> int:
    args = parse_args(argv)
    allocator = malloc_no_mmap() if args.malloc_no_mmap else "glibc defaults"
    torch.set_num_threads(args.threads)
    lines = header(args) + [f"- allocator: {allocator}"]
    print("\n".join(lines), flush=True)
    xs, ys = load_windows(args)
    record = {"args": vars(args), "pressure_start": cpu_pressure()}
    devices = ["cpu"] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices.append("cuda")
    for device in devices:
        suite = [Variant("fast", args, True, device), Variant("plain", args, False, device)]
        if args.mixed_precision == "bf16" or device == "cuda":
            suite.append(Variant("fast+bf16 autocast", args, True, device, autocast="bfloat16"))
        if args.mapping_vocab:
            suite.append(Variant(f"fast+mapping_vocab {args.mapping_vocab} (NOT exact)", args, True,
                                 device, mapping_vocab=args.mapping_vocab))
        fast, plain = suite[0], suite[1]
        model = fast.model
        part = ["", f"## {device}: trainable parameters {model.trainable_parameters():,} "
                f"(mapping layer {sum(p.numel() for p in model.mapping_layer.parameters()):,}); "
                f"prompt KV cache {model.prompt_cache}"]
        x0, y0 = xs[:2].to(device), ys[:2].to(device)
        check = compare_first_step(fast, plain, x0, y0, args.seed)
        part += ["", f"Exactness at the first step (batch 2, identical weights, train mode with "
                 f"dropout): loss fast {check['loss_fast']:.8f} plain {check['loss_plain']:.8f} "
                 f"(|diff| {check['loss_diff']:.1e}); outputs max |diff| "
                 f"{check['output_max_abs_diff']:.1e}; gradients of all {check['n_grads']} trainable "
                 f"tensors: max relative diff {check['grad_max_rel_diff']:.1e} "
                 f"({check['grad_worst']})" + "".join(
                     f"; {n}: true gradient 0 (softmax shift invariance), |diff| {e:.1e} vs "
                     f"gradient scale {check['grad_scale']:.1e}"
                     for n, e in check["grad_zero_abs"].items())]
        for v in suite[2:]:
            c = compare_first_step(v, plain, x0, y0, args.seed) if v.autocast else None
            if c:
                part.append(f"- {v.name}: loss {c['loss_fast']:.8f} vs fp32 plain "
                            f"{c['loss_plain']:.8f}: |diff| {c['loss_diff']:.1e} "
                            f"({c['loss_diff'] / abs(c['loss_plain']):.1e} relative), gradients max "
                            f"relative diff {c['grad_max_rel_diff']:.1e} (not exact by design)")
        print("\n".join(part), flush=True)
        lines += part
        results = []
        for i, B in enumerate(args.batch_sizes):
            res = run_batch(suite, xs, ys, B, args, offset=i * 97)
            results.append(res)
            summary = ", ".join(f"{name}: train {r['median']:.3f} s eval {res['eval'][name]['median']:.3f} s"
                                for name, r in res["train"].items())
            print(f"[batch {B} done ({summary}); pressure `{cpu_pressure()}`]", file=sys.stderr,
                  flush=True)
        part = []
        if results:
            print_suite(part, results, [v.name for v in suite], device)
        if args.ablate and device == "cpu" and args.batch_sizes:
            B = args.batch_sizes[0]
            ab = fast_ablation(fast, plain, xs, B, args)
            part += ["", f"## Where the fast evaluation's speed comes from ({device}, batch {B}; "
                     "evaluation forward, seconds, medians, alternating)", ""]
            part += md_header(["variant", "eval forward", "plain/this"])
            part += [md_row([name, fmt_s(t), f"{ab[plain.name] / t:.2f}x"]) for name, t in ab.items()]
            record[f"ablation_{device}"] = ab
        if args.throughput_batches:
            tp_variants = [fast, plain] if args.throughput_plain else [fast]
            tp = throughput(tp_variants, xs, ys, args.throughput_batches, args)
            part += ["", f"## Training throughput ({device}; windows/s)", ""]
            part += md_header(["batch", *(v.name for v in tp_variants)])
            part += [md_row([B, *(f"{row[v.name]:.2f}" for v in tp_variants)])
                     for B, row in tp.items()]
            record[f"throughput_{device}"] = tp
        print("\n".join(part), flush=True)
        lines += part
        record[f"results_{device}"] = results
        record[f"exactness_{device}"] = {k: v for k, v in check.items() if k != "same_grad_names"}
        if args.floor:
            table = model.word_embeddings.detach()
            del suite, fast, plain, model
            floor = mapping_floor(table, args.num_tokens, args.repeats, args.learning_rate)
            part = ["", f"## Mapping layer alone ({device}; vocab {table.shape[0]:,} x "
                    f"{args.num_tokens} on the {table.shape[1]}-wide table; seconds, medians)", ""]
            part += md_header(["implementation", "forward GEMM", "weight-gradient GEMM",
                               "Adam update", "total", "GFLOP/s fwd / grad"])
            for name, row in floor.items():
                part.append(md_row([name, f"{row['forward']:.3f}", f"{row['weight gradient']:.3f}",
                                    f"{row['Adam update']:.3f}", f"**{row['total']:.3f}**",
                                    f"{row['forward GFLOP/s']:.0f} / "
                                    f"{row['weight-gradient GFLOP/s']:.0f}"]))
            part += ["", "The first row is the floor of an exact training step: the prototypes "
                     "depend on every weight, so both GEMMs and the update of all "
                     f"{table.shape[0] * args.num_tokens:,} weights are needed every step."]
            print("\n".join(part), flush=True)
            lines += part
            record[f"floor_{device}"] = floor
    lines.append(f"\nCPU pressure at end: `{cpu_pressure()}`")
    print(lines[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
