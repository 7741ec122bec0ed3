#!/usr/bin/env bash
# Time-LLM (Jin et al., ICLR 2024), short-term forecasting on M4: paper Table 2.
# The recipe (values and their sources): recipe_TimeLLM_M4 in scripts/recipes.sh, which also reads
# USE_DEEPSPEED, LLM_MODEL, LLM_LAYERS and PATTERNS. scripts/launch.sh runs it
# once per pattern of ${PATTERNS:-all six}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" TimeLLM_M4 m4 "$@"
