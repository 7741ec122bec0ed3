#!/usr/bin/env bash
# The runs behind docs/results/runs.csv, table fewshot10: ETTh1, 10% few-shot (paper Table 3),
# on a CPU with the embedded SmolLM2 backbone, at the paper's global batch (192 windows a step),
# three seeds a cell. Each run is the paper-recipe script (scripts/fewshot/TimeLLM_ETTh1_10percent.sh)
# with the deviations below; every run is resumable (--resume) and skipped once its metrics.json
# exists, so rerunning this script after an interruption continues where it stopped.
#
# Deviations from the paper, the same for every Time-LLM run (docs/RESULTS.md lists them too):
#   backbone     SmolLM2-135M, first LLM_LAYERS=2 of its 30 layers (paper: LLaMA-7B, 32 layers);
#                chosen by measurement (bench/bench_eval.py): an epoch of this protocol costs ~8 min
#                at 1 layer, ~15 at 2, ~28 at 4 on 2 cores at batch 24
#   patience     3 (paper: 10; under the halving schedule the lr is 8x smaller by then)
#   processes    1 process with --global_batch 192: one batch of 192 windows a step, the paper's
#                8 GPUs x 24 (a batch of 192 measured ~20 windows/s against ~17 at 24 on 2 cores,
#                SmolLM2 x 2: the 49M-weight mapping layer is computed once a step; accumulating
#                8 x 24 would pay it 8 times). GLOBAL_BATCH=24 gives the earlier single-GPU step.
#   precision    fp32 (paper: bf16)
#   evaluation   batch 32 and no test pass per epoch (--test_every_epoch 0: only the final test,
#                on the best validation epoch; it saves time and changes no number)
# Unchanged: features M channel-independent, seq_len 512, label_len 48, d_model 32, d_ff 128,
# patch 16, stride 8, 1000 prototypes, lr 0.01 type1 with the reference's effective schedule
# (4e-4, 4e-4, 2e-4, ...), every validation and test window scored.
#
#   RUNS=~/runs/fewshot10 STAGES="a b c d" bash scripts/results/ETTh1_fewshot10.sh
# STAGES (issue 25's order):
#   a = Time-LLM H=96, seeds $SEEDS (default 2021 2022 2023)
#   b = DLinear, PatchTST, GPT4TS at 10% on the One Fits All few-shot protocol, H=96
#       (scripts/fewshot/<model>_ETTh1_10percent.sh: batch 256, 10 epochs, cosine, L=336); GPT4TS
#       with SmolLM2 x LLM_LAYERS, the depth of the Time-LLM cells (paper: GPT-2 x 6)
#   c = the five ablations at H=96
#   d = Time-LLM H=192, 336, 720
#   e = Time-LLM H=96 with DEPTHS (default "1 4") LLM layers
# GPT4TS's learning rate (stage b): the One Fits All script runs 0.001 and 0.000005 and does not say
# which it reported, so it is chosen on validation: seed 2021 runs at each of GPT4TS_LRS (default
# those two; runs gpt4ts_96_fewshot_gb<B>_lr<LR>_s2021), `python -m report pick` takes the one with
# the lowest best validation loss, and every seed runs at it (seed 2021's run is the selection run
# itself, linked). GPT4TS_LR=<lr> skips the choice.
# ONLY=<run name> runs one run; BASELINES (stage b) the baselines to run, default all three;
# BASELINE_BATCH (stage b) their global batch, default $GLOBAL_BATCH (the Time-LLM cells' step;
# 0: the One Fits All script's own batch of 256). DRY_RUN=1 prints each run's command instead.
# Logs: $RUNS/<run>/log.txt. Runs can share the machine one core each
#   SEEDS=2021 OMP_NUM_THREADS=1 taskset -c 0 bash scripts/results/ETTh1_fewshot10.sh &
#   SEEDS=2022 OMP_NUM_THREADS=1 taskset -c 1 bash scripts/results/ETTh1_fewshot10.sh &
# but a Time-LLM run then outlasts a 3-hour session; one run at a time on both cores finishes.
# Cost measured on a 2-core AVX2 VM (2026-12-07): a Time-LLM epoch at global batch 192 took
# 1,072 s on one thread (26 steps of ~19 s, then 19,495 validation windows at ~32/s) and ~610 s on
# two (9.9 s a step, ~52 windows/s) before issue 26's changes; after them (5967e29: evaluation
# prompt store, fused evaluation attention, --reuse_memory) 317 s on two threads (6.4 s a step;
# the first validation pass and the test at ~80 windows/s, later validation passes at ~125/s:
# seed 2022's epoch 7), so a run of ~8 epochs plus its test is ~50 min on both cores;
# DLinear and PatchTST on the few-shot protocol take 0.5-5 min; GPT4TS (SmolLM2 x 2) ~21 s a step
# on one shared core.
# Then collect the finished runs into the repository:
#   python -m report collect $RUNS --table fewshot10
set -uo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-$HOME/runs/fewshot10}"
LLM_LAYERS="${LLM_LAYERS:-2}"
GLOBAL_BATCH="${GLOBAL_BATCH:-192}"
SEEDS="${SEEDS:-2021 2022 2023}"
COMMON=(--patience 3 --eval_batch_size 32 --test_every_epoch 0 --global_batch "$GLOBAL_BATCH")

run() {  # run NAME SCRIPT [ENV=VALUE ...] -- [run_main flags]
  local name="$1" script="$2"; shift 2
  local envs=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then return 0; fi
  local dir="$RUNS/$name"
  if compgen -G "$dir/results/*/metrics.json" > /dev/null; then
    echo "$name: done ($dir)"; return 0
  fi
  if [ -n "${DRY_RUN:-}" ]; then
    echo "$name: env ${envs[*]} bash $script --results_dir $dir/results --checkpoints $dir/checkpoints --resume $*"
    return 0
  fi
  mkdir -p "$dir"
  echo "$name: running, log in $dir/log.txt"
  env "${envs[@]}" bash "$script" --results_dir "$dir/results" --checkpoints "$dir/checkpoints" \
    --resume "$@" >> "$dir/log.txt" 2>&1 || echo "$name: FAILED (exit $?), see $dir/log.txt"
}

timellm() {  # timellm NAME PRED_LEN SEED [ENV=VALUE ...] -- [flags]
  local name="$1" h="$2" seed="$3"; shift 3
  local envs=(LLM_LAYERS="$LLM_LAYERS")
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  run "$name" scripts/fewshot/TimeLLM_ETTh1_10percent.sh PRED_LENS="$h" LLM_MODEL=SmolLM2 \
    "${envs[@]}" -- --seed "$seed" "${COMMON[@]}" "$@"
}

gb="gb$GLOBAL_BATCH"
for stage in ${STAGES:-a b c d}; do
  case "$stage" in
    a) for seed in $SEEDS; do timellm "timellm_96_${gb}_s$seed" 96 "$seed"; done ;;
    b) bb="${BASELINE_BATCH:-$GLOBAL_BATCH}"
       batch=(); [ "$bb" != 0 ] && batch=(--global_batch "$bb")
       baseline() {  # baseline MODEL NAME SEED [ENV=VALUE ...]
         local model="$1" name="$2" seed="$3"; shift 3
         run "$name" "scripts/fewshot/${model}_ETTh1_10percent.sh" PRED_LENS=96 LLM_MODEL=SmolLM2 \
           LLM_LAYERS="$LLM_LAYERS" "$@" -- --seed "$seed" --test_every_epoch 0 "${batch[@]}"
       }
       models=" ${BASELINES:-DLinear PatchTST GPT4TS} "
       gpt_lr="${GPT4TS_LR:-}"
       if [[ "$models" == *" GPT4TS "* && -z "$gpt_lr" ]]; then  # choose its lr on validation
         candidates=()
         for lr in ${GPT4TS_LRS:-0.001 0.000005}; do
           baseline GPT4TS "gpt4ts_96_fewshot_gb${bb/#0/256}_lr${lr}_s2021" 2021 LR="$lr"
           candidates+=("$lr=$RUNS/gpt4ts_96_fewshot_gb${bb/#0/256}_lr${lr}_s2021")
         done
         gpt_lr=$("${FACTS_PYTHON:-python}" -m report pick "${candidates[@]}") \
           || { [ -n "${DRY_RUN:-}" ] && gpt_lr="<chosen on validation>"; } \
           || echo "GPT4TS: no learning rate chosen (its selection runs are not finished)"
       fi
       for seed in $SEEDS; do
         for model in $models; do
           name="${model,,}_96_fewshot_gb${bb/#0/256}_s$seed"
           if [ "$model" != GPT4TS ]; then baseline "$model" "$name" "$seed"; continue; fi
           [ -z "$gpt_lr" ] && continue
           chosen="$RUNS/gpt4ts_96_fewshot_gb${bb/#0/256}_lr${gpt_lr}_s2021"
           if [ "$seed" = 2021 ] && [ -z "${DRY_RUN:-}" ] && [ -d "$chosen" ] && [ ! -e "$RUNS/$name" ]; then
             ln -s "$chosen" "$RUNS/$name"  # the selection run at the chosen lr is seed 2021's run
           fi
           baseline GPT4TS "$name" "$seed" LR="$gpt_lr"
         done
       done ;;
    c) for seed in $SEEDS; do
         for ab in no_llm llm2attn attention_layer random_llm no_prompt; do
           timellm "${ab}_96_${gb}_s$seed" 96 "$seed" -- --ablation "$ab"
         done
       done ;;
    d) for h in 192 336 720; do
         for seed in $SEEDS; do timellm "timellm_${h}_${gb}_s$seed" "$h" "$seed"; done
       done ;;
    e) for layers in ${DEPTHS:-1 4}; do
         for seed in $SEEDS; do
           timellm "timellm_96_L${layers}_${gb}_s$seed" 96 "$seed" LLM_LAYERS="$layers"
         done
       done ;;
    *) echo "unknown stage '$stage' (a b c d e)" >&2; exit 2 ;;
  esac
done
