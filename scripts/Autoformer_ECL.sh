#!/usr/bin/env bash
# Autoformer (Wu et al., NeurIPS 2021) on ECL, multivariate.
# The Autoformer repository's recipe (thuml/Autoformer scripts/): seq_len 96, label_len 48, 2
# encoder + 1 decoder layers, d_model 512, d_ff 2048, 8 heads, moving_avg 25, dropout 0.05, factor
# 3, freq h, batch 32, Adam lr 1e-4, type1 halving, patience 3; epochs as in its scripts.
#
# Run from the repository root. NUM_PROCESSES (default 1) and MIXED_PRECISION (no | fp16 | bf16,
# default no) choose the launch; batch sizes are per process, so the recipe is reproduced with
# one process. Extra arguments are passed on to run_main.py (e.g. --train_epochs 1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/threads.sh"
seq_len=96
label_len=48
factor=3
freq=h
epochs=10
for pred_len in ${PRED_LENS:-96 192 336 720}; do
  accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
    --mixed_precision "${MIXED_PRECISION:-no}" run_main.py \
    --task_name long_term_forecast \
    --is_training 1 \
    --root_path ./dataset/electricity/ \
    --data_path electricity.csv \
    --data ECL \
    --model_id "ECL_${seq_len}_${pred_len}" \
    --model Autoformer \
    --features M \
    --seq_len "$seq_len" \
    --label_len "$label_len" \
    --pred_len "$pred_len" \
    --enc_in 321 \
    --dec_in 321 \
    --c_out 321 \
    --e_layers 2 \
    --d_layers 1 \
    --factor "$factor" \
    --d_model 512 \
    --n_heads 8 \
    --d_ff 2048 \
    --moving_avg 25 \
    --dropout 0.05 \
    --embed timeF \
    --freq "$freq" \
    --activation gelu \
    --batch_size 32 \
    --eval_batch_size 32 \
    --learning_rate 0.0001 \
    --lradj type1 \
    --train_epochs "$epochs" \
    --patience 3 \
    --channel_independence 0 \
    --lr_quirk off \
    --loss MSE \
    --des Exp \
    --itr 1 \
    --seed 2021 \
    "$@"
done
