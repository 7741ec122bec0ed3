"""report.paper_tables and ``python -m report`` on synthetic metrics.json files written in the
real layout (<results_dir>/<setting>/metrics.json, args from the real parser, setting from the
trainer)."""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from exp.exp_main import setting_string
from run_main import build_parser
from report.cli import main
from report.paper_tables import build_report, collect_runs, m4_groups
from report.published import config_differences, load_published, lookup, paper_config

TIMELLM_PAPER = ["--model", "TimeLLM", "--data", "ETTh1", "--seq_len", "512", "--d_model", "32", "--d_ff", "128",
                 "--llm_model", "LLAMA", "--llm_layers", "32", "--batch_size", "24", "--train_epochs", "100",
                 "--num_tokens", "1000", "--des", "Exp"]
LR = {96: ("0.01", "type1"), 192: ("0.02", "type1"), 336: ("0.001", "COS"), 720: ("0.01", "type1")}


def write_run(root: Path, argv: list[str], metrics: dict, ii: int = 0, num_processes: int = 8,
              wall: float = 60.0) -> Path:
    """One results folder exactly as exp/results.py lays it out."""
    args = build_parser().parse_args(argv)
    args.seed = args.seed + ii
    setting = setting_string(args, ii)
    folder = root / setting
    folder.mkdir(parents=True)
    payload = {"metrics": metrics, "setting": setting, "best_epoch": 3, "wall_seconds": wall,
               "trainable_parameters": 1234, "num_processes": num_processes, "lr_schedule": "x",
               "history": [], "args": vars(args)}
    (folder / "metrics.json").write_text(json.dumps(payload))
    return folder


def lt(mse: float, mae: float) -> dict:
    return {"mse": mse, "mae": mae, "rmse": mse ** 0.5, "mape": 1.0, "mspe": 1.0, "mse_original": 5 * mse,
            "mae_original": 2 * mae, "n_samples": 100}


def table_rows(text: str, title_part: str) -> dict[str, list[str]]:
    """The rows of the markdown table under the heading containing ``title_part``."""
    block = text.split(title_part, 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in block.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    # Time-LLM paper configuration, ETTh1, all four horizons, 3 seeds at 96
    for h in (96, 192, 336, 720):
        lr, lradj = LR[h]
        argv = TIMELLM_PAPER + ["--pred_len", str(h), "--model_id", f"ETTh1_512_{h}", "--learning_rate", lr,
                                "--lradj", lradj]
        for ii in range(3 if h == 96 else 1):
            write_run(root, argv, lt(0.40 + h / 10000 + ii * 0.01, 0.42 + h / 10000 + ii * 0.02), ii)
    # a CPU-style run with only 96 (SmolLM2): a separate table with a missing mark
    cpu = ["--model", "TimeLLM", "--data", "ETTh1", "--seq_len", "96", "--llm_model", "SmolLM2", "--llm_layers", "1",
           "--features", "S", "--pred_len", "96", "--model_id", "cpu", "--des", "cpu", "--batch_size", "64",
           "--train_epochs", "1", "--num_tokens", "100", "--learning_rate", "0.01"]
    write_run(root, cpu, lt(0.1, 0.25), num_processes=1)
    # few-shot 10 %, 96 only
    write_run(root, TIMELLM_PAPER + ["--pred_len", "96", "--model_id", "ETTh1_512_96_p10", "--percent", "10",
                                     "--learning_rate", "0.01"], lt(0.5, 0.5))
    # zero-shot ETTh1 -> ETTh2
    write_run(root, TIMELLM_PAPER + ["--pred_len", "96", "--model_id", "ETTh1_512_96", "--test_data", "ETTh2",
                                     "--train_epochs", "5", "--learning_rate", "0.01"], lt(0.3, 0.35))
    # DLinear baseline at 96 (multivariate recipe)
    write_run(root, ["--model", "DLinear", "--data", "ETTh1", "--seq_len", "336", "--pred_len", "96",
                     "--model_id", "ETTh1_336_96", "--batch_size", "8", "--learning_rate", "0.0001",
                     "--train_epochs", "10", "--des", "Exp"], lt(0.382, 0.404), num_processes=1)
    return root


def test_long_term_table_seeds_average_and_published(results):
    text = build_report([results])
    rows = table_rows(text, "TimeLLM on ETTh1 (LLAMA, 32 layers, seq_len 512, features M)")
    vals96 = [0.4096, 0.4196, 0.4296]
    assert rows["96"][0] == f"{statistics.fmean(vals96):.4f} ± {statistics.stdev(vals96):.4f}"
    assert rows["96"][2] == "3"                       # runs
    assert rows["96"][3:5] == ["0.362", "0.392"]      # published Table 1 figures beside ours
    assert rows["192"][0] == "0.4192" and rows["720"][1] == "0.4920"
    # average of the horizon means (seeds differ across horizons: no ± on the average)
    expect = statistics.fmean([statistics.fmean(vals96), 0.4192, 0.4336, 0.4720])
    assert rows["**avg**"][0] == f"{expect:.4f}"
    assert rows["**avg**"][3:5] == ["0.408", "0.423"]
    block = text.split("TimeLLM on ETTh1 (LLAMA, 32 layers", 1)[1].split("####", 1)[0]
    assert "missing horizons" not in block
    assert "sample standard deviation over seeds" in block
    # paper configuration (8 processes x 24): nothing differs
    assert "settings: as the published configuration" in block


def test_missing_horizons_and_differences(results):
    text = build_report([results])
    rows = table_rows(text, "TimeLLM on ETTh1 (SmolLM2, 1 layer, seq_len 96, features S)")
    assert rows["96"][:3] == ["0.1000", "0.2500", "1"]
    assert rows["192"][:3] == ["—", "—", "0"] and rows["192"][3] == "0.398"
    assert rows["**avg**"][0] == "—"
    block = text.split("SmolLM2, 1 layer,", 1)[1].split("####", 1)[0]
    assert "missing horizons: 192, 336, 720" in block
    for needle in ("llm_model: SmolLM2 (paper LLAMA)", "llm_layers: 1 (paper 32)", "seq_len: 96 (paper 512)",
                   "features: S (paper M)", "global batch: 64 (paper 192)", "num_tokens: 100 (paper 1000)",
                   "train_epochs: 1 (paper 100)"):
        assert needle in block, needle


def test_fewshot_zeroshot_and_baseline_tables(results):
    text = build_report([results])
    fs = text.split("## Few-shot forecasting", 1)[1].split("\n## ", 1)[0]
    rows = table_rows(fs, "TimeLLM on ETTh1 (10% of the training split")
    assert rows["96"][:2] == ["0.5000", "0.5000"] and rows["96"][3:5] == ["0.448", "0.460"]
    assert rows["**avg**"][3:5] == ["0.556", "0.522"]
    zs = text.split("## Zero-shot forecasting", 1)[1].split("\n## ", 1)[0]
    assert "TimeLLM on ETTh1 → ETTh2" in zs and "0.3000" in zs and "train_epochs" not in zs
    rows = table_rows(text, "DLinear on ETTh1")
    assert rows["96"][:2] == ["0.3820", "0.4040"] and rows["96"][3:5] == ["0.375", "0.399"]
    assert "DLinear paper" in text
    # published tables with no run here are listed, e.g. Time-LLM ETTh2 and M4
    missing = text.split("## Published tables without runs here", 1)[1].split("\n## ", 1)[0]
    assert "| long_term | TimeLLM | ETTh2 | avg: mse 0.334, mae 0.383 |" in missing
    assert "| m4 | TimeLLM | m4 |" in missing


def m4_entry(smape, mase, n2s, n2m, count):
    return {"smape": smape, "mase": mase, "owa": (smape / n2s + mase / n2m) / 2, "naive2_smape": n2s,
            "naive2_mase": n2m, "count": count}


PATTERNS = {  # pattern: (smape, mase, naive2 smape, naive2 mase, series)
    "Yearly": (13.0, 3.0, 16.342, 3.974, 23000), "Quarterly": (10.0, 1.2, 11.012, 1.371, 24000),
    "Monthly": (13.0, 0.95, 14.427, 1.063, 48000), "Weekly": (9.0, 2.5, 9.161, 2.777, 359),
    "Daily": (3.2, 3.3, 3.045, 3.278, 4227), "Hourly": (14.0, 1.5, 18.383, 2.395, 414),
}


def write_m4(root: Path, patterns, ii: int = 0, bump: float = 0.0):
    for p in patterns:
        s, m, ns, nm, n = PATTERNS[p]
        argv = ["--task_name", "short_term_forecast", "--data", "m4", "--root_path", "./dataset/m4",
                "--seasonal_patterns", p, "--model_id", f"m4_{p}", "--model", "TimeLLM", "--d_model", "8",
                "--patch_len", "1", "--stride", "1", "--learning_rate", "0.001", "--train_epochs", "50",
                "--batch_size", "24", "--loss", "SMAPE", "--llm_model", "LLAMA", "--llm_layers", "32"]
        e = m4_entry(s + bump, m, ns, nm, n)
        metrics = {"m4": {p: e, **({} if p in ("Yearly", "Quarterly", "Monthly") else {"Others": e}),
                          "Average": e}, "n_samples": n}
        write_run(root, argv, metrics, ii)


def test_m4_groups_weighted_like_m4_scores(tmp_path):
    root = tmp_path / "m4"
    write_m4(root, PATTERNS)
    write_m4(root, ["Hourly"], ii=1, bump=1.0)  # a second seed of Hourly
    text = build_report([root])
    rows = table_rows(text, "TimeLLM on M4")
    n = sum(v[4] for v in PATTERNS.values())
    mase = sum(v[1] * v[4] for v in PATTERNS.values()) / n
    ns = sum(v[2] * v[4] for v in PATTERNS.values()) / n
    nm = sum(v[3] * v[4] for v in PATTERNS.values()) / n
    smape = sum(((14.0 + 15.0) / 2 if p == "Hourly" else v[0]) * v[4] for p, v in PATTERNS.items()) / n  # 2 seeds
    assert rows["Average"][:3] == [f"{smape:.3f}", f"{mase:.3f}", f"{(smape / ns + mase / nm) / 2:.3f}"]
    assert rows["Average"][3:6] == ["11.983", "1.595", "0.859"]
    assert rows["Yearly"][0] == "13.000" and rows["Yearly"][3] == "13.419"
    assert rows["&nbsp;&nbsp;Hourly (part of Others)"][0] == "14.500 ± 0.707"
    assert "Time-LLM paper Table 2" in text and "missing pattern" not in text


def test_m4_partial_marks_missing_groups(tmp_path):
    root = tmp_path / "m4"
    write_m4(root, ["Hourly"])
    text = build_report([root])
    rows = table_rows(text, "TimeLLM on M4")
    assert rows["Average"][:3] == ["—", "—", "—"] and rows["Others"][:3] == ["—", "—", "—"]
    assert rows["&nbsp;&nbsp;Hourly (part of Others)"][0] == "14.000"
    assert "- Others: missing pattern(s) Weekly, Daily" in text
    assert "- Yearly: missing pattern(s) Yearly" in text
    assert "Naive2 on the same series (OWA 1 by definition): Hourly sMAPE 18.383, MASE 2.395" in text
    patterns, groups, _ = m4_groups(collect_runs([root]))
    assert set(patterns) == {"Hourly"} and groups == {}


def test_cli_writes_report_and_plots(results, tmp_path, capsys):
    out = tmp_path / "rep" / "report.md"
    assert main([str(results), "--out", str(out)]) == 0
    text = out.read_text()
    png = tmp_path / "rep" / "report_plots" / "ETTh1.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![ETTh1](report_plots/ETTh1.png)" in text
    assert [p.name for p in png.parent.iterdir()] == ["ETTh1.png"]  # one PNG per dataset (zero-shot excluded)
    assert "report: " in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no metrics.json" in err and err.startswith("error: ")
    assert main([str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    bad = tmp_path / "bad" / "run"
    bad.mkdir(parents=True)
    (bad / "metrics.json").write_text("{not json")
    assert main([str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "skipping" in err and "no readable metrics.json" in err


def test_published_file_is_sourced_and_consistent():
    rows = load_published()
    assert all(r.source for r in rows)
    # every Time-LLM long-term dataset: the four horizons average to the printed mean (rounding)
    for ds in ("ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "ECL", "Traffic", "ILI"):
        got = {r.horizon: r.values for r in lookup(rows, "long_term", "TimeLLM", ds)}
        assert len(got) == 5, ds
        for m in ("mse", "mae"):
            mean = statistics.fmean(v[m] for h, v in got.items() if h != "avg")
            assert abs(mean - got["avg"][m]) <= 0.0011, (ds, m)
    m4 = {r.horizon: r.values for r in lookup(rows, "m4", "TimeLLM", "m4")}
    counts = {"Yearly": 23000, "Quarterly": 24000, "Monthly": 48000, "Others": 5000}
    for m in ("smape", "mase"):
        weighted = sum(m4[g][m] * n for g, n in counts.items()) / 100000
        assert abs(weighted - m4["Average"][m]) < 0.001
    assert m4["Average"] == {"smape": 11.983, "mase": 1.595, "owa": 0.859}


def test_paper_config_and_differences():
    cfg = paper_config("long_term", "TimeLLM", "ETTh1", 336)
    assert (cfg["learning_rate"], cfg["lradj"], cfg["seq_len"], cfg["llm_layers"]) == (0.001, "COS", 512, 32)
    args = vars(build_parser().parse_args(TIMELLM_PAPER + ["--pred_len", "336", "--learning_rate", "0.001",
                                                          "--lradj", "COS"]))
    assert config_differences(args, 8, cfg) == {}
    assert config_differences(args, 1, cfg) == {"global batch": (24, 192)}
    assert paper_config("zero_shot", "TimeLLM", "ETTh1", 96)["train_epochs"] == 5
    assert paper_config("few_shot", "TimeLLM", "ETTh1", 96, percent=10)["percent"] == 10
    assert paper_config("long_term", "PatchTST", "ETTh1", 96, 512)["seq_len"] == 512
    assert re.match(r"\d", str(paper_config("m4", "TimeLLM", "m4", None)["d_model"]))


def test_a_difference_held_by_some_runs_says_how_many(tmp_path):
    """The deviations list names a setting that only some runs change with their share, so a
    global batch of 24 in the older runs is not read as every run's."""
    from report.paper_tables import differences_note, load_run
    root = tmp_path / "results"
    base = TIMELLM_PAPER + ["--pred_len", "96", "--model_id", "ETTh1_512_96", "--learning_rate", "0.01"]
    folders = [write_run(root, base + ["--batch_size", "24", "--des", "a"], lt(0.4, 0.4), num_processes=8),
               write_run(root, base + ["--batch_size", "24", "--des", "b"], lt(0.4, 0.4), num_processes=1)]
    runs = [load_run(f / "metrics.json") for f in folders]
    lines = differences_note(runs, "long_term")
    assert "- global batch: 24 (paper 192) in 1 of the 2 runs" in lines
    assert not any(line.startswith("- global batch") for line in differences_note(runs[:1], "long_term"))
