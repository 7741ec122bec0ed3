"""A run's results are never lost, mixed or mislabelled: resume refuses a run whose flags changed,
two live runs never share a folder, a test from a checkpoint keeps what training recorded and
refuses other columns, and an interrupted run says how to continue. Real ETTh1, tiny DLinear runs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers.project import ROOT
from tests.helpers.runs import DLINEAR, only_metrics, run_main
from utils.run_lock import LOCK_NAME, RunLock

SHORT = [*DLINEAR, "--model_id", "guard"]
SHORT[SHORT.index("--train_epochs") + 1] = "2"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root):
    """A finished two-epoch DLinear run (checkpoints and results); tests work on copies."""
    tmp = tmp_path_factory.mktemp("trained")
    run_main(SHORT, tmp)
    return tmp


def copy_of(trained, tmp_path):
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    return tmp_path


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one stderr line of a refused run (exit status 2)."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    return lines[0]


def test_resume_refuses_a_run_whose_flags_changed(trained, tmp_path):
    copy_of(trained, tmp_path)
    lr = SHORT[SHORT.index("--learning_rate") + 1]
    changed = [*SHORT, "--resume", "--learning_rate", "0.02", "--seed", "7"]
    # fresh results folder, the same checkpoints: the resume itself must refuse
    cmd = [sys.executable, "run_main.py", *changed, "--checkpoints", str(tmp_path / "ckpt"),
           "--results_dir", str(tmp_path / "other")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    line = error_line(proc)
    assert f"--learning_rate {lr} (now 0.02)" in line and "--seed 2021 (now 7)" in line
    assert not list((tmp_path / "other").glob("*/metrics.json"))
    # flags that change only the cost may differ
    same = [*SHORT, "--resume", "--eval_batch_size", "128"]
    cmd = [sys.executable, "run_main.py", *same, "--checkpoints", str(tmp_path / "ckpt"),
           "--results_dir", str(tmp_path / "third")]
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(next((tmp_path / "third").glob("*/metrics.json")).read_text())["metrics"]["mse"] == \
        only_metrics(tmp_path)["metrics"]["mse"]


def test_a_folder_held_by_a_live_run_is_refused_and_a_stale_lock_is_taken(trained, tmp_path):
    copy_of(trained, tmp_path)
    setting = only_metrics(tmp_path)["setting"]
    results = tmp_path / "results" / setting
    assert not (results / LOCK_NAME).exists()  # released at the end
    with RunLock([results]):  # this test process is a live owner
        proc = run_main([*SHORT, "--overwrite"], tmp_path, check=False)
        line = error_line(proc)
        assert f"{results} is in use by another run (pid {os.getpid()}" in line
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (results / LOCK_NAME).write_text(json.dumps({"host": os.uname().nodename, "pid": dead.pid,
                                                 "started": "2026-01-01 00:00:00"}))
    again = run_main([*SHORT, "--overwrite"], tmp_path)     # a killed run's lock: taken over
    assert again.returncode == 0 and not (results / LOCK_NAME).exists()


def test_two_runs_of_one_setting_at_once_one_is_refused(tmp_path, data_root):
    """Two processes that differ only in a flag the setting does not name: one runs, the other
    gets one line and exit 2; one metrics.json, the winner's."""
    procs = []
    for lr in ("0.005", "0.001"):
        args = [*SHORT, "--learning_rate", lr, "--checkpoints", str(tmp_path / "ckpt"),
                "--results_dir", str(tmp_path / "results")]
        procs.append(subprocess.Popen([sys.executable, "run_main.py", *args], cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env={**os.environ, "OMP_NUM_THREADS": "1"}))
    outs = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], outs
    loser = outs[codes.index(2)][1]
    assert "in use by another run" in loser or "results already exist" in loser
    m = only_metrics(tmp_path)
    assert m["args"]["learning_rate"] == float(("0.005", "0.001")[codes.index(0)])


def test_testing_from_the_checkpoint_keeps_the_training_record(trained, tmp_path):
    copy_of(trained, tmp_path)
    trained = only_metrics(tmp_path)
    run_main([*SHORT, "--is_training", "0", "--do_predict", "1", "--overwrite"], tmp_path)
    tested = only_metrics(tmp_path)
    assert tested["history"] == trained["history"] and len(trained["history"]) == 2
    assert tested["lr_schedule"] == trained["lr_schedule"] != "none (nothing to train)"
    assert tested["provenance"]["started"] == trained["provenance"]["started"]
    assert tested["provenance"]["tested"]["commit"] == trained["provenance"]["started"]["commit"]
    assert tested["wall_seconds"] > trained["wall_seconds"] * 0.9
    assert tested["metrics"]["mse"] == trained["metrics"]["mse"]


def test_a_checkpoint_is_never_scored_on_other_columns(tmp_path, data_root):
    univariate = [*SHORT, "--features", "S", "--target", "OT", "--enc_in", "1", "--dec_in", "1", "--c_out", "1"]
    run_main(univariate, tmp_path)
    before = only_metrics(tmp_path)
    proc = run_main([*univariate, "--target", "HUFL", "--is_training", "0", "--overwrite"], tmp_path, check=False)
    line = error_line(proc)
    assert "trained on columns OT" in line and "HUFL" in line
    assert only_metrics(tmp_path) == before  # the trained run's results stay


def test_an_interrupted_run_says_how_to_continue(tmp_path, data_root):
    long = [*SHORT, "--train_epochs", "50", "--patience", "50", "--percent", "100"]
    cmd = [sys.executable, "run_main.py", *long, "--checkpoints", str(tmp_path / "ckpt"),
           "--results_dir", str(tmp_path / "results")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 300
    while time.time() < deadline and not list((tmp_path / "ckpt").glob("*/state.pt")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: the run keeps its last saved epoch; continue it with: python run_main.py ")
    assert last.endswith("--resume") and "Traceback" not in err
    assert not list((tmp_path / "results").rglob(LOCK_NAME))  # the lock went with the run


@pytest.mark.parametrize("flag", ["--eval_batch_size", "--results_dir"])
def test_cost_only_flags_are_not_the_runs_identity(flag, args_from, tmp_path):
    from exp.config import COST_ONLY_FLAGS, build_config, identity_differences
    cfg = build_config(args_from(*DLINEAR, "--results_dir", tmp_path, "--checkpoints", tmp_path))
    saved = dict(cfg.as_dict(), **{flag[2:]: "changed"}, learning_rate=1.0)
    assert flag[2:] in COST_ONLY_FLAGS
    assert identity_differences(saved, cfg) == {"learning_rate": (1.0, cfg.learning_rate)}


def test_every_entry_point_ends_a_user_error_the_same_way(capsys):
    """utils.errors.exit_status: one line and status 2 for a user error, the command's own status
    otherwise, and anything else (a bug) still a traceback."""
    from utils.errors import ConfigError, exit_status

    def refuse():
        raise ConfigError("--seq_len must be at least 1, got 0")

    assert exit_status(refuse) == 2
    assert capsys.readouterr().err == "error: --seq_len must be at least 1, got 0\n"
    assert (exit_status(lambda: 3), exit_status(lambda: None), exit_status(lambda: "done")) == (3, 0, 0)
    assert exit_status(lambda: int("x"), catch=(ValueError,)) == 2
    with pytest.raises(ZeroDivisionError):
        exit_status(lambda: 1 / 0)
