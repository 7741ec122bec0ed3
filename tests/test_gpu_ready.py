"""The CUDA path's decisions, checked on a CPU (issue 17): one-process DeepSpeed, clipping under
DeepSpeed, the backbone's dtype under mixed precision, TF32, resume state with CUDA generators
and the loss scaler, losses read every few steps, no host reads of device tensors in a fast-path
step beyond the prompt's statistics, the GPU attention plans, and dropout masks on every device.
The same checks on a real GPU are in ``tests/test_gpu.py`` (marked ``gpu``)."""
from __future__ import annotations

import json
import sys
import types
import warnings

import numpy as np
import pytest
import torch

import exp.distributed as distributed
import utils.tools
from bench.host_reads import count_host_reads
from exp.exp_main import StepLosses, restore_resume_extras, resume_extras
from exp.precision import backbone_dtype, set_tf32
from layers.fast import llama_lean
from tests.helpers.args import parser_args
from tests.helpers.project import ROOT
from tests.helpers.runs import DLINEAR, only_metrics, run_main
from tests.helpers.timellm import series_batch, tiny_configs

pytestmark = pytest.mark.usefixtures("one_thread")

RENDEZVOUS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


# ---- 1. DeepSpeed in one process ---------------------------------------------------------------

def test_one_process_rendezvous_fills_only_what_is_absent():
    assert distributed.single_process_rendezvous({}, port=lambda: 29999) == {
        "RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29999"}
    partial = distributed.single_process_rendezvous({"MASTER_PORT": "1234", "RANK": "0"},
                                                    port=lambda: 1 / 0)  # port not asked for
    assert partial == {"WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1"}
    # under torchrun / accelerate launch every process has its own: nothing is added
    assert distributed.single_process_rendezvous({"LOCAL_RANK": "1", "RANK": "1"}) == {}
    port = distributed.free_port()
    assert 0 < port < 65536


def test_deepspeed_config_carries_max_grad_norm(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    assert distributed.deepspeed_config(str(path), 0.5)["gradient_clipping"] == 0.5
    assert distributed.deepspeed_config(str(path), 0.0)["gradient_clipping"] == 0.0
    path.write_text(json.dumps({"zero_optimization": {"stage": 2}, "gradient_clipping": 2.0}))
    assert distributed.deepspeed_config(str(path), 0.0)["gradient_clipping"] == 2.0  # the file's
    assert distributed.deepspeed_config(str(path), 0.25)["gradient_clipping"] == 0.25  # the flag's
    path.write_text(json.dumps({"zero_optimization": {"stage": 2}, "gradient_clipping": "auto"}))
    assert distributed.deepspeed_config(str(path), 0.0)["gradient_clipping"] == 0.0  # not 1.0
    shipped = distributed.deepspeed_config(str(ROOT / "ds_config_zero2.json"), 1.0)
    assert shipped["gradient_clipping"] == 1.0 and shipped["zero_optimization"]["stage"] == 2


@pytest.mark.slow
def test_deepspeed_in_one_process_trains_tests_and_clips(tmp_path, data_root):
    """``python run_main.py --use_deepspeed 1`` without a launcher (before: DeepSpeed fell back
    to MPI discovery, ``import mpi4py``, traceback): ZeRO-2 over one process on the CPU, the
    engine's config clipping at --max_grad_norm."""
    args = [*DLINEAR, "--model_id", "ds1", "--use_deepspeed", "1", "--max_grad_norm", "0.5",
            "--train_epochs", "1"]
    no_rendezvous = ["env", *[f"-u{k}" for k in RENDEZVOUS], sys.executable]
    proc = run_main(args, tmp_path, launcher=no_rendezvous)
    assert "mpi4py" not in proc.stderr
    m = only_metrics(tmp_path)
    assert m["distributed"]["type"] == "DEEPSPEED" and m["num_processes"] == 1
    assert m["distributed"]["zero_stage"] == 2 and m["distributed"]["dp_world_size"] == 1
    assert m["distributed"]["gradient_clipping"] == 0.5
    assert m["metrics"]["n_samples"] == 2857 and np.isfinite(m["metrics"]["mse"])
    assert m["metrics"]["mse"] < 1.0


# ---- 3. the frozen backbone's dtype ------------------------------------------------------------

@pytest.mark.parametrize("flag,mixed,want", [
    ("auto", "bf16", "bfloat16"), ("auto", "fp16", "float16"), ("auto", "no", "float32"),
    ("auto", None, "float32"), (None, "bf16", "bfloat16"),
    ("float32", "bf16", "float32"), ("bfloat16", "no", "bfloat16"), ("float16", "bf16", "float16"),
])
def test_backbone_dtype_follows_mixed_precision_unless_told(flag, mixed, want):
    assert backbone_dtype(flag, mixed) == want


def test_parser_default_dtype_is_auto_and_a_direct_model_is_fp32(tiny_dirs):
    from models.TimeLLM import Model
    assert parser_args().dtype == "auto" and parser_args().tf32 == 0
    model = Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"]))
    assert model.llm_model.get_input_embeddings().weight.dtype == torch.float32


def test_run_resolves_dtype_auto_from_the_accelerator(monkeypatch, tmp_path, data_root):
    """run() builds the model with --dtype auto resolved from the Accelerator's precision: bf16
    under --mixed_precision bf16, fp32 without; an explicit --dtype is kept."""
    import exp.exp_main as exp_main
    from run_main import build_parser
    seen = []

    class Stop(Exception):
        pass

    def fake_trainer(cfg, *a, **k):
        seen.append(cfg.dtype)
        raise Stop

    monkeypatch.setattr(exp_main, "Trainer", fake_trainer)
    base = [*DLINEAR, "--checkpoints", str(tmp_path / "c"), "--results_dir", str(tmp_path / "r")]
    for extra in (["--mixed_precision", "bf16"], [], ["--mixed_precision", "bf16", "--dtype", "float32"]):
        from accelerate.state import AcceleratorState
        AcceleratorState._reset_state(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bf16 on a CPU without native bf16 warns
            with pytest.raises(Stop):
                exp_main.run(build_parser().parse_args(base + extra))
    assert seen == ["bfloat16", "float32", "float32"]


# ---- 9. TF32 -----------------------------------------------------------------------------------

def _fake_backends(new_api: bool):
    ns = types.SimpleNamespace
    if new_api:
        return ns(cuda=ns(matmul=ns(fp32_precision="none")), cudnn=ns(conv=ns(fp32_precision="none")))
    return ns(cuda=ns(matmul=ns(allow_tf32=False)), cudnn=ns(allow_tf32=True))


@pytest.mark.parametrize("new_api", [True, False])
def test_tf32_switch_uses_the_api_torch_has(new_api):
    fake = _fake_backends(new_api)
    set_tf32(True, fake)
    if new_api:
        assert (fake.cuda.matmul.fp32_precision, fake.cudnn.conv.fp32_precision) == ("tf32", "tf32")
        assert not hasattr(fake.cuda.matmul, "allow_tf32")  # never both APIs
    else:
        assert fake.cuda.matmul.allow_tf32 is True and fake.cudnn.allow_tf32 is True
    set_tf32(False, fake)
    if new_api:
        assert (fake.cuda.matmul.fp32_precision, fake.cudnn.conv.fp32_precision) == ("ieee", "ieee")
    else:
        assert fake.cuda.matmul.allow_tf32 is False and fake.cudnn.allow_tf32 is False


@pytest.mark.skipif(not hasattr(torch.backends.cuda.matmul, "fp32_precision"),
                    reason="torch < 2.9: the allow_tf32 API (the fake-backends test covers it)")
def test_tf32_switch_on_the_installed_torch():
    before = torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision
    try:
        written = set_tf32(True)
        assert set(written.values()) == {"tf32"}
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        set_tf32(False)
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    finally:
        torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = before


# ---- 6. resume state: CUDA generators and the loss scaler --------------------------------------

def test_resume_state_holds_cuda_generators_and_scaler(monkeypatch):
    """With CUDA mocked: the saved state holds every device's generator, and restoring puts each
    back on its device; the fp16 GradScaler's scale and growth tracker survive."""
    cuda = utils.tools.torch.cuda
    gens = [torch.tensor([1, 2, 3], dtype=torch.uint8), torch.tensor([4, 5, 6], dtype=torch.uint8)]
    restored = {}
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda, "device_count", lambda: 2)
    monkeypatch.setattr(cuda, "get_rng_state_all", lambda: [g.clone() for g in gens])
    monkeypatch.setattr(cuda, "set_rng_state", lambda s, i: restored.__setitem__(i, s.clone()))
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    scaler._lazy_init_scale_growth_tracker(torch.device("cpu"))
    scaler.update(512.0)
    acc = types.SimpleNamespace(scaler=scaler)
    state = resume_extras(acc)
    want = torch.rand(3)  # what the run draws next after the save
    assert [torch.equal(a, b) for a, b in zip(state["rng"]["cuda"], gens)] == [True, True]
    assert state["scaler"]["scale"] == 512.0

    fresh = torch.amp.GradScaler("cpu", init_scale=2.0)
    restore_resume_extras(types.SimpleNamespace(scaler=fresh), state)
    assert fresh.get_scale() == 512.0
    assert set(restored) == {0, 1} and torch.equal(restored[1], gens[1])
    assert torch.equal(torch.rand(3), want)

    monkeypatch.setattr(cuda, "device_count", lambda: 1)  # resumed on fewer GPUs
    restored.clear()
    restore_resume_extras(types.SimpleNamespace(scaler=None), state)
    assert set(restored) == {0}


def test_resume_state_without_cuda_or_scaler(monkeypatch):
    monkeypatch.setattr(utils.tools.torch.cuda, "is_available", lambda: False)
    state = resume_extras(types.SimpleNamespace(scaler=None))
    assert "cuda" not in state["rng"] and state["scaler"] is None
    torch.manual_seed(5)
    saved = resume_extras(types.SimpleNamespace(scaler=None))
    a = torch.rand(4)
    restore_resume_extras(types.SimpleNamespace(scaler=None), saved)
    assert torch.equal(torch.rand(4), a)  # the CPU generator is put back


# ---- 8. host reads per training step -----------------------------------------------------------

def test_step_losses_read_once_per_window():
    losses = StepLosses(every=10)
    rows = []
    with count_host_reads() as counts:
        for i in range(25):
            if losses.add(i, torch.tensor(float(i)), 0.1 * i):
                rows += losses.read()
        rows += losses.read()
        assert losses.read() == []
    assert [r[0] for r in rows] == list(range(25)) and [r[1] for r in rows] == list(map(float, range(25)))
    assert rows[7][2] == pytest.approx(0.7)
    assert sum(counts.values()) == 3  # steps 10, 20 and the epoch's end: one transfer each


def test_fast_training_step_reads_the_device_once(tiny_dirs):
    """A Time-LLM training step on the fast path (prompt cache, lean LLaMA runner, cached prefix)
    reads tensor values to the host once: the prompt statistics, in one transfer. (The plain
    path, the reference's computation, reads per statistic and per series.)"""
    from models.TimeLLM import Model
    torch.manual_seed(0)
    model = Model(tiny_configs("LLAMA", tiny_dirs["LLAMA"], dropout=0.1))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    for seed in range(2):  # warm: the shared prefix and the token projections are in place
        model(series_batch(B=3, seed=seed), None, None, None).mean().backward()
    with count_host_reads() as counts:
        for seed in range(2, 5):
            loss = model(series_batch(B=3, seed=seed), None, None, None).square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
    assert sum(counts.values()) == 3, counts  # one per step
    assert all("layers/fast/prompt.py" in site for site in counts), counts
    assert model._kv_cache.stats["hits"] >= 3


# ---- 4. attention on a GPU: no mask tensor, Flash or memory-efficient kernels ------------------

def test_attention_plans():
    cpu = llama_lean.attention_plan("cpu", torch.float32)
    assert cpu.boolean_mask and not cpu.repeat_kv
    for dtype in (torch.bfloat16, torch.float16):
        plan = llama_lean.attention_plan("cuda", dtype)
        assert not plan.boolean_mask and not plan.repeat_kv  # Flash with enable_gqa
    fp32 = llama_lean.attention_plan("cuda", torch.float32)
    assert not fp32.boolean_mask and fp32.repeat_kv  # memory-efficient kernel, no enable_gqa


@pytest.mark.parametrize("L,S", [(6, 6), (4, 11), (1, 9)])
def test_gpu_attention_plans_give_the_cpu_numbers(tiny_dirs, L, S):
    """Every plan computes the same attention (the GPU plans run here through SDPA's CPU
    kernels): is_causal / lower-right causal bias equal the boolean mask, repeated keys/values
    equal enable_gqa."""
    from transformers import LlamaModel
    lean = llama_lean.LeanLlama(LlamaModel.from_pretrained(tiny_dirs["LLAMA"]))
    g = torch.Generator().manual_seed(L * 31 + S)
    H, kv_heads, hd = 4, 2, 8
    q = torch.randn(2, L, H, hd, generator=g)
    k = torch.randn(2, kv_heads, S, hd, generator=g)
    v = torch.randn(2, kv_heads, S, hd, generator=g)
    want = lean._attend(q, k, v, llama_lean.AttentionPlan(boolean_mask=True, repeat_kv=False))
    for dtype in (torch.float32, torch.bfloat16):
        plan = llama_lean.attention_plan("cuda", dtype)
        got = lean._attend(q, k, v, plan)
        assert torch.allclose(got, want, atol=1e-6, rtol=1e-5), (dtype, (got - want).abs().max())


# ---- 5. dropout masks: fast = plain on every device ---------------------------------------------

def test_fast_reprogramming_dropout_is_the_reference_masks():
    """The fast layer's attention dropout draws the mask nn.Dropout draws on the reference's
    (B, H, L, S) scores, with the same generator calls (here: the CPU's bernoulli_)."""
    from layers.fast.reprogramming import FastReprogrammingLayer
    torch.manual_seed(0)
    layer = FastReprogrammingLayer(8, 2, 16, 24, attention_dropout=0.3)
    layer.train()
    target, source = torch.randn(3, 5, 8), torch.randn(7, 24)
    torch.manual_seed(11)
    want = layer(target, source, source)
    maps, value = layer.fast_source(source, source)
    torch.manual_seed(11)
    got = layer.attend_fast(target, maps, value)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)
    torch.manual_seed(12)  # another seed, other masks: the check can fail
    assert not torch.allclose(layer.attend_fast(target, maps, value), want, atol=1e-3)
