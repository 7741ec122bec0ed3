"""``--data long``: many series in one long table (``unique_id, ds, y``).

A generated file in the exact layout (three series of different lengths and start dates, two hourly
and one daily): per-series borders, scalers and windows against a by-hand computation; DLinear
end to end through ``run_main.py`` (train, test, forecast per series, the same forecast from the
saved checkpoint); one-line refusals. On the real mirrored ETTh1 melted into a long table: the
same windows, bit for bit, as the channel-independent view of the wide file.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_provider.data_factory import build_dataset
from data_provider.data_loader import Dataset_Custom
from data_provider.long_data import rows_needed, series_borders
from exp.config import build_config
from exp.predict import long_panel, panel_inputs
from run_main import main
from tests.helpers.args import make_args
from tests.helpers.data_files import write_long_table
from tests.helpers.runs import run_main
from utils.errors import ConfigError, DataError
from utils.timefeatures import time_features

L, LABEL, H = 24, 12, 12
SERIES = [("shop_A", 300, "2020-01-01 00:00", "h"), ("shop_B", 220, "2020-03-05 06:00", "h"),
          ("warehouse", 260, "2019-06-01", "D")]
STEPS = {"shop_A": pd.Timedelta(hours=1), "shop_B": pd.Timedelta(hours=1),
         "warehouse": pd.Timedelta(days=1)}


def long_argv(root: Path, *extra: str) -> list[str]:
    return ["--model", "DLinear", "--data", "long", "--root_path", str(root), "--data_path", "long.csv",
            "--seq_len", str(L), "--label_len", str(LABEL), "--pred_len", str(H), "--freq", "h",
            "--batch_size", "16", "--eval_batch_size", "64", "--learning_rate", "0.005",
            "--train_epochs", "1", "--num_workers", "0", "--des", "long", *extra]


@pytest.fixture
def long_file(tmp_path):
    return tmp_path, write_long_table(tmp_path / "long.csv", SERIES)


def dataset(root: Path, flag: str, *extra: str):
    return build_dataset(make_args(*long_argv(root, *extra)), flag)


def by_hand_borders(n: int, percent: int = 100, test_rows: int = 0):
    """The custom 70/10/20 rule written out (or test_rows / as many for val), few-shot train end."""
    if test_rows:
        n_test, n_val = test_rows, test_rows
        n_train = n - 2 * test_rows
    else:
        n_train, n_test = int(n * 0.7), int(n * 0.2)
        n_val = n - n_train - n_test
    train_end = (n_train - L) * percent // 100 + L
    return ((0, n_train - L, n - n_test - L), (train_end, n_train + n_val, n)), n_train


# --------------------------------------------------------------------------- borders, scaling, windows


@pytest.mark.parametrize("percent,test_rows", [(100, 0), (50, 0), (100, 30)])
def test_borders_scalers_and_every_window_by_hand(long_file, percent, test_rows):
    root, df = long_file
    extra = ("--percent", str(percent), "--test_rows", str(test_rows))
    for flag, split in (("train", 0), ("val", 1), ("test", 2)):
        ds = dataset(root, flag, *extra)
        assert ds.n_channels == 1 and list(ds.table.ids) == [s[0] for s in SERIES]
        expected_x, expected_mark, counts = [], [], []
        for k, (uid, n, _, _) in enumerate(SERIES):
            rows = df[df["unique_id"] == uid]
            y = rows["y"].to_numpy()
            borders, n_train = by_hand_borders(n, percent, test_rows)
            assert ds.series_borders[k] == borders, uid
            mean, std = y[:n_train].mean(), y[:n_train].std()  # full training part, as custom CSVs
            np.testing.assert_allclose([ds.scaler.mean_[k], ds.scaler.scale_[k]], [mean, std], rtol=1e-12)
            b1, b2 = borders[0][split], borders[1][split]
            counts.append(b2 - b1 - L - H + 1)
            scaled = ((y[b1:b2] - mean) / std).astype(np.float32)
            marks = time_features(pd.DatetimeIndex(rows["ds"].iloc[b1:b2]), "h").T.astype(np.float32)
            for s in range(counts[-1]):  # each window is one slice of this series alone
                expected_x.append(scaled[s:s + L + H])
                expected_mark.append(marks[s:s + L + H])
        assert list(ds.windows) == counts and len(ds) == sum(counts)
        for i in range(len(ds)):
            seq_x, seq_y, x_mark, y_mark = ds[i]
            assert seq_x.shape == (L, 1) and seq_y.shape == (LABEL + H, 1)
            np.testing.assert_array_equal(np.concatenate([seq_x[:, 0], seq_y[LABEL:, 0]]), expected_x[i])
            np.testing.assert_array_equal(np.concatenate([x_mark, y_mark[LABEL:]]), expected_mark[i])
        np.testing.assert_array_equal(ds.sample_channels(len(ds)), np.repeat([0, 1, 2], counts))


def test_rows_needed_is_the_shortest_series_that_fits():
    for args in ((24, 12, 100, 0), (24, 12, 50, 0), (24, 12, 100, 30), (96, 96, 10, 0)):
        n = rows_needed(*args)
        seq_len, pred_len, percent, test_rows = args
        for m, fits in ((n, True), (n - 1, False)):
            (b1s, b2s), _ = series_borders(m, seq_len, percent, test_rows)
            assert all(b1 >= 0 and b2 - b1 >= seq_len + pred_len for b1, b2 in zip(b1s, b2s)) == fits
    assert rows_needed(24, 12, 100, 30) == 2 * 30 + 24 + 12


# --------------------------------------------------------------------------- refusals, one line each


def one_error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def refuse(capsys, tmp_path, df: pd.DataFrame, *extra: str) -> str:
    df.to_csv(tmp_path / "long.csv", index=False)
    return one_error_line(capsys, [*long_argv(tmp_path, *extra), "--results_dir", str(tmp_path / "r"),
                                   "--checkpoints", str(tmp_path / "c")])


def test_a_series_too_short_is_refused_by_name(long_file, capsys):
    root, df = long_file
    needed = rows_needed(L, H)
    short = df[df["unique_id"] == "shop_B"].iloc[:needed - 1]
    table = pd.concat([df[df["unique_id"] != "shop_B"], short])
    err = refuse(capsys, root, table)
    assert f"series 'shop_B' has {needed - 1} rows, fewer than the {needed} needed" in err
    err = refuse(capsys, root, df, "--test_rows", "100")  # 2 x 100 + 36 rows: shop_B has 220
    assert "series 'shop_B' has 220 rows, fewer than the 236 needed" in err and "--test_rows 100" in err


@pytest.mark.parametrize("change,words", [
    (lambda d: d.rename(columns={"y": "sales"}), ["no column 'y'", "sales", "--value_col"]),
    (lambda d: d.assign(y=d["y"].astype(object).where(d.index != 5, "twelve")),
     ["'y' is not numeric", "'twelve'", "shop_A"]),
    (lambda d: d.assign(y=d["y"].where(d.index != 400)), ["missing (NaN)", "shop_B"]),
    (lambda d: d.assign(ds=d["ds"].where(d.index != 7, "yesterday")), ["'ds'", "not dates", "yesterday"]),
    (lambda d: d.drop(index=[10]).pipe(lambda x: pd.concat([x, d.loc[[10]]])),
     ["series 'shop_A'", "dates must increase", "comes before"]),
])
def test_bad_tables_are_one_line(long_file, capsys, change, words):
    root, df = long_file
    err = refuse(capsys, root, change(df))
    for w in words:
        assert w in err, (w, err)


def test_column_flags_name_other_layouts(long_file, tmp_path):
    root, df = long_file
    df.rename(columns={"unique_id": "store", "ds": "day", "y": "sales"}).to_csv(tmp_path / "other.csv", index=False)
    args = make_args(*long_argv(tmp_path), "--data_path", "other.csv", "--id_col", "store",
                     "--time_col", "day", "--value_col", "sales")
    ds, ref = build_dataset(args, "test"), dataset(root, "test")
    assert ds.columns == ["sales"] and len(ds) == len(ref)
    np.testing.assert_array_equal(ds.data_x, ref.data_x)


def test_rows_of_series_may_be_interleaved(long_file, tmp_path):
    root, df = long_file
    mixed = df.iloc[np.argsort(pd.to_datetime(df["ds"]).to_numpy(), kind="stable")]  # by date
    assert (mixed["unique_id"] != mixed["unique_id"].shift()).sum() > 10  # series interleaved
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    ds = build_dataset(make_args(*long_argv(tmp_path), "--data_path", "mixed.csv"), "train")
    ref = dataset(root, "train")
    assert ds.table.ids == ("warehouse", "shop_A", "shop_B")  # in order of first appearance
    order = [ref.table.ids.index(uid) for uid in ds.table.ids]
    np.testing.assert_array_equal(ds.scaler.mean_, ref.scaler.mean_[order])
    assert [ds[int(ds.starts[k])][0].tobytes() for k in range(3)] == \
        [ref[int(ref.starts[k])][0].tobytes() for k in order]


def test_forecast_input_per_series_and_irregular_dates_refused_by_name(long_file):
    root, df = long_file
    ds = dataset(root, "test")
    panel = long_panel(ds.table, L, H, "h")
    for k, (uid, n, start, freq) in enumerate(SERIES):
        y = df.loc[df["unique_id"] == uid, "y"].to_numpy()
        assert panel.history_dates[k][-1] == pd.Timestamp(start) + STEPS[uid] * (n - 1)
        assert panel.future[k][0] == panel.history_dates[k][-1] + STEPS[uid] and len(panel.future[k]) == H
        np.testing.assert_array_equal(panel.series[k][-L:], y[-L:])
    x, x_mark, x_dec, y_mark = panel_inputs(panel, ds.scaler, LABEL, 1, "h", None)
    assert x.shape == (3, L, 1) and x_dec.shape == (3, LABEL + H, 1) and y_mark.shape == (3, LABEL + H, 4)
    np.testing.assert_allclose(x[:, :, 0].numpy() * ds.scaler.scale_[:, None] + ds.scaler.mean_[:, None],
                               np.stack([s[-L:] for s in panel.series]), rtol=1e-5)
    gaps = df.drop(index=df.index[(df["unique_id"] == "warehouse")][[50, 90]])
    gaps.to_csv(root / "long.csv", index=False)
    with pytest.raises(DataError, match=r"series 'warehouse'\): the dates are irregular") as e:
        long_panel(dataset(root, "test").table, L, H, "h")
    assert "\n" not in str(e.value)


def test_test_rows_is_for_long_tables_and_at_least_pred_len(tmp_path):
    base = ["--model", "DLinear", "--results_dir", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "c")]
    with pytest.raises(ConfigError, match="--test_rows is for --data long"):
        build_config(make_args(*base, "--data", "ETTh1", "--test_rows", "100"))
    with pytest.raises(ConfigError, match="at least --pred_len 12"):
        build_config(make_args(*long_argv(tmp_path), *base, "--test_rows", "5"))
    cfg = build_config(make_args(*long_argv(tmp_path), *base))
    assert (cfg.enc_in, cfg.dec_in, cfg.c_out) == (1, 1, 1)  # from the dataset table, no file read


# --------------------------------------------------------------------------- end to end


def one_folder(results: Path) -> Path:
    folders = [p.parent for p in results.glob("*/metrics.json")]
    assert len(folders) == 1, folders
    return folders[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("long")
    df = write_long_table(tmp / "long.csv", SERIES)
    run_main(long_argv(tmp, "--do_predict", "1"), tmp)
    return tmp, df, one_folder(tmp / "results")


def test_trains_tests_and_forecasts_each_series_after_its_own_last_date(trained):
    tmp, df, folder = trained
    table = pd.read_csv(folder / "forecast.csv", parse_dates=["ds"])
    assert list(table.columns) == ["unique_id", "ds", "y_hat"]
    assert list(table["unique_id"]) == [uid for uid, *_ in SERIES for _ in range(H)]
    for uid, rows in table.groupby("unique_id", sort=False):
        series = df[df["unique_id"] == uid]
        last = pd.Timestamp(series["ds"].iloc[-1])
        assert list(rows["ds"]) == [last + STEPS[uid] * k for k in range(1, H + 1)], uid
        recent = series["y"].iloc[-3 * L:]  # original units: near this series' own recent values
        assert recent.min() - recent.std() <= rows["y_hat"].mean() <= recent.max() + recent.std(), uid
    assert (folder / "forecast_future.png").stat().st_size > 0

    m = json.loads((folder / "metrics.json").read_text())
    counts = [int(n * 0.2) - H + 1 for _, n, *_ in SERIES]  # test windows: test rows - H + 1
    assert m["metrics"]["n_samples"] == sum(counts) and m["data_columns"] == ["y"]


def test_test_forecasts_in_original_units_per_series(trained):
    tmp, df, folder = trained
    pred, true = np.load(folder / "pred.npy"), np.load(folder / "true.npy")
    original = np.load(folder / "pred_original.npy")
    m = json.loads((folder / "metrics.json").read_text())["metrics"]
    truth, mean, std = [], [], []
    for uid, n, *_ in SERIES:
        y = df.loc[df["unique_id"] == uid, "y"].to_numpy()
        n_train, n_test = int(n * 0.7), int(n * 0.2)
        for s in range(n - n_test, n - H + 1):  # each test window's targets, from the file
            truth.append(y[s:s + H])
            mean.append(y[:n_train].mean())
            std.append(y[:n_train].std())
    truth, mean, std = np.array(truth), np.array(mean)[:, None], np.array(std)[:, None]
    np.testing.assert_allclose(true[:, :, 0] * std + mean, truth, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(original[:, :, 0], pred[:, :, 0] * std + mean, rtol=1e-5, atol=1e-4)
    err = pred[:, :, 0].astype(np.float64) * std + mean - truth
    assert m["mse_original"] == pytest.approx(np.mean(err ** 2), rel=1e-4)


def test_the_saved_checkpoint_forecasts_the_same(trained, tmp_path):
    tmp, _, folder = trained
    shutil.copytree(tmp / "ckpt", tmp_path / "ckpt")
    run_main(long_argv(tmp, "--do_predict", "1", "--is_training", "0"), tmp_path)
    other = one_folder(tmp_path / "results")
    assert (other / "forecast.csv").read_text() == (folder / "forecast.csv").read_text()


@pytest.mark.slow
def test_tiny_timellm_forecasts_a_long_table(tmp_path, tiny_dirs):  # noqa: F811
    df = write_long_table(tmp_path / "long.csv", SERIES)
    args = long_argv(tmp_path, "--model", "TimeLLM", "--d_model", "8", "--d_ff", "16", "--n_heads", "2",
                     "--patch_len", "8", "--stride", "4", "--llm_model", "LLAMA", "--llm_layers", "2",
                     "--num_tokens", "20", "--llm_path", tiny_dirs["LLAMA"], "--prompt_domain", "1",
                     "--content", "Hourly and daily sales of two shops and a warehouse.",
                     "--do_predict", "1", "--eval_batch_size", "256")
    run_main(args, tmp_path)
    folder = one_folder(tmp_path / "results")
    table = pd.read_csv(folder / "forecast.csv")
    assert len(table) == H * len(SERIES) and np.isfinite(table["y_hat"]).all()
    assert json.loads((folder / "metrics.json").read_text())["args"]["enc_in"] == 1
    last = df.groupby("unique_id", sort=False)["y"].last()
    means = table.groupby("unique_id", sort=False)["y_hat"].mean()
    # each series in its own units: the forecasts keep the series' order of levels (100, 5, -40)
    assert list(means.sort_values().index) == list(last.sort_values().index)


# --------------------------------------------------------------------------- real data


def test_etth1_melted_windows_the_channel_independent_view_exactly(data_root, tmp_path):
    """ETTh1's 7 columns as 7 series of one long table: every series has the file's 17,420 rows, so
    the per-series 70/10/20 borders are the wide file's, each series' scaler is its column's, and
    item i is the same window of the same channel in both (series in column order)."""
    wide = pd.read_csv(data_root / "ETT-small" / "ETTh1.csv")
    melted = wide.melt(id_vars="date", var_name="unique_id", value_name="y")
    melted.rename(columns={"date": "ds"})[["unique_id", "ds", "y"]].to_csv(tmp_path / "long.csv", index=False)
    for flag in ("train", "test"):
        custom = Dataset_Custom(str(data_root / "ETT-small"), flag=flag, size=(96, 48, 96), features="M",
                                data_path="ETTh1.csv", timeenc=1, channel_independence=1)
        long = build_dataset(make_args("--data", "long", "--root_path", tmp_path, "--data_path", "long.csv",
                                       "--seq_len", "96", "--label_len", "48", "--pred_len", "96"), flag)
        assert len(long) == len(custom) and list(long.windows) == [custom.tot_len] * 7
        np.testing.assert_array_equal(long.scaler.mean_, custom.scaler.mean_)
        np.testing.assert_array_equal(long.scaler.scale_, custom.scaler.scale_)
        np.testing.assert_array_equal(long.data_x[:, 0], custom.data_x.T.reshape(-1))
        for i in np.linspace(0, len(long) - 1, 50).astype(int):
            for a, b in zip(long[i], custom[i]):
                np.testing.assert_array_equal(a, b)
