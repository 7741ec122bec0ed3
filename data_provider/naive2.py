"""Naive2, the official M4 benchmark (a naive forecast of the seasonally adjusted series), in numpy.

The definition is the M4 organisers' R code (``Benchmarks and Evaluation.R`` in M4-methods),
which produced the official ``submission-Naive2`` forecasts; this implementation reproduces
that file on all 414 M4 Hourly series to its 10 printed digits (max relative difference
5e-10, absolute 5e-5; see ``tests/test_naive.py``). Step by step, for a series
``x`` of length ``n`` and seasonality ``m``:

1. Seasonality test (R ``SeasonalityTest``), only when ``m > 1``: the series is seasonal when
   ``n >= 3m``, R's default ``acf`` reaches lag ``m`` (``lag.max = floor(10 log10 n)``, capped
   at ``n - 1``; shorter series give ``NA`` there, which R treats as not seasonal) and
   ``|acf_m| > 1.645 * sqrt((1 + 2 * sum_{k=1}^{m-1} acf_k^2) / n)`` with
   ``acf_k = sum_t (x_t - mean)(x_{t+k} - mean) / sum_t (x_t - mean)^2``.
2. Classical multiplicative decomposition (R ``decompose``): trend = centred moving average,
   weights ``1/m`` (odd ``m``) or ``(0.5, 1, ..., 1, 0.5)/m`` (even ``m``, the 2 x m average);
   ratios ``x / trend`` averaged by position ``t mod m`` counted from the series' first point
   (ignoring the ends where the trend is undefined); indices normalised to mean 1.
3. Naive forecast of ``x / index`` (its last value), multiplied by the indices that continue
   the series' phase (R: the last ``m`` values of ``decompose()$seasonal`` repeated).

Non-seasonal series (or ``m == 1``) get the plain naive forecast. Guard added here (not in R,
never triggered on M4): if the decomposition yields a non-finite or zero index, e.g. a moving
average of zero on non-positive data, the series is treated as non-seasonal.

It is the yardstick of the M4 scores (:mod:`data_provider.m4_scoring`) and, behind the model
contract, ``--model Naive2`` (:mod:`models.Naive2`).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

_TCRIT = 1.645  # one-sided 90% normal quantile, as in the M4 R code


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations of the rows of ``x`` (N, n) at lags 1..max_lag -> (N, max_lag).

    R's ``acf`` definition: biased covariance over the full-series variance. Constant rows
    give NaN (as in R).
    """
    xc = x - x.mean(axis=1, keepdims=True)
    denom = np.einsum("ij,ij->i", xc, xc)
    out = np.empty((x.shape[0], max_lag))
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(1, max_lag + 1):
            out[:, k - 1] = np.einsum("ij,ij->i", xc[:, k:], xc[:, :-k]) / denom
    return out


def seasonality_test(x: np.ndarray, m: int) -> np.ndarray:
    """M4 90% seasonality test at lag ``m`` for the rows of ``x`` (N, n) -> bool (N,).

    A 1-D ``x`` is treated as one row and gives a 0-d bool array.
    """
    x = np.asarray(x, dtype=np.float64)
    rows = np.atleast_2d(x)
    n = rows.shape[1]
    lag_max = min(int(math.floor(10 * math.log10(n))) if n > 0 else 0, n - 1)
    if m <= 1 or n < 3 * m or lag_max < m:
        result = np.zeros(rows.shape[0], dtype=bool)
    else:
        acf = _acf(rows, m)
        limit = _TCRIT / math.sqrt(n) * np.sqrt(1 + 2 * np.sum(acf[:, : m - 1] ** 2, axis=1))
        with np.errstate(invalid="ignore"):
            result = np.abs(acf[:, m - 1]) > limit  # NaN compares False, as R's NA -> FALSE
    return result if x.ndim == 2 else result[0]


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """Multiplicative seasonal indices (R ``decompose(type="multiplicative")$figure``).

    ``x`` (N, n) with ``n >= 2m`` -> (N, m); index ``j`` belongs to positions ``t`` with
    ``t mod m == j`` (0-based, counted from each row's first point); each row has mean 1.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[1]
    if m % 2 == 0:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        weights = np.ones(m) / m
    half = len(weights) // 2
    # Centred moving average, defined on positions half .. n-1-half (the symmetric filter
    # makes R's filter(sides = 2) alignment unambiguous).
    windows = np.lib.stride_tricks.sliding_window_view(x, len(weights), axis=1)
    trend = windows @ weights  # (N, n - 2*half)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = x[:, half : n - half] / trend
    positions = np.arange(half, n - half) % m
    figure = np.empty((x.shape[0], m))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN positions stay NaN
        for j in range(m):
            figure[:, j] = np.nanmean(ratio[:, positions == j], axis=1)  # R: na.rm = TRUE
        return figure / figure.mean(axis=1, keepdims=True)


def naive2_forecast_batch(x: np.ndarray, h: int, m: int) -> np.ndarray:
    """Naive2 forecasts for equal-length series: ``x`` (N, n) -> (N, h)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"naive2_forecast_batch expects a non-empty (N, n) array, got {x.shape}")
    n = x.shape[1]
    out = np.repeat(x[:, -1:], h, axis=1)  # plain naive for the non-seasonal rows
    if m <= 1:
        return out
    seasonal = seasonality_test(x, m)
    if not seasonal.any():
        return out
    rows = np.flatnonzero(seasonal)
    figure = seasonal_indices(x[rows], m)
    ok = np.all(np.isfinite(figure) & (figure != 0), axis=1)
    rows, figure = rows[ok], figure[ok]
    last_deseasonalised = x[rows, -1] / figure[:, (n - 1) % m]
    future_phase = (n + np.arange(h)) % m
    out[rows] = last_deseasonalised[:, None] * figure[:, future_phase]
    return out


def naive2_forecast(series: np.ndarray, h: int, m: int) -> np.ndarray:
    """Official M4 Naive2 forecast of one series: ``series`` (n,) -> (h,)."""
    series = np.asarray(series, dtype=np.float64).reshape(-1)
    return naive2_forecast_batch(series[None, :], h, m)[0]
