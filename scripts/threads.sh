# Sourced by the run scripts before `accelerate launch`. Without `--cpu`, `accelerate launch` gives
# every process OMP_NUM_THREADS threads, and 1 when that is unset, so a CPU run used one core
# whatever the machine had (measured: 4.2 s per Time-LLM training step on 2 cores instead of 2.1).
# Unless you set OMP_NUM_THREADS yourself, each process gets its share of the cores.
if [ -z "${OMP_NUM_THREADS:-}" ]; then
  OMP_NUM_THREADS=$(( $(nproc) / ${NUM_PROCESSES:-1} ))
  if [ "$OMP_NUM_THREADS" -lt 1 ]; then OMP_NUM_THREADS=1; fi
  export OMP_NUM_THREADS
fi
