#!/usr/bin/env bash
# Time-LLM zero-shot transfer ETTm2 -> ETTm1: train (and early-stop) on ETTm2, test on ETTm1
# without seeing any of its data: paper Table 5.
# Hyperparameters: the source's long-term configuration, scripts/TimeLLM_ETTm2.sh, made zero-shot
# by TEST_DATA (recipe_TimeLLM in scripts/recipes.sh lists the values and their sources: 5
# training epochs as in the authors' scripts/TimeLLM_ETTh1_ETTh2.sh). The ETTm1 test set is read
# from its standard file (dataset/ETT-small/ETTm1.csv) with its own scaler fitted on its own
# training rows; the results folder ends in _to_ETTm1.
# NUM_PROCESSES, MIXED_PRECISION, USE_DEEPSPEED, LLM_MODEL, LLM_LAYERS work as there; extra
# arguments go to run_main.py. Run from the repository root.
set -euo pipefail
TEST_DATA=ETTm1 exec bash "$(dirname "$0")/../TimeLLM_ETTm2.sh" "$@"
