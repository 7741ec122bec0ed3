"""Calendar features of a datetime index, for ``--embed timeF`` and the integer embeddings.

``time_features(dates, freq)`` matches Time-Series-Library's ``time_features``: one row per
feature, each a calendar field scaled to [-0.5, 0.5]; which fields depend on the frequency:

====== ================================================================================
freq   features (in this order)
====== ================================================================================
y      (none)
q, m   MonthOfYear
w      DayOfMonth, WeekOfYear
d, b   DayOfWeek, DayOfMonth, DayOfYear
h      HourOfDay, DayOfWeek, DayOfMonth, DayOfYear
t      MinuteOfHour, HourOfDay, DayOfWeek, DayOfMonth, DayOfYear
s      SecondOfMinute, MinuteOfHour, HourOfDay, DayOfWeek, DayOfMonth, DayOfYear
====== ================================================================================

A frequency may carry a multiple (``15min``, ``10t``, ``4h``); ``t`` and ``min`` both mean
minutes and a lone ``m`` means months, as in the reference's ``--freq`` help.

``calendar_integers(dates, minute_step)`` gives the integer columns of ``--embed fixed|learned``:
month, day, weekday, hour (and minute // minute_step when ``minute_step`` is given).

Both read zone-aware dates (text with UTC offsets, epoch numbers: ``parse_dates`` in
``data_provider/data_loader.py``) in UTC (:func:`calendar_index`), so a daylight-saving change
shifts no feature; naive dates are read as written.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from utils.errors import ConfigError

Feature = Callable[[pd.DatetimeIndex], np.ndarray]


def second_of_minute(index: pd.DatetimeIndex) -> np.ndarray:
    return index.second.to_numpy() / 59.0 - 0.5


def minute_of_hour(index: pd.DatetimeIndex) -> np.ndarray:
    return index.minute.to_numpy() / 59.0 - 0.5


def hour_of_day(index: pd.DatetimeIndex) -> np.ndarray:
    return index.hour.to_numpy() / 23.0 - 0.5


def day_of_week(index: pd.DatetimeIndex) -> np.ndarray:
    return index.dayofweek.to_numpy() / 6.0 - 0.5


def day_of_month(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.day.to_numpy() - 1) / 30.0 - 0.5


def day_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.dayofyear.to_numpy() - 1) / 365.0 - 0.5


def month_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.month.to_numpy() - 1) / 11.0 - 0.5


def week_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.isocalendar().week.to_numpy().astype(np.float64) - 1) / 52.0 - 0.5


_DAY = [day_of_week, day_of_month, day_of_year]

FEATURES_BY_FREQ: dict[str, list[Feature]] = {
    "y": [],
    "q": [month_of_year],
    "m": [month_of_year],
    "w": [day_of_month, week_of_year],
    "d": list(_DAY),
    "b": list(_DAY),
    "h": [hour_of_day, *_DAY],
    "t": [minute_of_hour, hour_of_day, *_DAY],
    "s": [second_of_minute, minute_of_hour, hour_of_day, *_DAY],
}

# unit spellings (lower-cased) -> canonical key of FEATURES_BY_FREQ
_UNIT_ALIASES = {
    "s": "s", "sec": "s", "second": "s", "seconds": "s",
    "t": "t", "min": "t", "minute": "t", "minutes": "t",
    "h": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "b": "b", "bd": "b",
    "w": "w", "week": "w", "weeks": "w",
    "m": "m", "me": "m", "month": "m", "months": "m",
    "q": "q", "qe": "q", "quarter": "q",
    "y": "y", "a": "y", "ye": "y", "year": "y",
}


def calendar_index(dates) -> pd.DatetimeIndex:
    """The dates whose calendar fields the features read, (T,): naive dates as they are,
    zone-aware dates converted to UTC (then naive)."""
    index = pd.DatetimeIndex(dates)
    return index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index


def normalize_freq(freq: str) -> str:
    """Map a frequency string (``'h'``, ``'15min'``, ``'10T'``, ``'W-SUN'``) to one key of
    ``FEATURES_BY_FREQ``; raise ConfigError for anything else."""
    m = re.fullmatch(r"\s*\d*\s*([A-Za-z]+)(?:-[A-Za-z]+)?\s*", str(freq))
    unit = m.group(1).lower() if m else None
    if unit not in _UNIT_ALIASES:
        raise ConfigError(f"unknown --freq '{freq}'; use one of s, t (or min), h, d, b, w, m, q, y, "
                          "optionally with a multiple such as 15min")
    return _UNIT_ALIASES[unit]


def n_time_features(freq: str) -> int:
    """Number of ``timeF`` features for ``freq`` (4 for ``h``, 5 for ``t``)."""
    return len(FEATURES_BY_FREQ[normalize_freq(freq)])


def time_features(dates, freq: str = "h") -> np.ndarray:
    """Normalised calendar features.

    Args:
        dates: anything ``pd.DatetimeIndex`` accepts, length T.
        freq: the data frequency (see module docstring).
    Returns:
        float array of shape (F, T), values in [-0.5, 0.5] (TSLib layout: features first).
    """
    index = calendar_index(dates)
    feats = FEATURES_BY_FREQ[normalize_freq(freq)]
    if not feats:
        return np.zeros((0, len(index)))
    return np.vstack([f(index).astype(np.float64) for f in feats])


def calendar_integers(dates, minute_step: int | None = None) -> np.ndarray:
    """Integer calendar columns for the fixed/learned temporal embeddings.

    Returns:
        int array of shape (T, 4): month (1-12), day (1-31), weekday (0 = Monday), hour (0-23),
        or (T, 5) with ``minute // minute_step`` appended when ``minute_step`` is given.
    """
    index = calendar_index(dates)
    cols = [index.month, index.day, index.dayofweek, index.hour]
    if minute_step is not None:
        cols.append(index.minute // minute_step)
    return np.stack([np.asarray(c, dtype=np.int64) for c in cols], axis=1)


def time_marks(dates, timeenc: int, freq: str, minute_step: int | None = None) -> np.ndarray:
    """The calendar marks every dataset and forecast feeds the models, (T, F) float32:
    :func:`time_features` for ``--embed timeF`` (``timeenc`` 1), else :func:`calendar_integers`."""
    stamp = time_features(dates, freq=freq).T if timeenc == 1 else calendar_integers(dates, minute_step)
    return np.ascontiguousarray(stamp, dtype=np.float32)
