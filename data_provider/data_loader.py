"""Datasets: sliding windows over the long-term benchmark CSVs, and M4.

Long-term datasets (``Dataset_ETT_hour``, ``Dataset_ETT_minute``, ``Dataset_Custom``) follow the
Time-LLM reference / Time-Series-Library:

- borders: :func:`ett_borders` (12/4/4 months of 30 days) or :func:`custom_borders` (70/10/20);
  val and test start ``seq_len`` rows early so their first window ends at the split start;
- few-shot ``percent`` moves only the end of the training split (:func:`few_shot_border`);
- a standard scaler is fitted on the full training rows and applied to every split;
- item ``i`` is the window starting at row ``s`` of the split: ``seq_x = x[s : s+L]``,
  ``seq_y = x[s+L-label_len : s+L+H]`` plus the calendar features of the same rows.

Two views of the same windows (``channel_independence``): 1 (or -1) gives ``tot_len * C`` items
of one channel each, item ``i`` being channel ``i // tot_len`` at offset ``i % tot_len``;
0 gives ``tot_len`` items of all C channels. Items are float32 views of one stored array.

Dates, as users have them: :func:`parse_dates` is the one rule for every path (naive text as
written; text with changing UTC offsets as instants; numbers as Unix epoch times in
``--date_unit``). A row index saved with the data (``df.to_csv(path)`` without ``index=False``)
is dropped with a notice (:func:`drop_index_column`).
"""
from __future__ import annotations

import functools
import os
import re
import sys

import numpy as np
import pandas as pd
from torch.utils.data import Dataset

from data_provider.fetch import SOURCES, dataset_for_file, setup_command
from data_provider.m4 import left_pad, load_m4, load_naive2, m4_lengths, m4_pattern
from utils.errors import ConfigError, DataError, unknown_name
from utils.timefeatures import time_marks

SPLITS = {"train": 0, "val": 1, "test": 2}
FEATURES = ("M", "S", "MS")
DATE_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}

Borders = tuple[tuple[int, int, int], tuple[int, int, int]]


# ----------------------------------------------------------------------------- borders

def ett_borders(seq_len: int, minutes: bool = False) -> Borders:
    """ETT split borders: train [0, 12u), val [12u - L, 16u), test [16u - L, 20u) with
    u = 30 days of rows (720 hourly, 2880 for 15-minute data).

    Returns:
        (border1s, border2s), each (train, val, test).
    """
    u = 30 * 24 * (4 if minutes else 1)
    return (0, 12 * u - seq_len, 16 * u - seq_len), (12 * u, 16 * u, 20 * u)


def custom_borders(n_rows: int, seq_len: int) -> Borders:
    """70/10/20 borders of a custom CSV with ``n_rows`` rows (reference formula:
    n_train = int(0.7 N), n_test = int(0.2 N), n_val = N - n_train - n_test)."""
    num_train = int(n_rows * 0.7)
    num_test = int(n_rows * 0.2)
    num_val = n_rows - num_train - num_test
    return ((0, num_train - seq_len, n_rows - num_test - seq_len),
            (num_train, num_train + num_val, n_rows))


def few_shot_border(border2: int, seq_len: int, percent: int) -> int:
    """End of the few-shot training split: ``(border2 - L) * percent // 100 + L``."""
    return (border2 - seq_len) * percent // 100 + seq_len


# ----------------------------------------------------------------------------- scaler

class StandardScaler:
    """Per-column mean / standard deviation (ddof 0), equal to sklearn's ``StandardScaler``:
    a column with zero variance gets scale 1."""

    def fit(self, x: np.ndarray) -> "StandardScaler":
        """x: (T, C) array; sets ``mean_``, ``var_``, ``scale_`` of shape (C,)."""
        x = np.asarray(x, dtype=np.float64)
        self.mean_ = x.mean(axis=0)
        self.var_ = x.var(axis=0)
        scale = np.sqrt(self.var_)
        self.scale_ = np.where(scale < 10 * np.finfo(np.float64).eps, 1.0, scale)
        self.n_features_in_ = x.shape[-1]
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(..., C) -> (..., C) float64."""
        return (np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """(..., C) -> (..., C) float64."""
        return np.asarray(x, dtype=np.float64) * self.scale_ + self.mean_


# ----------------------------------------------------------------------------- CSV checks

def _names(cols, limit: int = 8) -> str:
    cols = [str(c) for c in cols]
    return ", ".join(cols[:limit]) + (f", ... ({len(cols)} columns)" if len(cols) > limit else "")


def _missing_file(path: str, data_name: str | None) -> DataError:
    name = data_name if data_name in SOURCES else dataset_for_file(path)
    if name is None:
        return DataError(f"data file {path} not found; check --root_path and --data_path")
    return DataError(f"data file {path} not found; install {name} with: {setup_command(name)} "
                     "(or drop --mirror to download it)")


# pandas' name for a header cell left empty (``df.to_csv()`` writes the index under one);
# ".1" when a file read that way was saved with its index once more
_UNNAMED = re.compile(r"(Unnamed: 0(\.\d+)?)?")


def unnamed_column(name) -> bool:
    """Whether a header cell was left empty (pandas reads it as ``Unnamed: 0``)."""
    return _UNNAMED.fullmatch(str(name)) is not None


def is_row_index(name, values: pd.Series) -> bool:
    """Whether a column is a pandas row index saved with the data (``df.to_csv(path)`` without
    ``index=False``): no name in the header (empty, read as ``Unnamed: 0``) and consecutive
    integers, 0, 1, 2, ... (or any run of them, e.g. the last rows of such a table)."""
    if not unnamed_column(name) or len(values) == 0:
        return False
    if not pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    return bool((np.diff(values.to_numpy(dtype=np.int64)) == 1).all())


@functools.cache
def _notice_index(source: str, name: str) -> None:
    """The one-line notice of a dropped index column, once per source and process."""
    print(f"notice: {source}: dropped its first column '{name}' (0, 1, 2, ...: a row index saved "
          "with the data, not a series); save the table with df.to_csv(path, index=False) to leave "
          "it out", file=sys.stderr)


def drop_index_column(df: pd.DataFrame, source: str, first: pd.Series | None = None) -> pd.DataFrame:
    """``df`` without leading columns that are saved row indexes (:func:`is_row_index`), with a
    one-line notice on stderr naming each. ``first``: the whole first column, when ``df`` holds
    only some rows of the table (the header-only read of :func:`file_channels`)."""
    while len(df.columns) > 1:
        name = df.columns[0]
        values = first if first is not None else df[name]
        if not is_row_index(name, values):
            break
        _notice_index(source, str(name))
        df, first = df.drop(columns=[name]), None
    return df


def read_table(path: str, data_name: str | None = None, nrows: int | None = None) -> pd.DataFrame:
    """Read a benchmark CSV (its first ``nrows`` rows; 0: the header only); a missing or
    unreadable file, or one without a ``date`` column, is a DataError naming the fix. A leading
    row index saved with the data is dropped with a notice (:func:`drop_index_column`)."""
    if not os.path.isfile(path):
        raise _missing_file(path, data_name)
    try:
        # encoding_errors: some copies of weather.csv carry Latin-1 unit symbols in the header
        df = pd.read_csv(path, encoding_errors="replace", nrows=nrows)
        first = None
        if nrows is not None and len(df.columns) > 1 and unnamed_column(df.columns[0]):
            first = pd.read_csv(path, encoding_errors="replace", usecols=[0]).iloc[:, 0]
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: cannot be read as CSV ({msg})") from None
    df = drop_index_column(df, path, first)
    if "date" not in df.columns:
        raise DataError(f"{path}: no 'date' column (columns: {_names(df.columns)}); the first "
                        "column must hold the timestamps and be named 'date'")
    return df


def file_channels(path: str, features: str, target: str, data_name: str | None = None) -> int:
    """Channels a long-term dataset reads from the CSV at ``path`` with ``features``, from its
    header alone: every column but ``date`` for M and MS, 1 for S (``n_channels`` of the loader)."""
    return len(select_columns(list(read_table(path, data_name, nrows=0).columns), features,
                              target, path))


def select_columns(columns, features: str, target: str, path: str) -> list[str]:
    """Data columns for ``features``: M and MS use every column but ``date`` with the target
    moved last; S uses the target only. A missing target is an error for S / MS."""
    others = [c for c in columns if c not in ("date", target)]
    if target not in columns:
        if features == "M":
            return others
        raise DataError(f"{path}: target column '{target}' not found (columns: {_names(others)}); "
                        "set --target to one of them")
    return [target] if features == "S" else [*others, target]


def numeric_values(df: pd.DataFrame, columns: list[str], rows: int, path: str) -> np.ndarray:
    """The first ``rows`` rows of ``columns`` as float64 (rows, C); a column of numbers written as
    text ("1.5") is read as numbers; other non-numeric columns and missing / infinite values are
    DataErrors naming the columns and counts."""
    table = df[columns].iloc[:rows]
    for c in columns:
        if not pd.api.types.is_numeric_dtype(table[c]):
            col = table[c]
            coerced = pd.to_numeric(col, errors="coerce")
            bad = col[coerced.isna() & col.notna()]
            if len(bad):
                raise DataError(f"{path}: column '{c}' is not numeric ({len(bad)} non-numeric "
                                f"cells such as {bad.iloc[0]!r}); clean or drop it")
            table = table.assign(**{c: coerced})
    values = table.to_numpy(dtype=np.float64)
    bad_counts = (~np.isfinite(values)).sum(axis=0)
    if bad_counts.any():
        parts = [f"'{c}' has {int(n)}" for c, n in zip(columns, bad_counts) if n]
        raise DataError(f"{path}: missing (NaN) or infinite values in column {', '.join(parts)}; "
                        "fill or drop them first")
    return values


# text ending in a time then a UTC offset: 23:00+01:00, 23:00:00.5 +0100, 23:00Z, 23:00 UTC
_OFFSET = re.compile(r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
# numbers are epoch times; dates they give outside these years mean another --date_unit
EPOCH_YEARS = (1971, 2200)


def _has_offset(value) -> bool:
    if isinstance(value, str):
        return _OFFSET.search(value.strip()) is not None
    return getattr(value, "tzinfo", None) is not None


def _epoch_dates(numbers: pd.Series, path: str, column: str, unit: str) -> pd.DatetimeIndex:
    """Numbers as Unix epoch times in ``unit``, (T,) in UTC; dates outside :data:`EPOCH_YEARS`
    are a DataError suggesting the ``--date_unit`` that fits, if one does."""
    if unit not in DATE_UNITS:
        raise DataError(f"unknown date unit '{unit}'; use one of {', '.join(DATE_UNITS)}")
    values = numbers.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise DataError(f"{path}: column '{column}' has {int(np.isnan(values).sum())} empty cell(s) "
                        f"(first: data row {row + 1}); every row needs its date")
    lo, hi = (pd.Timestamp(f"{y}-01-01") - pd.Timestamp(0) for y in EPOCH_YEARS)
    per_unit = {u: pd.Timedelta(1, unit=u) for u in DATE_UNITS}
    fits = [u for u, one in per_unit.items()
            if lo / one <= values.min() and values.max() < hi / one]
    if unit not in fits:
        bad = values[np.argmax((values < lo / per_unit[unit]) | (values >= hi / per_unit[unit]))]
        try:
            when = f"is {pd.Timestamp(bad, unit=unit)}, outside {EPOCH_YEARS[0]}-{EPOCH_YEARS[1]}"
        except (OverflowError, ValueError):
            when = "is beyond any date pandas can hold"
        hint = (f"they look like {DATE_UNITS[fits[0]]}: pass --date_unit {fits[0]}" if fits else
                "no --date_unit fits them: write the dates as text (e.g. 2021-01-01 00:00:00)")
        raise DataError(f"{path}: column '{column}' holds numbers, read as Unix epoch "
                        f"{DATE_UNITS[unit]} (--date_unit {unit}), but {bad:.15g} {when}; {hint}")
    # integers convert exactly; floats keep sub-unit fractions
    raw = numbers.to_numpy() if pd.api.types.is_integer_dtype(numbers) else values
    return pd.DatetimeIndex(pd.to_datetime(raw, unit=unit, utc=True))


def _text_dates(dates: pd.Series, path: str, column: str) -> pd.Series:
    """Text or datetime cells -> datetimes, NaT where unparseable (see :func:`parse_dates`)."""
    try:  # the format pandas infers from the first cell: naive, or one fixed UTC offset, parses
        parsed = pd.to_datetime(dates, errors="coerce")  # ... every cell alike, else some NaT
        if not (parsed.isna() & dates.notna()).any():
            return parsed
    except (ValueError, TypeError):  # e.g. offsets that change from row to row
        pass
    aware = np.fromiter((_has_offset(v) for v in dates), bool, len(dates))
    present = dates.notna().to_numpy()
    if aware.any() and not aware[present].all():
        i, j = int(np.argmax(aware)), int(np.argmax(~aware & present))
        raise DataError(f"{path}: column '{column}' mixes dates with a UTC offset (data row "
                        f"{i + 1}: {dates.iloc[i]!r}) and dates without one (data row {j + 1}: "
                        f"{dates.iloc[j]!r}); write every date with its offset (e.g. "
                        "2021-03-28 03:00:00+02:00) or none")
    utc = bool(aware.any())
    try:
        return pd.to_datetime(dates, errors="coerce", utc=utc)
    except (ValueError, TypeError):
        return pd.to_datetime(dates, errors="coerce", utc=utc, format="mixed")


def parse_dates(dates: pd.Series, path: str, column: str = "date", unit: str = "s") -> pd.DatetimeIndex:
    """The one rule that turns a raw date column (``date`` of a wide CSV, ``--time_col`` of a
    long table, the table given to the API's ``predict(df)``) into the (T,) DatetimeIndex every
    dataset and forecast uses.

    - Text or datetimes without a UTC offset: read as written (naive), as the benchmarks.
    - Text with UTC offsets, which may change from row to row (local time exported across a
      daylight-saving change: ``2021-03-28 01:00:00+01:00`` then ``03:00:00+02:00``), or
      zone-aware datetimes: the instants they name, shown in the zone of the last row (its fixed
      offset for text, the column's own zone for zone-aware datetimes). Order, steps and
      future dates are those of the instants; the calendar features read them in UTC
      (:func:`utils.timefeatures.time_marks`); forecast dates come out in that zone.
    - Numbers (int or float): Unix epoch times in ``unit`` (``--date_unit``: s, ms, us, ns), in
      UTC; forecast dates come out as UTC dates (``+00:00``).

    Refusals, each one DataError line naming ``path``: cells that are not dates; a column mixing
    dates with and without an offset; numbers whose dates fall outside 1971-2200 in ``unit``.
    """
    dates = pd.Series(dates).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(dates) and not pd.api.types.is_bool_dtype(dates):
        return _epoch_dates(dates, path, column, unit)
    parsed = _text_dates(dates, path, column)
    bad = dates[parsed.isna().to_numpy()]
    if len(bad):
        raise DataError(f"{path}: column '{column}' has {len(bad)} cells that are not dates "
                        f"(e.g. {bad.iloc[0]!r})")
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None and len(index) and str(index.tz) == "UTC" \
            and not isinstance(dates.dtype, pd.DatetimeTZDtype):
        index = index.tz_convert(pd.Timestamp(dates.iloc[-1]).tz)  # the last row's offset
    return index


def check_date_order(dates: pd.DatetimeIndex, path: str) -> None:
    """The splits are cut in file order, so the dates must increase from row to row."""
    values = dates.asi8
    bad = np.flatnonzero(values[1:] <= values[:-1])
    if len(bad):
        i = int(bad[0]) + 1
        how = "repeats" if values[i] == values[i - 1] else "comes before"
        raise DataError(f"{path}: the dates must increase row by row, but data row {i + 1} ({dates[i]}) "
                        f"{how} row {i} ({dates[i - 1]}); {len(bad)} such row(s). Sort the file by date "
                        "(the train/val/test splits are cut in file order)")


def check_split_lengths(name: str, borders: Borders, seq_len: int, pred_len: int,
                        percent: int = 100) -> None:
    """Every split must hold at least one window of ``seq_len + pred_len`` rows."""
    for split, b1, b2 in zip(SPLITS, *borders):
        n = b2 - b1
        if n >= seq_len + pred_len:
            continue
        if split == "train":
            what = f"the train split{f' (--percent {percent})' if percent < 100 else ''} has {max(n, 0)} rows"
        else:
            what = (f"the {split} split has {max(n - seq_len, 0)} rows (+ {seq_len} context rows "
                    f"before it = {max(n, 0)})")
        fix = "raise --percent or reduce" if split == "train" and percent < 100 else "reduce"
        raise DataError(f"{name}: {what}, fewer than seq_len + pred_len = {seq_len} + {pred_len} = "
                        f"{seq_len + pred_len} needed for one window; {fix} --seq_len or --pred_len")


def _check_common(flag: str, size, features: str, percent: int) -> tuple[int, int, int]:
    if flag not in SPLITS:
        raise unknown_name("split", flag, SPLITS)
    if features not in FEATURES:
        raise unknown_name("features", features, FEATURES)
    if not 1 <= int(percent) <= 100:
        raise DataError(f"--percent must be between 1 and 100, got {percent}")
    seq_len, label_len, pred_len = (int(v) for v in size)
    if seq_len < 1 or pred_len < 1 or not 0 <= label_len <= seq_len:
        raise ConfigError(f"need seq_len >= 1, pred_len >= 1 and 0 <= label_len <= seq_len; got "
                          f"seq_len {seq_len}, label_len {label_len}, pred_len {pred_len}")
    return seq_len, label_len, pred_len


# ----------------------------------------------------------------------------- long-term

class _WindowDataset(Dataset):
    """Shared implementation of the long-term datasets; subclasses give the borders.

    Attributes (for tests and the trainer):
        data_x: (T_split, C) float32 scaled rows of this split (``data_y`` is the same array).
        data_stamp: (T_split, F) float32 calendar features of the same rows.
        borders: ((b1_train, b1_val, b1_test), (b2_train, b2_val, b2_test)) after few-shot.
        border1, border2: this split's rows in the file, ``[border1, border2)``.
        scaler: fitted on the full training rows; n_channels: C; tot_len: windows per channel.
    """

    minute_step: int | None = None  # integer stamps add minute // minute_step when set

    def __init__(self, root_path: str, flag: str = "train", size=None, features: str = "S",
                 data_path: str = "ETTh1.csv", target: str = "OT", scale: bool = True,
                 timeenc: int = 0, freq: str = "h", percent: int = 100,
                 seasonal_patterns: str | None = None, channel_independence: int = 1,
                 m4_val_from_test: int = 0, data_name: str | None = None, date_unit: str = "s"):
        size = size if size is not None else (96, 48, 96)
        self.seq_len, self.label_len, self.pred_len = _check_common(flag, size, features, percent)
        self.flag, self.set_type = flag, SPLITS[flag]
        self.features, self.target, self.scale = features, target, scale
        self.timeenc, self.freq, self.percent = timeenc, freq, int(percent)
        self.date_unit = date_unit  # numbers in the date column: epoch times in this unit
        self.channel_independence = 0 if channel_independence == 0 else 1
        self.root_path, self.data_path = root_path, data_path
        self.path = os.path.join(root_path, data_path)
        self.data_name = data_name or os.path.splitext(os.path.basename(data_path))[0]
        self.__read_data__()

    # subclasses: (border1s, border2s) for a file of n_rows rows
    def _borders(self, n_rows: int) -> Borders:
        raise NotImplementedError

    def __read_data__(self) -> None:
        L, H = self.seq_len, self.pred_len
        df = read_table(self.path, self.data_name)
        self.columns = select_columns(list(df.columns), self.features, self.target, self.path)
        self.n_rows = len(df)
        border1s, border2s = self._borders(self.n_rows)
        train_end = few_shot_border(border2s[0], L, self.percent)
        full_train = (border1s[0], border2s[0])
        border2s = (train_end, border2s[1], border2s[2])
        self.borders = (tuple(border1s), tuple(border2s))
        check_split_lengths(self.data_name, self.borders, L, H, self.percent)
        values = numeric_values(df, self.columns, max(border2s), self.path)

        self.scaler = StandardScaler().fit(values[full_train[0]:full_train[1]])
        self.border1, self.border2 = border1s[self.set_type], border2s[self.set_type]
        rows = values[self.border1:self.border2]
        split = (self.scaler.transform(rows) if self.scale else rows).astype(np.float32)

        all_dates = parse_dates(df["date"].iloc[:max(border2s)], self.path, unit=self.date_unit)
        check_date_order(all_dates, self.path)
        dates = all_dates[self.border1:self.border2]
        self.data_stamp = time_marks(dates, self.timeenc, self.freq, self.minute_step)

        self.n_channels = split.shape[1]
        self.tot_len = len(split) - L - H + 1
        if self.channel_independence:
            # channel-major copy so one channel's window is a contiguous slice
            self._series = np.ascontiguousarray(split.T)  # (C, T_split)
            self.data_x = self._series.T  # (T_split, C) view
        else:
            self._series = None
            self.data_x = split
        self.data_y = self.data_x

    def __len__(self) -> int:
        return self.tot_len * (self.n_channels if self.channel_independence else 1)

    def channel_of(self, index: int) -> int | None:
        """Channel of item ``index`` in the channel-independent view (None in the other view)."""
        return int(index) // self.tot_len if self.channel_independence else None

    def sample_channels(self, n: int) -> np.ndarray | None:
        """The scaler channel of each of the first ``n`` items, (n,) int, when every item holds one
        channel (the channel-independent view); None when an item holds all channels."""
        if not self.channel_independence or n > len(self):
            return None
        return np.arange(n) // self.tot_len

    def __getitem__(self, index: int):
        """Returns float32 arrays seq_x (L, c), seq_y (label_len + H, c), seq_x_mark (L, F),
        seq_y_mark (label_len + H, F) with c = 1 (channel-independent) or C."""
        index = int(index)
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        s_begin = index % self.tot_len
        s_end = s_begin + self.seq_len
        r_begin = s_end - self.label_len
        r_end = r_begin + self.label_len + self.pred_len
        if self.channel_independence:
            row = self._series[index // self.tot_len]
            seq_x, seq_y = row[s_begin:s_end, None], row[r_begin:r_end, None]
        else:
            seq_x, seq_y = self.data_x[s_begin:s_end], self.data_y[r_begin:r_end]
        return seq_x, seq_y, self.data_stamp[s_begin:s_end], self.data_stamp[r_begin:r_end]

    def inverse_transform(self, data: np.ndarray, channel=None) -> np.ndarray:
        """Undo the scaling.

        Args:
            data: (..., C) with all channels, or, with ``channel`` given, values of single
                channels: ``channel`` an int, or an int array of shape (B,) for data (B, ...).
        Returns:
            float64 array of the same shape.
        """
        if channel is None:
            return self.scaler.inverse_transform(data)
        data = np.asarray(data, dtype=np.float64)
        mean = np.asarray(self.scaler.mean_[channel])
        scale = np.asarray(self.scaler.scale_[channel])
        extra = (1,) * (data.ndim - mean.ndim)
        return data * scale.reshape(scale.shape + extra) + mean.reshape(mean.shape + extra)


class Dataset_ETT_hour(_WindowDataset):
    """ETTh1 / ETTh2: hourly rows, borders 8640 / 11520 / 14400."""

    minutes = False

    def _borders(self, n_rows: int) -> Borders:
        borders = ett_borders(self.seq_len, self.minutes)
        if n_rows < borders[1][2]:
            kind = "15-minute" if self.minutes else "hourly"
            raise DataError(f"{self.path}: {n_rows} rows, but the ETT {kind} split needs "
                            f"{borders[1][2]} (12/4/4 months); is this the right file?")
        return borders


class Dataset_ETT_minute(Dataset_ETT_hour):
    """ETTm1 / ETTm2: 15-minute rows, borders 34560 / 46080 / 57600; integer stamps add
    minute // 15."""

    minutes = True
    minute_step = 15


class Dataset_Custom(_WindowDataset):
    """Any CSV with a ``date`` column (Weather, ECL, Traffic, ILI, Exchange): 70/10/20 split."""

    def _borders(self, n_rows: int) -> Borders:
        return custom_borders(n_rows, self.seq_len)


# ----------------------------------------------------------------------------- M4

class Dataset_M4(Dataset):
    """One M4 seasonal pattern (see ``data_provider/m4.py`` for the files).

    Which series and targets each split uses (H = horizon):

    - train, val (default): history = the training series without their last H points, targets =
      those H points (held out for validation);
    - train, val with ``m4_val_from_test=1`` (the reference, whose validation peeks at the test
      set) and test: history = the full training series, targets = the test file.

    The test split also carries ``naive2`` (S, H), the official Naive2 forecasts, when
    ``submission-Naive2-<Pattern>.csv`` is in the M4 folder (else None).

    Items: ``insample (seq_len, 1)``, ``outsample (label_len + H, 1)``, ``insample_mask``,
    ``outsample_mask`` (float32). Training items draw a random cut point per call exactly like the
    reference (numpy's global RNG; an outsample starting before the series is shifted left, as in
    the reference); val/test items are the fixed last window of ``history`` followed by its
    targets, label part right-aligned so ``outsample[-H:]`` is always the target.
    """

    def __init__(self, root_path: str, flag: str = "train", size=None, features: str = "S",
                 data_path: str | None = None, target: str = "OT", scale: bool = False,
                 timeenc: int = 0, freq: str = "h", percent: int = 100,
                 seasonal_patterns: str = "Yearly", channel_independence: int = 1,
                 m4_val_from_test: int = 0, data_name: str | None = "m4", date_unit: str = "s"):
        if flag not in SPLITS:
            raise unknown_name("split", flag, SPLITS)
        info = m4_pattern(seasonal_patterns)
        expected = m4_lengths(seasonal_patterns)
        size = tuple(int(v) for v in size) if size is not None else expected
        if size != expected:
            raise ConfigError(f"M4 {info.name} needs seq_len, label_len, pred_len = "
                              f"{', '.join(map(str, expected))} (2H, H, H with H = {info.horizon}); "
                              f"got {', '.join(map(str, size))}")
        self.flag, self.set_type, self.root_path = flag, SPLITS[flag], root_path
        self.seasonal_patterns, self.pattern = info.name, info
        self.seq_len, self.label_len, self.pred_len = size
        self.horizon, self.seasonality, self.history_size = info.horizon, info.seasonality, info.history_size
        self.window_sampling_limit = int(info.history_size * info.horizon)
        self.m4_val_from_test = int(m4_val_from_test)
        self.data_name = data_name or "m4"
        self.n_channels = 1

        use_test = flag == "test" or self.m4_val_from_test == 1
        data = load_m4(root_path, info.name, with_test=use_test)
        self.ids = data.ids
        H = info.horizon
        if use_test:
            self.history = data.train
            self.targets = data.test
        else:
            short = [i for i, ts in zip(data.ids, data.train) if len(ts) < H + 2]
            if short:
                raise DataError(f"M4 {info.name}: {len(short)} series are too short to hold out "
                                f"their last {H} points (e.g. {short[0]}); use --m4_val_from_test 1")
            self.history = [ts[:-H] for ts in data.train]
            self.targets = np.stack([ts[-H:] for ts in data.train])
        self.timeseries = self.history  # the reference's name
        self.tot_len = len(self.history)
        # the official Naive2 forecasts (S, H) when the M4 folder has them (test split only)
        self.naive2 = load_naive2(root_path, info.name, self.ids) if flag == "test" else None
        if flag != "train":
            ins, ins_mask = left_pad(self.history, self.seq_len)
            lab, lab_mask = left_pad(self.history, self.label_len)
            outs = np.concatenate([lab, self.targets.astype(np.float32)], axis=1)
            outs_mask = np.concatenate([lab_mask, np.ones_like(self.targets, dtype=np.float32)], axis=1)
            self._fixed = tuple(a[:, :, None] for a in (ins, outs, ins_mask, outs_mask))

    def __len__(self) -> int:
        return len(self.history)

    def __getitem__(self, index: int):
        """insample (seq_len, 1), outsample (label_len + H, 1), insample_mask, outsample_mask."""
        index = int(index)
        if self.flag != "train":
            return tuple(a[index] for a in self._fixed)
        insample = np.zeros((self.seq_len, 1), dtype=np.float32)
        insample_mask = np.zeros((self.seq_len, 1), dtype=np.float32)
        outsample = np.zeros((self.label_len + self.pred_len, 1), dtype=np.float32)
        outsample_mask = np.zeros((self.label_len + self.pred_len, 1), dtype=np.float32)
        ts = self.history[index]
        cut_point = np.random.randint(low=max(1, len(ts) - self.window_sampling_limit),
                                      high=len(ts), size=1)[0]
        insample_window = ts[max(0, cut_point - self.seq_len):cut_point]
        insample[-len(insample_window):, 0] = insample_window
        insample_mask[-len(insample_window):, 0] = 1.0
        outsample_window = ts[max(0, cut_point - self.label_len):min(len(ts), cut_point + self.pred_len)]
        outsample[:len(outsample_window), 0] = outsample_window
        outsample_mask[:len(outsample_window), 0] = 1.0
        return insample, outsample, insample_mask, outsample_mask

    def last_insample_window(self) -> tuple[np.ndarray, np.ndarray]:
        """Inputs for the forecast after ``history``: (S, seq_len) values and mask, float32,
        the last seq_len points of each series right-aligned with zero padding."""
        return left_pad(self.history, self.seq_len)

    def full_history_window(self) -> tuple[np.ndarray, np.ndarray]:
        """Every series' whole history right-aligned in (S, max length) with its mask (Naive2)."""
        return left_pad(self.history, None)

    def inverse_transform(self, data: np.ndarray, channel=None) -> np.ndarray:
        """M4 is not scaled: identity."""
        return np.asarray(data)
