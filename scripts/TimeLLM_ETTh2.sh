#!/usr/bin/env bash
# Time-LLM (Jin et al., ICLR 2024), ETTh2, long-term forecasting, multivariate (features M): paper Table 1.
# Hyperparameters: the authors' scripts/TimeLLM_ETTh2.sh (KimMeen/Time-LLM): seq_len 512,
# label_len 48, batch 24 per process on 8 GPUs, 10 epochs; 96: d_model 32, d_ff 128, lr 0.01 type1;
# 192: lr 0.002 TST; 336: lr 0.005 TST; 720: d_model 16, d_ff 128, lr 0.005 TST, 20 epochs.
# Unchanged across datasets (the reference's run_main.py defaults): n_heads 8, patch 16,
# stride 8, 1000 text prototypes, eval batch 8, dropout 0.1, seed 2021, MSE loss, and the
# reference's OneCycle lr/25 start of epoch-wise schedules (--lr_quirk auto = on for TimeLLM).
#
# Launch (environment variables; the defaults give one process, as on a single GPU or a CPU):
#   NUM_PROCESSES    processes for `accelerate launch`, default 1 (the paper: 8 GPUs)
#   MIXED_PRECISION  no | fp16 | bf16, default no; the paper ran bf16 - on GPUs use MIXED_PRECISION=bf16
#   USE_DEEPSPEED    1 = DeepSpeed ZeRO-2 from ds_config_zero2.json (bf16 follows MIXED_PRECISION), default 0
#   LLM_MODEL        backbone, default LLAMA (huggyllama/llama-7b); SmolLM2 | MiniLM | GPT2 | BERT
#   LLM_LAYERS       keep the first k layers of the backbone, default 32
#   PERCENT          percentage of the training split, default 100 (scripts/fewshot/ sets 10 or 5;
#                    the model_id then ends in _p<PERCENT> so the runs do not collide)
# batch_size is per process: the paper's global batch is batch x 8 GPUs; with one process it is
# 8x smaller, which changes the optimisation (say so when comparing).
# Run from the repository root; extra arguments go to run_main.py on every horizon and win over
# the values here (e.g. --train_epochs 1, --results_dir DIR, --llm_path FOLDER, --test_data ETTh2).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/threads.sh"
percent="${PERCENT:-100}"
tag=""
if [ "$percent" != 100 ]; then tag="_p${percent}"; fi
seq_len=512
label_len=48
for pred_len in ${PRED_LENS:-96 192 336 720}; do
  batch=24; d_model=32; d_ff=128; lr=0.01; lradj=type1; epochs=10; patience=10
  case "$pred_len" in
    192) lr=0.002; lradj=TST ;;
    336) lr=0.005; lradj=TST ;;
    720) d_model=16; lr=0.005; lradj=TST; epochs=20 ;;
  esac
  accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
    --mixed_precision "${MIXED_PRECISION:-no}" run_main.py \
    --use_deepspeed "${USE_DEEPSPEED:-0}" \
    --llm_model "${LLM_MODEL:-LLAMA}" \
    --llm_layers "${LLM_LAYERS:-32}" \
    --task_name long_term_forecast \
    --is_training 1 \
    --root_path ./dataset/ETT-small/ \
    --data_path ETTh2.csv \
    --data ETTh2 \
    --model_id "ETTh2_${seq_len}_${pred_len}${tag}" \
    --model TimeLLM \
    --features M \
    --freq h \
    --seq_len "$seq_len" \
    --label_len "$label_len" \
    --pred_len "$pred_len" \
    --factor 3 \
    --enc_in 7 \
    --dec_in 7 \
    --c_out 7 \
    --d_model "$d_model" \
    --d_ff "$d_ff" \
    --n_heads 8 \
    --patch_len 16 \
    --stride 8 \
    --num_tokens 1000 \
    --percent "$percent" \
    --batch_size "$batch" \
    --eval_batch_size 8 \
    --learning_rate "$lr" \
    --lradj "$lradj" \
    --train_epochs "$epochs" \
    --patience "$patience" \
    --loss MSE \
    --des Exp \
    --itr 1 \
    --seed 2021 \
    --model_comment TimeLLM-ETTh2 \
    "$@"
done
