"""``run_main.py`` run end to end in a child process, and the command lines of small runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.project import ROOT

# A small DLinear run on real ETTh1 (multivariate view): seconds per epoch on 2 cores.
DLINEAR = ["--task_name", "long_term_forecast", "--model", "DLinear", "--data", "ETTh1",
           "--root_path", "./dataset/ETT-small/", "--data_path", "ETTh1.csv", "--features", "M",
           "--seq_len", "96", "--label_len", "48", "--pred_len", "24", "--enc_in", "7",
           "--dec_in", "7", "--c_out", "7", "--batch_size", "64", "--eval_batch_size", "256",
           "--learning_rate", "0.005", "--train_epochs", "4", "--patience", "1", "--percent", "20",
           "--des", "pytest", "--num_workers", "0"]

# Time-LLM on real ETTh1 with a tiny random backbone (add ``--llm_path``): seconds an epoch.
TIMELLM_TINY = ["--task_name", "long_term_forecast", "--model", "TimeLLM", "--data", "ETTh1",
                "--root_path", "./dataset/ETT-small/", "--data_path", "ETTh1.csv", "--features", "M",
                "--seq_len", "32", "--label_len", "8", "--pred_len", "8", "--enc_in", "7",
                "--d_model", "8", "--d_ff", "16", "--n_heads", "2", "--patch_len", "8", "--stride", "4",
                "--llm_model", "LLAMA", "--llm_layers", "2", "--num_tokens", "20",
                "--batch_size", "64", "--eval_batch_size", "512", "--learning_rate", "0.01",
                "--train_epochs", "2", "--percent", "3", "--des", "tiny"]


def run_main(args: list[str], tmp: Path, check: bool = True, launcher: list[str] | None = None,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """Run run_main.py in the repo with checkpoints and results under ``tmp``."""
    cmd = (launcher or [sys.executable]) + ["run_main.py", *args,
                                            "--checkpoints", str(tmp / "ckpt"),
                                            "--results_dir", str(tmp / "results")]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"run_main failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def only_metrics(tmp: Path) -> dict:
    """The metrics.json of the one run whose results are under ``tmp``."""
    files = list((tmp / "results").glob("*/metrics.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())
