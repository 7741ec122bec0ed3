"""The Time-LLM reproduction scripts (scripts/TimeLLM_*.sh, fewshot/, zeroshot/, cpu/): every
line parses with our argparse and names a registered dataset, model and backbone; the published
recipes and the launch environment variables; the launcher (scripts/launch.sh over the recipe
table scripts/recipes.sh) and its one-line errors. Runs each script with stub ``accelerate`` and
``python`` commands that record their arguments (no training); a few seconds in all."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_provider.data_factory import data_dict
from data_provider.datasets import dataset_info
from data_provider.datasets import canonical_location
from exp.exp_main import setting_string
from layers.backbones import BACKBONES
from models import MODEL_REGISTRY
from run_main import build_parser
from tests.helpers.project import ROOT
from tests.helpers.scripts import parsed
from utils.launches import script_launches

DATASETS = ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "ECL", "Traffic", "ILI"]
PAPER = sorted((ROOT / "scripts").glob("TimeLLM_*.sh"))
FEWSHOT = sorted((ROOT / "scripts" / "fewshot").glob("TimeLLM_*.sh"))
FEWSHOT_BASELINES = sorted(set((ROOT / "scripts" / "fewshot").glob("*.sh")) - set(FEWSHOT))
ZEROSHOT = sorted((ROOT / "scripts" / "zeroshot").glob("*.sh"))
CPU = sorted((ROOT / "scripts" / "cpu").glob("TimeLLM_*.sh"))  # baselines' CPU profiles: their own tests
ALL = PAPER + FEWSHOT + ZEROSHOT + CPU
ZERO_PAIRS = ["ETTh1_ETTh2", "ETTh1_ETTm2", "ETTh2_ETTh1", "ETTh2_ETTm2", "ETTm1_ETTh2", "ETTm1_ETTm2",
              "ETTm2_ETTh2", "ETTm2_ETTm1"]
CHANNELS = {d: dataset_info(d).channels for d in DATASETS}


def test_the_kit_is_complete():
    names = {p.stem for p in PAPER}
    assert names == {f"TimeLLM_{d}" for d in DATASETS + ["M4"]}
    assert {p.stem for p in FEWSHOT} == {f"TimeLLM_{d}_{p}percent" for d in ["ETTh1", "ETTh2", "ETTm1", "ETTm2"]
                                         for p in (10, 5)}
    assert {p.stem for p in ZEROSHOT} == {f"TimeLLM_{pair}" for pair in ZERO_PAIRS}
    assert {p.stem for p in CPU} == {"TimeLLM_ETTh1", "TimeLLM_ETTh1_fewshot10", "TimeLLM_M4_Hourly"}


@pytest.mark.parametrize("script", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_script_syntax_and_lines_parse(script):
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n# ") and "set -euo pipefail" in text
    runs = parsed(script)
    assert runs
    for pre, args in runs:
        assert args.data in data_dict and args.model in MODEL_REGISTRY and args.model == "TimeLLM"
        assert args.llm_model in BACKBONES
        if args.test_data:
            assert args.test_data in data_dict and canonical_location(args.test_data) is not None
        if script in CPU:
            assert pre == ["python"] and args.llm_model == "SmolLM2"
        else:
            assert pre[:5] == ["accelerate", "launch", "--num_processes", "1", "--mixed_precision"]
            assert pre[5] == "no" and len(pre) == 6
            assert (args.use_deepspeed, args.llm_model, args.llm_layers) == (0, "LLAMA", 32)
    settings = [setting_string(a, 0) for _, a in runs]
    assert len(set(settings)) == len(settings)  # one results folder per launch


@pytest.mark.parametrize("script", PAPER, ids=lambda p: p.stem)
def test_paper_scripts_common_settings(script):
    ds = script.stem.split("_", 1)[1]
    runs = [a for _, a in parsed(script)]
    if ds == "M4":
        assert [a.seasonal_patterns for a in runs] == ["Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly"]
        for a in runs:
            assert (a.task_name, a.data, a.root_path, a.loss) == ("short_term_forecast", "m4", "./dataset/m4", "SMAPE")
            assert (a.d_model, a.d_ff, a.patch_len, a.stride, a.learning_rate) == (8, 32, 1, 1, 0.001)
            assert (a.train_epochs, a.batch_size, a.enc_in) == (50, 24, 1)
        return
    horizons = [24, 36, 48, 60] if ds == "ILI" else [96, 192, 336, 720]
    assert [a.pred_len for a in runs] == horizons
    for a in runs:
        assert (a.task_name, a.data, a.features, a.percent, a.test_data) == ("long_term_forecast", ds, "M", 100, None)
        assert a.enc_in == a.dec_in == a.c_out == CHANNELS[ds]
        assert (a.seq_len, a.label_len) == ((104, 18) if ds == "ILI" else (512, 48))
        assert (a.n_heads, a.patch_len, a.stride, a.num_tokens, a.eval_batch_size) == (8, 16, 8, 1000, 8)
        assert a.model_id == f"{ds if ds not in ('Weather', 'Traffic') else ds.lower()}_{a.seq_len}_{a.pred_len}"
        assert a.lr_quirk == "auto"  # the reference's OneCycle start (resolved to 'on' for TimeLLM)


def test_etth1_is_the_published_recipe():
    """docs/REFERENCE.md section 4."""
    runs = {a.pred_len: a for _, a in parsed(ROOT / "scripts/TimeLLM_ETTh1.sh")}
    for h, (lr, lradj) in {96: (0.01, "type1"), 192: (0.02, "type1"), 336: (0.001, "COS"),
                           720: (0.01, "type1")}.items():
        a = runs[h]
        assert (a.learning_rate, a.lradj) == (lr, lradj)
        assert (a.seq_len, a.label_len, a.d_model, a.d_ff, a.n_heads) == (512, 48, 32, 128, 8)
        assert (a.batch_size, a.eval_batch_size, a.train_epochs, a.patience) == (24, 8, 100, 10)
        assert (a.llm_model, a.llm_layers) == ("LLAMA", 32)


def test_other_recipes_from_the_authors_scripts():
    get = lambda ds: {a.pred_len: a for _, a in parsed(ROOT / f"scripts/TimeLLM_{ds}.sh")}
    h2 = get("ETTh2")
    assert [(h2[h].learning_rate, h2[h].lradj) for h in (96, 192, 336, 720)] == \
        [(0.01, "type1"), (0.002, "TST"), (0.005, "TST"), (0.005, "TST")]
    assert (h2[720].d_model, h2[720].train_epochs, h2[96].train_epochs) == (16, 20, 10)
    m1 = get("ETTm1")
    assert {(a.learning_rate, a.lradj, a.d_model, a.d_ff) for a in m1.values()} == {(0.001, "TST", 32, 128)}
    assert [m1[h].patience for h in (96, 192, 336, 720)] == [10, 20, 20, 20]
    m2 = get("ETTm2")
    assert (m2[96].batch_size, m2[96].learning_rate, m2[192].learning_rate, m2[192].lradj) == (16, 0.01, 0.002, "TST")
    w = get("Weather")
    assert [w[h].d_ff for h in (96, 192, 336, 720)] == [32, 32, 128, 128] and w[720].train_epochs == 15
    for ds in ("ECL", "Traffic", "ILI"):
        assert {(a.d_model, a.d_ff, a.learning_rate) for a in get(ds).values()} == {(16, 32, 0.01)}
    assert get("Traffic")[336].batch_size == 1


def test_launch_environment_variables():
    env = {"NUM_PROCESSES": "8", "MIXED_PRECISION": "bf16", "USE_DEEPSPEED": "1", "LLM_MODEL": "SmolLM2",
           "LLM_LAYERS": "2"}
    for pre, a in parsed(ROOT / "scripts/TimeLLM_ETTh2.sh", env=env, extra_args=("--train_epochs", "1")):
        assert pre == ["accelerate", "launch", "--num_processes", "8", "--mixed_precision", "bf16"]
        assert (a.use_deepspeed, a.llm_model, a.llm_layers, a.train_epochs) == (1, "SmolLM2", 2, 1)
    runs = parsed(ROOT / "scripts/TimeLLM_M4.sh", env={"PATTERNS": "Hourly"})
    assert [a.seasonal_patterns for _, a in runs] == ["Hourly"]


@pytest.mark.parametrize("script", FEWSHOT, ids=lambda p: p.stem)
def test_fewshot_scripts(script):
    ds, pct = re.match(r"TimeLLM_(\w+?)_(\d+)percent", script.stem).groups()
    full = {a.pred_len: a for _, a in parsed(ROOT / f"scripts/TimeLLM_{ds}.sh")}
    for _, a in parsed(script):
        assert a.percent == int(pct) and a.data == ds and a.model_id.endswith(f"_p{pct}")
        ref = vars(full[a.pred_len])
        assert {k: v for k, v in vars(a).items() if k not in ("percent", "model_id")} == \
            {k: v for k, v in ref.items() if k not in ("percent", "model_id")}
        assert setting_string(a, 0) != setting_string(full[a.pred_len], 0)


def test_fewshot_baselines_run_the_one_fits_all_protocol():
    """One Fits All's Few-shot_Learning/scripts/ETTh1.sh with the model swapped: the protocol's
    values are the same for the three baselines, one channel per sample, each horizon its run."""
    assert [p.stem for p in FEWSHOT_BASELINES] == [f"{m}_ETTh1_10percent" for m in ("DLinear", "GPT4TS", "PatchTST")]
    protocol = ("seq_len", "label_len", "percent", "batch_size", "eval_batch_size", "learning_rate", "lradj",
                "train_epochs", "patience", "channel_independence", "lr_quirk", "loss", "data", "features")
    seen = set()
    for script in FEWSHOT_BASELINES:
        runs = [a for _, a in parsed(script, env={"LLM_MODEL": "SmolLM2", "LLM_LAYERS": "2"})]
        assert [a.pred_len for a in runs] == [96, 192, 336, 720]
        for a in runs:
            assert a.model == script.stem.split("_")[0]
            seen.add(tuple(getattr(a, k) for k in protocol))
            assert setting_string(a, 0).endswith("_p10")
    assert seen == {(336, 168, 10, 256, 256, 0.001, "COS", 10, 3, 1, "off", "MSE", "ETTh1", "M")}
    (a,) = [a for _, a in parsed(FEWSHOT_BASELINES[1], env={"PRED_LENS": "96", "LR": "5e-06"})]
    assert (a.learning_rate, a.llm_model, a.llm_layers) == (5e-06, "GPT2", 6)  # the paper's backbone


@pytest.mark.parametrize("script", ZEROSHOT, ids=lambda p: p.stem)
def test_zeroshot_scripts(script):
    src, tgt = script.stem.split("_")[1:]
    runs = [a for _, a in parsed(script)]
    assert [a.pred_len for a in runs] == [96, 192, 336, 720]
    for a in runs:
        assert (a.data, a.test_data, a.train_epochs, a.percent) == (src, tgt, 5, 100)
        assert setting_string(a, 0).endswith(f"_to_{tgt}")


def test_cpu_profiles_state_settings_and_wall_time():
    for script in CPU:
        text = script.read_text()
        assert "PLACEHOLDER" not in text
        assert re.search(r"Measured wall time: \d+(\.\d+)? (min|s) ", text), script.name
        assert "differ from the paper" in text
    a = parsed(ROOT / "scripts/cpu/TimeLLM_ETTh1_fewshot10.sh")[0][1]
    assert a.percent == 10
    a = parsed(ROOT / "scripts/cpu/TimeLLM_ETTh1.sh")[0][1]
    assert a.percent == 100 and a.test_data is None
    a = parsed(ROOT / "scripts/cpu/TimeLLM_M4_Hourly.sh")[0][1]
    assert (a.task_name, a.seasonal_patterns, a.loss) == ("short_term_forecast", "Hourly", "SMAPE")


def launcher_error(tmp_path: Path, *argv: str) -> str:
    """Run scripts/launch.sh with ``argv``: it must fail before launching (a launch would reach
    the failing stubs first on PATH); its stderr."""
    for name in ("accelerate", "python"):
        (tmp_path / name).write_text("#!/bin/sh\nexit 99\n")
        (tmp_path / name).chmod(0o755)
    env = {**os.environ, "FACTS_PYTHON": sys.executable, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(ROOT / "scripts/launch.sh"), *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and not done.stdout
    return done.stderr


def test_launcher_fails_with_one_line_errors(tmp_path):
    err = lambda *argv: launcher_error(tmp_path, *argv)
    assert err("TimeLLM").startswith("error: usage: bash scripts/launch.sh RECIPE DATA")
    unknown = err("NoSuchModel", "ETTh1")
    assert unknown.count("\n") == 1 and "unknown recipe 'NoSuchModel'" in unknown and "TimeLLM_M4" in unknown
    assert "unknown dataset 'NoSuchData'" in err("TimeLLM", "NoSuchData")
    assert err("TimeLLM", "m4") == "error: m4 has no horizons: set PRED_LENS\n"
    assert "PatchTST has no row for Exchange" in err("PatchTST", "Exchange")


def test_every_recipe_is_run_by_a_script():
    """No recipe in the table without a script, no script naming a recipe the table lacks."""
    table = set(re.findall(r"^recipe_(\w+)\(\)", (ROOT / "scripts/recipes.sh").read_text(), re.M))
    used = {m for p in (ROOT / "scripts").rglob("*.sh")
            for m in re.findall(r'launch\.sh" (\w+) ', p.read_text())}
    assert used == table


def test_recording_the_results_runner_writes_nothing_outside_its_sandbox(tmp_path):
    """The runner makes $RUNS/<run> before it launches; a dry recording must not touch ~/runs."""
    runner = ROOT / "scripts" / "results" / "ETTh1_fewshot10.sh"
    done = script_launches(runner, {"ONLY": "dlinear_96_fewshot_gb192_s2022", "STAGES": "b",
                                    "HOME": str(tmp_path)})
    assert [launch.command for launch in done] == ["accelerate"]
    args = build_parser().parse_args(done[0].run_args)
    assert (args.model, args.percent, args.seed, args.batch_size, args.global_batch) == \
        ("DLinear", 10, 2022, 256, 192)  # the script's batch, stepped at the campaign's 192
    assert not (tmp_path / "runs").exists()


def test_results_runner_plans_each_stage_and_skips_finished_runs(tmp_path):
    """scripts/results/ETTh1_fewshot10.sh with DRY_RUN=1: the Time-LLM runs take the campaign's
    global batch, the baselines BASELINE_BATCH (default the same; 0 keeps their script's 256), run
    names carry the batch, and a run whose metrics.json exists is skipped."""
    runner = ROOT / "scripts" / "results" / "ETTh1_fewshot10.sh"

    def plan(**env) -> list[str]:
        out = subprocess.run(["bash", str(runner)], capture_output=True, text=True, check=True,
                             env={**os.environ, "DRY_RUN": "1", "RUNS": str(tmp_path), "SEEDS": "2021",
                                  **env})
        return out.stdout.splitlines()

    lines = plan(STAGES="a b c", GPT4TS_LR="0.0001")
    names = [line.split(":", 1)[0] for line in lines]
    assert names[:4] == ["timellm_96_gb192_s2021", "dlinear_96_fewshot_gb192_s2021",
                         "patchtst_96_fewshot_gb192_s2021", "gpt4ts_96_fewshot_gb192_s2021"]
    assert " LR=0.0001 " in lines[3]
    choosing = [line.split(":", 1)[0] for line in plan(STAGES="b")]
    assert choosing[:2] == ["gpt4ts_96_fewshot_gb192_lr0.001_s2021", "gpt4ts_96_fewshot_gb192_lr0.000005_s2021"]
    assert choosing[2:] == names[1:4]
    assert names[4:] == [f"{ab}_96_gb192_s2021" for ab in
                         ("no_llm", "llm2attn", "attention_layer", "random_llm", "no_prompt")]
    assert all(line.endswith("--global_batch 192") or "--ablation" in line for line in lines)
    assert "--ablation no_llm --global_batch 192" not in lines[4]  # the batch is in COMMON, before
    assert "--global_batch 192" in lines[4] and lines[4].endswith("--ablation no_llm")
    own = plan(STAGES="b", BASELINES="DLinear", BASELINE_BATCH="0")
    assert own[0].startswith("dlinear_96_fewshot_gb256_s2021:") and "--global_batch" not in own[0]
    done = tmp_path / "timellm_96_gb192_s2021" / "results" / "setting"
    done.mkdir(parents=True)
    (done / "metrics.json").write_text("{}")
    assert plan(STAGES="a") == [f"timellm_96_gb192_s2021: done ({tmp_path}/timellm_96_gb192_s2021)"]


def test_results_runner_chooses_gpt4ts_learning_rate_on_validation(tmp_path):
    """Seed 2021 runs at each candidate lr; the one with the lowest best validation loss is every
    seed's lr, and seed 2021's run is the selection run itself (linked, not run again)."""
    runner = ROOT / "scripts" / "results" / "ETTh1_fewshot10.sh"
    runs = tmp_path / "runs"
    for lr, vali in (("0.001", "0.95"), ("0.000005", "0.90")):
        setting = runs / f"gpt4ts_96_fewshot_gb192_lr{lr}_s2021" / "results" / "setting"
        setting.mkdir(parents=True)
        (setting / "metrics.json").write_text("{}")
        (setting / "losses.csv").write_text(f"epoch,train_loss,vali_loss,test_loss,lr,seconds,best\n"
                                            f"1,0.5,{vali},,{lr},1.0,True\n")
    done = script_launches(runner, {"STAGES": "b", "BASELINES": "GPT4TS", "SEEDS": "2021 2022",
                                    "RUNS": str(runs)})
    assert len(done) == 1  # seed 2022 only: the candidates and seed 2021 are finished
    args = build_parser().parse_args(done[0].run_args)
    assert (args.model, args.seed, args.learning_rate) == ("GPT4TS", 2022, 0.000005)
    link = runs / "gpt4ts_96_fewshot_gb192_s2021"
    assert link.is_symlink() and link.resolve() == (runs / "gpt4ts_96_fewshot_gb192_lr0.000005_s2021").resolve()



def test_campaign_queue_plans_runs_collects_all_but_selection_runs_and_refuses_unknown_names(tmp_path):
    """scripts/results/queue.sh with DRY_RUN=1: each name goes through the runner (its command is
    printed), a selection run (_lr<value>_) is not collected, a name the runner does not know is
    skipped with a line saying so, and no names at all is a one-line error with exit status 2."""
    queue = ROOT / "scripts" / "results" / "queue.sh"
    env = {**os.environ, "DRY_RUN": "1", "RUNS": str(tmp_path), "COMMIT": "1"}
    names = ["no_prompt_96_gb192_s2022", "gpt4ts_96_fewshot_gb192_lr0.001_s2021", "nonsense_s1"]
    out = subprocess.run(["bash", str(queue), *names], capture_output=True, text=True, env=env, check=True)
    lines = [ln for ln in out.stdout.splitlines() if not ln.startswith("==")]
    assert lines[0].startswith("no_prompt_96_gb192_s2022: env PRED_LENS=96 ") and "--ablation no_prompt" in lines[0]
    assert "--seed 2022" in lines[0] and f"--results_dir {tmp_path}/no_prompt_96_gb192_s2022/results" in lines[0]
    assert lines[1] == "no_prompt_96_gb192_s2022: would be collected into table fewshot10 and committed"
    assert lines[2].startswith("gpt4ts_96_fewshot_gb192_lr0.001_s2021: env ") and " LR=0.001 " in lines[2]
    assert lines[3] == "gpt4ts_96_fewshot_gb192_lr0.001_s2021: a selection run, not collected"
    assert lines[4].startswith("nonsense_s1: not a run of scripts/results/ETTh1_fewshot10.sh")
    assert len(lines) == 5 and not list(tmp_path.iterdir())   # a dry run makes no run folder
    empty = subprocess.run(["bash", str(queue)], capture_output=True, text=True, env=env)
    assert empty.returncode == 2 and len(empty.stderr.strip().splitlines()) == 1
