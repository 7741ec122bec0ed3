# The recipe table: every run script's hyperparameters, each typed once, with where it comes from.
# Sourced by scripts/launch.sh, which calls `recipe_<NAME> RUN` once per run (RUN: the horizon, or
# the M4 pattern) with the dataset's facts in scope - $data, $folder, $file, $channels, $freq -
# read from data_provider/datasets.py (never typed here). A recipe appends the run_main.py flags,
# in launch order, to ARGS; `runs_<NAME>` (optional) says what to loop over instead of
# ${PRED_LENS:-the dataset's horizons}; LAUNCHER=python (CPU profiles) runs `python run_main.py`
# in one process instead of `accelerate launch`.
#
# Row syntax: `case "$data:$run"` patterns, first match wins unless the row ends in `;;&` (then
# the later rows are tried too). A value not in a row is the recipe's default on its `local` line.

fail() { echo "error: $*" >&2; exit 2; }
no_recipe() { fail "recipe $1 has no row for $data at $2 (see scripts/recipes.sh)"; }

# ----------------------------------------------------------------------------- shared pieces

# Long-term head: task, data file, model and features (MODEL MODEL_ID FEATURES).
long_head() {
  [ -n "$file" ] || fail "$data is not a long-term dataset (no data file)"
  ARGS+=(--task_name long_term_forecast --is_training 1 --root_path "./dataset/$folder/"
         --data_path "$file" --data "$data" --model_id "$2" --model "$1" --features "$3")
}
# M4 head: one seasonal pattern of the short-term benchmark (PATTERN MODEL_ID [MODEL, default TimeLLM]).
m4_head() {
  ARGS+=(--task_name short_term_forecast --is_training 1 --root_path "./dataset/$folder"
         --data "$data" --seasonal_patterns "$1" --model_id "$2" --model "${3:-TimeLLM}" --features M)
}
window() { ARGS+=(--seq_len "$1" --label_len "$2" --pred_len "$3"); }
width() { ARGS+=(--enc_in "$1" --dec_in "$1" --c_out "$1"); }
# Every recipe ends so (LOSS DES); --itr 1 and seed 2021 are the reference's run_main.py defaults.
run_tail() { ARGS+=(--loss "$1" --des "$2" --itr 1 --seed 2021); }
# The baselines train on all channels jointly; their epoch-wise schedules start at the lr (QUIRK).
baseline_tail() { ARGS+=(--channel_independence 0 --lr_quirk "$1"); run_tail MSE Exp; }

# ----------------------------------------------------------------------------- Time-LLM

# The launch of the paper recipes (environment variables; the defaults give one process):
#   USE_DEEPSPEED  1 = DeepSpeed ZeRO-2 from ds_config_zero2.json (bf16 follows MIXED_PRECISION),
#                  default 0
#   LLM_MODEL      backbone, default LLAMA (huggyllama/llama-7b); SmolLM2 | MiniLM | GPT2 | BERT
#   LLM_LAYERS     keep the first k layers of the backbone, default 32 (the paper: LLaMA-7B, 32)
llm_launch() {
  ARGS+=(--use_deepspeed "${USE_DEEPSPEED:-0}" --llm_model "${LLM_MODEL:-LLAMA}"
         --llm_layers "${LLM_LAYERS:-32}")
}

# Time-LLM (Jin et al., ICLR 2024), long-term forecasting, multivariate (features M): paper Table 1.
# Source: the authors' scripts/TimeLLM_<dataset>.sh (KimMeen/Time-LLM), row by row below; each ran
# batch 24 per process on 8 GPUs (the global batch is 8x ours with one process: say so when
# comparing). Unchanged across datasets (the reference's run_main.py defaults): n_heads 8, patch 16,
# stride 8, 1000 text prototypes, eval batch 8, dropout 0.1, seed 2021, MSE loss, --factor 3 (unread
# by Time-LLM), and the reference's OneCycle lr/25 start of epoch-wise schedules (--lr_quirk auto =
# on for TimeLLM). --freq is the data's own (t for ETTm1, ETTm2, Weather, where the reference left
# the default h; Time-LLM does not read calendar features).
#   PERCENT    percentage of the training split, default 100 (scripts/fewshot/ sets 10 or 5, paper
#              Tables 3/4: the few-shot runs keep the long-term recipe); the model_id then ends in
#              _p<PERCENT> so the runs do not collide
#   TEST_DATA  zero-shot transfer (scripts/zeroshot/, paper Table 5): train and early-stop on the
#              dataset, test on TEST_DATA (its own file and scaler; the results folder ends in
#              _to_<TEST_DATA>), 5 training epochs as in the authors' scripts/TimeLLM_ETTh1_ETTh2.sh
#              (their only published zero-shot script, which uses the ETTh1 recipe)
recipe_TimeLLM() {
  local pred_len=$1 seq_len=512 label_len=48 batch=24 d_model=32 d_ff=128 lr=0.01 lradj=type1
  local epochs=10 patience=10 percent=${PERCENT:-100} tag="" name=$data
  case "$data:$pred_len" in
    # ETTh1 as recorded in docs/REFERENCE.md section 4
    ETTh1:*) epochs=100 ;;&
    ETTh1:192) lr=0.02 ;;
    ETTh1:336) lr=0.001 lradj=COS ;;
    ETTh2:192) lr=0.002 lradj=TST ;;
    ETTh2:336) lr=0.005 lradj=TST ;;
    ETTh2:720) d_model=16 lr=0.005 lradj=TST epochs=20 ;;
    # ETTm1: TST (OneCycle per batch) everywhere; the script's later --learning_rate 0.001
    # overrides its lr 0.01 variable
    ETTm1:*) lr=0.001 lradj=TST epochs=100 ;;&
    ETTm1:192 | ETTm1:336 | ETTm1:720) patience=20 ;;
    ETTm2:96) batch=16 ;;
    ETTm2:*) lr=0.002 lradj=TST ;;
    Weather:*) d_ff=32 ;;&
    Weather:336) d_ff=128 ;;
    Weather:720) d_ff=128 epochs=15 ;;
    ECL:* | Traffic:*) d_model=16 d_ff=32 ;;&
    # Traffic 336: batch 1, as the reference. Its last block is a typo (label_len 720, pred_len 96,
    # model_id traffic_512_96); here it is the 720 horizon with label_len 48.
    Traffic:336) batch=1 ;;
    # ILI: the reference publishes no ILI script (its dataset registry cannot load ILI): the weekly
    # benchmark's input (DLinear/PatchTST's seq_len 104, label_len 18) and the small-dataset recipe
    # of ECL/Traffic. Not the paper's confirmed configuration: state it when comparing.
    ILI:*) seq_len=104 label_len=18 d_model=16 d_ff=32 ;;
  esac
  [ "$percent" = 100 ] || tag="_p$percent"
  case "$data" in Weather | Traffic) name=${data,,} ;; esac  # the authors' ids: weather_512_96
  llm_launch
  long_head TimeLLM "${name}_${seq_len}_${pred_len}${tag}" M
  ARGS+=(--freq "$freq")
  window "$seq_len" "$label_len" "$pred_len"
  ARGS+=(--factor 3)
  width "$channels"
  ARGS+=(--d_model "$d_model" --d_ff "$d_ff" --n_heads 8 --patch_len 16 --stride 8 --num_tokens 1000
         --percent "$percent" --batch_size "$batch" --eval_batch_size 8 --learning_rate "$lr"
         --lradj "$lradj" --train_epochs "$epochs" --patience "$patience")
  run_tail MSE Exp
  ARGS+=(--model_comment "TimeLLM-$data")
  if [ -n "${TEST_DATA:-}" ]; then ARGS+=(--test_data "$TEST_DATA" --train_epochs 5); fi
}

# Time-LLM short-term forecasting on M4: paper Table 2. Source: the authors' scripts/TimeLLM_M4.sh
# and docs/REFERENCE.md section 4: every seasonal pattern with d_model 8, d_ff 32, patch_len 1,
# stride 1, lr 0.001 (type1), 50 epochs, batch 24 per process on 8 GPUs, sMAPE loss, LLaMA-7B with
# 32 layers. seq_len = 2H and label_len = H are set from the pattern by the trainer (H: Yearly 6,
# Quarterly 8, Monthly 18, Weekly 13, Daily 14, Hourly 48). Defaults as the reference's parser:
# n_heads 8, 1000 text prototypes, eval batch 8, patience 10, seed 2021, the OneCycle lr/25 start.
# Differences from the reference, on purpose: validation holds out the last H points of each
# training series (the reference validated on the test set; --m4_val_from_test 1 restores it).
# The report (python -m report) combines the six patterns into the paper's groups (Yearly,
# Quarterly, Monthly, Others = Weekly + Daily + Hourly, Average). M4 files: python -m
# data_provider.fetch --datasets m4.
#   PATTERNS  the seasonal patterns to run, default all six
runs_TimeLLM_M4() { echo "${PATTERNS:-Yearly Quarterly Monthly Weekly Daily Hourly}"; }
recipe_TimeLLM_M4() {
  llm_launch
  m4_head "$1" "m4_$1"
  width "$channels"
  ARGS+=(--d_model 8 --d_ff 32 --n_heads 8 --patch_len 1 --stride 1 --num_tokens 1000
         --batch_size 24 --eval_batch_size 8 --learning_rate 0.001 --lradj type1 --train_epochs 50
         --patience 10)
  run_tail SMAPE Exp
  ARGS+=(--model_comment TimeLLM-M4)
}

# CPU profiles (scripts/cpu/): Time-LLM with the embedded SmolLM2-135M, sized for a 2-core CPU; one
# `python run_main.py` process (no accelerate, no threads.sh: torch takes every core). Each
# script's header lists every setting that differs from the paper and its measured wall time.
# Long-term on ETTh1's OT column (features S), seq_len 96, pred_len 96 only.
runs_TimeLLM_cpu() { echo 96; }
recipe_TimeLLM_cpu() { cpu_long "$1" _cpu 100 64 1; }  # the full training split: batch 64, 1 epoch
# paper Table 3's protocol (the first 10% of the training split): batch 32, 3 epochs
runs_TimeLLM_cpu_fewshot10() { echo 96; }
recipe_TimeLLM_cpu_fewshot10() { cpu_long "$1" _p10_cpu 10 32 3; }
cpu_long() {  # PRED_LEN SUFFIX PERCENT BATCH EPOCHS
  local seq_len=96
  LAUNCHER=python
  long_head TimeLLM "${data}_${seq_len}_$1$2" S
  ARGS+=(--target OT)
  window "$seq_len" 48 "$1"
  width 1
  ARGS+=(--d_model 16 --d_ff 32 --n_heads 8 --patch_len 16 --stride 8)
  cpu_backbone
  ARGS+=(--percent "$3" --batch_size "$4" --eval_batch_size 128 --learning_rate 0.01 --lradj type1
         --train_epochs "$5" --patience 10 --test_every_epoch 0)
  run_tail MSE cpu
}
# M4 Hourly: the paper's M4 recipe but 100 prototypes, 4 epochs, lr 0.01 (effective 4e-4 through
# the OneCycle quirk) and evaluation batch 64.
runs_TimeLLM_cpu_M4() { echo Hourly; }
recipe_TimeLLM_cpu_M4() {
  LAUNCHER=python
  m4_head "$1" "m4_$1_cpu"
  width "$channels"
  ARGS+=(--d_model 8 --d_ff 32 --n_heads 8 --patch_len 1 --stride 1)
  cpu_backbone
  ARGS+=(--batch_size 24 --eval_batch_size 64 --learning_rate 0.01 --lradj type1 --train_epochs 4
         --patience 10 --test_every_epoch 0)
  run_tail SMAPE cpu
}
cpu_backbone() { ARGS+=(--llm_model SmolLM2 --llm_layers 1 --num_tokens 100); }

# ----------------------------------------------------------------------------- baselines
# Each recipe is its authors' published one, launched with NUM_PROCESSES=1 (batch sizes are per
# process, so one process reproduces it).

# DLinear (Zeng et al., AAAI 2023). Source: LTSF-Linear's scripts/EXP-LongForecasting/DLinear/
# (seq_len 336, per-dataset batch size and learning rate; ILI seq_len 104, label_len 18) and the
# defaults of its run_longExp.py: Adam, MSE, type1 halving from the learning rate, 10 epochs,
# early-stopping patience 3, evaluation at the training batch size, moving_avg 25. --individual 1
# gives DLinear-I.
recipe_DLinear() {
  local pred_len=$1 seq_len=336 label_len=48 batch lr
  case "$data:$pred_len" in
    ETTh1:* | ETTm1:*) batch=8 lr=0.0001 ;;
    ETTh2:*) batch=32 lr=0.05 ;;
    ETTm2:96 | ETTm2:192) batch=32 lr=0.001 ;;
    ETTm2:336) batch=32 lr=0.01 ;;
    ETTm2:720) batch=32 lr=0.1 ;;
    Exchange:96 | Exchange:192) batch=8 lr=0.0005 ;;
    Exchange:336) batch=32 lr=0.0005 ;;
    Exchange:720) batch=32 lr=0.005 ;;
    Weather:*) batch=16 lr=0.0001 ;;
    ECL:*) batch=16 lr=0.001 ;;
    Traffic:*) batch=16 lr=0.05 ;;
    ILI:*) seq_len=104 label_len=18 batch=32 lr=0.05 ;;
    *) no_recipe DLinear "$pred_len" ;;
  esac
  long_head DLinear "${data}_${seq_len}_${pred_len}" M
  window "$seq_len" "$label_len" "$pred_len"
  width "$channels"
  ARGS+=(--moving_avg 25 --individual 0 --batch_size "$batch" --eval_batch_size "$batch"
         --learning_rate "$lr" --lradj type1 --train_epochs 10 --patience 3)
  baseline_tail off
}

# GPT4TS, "One Fits All" (Zhou et al., NeurIPS 2023), long-term forecasting: a frozen language
# model whose layer norms and learned positions train (models/GPT4TS.py). Source: the authors'
# Long-term_Forecasting/scripts/<dataset>.sh (DAMO-DI-ML/NeurIPS2023-One-Fits-All): GPT-2 with 6
# layers, patch 16, batch 256 (evaluation too), Adam lr 1e-4, 10 epochs, patience 3 (their
# main.py default), MSE, one channel per sample (their loader), cosine annealing per epoch with
# eta_min 1e-8 (--cos 1; --lradj COS). ETTh1/ETTh2: L=336, stride 8, label 168, T_max 20. ETTm1/
# ETTm2: L=512, stride 16, label 48; their T_max there is the default 10 while COS here is 20 (a
# known difference). Their ETTm2.sh lists horizon 729 (a typo: the paper reports 720). d_model,
# n_heads, d_ff and dropout in their scripts are not read by their GPT4TS (the width is the LLM's).
#   LLM_MODEL   backbone, default GPT2 (the paper's; needs the hub or a cached copy); SmolLM2 offline
#   LLM_LAYERS  default 6 (the paper's)
recipe_GPT4TS() {
  local pred_len=$1 seq_len=336 label_len=168 stride=8
  case "$data" in
    ETTh1 | ETTh2) ;;
    ETTm1 | ETTm2) seq_len=512 label_len=48 stride=16 ;;
    *) no_recipe GPT4TS "$pred_len" ;;
  esac
  long_head GPT4TS "${data}_${seq_len}_${pred_len}" M
  window "$seq_len" "$label_len" "$pred_len"
  width "$channels"
  ARGS+=(--llm_model "${LLM_MODEL:-GPT2}" --llm_layers "${LLM_LAYERS:-6}" --patch_len 16
         --stride "$stride" --batch_size 256 --eval_batch_size 256 --learning_rate 0.0001
         --lradj COS --train_epochs 10 --patience 3 --channel_independence 1 --lr_quirk off)
  run_tail MSE Exp
}

# PatchTST (Nie et al., ICLR 2023), supervised. Source: the authors' PatchTST_supervised/scripts
# (<dataset>.sh): 3 encoder layers, patch 16, stride 8, 100 epochs, head dropout 0, RevIN without
# affine, padding the end, seed 2021; patience 100 where their script keeps the default (no early
# stop). The authors' trainer always builds a OneCycleLR, so their first epoch ran at learning_rate
# / 25 (and Adam beta1 0.95) before an epoch-wise schedule took over: --lr_quirk first_epoch
# reproduces that (with TST the OneCycle itself is the schedule, stepped per batch).
#   VARIANT  PatchTST/42 (default): L=336, 42 patches; VARIANT=64: L=512, 64 patches (not ILI)
recipe_PatchTST() {
  local pred_len=$1 seq_len label_len=48 heads=16 d_model=128 d_ff=256 dropout=0.2 patch=16 stride=8
  local batch=128 lr=0.0001 lradj=type3 pct=0.3 patience=20
  if [ "$data" = ILI ]; then seq_len=104; else
    case "${VARIANT:-42}" in
      42) seq_len=336 ;;
      64) seq_len=512 ;;
      *) fail "VARIANT must be 42 or 64" ;;
    esac
  fi
  case "$data" in
    ETTh1 | ETTh2) heads=4 d_model=16 d_ff=128 dropout=0.3 patience=100 ;;
    ETTm1 | ETTm2) lradj=TST pct=0.4 ;;
    Weather) ;;
    ECL) batch=32 lradj=TST pct=0.2 patience=10 ;;
    Traffic) batch=24 lradj=TST pct=0.2 patience=10 ;;
    # the authors' illness.sh: L=104, patch 24, stride 2, constant lr 0.0025
    ILI) label_len=18 heads=4 d_model=16 d_ff=128 dropout=0.3 patch=24 stride=2 batch=16 lr=0.0025
         lradj=constant patience=100 ;;
    *) no_recipe PatchTST "$pred_len" ;;
  esac
  long_head PatchTST "${data}_${seq_len}_${pred_len}" M
  window "$seq_len" "$label_len" "$pred_len"
  width "$channels"
  ARGS+=(--e_layers 3 --n_heads "$heads" --d_model "$d_model" --d_ff "$d_ff" --dropout "$dropout"
         --fc_dropout "$dropout" --head_dropout 0 --patch_len "$patch" --stride "$stride"
         --padding_patch end --revin 1 --affine 0 --subtract_last 0 --individual 0
         --batch_size "$batch" --eval_batch_size "$batch" --learning_rate "$lr" --lradj "$lradj"
         --pct_start "$pct" --train_epochs 100 --patience "$patience")
  baseline_tail first_epoch
}

# The few-shot protocol of the baselines in the Time-LLM paper's Table 3: its DLinear, PatchTST and
# GPT4TS rows are the One Fits All paper's (Zhou et al., NeurIPS 2023, Table 5 / Appendix D.2; the
# Time-LLM table repeats them). Source: its Few-shot_Learning/scripts/ETTh1.sh and main.py
# (DAMO-DI-ML/NeurIPS2023-One-Fits-All at 9f3875d), the only few-shot script it ships (for GPT4TS;
# it has no DLinear or PatchTST script, so these run the same script with the model swapped, which
# its main.py allows):
#   seq_len 336, label_len 168 (ETTh1.sh:4, :19-20), batch 256 (:22; evaluation too), Adam (main.py),
#   MSE, 10 epochs (:25), early-stopping patience 3 (main.py default), cosine annealing stepped per
#   epoch with T_max 20 and eta_min 1e-8 (--cos 1 --tmax 20, :40-41; here --lradj COS), one channel
#   per sample (its loader), the first PERCENT% of the training split with the scaler fitted on the
#   whole split (as here). learning_rate: the script runs both 0.001 and 0.000005 (:11) and the
#   repository does not say which was reported; LR (default 0.001) picks one (the results runner,
#   scripts/results/ETTh1_fewshot10.sh, chooses GPT4TS's on validation: python -m report pick).
# Its 3 repetitions (--itr 3) are draws of one seed-2021 stream, averaged; ours are seeds 2021-2023,
# each its own run. Its test loader drops the last incomplete batch; ours scores every window.
# Model settings: DLinear kernel 25, one shared layer (its DLinear.py); PatchTST the authors' ETTh1
# settings (recipe_PatchTST: OFA's PatchTST is its own variant, and its script sets no PatchTST
# values); GPT4TS patch 16, stride 8, LLM_LAYERS of LLM_MODEL (the paper: GPT-2, 6 layers).
#   PERCENT  default 10;  LR  default 0.001
fewshot_head() {  # MODEL: the shared protocol, before the model's own flags
  local pct=${PERCENT:-10}
  long_head "$1" "${data}_336_${2}_p${pct}" M
  window 336 168 "$2"
  width "$channels"
  ARGS+=(--percent "$pct" --batch_size 256 --eval_batch_size 256 --learning_rate "${LR:-0.001}"
         --lradj COS --train_epochs 10 --patience 3 --channel_independence 1 --lr_quirk off)
}
recipe_DLinear_fewshot() {
  fewshot_head DLinear "$1"
  ARGS+=(--moving_avg 25 --individual 0)
  run_tail MSE Exp
}
recipe_PatchTST_fewshot() {
  [ "$data" = ETTh1 ] || no_recipe PatchTST_fewshot "$1"
  fewshot_head PatchTST "$1"
  ARGS+=(--e_layers 3 --n_heads 4 --d_model 16 --d_ff 128 --dropout 0.3 --fc_dropout 0.3
         --head_dropout 0 --patch_len 16 --stride 8 --padding_patch end --revin 1 --affine 0
         --subtract_last 0 --individual 0)
  run_tail MSE Exp
}
recipe_GPT4TS_fewshot() {
  fewshot_head GPT4TS "$1"
  ARGS+=(--llm_model "${LLM_MODEL:-GPT2}" --llm_layers "${LLM_LAYERS:-6}" --patch_len 16 --stride 8)
  run_tail MSE Exp
}

# Autoformer (Wu et al., NeurIPS 2021). Source: the Autoformer repository's recipe (thuml/Autoformer
# scripts/): seq_len 96, label_len 48 (ILI 36, 18), 2 encoder + 1 decoder layers, d_model 512, d_ff
# 2048, 8 heads, moving_avg 25, dropout 0.05, factor 3 (ETTm2 1), --freq h (ETTm1 t, whatever the
# data's own frequency), batch 32, Adam lr 1e-4, type1 halving, patience 3, 10 epochs except where
# its scripts say otherwise (kept): Exchange 192 and 336 train 1 epoch, Weather 96 2, Traffic 3.
recipe_Autoformer() {
  local pred_len=$1 seq_len=96 label_len=48 factor=3 marks=h epochs=10
  case "$data:$pred_len" in
    ETTm1:*) marks=t ;;
    ETTm2:*) factor=1 ;;
    Exchange:192 | Exchange:336) epochs=1 ;;
    Weather:96) epochs=2 ;;
    Traffic:*) epochs=3 ;;
    ILI:*) seq_len=36 label_len=18 ;;
  esac
  former Autoformer
}

# Informer (Zhou et al., AAAI 2021). Source: the Autoformer-lineage recipe for Informer (LTSF-Linear
# scripts/EXP-LongForecasting/Formers_Long.sh): as Autoformer's but 2 encoder layers with
# distilling, ProbSparse factor 3 and --freq h everywhere; 10 epochs (Exchange 1, Weather 2,
# Traffic 3).
recipe_Informer() {
  local pred_len=$1 seq_len=96 label_len=48 factor=3 marks=h epochs=10
  case "$data" in
    Exchange) epochs=1 ;;
    Weather) epochs=2 ;;
    Traffic) epochs=3 ;;
    ILI) seq_len=36 label_len=18 ;;
  esac
  former Informer --distil 1
}
# The Autoformer-lineage flag list (MODEL [flags after --activation]), from the caller's locals.
former() {
  long_head "$1" "${data}_${seq_len}_${pred_len}" M
  shift
  window "$seq_len" "$label_len" "$pred_len"
  width "$channels"
  ARGS+=(--e_layers 2 --d_layers 1 --factor "$factor" --d_model 512 --n_heads 8 --d_ff 2048
         --moving_avg 25 --dropout 0.05 --embed timeF --freq "$marks" --activation gelu "$@"
         --batch_size 32 --eval_batch_size 32 --learning_rate 0.0001 --lradj type1
         --train_epochs "$epochs" --patience 3)
  baseline_tail off
}

# iTransformer (Liu et al., ICLR 2024). Source: the authors' scripts/multivariate_forecasting/ETT/
# iTransformer_ETTh1.sh (thuml/iTransformer) and the defaults of their run.py: seq_len 96, 2
# encoder layers, d_model = d_ff = 256 (horizons 96, 192) or 512 (336, 720), 8 heads, dropout
# 0.1, factor 1, gelu, --use_norm 1, calendar features as tokens (--embed timeF, --freq h), batch
# 32, Adam lr 1e-4 with type1 halving, 10 epochs, patience 3, seed 2023 (their run.py's fix_seed).
# Their test loader runs batch 1 over every window; their validation batch is 32 with the last
# incomplete batch dropped (here every window is scored).
recipe_iTransformer() {
  local pred_len=$1 width_=256
  case "$data:$pred_len" in
    ETTh1:96 | ETTh1:192) ;;
    ETTh1:336 | ETTh1:720) width_=512 ;;
    *) no_recipe iTransformer "$pred_len" ;;
  esac
  long_head iTransformer "${data}_96_${pred_len}" M
  window 96 48 "$pred_len"
  width "$channels"
  ARGS+=(--e_layers 2 --n_heads 8 --d_model "$width_" --d_ff "$width_" --dropout 0.1 --factor 1
         --activation gelu --embed timeF --freq h --use_norm 1 --batch_size 32 --eval_batch_size 32
         --learning_rate 0.0001 --lradj type1 --train_epochs 10 --patience 3
         --channel_independence 0 --lr_quirk off)
  ARGS+=(--loss MSE --des Exp --itr 1 --seed 2023)
}

# N-BEATS-G (Oreshkin et al., ICLR 2020) on M4, one model of the paper's ensemble. Source: the
# authors' experiments/m4/generic.gin and experiments/trainer.py (ServiceNow/N-BEATS): 30 stacks of
# one block, 4 layers of 512, Adam lr 1e-3, batches of 1024 windows, gradient norm clipped at 1,
# training cut points in the last history_size x H points (Yearly/Quarterly/Monthly 1.5, others 10:
# the M4 table's history size, as here). Their iterations (Yearly, Quarterly, Monthly 15000; Weekly,
# Daily, Hourly 5000) become epochs of the trainer's M4 loader (one window per series an epoch:
# Yearly 23,000 series = 23 batches, Hourly 414 = one), with patience as long (no early stop, as
# theirs). What differs: one model (the paper's N-BEATS-G is the median of 180: lookbacks 2H..7H x
# losses sMAPE/MASE/MAPE x 10 seeds); lookback 2H only (the trainer's M4 window); sMAPE loss only; a
# constant lr (theirs halves at 1/3 and 2/3 of the iterations); windows drawn once per series per
# epoch (theirs: series drawn at random for every batch); validation on a held-out last H.
#   PATTERNS  the seasonal patterns to run, default all six
#   LOSS      the training loss, default SMAPE; MASE or MAPE give the paper's other ensemble members
runs_NBEATS_M4() { echo "${PATTERNS:-Yearly Quarterly Monthly Weekly Daily Hourly}"; }
recipe_NBEATS_M4() {
  local epochs
  case "$1" in
    Yearly) epochs=652 ;;      # 15000 iterations / 23 batches
    Quarterly) epochs=625 ;;   # 15000 / 24
    Monthly) epochs=319 ;;     # 15000 / 47
    Weekly | Hourly) epochs=5000 ;;
    Daily) epochs=1000 ;;      # 5000 / 5
    *) no_recipe NBEATS_M4 "$1" ;;
  esac
  m4_head "$1" "m4_$1" NBEATS
  width "$channels"
  ARGS+=(--stacks 30 --layers 4 --layer_size 512 --batch_size 1024 --eval_batch_size 1024
         --learning_rate 0.001 --lradj constant --lr_quirk off --max_grad_norm 1.0
         --train_epochs "$epochs" --patience "$epochs" --test_every_epoch 0
         --save_state_every 60)  # one-step epochs: the resume state once a minute, not every step
  run_tail "${LOSS:-SMAPE}" Exp
}
# CPU profile (scripts/cpu/NBEATS_M4_Hourly.sh): the N-BEATS-G recipe above on M4 Hourly, the
# model shrunk to fit a shared 2-core CPU (6 blocks of 2 x 256 instead of 30 of 4 x 512), batches
# of 64 windows (7 steps an epoch of the 414 series, instead of 1024 windows), early-stopped on the
# held-out last H points (at most 60 epochs, patience 10) instead of 5000 fixed iterations; MASE
# loss (one of the paper's three ensemble losses): with sMAPE this profile scored sMAPE 16.550 but
# MASE 2.988, OWA 1.074 (worse than Naive2), with MASE OWA 0.893 (scripts/cpu/NBEATS_M4_Hourly.sh).
runs_NBEATS_cpu_M4() { echo Hourly; }
recipe_NBEATS_cpu_M4() {
  LAUNCHER=python
  m4_head "$1" "m4_$1_cpu" NBEATS
  width "$channels"
  ARGS+=(--stacks 6 --layers 2 --layer_size 256 --batch_size 64 --eval_batch_size 1024
         --learning_rate 0.001 --lradj constant --lr_quirk off --max_grad_norm 1.0
         --train_epochs 60 --patience 10 --test_every_epoch 0)
  run_tail MASE cpu
}

# N-HiTS (Challu et al., AAAI 2023) on M4. Neither the paper nor the authors' repository
# (cchallu/n-hits) gives an M4 configuration; the values are the authors' model defaults, those of
# their library (Nixtla/neuralforecast neuralforecast/models/nhits.py, NHITS.__init__), which equal
# the fixed part of their long-horizon search space (cchallu/n-hits nhits_multivariate.py): 3
# stacks of 1 block, 2 ReLU layers of 512, max pooling kernels 2,2,1, forecast knots every 4,2,1
# steps (n_freq_downsample), linear interpolation, no dropout or batch normalisation, Adam lr 1e-3,
# 1000 steps of 1024 windows, no gradient clipping. The steps become epochs of the trainer's M4
# loader (one window per series an epoch: Yearly 23,000 series = 23 batches of 1024 -> 44 epochs,
# Hourly 414 = one batch -> 1000), with patience as long (no early stop). What differs: lookback 2H
# (the trainer's M4 window; their long-horizon runs use 5H); a constant lr (theirs halves every
# 1000/3 steps); the sMAPE loss of the M4 recipes here (their library's default is MAE, on scaled
# data; LOSS=MASE gives the loss of the CPU profile); windows drawn once per series per epoch;
# validation on a held-out last H.
#   PATTERNS  the seasonal patterns to run, default all six
#   LOSS      the training loss, default SMAPE
nhits_model() {  # the model of both N-HiTS recipes below
  ARGS+=(--n_pool_kernel_size 2 2 1 --n_freq_downsample 4 2 1 --n_blocks 1 1 1 --layers 2
         --layer_size 512 --pooling_mode max --interpolation_mode linear)
}
runs_NHITS_M4() { echo "${PATTERNS:-Yearly Quarterly Monthly Weekly Daily Hourly}"; }
recipe_NHITS_M4() {
  local epochs
  case "$1" in
    Yearly) epochs=44 ;;       # 1000 steps / 23 batches
    Quarterly) epochs=42 ;;    # 1000 / 24
    Monthly) epochs=22 ;;      # 1000 / 47
    Weekly | Hourly) epochs=1000 ;;
    Daily) epochs=200 ;;       # 1000 / 5
    *) no_recipe NHITS_M4 "$1" ;;
  esac
  m4_head "$1" "m4_$1" NHITS
  width "$channels"
  nhits_model
  ARGS+=(--batch_size 1024 --eval_batch_size 1024 --learning_rate 0.001 --lradj constant
         --lr_quirk off --train_epochs "$epochs" --patience "$epochs" --test_every_epoch 0
         --save_state_every 60)  # one-step epochs: the resume state once a minute, not every step
  run_tail "${LOSS:-SMAPE}" Exp
}
# CPU profile (scripts/cpu/NHITS_M4_Hourly.sh): the N-HiTS recipe above on M4 Hourly with the
# recipe's model unchanged (3 stacks, 2 x 512, 1.08 M parameters), batches of 64 windows (7 steps
# an epoch of the 414 series, instead of 1024 windows), early-stopped on the held-out last H points
# (at most 60 epochs, patience 10) instead of 1000 fixed steps; MASE loss, as the N-BEATS profile;
# gradient norm clipped at 1 (the N-BEATS authors' value; the N-HiTS authors do not clip). With
# batches of 64 and no clipping the training loss spiked (epoch 27: 5.80 after 2.69 at epoch 21)
# and the run stopped at OWA 0.971; with the sMAPE loss and no clipping OWA was 1.252, worse than
# Naive2 (scripts/cpu/NHITS_M4_Hourly.sh lists the measured runs).
runs_NHITS_cpu_M4() { echo Hourly; }
recipe_NHITS_cpu_M4() {
  LAUNCHER=python
  m4_head "$1" "m4_$1_cpu" NHITS
  width "$channels"
  nhits_model
  ARGS+=(--batch_size 64 --eval_batch_size 1024 --learning_rate 0.001 --lradj constant
         --lr_quirk off --max_grad_norm 1.0 --train_epochs 60 --patience 10 --test_every_epoch 0)
  run_tail MASE cpu
}

# TimesNet (Wu et al., ICLR 2023). Source: Time-Series-Library's scripts/long_term_forecast/
# ETT_script/TimesNet_ETTh1.sh (thuml) and the defaults of its run.py: seq_len 96, label_len 48,
# 2 TimesBlocks, d_model 16, d_ff 32, top_k 5, 6 Inception kernels, dropout
# 0.1, calendar features timeF, batch 32 (also for validation and test), Adam lr 1e-4 with type1
# halving, 10 epochs, patience 3, seed 2021 (its fix_seed). --factor 3 is in their script and unread.
recipe_TimesNet() {
  local pred_len=$1
  case "$data" in
    ETTh1) ;;
    *) no_recipe TimesNet "$pred_len" ;;
  esac
  long_head TimesNet "${data}_96_${pred_len}" M
  window 96 48 "$pred_len"
  width "$channels"
  ARGS+=(--e_layers 2 --d_layers 1 --factor 3 --d_model 16 --d_ff 32 --top_k 5
         --num_kernels 6 --dropout 0.1 --embed timeF --freq h --batch_size 32 --eval_batch_size 32
         --learning_rate 0.0001 --lradj type1 --train_epochs 10 --patience 3)
  baseline_tail off
}
