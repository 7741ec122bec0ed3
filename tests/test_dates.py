"""Dates as users have them (issue 28, item 4): UTC offsets that change at a daylight-saving
switch, Unix epoch numbers (``--date_unit``), and a CSV saved with its pandas row index.

Files derived from the first 2,000 rows of the real ETTh1: its dates rewritten as Europe/Berlin
local time with offsets, as epoch seconds / milliseconds, or saved with ``df.to_csv(path)``.
Each is read (:func:`parse_dates`, the datasets) and trained with DLinear for one epoch in this
process, forecasting past its end (``--do_predict 1``; the API's ``predict(df)``); the refusals
are one line and exit status 2.
"""
from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_provider.data_factory import build_dataset
from data_provider.data_loader import file_channels, parse_dates
from run_main import main
from tests.helpers.args import make_args
from tests.helpers.data_files import ETT_COLUMNS
from timellm_api import Forecaster
from utils.errors import DataError
from utils.timefeatures import time_marks

pytestmark = pytest.mark.usefixtures("one_thread")

ETTH1 = Path(__file__).resolve().parents[1] / "dataset" / "ETT-small" / "ETTh1.csv"
ROWS = 2000
L, LABEL, H = 48, 24, 24
HOUR = pd.Timedelta(hours=1)
CET, CEST = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))
# 2,000 hourly instants ending after the autumn switch of 2016 (2016-10-30 01:00 UTC):
# Berlin local time is +02:00 before it and +01:00 after
INSTANTS = pd.date_range(end="2016-10-30 12:00", periods=ROWS, freq="h", tz="UTC")


@pytest.fixture(scope="module")
def etth1() -> pd.DataFrame:
    if not ETTH1.is_file():
        pytest.skip(f"{ETTH1} not found (python -m data_provider.fetch ETTh1)")
    return pd.read_csv(ETTH1, nrows=ROWS)


def with_dates(df: pd.DataFrame, dates) -> pd.DataFrame:
    out = df.copy()
    out["date"] = list(dates)
    return out


def berlin_text(instants: pd.DatetimeIndex) -> list[str]:
    """Local Berlin time with its offset, as a logger exports it: '2016-10-30 02:00:00+02:00'."""
    local = instants.tz_convert("Europe/Berlin")
    return [t.isoformat(sep=" ") for t in local]


def argv(root: Path, name: str, *extra: str) -> list[str]:
    return ["--model", "DLinear", "--data", "custom", "--root_path", str(root), "--data_path", name,
            "--features", "M", "--seq_len", str(L), "--label_len", str(LABEL), "--pred_len", str(H),
            "--batch_size", "64", "--eval_batch_size", "256", "--learning_rate", "0.005",
            "--train_epochs", "1", "--num_workers", "0", "--des", "dates", "--model_id", name[:-4],
            "--checkpoints", str(root / "ckpt"), "--results_dir", str(root / "results"), *extra]


def train(capsys, args: list[str]) -> tuple[Path, str]:
    """Run ``run_main.main`` in this process: (its results folder, its stderr)."""
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    root = Path(args[args.index("--results_dir") + 1])
    (metrics,) = root.glob("*/metrics.json")
    return metrics.parent, err


def one_error_line(capsys, args: list[str]) -> str:
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def forecast_text(folder: Path) -> pd.DataFrame:
    """forecast.csv with its dates as written (text)."""
    return pd.read_csv(folder / "forecast.csv", dtype={"date": str, "ds": str})


# ----------------------------------------------------------------------------- UTC offsets

def test_offsets_across_a_dst_switch_are_read_as_instants():
    text = berlin_text(INSTANTS)
    assert {t[-6:] for t in text} == {"+02:00", "+01:00"}  # both offsets, the hour 02:00 twice
    dates = parse_dates(pd.Series(text), "berlin.csv")
    assert (dates == INSTANTS).all() and str(dates.tz) == "UTC+01:00"  # the last row's offset
    assert (np.diff(dates.asi8) > 0).all()
    naive_utc = INSTANTS.tz_localize(None)
    for timeenc in (0, 1):  # calendar features read in UTC: no jump at the switch
        np.testing.assert_array_equal(time_marks(dates, timeenc, "h"), time_marks(naive_utc, timeenc, "h"))


def test_mixed_aware_and_naive_dates_are_one_line(tmp_path, etth1, capsys):
    text = berlin_text(INSTANTS)
    text[1500] = text[1500][:-6]  # one row lost its offset
    with_dates(etth1, text).to_csv(tmp_path / "mixed.csv", index=False)
    err = one_error_line(capsys, argv(tmp_path, "mixed.csv"))
    assert f"{tmp_path / 'mixed.csv'}: column 'date' mixes dates with a UTC offset" in err
    assert "data row 1501" in err and "write every date with its offset" in err


@pytest.fixture(scope="module")
def berlin_run(tmp_path_factory, etth1):
    """DLinear trained on the Berlin local-time file with --do_predict 1: (root, results folder)."""
    root = tmp_path_factory.mktemp("berlin")
    with_dates(etth1, berlin_text(INSTANTS)).to_csv(root / "berlin.csv", index=False)
    assert main(argv(root, "berlin.csv", "--do_predict", "1")) == 0
    (metrics,) = (root / "results").glob("*/metrics.json")
    return root, metrics.parent


def test_offset_dates_train_and_forecast_in_the_last_rows_offset(berlin_run):
    _, folder = berlin_run
    table = forecast_text(folder)
    assert list(table.columns) == ["date", *ETT_COLUMNS] and len(table) == H
    future = INSTANTS[-1] + HOUR * np.arange(1, H + 1)
    assert list(table["date"]) == [t.tz_convert(CET).isoformat(sep=" ") for t in future]
    assert table["date"].iloc[0] == "2016-10-30 14:00:00+01:00"
    assert np.isfinite(table[ETT_COLUMNS].to_numpy()).all()


def test_the_api_forecasts_after_a_table_with_offsets_or_a_zone(berlin_run, etth1):
    root, _ = berlin_run
    (ckpt,) = (root / "ckpt").glob("*/checkpoint.pt")
    f = Forecaster.from_checkpoint(ckpt.parent, results_dir=str(root / "api"))
    last = INSTANTS[:1000]  # a table of its own, ending before the switch (+02:00)
    text = with_dates(etth1.iloc[:1000], berlin_text(last))
    got = f.predict(text)
    assert str(got["date"].dt.tz) == "UTC+02:00"
    assert list(got["date"]) == list(last[-1] + HOUR * np.arange(1, H + 1))
    zoned = with_dates(etth1.iloc[:1000], last.tz_convert("Europe/Berlin"))  # zone-aware datetimes
    got_zoned = f.predict(zoned)
    assert str(got_zoned["date"].dt.tz) == "Europe/Berlin"
    assert list(got_zoned["date"]) == list(got["date"])  # the same instants
    np.testing.assert_array_equal(got_zoned[ETT_COLUMNS].to_numpy(), got[ETT_COLUMNS].to_numpy())


# ----------------------------------------------------------------------------- epoch numbers

def test_epoch_seconds_train_and_forecast_utc_dates(tmp_path, etth1, capsys):
    naive = pd.to_datetime(etth1["date"])
    seconds = (naive - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    with_dates(etth1, seconds).to_csv(tmp_path / "epoch.csv", index=False)
    assert pd.read_csv(tmp_path / "epoch.csv")["date"].dtype == np.int64
    test_set = build_dataset(make_args(*argv(tmp_path, "epoch.csv")), "test")
    dates = naive.iloc[test_set.border1:test_set.border2]
    np.testing.assert_array_equal(test_set.data_stamp, time_marks(dates, 1, "h"))  # not constant
    folder, _ = train(capsys, argv(tmp_path, "epoch.csv", "--do_predict", "1"))
    table = forecast_text(folder)
    future = pd.date_range(naive.iloc[-1] + HOUR, periods=H, freq="h")
    assert list(table["date"]) == [f"{t}+00:00" for t in future]
    assert table["date"].iloc[0] == "2016-09-22 08:00:00+00:00"


def test_date_unit_reads_milliseconds_and_a_wrong_unit_is_one_line(tmp_path, etth1, capsys):
    naive = pd.to_datetime(etth1["date"])
    ms = (naive - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
    with_dates(etth1, ms).to_csv(tmp_path / "ms.csv", index=False)
    train_set = build_dataset(make_args(*argv(tmp_path, "ms.csv", "--date_unit", "ms")), "train")
    np.testing.assert_array_equal(train_set.data_stamp,
                                  time_marks(naive.iloc[:train_set.border2], 1, "h"))
    err = one_error_line(capsys, argv(tmp_path, "ms.csv"))
    assert err.endswith("column 'date' holds numbers, read as Unix epoch seconds (--date_unit s), "
                        "but 1467331200000 is 48467-11-16 00:00:00, outside 1971-2200; they look "
                        "like milliseconds: pass --date_unit ms\n")
    # numbers no unit fits (a YYYYMMDD integer) are refused the same way
    with_dates(etth1, naive.dt.strftime("%Y%m%d").astype(np.int64)).to_csv(tmp_path / "ymd.csv",
                                                                          index=False)
    err = one_error_line(capsys, argv(tmp_path, "ymd.csv"))
    assert "outside 1971-2200; no --date_unit fits them: write the dates as text" in err


def test_numbers_before_1971_are_refused():
    with pytest.raises(DataError, match=r"1000 is 1970-01-01 00:16:40, outside 1971-2200"):
        parse_dates(pd.Series([1000, 4600]), "f.csv")


# ----------------------------------------------------------------------------- saved row index

def test_a_saved_index_column_is_dropped_with_one_notice(tmp_path, etth1, capsys):
    etth1.to_csv(tmp_path / "indexed.csv")  # no index=False: ",date,HUFL,..." and 0, 1, 2, ...
    folder, err = train(capsys, argv(tmp_path, "indexed.csv", "--do_predict", "1"))
    assert file_channels(str(tmp_path / "indexed.csv"), "M", "OT") == 7  # the header-only read
    notices = [line for line in err.splitlines() if line.startswith("notice:")]
    assert notices == [f"notice: {tmp_path / 'indexed.csv'}: dropped its first column 'Unnamed: 0' "
                       "(0, 1, 2, ...: a row index saved with the data, not a series); save the "
                       "table with df.to_csv(path, index=False) to leave it out"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["data_columns"] == ETT_COLUMNS and metrics["args"]["enc_in"] == 7
    table = forecast_text(folder)
    assert list(table.columns) == ["date", *ETT_COLUMNS]
    assert table["date"].iloc[0] == "2016-09-22 08:00:00"
    # the API: the tail of that CSV read back with pandas (index 1900..1999, not from 0)
    (ckpt,) = (tmp_path / "ckpt").glob("*/checkpoint.pt")
    f = Forecaster.from_checkpoint(ckpt.parent, results_dir=str(tmp_path / "api"))
    got = f.predict(pd.read_csv(tmp_path / "indexed.csv").tail(100))
    assert list(got.columns) == ["date", *ETT_COLUMNS]
    assert "notice: the table given to predict(): dropped its first column 'Unnamed: 0'" \
        in capsys.readouterr().err


def test_an_unnamed_column_that_is_not_an_index_stays_a_column(tmp_path, etth1):
    df = etth1.copy()
    df.insert(0, "Unnamed: 0", np.arange(ROWS) * 2)  # not consecutive: kept, as any column
    df.to_csv(tmp_path / "odd.csv", index=False)
    assert file_channels(str(tmp_path / "odd.csv"), "M", "OT") == 8


# ----------------------------------------------------------------------------- long tables

def test_a_long_table_with_offsets_and_an_index(tmp_path, etth1, capsys):
    text = berlin_text(INSTANTS)
    long = pd.concat([pd.DataFrame({"unique_id": c, "ds": text, "y": etth1[c]}) for c in ("OT", "HUFL")],
                     ignore_index=True)
    long.to_csv(tmp_path / "long.csv")  # saved with its index
    args = argv(tmp_path, "long.csv", "--do_predict", "1")
    args[args.index("custom")] = "long"
    folder, err = train(capsys, args)
    assert sum(line.startswith(f"notice: {tmp_path / 'long.csv'}: dropped its first column 'Unnamed: 0'")
               for line in err.splitlines()) == 1
    table = forecast_text(folder)
    assert list(table["unique_id"].unique()) == ["OT", "HUFL"] and len(table) == 2 * H
    expected = [t.tz_convert(CET).isoformat(sep=" ") for t in INSTANTS[-1] + HOUR * np.arange(1, H + 1)]
    assert list(table["ds"].iloc[:H]) == list(table["ds"].iloc[H:]) == expected
