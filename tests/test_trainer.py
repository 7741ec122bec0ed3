"""End-to-end tests of run_main.py and the trainer on the real mirrored data."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.project import ROOT
from tests.helpers.runs import DLINEAR, TIMELLM_TINY, only_metrics, run_main


@pytest.fixture(scope="module")
def dlinear_run(tmp_path_factory, data_root):
    tmp = tmp_path_factory.mktemp("dlinear")
    proc = run_main(["--model_id", "e2e", *DLINEAR], tmp)
    return tmp, proc, only_metrics(tmp)


def test_trains_early_stops_and_reloads_best(dlinear_run):
    tmp, proc, m = dlinear_run
    hist = m["history"]
    assert len(hist) >= 2
    best = min(hist, key=lambda r: r["vali_loss"])
    assert m["best_epoch"] == best["epoch"]
    # the reported test figure is the best epoch's weights, not the last epoch's
    assert m["metrics"]["mse"] == pytest.approx(best["test_loss"], rel=1e-5)
    # patience 1: stops one epoch after the last improvement (or at the epoch limit)
    assert len(hist) == min(4, best["epoch"] + 1)
    # every test window of ETTh1 (pred_len 24, seq_len 96): 2880 - 24 + 1
    assert m["metrics"]["n_samples"] == 2857
    folder = Path(m["checkpoint"]).parent
    assert (folder / "checkpoint.pt").exists() and (folder / "state.pt").exists()
    res = tmp / "results" / m["setting"]
    for name in ("pred.npy", "true.npy", "forecast.png", "losses.csv"):
        assert (res / name).exists(), name
    assert np.load(res / "pred.npy").shape == (2857, 24, 7)
    assert len(pd.read_csv(res / "losses.csv")) == len(hist)
    line = (tmp / "results" / "result_long_term_forecast.txt").read_text().strip().splitlines()
    assert len(line) == 1 and m["setting"] in line[0]
    assert "test metrics" not in proc.stderr


def test_saved_checkpoint_scores_the_same(dlinear_run):
    tmp, _, m = dlinear_run
    proc = run_main(["--model_id", "e2e", *DLINEAR, "--is_training", "0"], tmp, check=False)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr  # results exist: refuses
    run_main(["--model_id", "e2e", *DLINEAR, "--is_training", "0", "--overwrite"], tmp)
    again = only_metrics(tmp)
    assert again["metrics"]["mse"] == pytest.approx(m["metrics"]["mse"], abs=1e-7)
    assert again["metrics"]["n_samples"] == m["metrics"]["n_samples"]


def test_same_seed_same_metrics(dlinear_run, tmp_path):
    _, _, m = dlinear_run
    run_main(["--model_id", "e2e", *DLINEAR], tmp_path)
    again = only_metrics(tmp_path)
    assert again["metrics"]["mse"] == m["metrics"]["mse"]
    assert again["metrics"]["mae"] == m["metrics"]["mae"]
    assert [r["train_loss"] for r in again["history"]] == [r["train_loss"] for r in m["history"]]


def test_two_processes_score_like_one(dlinear_run, tmp_path):
    """The same checkpoint, tested by 1 process and by 2 gloo processes: same MSE, same samples."""
    src, _, m = dlinear_run
    import shutil
    shutil.copytree(src / "ckpt", tmp_path / "ckpt")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--master_port", "29531"]
    proc = run_main(["--model_id", "e2e", *DLINEAR, "--is_training", "0"], tmp_path, launcher=torchrun)
    assert proc.stderr.count("test:   0%") == 1  # one progress bar: the other rank is quiet
    two = only_metrics(tmp_path)
    assert two["num_processes"] == 2
    assert two["metrics"]["n_samples"] == m["metrics"]["n_samples"]
    assert two["metrics"]["mse"] == pytest.approx(m["metrics"]["mse"], abs=1e-6)
    assert two["metrics"]["mae"] == pytest.approx(m["metrics"]["mae"], abs=1e-6)


def test_naive2_scores_the_official_m4_hourly_figures(tmp_path, data_root):
    run_main(["--task_name", "short_term_forecast", "--model", "Naive2", "--data", "m4",
              "--root_path", "./dataset/m4", "--seasonal_patterns", "Hourly", "--model_id", "naive2",
              "--features", "S", "--enc_in", "1", "--c_out", "1"], tmp_path)
    m = only_metrics(tmp_path)
    s = m["metrics"]["m4"]["Hourly"]
    assert round(s["smape"], 3) == 18.383
    assert round(s["mase"], 3) == 2.395
    assert round(s["owa"], 3) == 1.000
    ours = pd.read_csv(tmp_path / "results" / m["setting"] / "submission-Hourly.csv", index_col=0)
    official = pd.read_csv(ROOT / "dataset" / "m4" / "submission-Naive2-Hourly.csv", index_col=0)
    assert list(ours.index) == list(official.index)
    assert np.abs(ours.to_numpy() - official.to_numpy()).max() < 1e-4


@pytest.mark.parametrize("flag,value,valid", [
    ("--model", "NoSuchModel", "DLinear"),
    ("--lradj", "type9", "type1"),
    ("--task_name", "classification", "long_term_forecast"),
    ("--data", "ETTh9", "ETTh1"),
])
def test_unknown_names_list_the_valid_ones(tmp_path, flag, value, valid):
    proc = run_main([*DLINEAR, flag, value], tmp_path, check=False)
    assert proc.returncode == 2
    err = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and value in err[0] and valid in err[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_deepspeed_zero2_with_two_cpu_processes(tmp_path, data_root):
    """ZeRO-2 through Accelerate on 2 gloo processes: the engine partitions over both ranks and
    the data is sharded (each process sees half the batches)."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--master_port", "29533"]
    args = [*DLINEAR, "--model_id", "ds", "--use_deepspeed", "1", "--train_epochs", "2"]
    run_main(args, tmp_path, launcher=torchrun)
    m = only_metrics(tmp_path)
    assert m["distributed"]["type"] == "DEEPSPEED"
    assert m["distributed"]["zero_stage"] == 2 and m["distributed"]["dp_world_size"] == 2
    assert m["num_processes"] == 2
    assert m["metrics"]["n_samples"] == 2857
    assert np.isfinite(m["metrics"]["mse"]) and m["metrics"]["mse"] < 1.0


def test_bf16_autocast_on_cpu(tmp_path, data_root):
    from utils.cpu import native_bf16
    run_main([*DLINEAR, "--model_id", "amp", "--use_amp", "--train_epochs", "1"], tmp_path)
    m = only_metrics(tmp_path)
    assert m["distributed"]["mixed_precision"] == ("bf16" if native_bf16() else "no")
    assert np.isfinite(m["metrics"]["mse"]) and m["metrics"]["mse"] < 1.0


@pytest.mark.parametrize("native", [True, False])
def test_use_amp_picks_bf16_only_where_the_cpu_has_it(monkeypatch, capsys, native):
    import exp.distributed as distributed
    import utils.cpu
    from run_main import build_parser
    monkeypatch.setattr(utils.cpu, "native_bf16", lambda: native)
    monkeypatch.setattr(distributed.torch.cuda, "is_available", lambda: False)
    amp = build_parser().parse_args(["--use_amp"])
    assert distributed.mixed_precision(amp) == ("bf16" if native else "no")
    assert ("no native bf16" in capsys.readouterr().err) == (not native)
    explicit = build_parser().parse_args(["--mixed_precision", "bf16"])
    if native:
        assert distributed.mixed_precision(explicit) == "bf16"
    else:
        with pytest.warns(UserWarning, match="emulates"):
            assert distributed.mixed_precision(explicit) == "bf16"
    assert distributed.mixed_precision(build_parser().parse_args([])) is None


def test_timellm_trains_and_its_checkpoint_reloads(tmp_path, tiny_dirs, data_root):
    """Time-LLM on real ETTh1 (tiny random LLaMA): trains, reloads, checkpoint holds no backbone."""
    args = [*TIMELLM_TINY, "--llm_path", tiny_dirs["LLAMA"], "--prompt_domain", "1"]
    run_main(args, tmp_path)
    m = only_metrics(tmp_path)
    assert m["metrics"]["n_samples"] == (2880 - 8 + 1) * 7  # one channel per sample
    assert "reference OneCycle quirk" in m["lr_schedule"]
    import torch
    ckpt = torch.load(m["checkpoint"], weights_only=False)
    assert not any(k.startswith("llm_model.") or k == "word_embeddings" for k in ckpt["state_dict"])
    assert ckpt["backbone"]["name"] == "LLAMA"
    run_main([*args, "--is_training", "0", "--overwrite"], tmp_path)
    again = only_metrics(tmp_path)
    assert again["metrics"]["mse"] == pytest.approx(m["metrics"]["mse"], abs=1e-7)
    # a checkpoint trained on another backbone is refused with one line
    proc = run_main([*args, "--is_training", "0", "--overwrite", "--llm_layers", "1"], tmp_path,
                    check=False)
    assert proc.returncode == 2
    assert "another backbone" in [l for l in proc.stderr.splitlines() if l.startswith("error:")][0] \
        or "checkpoint not found" in proc.stderr


@pytest.mark.parametrize("extra,needle", [
    (["--llm_layers", "99"], "30 layers"),
    (["--llm_model", "NoSuchLLM"], "SmolLM2"),
    (["--seq_len", "20000"], "seq_len"),
])
def test_bad_timellm_configs_fail_with_one_line(tmp_path, extra, needle, data_root):
    proc = run_main([*TIMELLM_TINY, "--llm_model", "SmolLM2", *extra], tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(err) == 1 and needle in err[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_zero_shot_tests_on_the_other_dataset_with_its_own_scaler(tmp_path, dlinear_run):
    """Train on ETTh1, test on 'ETTh2' = ETTh1 with every value doubled (the real layout): with
    its own scaler the scaled windows are identical, so the scaled MSE equals the ETTh1 test MSE
    of the same weights and the original-unit MSE is four times it."""
    src, _, m = dlinear_run
    import shutil
    shutil.copytree(src / "ckpt", tmp_path / "ckpt")
    df = pd.read_csv(ROOT / "dataset" / "ETT-small" / "ETTh1.csv")
    cols = df.columns[1:]
    df[cols] = df[cols] * 2.0
    (tmp_path / "other").mkdir()
    df.to_csv(tmp_path / "other" / "ETTh2.csv", index=False)
    run_main(["--model_id", "e2e", *DLINEAR, "--is_training", "0", "--test_data", "ETTh2",
              "--test_root_path", str(tmp_path / "other"), "--test_data_path", "ETTh2.csv"], tmp_path)
    z = only_metrics(tmp_path)
    assert z["setting"].endswith("_to_ETTh2")
    assert z["metrics"]["mse"] == pytest.approx(m["metrics"]["mse"], rel=1e-4)
    assert z["metrics"]["mse_original"] == pytest.approx(4 * m["metrics"]["mse_original"], rel=1e-4)


def test_m4_training_run_scores_every_series(tmp_path, data_root):
    run_main(["--task_name", "short_term_forecast", "--model", "DLinear", "--data", "m4",
              "--root_path", "./dataset/m4", "--seasonal_patterns", "Hourly", "--model_id", "m4dl",
              "--features", "S", "--enc_in", "1", "--dec_in", "1", "--c_out", "1", "--loss", "SMAPE",
              "--batch_size", "64", "--eval_batch_size", "256", "--learning_rate", "0.001",
              "--train_epochs", "2", "--patience", "2"], tmp_path)
    m = only_metrics(tmp_path)
    s = m["metrics"]["m4"]["Hourly"]
    assert m["metrics"]["n_samples"] == 414
    assert 0 < s["smape"] < 60 and s["mase"] > 0 and s["owa"] > 0
    assert m["args"]["seq_len"] == 96 and m["args"]["pred_len"] == 48  # set by the M4 task
    sub = pd.read_csv(tmp_path / "results" / m["setting"] / "submission-Hourly.csv", index_col=0)
    assert sub.shape == (414, 48) and sub.index[0] == "H1"


def test_gradient_accumulation_matches_the_larger_batch(tmp_path, data_root):
    """Batch 32 x 2 accumulation steps trains like batch 64 (same sample order, mean losses)."""
    base = [*DLINEAR, "--train_epochs", "2"]
    run_main([*base, "--model_id", "acc1"], tmp_path / "a")
    two = [*base, "--model_id", "acc2", "--grad_accum", "2"]
    two[two.index("--batch_size") + 1] = "32"
    run_main(two, tmp_path / "b")
    # --global_batch 64 over 2 accumulation steps: the per-process batch becomes 32
    run_main([*base, "--model_id", "acc3", "--grad_accum", "2", "--global_batch", "64"], tmp_path / "c")
    a, b, c = (only_metrics(tmp_path / x) for x in "abc")
    assert b["metrics"]["mse"] == pytest.approx(a["metrics"]["mse"], rel=1e-5)
    assert b["history"][-1]["vali_loss"] == pytest.approx(a["history"][-1]["vali_loss"], rel=1e-5)
    assert c["metrics"]["mse"] == b["metrics"]["mse"]
    assert [m["args"]["global_batch"] for m in (a, b, c)] == [64, 64, 64]
    assert [m["args"]["batch_size"] for m in (a, b, c)] == [64, 32, 32]


@pytest.mark.parametrize("processes, accum, batch, wanted", [(1, 1, 192, 192), (8, 1, 192, 24), (2, 2, 192, 48),
                                                             (1, 1, 0, 32), (4, 2, 0, 32)])
def test_global_batch_sets_the_per_process_batch(args_from, tmp_path, processes, accum, batch, wanted):
    from exp.config import build_config, with_global_batch
    args = args_from(*DLINEAR, "--results_dir", tmp_path, "--checkpoints", tmp_path, "--batch_size", 32,
                     "--global_batch", batch, "--grad_accum", accum)
    cfg = with_global_batch(build_config(args), processes)
    assert cfg.batch_size == wanted and cfg.global_batch == processes * accum * wanted


def test_a_global_batch_the_processes_do_not_divide_is_one_line(args_from, tmp_path):
    from exp.config import build_config, with_global_batch
    from utils.errors import ConfigError
    args = args_from(*DLINEAR, "--results_dir", tmp_path, "--checkpoints", tmp_path, "--global_batch", 100)
    with pytest.raises(ConfigError, match="not a multiple of 8 process"):
        with_global_batch(build_config(args), 8)


# --------------------------------------------------------------------------- evaluation passes


def test_final_test_reuses_the_best_epochs_pass_with_the_same_figures(dlinear_run, tmp_path):
    """With a test pass every epoch, the final test is the best epoch's pass (logged as reused);
    without (--test_every_epoch 0) the final test runs on the reloaded weights: same figures."""
    _, proc, m = dlinear_run
    assert "is reused" in proc.stdout
    run_main(["--model_id", "e2e", *DLINEAR, "--test_every_epoch", "0"], tmp_path)
    once = only_metrics(tmp_path)
    assert [r["vali_loss"] for r in once["history"]] == [r["vali_loss"] for r in m["history"]]
    assert all(r["test_loss"] is None for r in once["history"])
    assert once["best_epoch"] == m["best_epoch"]
    for k in ("mse", "mae", "mse_original", "mae_original", "n_samples"):
        assert once["metrics"][k] == pytest.approx(m["metrics"][k], rel=1e-6, abs=1e-7), k
    src = dlinear_run[0] / "results" / m["setting"]
    res = tmp_path / "results" / once["setting"]
    assert np.allclose(np.load(res / "pred.npy"), np.load(src / "pred.npy"), atol=1e-6)


def test_evaluation_passes_show_progress(dlinear_run):
    _, proc, _ = dlinear_run
    assert "val:" in proc.stderr and "test:" in proc.stderr and "win" in proc.stderr


def test_a_changed_checkpoint_is_tested_again(args_from):
    """The reuse is refused when the reloaded weights are not the ones the kept pass used."""
    import torch

    from exp.exp_main import BestTest, Trainer, weights_digest

    model = torch.nn.Linear(3, 2)
    trainer = Trainer.__new__(Trainer)
    trainer.model = model
    trainer.acc = type("Acc", (), {"is_main_process": False})()
    kept = object()
    trainer.best_test = BestTest(2, weights_digest(model), kept)
    assert trainer._reused_test(2) is kept
    assert trainer._reused_test(3) is None          # another epoch was reloaded
    with torch.no_grad():
        model.weight[0, 0] += 1e-6
    assert trainer._reused_test(2) is None          # same epoch, other weights


def test_tensorboard_events_hold_the_run(tmp_path, data_root):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_main(["--model_id", "tb", *DLINEAR, "--report_to", "tensorboard", "--train_epochs", "2"], tmp_path)
    m = only_metrics(tmp_path)
    events = EventAccumulator(str(tmp_path / "results" / m["setting"] / "tensorboard"))
    events.Reload()
    vali = [(e.step, e.value) for e in events.Scalars("epoch/vali_loss")]
    assert vali == [(r["epoch"], pytest.approx(r["vali_loss"], rel=1e-6)) for r in m["history"]]
    steps = events.Scalars("train/loss")
    assert [e.step for e in steps] == list(range(1, len(steps) + 1))
    per_epoch = len(steps) // len(m["history"])
    first_epoch = np.mean([e.value for e in steps[:per_epoch]])
    assert first_epoch == pytest.approx(m["history"][0]["train_loss"], rel=1e-5)
    assert events.Scalars("test/mse")[0].value == pytest.approx(m["metrics"]["mse"], rel=1e-6)


def test_unknown_tracker_is_one_line(tmp_path, data_root):
    proc = run_main(["--model_id", "tb", *DLINEAR, "--report_to", "wandb2"], tmp_path, check=False)
    assert proc.returncode == 2 and "unknown report_to 'wandb2'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("extra, needle", [
    (["--enc_in", "3"], "--enc_in 3, but ETTh1 has 7 channels with --features M; pass --enc_in 7"),
    (["--learning_rate", "-1"], "--learning_rate must be positive, got -1.0"),
])
def test_bad_input_is_one_line_before_training(tmp_path, data_root, extra, needle):
    proc = run_main(["--model_id", "bad", *DLINEAR, *extra], tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert "Epoch 1" not in proc.stdout


@pytest.mark.parametrize("flag", ["--results_dir", "--checkpoints"])
def test_an_unwritable_folder_is_refused_before_training(tmp_path, data_root, flag):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    cmd = [sys.executable, "run_main.py", "--model_id", "bad", *DLINEAR,
           "--results_dir", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "c"),
           flag, str(blocker / "sub")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 2
    assert f"{flag} {blocker / 'sub'} is not writable" in proc.stderr and "Traceback" not in proc.stderr
