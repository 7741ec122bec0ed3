"""The benchmarks' recipes are the scripts' own (no separate copy that could drift)."""
from __future__ import annotations

import pytest

from bench import bench_models
from run_main import build_parser


@pytest.mark.parametrize("label", list(bench_models.ROWS))
def test_every_row_runs_its_scripts_horizon_96_recipe(label):
    args = build_parser().parse_args(bench_models.recipe(label))
    assert args.pred_len == 96 and args.data == "ETTh1"
    assert args.model == label.split(" ")[0].split("/")[0].replace("Time-LLM", "TimeLLM")
    if label.startswith("PatchTST/"):
        assert args.seq_len == {"PatchTST/42": 336, "PatchTST/64": 512}[label]
    assert args.individual == (1 if "individual" in label else 0)
    if "SmolLM2 x 4" in label:
        assert (args.llm_model, args.llm_layers, args.seq_len, args.batch_size) == ("SmolLM2", 4, 512, 24)


def test_table_reports_errors_in_their_row():
    rows = [{"label": "X", "error": "boom"}]
    lines = bench_models.table(rows)
    assert lines[-1].startswith("| X |") and "error: boom" in lines[-1]
