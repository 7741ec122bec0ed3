#!/usr/bin/env bash
# CPU profile: N-BEATS-G on M4 Hourly (414 series, H 48, seq_len 96), sized for a shared 2-core
# CPU. The paper's recipe is scripts/NBEATS_M4.sh (PATTERNS=Hourly runs only this pattern).
#
# Settings that differ from that recipe (itself one model of the paper's 180-model ensemble):
#   blocks        6 blocks of 2 layers x 256     (recipe: 30 blocks of 4 layers x 512)
#   batch         64 windows, 7 steps an epoch of the 414 series (recipe: 1024)
#   training      at most 60 epochs, early stopping on the held-out last H points with patience
#                 10 (recipe: 5000 iterations, no stop)
#   loss          MASE, one of the paper's three ensemble losses (the recipe's default: sMAPE)
# Unchanged: generic basis, Adam lr 1e-3 (constant), gradient norm clipped at 1, seq_len 2H,
# label_len H, seed 2021.
#
# Measured (2026-12-03, one process, one thread, a 2-core CPU shared with other jobs): early
#   stop after epoch 47 (best 37), Hourly sMAPE 16.696, MASE 2.100, OWA 0.893 (Naive2: 18.383,
#   2.395, 1.000), ~10 min. The same profile with the sMAPE loss: stop after epoch 59 (best 49),
#   sMAPE 16.550, MASE 2.988, OWA 1.074.
#
# The values: recipe_NBEATS_cpu_M4 in scripts/recipes.sh, run by scripts/launch.sh as one
# `python run_main.py` process (PRED_LENS and the other launch variables do not apply).
# Run from the repository root: bash scripts/cpu/NBEATS_M4_Hourly.sh [extra run_main.py flags]
set -euo pipefail
exec bash "$(dirname "$0")/../launch.sh" NBEATS_cpu_M4 m4 "$@"
