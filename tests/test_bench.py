"""The benchmarks' recipes are the scripts' own (no separate copy that could drift); the shared
harness; no benchmark command imports another."""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from bench import bench_models, bench_vs_authors, harness, timellm_parts
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
    argv = harness.anchored(bench_models.recipe("N-HiTS (M4 Hourly, CPU profile)"))
    root = argv[argv.index("--root_path") + 1]
    assert root == str(harness.REPO / "dataset" / "m4") and (harness.REPO / "dataset" / "m4").is_dir()


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
    configs = timellm_parts.model_configs(args, True)
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


# ----------------------------------------------------------------------------- the harness
BENCH = Path(harness.__file__).parent


def _bench_imports(tree: ast.AST) -> set[str]:
    """The ``bench`` modules a parsed source imports (``bench.x`` or ``from bench import x``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("bench.")}
        elif isinstance(node, ast.ImportFrom) and node.module == "bench":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench."):
            found.add(node.module.split(".")[1])
    return found


def _is_command(tree: ast.Module) -> bool:
    """A module run as ``python -m bench.<name>``: it has an ``if __name__ == "__main__":`` block."""
    return any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body)


def test_no_bench_command_imports_another_command():
    """Commands share code through ``bench.harness`` and ``bench.timellm_parts`` only; also the
    worker sources a command hands a child process (string constants that parse as Python)."""
    trees = {path.stem: ast.parse(path.read_text()) for path in BENCH.glob("*.py")}
    commands = {name for name, tree in trees.items() if _is_command(tree)}
    assert {"bench_timellm", "bench_eval", "bench_gpu", "bench_models", "bench_efficiency",
            "bench_roofline", "bench_vs_authors"} <= commands
    assert not commands & {"harness", "timellm_parts", "host_reads"}
    offences = []
    for name in sorted(commands):
        imported = _bench_imports(trees[name])
        for node in ast.walk(trees[name]):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "bench." in node.value:
                try:
                    imported |= _bench_imports(ast.parse(node.value))
                except SyntaxError:
                    pass  # prose, not a worker's source
        offences += [f"bench/{name}.py imports bench.{other}" for other in sorted(imported & commands)]
    assert not offences, "\n".join(offences)


def test_plain_flags_are_typed_by_their_defaults():
    p = argparse.ArgumentParser()
    harness.add_plain_flags(p, seq_len=512, dropout=0.1, llm_model="SmolLM2")
    args = p.parse_args(["--seq_len", "96", "--dropout", "0"])
    assert (args.seq_len, args.dropout, args.llm_model) == (96, 0.0, "SmolLM2")
    assert isinstance(args.dropout, float)


def test_timed_steps_times_every_item_after_the_warmup():
    seen = []
    times = harness.timed_steps(seen.append, iter("abcde"), warmup=2)
    assert seen == list("abcde") and len(times) == 3 and all(t >= 0 for t in times)
    assert harness.median([3.0, None, 1.0, 2.0]) == 2.0 and harness.median([None]) != harness.median([None])


def test_markdown_rows_and_header():
    assert harness.md_header(["a", "b c"]) == ["| a | b c |", "|---|---|"]
    assert harness.md_row([1, "x", 2.5]) == "| 1 | x | 2.5 |"


def test_child_json_reads_the_last_json_line_and_reports_a_failure():
    ok = [sys.executable, "-c", "print('hello'); print('{\"a\": 1}'); print('{\"a\": 2}')"]
    assert harness.child_json(ok) == {"a": 2}
    with pytest.raises(harness.ChildFailed) as failed:
        harness.child_json([sys.executable, "-c", "import sys; sys.exit('boom')"])
    assert "boom" in failed.value.stderr
    with pytest.raises(harness.ChildFailed):  # exit 0 without a JSON answer
        harness.child_json([sys.executable, "-c", "print('no answer')"])
    assert harness.child_env(3, EXTRA="x")["OMP_NUM_THREADS"] == "3"
