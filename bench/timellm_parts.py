"""The Time-LLM pieces the benchmark commands share: the paper's recipe flags, the model built
as ``run_main.py`` builds it, real ETTh1 windows, and :class:`Variant` (one model and its
optimiser) with what is measured of one: the first step's agreement with another variant, the
breakdown of a training step by section, and a training step's peak memory.

A fast and a plain variant are built from the same seed, so they hold the same weights; every
step is seeded, so they draw the same dropout masks.
"""
from __future__ import annotations

import argparse
import bisect
import gc
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile, record_function

from bench.harness import REPO, add_plain_flags, timed
from data_provider.data_factory import build_dataset
from layers.fast.mapping import MappingLayer
from models.TimeLLM import Model
from run_main import build_parser
from utils.optim import build_optimizer

# ----------------------------------------------------------------------------- setup
def add_recipe_args(p: argparse.ArgumentParser, learning_rate: float) -> None:
    """The model flags every Time-LLM benchmark shares (the paper's ETTh1 recipe at L=512)."""
    add_plain_flags(p, seq_len=512, pred_len=96, d_model=32, d_ff=128, n_heads=8, num_tokens=1000,
                    dropout=0.1, learning_rate=learning_rate)


def model_configs(args, fast: bool, **extra) -> argparse.Namespace:
    """The run's flags as ``run_main.py`` parses them (ETTh1, channel-independent Time-LLM)."""
    argv = ["--model", "TimeLLM", "--data", "ETTh1", "--root_path", str(REPO / "dataset" / "ETT-small"),
            "--data_path", "ETTh1.csv", "--features", "M", "--seq_len", str(args.seq_len),
            "--label_len", "48", "--pred_len", str(args.pred_len), "--enc_in", "1",
            "--d_model", str(args.d_model), "--d_ff", str(args.d_ff), "--n_heads", str(args.n_heads),
            "--llm_model", args.llm_model, "--llm_layers", str(args.llm_layers),
            "--num_tokens", str(args.num_tokens), "--dropout", str(args.dropout),
            "--learning_rate", str(args.learning_rate), "--fast_path", str(int(fast)),
            "--seed", str(args.seed)]
    configs = build_parser().parse_args(argv)
    configs.channel_independence = 1
    for key, value in extra.items():
        setattr(configs, key, value)
    return configs


def load_windows(args, n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random (seeded) windows of the ETTh1 train split: x (n, T, 1), y (n, H, 1)."""
    dataset = build_dataset(model_configs(args, True), "train")
    g = torch.Generator().manual_seed(args.seed)
    index = torch.randperm(len(dataset), generator=g)[:n].tolist()
    xs, ys = [], []
    for i in index:
        seq_x, seq_y, _, _ = dataset[i]
        xs.append(torch.from_numpy(seq_x))
        ys.append(torch.from_numpy(seq_y[-args.pred_len:]))
    return torch.stack(xs), torch.stack(ys)


class Variant:
    """One model + its optimiser (built by the trainer's own ``build_optimizer``)."""

    def __init__(self, name: str, args, fast: bool, device: str, autocast: str | None = None,
                 **extra):
        self.name, self.fast, self.device, self.autocast = name, fast, device, autocast
        configs = model_configs(args, fast, **extra)
        torch.manual_seed(args.seed)
        self.model = Model(configs).to(device)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(self.params, configs)
        self.exact = autocast is None and not extra.get("mapping_vocab")

    def context(self):
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(self.device, dtype=getattr(torch, self.autocast))

    def sync(self) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def train_step(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
        """One training step (forward, MSE, backward, optimiser step); returns the loss."""
        return self.step(x, y, seed).item()

    def step(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.Tensor:
        """:meth:`train_step` without reading the loss to the host (the trainer reads one in ten)."""
        model = self.model
        model.train()
        torch.manual_seed(seed)  # same dropout masks for every variant
        self.optimizer.zero_grad(set_to_none=True)
        with self.context():
            out = model(x, None, None, None)
        loss = torch.nn.functional.mse_loss(out.float(), y)
        with record_function("bench.backward"):
            loss.backward()
        with record_function("timellm.optimizer"):
            self.optimizer.step()
        return loss

    def eval_pass(self, batches: list[torch.Tensor]) -> tuple[list[float], list[torch.Tensor]]:
        """One evaluation pass as the trainer runs it (caches start empty): per-batch seconds."""
        model = self.model
        model.train()  # a new pass after training: what the trainer does every epoch
        model.eval()
        times, outs = [], []
        with torch.no_grad(), self.context():
            for x in batches:
                wall, _, out = timed(lambda x=x: model(x, None, None, None), self.sync)
                times.append(wall)
                outs.append(out.float())
        return times, outs


def window_indices(start: int, B: int, n: int) -> list[int]:
    """B consecutive indices from ``start``, wrapping around the ``n`` loaded windows."""
    return [(start + j) % n for j in range(B)]


# ----------------------------------------------------------------------------- memory
def _tensor_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        if t is None or not isinstance(t, torch.Tensor):
            continue
        key = (t.untyped_storage().data_ptr(), t.device)
        if key in seen:
            continue
        seen.add(key)
        total += t.untyped_storage().nbytes()
    return total


def static_memory(v: Variant) -> dict[str, int]:
    model, opt = v.model, v.optimizer
    params = _tensor_bytes(list(model.parameters()) + list(model.buffers()))
    grads = sum(p.numel() * p.element_size() for p in v.params)
    state = _tensor_bytes(t for s in opt.state.values() for t in s.values())
    caches = []
    kv_cache = getattr(model, "_kv_cache", None)  # the fast path's prompt KV cache
    for entry in getattr(kv_cache, "_prefixes", {}).values():
        caches += [t for kv in entry[1] for t in kv]
    mapping = getattr(model, "mapping_layer", None)
    if getattr(mapping, "_table_cache", None):
        caches.append(mapping._table_cache[1])
    if getattr(mapping, "_grad_buffer", None) is not None:  # the reused weight-gradient memory
        caches.append(mapping._grad_buffer)
    live = [p.grad for p in v.params]
    live_grads = _tensor_bytes(live)
    runner = getattr(kv_cache, "_runner", None)
    packs = getattr(runner, "packs", None)  # oneDNN's packed copies of the backbone's weights
    return {"params": params, "grads": grads, "optimizer_state": state,
            "caches": _tensor_bytes(caches + live) - live_grads + (packs.nbytes if packs else 0),
            "live_grads": live_grads}


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def step_memory(v: Variant, x, y, seed: int) -> dict:
    """Peak memory of one training step: live tensor bytes (profiler allocation events) on top
    of what is allocated before the step, and the process's peak RSS during the step."""
    v.optimizer.zero_grad(set_to_none=True)  # the trainer's first act; and frees of blocks allocated
    v.model.train()                          # before profiling would go unrecorded
    gc.collect()
    before = static_memory(v)
    base = before["params"] + before["optimizer_state"] + before["caches"] + before["live_grads"]
    if v.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        v.train_step(x, y, seed)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - start + base
        rss = None
    else:
        reset = _reset_peak_rss()
        rss0 = _rss_kib("VmRSS")
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            v.train_step(x, y, seed)
        kineto = list(prof.profiler.kineto_results.events())
        events = [e for e in kineto if e.name() == "[memory]" and e.device_type() == DeviceType.CPU]
        events.sort(key=lambda e: e.start_ns())
        backward_at = min((e.start_ns() for e in kineto if e.name() == "bench.backward"),
                          default=None)
        level, top, saved = 0, 0, None
        for e in events:
            if saved is None and backward_at is not None and e.start_ns() >= backward_at:
                saved = level  # what the forward left alive for the backward (+ outputs)
            level += e.nbytes()
            top = max(top, level)
        peak = base + top
        hwm = _rss_kib("VmHWM") if reset else None
        rss = {"rss_before": rss0 * 1024 if rss0 else None, "peak_rss": hwm * 1024 if hwm else None}
    fixed = before["params"] + before["grads"] + before["optimizer_state"]
    saved_bytes = saved if v.device != "cuda" else None
    return {"peak": peak, **before, "activations": peak - fixed, "saved_for_backward": saved_bytes,
            "rss": rss}


# ----------------------------------------------------------------------------- breakdown
SECTIONS = [  # (row label, forward label, include backward)
    ("prompt statistics + text + tokenisation", "timellm.prompt", False),
    ("mapping layer forward", "timellm.mapping", False),
    ("mapping layer backward", "timellm.mapping", "only"),
    ("patch embedding (fwd+bwd)", "timellm.patch_embedding", True),
    ("reprogramming (fwd+bwd)", "timellm.reprogramming", True),
    ("LLM prompt part (no_grad KV cache)", "timellm.llm_prompt", False),
    ("LLM patch part (fwd+bwd); plain: whole [prompt;patches]", None, True),
    ("head (fwd+bwd)", "timellm.head", True),
    ("optimizer step", "timellm.optimizer", False),
]


def breakdown(v: Variant, x, y, seed: int) -> dict[str, float]:
    """Seconds per section of one profiled training step (profiler overhead included)."""
    v.sync()
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        v.train_step(x, y, seed)
    total = time.perf_counter() - t0
    events = list(prof.events())
    ops = sorted((e for e in events if e.sequence_nr >= 0
                  and not e.name.startswith("autograd::engine")), key=lambda e: e.time_range.start)
    starts = [e.time_range.start for e in ops]
    backward_by_seq = defaultdict(float)
    for e in events:
        if e.name.startswith("autograd::engine::evaluate_function:"):
            backward_by_seq[e.sequence_nr] += e.time_range.elapsed_us()

    forward, seqs, labelled = defaultdict(float), defaultdict(set), defaultdict(float)
    for e in events:
        if not e.name.startswith("timellm."):
            continue
        labelled[e.name] += e.time_range.elapsed_us()
        if e.name.endswith(".backward") or e.name == "timellm.optimizer":
            continue
        forward[e.name] += e.time_range.elapsed_us()
        lo = bisect.bisect_left(starts, e.time_range.start)
        hi = bisect.bisect_right(starts, e.time_range.end)
        seqs[e.name].update(op.sequence_nr for op in ops[lo:hi] if op.thread == e.thread)
    back = {name: sum(backward_by_seq.get(s, 0.0) for s in ss) for name, ss in seqs.items()}
    if not back.get("timellm.mapping"):  # a custom Function: its backward carries its own label
        back["timellm.mapping"] = labelled.get("timellm.mapping.backward", 0.0)
    out = {}
    for row, label, with_back in SECTIONS:
        if label is None:  # the LLM over the patches (fast) or the whole sequence (plain)
            label = "timellm.llm_patches" if "timellm.llm_patches" in forward else "timellm.llm"
        if label == "timellm.optimizer":
            value = labelled.get(label, 0.0)
        elif with_back == "only":
            value = back.get(label, 0.0)
        else:
            value = forward.get(label, 0.0) + (back.get(label, 0.0) if with_back else 0.0)
        out[row] = value / 1e6
    out["other (loss, norm, glue, profiler)"] = total - sum(out.values())
    out["total (profiled)"] = total
    return out


# ----------------------------------------------------------------------------- exactness
def reference_layout_grads(model) -> dict[str, torch.Tensor]:
    """Trainable gradients by name, in the reference's (state_dict) layout."""
    grads = {}
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or p.grad is None:
                continue
            g = p.grad
            if isinstance(module, MappingLayer) and name == "weight" and module.transposed:
                g = g.t()
            grads[f"{module_name}.{name}" if module_name else name] = g.detach().float().cpu()
    return grads


def compare_first_step(fast: Variant, plain: Variant, x, y, seed: int) -> dict:
    """Loss, output and gradients of fast vs plain from identical weights (no optimiser step)."""
    res = {}
    for v in (fast, plain):
        v.model.train()
        torch.manual_seed(seed)
        v.model.zero_grad(set_to_none=True)
        with v.context():
            out = v.model(x, None, None, None)
        loss = torch.nn.functional.mse_loss(out.float(), y)
        loss.backward()
        res[v.name] = (loss.item(), out.detach().float().cpu(), reference_layout_grads(v.model))
        v.model.zero_grad(set_to_none=True)
    lf, of, gf = res[fast.name]
    lp, op, gp = res[plain.name]
    scale = max(g.abs().max().item() for g in gp.values())
    rel, tiny = {}, {}
    for n in gp:
        err, size = (gf[n] - gp[n]).abs().max().item(), gp[n].abs().max().item()
        if size < 1e-6 * scale:  # a gradient that is zero in exact arithmetic (the key bias:
            tiny[n] = err        # softmax ignores a shift shared by all keys): absolute error
        else:
            rel[n] = err / size
    return {"loss_fast": lf, "loss_plain": lp, "loss_diff": abs(lf - lp),
            "output_max_abs_diff": (of - op).abs().max().item(),
            "grad_max_rel_diff": max(rel.values()), "grad_worst": max(rel, key=rel.get),
            "grad_zero_abs": tiny, "grad_scale": scale,
            "n_grads": len(rel) + len(tiny), "same_grad_names": set(gf) == set(gp)}
