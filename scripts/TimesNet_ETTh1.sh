#!/usr/bin/env bash
# TimesNet (Wu et al., ICLR 2023) on ETTh1, multivariate, seq_len 96.
# The recipe (values and their sources): recipe_TimesNet in scripts/recipes.sh. scripts/launch.sh
# runs it once per horizon of ${PRED_LENS:-the dataset's}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" TimesNet ETTh1 "$@"
