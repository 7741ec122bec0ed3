#!/usr/bin/env bash
# The one launcher of the run scripts: each scripts/<Model>_<Dataset>.sh is one call of
#   bash scripts/launch.sh RECIPE DATA [run_main.py flags...]
# It runs the recipe RECIPE of scripts/recipes.sh (the hyperparameters and their sources) on the
# dataset DATA, one launch per run: per horizon of ${PRED_LENS:-the dataset's horizons}, or what
# the recipe loops over (M4: PATTERNS). The extra flags follow the recipe's on every launch and win
# over them (argparse keeps the last value), e.g. --train_epochs 1, --results_dir DIR,
# --llm_path FOLDER, --test_data ETTh2. Run from the repository root.
#
# Launch (environment variables; the defaults give one process, as on a single GPU or a CPU):
#   NUM_PROCESSES    processes for `accelerate launch`, default 1 (the Time-LLM paper: 8 GPUs)
#   MIXED_PRECISION  no | fp16 | bf16, default no; the paper ran bf16 - on GPUs use
#                    MIXED_PRECISION=bf16
#   PRED_LENS        the horizons to run, space-separated, default the dataset's (96 192 336 720)
# A recipe may read more (see scripts/recipes.sh): USE_DEEPSPEED, LLM_MODEL, LLM_LAYERS, PERCENT,
# TEST_DATA, PATTERNS (Time-LLM), VARIANT (PatchTST). Batch sizes are per process: the Time-LLM
# paper's global batch is batch x 8 GPUs; with one process it is 8x smaller, which changes the
# optimisation (say so when comparing). Before `accelerate launch`, scripts/threads.sh gives each
# process its share of the cores (OMP_NUM_THREADS) unless you set it.
#
# The dataset's facts (folder, file, channels, freq, horizons) come from data_provider/datasets.py,
# asked through "${FACTS_PYTHON:-python}" (utils/launches.py, which records launches with stub
# `python` commands, points it at its own interpreter).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/recipes.sh"

[ "$#" -ge 2 ] || fail "usage: bash scripts/launch.sh RECIPE DATA [run_main.py flags...]"
recipe=$1 data=$2
shift 2
if ! declare -F "recipe_$recipe" > /dev/null; then
  valid=$(compgen -A function recipe_)
  fail "unknown recipe '$recipe'; valid: $(echo ${valid//recipe_/})"
fi
facts=$(cd "$here/.." && "${FACTS_PYTHON:-python}" -m data_provider.datasets "$data" \
  folder file channels freq horizons)
mapfile -t fact <<< "$facts"
folder=${fact[0]:-} file=${fact[1]:-} channels=${fact[2]:-} freq=${fact[3]:-} horizons=${fact[4]:-}

runs=${PRED_LENS:-$horizons}
if declare -F "runs_$recipe" > /dev/null; then runs=$("runs_$recipe"); fi
[ -n "$runs" ] || fail "$data has no horizons: set PRED_LENS"
for run in $runs; do
  ARGS=()
  LAUNCHER=accelerate
  "recipe_$recipe" "$run"
  if [ "$LAUNCHER" = python ]; then
    python run_main.py "${ARGS[@]}" "$@"
  else
    source "$here/threads.sh"
    accelerate launch --num_processes "${NUM_PROCESSES:-1}" \
      --mixed_precision "${MIXED_PRECISION:-no}" run_main.py "${ARGS[@]}" "$@"
  fi
done
