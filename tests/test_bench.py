"""The benchmarks' recipes are the scripts' own (no separate copy that could drift)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from bench import bench_models, bench_vs_authors
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
