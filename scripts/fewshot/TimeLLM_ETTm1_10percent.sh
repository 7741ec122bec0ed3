#!/usr/bin/env bash
# Time-LLM few-shot forecasting on ETTm1 with 10% of the training split: paper Table 3.
# The paper's few-shot runs keep the long-term configuration, so this runs scripts/TimeLLM_ETTm1.sh
# (its recipe in scripts/recipes.sh lists the hyperparameters and their sources) with PERCENT=10:
# the training split ends after the first 10% of its windows; validation, test and the scaler
# (fitted on the whole training split) are unchanged. The model_id ends in _p10
# (e.g. ETTm1_512_96_p10).
# NUM_PROCESSES, MIXED_PRECISION, USE_DEEPSPEED, LLM_MODEL and LLM_LAYERS work as there; extra
# arguments go to run_main.py. Run from the repository root.
set -euo pipefail
PERCENT=10 exec bash "$(dirname "$0")/../TimeLLM_ETTm1.sh" "$@"
