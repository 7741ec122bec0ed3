#!/usr/bin/env bash
# DLinear few-shot forecasting on ETTh1 with 10% of the training split, on the protocol of the
# baselines of the Time-LLM paper's Table 3 (One Fits All's few-shot script): recipe_DLinear_fewshot
# in scripts/recipes.sh lists every value and its source. PERCENT (default 10), LR (default 0.001)
# and PRED_LENS work as there and in scripts/launch.sh; extra arguments go to run_main.py.
# Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/../launch.sh" DLinear_fewshot ETTh1 "$@"
