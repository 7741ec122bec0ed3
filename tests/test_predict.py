"""``--do_predict 1``: forecasts past the end of the data file, and test forecasts in original units.

End-to-end on the real mirrored ETTh1 (DLinear, one epoch; a tiny Time-LLM for the
channel-independent view), M4 Hourly for panels; the future dates and the refusals on small
generated files in the real layout.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_provider.data_factory import build_dataset
from data_provider.data_loader import StandardScaler
from exp.config import build_config
from exp.predict import (check_columns, data_step, forecast_table, forecast_values, model_inputs,
                         read_future_input)
from tests.helpers.args import make_args
from tests.helpers.data_files import ETT_COLUMNS, write_table
from tests.helpers.runs import run_main
from utils.errors import DataError, UserError

ETTH1 = Path(__file__).resolve().parents[1] / "dataset" / "ETT-small" / "ETTh1.csv"

DLINEAR = ["--task_name", "long_term_forecast", "--model", "DLinear", "--data", "ETTh1",
           "--root_path", "./dataset/ETT-small/", "--data_path", "ETTh1.csv", "--features", "M",
           "--seq_len", "96", "--label_len", "48", "--pred_len", "96", "--enc_in", "7",
           "--dec_in", "7", "--c_out", "7", "--batch_size", "64", "--eval_batch_size", "256",
           "--learning_rate", "0.005", "--train_epochs", "1", "--percent", "20",
           "--des", "predict", "--num_workers", "0", "--model_id", "future", "--do_predict", "1"]


def one_folder(results: Path) -> Path:
    folders = [p.parent for p in results.glob("*/metrics.json")]
    assert len(folders) == 1, folders
    return folders[0]


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def dlinear_predict(tmp_path_factory, data_root):
    tmp = tmp_path_factory.mktemp("predict")
    run_main(DLINEAR, tmp)
    return tmp, one_folder(tmp / "results")


def test_forecast_csv_follows_the_file_in_original_units(dlinear_predict):
    _, folder = dlinear_predict
    table = pd.read_csv(folder / "forecast.csv", parse_dates=["date"])
    data = pd.read_csv(ETTH1, parse_dates=["date"])
    assert len(table) == 96
    assert list(table.columns) == ["date", *ETT_COLUMNS]
    assert table["date"].iloc[0] == data["date"].iloc[-1] + pd.Timedelta(hours=1)
    assert (table["date"].diff().dropna() == pd.Timedelta(hours=1)).all()
    last_month = data.iloc[-720:]
    for col in ETT_COLUMNS:  # original units: each channel's mean inside its last month's range
        assert last_month[col].min() <= table[col].mean() <= last_month[col].max(), col
    assert (folder / "forecast_future.png").stat().st_size > 0
    assert json.loads((folder / "metrics.json").read_text())["data_columns"] == ETT_COLUMNS


def copy_checkpoints(tmp: Path, dest: Path) -> None:
    """The trained run's checkpoints under ``dest`` (run_main puts its own results there)."""
    shutil.copytree(tmp / "ckpt", dest / "ckpt")


def test_the_saved_checkpoint_forecasts_the_same(dlinear_predict, tmp_path):
    tmp, folder = dlinear_predict
    copy_checkpoints(tmp, tmp_path)
    run_main([*DLINEAR, "--is_training", "0"], tmp_path)
    other = one_folder(tmp_path / "results")
    assert (other / "forecast.csv").read_text() == (folder / "forecast.csv").read_text()


def test_pred_original_is_the_inverse_transform_of_pred(dlinear_predict):
    _, folder = dlinear_predict
    pred = np.load(folder / "pred.npy")
    original = np.load(folder / "pred_original.npy")
    cfg = build_config(make_args(*DLINEAR, "--results_dir", str(folder.parent)))
    dataset = build_dataset(cfg, "test")
    assert original.shape == pred.shape and original.dtype == np.float32
    np.testing.assert_array_equal(original, dataset.inverse_transform(pred).astype(np.float32))


def test_a_checkpoint_trained_on_other_columns_is_refused(dlinear_predict, tmp_path):
    tmp, _ = dlinear_predict
    renamed = pd.read_csv(ETTH1)
    renamed.columns = ["date", *[f"x{i}" for i in range(6)], "OT"]
    root = tmp_path / "other"
    root.mkdir()
    renamed.to_csv(root / "ETTh1.csv", index=False)
    copy_checkpoints(tmp, tmp_path)
    args = [*DLINEAR, "--is_training", "0", "--root_path", str(root)]
    proc = run_main(args, tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = error_lines(proc)
    assert len(err) == 1 and "trained on columns HUFL" in err[0] and "x0" in err[0], proc.stderr[-2000:]


def test_irregular_dates_without_a_usable_freq_are_refused_before_training(tmp_path):
    path = tmp_path / "gaps.csv"
    df = write_table(path, ["a", "b", "OT"], 400, "D")
    df.drop(index=[100, 250]).to_csv(path, index=False)
    args = ["--model", "DLinear", "--data", "custom", "--root_path", str(tmp_path), "--data_path",
            "gaps.csv", "--features", "M", "--seq_len", "24", "--label_len", "12", "--pred_len", "12",
            "--enc_in", "3", "--dec_in", "3", "--c_out", "3", "--train_epochs", "1", "--batch_size", "8",
            "--num_workers", "0", "--do_predict", "1"]
    proc = run_main(args, tmp_path, check=False)  # --freq h (the default) on daily dates with gaps
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = error_lines(proc)
    assert len(err) == 1 and "irregular" in err[0] and "--freq" in err[0], proc.stderr[-2000:]
    assert "Epoch" not in proc.stdout  # refused before any training
    run_main([*args, "--freq", "d"], tmp_path)  # the data's step: forecast
    table = pd.read_csv(one_folder(tmp_path / "results") / "forecast.csv", parse_dates=["date"])
    assert table["date"].iloc[0] == pd.Timestamp(df["date"].iloc[-1]) + pd.Timedelta(days=1)
    assert list(table.columns) == ["date", "a", "b", "OT"]


# --------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize("freq,step", [("15min", pd.Timedelta(minutes=15)), ("D", pd.Timedelta(days=1)),
                                       ("h", pd.Timedelta(hours=1))])
def test_future_dates_follow_the_file_frequency(tmp_path, freq, step):
    path = tmp_path / "data.csv"
    df = write_table(path, ["a", "OT"], 300, freq)
    future = read_future_input(str(path), ["a", "OT"], "M", "OT", 48, 24, "h")
    last = pd.Timestamp(df["date"].iloc[-1])
    assert list(future.future) == [last + step * k for k in range(1, 25)]
    np.testing.assert_array_equal(future.history, df[["a", "OT"]].to_numpy()[-48:])
    assert future.history_dates[-1] == last and "inferred" in future.step


def test_calendar_frequencies_and_irregular_dates(tmp_path):
    months = pd.date_range("2001-01-31", periods=40, freq="ME")
    step, how = data_step(months, "h", "m.csv")
    assert pd.date_range(months[-1], periods=2, freq=step)[1] == pd.Timestamp("2004-05-31")
    hours = pd.date_range("2020-01-01", periods=60, freq="h").delete([7, 30])
    step, how = data_step(hours, "h", "gaps.csv")  # gaps: --freq h agrees with the usual step
    assert step == pd.Timedelta(hours=1) and "--freq h" in how
    for bad in ("d", "nonsense"):
        with pytest.raises(DataError, match="irregular") as e:
            data_step(hours, bad, "gaps.csv")
        assert "\n" not in str(e.value)


def test_a_file_shorter_than_seq_len_is_refused(tmp_path):
    path = tmp_path / "short.csv"
    write_table(path, ["a", "OT"], 30, "h")
    with pytest.raises(DataError, match="fewer than --seq_len 96") as e:
        read_future_input(str(path), ["a", "OT"], "M", "OT", 96, 24, "h")
    assert "\n" not in str(e.value)


def test_check_columns():
    check_columns(["a", "b"], ["a", "b"], "ckpt")
    check_columns(None, ["a"], "ckpt")  # older checkpoints record no columns
    with pytest.raises(UserError, match="trained on columns a, b"):
        check_columns(["a", "b"], ["a", "c"], "ckpt")


@pytest.mark.parametrize("features,ci,batch,width,out_cols", [
    ("M", 0, 1, 3, ["a", "b", "OT"]), ("M", 1, 3, 1, ["a", "b", "OT"]),
    ("MS", 0, 1, 3, ["OT"]), ("MS", 1, 1, 1, ["OT"]), ("S", 0, 1, 1, ["OT"])])
def test_model_inputs_and_original_units_in_each_view(tmp_path, features, ci, batch, width, out_cols):
    path = tmp_path / "data.csv"
    cols = ["OT"] if features == "S" else ["a", "b", "OT"]
    df = write_table(path, ["a", "b", "OT"], 200, "h")
    future = read_future_input(str(path), cols, features, "OT", 32, 8, "h")
    scaler = StandardScaler().fit(df[cols].to_numpy()[:100])
    x, x_mark, x_dec, y_mark = model_inputs(future, scaler, 16, 1, "h", None, features, ci)
    assert x.shape == (batch, 32, width) and x_dec.shape == (batch, 24, width)
    assert x_mark.shape == (batch, 32, 4) and y_mark.shape == (batch, 24, 4)
    assert (x_dec[:, 16:] == 0).all() and (x_dec[:, :16] == x[:, 16:]).all()
    # a model that repeats its input's last rows: the forecast is those rows in original units
    out = x[:, -8:, :].numpy() if features == "M" or ci else x[:, -8:, -1:].numpy()

    def inverse(data, channel=None):
        if channel is None:
            return scaler.inverse_transform(data)
        c = np.asarray(channel)
        return data * scaler.scale_[c].reshape(c.shape + (1,) * (data.ndim - c.ndim)) \
            + scaler.mean_[c].reshape(c.shape + (1,) * (data.ndim - c.ndim))

    values = forecast_values(out, future, inverse, features, ci)
    table = forecast_table(future, values)
    assert list(table.columns) == ["date", *out_cols]
    np.testing.assert_allclose(table[out_cols].to_numpy(), df[out_cols].to_numpy()[-8:], rtol=1e-5)


# --------------------------------------------------------------------------- other models, panels


def test_tiny_timellm_forecasts_channel_independently(tmp_path, tiny_dirs, data_root):  # noqa: F811
    args = ["--task_name", "long_term_forecast", "--model", "TimeLLM", "--data", "ETTh1",
            "--root_path", "./dataset/ETT-small/", "--data_path", "ETTh1.csv", "--features", "M",
            "--seq_len", "32", "--label_len", "8", "--pred_len", "8", "--enc_in", "7",
            "--d_model", "8", "--d_ff", "16", "--n_heads", "2", "--patch_len", "8", "--stride", "4",
            "--llm_model", "LLAMA", "--llm_layers", "2", "--num_tokens", "20", "--batch_size", "64",
            "--eval_batch_size", "512", "--learning_rate", "0.01", "--train_epochs", "1",
            "--percent", "3", "--des", "tiny", "--llm_path", tiny_dirs["LLAMA"], "--do_predict", "1"]
    run_main(args, tmp_path)
    table = pd.read_csv(one_folder(tmp_path / "results") / "forecast.csv")
    assert table.shape == (8, 8) and list(table.columns[1:]) == ETT_COLUMNS
    assert np.isfinite(table[ETT_COLUMNS].to_numpy()).all()


def test_m4_panel_gets_one_forecast_per_series(tmp_path, data_root):
    run_main(["--task_name", "short_term_forecast", "--model", "Naive2", "--data", "m4",
              "--root_path", "./dataset/m4", "--seasonal_patterns", "Hourly", "--model_id", "panel",
              "--features", "S", "--enc_in", "1", "--c_out", "1", "--do_predict", "1"], tmp_path)
    folder = one_folder(tmp_path / "results")
    table = pd.read_csv(folder / "forecast.csv")
    assert list(table.columns) == ["unique_id", "step", "y_hat"]
    assert len(table) == 414 * 48 and table["unique_id"].iloc[0] == "H1"
    assert list(table["step"][:48]) == list(range(1, 49))
    assert (folder / "forecast_future.png").exists()
