"""When a cached value is stale: one stamp for every cache of the fast path.

A cache of the fast path keeps something computed from tensors (packed weights, gathered
projections, a converted table, prototype keys/values, prompt keys/values). It is valid while
each of those tensors is the same storage at the same version: ``data_ptr()`` changes when a
tensor is replaced (a reload into new storage, a device move), ``_version`` when it is edited in
place (an optimiser step, ``load_state_dict``'s copy, ``mul_``). :class:`Stamp` records both, plus
dtype, device and shape, and any other facts the value depends on (``extra``: the autocast state,
an option); a value is reused only under an equal stamp.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable

import torch


def autocast_key(device: torch.device) -> tuple:
    """The autocast state on ``device``'s type: part of the stamp of anything computed once."""
    kind = device.type
    if torch.is_autocast_enabled(kind):
        return (kind, torch.get_autocast_dtype(kind))
    return (kind, None)


def _tensor_key(t: torch.Tensor) -> tuple:
    return (t.data_ptr(), t._version, t.dtype, t.device, tuple(t.shape))


class Stamp:
    """What a cached value was computed from: its tensors' storage and version, and ``extra``.

    ``Stamp(tensors, *extra)``; ``None`` entries among ``tensors`` (an absent bias) are skipped.
    Stamps compare and hash by value, so they also serve as dictionary keys.
    """

    __slots__ = ("key",)

    def __init__(self, tensors: Iterable[torch.Tensor | None], *extra: Hashable):
        self.key = (tuple(_tensor_key(t) for t in tensors if t is not None), extra)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stamp) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Stamp({len(self.key[0])} tensors, extra={self.key[1]!r})"

    def stale(self, previous: Stamp | None) -> bool:
        """Whether a value stamped ``previous`` (None: nothing cached) must be recomputed now."""
        return previous != self
