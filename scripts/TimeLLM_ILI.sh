#!/usr/bin/env bash
# Time-LLM (Jin et al., ICLR 2024), ILI (national illness), long-term forecasting, multivariate (features M): paper Table 1.
# The recipe (values and their sources): recipe_TimeLLM in scripts/recipes.sh, which also reads
# USE_DEEPSPEED, LLM_MODEL, LLM_LAYERS, PERCENT and TEST_DATA. scripts/launch.sh runs it
# once per horizon of ${PRED_LENS:-the dataset's}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" TimeLLM ILI "$@"
