"""The benchmarks' recipes are the scripts' own (no separate copy that could drift)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from bench import bench_models, bench_timellm, bench_vs_authors
from exp.config import build_config
from models import get_model_class
from run_main import build_parser


MODEL_OF_LABEL = {"Time-LLM": "TimeLLM", "N-BEATS": "NBEATS", "N-HiTS": "NHITS"}


@pytest.mark.parametrize("label", list(bench_models.ROWS))
def test_every_row_runs_its_scripts_horizon_96_recipe(label):
    args = build_parser().parse_args(bench_models.recipe(label))
    if "M4 Hourly" in label:   # the M4 models: their script's Hourly run (the pattern sets H = 48)
        cfg = build_config(args)
        assert (cfg.data, cfg.seasonal_patterns, cfg.pred_len) == ("m4", "Hourly", 48)
    else:
        assert args.pred_len == 96 and args.data == "ETTh1"
    name = label.split(" ")[0].split("/")[0]
    assert args.model == MODEL_OF_LABEL.get(name, name)
    if "CPU profile" in label and "M4" in label:
        assert args.batch_size == 64 and args.des == "cpu"
    if label.startswith("PatchTST/"):
        assert args.seq_len == {"PatchTST/42": 336, "PatchTST/64": 512}[label]
    assert args.individual == (1 if "individual" in label else 0)
    if "SmolLM2 x 4" in label:
        assert (args.llm_model, args.llm_layers, args.seq_len, args.batch_size) == ("SmolLM2", 4, 512, 24)


def test_a_scripts_relative_data_folder_is_anchored_at_the_repository():
    argv = bench_models.anchored(bench_models.recipe("N-HiTS (M4 Hourly, CPU profile)"))
    root = argv[argv.index("--root_path") + 1]
    assert root == str(bench_models.REPO / "dataset" / "m4") and (bench_models.REPO / "dataset" / "m4").is_dir()


def test_table_reports_errors_in_their_row():
    rows = [{"label": "X", "error": "boom"}]
    lines = bench_models.table(rows)
    assert lines[-1].startswith("| X |") and "error: boom" in lines[-1]


def test_vs_authors_refuses_in_one_line_without_their_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIMELLM_AUTHORS", str(tmp_path))
    assert bench_vs_authors.main(["--model", "TimesNet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "Time-Series-Library") in err[0]


def test_vs_authors_prepares_the_recipe_weights_and_batches(tmp_path, data_root):
    spec = bench_vs_authors.prepare("TimesNet", tmp_path, n_batches=2)
    assert spec["configs"]["d_model"] == 16 and spec["configs"]["top_k"] == 5
    assert spec["lr"] == 1e-4 and spec["batch_size"] == 32 and spec["steps_per_epoch"] == 264
    batches = torch.load(tmp_path / "batches.pt")
    assert len(batches) == 2 and batches[0][0].shape == (32, 96, 7)
    assert torch.load(tmp_path / "state.pt").keys() == \
        get_model_class("TimesNet")(SimpleNamespace(**spec["all_configs"])).state_dict().keys()


def test_vs_authors_timellm_refuses_in_one_line_without_their_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIMELLM_AUTHORS", str(tmp_path))
    assert bench_vs_authors.main(["--model", "TimeLLM", "--llm_layers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "Time-LLM") in err[0]


def test_vs_authors_timellm_gives_the_reference_our_recipe():
    args = bench_vs_authors.timellm_recipe(SimpleNamespace(llm_layers=4, seed=2021))
    configs = bench_timellm.model_configs(args, True)
    theirs = bench_vs_authors.reference_configs(configs, llm_dim=576)
    assert (theirs["llm_model"], theirs["llm_dim"], theirs["llm_layers"]) == ("LLAMA", 576, 4)
    assert (theirs["seq_len"], theirs["pred_len"], theirs["enc_in"], theirs["d_model"],
            theirs["d_ff"], theirs["n_heads"], theirs["patch_len"], theirs["stride"]) == \
        (512, 96, 1, 32, 128, 8, 16, 8)
    assert theirs["prompt_domain"] == 0 and theirs["dropout"] == 0.1 and args.learning_rate == 0.01
    compile(bench_vs_authors.TIMELLM_WORKER, "worker", "exec")
    configs.num_tokens = 500
    with pytest.raises(ValueError, match="num_tokens at 1000"):
        bench_vs_authors.reference_configs(configs, llm_dim=576)


def test_vs_authors_timellm_batches_and_table():
    xs, ys = torch.arange(10.0).reshape(10, 1, 1), -torch.arange(10.0).reshape(10, 1, 1)
    batches = bench_vs_authors.timellm_batches(xs, ys, B=4, n_train=3, n_eval=2, offset=0)
    assert [x.flatten().tolist() for x, _ in batches["train"]] == \
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    assert all(torch.equal(y, -x) for x, y in batches["train"]) and len(batches["eval"]) == 2
    run = {"rows": {"8": {"steps": [2.0, 4.0], "eval_pass": 9.0, "eval_later": 9.0}}}
    mine = {"rows": {"8": {"steps": [1.0, 1.0], "eval_pass": 3.0, "eval_later": 2.0}}}
    lines = bench_vs_authors.timellm_table([8], {"theirs": [run], "ours": [mine]})
    assert lines[-1] == ("| 8 | 3.000 | 1.000 | 3.00x | 9.000 | 3.000 | 3.00x | "
                         "9.000 | 2.000 | 4.50x |")
