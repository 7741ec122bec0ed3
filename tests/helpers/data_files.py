"""Small files in the real datasets' layouts, written for the data tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ETT_COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
# weather.csv header of the Autoformer / Time-Series-Library bundle (21 indicators, OT last)
WEATHER_COLUMNS = [
    "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "VPact (mbar)",
    "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)",
    "wd (deg)", "rain (mm)", "raining (s)", "SWDR (W/m\u00b2)", "PAR (\u00b5mol/m\u00b2/s)",
    "max. PAR (\u00b5mol/m\u00b2/s)", "Tlog (degC)", "OT",
]


def write_table(path: Path, columns: list[str], n_rows: int, freq: str,
                start: str = "2016-07-01", seed: int = 0) -> pd.DataFrame:
    """A CSV ``date,<columns>`` with ``n_rows`` rows of random walks, dates 'YYYY-MM-DD HH:MM:SS'."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n_rows, len(columns))).cumsum(axis=0) + 10.0
    df = pd.DataFrame(values, columns=columns)
    dates = pd.date_range(start, periods=n_rows, freq=freq)
    df.insert(0, "date", dates.strftime("%Y-%m-%d %H:%M:%S"))
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def write_m4(root: Path, pattern: str, lengths: list[int], horizon: int, seed: int = 0
             ) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """``<Pattern>-train.csv`` / ``-test.csv`` in the official layout: quoted cells, an id
    column headed V1, ragged rows padded with empty cells. Returns (ids, train, test)."""
    rng = np.random.default_rng(seed)
    prefix = pattern[0]
    ids = [f"{prefix}{i + 1}" for i in range(len(lengths))]
    train = [np.round(rng.uniform(100, 1000, n), 2) for n in lengths]
    test = np.round(rng.uniform(100, 1000, (len(lengths), horizon)), 2)
    width = max(lengths)
    root.mkdir(parents=True, exist_ok=True)

    def header(n: int) -> str:
        return ",".join(f'"V{j}"' for j in range(1, n + 2))

    with open(root / f"{pattern}-train.csv", "w") as fh:
        fh.write(header(width) + "\n")
        for i, ts in zip(ids, train):
            cells = [f'"{i}"'] + [f'"{v:g}"' for v in ts] + [""] * (width - len(ts))
            fh.write(",".join(cells) + "\n")
    with open(root / f"{pattern}-test.csv", "w") as fh:
        fh.write(header(horizon) + "\n")
        for i, row in zip(ids, test):
            fh.write(",".join([f'"{i}"'] + [f'"{v:g}"' for v in row]) + "\n")
    return ids, train, test


def write_long_table(path: Path, series: list[tuple[str, int, str, str]], seed: int = 0
                     ) -> pd.DataFrame:
    """A long table ``unique_id,ds,y`` (neuralforecast's layout), one block of rows per series:
    ``series`` holds (id, rows, start date, step) each; values are random walks around levels
    far apart (100, 5, -40, ...), so a series forecast in another series' units shows."""
    rng = np.random.default_rng(seed)
    levels = [100.0, 5.0, -40.0, 1000.0, 0.5]
    blocks = []
    for k, (uid, n, start, freq) in enumerate(series):
        dates = pd.date_range(start, periods=n, freq=freq)
        y = levels[k % len(levels)] + rng.normal(size=n).cumsum() * (1 + k)
        blocks.append(pd.DataFrame({"unique_id": uid, "ds": dates.strftime("%Y-%m-%d %H:%M:%S"), "y": y}))
    df = pd.concat(blocks, ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df
