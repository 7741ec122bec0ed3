"""``--data long``: many univariate series in one long table (``unique_id, ds, y``).

The layout of neuralforecast / Chronos users: one row per (series, timestamp), any number of
series of different lengths, start dates and steps; the column names are flags
(``--id_col``, ``--time_col``, ``--value_col``). Rows of a series keep their file order, which
must increase in time; series are numbered in the order they first appear.

Every series is treated like a one-column custom CSV of its own:

- borders: :func:`series_borders`, the 70/10/20 rule of :func:`custom_borders` on the series'
  own length (val and test start ``seq_len`` rows early), or with ``--test_rows N`` the last N rows
  for test, the N rows before them for validation and the rest for training; ``--percent`` moves
  only the end of the training part (:func:`few_shot_border`);
- scaling: a standard scaler fitted on the series' full training part (the scaler's ``mean_`` /
  ``scale_`` hold one entry per series);
- windows: item ``i`` is one window of one series (never crossing series), series after series,
  each series' windows in time order, with the same ``seq_x`` / ``seq_y`` / marks as the other
  long-term datasets, one channel wide.

Dates follow :func:`~data_provider.data_loader.parse_dates` (text with changing UTC offsets as
instants, numbers as epoch times in ``--date_unit``); a row index saved before the columns is
ignored with a notice. A series too short for one window in some split, a missing column, a
non-numeric or missing value, an unparsable date or dates that do not increase within a series
are one-line DataErrors.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_provider.data_loader import (Borders, StandardScaler, _WindowDataset, custom_borders,
                                       drop_index_column, few_shot_border, parse_dates,
                                       unnamed_column)
from utils.errors import DataError
from utils.timefeatures import time_marks

__all__ = ["Dataset_Long", "LongTable", "per_series_scaler", "read_long_table", "rows_needed",
           "series_borders"]


@dataclass(frozen=True)
class LongTable:
    """The series of a long table, in original units.

    Attributes:
        path: the file.
        ids: S series ids (strings, in order of first appearance).
        dates: S increasing ``DatetimeIndex`` objects, (T_k,) each (zone-aware when the file's
            dates carry UTC offsets or are epoch numbers: see ``parse_dates``).
        values: S float64 arrays, (T_k,) each.
    """

    path: str
    ids: tuple[str, ...]
    dates: tuple[pd.DatetimeIndex, ...]
    values: tuple[np.ndarray, ...]


def _show(cols) -> str:
    return ", ".join(str(c) for c in list(cols)[:8]) + (" ..." if len(cols) > 8 else "")


def read_long_table(path: str, id_col: str = "unique_id", time_col: str = "ds",
                    value_col: str = "y", date_unit: str = "s") -> LongTable:
    """Read and check a long table (see the module docstring; ``date_unit``: numbers in
    ``time_col`` are epoch times in this unit); every problem is one DataError line."""
    if not os.path.isfile(path):
        raise DataError(f"data file {path} not found; check --root_path and --data_path")
    try:
        header = pd.read_csv(path, nrows=0).columns
        missing = [c for c in (id_col, time_col, value_col) if c not in header]
        if missing:
            raise DataError(f"{path}: no column {', '.join(repr(c) for c in missing)} (columns: "
                            f"{_show(header)}); a long table needs the series id, date and value "
                            "columns: name them with --id_col, --time_col, --value_col")
        wanted = [id_col, time_col, value_col]
        first = [header[0]] if unnamed_column(header[0]) and header[0] not in wanted else []
        df = pd.read_csv(path, usecols=first + wanted, dtype={id_col: str})
        df = drop_index_column(df, path)[wanted]
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: cannot be read as CSV ({msg})") from None
    if df.empty:
        raise DataError(f"{path}: no rows")
    if df[id_col].isna().any():
        row = int(np.flatnonzero(df[id_col].isna().to_numpy())[0])
        raise DataError(f"{path}: column '{id_col}' is empty in {int(df[id_col].isna().sum())} "
                        f"row(s) (first: data row {row + 1}); every row needs its series id")
    y = pd.to_numeric(df[value_col], errors="coerce")
    text = df[value_col][y.isna() & df[value_col].notna()]
    if len(text):
        raise DataError(f"{path}: column '{value_col}' is not numeric ({len(text)} non-numeric cells "
                        f"such as {text.iloc[0]!r}, series '{df[id_col].iloc[text.index[0]]}')")
    values = y.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: column '{value_col}' has {int(bad.sum())} missing (NaN) or infinite "
                        f"values (first: series '{df[id_col].iloc[first]}', data row {first + 1}); "
                        "fill or drop them first")
    dates = parse_dates(df[time_col], path, column=time_col, unit=date_unit)

    codes, uniques = pd.factorize(df[id_col], sort=False)
    order = np.argsort(codes, kind="stable")  # each series' rows together, in file order
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))])
    ids, all_dates, all_values = [], [], []
    for k, name in enumerate(uniques):
        rows = order[bounds[k]:bounds[k + 1]]
        d = pd.DatetimeIndex(dates[rows])
        steps = d.asi8[1:] - d.asi8[:-1]
        if (steps <= 0).any():
            j = int(np.flatnonzero(steps <= 0)[0]) + 1
            how = "repeats" if steps[j - 1] == 0 else "comes before"
            raise DataError(f"{path}: series '{name}': the dates must increase, but data row "
                            f"{int(rows[j]) + 1} ({d[j]}) {how} data row {int(rows[j - 1]) + 1} "
                            f"({d[j - 1]}); sort each series by {time_col}")
        ids.append(str(name))
        all_dates.append(d)
        all_values.append(values[rows])
    return LongTable(path, tuple(ids), tuple(all_dates), tuple(all_values))


# ----------------------------------------------------------------------------- borders

def series_borders(n_rows: int, seq_len: int, percent: int = 100, test_rows: int = 0
                   ) -> tuple[Borders, int]:
    """Borders of one series of ``n_rows`` rows, and the end of its full training part.

    ``test_rows`` 0: :func:`custom_borders` (70/10/20). ``test_rows`` N: test = the last N rows,
    validation = the N rows before them, training = the rest; val and test start ``seq_len``
    rows early either way. ``percent`` < 100 moves only the end of training
    (:func:`few_shot_border`); the scaler is fitted on the full training part.

    Returns:
        (((b1_train, b1_val, b1_test), (b2_train, b2_val, b2_test)), full training end).
    """
    if test_rows:
        n_train = n_rows - 2 * test_rows
        b1s = (0, n_train - seq_len, n_rows - test_rows - seq_len)
        b2s = (n_train, n_rows - test_rows, n_rows)
    else:
        b1s, b2s = custom_borders(n_rows, seq_len)
    train_end = b2s[0]
    return (b1s, (few_shot_border(train_end, seq_len, percent), b2s[1], b2s[2])), train_end


def _fits(n_rows: int, seq_len: int, pred_len: int, percent: int, test_rows: int) -> bool:
    (b1s, b2s), _ = series_borders(n_rows, seq_len, percent, test_rows)
    return all(b1 >= 0 and b2 - b1 >= seq_len + pred_len for b1, b2 in zip(b1s, b2s))


def rows_needed(seq_len: int, pred_len: int, percent: int = 100, test_rows: int = 0) -> int:
    """The fewest rows a series needs for one window of ``seq_len + pred_len`` in every split."""
    n = seq_len + pred_len
    while not _fits(n, seq_len, pred_len, percent, test_rows):
        n += 1
    return n


def per_series_scaler(parts: list[np.ndarray]) -> StandardScaler:
    """One standard scaler over S series: ``mean_`` / ``scale_`` of shape (S,), entry k fitted on
    ``parts[k]`` (T_k,) alone (zero variance: scale 1, as :class:`StandardScaler`)."""
    fitted = [StandardScaler().fit(p[:, None]) for p in parts]
    scaler = StandardScaler()
    scaler.mean_ = np.concatenate([f.mean_ for f in fitted])
    scaler.var_ = np.concatenate([f.var_ for f in fitted])
    scaler.scale_ = np.concatenate([f.scale_ for f in fitted])
    scaler.n_features_in_ = len(parts)
    return scaler


# ----------------------------------------------------------------------------- dataset

class Dataset_Long(_WindowDataset):
    """Windows of every series of a long table (see the module docstring).

    Attributes besides those of the other long-term datasets:
        table: the :class:`LongTable` (every series, original units).
        series_borders: S ``Borders`` (after few-shot), one per series.
        windows: (S,) windows per series in this split, ``starts`` (S,) the first item of each;
            item ``i`` is window ``i - starts[k]`` of series ``k = series_of(i)``.
        data_x: (sum of split lengths, 1) float32, every series' scaled split rows one after
            another (``row_starts`` (S,) gives where each begins); ``data_stamp`` the same rows'
            marks. ``tot_len`` is the number of windows (all series).
        columns: ``[value_col]``, the one channel.
    """

    def __init__(self, *args, id_col: str = "unique_id", time_col: str = "ds", value_col: str = "y",
                 test_rows: int = 0, **kwargs):
        self.id_col, self.time_col, self.value_col = id_col, time_col, value_col
        self.test_rows = int(test_rows)
        super().__init__(*args, **kwargs)

    def __read_data__(self) -> None:
        L, H = self.seq_len, self.pred_len
        self.table = read_long_table(self.path, self.id_col, self.time_col, self.value_col,
                                     self.date_unit)
        self.columns = [self.value_col]
        self.n_channels = 1
        self.channel_independence = 1
        borders, train_ends = [], []
        for name, values in zip(self.table.ids, self.table.values):
            if not _fits(len(values), L, H, self.percent, self.test_rows):
                raise self._too_short(name, len(values))
            b, end = series_borders(len(values), L, self.percent, self.test_rows)
            borders.append(b)
            train_ends.append(end)
        self.series_borders = borders
        self.scaler = per_series_scaler([v[:e] for v, e in zip(self.table.values, train_ends)])

        rows, stamps = [], []
        for k, (values, dates) in enumerate(zip(self.table.values, self.table.dates)):
            b1, b2 = borders[k][0][self.set_type], borders[k][1][self.set_type]
            part = values[b1:b2]
            rows.append((part - self.scaler.mean_[k]) / self.scaler.scale_[k] if self.scale else part)
            split_dates = dates[b1:b2]
            stamps.append(time_marks(split_dates, self.timeenc, self.freq, self.minute_step))
        lengths = np.array([len(r) for r in rows])
        self.row_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.windows = lengths - L - H + 1
        self.starts = np.concatenate([[0], np.cumsum(self.windows)[:-1]])
        self.tot_len = int(self.windows.sum())
        self._flat = np.concatenate(rows).astype(np.float32)
        self.data_x = self._flat[:, None]
        self.data_y = self.data_x
        self.data_stamp = np.ascontiguousarray(np.concatenate(stamps), dtype=np.float32)
        self.n_rows = int(sum(len(v) for v in self.table.values))
        self.borders = self.border1 = self.border2 = None  # per series: series_borders

    def _too_short(self, name: str, n: int) -> DataError:
        L, H = self.seq_len, self.pred_len
        rule = (f"--test_rows {self.test_rows} for test and as many for validation" if self.test_rows
                else "the 70/10/20 split")
        few = f", --percent {self.percent}" if self.percent < 100 else ""
        return DataError(f"{self.path}: series '{name}' has {n} rows, fewer than the "
                         f"{rows_needed(L, H, self.percent, self.test_rows)} needed for one window of "
                         f"seq_len + pred_len = {L} + {H} in each split ({rule}{few}); drop the series "
                         "or reduce --seq_len / --pred_len")

    def __len__(self) -> int:
        return self.tot_len

    def series_of(self, index) -> np.ndarray | int:
        """The series (0..S-1) of item ``index`` (an int or an int array)."""
        k = np.searchsorted(self.starts, index, side="right") - 1
        return int(k) if np.ndim(k) == 0 else k

    def channel_of(self, index: int) -> int:
        """The scaler entry of item ``index``: its series."""
        return self.series_of(int(index))

    def sample_channels(self, n: int) -> np.ndarray:
        """The series of each of the first ``n`` items, (n,) int."""
        return np.repeat(np.arange(len(self.windows)), self.windows)[:n]

    def __getitem__(self, index: int):
        """seq_x (L, 1), seq_y (label_len + H, 1), seq_x_mark (L, F), seq_y_mark (label_len + H, F):
        one window of one series."""
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        k = self.series_of(index)
        s_begin = int(self.row_starts[k] + index - self.starts[k])
        s_end = s_begin + self.seq_len
        r_begin = s_end - self.label_len
        r_end = r_begin + self.label_len + self.pred_len
        return (self.data_x[s_begin:s_end], self.data_y[r_begin:r_end],
                self.data_stamp[s_begin:s_end], self.data_stamp[r_begin:r_end])

