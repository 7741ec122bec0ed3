"""``--do_predict 1``: forecast the ``pred_len`` steps after the last row of the data file.

Pure functions, called by the task hooks in :mod:`exp.tasks`:

- :func:`data_step` / :func:`future_dates`: the timestamps after the file's last date. The step is
  the file's own when its dates are regular (every step equal, or a calendar frequency pandas
  infers: month ends, business days, ...). ``--freq`` is used only when the dates are irregular
  (gaps, changing steps), and only when it agrees with their most common step (within 25%): the
  flag has a default (``h``) that cannot be told from a value the user typed, so a regular file's
  own step always wins and a daily file with gaps is not forecast hourly by accident.
- :func:`read_future_input`: the file's last ``seq_len`` rows (original units) and those dates;
  or the last rows of a table in the file's layout (``date`` then the run's columns) given in
  its place (the Python API's ``predict(df)``, :func:`frame_table`).
- :func:`model_inputs`: the four model tensors, scaled with the training scaler and with the
  calendar marks of the input and future dates, in the run's data view (all channels in one
  sample, or one sample per channel with ``channel_independence``); the decoder input is the last
  ``label_len`` rows then zeros, as for every test window.
- :func:`forecast_values` / :func:`forecast_table`: the model output back in original units,
  then the ``forecast.csv`` table (``date`` then one column per forecast channel).
- :func:`write_forecast`: ``forecast.csv`` (atomically) and ``forecast_future.png``.
- Forecast dates keep the data's representation (dates are read by
  :func:`data_provider.data_loader.parse_dates`): naive dates stay naive; dates with UTC offsets
  (also offsets that change at a daylight-saving switch) are stepped as instants and written in
  the offset of the data's last row (``2021-03-28 05:00:00+02:00``; a later switch inside the
  horizon is not applied: the instants stay right, the offset is the last row's); zone-aware
  datetimes given to the API stay in their zone; epoch numbers come back as UTC dates
  (``2021-01-01 00:00:00+00:00``).
- Many series (:class:`SeriesPanel`): M4 panels, and long tables (``--data long``) where
  :func:`long_panel` gives each series its own last ``seq_len`` rows and future dates,
  :func:`panel_inputs` the model tensors with each series' own scaler, and :func:`panel_table`
  the long ``unique_id, ds, y_hat`` table.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from data_provider.data_loader import (check_date_order, drop_index_column, numeric_values,
                                       parse_dates, read_table, select_columns)
from data_provider.m4 import left_pad
from exp.results import plot_future, plot_panel_future
from utils.checkpoint import atomic_write_text
from utils.errors import DataError, UserError
from utils.timefeatures import normalize_freq, time_marks

__all__ = ["FutureInput", "SeriesPanel", "check_columns", "data_step", "forecast_table",
           "forecast_values", "frame_table", "future_dates", "long_panel", "model_inputs",
           "panel_inputs", "panel_table", "read_future_input", "write_forecast",
           "write_panel_forecast"]

Step = pd.Timedelta | pd.DateOffset

# --freq unit (utils.timefeatures.normalize_freq) -> step of n units, for irregular dates
_FREQ_STEPS = {
    "s": lambda n: pd.Timedelta(seconds=n),
    "t": lambda n: pd.Timedelta(minutes=n),
    "h": lambda n: pd.Timedelta(hours=n),
    "d": lambda n: pd.Timedelta(days=n),
    "b": lambda n: pd.offsets.BDay(n),
    "w": lambda n: pd.Timedelta(weeks=n),
    "m": lambda n: pd.DateOffset(months=n),
    "q": lambda n: pd.DateOffset(months=3 * n),
    "y": lambda n: pd.DateOffset(years=n),
}
# nominal length of one unit, to compare a --freq with the dates' most common step
_UNIT_LENGTH = {"s": pd.Timedelta(seconds=1), "t": pd.Timedelta(minutes=1), "h": pd.Timedelta(hours=1),
                "d": pd.Timedelta(days=1), "b": pd.Timedelta(days=1), "w": pd.Timedelta(weeks=1),
                "m": pd.Timedelta(days=30.44), "q": pd.Timedelta(days=91.31),
                "y": pd.Timedelta(days=365.25)}


@dataclass(frozen=True)
class FutureInput:
    """What the forecast past the end of the file starts from.

    Attributes:
        path: the data file.
        columns: the run's channels as in the file (target last for MS), C names.
        out_columns: the forecast channels written to forecast.csv (all for M, the target for S/MS).
        history: (seq_len, C) float64, the file's last ``seq_len`` rows in original units.
        history_dates: (seq_len,) their dates.
        future: (pred_len,) the dates to forecast.
        step: how the step was found, e.g. ``"0 days 01:00:00 (inferred from the dates)"``.
    """

    path: str
    columns: tuple[str, ...]
    out_columns: tuple[str, ...]
    history: np.ndarray
    history_dates: pd.DatetimeIndex
    future: pd.DatetimeIndex
    step: str


def _freq_step(freq: str) -> tuple[Step, pd.Timedelta] | None:
    """``--freq`` as (step, nominal length), or None when it is not a frequency."""
    try:
        unit = normalize_freq(freq)
    except UserError:
        return None
    m = re.match(r"\s*(\d*)", str(freq))
    n = int(m.group(1)) if m and m.group(1) else 1
    return _FREQ_STEPS[unit](n), _UNIT_LENGTH[unit] * n


def _inferred_step(dates: pd.DatetimeIndex) -> Step | None:
    """The dates' own step when they are regular (one fixed step, or a calendar frequency that
    pandas infers: month ends, business days, ...), else None."""
    if len(dates) < 2:
        return None
    steps = dates[1:] - dates[:-1]
    if (steps == steps[0]).all():
        return pd.Timedelta(steps[0])
    if len(dates) < 3:
        return None
    with warnings.catch_warnings():  # pandas 3 announces an offset return type for infer_freq
        warnings.simplefilter("ignore")
        try:
            inferred = pd.infer_freq(dates)
        except (TypeError, ValueError):
            inferred = None
        return pd.tseries.frequencies.to_offset(inferred) if inferred is not None else None


def data_step(dates: pd.DatetimeIndex, freq: str, path: str) -> tuple[Step, str]:
    """The step between future dates: the dates' own, or ``--freq`` for irregular dates.

    Args:
        dates: (T,) increasing dates of the file.
        freq: the run's ``--freq``.
        path: the file, for messages.
    Returns:
        (step, how it was found). Raises DataError when the dates are irregular and ``freq``
        does not name a step that agrees with their most common one.
    """
    step = _inferred_step(dates)
    if step is not None:
        return step, f"{step} (inferred from the dates)"
    if len(dates) < 2:
        raise DataError(f"{path}: {len(dates)} date(s), too few to tell the data's frequency")
    steps = pd.Series(dates[1:] - dates[:-1])
    common = steps.mode().iloc[0]
    lo, hi = steps.min(), steps.max()
    given = _freq_step(freq)
    if given is not None and 0.8 <= given[1] / common <= 1.25:
        return given[0], f"{given[0]} (--freq {freq}; the dates are irregular)"
    why = (f"--freq {freq} does not match" if given is not None
           else f"--freq {freq} is not a frequency matching")
    raise DataError(f"{path}: the dates are irregular (steps from {lo} to {hi}) and {why} their most "
                    f"common step {common}; pass the data's step as --freq (e.g. 15min, h, d)")


def future_dates(last: pd.Timestamp, step: Step, pred_len: int) -> pd.DatetimeIndex:
    """The ``pred_len`` dates after ``last``, ``step`` apart: (pred_len,)."""
    return pd.date_range(last, periods=pred_len + 1, freq=step)[1:]


def frame_table(table, source: str) -> pd.DataFrame:
    """A user's table in the data file's layout: a DataFrame with a ``date`` column (or a
    ``date`` index) and the data columns; anything else is a DataError naming ``source``. A
    leading row index read back from a CSV (``Unnamed: 0``: 0, 1, 2, ...) is dropped with a
    notice, as from the data file."""
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{source} must be a pandas DataFrame, got {type(table).__name__}")
    if "date" not in table.columns and table.index.name == "date":
        table = table.reset_index()
    if "date" not in table.columns:
        raise DataError(f"{source}: no 'date' column (columns: {', '.join(map(str, table.columns))}); "
                        "give the timestamps as a column (or the index) named 'date', like the data file")
    return drop_index_column(table.rename(columns=str).reset_index(drop=True), source)


def read_future_input(path: str, columns, features: str, target: str, seq_len: int, pred_len: int,
                      freq: str, data_name: str | None = None,
                      table: pd.DataFrame | None = None, date_unit: str = "s") -> FutureInput:
    """Read what the forecast after the file's last row needs (``columns``: the run's channels);
    with ``table`` (see :func:`frame_table`), after that table's last row instead (``path`` then
    only names it in messages). ``date_unit``: numbers in the date column are epoch times in
    this unit (``--date_unit``); the future dates are in the dates' zone (module docstring).

    Raises DataError when the file is shorter than ``seq_len`` rows, its columns are not the
    run's, its dates do not increase, or they are irregular without a usable ``--freq`` (see
    :func:`data_step`).
    """
    df = read_table(path, data_name) if table is None else frame_table(table, path)
    columns = tuple(columns)
    found = tuple(select_columns(list(df.columns), features, target, path))
    if found != columns:
        raise DataError(f"{path}: columns {', '.join(found)} differ from the run's {', '.join(columns)}")
    if len(df) < seq_len:
        raise DataError(f"{path}: {len(df)} rows, fewer than --seq_len {seq_len} needed as the "
                        "input of the forecast past its last row")
    dates = parse_dates(df["date"], path, unit=date_unit)
    check_date_order(dates, path)
    step, how = data_step(dates, freq, path)
    tail = df.iloc[len(df) - seq_len:]
    history = numeric_values(tail, list(columns), seq_len, path)
    out = columns if features == "M" else (columns[-1],)
    return FutureInput(path, columns, out, history, dates[len(df) - seq_len:],
                       future_dates(dates[-1], step, pred_len), how)


def forecast_channels(future: FutureInput, features: str, channel_independence: int) -> np.ndarray:
    """Indices of the channels fed to the model as separate samples (channel-independent view):
    every channel, or only the target for MS (its forecast is the only one written)."""
    n = len(future.columns)
    return np.arange(n) if features == "M" or not channel_independence else np.array([n - 1])


def model_inputs(future: FutureInput, scaler, label_len: int, timeenc: int, freq: str,
                 minute_step: int | None, features: str, channel_independence: int):
    """The four model tensors for the forecast after the file's last row.

    Returns:
        x_enc (B, seq_len, c), x_mark_enc (B, seq_len, F), x_dec (B, label_len + pred_len, c),
        x_mark_dec (B, label_len + pred_len, F), float32; B = 1 and c = C in the multivariate
        view, B = forecast channels and c = 1 with ``channel_independence``.
    """
    scaled = scaler.transform(future.history).astype(np.float32)  # (L, C), as the datasets do
    x_mark = time_marks(future.history_dates, timeenc, freq, minute_step)
    dec_dates = future.history_dates[len(future.history_dates) - label_len:].append(future.future)
    y_mark = time_marks(dec_dates, timeenc, freq, minute_step)
    if channel_independence:
        chans = forecast_channels(future, features, channel_independence)
        x = np.ascontiguousarray(scaled.T[chans][:, :, None])  # (B, L, 1)
    else:
        x = scaled[None]
    b = len(x)
    x = torch.from_numpy(x)
    zeros = torch.zeros(b, len(future.future), x.shape[-1])
    x_dec = torch.cat([x[:, x.shape[1] - label_len:], zeros], dim=1)
    x_mark_b, y_mark_b = (torch.from_numpy(np.repeat(m[None], b, axis=0)) for m in (x_mark, y_mark))
    return x, x_mark_b, x_dec, y_mark_b


def forecast_values(out: np.ndarray, future: FutureInput, inverse_transform, features: str,
                    channel_independence: int) -> np.ndarray:
    """Model output (B, pred_len, c) -> (pred_len, C') in original units, C' = forecast channels.

    ``inverse_transform(data, channel=None)`` is the dataset's (per channel with ``channel``).
    """
    n = len(future.columns)
    if channel_independence:
        chans = forecast_channels(future, features, channel_independence)
        return inverse_transform(out[:, :, 0], channel=chans).T  # (B, H) per channel -> (H, B)
    if features == "M":
        return inverse_transform(out[0])
    return inverse_transform(out[0, :, -1:], channel=n - 1)  # S / MS: the target, last


def forecast_table(future: FutureInput, values: np.ndarray) -> pd.DataFrame:
    """forecast.csv's table: ``date`` then one column per forecast channel, pred_len rows."""
    table = pd.DataFrame(np.asarray(values, dtype=np.float64), columns=list(future.out_columns))
    table.insert(0, "date", future.future)
    return table


def check_columns(trained: list[str] | None, run: list[str] | None, source: str) -> None:
    """Refuse to forecast with a checkpoint trained on other channels (None: not recorded)."""
    if trained is None or run is None or list(trained) == list(run):
        return
    raise UserError(f"{source} was trained on columns {', '.join(trained)}, but this run reads "
                    f"{', '.join(run)}; forecast with the data (and --features/--target) it was trained on")


def write_forecast(folder, title: str, future: FutureInput, table: pd.DataFrame) -> None:
    """``forecast.csv`` (atomically, ISO dates) and ``forecast_future.png`` in ``folder``."""
    atomic_write_text(table.to_csv(index=False), folder / "forecast.csv")
    plot_future(folder / "forecast_future.png", title, future.history_dates,
                future.history[:, [future.columns.index(c) for c in future.out_columns]],
                table, list(future.out_columns))


# --------------------------------------------------------------------------- M4-style panels


@dataclass(frozen=True)
class SeriesPanel:
    """Many univariate series of different lengths: the forecast follows each one's last value.

    M4 files carry no dates (``history_dates`` / ``future`` None); a long table (``--data long``)
    gives each series' last ``seq_len`` dates and its own ``pred_len`` future dates, at its own
    step (:func:`long_panel`). Gives the two windows :func:`exp.tasks.m4_forecast` reads, like
    ``Dataset_M4``.
    """

    ids: list[str]
    series: list[np.ndarray]  # S 1-D arrays in original units
    seq_len: int
    history_dates: list[pd.DatetimeIndex] | None = None  # S x (seq_len,): the input's dates
    future: list[pd.DatetimeIndex] | None = None  # S x (pred_len,): the dates forecast

    def last_insample_window(self) -> tuple[np.ndarray, np.ndarray]:
        """(S, seq_len) values and mask: each series' last seq_len points, right-aligned."""
        return left_pad(self.series, self.seq_len)

    def full_history_window(self) -> tuple[np.ndarray, np.ndarray]:
        """(S, max length) values and mask: each whole series, right-aligned (statistical models)."""
        return left_pad(self.series, None)


def long_panel(table, seq_len: int, pred_len: int, freq: str) -> SeriesPanel:
    """The forecast's input for every series of a long table (``data_provider.long_data.LongTable``):
    its last ``seq_len`` values and dates, and the ``pred_len`` dates after its own last date at
    its own step (:func:`data_step`: inferred, or ``--freq`` for irregular dates).

    Raises DataError naming the series when it is shorter than ``seq_len`` or its step is unknown.
    """
    history, future = [], []
    for name, dates, values in zip(table.ids, table.dates, table.values):
        where = f"{table.path} (series '{name}')"
        if len(values) < seq_len:
            raise DataError(f"{where}: {len(values)} rows, fewer than --seq_len {seq_len} needed as "
                            "the input of its forecast")
        step, _ = data_step(dates, freq, where)
        history.append(dates[len(dates) - seq_len:])
        future.append(future_dates(dates[-1], step, pred_len))
    return SeriesPanel(list(table.ids), list(table.values), seq_len, history, future)


def panel_inputs(panel: SeriesPanel, scaler, label_len: int, timeenc: int, freq: str,
                 minute_step: int | None):
    """The four model tensors for the forecast after every series' last date (a long table).

    ``scaler``: per-series ``mean_`` / ``scale_`` (S,), each series' own training scaler.

    Returns:
        x_enc (S, seq_len, 1), x_mark_enc (S, seq_len, F), x_dec (S, label_len + pred_len, 1),
        x_mark_dec (S, label_len + pred_len, F), float32; the decoder input is the last
        ``label_len`` scaled values then zeros, as for every test window.
    """
    L = panel.seq_len
    last = np.stack([np.asarray(v[len(v) - L:], dtype=np.float64) for v in panel.series])  # (S, L)
    x = ((last - scaler.mean_[:, None]) / scaler.scale_[:, None]).astype(np.float32)[:, :, None]
    x_mark = np.stack([time_marks(d, timeenc, freq, minute_step) for d in panel.history_dates])
    y_mark = np.stack([time_marks(d[L - label_len:].append(f), timeenc, freq, minute_step)
                       for d, f in zip(panel.history_dates, panel.future)])
    x = torch.from_numpy(np.ascontiguousarray(x))
    zeros = torch.zeros(len(x), len(panel.future[0]), 1)
    x_dec = torch.cat([x[:, L - label_len:], zeros], dim=1)
    return x, torch.from_numpy(x_mark), x_dec, torch.from_numpy(y_mark)


def panel_table(panel: SeriesPanel, pred: np.ndarray) -> pd.DataFrame:
    """(S, H) forecasts -> long table, S * H rows in series order: ``unique_id, ds, y_hat`` with
    each series' future dates (a long table), or ``unique_id, step, y_hat`` (step 1 = right after
    the last value) when the panel has no dates (M4)."""
    s, h = pred.shape
    when = ({"ds": panel.future[0].append(list(panel.future[1:]))} if panel.future is not None
            else {"step": np.tile(np.arange(1, h + 1), s)})  # append keeps the dates' zone
    return pd.DataFrame({"unique_id": np.repeat(np.asarray(panel.ids, dtype=object), h), **when,
                         "y_hat": np.asarray(pred, dtype=np.float64).reshape(-1)})


def write_panel_forecast(folder, title: str, panel: SeriesPanel, table: pd.DataFrame,
                         n_series: int = 4) -> None:
    """``forecast.csv`` (the long table, atomically) and ``forecast_future.png`` (a few series)."""
    atomic_write_text(table.to_csv(index=False), folder / "forecast.csv")
    h = len(table) // max(len(panel.ids), 1)
    shown = np.linspace(0, len(panel.ids) - 1, min(n_series, len(panel.ids))).astype(int)
    plot_panel_future(folder / "forecast_future.png", title,
                      [(panel.ids[i], panel.series[i][-panel.seq_len:],
                        table["y_hat"].to_numpy()[i * h:(i + 1) * h]) for i in shown])
