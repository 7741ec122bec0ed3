#!/usr/bin/env bash
# One command that proves the CUDA path on a lent GPU machine, within about 8 minutes (issue 17):
#
#   bash bench/gpu_check.sh                 # logs and results under a new folder in $TMPDIR
#   GPU_CHECK_OUT=DIR bash bench/gpu_check.sh
#
# With CUDA:   1. the tests marked `gpu` (tests/test_gpu.py: fast = plain in fp32 on the GPU,
#                 fused attention kernels, bf16 steps, prompt cache and syncs per step, resume with
#                 the CUDA generators, DeepSpeed ZeRO-2 in 1 process and in 2 when 2 GPUs exist)
#                 and the device-independent decisions (tests/test_gpu_ready.py);
#              2. the bench's GPU section: python -m bench.bench_gpu (SmolLM2 x 30 layers, batch 24,
#                 bf16, L=512: training step, evaluation forward, peak memory, syncs, fast vs plain);
#              3. a short Time-LLM ETTh1-96 run end to end (run_main.py, SmolLM2 x 30, bf16,
#                 5% of the training split, one epoch, every test window).
# Without CUDA it says so and runs the CPU stand-ins: the same decision tests, single-process
# DeepSpeed on the CPU, the bench section small (SmolLM2 x 1, batch 4, L=96, fp32) and a small
# Time-LLM ETTh1-96 run; it then exits 0.
# Either way it ends with one summary table (part, status, seconds, figures). Exit status: 0 when
# every part passed (always 0 without CUDA), 1 otherwise. Nothing outside the output folder is written.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${GPU_CHECK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.tsv"
: > "$SUMMARY"
CUDA=$($PY -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
FAILED=0

# part NAME TIMEOUT_S FIGURES_COMMAND -- COMMAND...: run, time, log, record one summary row
part() {
  local name=$1 limit=$2 figures=$3; shift 4
  local log="$OUT/${name// /_}.log" t0=$SECONDS status
  echo "== $name (limit ${limit}s; log $log)"
  if timeout "$limit" "$@" > "$log" 2>&1; then status=ok; else status="FAILED (exit $?)"; FAILED=1; fi
  local fig
  fig=$(eval "$figures" 2>/dev/null | tr '\n' ' ')
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" "${fig:-see log}" >> "$SUMMARY"
  tail -n 3 "$log"
}

pytest_line() { grep -E "passed|failed|error" "$1" | tail -n 1; }

bench_figures() {  # $1: bench_gpu's JSON
  $PY - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); f, p = d["paths"]["fast"], d["paths"]["plain"]
peak = lambda r: "-" if r["peak_train_mib"] is None else f"{r['peak_train_mib']:.0f} MiB"
print(f"{d['llm_model']} x{d['llm_layers']} b{d['batch_size']} {d['precision']}: train fast "
      f"{f['train_step_s']:.3f}s / plain {p['train_step_s']:.3f}s, eval fast {f['eval_forward_s']:.3f}s"
      f" / plain {p['eval_forward_s']:.3f}s, peak {peak(f)} / {peak(p)}, syncs/step "
      f"{f['host_syncs_per_step']} / {p['host_syncs_per_step']}, loss diff "
      f"{abs(d['loss_fast'] - d['loss_plain']):.1e}")
EOF
}

run_figures() {  # $1: results folder of a run_main.py run
  $PY - "$1" <<'EOF'
import json, pathlib, sys
m = json.loads(next(pathlib.Path(sys.argv[1]).glob("*/metrics.json")).read_text())
d, a = m["distributed"], m["args"]
extra = "".join(f" {k} {d[k]}" for k in ("zero_stage", "dp_world_size", "gradient_clipping") if k in d)
print(f"MSE {m['metrics']['mse']:.4f} MAE {m['metrics']['mae']:.4f} on {m['metrics']['n_samples']} "
      f"windows; {d['type']} on {d['device']}, precision {d['mixed_precision']}, backbone "
      f"{a.get('dtype')}{extra}")
EOF
}

ETTH1=(--task_name long_term_forecast --data ETTh1 --root_path ./dataset/ETT-small/
       --data_path ETTh1.csv --num_workers 0 --des gpucheck)

if [ "$CUDA" = 1 ]; then
  $PY -c "import torch; print('CUDA:', torch.cuda.device_count(), 'x', torch.cuda.get_device_name(), '| torch', torch.__version__)"
  part "gpu tests" 200 'pytest_line "$OUT/gpu_tests.log"' -- \
    $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_gpu_ready.py
  part "bench gpu" 150 'bench_figures "$OUT/bench_gpu.json"' -- \
    $PY -m bench.bench_gpu --device cuda --json "$OUT/bench_gpu.json"
  part "timellm etth1-96" 130 'run_figures "$OUT/timellm/results"' -- \
    $PY run_main.py "${ETTH1[@]}" --model TimeLLM --model_id gpucheck --features M --seq_len 512 \
      --label_len 48 --pred_len 96 --d_model 32 --d_ff 128 --llm_model SmolLM2 --llm_layers 30 \
      --batch_size 24 --eval_batch_size 256 --learning_rate 0.01 --train_epochs 1 --percent 5 \
      --test_every_epoch 0 --mixed_precision bf16 \
      --checkpoints "$OUT/timellm/ckpt" --results_dir "$OUT/timellm/results"
else
  echo "no CUDA device here: running the CPU stand-ins (the GPU parts need a CUDA machine)"
  part "decision tests (cpu)" 400 'pytest_line "$OUT/decision_tests_(cpu).log"' -- \
    $PY -m pytest -q -p no:cacheprovider tests/test_gpu_ready.py tests/test_gpu.py
  part "deepspeed 1 process (cpu)" 400 'run_figures "$OUT/deepspeed/results"' -- \
    env -u RANK -u WORLD_SIZE -u LOCAL_RANK -u MASTER_ADDR -u MASTER_PORT \
    $PY run_main.py "${ETTH1[@]}" --model DLinear --model_id gpucheck --features M --seq_len 96 \
      --label_len 48 --pred_len 24 --batch_size 64 --eval_batch_size 256 --learning_rate 0.005 \
      --train_epochs 1 --percent 5 --use_deepspeed 1 --max_grad_norm 0.5 \
      --checkpoints "$OUT/deepspeed/ckpt" --results_dir "$OUT/deepspeed/results"
  part "bench (cpu stand-in)" 600 'bench_figures "$OUT/bench_cpu.json"' -- \
    $PY -m bench.bench_gpu --device cpu --steps 2 --warmup 1 --eval_batches 2 \
      --json "$OUT/bench_cpu.json"
  part "timellm etth1-96 (cpu)" 900 'run_figures "$OUT/timellm/results"' -- \
    $PY run_main.py "${ETTH1[@]}" --model TimeLLM --model_id gpucheck --features S --seq_len 96 \
      --label_len 48 --pred_len 96 --d_model 16 --d_ff 32 --llm_model SmolLM2 --llm_layers 1 \
      --num_tokens 100 --batch_size 24 --eval_batch_size 256 --learning_rate 0.01 \
      --train_epochs 1 --percent 5 --test_every_epoch 0 \
      --checkpoints "$OUT/timellm/ckpt" --results_dir "$OUT/timellm/results"
fi

echo
echo "## gpu_check summary ($([ "$CUDA" = 1 ] && echo CUDA || echo 'no CUDA: CPU stand-ins'); $OUT)"
echo
echo "| part | status | seconds | figures |"
echo "|---|---|---|---|"
while IFS=$'\t' read -r name status secs fig; do
  echo "| $name | $status | $secs | $fig |"
done < "$SUMMARY"
if [ "$CUDA" = 1 ]; then exit $FAILED; fi
exit 0
