"""Progress bars for training and evaluation passes: shown by the main process only.

On a terminal the bar refreshes twice a second; in a log file (stderr not a TTY) every 30 s, so a
background run's log stays readable and still shows windows/s and the time left.
"""
from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(accelerator, desc: str, total: int | None = None, unit: str = "it", iterable=None):
    """A tqdm bar over ``iterable`` (or updated by hand up to ``total``), quiet on other ranks."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                disable=not accelerator.is_main_process,
                mininterval=0.5 if sys.stderr.isatty() else 30)
