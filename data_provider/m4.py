"""M4 competition data: loading of the official CSV files (the pattern table, with horizon,
seasonality, history size and file names, is ``data_provider.datasets.M4_PATTERNS``).

Files (as in github.com/Mcompetitions/M4-methods, ``Dataset/Train`` and ``Dataset/Test``), under
the M4 root folder (``dataset/m4`` by default):

- ``<Pattern>-train.csv``: first column the series id (``H1``, ``Y17``, ...), then ``V2..Vn``;
  rows are ragged, padded with empty cells on the right.
- ``<Pattern>-test.csv``: the same ids in the same order, then exactly ``horizon`` values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_provider.datasets import M4Pattern, m4_pattern
from data_provider.fetch import setup_command
from utils.errors import DataError


def m4_lengths(pattern: str) -> tuple[int, int, int]:
    """(seq_len, label_len, pred_len) = (2H, H, H) for an M4 pattern, as the reference sets them."""
    h = m4_pattern(pattern).horizon
    return 2 * h, h, h


def m4_file(root: str | os.PathLike, pattern: str, split: str) -> str:
    """Path of ``<root>/<Pattern>-<split>.csv`` with split 'train' or 'test'."""
    info = m4_pattern(pattern)
    return os.path.join(os.fspath(root), info.train_file if split == "train" else info.test_file)


def _missing(path: str, pattern: str) -> DataError:
    return DataError(f"M4 file {path} not found; install it with: {setup_command('m4-' + pattern)} "
                     "(or drop --mirror to download it), or point --root_path at the M4 folder")


def read_m4_csv(path: str, pattern: str = "", chunk_cells: int = 4_000_000
                ) -> tuple[list[str], list[np.ndarray]]:
    """Read one official M4 CSV.

    Returns:
        ids: the first column as strings, one per row.
        values: one float64 array per row with the empty (NaN) padding cells dropped.
    Large files are read in chunks of about ``chunk_cells`` cells so the padded table never
    sits in memory whole (Monthly-train is 48,000 x 2,794 cells).
    """
    if not os.path.isfile(path):
        raise _missing(path, pattern)
    try:
        header = pd.read_csv(path, nrows=0).columns
        if len(header) < 2:
            raise DataError(f"{path}: expected an id column and value columns, found {len(header)} column(s)")
        dtypes = {c: np.float64 for c in header[1:]}
        dtypes[header[0]] = str
        rows = max(64, chunk_cells // len(header))
        ids: list[str] = []
        values: list[np.ndarray] = []
        for chunk in pd.read_csv(path, dtype=dtypes, chunksize=rows):
            ids.extend(chunk.iloc[:, 0].astype(str).tolist())
            block = chunk.iloc[:, 1:].to_numpy(dtype=np.float64)
            values.extend(row[~np.isnan(row)] for row in block)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: not a valid M4 CSV ({msg})") from None
    return ids, values


@dataclass
class M4Data:
    """One pattern's series: ``train`` values (ragged, 1-D each) and ``test`` (S, H) or None."""

    pattern: M4Pattern
    ids: list[str]
    train: list[np.ndarray]
    test: np.ndarray | None


def load_m4(root: str | os.PathLike, pattern: str, with_test: bool = True) -> M4Data:
    """Load ``<Pattern>-train.csv`` (and ``-test.csv`` when ``with_test``) and check them.

    Checks: every training series has at least 2 points, the test file has the same ids in the
    same order and exactly H values per row.
    """
    info = m4_pattern(pattern)
    train_path = m4_file(root, pattern, "train")
    ids, train = read_m4_csv(train_path, pattern)
    if not ids:
        raise DataError(f"{train_path}: no series")
    short = [i for i, v in zip(ids, train) if len(v) < 2]
    if short:
        raise DataError(f"{train_path}: {len(short)} series have fewer than 2 values (e.g. {short[0]})")
    test = None
    if with_test:
        test_path = m4_file(root, pattern, "test")
        test_ids, test_rows = read_m4_csv(test_path, pattern)
        if test_ids != ids:
            raise DataError(f"{test_path}: its series ids do not match {train_path} "
                            f"({len(test_ids)} vs {len(ids)} series)")
        bad = [i for i, v in zip(ids, test_rows) if len(v) != info.horizon]
        if bad:
            raise DataError(f"{test_path}: {len(bad)} rows do not have exactly {info.horizon} values "
                            f"(e.g. {bad[0]})")
        test = np.stack(test_rows).astype(np.float64)
    return M4Data(info, ids, train, test)


def load_naive2(root: str | os.PathLike, pattern: str, ids: list[str]) -> np.ndarray | None:
    """The official Naive2 forecasts ``<root>/submission-Naive2-<Pattern>.csv`` (``id,F1..FH``)
    as an (S, H) array in the order of ``ids``, or None when the file is absent."""
    info = m4_pattern(pattern)
    path = os.path.join(os.fspath(root), info.naive2_file)
    if not os.path.isfile(path):
        return None
    file_ids, rows = read_m4_csv(path, pattern)
    by_id = dict(zip(file_ids, rows))
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise DataError(f"{path}: no forecast for {len(missing)} series (e.g. {missing[0]})")
    bad = [i for i in ids if len(by_id[i]) != info.horizon]
    if bad:
        raise DataError(f"{path}: {len(bad)} rows do not have exactly {info.horizon} values (e.g. {bad[0]})")
    return np.stack([by_id[i] for i in ids]).astype(np.float64)


def left_pad(series: list[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Right-align each series' last ``length`` points in a zero-padded matrix.

    Args:
        series: S 1-D arrays of any lengths.
        length: window length; None uses the longest series.
    Returns:
        values (S, length) float32 and mask (S, length) float32 (1 where a value is present).
    """
    if length is None:
        length = max(len(s) for s in series)
    values = np.zeros((len(series), length), dtype=np.float32)
    mask = np.zeros((len(series), length), dtype=np.float32)
    for i, s in enumerate(series):
        tail = s[-length:] if length > 0 else s[:0]
        if len(tail):
            values[i, -len(tail):] = tail
            mask[i, -len(tail):] = 1.0
    return values, mask
