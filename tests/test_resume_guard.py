"""Resumable runs and the non-finite loss guard, on real ETTh1."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers.project import ROOT
from tests.helpers.runs import DLINEAR, only_metrics, run_main

RESUME = [a for a in DLINEAR] + ["--model_id", "resume"]
RESUME[RESUME.index("--train_epochs") + 1] = "6"
RESUME[RESUME.index("--patience") + 1] = "10"
RESUME[RESUME.index("--percent") + 1] = "100"


def test_killed_run_resumes_to_the_same_metrics(tmp_path, data_root):
    straight = tmp_path / "straight"
    run_main(RESUME, straight)
    want = only_metrics(straight)

    killed = tmp_path / "killed"
    cmd = [sys.executable, "run_main.py", *RESUME, "--checkpoints", str(killed / "ckpt"),
           "--results_dir", str(killed / "results")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    state = None
    while time.time() < deadline and proc.poll() is None:
        found = list((killed / "ckpt").glob("*/state.pt"))
        if found:  # epoch 1 is saved: kill at once, five epochs are still to run
            state = found[0]
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert state is not None, "the run ended before it saved a resumable state"
    finished = list((killed / "results").glob("*/metrics.json"))  # [] when the folder is absent
    assert not finished, "the run finished before the kill; lengthen RESUME"

    resumed = run_main([*RESUME, "--resume"], killed)
    assert "Resumed" in resumed.stdout + resumed.stderr
    got = only_metrics(killed)
    assert got["metrics"]["mse"] == want["metrics"]["mse"]
    assert got["metrics"]["mae"] == want["metrics"]["mae"]
    assert got["best_epoch"] == want["best_epoch"]
    assert [r["vali_loss"] for r in got["history"]] == [r["vali_loss"] for r in want["history"]]
    # provenance: the code the run started from, and the resume's own after the saved epoch
    started, (resumed,) = got["provenance"]["started"], got["provenance"]["resumed"]
    assert started == want["provenance"]["started"] and got["commit"] == want["commit"]
    assert resumed["after_epoch"] >= 1 and resumed["commit"] == started["commit"]
    # and the machine of each process: OMP_NUM_THREADS=1 for both
    assert started["machine"]["threads"] == resumed["machine"]["threads"] == 1
    assert started["machine"]["device"] == "cpu" and started["machine"]["torch"] == torch.__version__


def test_machine_label_names_each_machine_once():
    from exp.results import machine_info, machine_label
    here = machine_info()
    assert here["threads"] == torch.get_num_threads() and here["cores"] == os.cpu_count()
    a = {"threads": 2, "capability": "AVX512", "device": "cpu"}
    b = {"threads": 1, "capability": "AVX2", "device": "cpu"}
    gpu = {"threads": 8, "capability": "AVX512", "device": "NVIDIA H100 80GB HBM3"}
    entry = lambda m: {"commit": "abc", "machine": m}
    assert machine_label({"started": entry(a), "resumed": [entry(a)]}) == "2 threads, AVX512"
    assert machine_label({"started": entry(a), "resumed": [entry(b), entry(a)]}) == "2 threads, AVX512 / 1 thread, AVX2"
    assert machine_label({"started": entry(gpu), "resumed": []}) == "8 threads, NVIDIA H100 80GB HBM3"
    assert machine_label({"started": {"commit": "abc"}, "resumed": []}) == "—"   # before machines were kept
    assert machine_label(None) == "—"


def test_provenance_names_the_commit_and_hashes_the_changes(tmp_path):
    from exp.results import commit_label, source_provenance
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    clean = source_provenance(tmp_path)
    assert clean["dirty"] is False and clean["diff_sha256"] is None and len(clean["commit"]) == 40
    assert commit_label(clean) == clean["commit"]
    (tmp_path / "code.py").write_text("x = 2\n")
    edited = source_provenance(tmp_path)
    assert edited["dirty"] and edited["commit"] == clean["commit"] and commit_label(edited).endswith("+dirty")
    assert source_provenance(tmp_path) == edited                      # the same changes, the same hash
    (tmp_path / "new.py").write_text("y = 1\n")                       # an untracked module counts too
    assert source_provenance(tmp_path)["diff_sha256"] != edited["diff_sha256"]
    assert source_provenance(tmp_path / "nowhere") is None            # not a checkout


def test_non_finite_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path, data_root,
                                                                             monkeypatch):
    """A model whose output turns NaN in epoch 2: the run stops naming the step; epoch 1's
    checkpoint is left as it was."""
    import models
    from exp.exp_main import run
    from models.DLinear import Model as DLinear
    from run_main import build_parser
    from utils.errors import UserError

    class NaNInEpochTwo(DLinear):
        calls = 0

        def forward(self, *a):
            out = super().forward(*a)
            if self.training:
                type(self).calls += 1
                if type(self).calls > self.steps_per_epoch + 3:
                    return out * float("nan")
            return out

    args = build_parser().parse_args([*DLINEAR, "--model_id", "nan", "--train_epochs", "3",
                                      "--checkpoints", str(tmp_path / "ckpt"),
                                      "--results_dir", str(tmp_path / "results")])
    fake = type(sys)("nan_model")
    fake.Model = NaNInEpochTwo
    monkeypatch.setitem(sys.modules, "nan_model", fake)
    monkeypatch.setitem(models.MODEL_REGISTRY, "DLinear", "nan_model")
    from data_provider.data_factory import data_provider
    from utils.tools import set_seed
    set_seed(0)
    args_probe = build_parser().parse_args([*DLINEAR])
    args_probe.channel_independence = 0
    NaNInEpochTwo.steps_per_epoch = len(data_provider(args_probe, "train")[1])

    with pytest.raises(UserError) as err:
        run(args)
    msg = str(err.value)
    assert "non-finite" in msg and "epoch 2" in msg and "step 4" in msg and "learning_rate" in msg
    assert "\n" not in msg
    import torch
    ckpt = torch.load(next((tmp_path / "ckpt").glob("*/checkpoint.pt")), weights_only=False)
    assert ckpt["epoch"] == 1  # the last good weights, untouched by the failing epoch
    assert all(torch.isfinite(t).all() for t in ckpt["state_dict"].values())
    assert not list((tmp_path / "results").glob("*/metrics.json"))  # [] when the folder is absent


@pytest.mark.parametrize("every, saved", [(0, [1, 2, 3]), (1e9, [3])])
def test_resume_state_saves_are_spaced_by_save_state_every(tmp_path, data_root, monkeypatch, every, saved):
    """0 saves after every epoch; a long interval still saves the last epoch's state, and the
    run resumes from it as finished."""
    from exp.exp_main import Trainer
    from timellm_api import Forecaster

    epochs = []
    real = Trainer._save_state

    def spy(self, model, optimizer, lr_ctrl, early, epoch):
        epochs.append(epoch)
        return real(self, model, optimizer, lr_ctrl, early, epoch)

    monkeypatch.setattr(Trainer, "_save_state", spy)
    flags = dict(model="DLinear", data="ETTh1", root_path=str(ROOT / "dataset" / "ETT-small") + "/",
                 data_path="ETTh1.csv", features="M", seq_len=96, label_len=48, pred_len=24,
                 batch_size=64, eval_batch_size=256, train_epochs=3, patience=10, percent=10,
                 des="spaced", model_id="spaced", test_every_epoch=0, save_state_every=every,
                 checkpoints=str(tmp_path / "ckpt"), results_dir=str(tmp_path / "results"))
    Forecaster(**flags).fit()
    assert epochs == saved
    epochs.clear()
    again = Forecaster(**{**flags, "resume": True}).fit()
    assert epochs == [] and len(again.history) == 3   # the saved state is the finished run's
