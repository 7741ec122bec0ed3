"""A user's own CSV: the channel count read from the file (no --enc_in to get wrong), and the
dataset description of Time-LLM's prompt from --content / --content_file, for any dataset."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from data_provider.data_factory import model_widths
from data_provider.data_loader import file_channels
from data_provider.datasets import DATASETS
from data_provider.prompt_bank import user_description
from exp.config import build_config
from models.TimeLLM import Model
from run_main import main
from tests.helpers.args import make_args
from tests.helpers.data_files import write_table
from tests.helpers.runs import run_main
from utils.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("one_thread")

DESCRIPTION = "Hourly load of three feeders of a small town, in kW; weekdays peak at 6 pm."


def own_csv(folder, n_columns: int, n_rows: int = 400):
    """A user's file: ``date`` and ``n_columns`` numeric columns with their own names."""
    columns = [f"feeder_{i}" for i in range(n_columns - 1)] + ["total"]
    write_table(folder / "mine.csv", columns, n_rows, "h")
    return columns


def custom_argv(folder, *extra) -> list[str]:
    return ["--data", "custom", "--root_path", str(folder), "--data_path", "mine.csv",
            "--features", "M", "--freq", "h", *extra]


def one_error_line(capsys, argv: list[str]) -> str:
    """Run ``run_main.main(argv)`` in this process: exit status 2 and one line on stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


# ----------------------------------------------------------------------------- widths

@pytest.mark.parametrize("features, target, widths", [
    ("M", "total", (5, 5, 5)), ("MS", "total", (5, 5, 1)), ("S", "total", (1, 1, 1))])
def test_widths_come_from_the_header(tmp_path, features, target, widths):
    own_csv(tmp_path, 5)
    args = make_args(*custom_argv(tmp_path), "--features", features, "--target", target)
    assert tuple(model_widths(args).values()) == widths
    cfg = build_config(make_args(*custom_argv(tmp_path), "--features", features, "--target", target,
                                 "--model", "DLinear", "--results_dir", tmp_path / "r",
                                 "--checkpoints", tmp_path / "c"))
    assert (cfg.enc_in, cfg.dec_in, cfg.c_out) == widths


def test_given_widths_are_kept_and_only_unset_ones_derived(tmp_path):
    own_csv(tmp_path, 5)
    cfg = build_config(make_args(*custom_argv(tmp_path), "--model", "DLinear", "--c_out", "2",
                                 "--results_dir", tmp_path / "r", "--checkpoints", tmp_path / "c"))
    assert (cfg.enc_in, cfg.dec_in, cfg.c_out) == (5, 5, 2)


def test_benchmarks_take_the_table_and_it_matches_the_mirrored_files(data_root):
    for name in ("ETTh1", "ILI", "Exchange"):
        info = DATASETS[name]
        assert file_channels(str(data_root / info.folder / info.file), "M", "OT") == info.channels
        args = make_args("--data", name, "--root_path", "/nowhere", "--features", "M")
        assert model_widths(args) == {"enc_in": info.channels, "dec_in": info.channels,
                                      "c_out": info.channels}
    # the real Exchange file read as a user's CSV: its 8 columns, without --enc_in
    args = make_args("--data", "custom", "--root_path", data_root / "exchange_rate",
                     "--data_path", "exchange_rate.csv", "--features", "MS")
    assert model_widths(args) == {"enc_in": 8, "dec_in": 8, "c_out": 1}


def test_header_errors_are_one_line(tmp_path):
    with pytest.raises(DataError, match="data file .*missing.csv not found"):
        model_widths(make_args("--data", "custom", "--root_path", tmp_path, "--data_path", "missing.csv"))
    (tmp_path / "nodate.csv").write_text("time,a\n1,2\n")
    with pytest.raises(DataError, match="no 'date' column"):
        model_widths(make_args("--data", "custom", "--root_path", tmp_path, "--data_path", "nodate.csv"))
    own_csv(tmp_path, 3)
    with pytest.raises(DataError, match="target column 'OT' not found"):
        model_widths(make_args(*custom_argv(tmp_path), "--features", "MS"))


@pytest.mark.parametrize("n_columns", [3, 5])
def test_custom_csv_trains_without_enc_in(tmp_path, n_columns):
    columns = own_csv(tmp_path, n_columns)
    run_main(["--model", "DLinear", "--model_id", "own", *custom_argv(tmp_path),
              "--seq_len", "48", "--label_len", "24", "--pred_len", "24", "--channel_independence", "0",
              "--batch_size", "16", "--eval_batch_size", "64", "--train_epochs", "1",
              "--learning_rate", "0.005", "--des", "pytest"], tmp_path)
    (metrics_file,) = (tmp_path / "results").glob("*/metrics.json")
    m = json.loads(metrics_file.read_text())
    assert (m["args"]["enc_in"], m["args"]["dec_in"], m["args"]["c_out"]) == (n_columns,) * 3
    # the test split: int(0.2 * 400) rows after seq_len context rows, one window per offset
    assert m["metrics"]["n_samples"] == 80 + 48 - 48 - 24 + 1
    assert np.load(metrics_file.parent / "pred.npy").shape == (57, 24, len(columns))
    assert np.isfinite(m["metrics"]["mse"])


def test_a_disagreeing_enc_in_is_one_line(tmp_path):
    own_csv(tmp_path, 3)
    proc = run_main(["--model", "DLinear", *custom_argv(tmp_path), "--enc_in", "5",
                     "--seq_len", "48", "--label_len", "24", "--pred_len", "24"], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line == ("error: --enc_in 5, but custom has 3 channels with --features M; "
                    "pass --enc_in 3 (and --dec_in/--c_out to match)")


# ----------------------------------------------------------------------------- description

def test_user_description_rules(tmp_path):
    assert user_description(None, None) is None
    assert user_description("  Two\n lines. ", None) == "Two lines."
    (tmp_path / "about.txt").write_text(f"\n{DESCRIPTION}\n\n")
    assert user_description(None, str(tmp_path / "about.txt")) == DESCRIPTION
    for content, content_file, kind, needle in [
            ("x", str(tmp_path / "about.txt"), ConfigError, "pass only one"),
            (" \n", None, ConfigError, "--content is empty"),
            (None, str(tmp_path / "nope.txt"), DataError, "nope.txt not found; check --content_file")]:
        with pytest.raises(kind, match=needle) as err:
            user_description(content, content_file)
        assert "\n" not in str(err.value)


def timellm_argv(tiny_dirs, folder, fast: int, *extra) -> list[str]:
    """A tiny Time-LLM on the user's CSV (GPT-2 family backbone: its tokenizer decodes text back)."""
    return [*custom_argv(folder), "--model", "TimeLLM", "--llm_model", "GPT2",
            "--llm_path", tiny_dirs["GPT2"], "--llm_layers", "2", "--seq_len", "32", "--label_len", "8",
            "--pred_len", "8", "--d_model", "8", "--n_heads", "2", "--d_ff", "16", "--patch_len", "8",
            "--stride", "4", "--dropout", "0", "--num_tokens", "20", "--fast_path", str(fast),
            "--prompt_domain", "1", "--results_dir", str(folder / "r"),
            "--checkpoints", str(folder / "c"), *extra]


def prompt_text(model: Model) -> str:
    torch.manual_seed(0)
    ids = model.prompt_ids(torch.randn(2, 32, 1).cumsum(dim=1))
    return model.tokenizer.decode(ids[0], skip_special_tokens=False)


@pytest.mark.parametrize("how", ["content_file", "content"])
def test_the_description_reaches_timellm_prompt(tmp_path, tiny_dirs, how):
    own_csv(tmp_path, 3)
    (tmp_path / "about.txt").write_text(DESCRIPTION.replace(" in kW;", "\n  in kW;") + "\n")
    given = (["--content_file", str(tmp_path / "about.txt")] if how == "content_file"
             else ["--content", DESCRIPTION])
    texts = []
    for fast in (0, 1):
        cfg = build_config(make_args(*timellm_argv(tiny_dirs, tmp_path, fast, *given)))
        assert cfg.content == DESCRIPTION and cfg.enc_in == 3
        torch.manual_seed(0)
        model = Model(cfg)
        assert model.description == DESCRIPTION
        texts.append(prompt_text(model))
    assert texts[0] == texts[1]
    assert texts[0].startswith(f"<|start_prompt|>Dataset description: {DESCRIPTION}Task description: "
                               "forecast the next 8 steps given the previous 32 steps information;")


def test_content_takes_the_prompt_bank_place_for_a_benchmark(tmp_path, tiny_dirs, data_root):
    argv = timellm_argv(tiny_dirs, tmp_path, 1, "--data", "ETTh1", "--root_path",
                        str(data_root / "ETT-small"), "--data_path", "ETTh1.csv")
    assert "Electricity Transformer" in Model(build_config(make_args(*argv))).description
    model = Model(build_config(make_args(*argv, "--content", DESCRIPTION)))
    assert model.description == DESCRIPTION


def test_custom_prompt_domain_without_a_description_says_how(tmp_path, tiny_dirs):
    own_csv(tmp_path, 3)
    cfg = build_config(make_args(*timellm_argv(tiny_dirs, tmp_path, 1)))
    with pytest.raises(ConfigError, match="no prompt-bank description for --data 'custom'") as err:
        Model(cfg)
    assert "--content_file PATH" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("given, needle", [
    (["--content", "x", "--content_file", "about.txt"], "--content and --content_file both"),
    (["--content_file", "missing.txt"], "missing.txt not found; check --content_file"),
    (["--content_file", "empty.txt"], "empty.txt is empty"),
    (["--content", "   "], "--content is empty"),
])
def test_description_flag_errors_are_one_line(tmp_path, tiny_dirs, capsys, given, needle):
    own_csv(tmp_path, 3)
    (tmp_path / "about.txt").write_text(DESCRIPTION)
    (tmp_path / "empty.txt").write_text(" \n\n")
    given = [str(tmp_path / g) if g.endswith(".txt") else g for g in given]
    assert needle in one_error_line(capsys, timellm_argv(tiny_dirs, tmp_path, 1, *given))


def test_content_without_prompt_domain_is_refused(tmp_path, tiny_dirs, capsys):
    own_csv(tmp_path, 3)
    argv = timellm_argv(tiny_dirs, tmp_path, 1, "--content", DESCRIPTION, "--prompt_domain", "0")
    assert "add --prompt_domain 1" in one_error_line(capsys, argv)
