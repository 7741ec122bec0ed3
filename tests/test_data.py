"""Data layer: borders, scaling, windows and views, time features, M4, prompt bank, errors.

Real mirrored files (ETTh1, ILI, Exchange, M4 Hourly) where we have them; small generated
files with the real layouts for the others. Expected values are recomputed with pandas.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import RandomSampler, SequentialSampler

from data_provider.data_factory import data_dict, data_provider
from data_provider.data_loader import (
    Dataset_Custom,
    Dataset_ETT_hour,
    Dataset_ETT_minute,
    Dataset_M4,
    custom_borders,
    ett_borders,
    few_shot_border,
)
from data_provider.datasets import M4_PATTERNS
from data_provider.m4 import m4_lengths
from data_provider.prompt_bank import PROMPT_FILES, load_description
from tests.helpers.args import make_args
from tests.helpers.data_files import ETT_COLUMNS, WEATHER_COLUMNS, write_m4, write_table
from tests.helpers.project import ROOT
from utils.errors import ConfigError, DataError, UserError
from utils.timefeatures import n_time_features, normalize_freq, time_features

L, LABEL, H = 512, 48, 96


def etth1_args(root, *extra):
    return make_args("--data", "ETTh1", "--root_path", root / "ETT-small", "--data_path", "ETTh1.csv",
                     "--features", "M", "--seq_len", L, "--label_len", LABEL, "--pred_len", H,
                     "--channel_independence", "1", *extra)


@pytest.fixture(scope="module")
def etth1_raw(data_root):
    return pd.read_csv(data_root / "ETT-small" / "ETTh1.csv")


@pytest.fixture(scope="module")
def etth1(data_root):
    """ETTh1 datasets, L=512 H=96, channel-independent: {flag: (dataset, loader)}."""
    args = etth1_args(data_root)
    return {flag: data_provider(args, flag) for flag in ("train", "val", "test")}


# ----------------------------------------------------------------------------- pure borders

def test_border_functions():
    assert ett_borders(512) == ((0, 8128, 11008), (8640, 11520, 14400))
    assert ett_borders(96, minutes=True) == ((0, 34464, 45984), (34560, 46080, 57600))
    assert custom_borders(966, 36) == ((0, 640, 737), (676, 773, 966))
    assert few_shot_border(8640, 512, 10) == (8640 - 512) * 10 // 100 + 512 == 1324
    assert few_shot_border(8640, 512, 100) == 8640


# ----------------------------------------------------------------------------- ETTh1 (real)

def test_etth1_sample_counts(etth1):
    counts = {flag: len(ds) for flag, (ds, _) in etth1.items()}
    assert counts == {"train": 56_231, "val": 19_495, "test": 19_495}
    train = etth1["train"][0]
    assert train.borders == ((0, 8640 - L, 11520 - L), (8640, 11520, 14400))
    assert train.n_channels == 7 and train.tot_len == 8640 - L - H + 1 == 8033
    # test windows per channel = n_test_rows - H + 1 (docs/REFERENCE.md: 2,785 for ETTh1-96)
    assert etth1["test"][0].tot_len == (14400 - 11520) - H + 1 == 2785


def test_etth1_ot_sample_equals_pandas_scaling(etth1, etth1_raw):
    ds = etth1["train"][0]
    train_rows = etth1_raw.iloc[:8640, 1:]
    mean, std = train_rows.mean(), train_rows.std(ddof=0)
    ot = (etth1_raw["OT"] - mean["OT"]) / std["OT"]
    seq_x, seq_y, x_mark, y_mark = ds[6 * ds.tot_len]  # channel 6 = OT, offset 0
    assert seq_x.shape == (L, 1) and seq_y.shape == (LABEL + H, 1)
    assert x_mark.shape == (L, 4) and y_mark.shape == (LABEL + H, 4)
    assert all(a.dtype == np.float32 for a in (seq_x, seq_y, x_mark, y_mark))
    np.testing.assert_allclose(seq_x[:, 0], ot.iloc[:L].to_numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(seq_y[:, 0], ot.iloc[L - LABEL:L + H].to_numpy(), rtol=0, atol=1e-5)
    # a later sample of another channel, and the test split starting at 11520 - L
    s, c = 1234, 2
    col = ETT_COLUMNS[c]
    expected = ((etth1_raw[col] - mean[col]) / std[col]).to_numpy()
    np.testing.assert_allclose(ds[c * ds.tot_len + s][0][:, 0], expected[s:s + L], atol=1e-5)
    test = etth1["test"][0]
    np.testing.assert_allclose(test[c * test.tot_len + s][0][:, 0],
                               expected[11520 - L + s:11520 + s], atol=1e-5)


def test_etth1_scaler_is_fitted_on_train_rows(etth1, etth1_raw):
    from sklearn.preprocessing import StandardScaler

    train_rows = etth1_raw.iloc[:8640, 1:].to_numpy()
    ref = StandardScaler().fit(train_rows)
    for ds, _ in etth1.values():
        np.testing.assert_allclose(ds.scaler.mean_, train_rows.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(ds.scaler.mean_, ref.mean_, rtol=1e-12)
        np.testing.assert_allclose(ds.scaler.scale_, ref.scale_, rtol=1e-12)


def test_etth1_inverse_transform(etth1, etth1_raw):
    ds = etth1["val"][0]
    raw = etth1_raw.iloc[ds.border1:ds.border2, 1:].to_numpy()
    np.testing.assert_allclose(ds.inverse_transform(ds.data_x), raw, rtol=1e-5, atol=1e-4)
    # one channel per sample (CI view): channel ids broadcast over (B, L, 1)
    idx = [0, ds.tot_len * 6 + 5]
    batch = np.stack([ds[i][0] for i in idx])
    chans = np.array([ds.channel_of(i) for i in idx])
    back = ds.inverse_transform(batch, channel=chans)
    np.testing.assert_allclose(back[0, :, 0], raw[:L, 0], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(back[1, :, 0], raw[5:5 + L, 6], rtol=1e-5, atol=1e-4)


def test_etth1_few_shot_moves_only_train_end(data_root, etth1):
    args = etth1_args(data_root, "--percent", "10")
    train, _ = data_provider(args, "train")
    end = (8640 - L) * 10 // 100 + L
    assert train.borders == ((0, 8640 - L, 11520 - L), (end, 11520, 14400))
    assert len(train) == (end - L - H + 1) * 7 == 717 * 7
    full = etth1["train"][0]
    np.testing.assert_array_equal(train.scaler.mean_, full.scaler.mean_)
    np.testing.assert_array_equal(train.scaler.scale_, full.scaler.scale_)
    val, _ = data_provider(args, "val")
    assert len(val) == len(etth1["val"][0])


def test_etth1_multivariate_view(data_root, etth1):
    args = etth1_args(data_root, "--channel_independence", "0")
    mv, _ = data_provider(args, "train")
    ci = etth1["train"][0]
    assert len(mv) == 14400 - 11520 + 8640 - 2880 - L - H + 1 == 8033
    x, y, xm, ym = mv[100]
    assert x.shape == (L, 7) and y.shape == (LABEL + H, 7) and xm.shape == (L, 4)
    np.testing.assert_array_equal(x, mv.data_x[100:100 + L])
    for c in (0, 6):  # same windows and scaling in both views
        np.testing.assert_array_equal(ci[c * ci.tot_len + 100][0][:, 0], x[:, c])
        np.testing.assert_array_equal(ci[c * ci.tot_len + 100][1][:, 0], y[:, c])


def test_etth1_loaders(data_root, etth1):
    train, train_loader = etth1["train"]
    assert len(train_loader) == 56_231 // 32  # batch_size 32, drop_last
    assert isinstance(train_loader.sampler, RandomSampler) and train_loader.drop_last
    val_loader = etth1["val"][1]
    assert isinstance(val_loader.sampler, SequentialSampler) and not val_loader.drop_last
    assert val_loader.batch_size == 8  # eval_batch_size
    test_args = etth1_args(data_root, "--eval_batch_size", "64")
    test, loader = data_provider(test_args, "test")
    sizes = [b[0].shape[0] for b in loader]
    assert sum(sizes) == 19_495 and len(sizes) == -(-19_495 // 64)
    first = next(iter(loader))
    assert [tuple(t.shape) for t in first] == [(64, L, 1), (64, LABEL + H, 1), (64, L, 4), (64, LABEL + H, 4)]
    assert all(t.dtype == torch.float32 for t in first)
    np.testing.assert_array_equal(first[0][3].numpy(), test[3][0])  # test keeps the order
    _, dropping = data_provider(etth1_args(data_root, "--eval_batch_size", "64", "--test_drop_last", "1"),
                                "test")
    assert len(dropping) == 19_495 // 64
    assert sum(b[0].shape[0] for b in dropping) == 19_495 // 64 * 64


def test_etth1_features_s_ms_and_integer_stamps(data_root, etth1_raw):
    s, _ = data_provider(etth1_args(data_root, "--features", "S"), "train")
    assert s.n_channels == 1 and s.columns == ["OT"] and len(s) == 8033
    ms, _ = data_provider(etth1_args(data_root, "--features", "MS", "--channel_independence", "0"), "train")
    assert ms.columns == ETT_COLUMNS and ms[0][0].shape == (L, 7)
    np.testing.assert_allclose(s.data_x[:, 0], ms.data_x[:, -1], atol=1e-6)
    fixed, _ = data_provider(etth1_args(data_root, "--embed", "fixed"), "train")
    x_mark = fixed[0][2]
    assert x_mark.shape == (L, 4)
    dates = pd.to_datetime(etth1_raw["date"].iloc[:L])
    np.testing.assert_array_equal(x_mark, np.stack([dates.dt.month, dates.dt.day, dates.dt.weekday,
                                                    dates.dt.hour], 1).astype(np.float32))


def test_etth1_time_features_timef(etth1, etth1_raw):
    ds = etth1["train"][0]
    dates = pd.to_datetime(etth1_raw["date"].iloc[:L])
    expected = np.stack([dates.dt.hour / 23 - 0.5, dates.dt.dayofweek / 6 - 0.5,
                         (dates.dt.day - 1) / 30 - 0.5, (dates.dt.dayofyear - 1) / 365 - 0.5], 1)
    np.testing.assert_allclose(ds[0][2], expected, atol=1e-6)
    # 2016-07-01 00:00 was a Friday, day 183 of a leap year
    np.testing.assert_allclose(ds[0][2][0], [-0.5, 4 / 6 - 0.5, -0.5, 182 / 365 - 0.5], atol=1e-6)
    assert ds.data_stamp.min() >= -0.5 and ds.data_stamp.max() <= 0.5


def test_zero_shot_test_set_has_its_own_scaler(data_root):
    args = etth1_args(data_root, "--test_data", "Exchange", "--test_root_path",
                      data_root / "exchange_rate", "--test_data_path", "exchange_rate.csv",
                      "--seq_len", "96")
    test, _ = data_provider(args, "test")
    train, _ = data_provider(args, "train")
    raw = pd.read_csv(data_root / "exchange_rate" / "exchange_rate.csv")
    n_train = int(len(raw) * 0.7)
    assert isinstance(test, Dataset_Custom) and test.n_channels == 8
    np.testing.assert_allclose(test.scaler.mean_, raw.iloc[:n_train, 1:].mean().to_numpy(), rtol=1e-10)
    assert train.n_channels == 7 and train.data_name == "ETTh1"
    # a known benchmark different from --data defaults to its standard file beside the root
    args = etth1_args(data_root, "--test_data", "ETTh2")
    with pytest.raises(DataError, match=r"ETT-small/ETTh2\.csv not found.*--datasets ETTh2"):
        data_provider(args, "test")


# ----------------------------------------------------------------------------- ILI, Exchange (real)

@pytest.mark.parametrize("name,folder,file,seq_len,pred_len", [
    ("ILI", "illness", "national_illness.csv", 104, 24),
    ("Exchange", "exchange_rate", "exchange_rate.csv", 96, 96),
])
def test_custom_real_borders(data_root, name, folder, file, seq_len, pred_len):
    raw = pd.read_csv(data_root / folder / file)
    n = len(raw)
    n_train, n_test = int(n * 0.7), int(n * 0.2)
    n_val = n - n_train - n_test
    b1 = (0, n_train - seq_len, n - n_test - seq_len)
    b2 = (n_train, n_train + n_val, n)
    args = make_args("--data", name, "--root_path", data_root / folder, "--data_path", file,
                     "--seq_len", seq_len, "--label_len", seq_len // 2, "--pred_len", pred_len,
                     "--freq", "w" if name == "ILI" else "d", "--eval_batch_size", "4")
    c = raw.shape[1] - 1
    for i, flag in enumerate(("train", "val", "test")):
        ds, _ = data_provider(args, flag)
        assert ds.borders == (b1, b2)
        assert len(ds) == (b2[i] - b1[i] - seq_len - pred_len + 1) * c
        assert ds.columns[-1] == "OT"
    train_rows = raw.iloc[:n_train, 1:]
    expected = ((raw["OT"] - train_rows["OT"].mean()) / train_rows["OT"].std(ddof=0)).to_numpy()
    np.testing.assert_allclose(ds[(c - 1) * ds.tot_len][0][:, 0], expected[b1[2]:b1[2] + seq_len],
                               rtol=1e-5, atol=1e-5)
    if name == "ILI":
        assert n == 966
    else:
        assert n == 7588


# ----------------------------------------------------------------------------- M4 (real, Hourly)

def m4_args(root, pattern="Hourly", *extra):
    seq, label, pred = m4_lengths(pattern)
    return make_args("--data", "m4", "--root_path", root, "--data_path", "m4",
                     "--seasonal_patterns", pattern, "--features", "S", "--seq_len", seq,
                     "--label_len", label, "--pred_len", pred, "--batch_size", "16", *extra)


@pytest.fixture(scope="module")
def hourly(data_root):
    root = data_root / "m4"
    train = pd.read_csv(root / "Hourly-train.csv")
    test = pd.read_csv(root / "Hourly-test.csv")
    series = [row.dropna().to_numpy(dtype=float) for _, row in train.iloc[:, 1:].iterrows()]
    return root, train.iloc[:, 0].tolist(), series, test.iloc[:, 1:].to_numpy(dtype=float)


def test_m4_table_and_lengths():
    assert {p: (i.horizon, i.seasonality, i.history_size) for p, i in M4_PATTERNS.items()} == {
        "Yearly": (6, 1, 1.5), "Quarterly": (8, 4, 1.5), "Monthly": (18, 12, 1.5),
        "Weekly": (13, 1, 10), "Daily": (14, 1, 10), "Hourly": (48, 24, 10)}
    assert m4_lengths("Hourly") == (96, 48, 48)
    with pytest.raises(ConfigError, match="Hourly"):
        m4_lengths("Minutely")


def test_m4_hourly_test_split(hourly):
    root, ids, series, test_values = hourly
    ds, loader = data_provider(m4_args(root), "test")
    assert len(ds) == 414 and ds.ids == ids and ds.targets.shape == (414, 48)
    np.testing.assert_array_equal(ds.targets, test_values)
    x, mask = ds.last_insample_window()
    assert x.shape == mask.shape == (414, 96)
    expected = np.zeros((414, 96))
    for i, ts in enumerate(series):
        tail = ts[-96:]
        expected[i, -len(tail):] = tail
    np.testing.assert_array_equal(x, expected.astype(np.float32))
    assert mask.all()  # every Hourly series has at least 700 points
    full, full_mask = ds.full_history_window()
    assert full.shape == (414, max(map(len, series)))
    np.testing.assert_array_equal(full_mask.sum(1), [len(s) for s in series])
    np.testing.assert_array_equal(full[0, -len(series[0]):], series[0].astype(np.float32))
    # the fixed evaluation items: last window, then label part + targets
    ins, outs, ins_mask, outs_mask = ds[5]
    np.testing.assert_array_equal(ins[:, 0], x[5])
    np.testing.assert_array_equal(outs[:48, 0], series[5][-48:].astype(np.float32))
    np.testing.assert_array_equal(outs[48:, 0], test_values[5].astype(np.float32))
    assert outs_mask.all() and ins_mask.all()
    batch = next(iter(loader))
    assert tuple(batch[0].shape) == (8, 96, 1) and tuple(batch[1].shape) == (8, 96, 1)
    assert sum(b[0].shape[0] for b in loader) == 414  # eval loaders keep every series
    naive2 = pd.read_csv(root / "submission-Naive2-Hourly.csv")
    np.testing.assert_allclose(ds.naive2, naive2.iloc[:, 1:].to_numpy(dtype=float))


def test_m4_hourly_validation_holds_out_last_horizon(hourly):
    root, ids, series, test_values = hourly
    val, _ = data_provider(m4_args(root), "val")
    np.testing.assert_array_equal(val.targets, np.stack([ts[-48:] for ts in series]))
    x, _ = val.last_insample_window()
    np.testing.assert_array_equal(x, np.stack([ts[-144:-48] for ts in series]).astype(np.float32))
    assert all(len(h) == len(ts) - 48 for h, ts in zip(val.history, series))
    ref_val, _ = data_provider(m4_args(root, "Hourly", "--m4_val_from_test", "1"), "val")
    np.testing.assert_array_equal(ref_val.targets, test_values)
    np.testing.assert_array_equal(ref_val.last_insample_window()[0][:, -1],
                                  np.array([ts[-1] for ts in series], dtype=np.float32))


def test_m4_hourly_training_windows(hourly):
    root, ids, series, _ = hourly
    train, loader = data_provider(m4_args(root), "train")
    assert len(train) == 414 and loader.drop_last is False
    assert all(len(h) == len(ts) - 48 for h, ts in zip(train.history, series))
    limit = int(10 * 48)
    for i in (0, 7, 413):
        ts = series[i][:-48]
        np.random.seed(123)
        cut = np.random.randint(low=max(1, len(ts) - limit), high=len(ts), size=1)[0]
        np.random.seed(123)
        ins, outs, ins_mask, outs_mask = train[i]
        assert ins.shape == ins_mask.shape == (96, 1) and outs.shape == outs_mask.shape == (96, 1)
        window = ts[max(0, cut - 96):cut]
        np.testing.assert_array_equal(ins[-len(window):, 0], window.astype(np.float32))
        assert ins_mask[-len(window):].all() and not ins_mask[:-len(window)].any()
        out_window = ts[cut - 48:min(len(ts), cut + 48)]
        np.testing.assert_array_equal(outs[:len(out_window), 0], out_window.astype(np.float32))
        assert outs_mask[:len(out_window)].all() and not outs_mask[len(out_window):].any()
        assert not outs[len(out_window):].any()
    ref_train, _ = data_provider(m4_args(root, "Hourly", "--m4_val_from_test", "1"), "train")
    assert [len(h) for h in ref_train.history] == [len(ts) for ts in series]


def test_m4_lengths_are_checked(data_root):
    args = m4_args(data_root / "m4", "Hourly", "--seq_len", "100")
    with pytest.raises(ConfigError, match=r"96, 48, 48"):
        data_provider(args, "train")


# ----------------------------------------------------------------------------- synthetic layouts

@pytest.fixture(scope="module")
def ettm_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ETT-small")
    write_table(root / "ETTm1.csv", ETT_COLUMNS, 57_600 + 5, "15min")
    shutil.copy(root / "ETTm1.csv", root / "ETTm2.csv")
    return root


@pytest.mark.parametrize("name", ["ETTm1", "ETTm2"])
def test_ett_minute_borders(ettm_root, name):
    assert data_dict[name] is Dataset_ETT_minute
    seq_len, pred_len = 96, 24
    args = make_args("--data", name, "--root_path", ettm_root, "--data_path", f"{name}.csv",
                     "--seq_len", seq_len, "--label_len", 48, "--pred_len", pred_len, "--freq", "t")
    b1, b2 = (0, 34_560 - seq_len, 46_080 - seq_len), (34_560, 46_080, 57_600)
    for i, flag in enumerate(("train", "val", "test")):
        ds, _ = data_provider(args, flag)
        assert ds.borders == (b1, b2) and len(ds) == (b2[i] - b1[i] - seq_len - pred_len + 1) * 7
    assert ds[0][2].shape == (seq_len, 5)  # timeF for 't': minute, hour, weekday, day, day of year
    raw = pd.read_csv(ettm_root / f"{name}.csv")
    fixed, _ = data_provider(make_args("--data", name, "--root_path", ettm_root, "--data_path",
                                       f"{name}.csv", "--seq_len", seq_len, "--pred_len", pred_len,
                                       "--embed", "fixed"), "test")
    dates = pd.to_datetime(raw["date"].iloc[b1[2]:b1[2] + seq_len])
    np.testing.assert_array_equal(fixed[0][2][:, 4], (dates.dt.minute // 15).to_numpy())
    assert sorted(np.unique(fixed.data_stamp[:, 4])) == [0, 1, 2, 3]


def custom_case(tmp_path, name, folder, file, columns, freq, n_rows):
    write_table(tmp_path / folder / file, columns, n_rows, freq, start="2020-01-01 00:10:00")
    return make_args("--data", name, "--root_path", tmp_path / folder, "--data_path", file,
                     "--seq_len", 48, "--label_len", 24, "--pred_len", 24, "--freq", freq)


@pytest.mark.parametrize("name,folder,file,columns,freq", [
    ("Weather", "weather", "weather.csv", WEATHER_COLUMNS, "10min"),
    ("ECL", "electricity", "electricity.csv", [str(i) for i in range(12)] + ["OT"], "h"),
    ("Traffic", "traffic", "traffic.csv", [str(i) for i in range(16)] + ["OT"], "h"),
])
def test_custom_synthetic_layouts(tmp_path, name, folder, file, columns, freq):
    n_rows = 1_003
    args = custom_case(tmp_path, name, folder, file, columns, freq, n_rows)
    ds, _ = data_provider(args, "test")
    assert data_dict[name] is Dataset_Custom
    assert ds.borders == custom_borders(n_rows, 48) == ((0, 702 - 48, 1003 - 200 - 48), (702, 803, 1003))
    assert ds.columns == columns and ds.n_channels == len(columns)
    assert len(ds) == (200 + 48 - 48 - 24 + 1) * len(columns)


def test_target_is_moved_last(tmp_path):
    write_table(tmp_path / "x.csv", ["a", "OT", "b"], 300, "D")
    args = make_args("--data", "custom", "--root_path", tmp_path, "--data_path", "x.csv",
                     "--seq_len", 24, "--label_len", 12, "--pred_len", 12, "--features", "MS",
                     "--target", "a", "--freq", "d")
    ds, _ = data_provider(args, "train")
    assert ds.columns == ["OT", "b", "a"]
    raw = pd.read_csv(tmp_path / "x.csv")
    expected = (raw["a"] - raw["a"][:210].mean()) / raw["a"][:210].std(ddof=0)
    np.testing.assert_allclose(ds[2 * ds.tot_len][0][:, 0], expected[:24], atol=1e-5)


def test_weather_header_with_latin1_units(tmp_path):
    df = write_table(tmp_path / "weather.csv", WEATHER_COLUMNS, 400, "10min")
    body = (tmp_path / "weather.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    (tmp_path / "weather.csv").write_bytes(",".join(["date", *WEATHER_COLUMNS]).encode("latin-1")
                                           + b"\n" + body.encode())
    args = make_args("--data", "Weather", "--root_path", tmp_path, "--data_path", "weather.csv",
                     "--seq_len", 24, "--label_len", 12, "--pred_len", 12, "--freq", "10min")
    ds, _ = data_provider(args, "train")
    assert ds.n_channels == 21 and ds.columns[-1] == "OT" and len(df) == 400


@pytest.mark.parametrize("pattern", ["Yearly", "Quarterly", "Monthly", "Weekly", "Daily"])
def test_m4_synthetic_patterns(tmp_path, pattern):
    info = M4_PATTERNS[pattern]
    h = info.horizon
    lengths = [h + 2, h + 7, 3 * h, 5 * h + 3]
    ids, train, test = write_m4(tmp_path, pattern, lengths, h)
    args = m4_args(tmp_path, pattern)
    ds, _ = data_provider(args, "test")
    assert ds.ids == ids and ds.targets.shape == (4, h)
    np.testing.assert_allclose(ds.targets, test)
    x, mask = ds.last_insample_window()
    assert x.shape == (4, 2 * h)
    assert mask[0].sum() == h + 2 and not x[0, :h - 2].any()  # shorter than seq_len: zero-padded
    np.testing.assert_allclose(x[0, -(h + 2):], train[0].astype(np.float32))
    np.testing.assert_allclose(x[3], train[3][-2 * h:].astype(np.float32))
    val, _ = data_provider(args, "val")
    np.testing.assert_allclose(val.targets, np.stack([t[-h:] for t in train]))
    assert val.last_insample_window()[1][0].sum() == 2  # h + 2 points minus the held-out h
    tr, loader = data_provider(args, "train")
    for batch in loader:
        ins, outs, ins_mask, outs_mask = (t.numpy() for t in batch)
        assert ins.shape[1:] == (2 * h, 1) and outs.shape[1:] == (2 * h, 1)
        assert ((ins != 0) <= (ins_mask == 1)).all() and ((outs != 0) <= (outs_mask == 1)).all()
        assert (ins_mask.sum(1) >= 1).all() and (outs_mask.sum(1) >= 1).all()


# ----------------------------------------------------------------------------- time features

def test_time_features_frequencies():
    idx = pd.date_range("2021-03-04 05:06:07", periods=3, freq="37min")
    assert [normalize_freq(f) for f in ("h", "15min", "10T", "t", "min", "s", "d", "b", "w", "m", "W-SUN")] \
        == ["h", "t", "t", "t", "t", "s", "d", "b", "w", "m", "w"]
    assert {f: n_time_features(f) for f in "smthdbw"} == {"s": 6, "m": 1, "t": 5, "h": 4, "d": 3, "b": 3, "w": 2}
    t = time_features(idx, "t")
    np.testing.assert_allclose(t[:, 0], [6 / 59 - 0.5, 5 / 23 - 0.5, 3 / 6 - 0.5, 3 / 30 - 0.5, 62 / 365 - 0.5])
    np.testing.assert_allclose(time_features(idx, "m")[:, 0], [2 / 11 - 0.5])
    np.testing.assert_allclose(time_features(idx, "w")[:, 0], [3 / 30 - 0.5, 8 / 52 - 0.5])
    np.testing.assert_allclose(time_features(idx, "s")[0, 0], 7 / 59 - 0.5)
    with pytest.raises(ConfigError, match="--freq"):
        time_features(idx, "fortnight")


# ----------------------------------------------------------------------------- prompt bank

def test_prompt_bank_descriptions(data_root, tmp_path):
    texts = {name: load_description(name, ROOT / "dataset" / "prompt_bank") for name in PROMPT_FILES}
    assert all(texts.values()) and all("\n" not in t for t in texts.values())
    assert texts["ETTh1"] == texts["ETTh2"] == texts["ETTm1"] == texts["ETTm2"]
    assert len(set(texts.values())) == 7
    # facts stated in the texts that the mirrored files back
    assert "966 weekly" in texts["ILI"] and len(pd.read_csv(data_root / "illness" / "national_illness.csv")) == 966
    assert "7,588 daily" in texts["Exchange"]
    assert len(pd.read_csv(data_root / "exchange_rate" / "exchange_rate.csv")) == 7588
    ett = pd.read_csv(data_root / "ETT-small" / "ETTh1.csv", usecols=["date"])["date"]
    assert ett.iloc[0].startswith("2016-07") and ett.iloc[-1].startswith("2018-06")
    assert "July 2016 to June 2018" in texts["ETTh1"]
    assert "100,000" in texts["m4"] and "21 meteorological" in texts["Weather"]
    with pytest.raises(ConfigError, match="ETTh1"):
        load_description("Solar")
    with pytest.raises(DataError, match="not found"):
        load_description("ECL", tmp_path)


# ----------------------------------------------------------------------------- errors

def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, UserError)
    return msg


def small_custom(tmp_path, text: str, *extra):
    (tmp_path / "d.csv").write_text(text)
    return make_args("--data", "custom", "--root_path", tmp_path, "--data_path", "d.csv",
                     "--seq_len", 4, "--label_len", 2, "--pred_len", 2, "--freq", "d", *extra)


def csv_text(n=40, header="date,a,OT", cell=lambda i: f"{i},{i * 2}"):
    days = pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    return header + "\n" + "\n".join(f"{d},{cell(i)}" for i, d in enumerate(days)) + "\n"


def test_error_missing_file_names_setup_command(tmp_path):
    args = make_args("--data", "ETTh1", "--root_path", tmp_path, "--data_path", "ETTh1.csv")
    with pytest.raises(DataError) as err:
        data_provider(args, "train")
    assert "python -m data_provider.fetch --datasets ETTh1 --mirror DIR" in one_line(err)
    args = make_args("--data", "custom", "--root_path", tmp_path, "--data_path", "electricity.csv")
    with pytest.raises(DataError, match="--datasets ECL"):
        data_provider(args, "train")
    with pytest.raises(DataError, match=r"--datasets m4-Hourly --mirror DIR") as err:
        data_provider(m4_args(tmp_path), "test")
    one_line(err)


def test_error_missing_date_column(tmp_path):
    args = small_custom(tmp_path, csv_text(header="time,a,OT"))
    with pytest.raises(DataError, match="no 'date' column") as err:
        data_provider(args, "train")
    one_line(err)


def test_error_missing_target_column(tmp_path):
    args = small_custom(tmp_path, csv_text(header="date,a,b"), "--features", "S")
    with pytest.raises(DataError, match="target column 'OT' not found.*--target") as err:
        data_provider(args, "train")
    one_line(err)


def test_error_nan_and_non_numeric(tmp_path):
    args = small_custom(tmp_path, csv_text(cell=lambda i: f"{i},{'' if i % 10 == 3 else i}"))
    with pytest.raises(DataError, match=r"column 'OT' has 4") as err:
        data_provider(args, "train")
    one_line(err)
    args = small_custom(tmp_path, csv_text(cell=lambda i: f"{'x' if i == 5 else i},{i}"))
    with pytest.raises(DataError, match=r"column 'a' is not numeric \(1 non-numeric cells such as 'x'\)"):
        data_provider(args, "train")


def test_numbers_written_as_text_are_numbers():
    from data_provider.data_loader import numeric_values
    df = pd.DataFrame({"a": ["1.5", "2", "-3e2"], "b": [1.0, 2.0, 3.0]})  # e.g. a DataFrame of strings
    np.testing.assert_array_equal(numeric_values(df, ["a", "b"], 3, "t"), [[1.5, 1], [2, 2], [-300, 3]])
    with pytest.raises(DataError, match=r"column 'a' is not numeric \(1 non-numeric cells such as 'n/a'\)"):
        numeric_values(df.assign(a=["1", "n/a", "2"]), ["a", "b"], 3, "t")


def test_error_window_longer_than_split(data_root):
    args = make_args("--data", "ILI", "--root_path", data_root / "illness", "--data_path",
                     "national_illness.csv", "--seq_len", 104, "--label_len", 18, "--pred_len", 120)
    with pytest.raises(DataError, match=r"ILI: the val split has 97 rows .*104 \+ 120 = 224.*reduce --seq_len or --pred_len") as err:
        data_provider(args, "test")
    one_line(err)
    args = etth1_args(data_root, "--percent", "1")
    with pytest.raises(DataError, match=r"train split \(--percent 1\) has 593 rows.*raise --percent"):
        data_provider(args, "train")


def test_error_percent_and_unknown_names(data_root, tmp_path):
    for p in ("0", "101"):
        with pytest.raises(DataError, match="--percent must be between 1 and 100"):
            data_provider(etth1_args(data_root, "--percent", p), "train")
    with pytest.raises(ConfigError) as err:
        data_provider(make_args("--data", "Solar"), "train")
    msg = one_line(err)
    assert "unknown dataset 'Solar'" in msg and all(n in msg for n in data_dict)
    with pytest.raises(ConfigError, match="unknown split"):
        data_provider(etth1_args(data_root), "valid")
    args = make_args("--data", "m4", "--root_path", tmp_path, "--seasonal_patterns", "Minutely")
    with pytest.raises(ConfigError, match="unknown M4 seasonal pattern 'Minutely'"):
        data_provider(args, "train")


def test_error_split_smaller_than_a_batch(tmp_path):
    args = small_custom(tmp_path, csv_text(n=40), "--batch_size", "64")
    with pytest.raises(DataError, match="fewer than one batch of 64"):
        data_provider(args, "train")


def test_error_short_ett_file(tmp_path):
    write_table(tmp_path / "ETTh2.csv", ETT_COLUMNS, 1000, "h")
    args = make_args("--data", "ETTh2", "--root_path", tmp_path, "--data_path", "ETTh2.csv")
    assert data_dict["ETTh2"] is Dataset_ETT_hour
    with pytest.raises(DataError, match="1000 rows, but the ETT hourly split needs 14400"):
        data_provider(args, "train")


def test_dataset_m4_registered():
    assert data_dict["m4"] is Dataset_M4
    assert set(data_dict) == {"ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "ECL", "Traffic",
                              "ILI", "Exchange", "custom", "long", "m4"}


@pytest.mark.skipif(not (ROOT / "exp" / "exp_main.py").is_file(), reason="trainer not present")
def test_run_main_bad_data_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "run_main.py", "--data", "ETTh1", "--root_path", str(tmp_path / "nowhere"),
         "--model", "DLinear", "--train_epochs", "1", "--results_dir", str(tmp_path / "res"),
         "--checkpoints", str(tmp_path / "ck")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--datasets ETTh1 --mirror DIR" in lines[0]


@pytest.mark.parametrize("swap, word", [((10, 11), "comes before"), ((10, 10), "repeats")])
def test_dates_out_of_order_are_refused(tmp_path, swap, word):
    lines = csv_text().splitlines()
    i, j = swap
    first = lines[1 + i].split(",")[0]
    lines[1 + j + 1] = first + "," + lines[1 + j + 1].split(",", 1)[1]  # row j+1 gets row i's date
    args = small_custom(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        data_provider(args, "train")
    msg = one_line(err)
    assert f"data row {j + 2}" in msg and word in msg and "Sort the file by date" in msg


def test_dates_in_order_pass(tmp_path):
    data_set, _ = data_provider(small_custom(tmp_path, csv_text()), "train")
    assert len(data_set) > 0
