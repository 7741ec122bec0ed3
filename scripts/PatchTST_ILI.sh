#!/usr/bin/env bash
# PatchTST (Nie et al., ICLR 2023), supervised, on ILI, multivariate.
# The authors' supervised recipe (PatchTST_supervised/scripts): ILI uses L=104, patch 24, stride 2
# (the authors' illness.sh). lradj constant, 100 epochs, patience 100 (the authors' default: no
# early stop), seed 2021.
# Note: the authors' trainer always builds a OneCycleLR, so their first epoch ran at learning_rate
# / 25 (and Adam beta1 0.95) before the epoch-wise schedule took over: --lr_quirk first_epoch reproduces that.
#
# Run from the repository root. NUM_PROCESSES (default 1) and MIXED_PRECISION (no | fp16 | bf16,
# default no) choose the launch; batch sizes are per process, so the recipe is reproduced with
# one process. Extra arguments are passed on to run_main.py (e.g. --train_epochs 1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/threads.sh"
seq_len=104   # PatchTST's ILI setting (patch 24, stride 2)
label_len=18
for pred_len in ${PRED_LENS:-24 36 48 60}; do
  accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
    --mixed_precision "${MIXED_PRECISION:-no}" run_main.py \
    --task_name long_term_forecast \
    --is_training 1 \
    --root_path ./dataset/illness/ \
    --data_path national_illness.csv \
    --data ILI \
    --model_id "ILI_${seq_len}_${pred_len}" \
    --model PatchTST \
    --features M \
    --seq_len "$seq_len" \
    --label_len "$label_len" \
    --pred_len "$pred_len" \
    --enc_in 7 \
    --dec_in 7 \
    --c_out 7 \
    --e_layers 3 \
    --n_heads 4 \
    --d_model 16 \
    --d_ff 128 \
    --dropout 0.3 \
    --fc_dropout 0.3 \
    --head_dropout 0 \
    --patch_len 24 \
    --stride 2 \
    --padding_patch end \
    --revin 1 \
    --affine 0 \
    --subtract_last 0 \
    --individual 0 \
    --batch_size 16 \
    --eval_batch_size 16 \
    --learning_rate 0.0025 \
    --lradj constant \
    --pct_start 0.3 \
    --train_epochs 100 \
    --patience 100 \
    --channel_independence 0 \
    --lr_quirk first_epoch \
    --loss MSE \
    --des Exp \
    --itr 1 \
    --seed 2021 \
    "$@"
done
