#!/usr/bin/env bash
# A results campaign, one run at a time: each named run of a results runner is run (resumed where
# it stopped, skipped once finished), then collected into docs/results (`python -m report collect`,
# then `python -m report check`), and with COMMIT=1 committed with the regenerated RESULTS.md and
# README block. A queue cut off at any point is resumed by starting it again with the same names.
#
#   RUNS=~/runs/fewshot10 COMMIT=1 OMP_NUM_THREADS=2 \
#     setsid nohup bash scripts/results/queue.sh NAME ... > ~/runs/queue.log 2>&1 < /dev/null &
#
# NAME: a run of the runner; `DRY_RUN=1 RUNS=... bash scripts/results/ETTh1_fewshot10.sh` lists
# them all (finished ones say "done"). Selection runs (names with _lr<value>_, issue 25's GPT4TS
# learning rates) are run but not collected: runs.csv holds the run at the chosen value.
#   RUNNER   the results runner (default scripts/results/ETTh1_fewshot10.sh); TABLE its table
#            in runs.csv (default fewshot10); STAGES the runner's stages searched (default all)
#   FROM     another checkout to run from, e.g. a worktree pinned at a commit
#            (`git worktree add ~/campaign HEAD`), so that editing this one never changes a
#            running campaign; collecting and committing happen in this checkout
#   FROM_COMMIT  first move FROM to this commit (detached)
#   WAIT_PID first wait for this process to end (a run that an earlier queue left running)
#   DRY_RUN=1    print each run's command and what would be collected; nothing runs
set -uo pipefail

# The whole script is one function, read before it runs: editing this file (or checking out
# another commit) while a queue runs cannot change what that queue does.
main() {
  HERE="$(cd "$(dirname "$0")/../.." && pwd)"
  FROM="${FROM:-$HERE}"
  RUNNER="${RUNNER:-scripts/results/ETTh1_fewshot10.sh}"
  TABLE="${TABLE:-fewshot10}"
  RUNS="${RUNS:-$HOME/runs/fewshot10}"
  PY="${FACTS_PYTHON:-python}"
  [ "$#" -gt 0 ] || { echo "queue.sh: no run names given (DRY_RUN=1 bash $RUNNER lists them)" >&2; exit 2; }
  [ -f "$FROM/$RUNNER" ] || { echo "queue.sh: no runner $FROM/$RUNNER (set RUNNER or FROM)" >&2; exit 2; }
  stamp() { date -u +%FT%TZ; }

  if [ -n "${WAIT_PID:-}" ]; then
    echo "== $(stamp) waiting for process $WAIT_PID"
    while kill -0 "$WAIT_PID" 2> /dev/null; do sleep 20; done
  fi
  if [ -n "${FROM_COMMIT:-}" ]; then
    git -C "$FROM" checkout -q --detach "$FROM_COMMIT" || { echo "queue.sh: cannot move $FROM to $FROM_COMMIT" >&2; exit 2; }
  fi
  echo "== $(stamp) running from $FROM at $(git -C "$FROM" rev-parse --short HEAD 2> /dev/null || echo '?')"

  for name in "$@"; do
    echo "== $(stamp) $name"
    planned=$(cd "$FROM" && ONLY="$name" STAGES="${STAGES:-a b c d e}" RUNS="$RUNS" DRY_RUN=1 bash "$RUNNER" 2> /dev/null)
    if [ -z "$planned" ]; then
      echo "$name: not a run of $RUNNER (DRY_RUN=1 bash $RUNNER lists them); skipped"
      continue
    fi
    if [ -n "${DRY_RUN:-}" ]; then
      echo "$planned"
    else
      (cd "$FROM" && ONLY="$name" STAGES="${STAGES:-a b c d e}" RUNS="$RUNS" bash "$RUNNER")
    fi
    case "$name" in *_lr[0-9]*_*) echo "$name: a selection run, not collected"; continue ;; esac
    if [ -n "${DRY_RUN:-}" ]; then
      echo "$name: would be collected into table $TABLE${COMMIT:+ and committed}"
      continue
    fi
    if ! compgen -G "$RUNS/$name/results/*/metrics.json" > /dev/null; then
      echo "$name: not finished, not collected (see $RUNS/$name/log.txt)"
      continue
    fi
    (cd "$HERE" && "$PY" -m report collect "$RUNS/$name" --table "$TABLE" && "$PY" -m report check) \
      || { echo "$name: collect or check FAILED"; continue; }
    if [ -n "${COMMIT:-}" ]; then
      files=(docs/results docs/RESULTS.md README.md)
      (cd "$HERE" && git add "${files[@]}" && if git diff --cached --quiet -- "${files[@]}"; then
         echo "$name: collected, already committed"
       else
         git commit -q -m "Results: $name (table $TABLE; collected by scripts/results/queue.sh)" -- "${files[@]}" \
           && echo "$name: collected and committed"
       fi) || echo "$name: collected, commit FAILED"
    else
      echo "$name: collected"
    fi
  done
  echo "== $(stamp) queue done"
}

main "$@"; exit
