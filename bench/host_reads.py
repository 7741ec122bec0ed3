"""Count the reads of tensor values to the host: each one waits for a GPU to finish (a sync).

:func:`count_host_reads` patches the ``torch.Tensor`` methods that copy values to Python or to
the host (``item``, ``tolist``, ``cpu``, ``__bool__``, ``__int__``, ``__float__``, ``__index__``)
and counts their calls per call site (``file:line`` of the caller) while the block runs. On a
CPU it shows where a GPU run would wait; :func:`cuda_syncs` counts the real synchronisations
on a GPU (PyTorch's sync debug mode warns at each one). Used by tests and ``bench.bench_gpu``.
"""
from __future__ import annotations

import sys
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import torch

READS = ("item", "tolist", "cpu", "__bool__", "__int__", "__float__", "__index__")
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def count_host_reads(project_only: bool = True):
    """Yields a ``Counter`` of ``"path:line method"`` -> calls, filled while the block runs.

    ``project_only``: count only calls made from this repository's files (not from torch,
    transformers or accelerate).
    """
    counts: Counter = Counter()
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def wrap(name, fn):
        def counted(self, *args, **kwargs):
            caller = sys._getframe(1)
            path = Path(caller.f_code.co_filename)
            if not project_only or ROOT in path.parents:
                where = path.relative_to(ROOT) if ROOT in path.parents else path
                counts[f"{where}:{caller.f_lineno} {name}"] += 1
            return fn(self, *args, **kwargs)
        return counted

    for name, fn in originals.items():
        setattr(torch.Tensor, name, wrap(name, fn))
    try:
        yield counts
    finally:
        for name, fn in originals.items():
            setattr(torch.Tensor, name, fn)


@contextmanager
def cuda_syncs():
    """Yields a list that receives one message per CUDA synchronisation made in the block."""
    seen: list[str] = []
    before = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield seen
        seen.extend(str(w.message) for w in caught if "synchroniz" in str(w.message))
    finally:
        torch.cuda.set_sync_debug_mode(before)
