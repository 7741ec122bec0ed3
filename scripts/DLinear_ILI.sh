#!/usr/bin/env bash
# DLinear (Zeng et al., AAAI 2023) on ILI, multivariate.
# LTSF-Linear's recipe (scripts/EXP-LongForecasting/DLinear/): seq_len 104, per-dataset batch size
# and learning rate, Adam, MSE, type1 halving from the learning rate, 10 epochs, early-stopping
# patience 3 (the defaults of LTSF-Linear's run_longExp.py). Use --individual 1 for DLinear-I.
#
# Run from the repository root. NUM_PROCESSES (default 1) and MIXED_PRECISION (no | fp16 | bf16,
# default no) choose the launch; batch sizes are per process, so the recipe is reproduced with
# one process. Extra arguments are passed on to run_main.py (e.g. --train_epochs 1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/threads.sh"
seq_len=104
label_len=18
batch=32
lr=0.05
for pred_len in ${PRED_LENS:-24 36 48 60}; do
  accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
    --mixed_precision "${MIXED_PRECISION:-no}" run_main.py \
    --task_name long_term_forecast \
    --is_training 1 \
    --root_path ./dataset/illness/ \
    --data_path national_illness.csv \
    --data ILI \
    --model_id "ILI_${seq_len}_${pred_len}" \
    --model DLinear \
    --features M \
    --seq_len "$seq_len" \
    --label_len "$label_len" \
    --pred_len "$pred_len" \
    --enc_in 7 \
    --dec_in 7 \
    --c_out 7 \
    --moving_avg 25 \
    --individual 0 \
    --batch_size "$batch" \
    --eval_batch_size "$batch" \
    --learning_rate "$lr" \
    --lradj type1 \
    --train_epochs 10 \
    --patience 3 \
    --channel_independence 0 \
    --lr_quirk off \
    --loss MSE \
    --des Exp \
    --itr 1 \
    --seed 2021 \
    "$@"
done
