"""The CUDA path on a real GPU (marked ``gpu``: skipped without CUDA; ``bench/gpu_check.sh`` runs
them): fast = plain forward and backward in fp32 (dropout masks included), the attention kernels
the lean LLaMA runner reaches, bf16 training steps with the backbone stored in bf16, the prompt
cache and the host syncs of a step, resume exactness with the CUDA generators and the loss
scaler, and DeepSpeed ZeRO-2 in one process (and two when two GPUs are present)."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from bench.host_reads import cuda_syncs
from exp.exp_main import restore_resume_extras, resume_extras
from exp.precision import set_tf32
from layers.fast import llama_lean
from tests.helpers.args import parser_args
from tests.helpers.fast_vs_plain import assert_training_agrees, fast_and_plain
from tests.helpers.runs import DLINEAR, TIMELLM_TINY, only_metrics, run_main
from tests.helpers.timellm import series_batch, tiny_configs
from utils.optim import build_optimizer

pytestmark = pytest.mark.gpu
CUDA = "cuda"


@pytest.fixture(autouse=True)
def ieee_fp32():
    set_tf32(False)
    yield


@pytest.mark.parametrize("name", ["LLAMA", "GPT2"])
def test_fast_equals_plain_on_cuda_fp32(tiny_dirs, name):
    """Training steps with dropout (the fused CUDA dropout kernel draws both paths' masks) and an
    optimiser step after each, then an evaluation pass: fast = plain to float rounding."""
    fast, plain = (m.to(CUDA) for m in fast_and_plain(tiny_dirs, name, dropout=0.1))
    opts = [build_optimizer([p for p in m.parameters() if p.requires_grad],
                            parser_args(fast_path=f, learning_rate=1e-3))
            for m, f in ((fast, 1), (plain, 0))]
    batches = [series_batch(B=3, seed=s).to(CUDA) for s in range(3)] + [series_batch(B=2, N=2, seed=5).to(CUDA)]
    assert_training_agrees(fast, plain, opts, batches)
    fast.eval(), plain.eval()
    with torch.no_grad():
        for x in batches:
            y1, y0 = fast(x, None, None, None), plain(x, None, None, None)
            assert torch.allclose(y1, y0, atol=1e-5, rtol=1e-5)


def test_dropout_masks_agree_on_cuda():
    from layers.fast.reprogramming import FastReprogrammingLayer
    torch.manual_seed(0)
    layer = FastReprogrammingLayer(8, 2, 16, 24, attention_dropout=0.3).to(CUDA).train()
    target, source = torch.randn(3, 5, 8, device=CUDA), torch.randn(7, 24, device=CUDA)
    torch.manual_seed(11)
    want = layer(target, source, source)
    maps, value = layer.fast_source(source, source)
    torch.manual_seed(11)
    assert torch.allclose(layer.attend_fast(target, maps, value), want, atol=1e-5, rtol=1e-5)


def _sdpa_ops(fn) -> set[str]:
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return {e.name for e in prof.events() if "attention" in e.name}


@pytest.mark.parametrize("dtype,kernel", [(torch.bfloat16, "flash"), (torch.float32, "efficient")])
@pytest.mark.parametrize("L,S", [(64, 64), (64, 200), (1, 130)])
def test_lean_attention_reaches_a_fused_kernel(tiny_dirs, dtype, kernel, L, S):
    """SmolLM2's attention shape (9 query heads, 3 key/value heads, head_dim 64) with and without
    a cached prefix: Flash (bf16) or the memory-efficient kernel (fp32), never the math kernel,
    (cuDNN's where SDPA prefers it), and the same numbers as the boolean-mask call."""
    from transformers import LlamaModel
    lean = llama_lean.LeanLlama(LlamaModel.from_pretrained(tiny_dirs["LLAMA"]).to(CUDA))
    g = torch.Generator(device=CUDA).manual_seed(L + S)
    q = torch.randn(4, L, 9, 64, device=CUDA, dtype=dtype, generator=g)
    k = torch.randn(4, 3, S, 64, device=CUDA, dtype=dtype, generator=g)
    v = torch.randn(4, 3, S, 64, device=CUDA, dtype=dtype, generator=g)
    ops = _sdpa_ops(lambda: lean._attend(q, k, v))
    assert not any("math" in op for op in ops), ops
    assert any(kernel in op or "cudnn" in op for op in ops), ops  # a fused kernel ran
    want = lean._attend(q, k, v, llama_lean.AttentionPlan(boolean_mask=True, repeat_kv=True))
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    assert torch.allclose(lean._attend(q, k, v).float(), want.float(), atol=tol, rtol=tol)


def test_bf16_training_steps(tiny_dirs):
    """The backbone stored in bf16 (what --dtype auto gives a bf16 run) under bf16 autocast:
    finite losses, the trainable layers stay fp32 and move, the frozen weights do not."""
    from models.TimeLLM import Model
    torch.manual_seed(0)
    model = Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"], dtype="bfloat16", dropout=0.1)).to(CUDA)
    assert model.llm_model.get_input_embeddings().weight.dtype == torch.bfloat16
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all(p.dtype == torch.float32 for p in trainable)
    frozen = model.llm_model.layers[0].mlp.up_proj.weight.clone()
    before = [p.detach().clone() for p in trainable]
    opt = build_optimizer(trainable, parser_args(learning_rate=1e-3))
    losses = []
    for s in range(4):
        with torch.autocast(CUDA, dtype=torch.bfloat16):
            y = model(series_batch(B=4, seed=s).to(CUDA), None, None, None)
        loss = y.float().square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.detach())
    assert torch.isfinite(torch.stack(losses)).all()
    assert all(not torch.equal(a, p) for a, p in zip(before, trainable))
    assert torch.equal(frozen, model.llm_model.layers[0].mlp.up_proj.weight)


def test_prompt_cache_on_cuda_is_exact_and_syncs_once_per_step(tiny_dirs):
    from models.TimeLLM import Model
    torch.manual_seed(0)
    model = Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"])).to(CUDA)
    x = series_batch(B=3, seed=1).to(CUDA)
    model.eval()
    with torch.no_grad():
        cached = model(x, None, None, None)
        model.prompt_cache = False
        plain = model(x, None, None, None)
        model.prompt_cache = True
    assert torch.allclose(cached, plain, atol=1e-5, rtol=1e-5)
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    for s in range(2):  # warm: shared prefix, token projections, pinned buffers
        model(series_batch(B=3, seed=s).to(CUDA), None, None, None).mean().backward()
    batches = [series_batch(B=3, seed=s).to(CUDA) for s in range(2, 5)]
    torch.cuda.synchronize()
    with cuda_syncs() as seen:
        for x in batches:
            model(x, None, None, None).square().mean().backward()
            opt.step()
            opt.zero_grad()
    assert len(seen) <= len(batches), seen  # the prompt statistics' one transfer per step
    assert model._kv_cache.stats["hits"] >= 3


def test_resume_restores_the_cuda_generators_and_the_scaler():
    scaler = torch.amp.GradScaler(CUDA, init_scale=256.0)
    scaler._lazy_init_scale_growth_tracker(torch.device(CUDA))
    acc = types.SimpleNamespace(scaler=scaler)
    torch.manual_seed(3)
    torch.rand(5, device=CUDA)
    state = resume_extras(acc)
    want = torch.nn.functional.dropout(torch.ones(1000, device=CUDA), 0.5)
    torch.rand(50, device=CUDA)  # the interrupted run drew more
    fresh = torch.amp.GradScaler(CUDA, init_scale=1.0)
    restore_resume_extras(types.SimpleNamespace(scaler=fresh), state)
    assert torch.equal(torch.nn.functional.dropout(torch.ones(1000, device=CUDA), 0.5), want)
    assert fresh.get_scale() == 256.0
    assert len(state["rng"]["cuda"]) == torch.cuda.device_count()


@pytest.mark.parametrize("processes", [1, 2])
def test_deepspeed_zero2_on_cuda(tmp_path, data_root, processes):
    if processes > torch.cuda.device_count():
        pytest.skip(f"{processes} processes need {processes} GPUs")
    launcher = None
    if processes > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                    str(processes), "--master_port", "29541"]
    args = [*DLINEAR, "--model_id", f"ds{processes}", "--use_deepspeed", "1", "--max_grad_norm",
            "1.0", "--train_epochs", "1", "--mixed_precision", "bf16"]
    run_main(args, tmp_path, launcher=launcher)
    m = only_metrics(tmp_path)
    d = m["distributed"]
    assert d["type"] == "DEEPSPEED" and d["zero_stage"] == 2 and d["dp_world_size"] == processes
    assert d["gradient_clipping"] == 1.0 and d["device"].startswith("cuda")
    assert m["metrics"]["n_samples"] == 2857 and np.isfinite(m["metrics"]["mse"])


def test_bf16_timellm_run_stores_the_backbone_in_bf16(tmp_path, tiny_dirs, data_root):
    args = [*TIMELLM_TINY, "--llm_path", tiny_dirs["LLAMA"], "--mixed_precision", "bf16",
            "--train_epochs", "1", "--model_id", "gpu_bf16"]
    run_main(args, tmp_path)
    m = only_metrics(tmp_path)
    assert m["args"]["dtype"] == "bfloat16" and m["distributed"]["device"].startswith("cuda")
    assert np.isfinite(m["metrics"]["mse"])
