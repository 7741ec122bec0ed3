#!/usr/bin/env bash
# PatchTST (Nie et al., ICLR 2023), supervised, on ETTm2, multivariate.
# The recipe (values and their sources): recipe_PatchTST in scripts/recipes.sh. scripts/launch.sh
# runs it once per horizon of ${PRED_LENS:-the dataset's}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# VARIANT=42 (default, L=336) or VARIANT=64 (L=512) picks PatchTST/42 or /64.
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" PatchTST ETTm2 "$@"
