#!/usr/bin/env bash
# PatchTST (Nie et al., ICLR 2023), supervised, on ETTm2, multivariate.
# The authors' supervised recipe (PatchTST_supervised/scripts): VARIANT=42 (default, L=336) or
# VARIANT=64 (L=512), patch 16, stride 8. lradj TST (OneCycle, pct_start 0.4, stepped per batch),
# 100 epochs, patience 20, seed 2021.
#
# Run from the repository root. NUM_PROCESSES (default 1) and MIXED_PRECISION (no | fp16 | bf16,
# default no) choose the launch; batch sizes are per process, so the recipe is reproduced with
# one process. Extra arguments are passed on to run_main.py (e.g. --train_epochs 1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/threads.sh"
# PatchTST/42: L=336 (42 patches); PatchTST/64: VARIANT=64 gives L=512 (64 patches)
case "${VARIANT:-42}" in
  42) seq_len=336 ;;
  64) seq_len=512 ;;
  *) echo "VARIANT must be 42 or 64" >&2; exit 2 ;;
esac
label_len=48
for pred_len in ${PRED_LENS:-96 192 336 720}; do
  accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
    --mixed_precision "${MIXED_PRECISION:-no}" run_main.py \
    --task_name long_term_forecast \
    --is_training 1 \
    --root_path ./dataset/ETT-small/ \
    --data_path ETTm2.csv \
    --data ETTm2 \
    --model_id "ETTm2_${seq_len}_${pred_len}" \
    --model PatchTST \
    --features M \
    --seq_len "$seq_len" \
    --label_len "$label_len" \
    --pred_len "$pred_len" \
    --enc_in 7 \
    --dec_in 7 \
    --c_out 7 \
    --e_layers 3 \
    --n_heads 16 \
    --d_model 128 \
    --d_ff 256 \
    --dropout 0.2 \
    --fc_dropout 0.2 \
    --head_dropout 0 \
    --patch_len 16 \
    --stride 8 \
    --padding_patch end \
    --revin 1 \
    --affine 0 \
    --subtract_last 0 \
    --individual 0 \
    --batch_size 128 \
    --eval_batch_size 128 \
    --learning_rate 0.0001 \
    --lradj TST \
    --pct_start 0.4 \
    --train_epochs 100 \
    --patience 20 \
    --channel_independence 0 \
    --lr_quirk first_epoch \
    --loss MSE \
    --des Exp \
    --itr 1 \
    --seed 2021 \
    "$@"
done
