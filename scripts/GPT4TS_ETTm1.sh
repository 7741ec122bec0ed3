#!/usr/bin/env bash
# GPT4TS, "One Fits All" (Zhou et al., NeurIPS 2023), on ETTm1, multivariate (one channel per sample).
# The recipe (values and their sources): recipe_GPT4TS in scripts/recipes.sh. scripts/launch.sh
# runs it once per horizon of ${PRED_LENS:-the dataset's}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# LLM_MODEL (default GPT2, the paper's; SmolLM2 offline) and LLM_LAYERS (default 6) pick the backbone.
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" GPT4TS ETTm1 "$@"
