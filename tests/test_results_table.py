"""docs/results/runs.csv: collected from real runs, re-computable, rendered, and current."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tests.helpers.runs import DLINEAR, only_metrics, run_main
from report.render import README_BEGIN, README_END, readme_block, render
from report.comparisons import compare
from report.results_table import COLUMNS, M4, RESULTS, check, collect, read_rows, run_folders
from utils.m4_summary import smape_per_series
from utils.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
ISSUE_COLUMNS = ("table,model,ablation,data,features,percent,seq_len,pred_len,llm_model,llm_layers,"
                 "global_batch,seed,mse,mae,n_samples,best_epoch,wall_s,commit")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, data_root):
    """A finished DLinear run on real ETTh1 (2 epochs, seconds)."""
    tmp = tmp_path_factory.mktemp("collect")
    run_main(["--model_id", "collect", *DLINEAR, "--train_epochs", "2"], tmp)
    return tmp / "results", only_metrics(tmp)


def fake_run(root: Path, model="TimeLLM", ablation="none", seed=2021, mse=0.5, pred_len=96,
             arrays=True, llm_layers=2) -> Path:
    """A results folder laid out as the trainer writes it, with arrays whose MSE is ``mse``."""
    setting = f"long_term_forecast_x_{model}_ETTh1_pl{pred_len}_{ablation}_L{llm_layers}_0_p10"
    folder = root / f"s{seed}" / setting
    folder.mkdir(parents=True)
    n, h = 20, 4
    true = np.zeros((n, h, 1), dtype=np.float32)
    pred = np.full_like(true, np.sqrt(mse))
    if arrays:
        np.save(folder / "pred.npy", pred)
        np.save(folder / "true.npy", true)
    args = {"model": model, "ablation": ablation, "data": "ETTh1", "features": "M", "percent": 10,
            "seq_len": 512, "pred_len": pred_len, "llm_model": "SmolLM2", "llm_layers": llm_layers,
            "seed": seed, "patience": 3, "batch_size": 24, "learning_rate": 0.01, "lradj": "type1",
            "train_epochs": 10}
    data = {"setting": setting, "args": args, "best_epoch": 2, "wall_seconds": 3600.0,
            "metrics": {"mse": float(np.mean((pred - true) ** 2)), "mae": float(np.sqrt(mse)),
                        "n_samples": n},
            "saved_samples": n, "backbone_checksum": {"before": 1.0 if model == "TimeLLM" else None},
            "commit": "abc123", "history": []}
    (folder / "metrics.json").write_text(json.dumps(data))
    (folder / "losses.csv").write_text("epoch,train_loss\n1,0.5\n")
    return folder


def test_collect_writes_the_issue_columns_and_copies_no_arrays(real_run, tmp_path):
    results, m = real_run
    dest = tmp_path / "docs" / "results"
    rows = collect([results], "fewshot10", dest, commit="feed")
    header = (dest / "runs.csv").read_text().splitlines()[0]
    assert header == ISSUE_COLUMNS == ",".join(COLUMNS)
    (row,) = read_rows(dest / "runs.csv")
    assert row["mse"] == pytest.approx(m["metrics"]["mse"], rel=1e-12)
    assert row["n_samples"] == m["metrics"]["n_samples"] == 2857
    assert row["best_epoch"] == m["best_epoch"] and row["seed"] == 2021
    assert row["llm_model"] == "" and row["llm_layers"] == ""   # DLinear has no backbone
    assert row["commit"] == m["commit"] != "feed"              # the run's own commit wins
    assert row["global_batch"] == m["args"]["global_batch"] == m["args"]["batch_size"]  # one process
    copied = sorted(p.name for p in (dest / "runs").rglob("*") if p.is_file())
    assert copied == ["losses.csv", "metrics.json", "window_losses.npz"]  # never the forecasts
    assert check(dest) == []
    assert rows[0][1]["mse"] == row["mse"]


def test_collecting_again_replaces_the_row(tmp_path):
    fake_run(tmp_path / "runs", mse=0.5)
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    collect([tmp_path / "runs"], "fewshot10", dest)
    assert len(read_rows(dest / "runs.csv")) == 1


def test_an_ablation_with_the_full_models_setting_gets_its_own_folder(tmp_path):
    # runs made before the setting named the ablation: both runs carry one setting string
    full = fake_run(tmp_path / "a", mse=0.5)
    ablated = fake_run(tmp_path / "b", ablation="no_llm", mse=0.4)
    data = json.loads((ablated / "metrics.json").read_text())
    data["setting"] = json.loads((full / "metrics.json").read_text())["setting"]
    (ablated / "metrics.json").write_text(json.dumps(data))
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "a", tmp_path / "b"], "fewshot10", dest)
    folders = sorted(p.parent.parent.name for p in (dest / "runs").rglob("metrics.json"))
    assert len(folders) == 2 and folders[1] == folders[0].replace("_gb24", "_no_llm_gb24")
    assert check(dest) == []


def test_global_batches_are_rows_and_folders_of_their_own(tmp_path):
    # the setting string does not name the batch: a batch-192 run of a batch-24 run's setting and
    # seed is another row, in another folder, and the batch-24 run stays
    fake_run(tmp_path / "a", mse=0.5)
    big = fake_run(tmp_path / "b", mse=0.4)
    data = json.loads((big / "metrics.json").read_text())
    data["args"].update(global_batch=192, batch_size=192)
    (big / "metrics.json").write_text(json.dumps(data))
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "a", tmp_path / "b"], "fewshot10", dest)
    rows = sorted(read_rows(dest / "runs.csv"), key=lambda r: r["global_batch"])
    assert [(r["global_batch"], r["mse"]) for r in rows] == [(24, pytest.approx(0.5)), (192, pytest.approx(0.4))]
    folders = sorted(p.parent.parent.name for p in (dest / "runs").rglob("metrics.json"))
    assert [f.rsplit("_", 1)[1] for f in folders] == ["gb192", "gb24"]
    assert check(dest) == []


def test_window_losses_are_kept_and_checked(tmp_path):
    folder = fake_run(tmp_path / "runs", mse=0.25)
    pred = np.load(folder / "pred.npy")
    pred[3] += 1.0  # one window worse than the others
    np.save(folder / "pred.npy", pred)
    data = json.loads((folder / "metrics.json").read_text())
    err = pred - np.load(folder / "true.npy")
    data["metrics"].update(mse=float(np.mean(err ** 2)), mae=float(np.mean(np.abs(err))))
    (folder / "metrics.json").write_text(json.dumps(data))
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    (kept,) = (dest / "runs").rglob("window_losses.npz")
    with np.load(kept) as z:
        mse, mae = z["mse"], z["mae"]
    assert mse.dtype == np.float32 and mse.shape == mae.shape == (len(pred),)
    assert mse[3] == pytest.approx(1.5 ** 2) and mse[0] == pytest.approx(0.25)  # in pred.npy's order
    assert float(mse.mean()) == pytest.approx(data["metrics"]["mse"], rel=1e-6)
    assert check(dest) == []
    np.savez(kept, mse=mse[:-1], mae=mae[:-1])  # a truncated copy is found
    assert any("one per test sample" in p for p in check(dest))


def test_collecting_again_keeps_the_commit_given_before(tmp_path):
    folder = fake_run(tmp_path / "runs", mse=0.5)
    data = json.loads((folder / "metrics.json").read_text())
    del data["commit"]  # a run made before metrics.json recorded its commit
    (folder / "metrics.json").write_text(json.dumps(data))
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest, commit="feed")
    collect([tmp_path / "runs"], "fewshot10", dest)
    assert [r["commit"] for r in read_rows(dest / "runs.csv")] == ["feed"]


def test_a_run_that_would_overwrite_another_rows_files_is_refused(tmp_path):
    fake_run(tmp_path / "a", mse=0.5)                       # the full run, table fewshot10
    fake_run(tmp_path / "b", mse=0.6)                       # same setting and seed, cut short
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "a"], "fewshot10", dest)
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match="already holds another run"):
        collect([tmp_path / "b"], "other", dest)
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    assert check(dest) == []
    collect([tmp_path / "b"], "fewshot10", dest)            # a rerun of the same row replaces it
    assert [r["mse"] for r in read_rows(dest / "runs.csv")] == [pytest.approx(0.6)]


def test_a_run_whose_forecasts_disagree_is_refused(tmp_path):
    folder = fake_run(tmp_path / "runs", mse=0.5)
    np.save(folder / "pred.npy", np.zeros((20, 4, 1), dtype=np.float32))  # MSE 0 now
    with pytest.raises(UserError, match="re-computed from pred.npy"):
        collect([tmp_path / "runs"], "fewshot10", tmp_path / "dest")
    assert not (tmp_path / "dest" / "runs.csv").exists()


def test_check_finds_an_edited_row_and_an_orphan_folder(tmp_path):
    fake_run(tmp_path / "runs", mse=0.5)
    fake_run(tmp_path / "runs", mse=0.6, seed=2022)
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    text = (dest / "runs.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    rows[0]["mae"] = "0.1"
    with open(dest / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert any("mae" in p for p in check(dest))
    (dest / "runs.csv").write_text("\n".join(text.splitlines()[:2]) + "\n")  # drop seed 2022's row
    problems = check(dest)
    assert len(problems) == 1 and "seed2022: no row in runs.csv" in problems[0]


def test_render_puts_ours_beside_the_paper_and_ablations_beside_the_full_model(tmp_path):
    full = (0.50, 0.52, 0.51)
    for seed, mse in zip((2021, 2022, 2023), full):
        fake_run(tmp_path / "runs", seed=seed, mse=mse)
        fake_run(tmp_path / "runs", ablation="no_llm", seed=seed, mse=mse - 0.1)   # lower at every seed
        fake_run(tmp_path / "runs", ablation="random_llm", seed=seed, mse=mse + (0.02, -0.02, 0.0)[seed - 2021])
    fake_run(tmp_path / "runs", model="DLinear", seed=2021, mse=0.6)
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    text = render(dest)
    line = next(ln for ln in text.splitlines() if ln.startswith("| SmolLM2 × 2 layers | 512 | 24 | 96 |"))
    ci = stats.ttest_1samp(full, 0).confidence_interval(0.95)
    assert f"| 0.5100 ± 0.0100 | [{ci.low:.4f}, {ci.high:.4f}] |" in line      # mean ± std, Student t
    assert "| 3 | 2021, 2022, 2023 | 0.448 | 0.460 |" in line                   # n, seeds, paper
    assert "horizons 192, 336, 720 not run yet" in text
    rows = {ln.split(" | ")[0]: ln for ln in text.splitlines() if "| 96 | 24 | Time-LLM, SmolLM2" in ln}
    assert rows["| Time-LLM no_llm"].endswith("| better |") and "-0.1000 (-19.6%), 95% CI" in rows["| Time-LLM no_llm"]
    assert rows["| Time-LLM random_llm"].endswith("| no difference shown (3 seeds) |")
    dlinear = next(ln for ln in text.splitlines() if ln.startswith("| DLinear | 96 |"))
    assert dlinear.endswith("| no difference shown (1 seed) |") and "no interval (1 seed)" in dlinear
    assert "early-stopping patience 3 (paper 10)" in text and "global batch: 24 (paper 192)" in text
    assert "Diebold-Mariano" in text and "rank" not in text
    # two comparisons carry an interval (no_llm, random_llm; DLinear has one seed)
    assert "The 2 intervals above are each a 95% interval on their own, not adjusted" in text
    assert "about 0.1 of 2 would still exclude zero by chance" in text
    block = readme_block(dest)
    assert block.startswith(README_BEGIN) and block.endswith(README_END)
    assert f"MSE 0.5100 ± 0.0100 (95% CI [{ci.low:.4f}, {ci.high:.4f}])" in block
    assert "0.448 / 0.460 (outside our MSE interval)" in block
    assert ("where the full Time-LLM stands, horizon 96: shown better than it: Time-LLM no_llm (global batch "
            "24, n = 3); shown worse: none; no difference shown: Time-LLM random_llm (global batch 24, n = "
            "3)\n") in block                      # a single-seed entry has no interval: not in the standing
    assert ("- one seed only, so no interval and no difference shown (figures in RESULTS.md): DLinear "
            "(horizon 96, global batch 24)") in block
    assert "MSE difference against" not in next(ln for ln in block.splitlines() if "DLinear" in ln)
    assert "rank" not in block
    answer = ("- does the pretrained LLM help (horizon 96, global batch 24, paired by seed)? against nothing "
              "(no_llm): the LLM is shown worse (n = 3; its MSE minus Time-LLM's -0.1000, 95% CI [")
    assert answer in block and answer in text and "random weights (random_llm): no difference shown (n = 3" in block


def test_the_four_horizon_average_averages_each_seed_over_the_horizons_first(tmp_path):
    """The average row (RESULTS.md) and line (README): each seed run at all four horizons is
    averaged over them, then mean ± std and the Student-t interval over those seeds; a seed
    missing a horizon is left out of it."""
    mse = {(96, 2021): 0.50, (192, 2021): 0.54, (336, 2021): 0.58, (720, 2021): 0.66,
           (96, 2022): 0.52, (192, 2022): 0.55, (336, 2022): 0.61, (720, 2022): 0.70,
           (96, 2023): 0.51}                                   # seed 2023 ran horizon 96 only
    for (h, seed), m in mse.items():
        fake_run(tmp_path / "runs", seed=seed, pred_len=h, mse=m)
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    per_seed = [np.mean([mse[(h, s)] for h in (96, 192, 336, 720)]) for s in (2021, 2022)]
    ci = stats.ttest_1samp(per_seed, 0).confidence_interval(0.95)
    mean, std = np.mean(per_seed), np.std(per_seed, ddof=1)
    row = next(ln for ln in render(dest).splitlines() if "| average |" in ln)
    assert f"| {mean:.4f} ± {std:.4f} | [{ci.low:.4f}, {ci.high:.4f}] |" in row
    assert row.endswith("| 2 | 2021, 2022 | 0.556 | 0.522 |")
    line = next(ln for ln in readme_block(dest).splitlines() if "four-horizon average" in ln)
    assert f"MSE {mean:.4f} ± {std:.4f} (95% CI [{ci.low:.4f}, {ci.high:.4f}])" in line
    assert "n = 2" in line and "0.556 / 0.522" in line


def test_other_depths_are_entries_against_the_main_setting_and_baselines_stay_on_it(tmp_path):
    """Stage e's question, does a deeper LLM help: Time-LLM at 1 and 4 layers is paired with the
    2-layer cell (the setting with the most runs), and a baseline is compared with that cell too,
    never with another depth that has as many seeds."""
    for seed in (2021, 2022, 2023):
        for h in (96, 192, 336, 720):
            fake_run(tmp_path / "runs", seed=seed, pred_len=h, mse=0.5 + h / 1000)
        fake_run(tmp_path / "runs", seed=seed, mse=0.55 + (seed - 2021) / 100, llm_layers=4)
        fake_run(tmp_path / "runs", seed=seed, mse=0.62 + (seed - 2021) / 100, llm_layers=1)
        fake_run(tmp_path / "runs", model="DLinear", seed=seed, mse=0.45)
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    found = {c.entry: c for c in compare(read_rows(dest / "runs.csv"), run_folders(dest))}
    assert set(found) == {"Time-LLM, SmolLM2 × 1 layer", "Time-LLM, SmolLM2 × 4 layers", "DLinear"}
    assert {c.reference for c in found.values()} == {"Time-LLM, SmolLM2 × 2 layers, global batch 24"}
    deeper = found["Time-LLM, SmolLM2 × 4 layers"]
    ci = stats.ttest_1samp([0.55 - 0.596, 0.56 - 0.596, 0.57 - 0.596], 0).confidence_interval(0.95)
    assert deeper.seeds == (2021, 2022, 2023) and deeper.pred_len == 96
    assert (deeper.difference.low, deeper.difference.high) == pytest.approx((ci.low, ci.high), abs=1e-5)
    assert deeper.verdict == "better" and found["Time-LLM, SmolLM2 × 1 layer"].verdict == "worse"
    assert "| Time-LLM, SmolLM2 × 4 layers | 96 | 24 | Time-LLM, SmolLM2 × 2 layers, global batch 24 |" in render(dest)
    answer = next(ln for ln in readme_block(dest).splitlines() if ln.startswith("- does the pretrained LLM help"))
    assert answer.startswith("- does the pretrained LLM help (horizon 96, global batch 24, paired by seed)? ")
    assert "4 layers instead of 2: 4 layers are shown better (n = 3; the 4-layer model's MSE minus" in answer
    assert "1 layer instead of 2: 1 layer is shown worse" in answer and "DLinear" not in answer


def test_better_or_worse_only_where_the_interval_excludes_zero(tmp_path):
    """The wording rule over many random tables: every comparison the report words as better or
    worse has a seed-level interval that excludes zero, and every other one says no difference."""
    rng = np.random.default_rng(7)
    answered = 0
    for trial in range(6):
        root = tmp_path / f"t{trial}"
        n = int(rng.integers(1, 5))
        for seed in range(2021, 2021 + n):
            fake_run(root, seed=seed, mse=0.5 + rng.normal(0, 0.02))
            for ab, shift in (("no_llm", rng.normal(0, 0.03)), ("no_prompt", rng.normal(0, 0.03))):
                fake_run(root, ablation=ab, seed=seed, mse=0.5 + shift + rng.normal(0, 0.02))
        dest = root / "docs" / "results"
        collect([root], "fewshot10", dest)
        words = [ln for ln in render(dest).splitlines() if "| Time-LLM, SmolLM2" in ln]
        words += [ln for ln in readme_block(dest).splitlines() if "MSE difference against" in ln]
        assert words
        answers = [part for ln in readme_block(dest).splitlines() if ln.startswith("- does the pretrained LLM")
                   for part in ln.split("? ", 1)[1].split("); ")]
        answered += len(answers)
        for part in answers:                          # "the LLM is shown better" only where Time-LLM's is lower
            low, high = map(float, re.search(r"95% CI \[([-+.\d]+), ([-+.\d]+)\]", part).groups())
            if "the LLM is shown" in part:
                assert (low > 0) if "shown better" in part else (high < 0), part
            else:
                assert "no difference shown" in part and low <= 0 <= high, part
        for ln in words:
            said = "better" if ln.rstrip(" |").endswith("better") else "worse" if ln.rstrip(" |").endswith("worse") else None
            found = re.search(r"95% CI \[([-+.\d]+), ([-+.\d]+)\]", ln)
            if said:
                low, high = float(found.group(1)), float(found.group(2))
                assert high < 0 or low > 0, ln
                assert (said == "better") == (high < 0), ln
            else:
                assert "no difference shown" in ln, ln
                assert found is None or float(found.group(1)) <= 0 <= float(found.group(2)), ln
    assert answered


def test_paired_tests_read_the_window_losses_of_both_runs(tmp_path):
    # two seeds each: per-window errors that differ, so the per-seed Diebold-Mariano test has data
    rng = np.random.default_rng(3)
    for seed in (2021, 2022):
        for ablation, scale in (("none", 1.0), ("no_llm", 1.3)):
            folder = fake_run(tmp_path / "runs", ablation=ablation, seed=seed, pred_len=4)
            pred = rng.normal(0, scale, (20, 4, 1)).astype(np.float32)
            np.save(folder / "pred.npy", pred)
            data = json.loads((folder / "metrics.json").read_text())
            data["metrics"].update(mse=float(np.mean(pred.astype(np.float64) ** 2)),
                                   mae=float(np.mean(np.abs(pred.astype(np.float64)))))
            (folder / "metrics.json").write_text(json.dumps(data))
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "fewshot10", dest)
    (c,) = compare(read_rows(dest / "runs.csv"), run_folders(dest))
    assert c.seeds == (2021, 2022) and [seed for seed, _ in c.dm] == [2021, 2022]
    for seed, dm in c.dm:
        runs = {ab: np.load(next((tmp_path / "runs").glob(f"s{seed}/*_{ab}_L2_0_p10/pred.npy")))
                for ab in ("none", "no_llm")}
        d = (runs["no_llm"] ** 2).mean(axis=(1, 2)) - (runs["none"] ** 2).mean(axis=(1, 2))
        assert dm is not None and dm.n == 20 and dm.lag == 3
        assert dm.mean_difference == pytest.approx(float(d.mean()), rel=1e-5)


def fake_m4_run(root: Path, model="NHITS", loss="MASE", clip=1.0, epochs=60, seed=2021) -> Path:
    """An M4 Hourly results folder as the trainer writes it: arrays whose sMAPE is the reported one."""
    setting = f"short_term_forecast_m4_Hourly_cpu_{model}_m4_cpu_0"
    folder = root / f"{loss}{clip}{epochs}" / setting
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    true = rng.uniform(1, 2, (6, 48)).astype(np.float32)
    pred = (true * rng.uniform(0.8, 1.2, true.shape)).astype(np.float32)
    np.save(folder / "pred.npy", pred)
    np.save(folder / "true.npy", true)
    smape = float(smape_per_series(pred, true).mean())
    scores = {"smape": smape, "mase": 2.0, "owa": 0.9, "count": 6}
    data = {"setting": setting, "best_epoch": 7, "wall_seconds": 60.0, "commit": "abc123",
            "args": {"model": model, "seasonal_patterns": "Hourly", "loss": loss, "max_grad_norm": clip,
                     "train_epochs": epochs, "seed": seed},
            "metrics": {"m4": {"Hourly": scores, "Others": scores}, "n_samples": 6}, "saved_samples": 6}
    (folder / "metrics.json").write_text(json.dumps(data))
    return folder


def test_m4_runs_go_to_their_own_table_one_folder_per_recipe(tmp_path):
    fake_m4_run(tmp_path / "runs")
    fake_m4_run(tmp_path / "runs", clip=0.0)      # same setting string, another recipe
    fake_m4_run(tmp_path / "runs", model="NBEATS")
    fake_run(tmp_path / "runs", mse=0.5)           # a long-term run collected in the same call
    dest = tmp_path / "docs" / "results"
    collect([tmp_path / "runs"], "m4cpu", dest)
    rows = read_rows(dest / M4.csv, M4)
    assert (dest / M4.csv).read_text().splitlines()[0] == ",".join(M4.columns)
    assert sorted((r["model"], r["max_grad_norm"]) for r in rows) == [("NBEATS", 1.0), ("NHITS", 0.0),
                                                                       ("NHITS", 1.0)]
    assert len(read_rows(dest / "runs.csv")) == 1
    assert len(list((dest / "runs").rglob("metrics.json"))) == 4
    assert check(dest) == []
    text = render(dest, published=None)
    assert "| NHITS | Hourly | MASE loss, no clipping, at most 60 epochs |" in text
    assert "Published figures for the Others group (Weekly + Daily + Hourly)" in text  # N-BEATS's row
    assert "Weekly, Daily not run" in text
    assert "- NHITS, M4 Hourly (MASE loss, clip 1, at most 60 epochs): sMAPE" in readme_block(dest)
    edited = (dest / M4.csv).read_text().replace(",0.9,", ",0.8,", 1)
    (dest / M4.csv).write_text(edited)
    assert any("owa" in p and "m4.csv" in p for p in check(dest))


def test_an_m4_run_whose_forecasts_disagree_is_refused(tmp_path):
    folder = fake_m4_run(tmp_path / "runs")
    np.save(folder / "pred.npy", np.load(folder / "true.npy"))  # sMAPE 0 now
    with pytest.raises(UserError, match="smape re-computed from pred.npy"):
        collect([tmp_path / "runs"], "m4cpu", tmp_path / "dest")
    assert not (tmp_path / "dest" / M4.csv).exists()


def test_committed_results_are_current():
    """docs/RESULTS.md and the README's block are what `python -m report` renders from
    docs/results, and every row of runs.csv matches its run's metrics.json."""
    assert check(RESULTS) == []
    assert (ROOT / "docs" / "RESULTS.md").read_text() == render(RESULTS) + "\n"
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(README_BEGIN), readme.index(README_END) + len(README_END)
    assert readme[start:end] == readme_block(RESULTS)


def collect_cli(capsys, *sources: Path, dest: Path) -> tuple[int, list[str]]:
    """``python -m report collect SOURCES --table fewshot10 --dest DEST`` in-process: its exit status
    and its stderr lines."""
    from report.cli import main
    status = main(["collect", *map(str, sources), "--table", "fewshot10", "--dest", str(dest)])
    return status, capsys.readouterr().err.strip().splitlines()


def foreign_metrics(folder: Path, data: dict) -> Path:
    """Another tool's metrics.json (not a run of this framework) in ``folder``."""
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(data))
    return folder / "metrics.json"


def test_collect_skips_other_tools_metrics_json(tmp_path, capsys):
    fake_run(tmp_path / "runs", mse=0.5)
    first = foreign_metrics(tmp_path / "runs" / "another_tool" / "a", {"accuracy": 0.9})
    foreign_metrics(tmp_path / "runs" / "another_tool" / "b", {"metrics": {"mse": 0.1}})  # no setting, args
    dest = tmp_path / "docs" / "results"
    status, err = collect_cli(capsys, tmp_path / "runs", dest=dest)
    assert status == 0 and len(err) == 1, err
    assert err[0].startswith(f"skipped 2 metrics.json that are not runs of this framework: {first}, ")
    assert [r["mse"] for r in read_rows(dest / "runs.csv")] == [pytest.approx(0.5)]
    assert check(dest) == []


def test_collect_of_other_tools_metrics_json_only_is_an_error(tmp_path, capsys):
    path = foreign_metrics(tmp_path / "runs" / "another_tool", {"accuracy": 0.9})
    status, err = collect_cli(capsys, tmp_path / "runs", dest=tmp_path / "docs" / "results")
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith("error: no runs of this framework under ") and str(path) in err[0]
    assert not (tmp_path / "docs").exists()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _drop_seed(path: Path) -> None:
    data = json.loads(path.read_text())
    del data["args"]["seed"]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("name, spoil, words", [
    ("metrics.json", _truncate, "not valid JSON (truncated?)"),
    ("metrics.json", lambda p: p.write_bytes(b"\xff\xfe{"), "not valid JSON"),
    ("metrics.json", _drop_seed, "not a complete run record (no 'seed')"),
    ("pred.npy", lambda p: np.save(p, np.zeros((20, 3, 1), dtype=np.float32)),
     "shape (20, 3, 1) does not match true.npy's (20, 4, 1)"),
    ("pred.npy", _truncate, "cannot be read"),
    ("pred.npy", lambda p: p.write_bytes(b"not an array"), "cannot be read"),
    ("true.npy", lambda p: np.save(p, np.array([["a"]] * 20, dtype=object), allow_pickle=True),
     "cannot be read"),
])
def test_a_damaged_run_is_refused_naming_its_file_and_nothing_is_written(tmp_path, capsys, name, spoil, words):
    dest = tmp_path / "docs" / "results"
    fake_run(tmp_path / "a", mse=0.5)
    collect([tmp_path / "a"], "fewshot10", dest)
    before = {p: p.read_bytes() for p in (tmp_path / "docs").rglob("*") if p.is_file()}
    fake_run(tmp_path / "b", mse=0.4, seed=2022)        # would be collected with the damaged one
    damaged = fake_run(tmp_path / "c", mse=0.3, seed=2023) / name
    spoil(damaged)
    status, err = collect_cli(capsys, tmp_path / "b", tmp_path / "c", dest=dest)
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {damaged}: {words}")
    assert err[0].endswith("rerun the test with --is_training 0 or remove the run folder from the sources")
    assert {p: p.read_bytes() for p in (tmp_path / "docs").rglob("*") if p.is_file()} == before


def test_two_runs_of_one_row_in_one_collect_are_refused_and_a_linked_run_counts_once(tmp_path):
    """GPT4TS's lr selection leaves seed 2021 at two learning rates (runs.csv has no lr column):
    collecting both at once must not let one silently replace the other."""
    a = fake_run(tmp_path / "lr0.001", mse=0.5)
    fake_run(tmp_path / "lr0.000005", mse=0.4)
    dest = tmp_path / "docs" / "results"
    with pytest.raises(UserError, match="are runs of the same runs.csv row"):
        collect([tmp_path / "lr0.001", tmp_path / "lr0.000005"], "fewshot10", dest)
    assert not (dest / "runs.csv").exists()  # refused before anything was written
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "chosen").symlink_to(a.parent.parent)  # the runner's seed-2021 link
    collect([tmp_path / "lr0.001", tmp_path / "linked"], "fewshot10", dest)
    assert [r["mse"] for r in read_rows(dest / "runs.csv")] == [pytest.approx(0.5)]
