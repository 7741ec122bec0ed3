#!/usr/bin/env bash
# N-BEATS-G (Oreshkin et al., ICLR 2020) on M4: one model of the paper's ensemble, per pattern.
# The recipe (values, sources and what differs from the paper): recipe_NBEATS_M4 in
# scripts/recipes.sh. scripts/launch.sh runs it once per pattern of ${PATTERNS:-all six}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" NBEATS_M4 m4 "$@"
