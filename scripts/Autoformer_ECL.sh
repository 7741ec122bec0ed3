#!/usr/bin/env bash
# Autoformer (Wu et al., NeurIPS 2021) on ECL, multivariate.
# The recipe (values and their sources): recipe_Autoformer in scripts/recipes.sh. scripts/launch.sh
# runs it once per horizon of ${PRED_LENS:-the dataset's}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" Autoformer ECL "$@"
