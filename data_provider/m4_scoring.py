"""M4 scores: sMAPE, MASE and OWA per seasonal pattern and per M4 group.

Conventions (docs/REFERENCE.md section 2, the M4 organisers' definitions):

- the per-series sMAPE and MASE are :mod:`utils.m4_summary`'s formulas, MASE scaled with the
  pattern's seasonality ``m`` from the M4 table (:data:`data_provider.datasets.M4_PATTERNS`);
- a pattern's or group's sMAPE / MASE is the mean over its series (so a group is the
  count-weighted mean of its patterns). OWA = (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2
  is formed from those aggregates, never per series;
- groups (:data:`data_provider.datasets.M4_GROUPS`): Yearly, Quarterly, Monthly, Others
  (Weekly + Daily + Hourly) and Average (every series present). A group is reported when at
  least one of its patterns is present.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from data_provider.datasets import M4_GROUPS, M4_PATTERNS, canonical_pattern
from data_provider.naive2 import naive2_forecast
from utils.m4_summary import mase_per_series, smape_per_series

# Official Naive2 scores on the full M4 test set (M4 competition results, as quoted by the
# N-BEATS paper, Table 1 / its appendix) for comparison in reports. Only Hourly is checked
# against mirrored data here (tests/test_m4_scoring.py).
NAIVE2_OFFICIAL: dict[str, dict[str, float]] = {
    "Yearly": {"smape": 16.342, "mase": 3.974},
    "Quarterly": {"smape": 11.011, "mase": 1.371},
    "Monthly": {"smape": 14.427, "mase": 1.063},
    "Others": {"smape": 4.754, "mase": 3.281},
    "Average": {"smape": 13.564, "mase": 1.912},
    "Hourly": {"smape": 18.383, "mase": 2.395},
}


def _aggregate(smape: np.ndarray, mase: np.ndarray, n2_smape: np.ndarray,
               n2_mase: np.ndarray) -> dict[str, float]:
    s, ms, ns, nm = (float(np.mean(a)) for a in (smape, mase, n2_smape, n2_mase))
    return {
        "smape": s, "mase": ms, "owa": (s / ns + ms / nm) / 2,
        "naive2_smape": ns, "naive2_mase": nm, "count": int(smape.size),
    }


def m4_scores(forecasts: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray],
              histories: Mapping[str, Sequence[np.ndarray]],
              naive2: Mapping[str, np.ndarray | None] | None = None) -> dict:
    """Score M4 forecasts per pattern and per group.

    Args:
        forecasts: pattern -> (S, H) forecasts (pattern names are case-insensitive).
        targets: pattern -> (S, H) test values.
        histories: pattern -> S 1-D training series (for the MASE scale and Naive2).
        naive2: pattern -> (S, H) Naive2 forecasts (e.g. the official file); a missing
            pattern or ``None`` computes them with :func:`data_provider.naive2.naive2_forecast`.

    Returns:
        ``{name: entry}`` for every pattern present (e.g. ``"Hourly"``) and every group with a
        pattern present (``"Yearly"``, ``"Quarterly"``, ``"Monthly"`` - the same as the
        pattern -, ``"Others"``, ``"Average"``), in that order; every entry holds ``smape``,
        ``mase``, ``owa``, ``naive2_smape``, ``naive2_mase`` and ``count`` (series).
    """
    naive2 = naive2 or {}
    naive2 = {canonical_pattern(k): v for k, v in naive2.items()}
    targets = {canonical_pattern(k): v for k, v in targets.items()}
    histories = {canonical_pattern(k): v for k, v in histories.items()}
    per_series: dict[str, tuple[np.ndarray, ...]] = {}
    for key, fc in forecasts.items():
        p = canonical_pattern(key)
        if p not in targets or p not in histories:
            raise ValueError(f"pattern {p}: forecasts given without targets or histories")
        m = M4_PATTERNS[p].seasonality
        y = np.asarray(targets[p], dtype=np.float64)
        hist = [np.asarray(h, dtype=np.float64).reshape(-1) for h in histories[p]]
        n2 = naive2.get(p)
        if n2 is None:
            n2 = np.stack([naive2_forecast(h, y.shape[1], m) for h in hist])
        per_series[p] = (
            smape_per_series(fc, y), mase_per_series(fc, y, hist, m),
            smape_per_series(n2, y), mase_per_series(n2, y, hist, m),
        )
    scores = {p: _aggregate(*per_series[p]) for p in M4_PATTERNS if p in per_series}
    for g, members in M4_GROUPS.items():
        present = [p for p in members if p in per_series]
        if present:
            scores[g] = _aggregate(*(np.concatenate([per_series[p][i] for p in present])
                                     for i in range(4)))
    return scores
