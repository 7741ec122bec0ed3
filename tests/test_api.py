"""The Python API (``timellm_api.Forecaster``) against the command line, on the real mirrored ETTh1.

One small DLinear run (1 epoch, 20% of the training split) through ``run_main.py`` in a
subprocess, and the same settings as keywords in this process: the same configuration, the same
metrics, the same forecast. Then a trained run loaded from its checkpoint, forecasts after a
user's table, and the one-line errors.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from exp.config import flag_names
from tests.helpers.data_files import ETT_COLUMNS
from tests.helpers.project import ROOT
from tests.helpers.runs import run_main
from timellm_api import Forecaster, flags_to_argv
from utils.errors import ConfigError, DataError, UserError

# one intra-op thread, as the command line's subprocess (OMP_NUM_THREADS=1): float32 sums then
# run in the same order, and the forecasts agree to the last bit
pytestmark = pytest.mark.usefixtures("one_thread")

ETT_ROOT = str(ROOT / "dataset" / "ETT-small") + "/"
ETTH1 = ROOT / "dataset" / "ETT-small" / "ETTh1.csv"

CLI = ["--model", "DLinear", "--data", "ETTh1", "--root_path", ETT_ROOT, "--data_path", "ETTh1.csv",
       "--features", "M", "--seq_len", "96", "--label_len", "48", "--pred_len", "96",
       "--batch_size", "64", "--eval_batch_size", "256", "--learning_rate", "0.005",
       "--train_epochs", "1", "--percent", "20", "--des", "api", "--model_id", "api",
       "--do_predict", "1"]
KEYWORDS = dict(model="DLinear", data="ETTh1", root_path=ETT_ROOT, data_path="ETTh1.csv", features="M",
                seq_len=96, label_len=48, pred_len=96, batch_size=64, eval_batch_size=256,
                learning_rate=0.005, train_epochs=1, percent=20, des="api", model_id="api")


def folder_of(results: Path) -> Path:
    folders = [p.parent for p in results.glob("*/metrics.json")]
    assert len(folders) == 1, folders
    return folders[0]


def read_forecast(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "forecast.csv", parse_dates=["date"])


def assert_same_forecast(table: pd.DataFrame, csv: pd.DataFrame) -> None:
    """Same columns, dates and values (forecast.csv holds every float's shortest exact repr)."""
    assert list(table.columns) == list(csv.columns) == ["date", *ETT_COLUMNS]
    assert list(table["date"]) == list(csv["date"])
    np.testing.assert_array_equal(table[ETT_COLUMNS].to_numpy(), csv[ETT_COLUMNS].to_numpy())


@pytest.fixture(scope="module")
def cli(tmp_path_factory, data_root):
    """The command line's run: (its folder under tmp, its results folder)."""
    tmp = tmp_path_factory.mktemp("cli")
    run_main(CLI, tmp)  # OMP_NUM_THREADS=1
    return tmp, folder_of(tmp / "results")


@pytest.fixture(scope="module")
def api(tmp_path_factory, data_root):
    """The same run through the API in this process, on one thread like the subprocess:
    (the Forecaster, test()'s metrics, predict()'s table)."""
    tmp = tmp_path_factory.mktemp("api")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        f = Forecaster(**KEYWORDS, checkpoints=str(tmp / "ckpt"), results_dir=str(tmp / "results"))
        f.fit()
        metrics = f.test()
        table = f.predict()
    finally:
        torch.set_num_threads(threads)
    return f, metrics, table


def test_the_api_reproduces_the_command_lines_run(cli, api):
    _, folder = cli
    f, metrics, _ = api
    saved = json.loads((folder / "metrics.json").read_text())
    own = json.loads((f.results_folder / "metrics.json").read_text())
    # the keywords build the configuration the flags built (defaults and derived values included)
    ignore = {"checkpoints", "results_dir", "do_predict"}
    assert {k: v for k, v in own["args"].items() if k not in ignore} == \
        {k: v for k, v in saved["args"].items() if k not in ignore}
    assert f.results_folder.name == folder.name
    # the same training and test: every metric, every epoch's losses
    # (exactly: same seed, same order of operations, one thread each)
    assert set(metrics) >= {"mse", "mae", "mse_original", "mae_original", "n_samples"}
    assert metrics == saved["metrics"] == own["metrics"]
    assert [(r["train_loss"], r["vali_loss"], r["test_loss"]) for r in f.history] == \
        [(r["train_loss"], r["vali_loss"], r["test_loss"]) for r in saved["history"]]
    np.testing.assert_array_equal(np.load(f.results_folder / "pred.npy"), np.load(folder / "pred.npy"))


def test_predict_is_the_forecast_csv_the_command_line_writes(cli, api):
    _, folder = cli
    f, _, table = api
    assert_same_forecast(table, read_forecast(folder))
    assert not (f.results_folder / "forecast.csv").exists()  # predict() writes nothing


def test_a_saved_run_loads_from_its_checkpoint(cli, tmp_path):
    tmp, folder = cli
    ckpt = next((tmp / "ckpt").glob("*/checkpoint.pt"))
    f = Forecaster.from_checkpoint(ckpt.parent, results_dir=str(tmp_path))
    assert f.config.is_training == 0 and f.config.model == "DLinear" and f.checkpoint == ckpt
    assert_same_forecast(f.predict(), read_forecast(folder))
    saved = json.loads((folder / "metrics.json").read_text())["metrics"]
    metrics = f.test()  # a fresh test pass on the saved weights
    assert metrics == saved
    assert json.loads((tmp_path / folder.name / "metrics.json").read_text())["metrics"] == metrics
    with pytest.raises(ConfigError, match="is_training=0"):
        f.fit()


def test_predict_after_a_users_table(api):
    f, _, table = api
    data = pd.read_csv(ETTH1)
    # the whole file as a DataFrame (date as a column or as the index): the file's forecast
    assert_same_forecast(f.predict(data), table)
    assert_same_forecast(f.predict(data.set_index("date")), table)
    # the first 5000 rows: the forecast follows their last row, in original units
    head = data.iloc[:5000]
    own = f.predict(head)
    last = pd.Timestamp(head["date"].iloc[-1])
    assert list(own["date"]) == list(pd.date_range(last, periods=97, freq="h")[1:])
    month = head.iloc[-720:]
    for col in ETT_COLUMNS:
        assert month[col].min() <= own[col].mean() <= month[col].max(), col
    assert not np.allclose(own[ETT_COLUMNS].to_numpy(), table[ETT_COLUMNS].to_numpy())


@pytest.mark.parametrize("change,message", [
    (lambda d: d.rename(columns={"HUFL": "load"}), "columns load, HULL, MUFL, MULL, LUFL, LULL, OT "
                                                   "differ from the run's HUFL"),
    (lambda d: d.drop(columns="date"), "no 'date' column"),
    (lambda d: d.iloc[:50], "50 rows, fewer than --seq_len 96"),
    (lambda d: d.iloc[::-1], "the dates must increase"),
])
def test_a_users_table_that_does_not_fit_is_refused(api, change, message):
    f, _, _ = api
    with pytest.raises(DataError, match="table given to predict") as e:
        f.predict(change(pd.read_csv(ETTH1)))
    assert message in str(e.value) and "\n" not in str(e.value)


# --------------------------------------------------------------------------- building, errors


def test_keywords_argv_and_flags_build_the_same_configuration(data_root):
    a = Forecaster(**KEYWORDS, do_predict=1)
    b = Forecaster.from_argv(CLI)
    assert a.config == b.config
    assert a.config.enc_in == 7 and a.config.lr_quirk == "off"  # derived as the command line does
    assert flags_to_argv({"pred_len": 24, "overwrite": True, "resume": False, "enc_in": None,
                          "individual": True}) == ["--pred_len=24", "--overwrite", "--individual=1"]
    text = "-- hourly load of a transformer, -20 to 40 degrees"  # a value that looks like a flag
    assert Forecaster(**KEYWORDS, prompt_domain=1, content=text).config.content == text


@pytest.mark.parametrize("keywords,message", [
    ({"modle": "DLinear"}, "unknown keyword 'modle' (keywords are run_main.py's flags); did you mean model"),
    ({"pred_len": "ninety"}, "argument --pred_len: invalid int value: 'ninety'"),
    ({"features": "X"}, "argument --features: invalid choice: 'X'"),
    ({"model": "DLiner"}, "unknown model 'DLiner'; valid: "),
    ({"learning_rate": 0}, "--learning_rate must be positive, got 0.0"),
    ({"itr": 3}, "itr=3: a Forecaster runs one repetition"),
])
def test_a_bad_keyword_is_one_user_error(data_root, keywords, message):
    with pytest.raises(ConfigError) as e:
        Forecaster(**{**KEYWORDS, **keywords})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unknown_flags_and_untrained_use_are_user_errors(data_root, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown flag '--pred_lenn'.*did you mean --pred_len"):
        Forecaster.from_argv([*CLI, "--pred_lenn", "24"])
    f = Forecaster(**KEYWORDS, checkpoints=str(tmp_path / "ckpt"), results_dir=str(tmp_path / "r"))
    for call in (f.test, f.predict):
        with pytest.raises(UserError, match=r"nothing trained yet: call fit\(\) first"):
            call()
    with pytest.raises(UserError, match="checkpoint not found"):
        Forecaster.from_checkpoint(tmp_path / "nowhere")
    assert set(KEYWORDS) <= set(flag_names())


def test_the_readme_example_runs(data_root, tmp_path, monkeypatch):
    """docs/USAGE.md's "Python API" block, run as written in a folder that holds ./dataset."""
    text = (ROOT / "docs" / "USAGE.md").read_text().split("### Python API", 1)[1]
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "dataset").symlink_to(ROOT / "dataset")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "docs/USAGE.md (Python API)", "exec"), scope)
    assert scope["metrics"]["n_samples"] == 2785 and np.isfinite(scope["metrics"]["mse"])
    future, mine, after = scope["future"], scope["mine"], scope["after_mine"]
    assert list(future.columns) == ["date", *ETT_COLUMNS] and len(future) == 96
    assert after["date"].iloc[0] == pd.Timestamp(mine["date"].iloc[-1]) + pd.Timedelta(hours=1)
    assert_same_forecast(scope["same"], future)
    assert (tmp_path / "results" / scope["f"].setting / "metrics.json").is_file()
