#!/usr/bin/env bash
# Time-LLM zero-shot transfer ETTh1 -> ETTh2: train (and early-stop) on ETTh1, test on ETTh2
# without seeing any of its data: paper Table 5.
# Hyperparameters: the source's long-term configuration, scripts/TimeLLM_ETTh1.sh, made zero-shot
# by TEST_DATA (recipe_TimeLLM in scripts/recipes.sh lists the values and their sources: 5
# training epochs as in the authors' scripts/TimeLLM_ETTh1_ETTh2.sh). The ETTh2 test set is read
# from its standard file (dataset/ETT-small/ETTh2.csv) with its own scaler fitted on its own
# training rows; the results folder ends in _to_ETTh2.
# NUM_PROCESSES, MIXED_PRECISION, USE_DEEPSPEED, LLM_MODEL, LLM_LAYERS work as there; extra
# arguments go to run_main.py. Run from the repository root.
set -euo pipefail
TEST_DATA=ETTh2 exec bash "$(dirname "$0")/../TimeLLM_ETTh1.sh" "$@"
