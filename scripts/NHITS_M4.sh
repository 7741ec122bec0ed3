#!/usr/bin/env bash
# N-HiTS (Challu et al., AAAI 2023) on M4, per pattern. Neither the paper nor the authors'
# repository gives an M4 configuration: the recipe takes the authors' model defaults (their
# library's NHITS, the fixed part of their long-horizon search space); its sources and what
# differs: recipe_NHITS_M4 in scripts/recipes.sh. scripts/launch.sh runs it once per pattern of
# ${PATTERNS:-all six}, as
#   accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
#     --mixed_precision "${MIXED_PRECISION:-no}" run_main.py <the recipe's flags> "$@"
# Extra arguments go to run_main.py and win over the recipe. Run from the repository root.
set -euo pipefail
exec bash "$(dirname "$0")/launch.sh" NHITS_M4 m4 "$@"
