"""Time-LLM's mapping layer (docs/REFERENCE.md 3.6), computed exactly with two GEMMs per training step.

The reference applies ``nn.Linear(V, M)`` to the transposed word-embedding table ``E`` (V, D) and
transposes back: ``prototypes = (E^T W^T + b)^T = W E + b[:, None]``, (M, D). The table is frozen,
so the only gradients are ``dW = G E^T`` and ``db = G 1`` for the incoming gradient ``G`` (M, D).
Autograd's ``nn.Linear`` gets there too, but through a generic addmm backward whose weight-gradient
GEMM has the slowest memory layout of the ones measured (``bench/bench_timellm.py --layouts``).

:class:`MappingLayer` computes the same numbers with a hand-written forward (one GEMM) and
backward (one GEMM for ``dW``, a row sum for ``db``, nothing for the frozen table) and keeps its
weight in the layout that makes both GEMMs and the fused Adam update fastest:

- ``layout="vm"`` (default): the weight is stored as ``W^T`` (V, M), contiguous. The weight
  gradient ``E G^T`` is then produced directly in that layout, which is the faster of the two
  orientations of this GEMM with MKL on the measured CPU, and Adam updates one contiguous tensor.
- ``layout="mv"``: the reference's (M, V) storage, same forward/backward.

Either way ``state_dict()`` holds ``weight`` as the reference's (M, V) tensor and
``load_state_dict`` accepts it, so checkpoints move between this layer and ``nn.Linear`` with
``strict=True``. The parameter itself (``self.weight``, what optimisers see) has the stored shape.

Results equal ``nn.Linear`` up to float rounding (the GEMM's summation order); tests check 1e-5.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.profiler import record_function

from layers.fast.stamp import Stamp

LAYOUTS = ("vm", "mv")


class _Mapping(torch.autograd.Function):
    """prototypes (M, D) = W @ E + b[:, None] from the stored weight (see :class:`MappingLayer`)."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, bias: torch.Tensor, table: torch.Tensor,
                transposed: bool, layer: "MappingLayer | None" = None) -> torch.Tensor:
        w = weight.t() if transposed else weight          # (M, V) view either way
        ctx.transposed = transposed
        ctx.layer = layer if layer is not None and weight is layer.weight else None
        ctx.save_for_backward(weight, table)
        return torch.addmm(bias.unsqueeze(1), w, table)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        weight, table = ctx.saved_tensors
        with record_function("timellm.mapping.backward"):
            d_weight = d_bias = d_table = None
            if ctx.needs_input_grad[0]:
                # dW = G E^T, written straight into the stored layout (no transpose copy)
                out = ctx.layer._gradient_buffer() if ctx.layer is not None else None
                if ctx.transposed:
                    d_weight = torch.mm(table, grad.t(), out=out) if out is not None else table.mm(grad.t())
                else:
                    d_weight = torch.mm(grad, table.t(), out=out) if out is not None else grad.mm(table.t())
            if ctx.needs_input_grad[1]:
                d_bias = grad.sum(dim=1)
            if ctx.needs_input_grad[2]:  # only if someone unfroze the embedding table
                d_table = weight.mm(grad) if ctx.transposed else weight.t().mm(grad)
        return d_weight, d_bias, d_table, None, None


def _storage_users(t: torch.Tensor) -> int | None:
    """How many tensors hold ``t``'s storage (None if torch cannot tell)."""
    try:
        return torch._C._storage_Use_Count(t.untyped_storage()._cdata) - 1  # minus the temporary
    except (AttributeError, RuntimeError):
        return None


class MappingLayer(nn.Module):
    """Drop-in for ``nn.Linear(in_features=V, out_features=M)`` used as Time-LLM's mapping layer.

    ``prototypes(table (V, D)) -> (M, D)`` is the fast exact path. ``forward(x (..., V)) ->
    (..., M)`` keeps ``nn.Linear``'s meaning for anything else. Initialisation draws the same
    random numbers as ``nn.Linear(V, M)`` (same values for the same seed). Under autocast the
    GEMMs run in the autocast dtype, like ``nn.Linear`` would.
    """

    def __init__(self, in_features: int, out_features: int, layout: str = "vm",
                 device=None, dtype=None):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.in_features, self.out_features, self.layout = in_features, out_features, layout
        reference = nn.Linear(in_features, out_features, device=device, dtype=dtype)  # same RNG draws
        weight = reference.weight.detach()
        self.weight = nn.Parameter(weight.t().contiguous() if layout == "vm" else weight)
        self.bias = nn.Parameter(reference.bias.detach())
        del reference, weight
        self._table_cache: tuple[Stamp, torch.Tensor] | None = None
        self._grad_buffer: torch.Tensor | None = None
        self.register_state_dict_post_hook(_weight_to_reference)
        self.register_load_state_dict_pre_hook(_weight_from_reference)

    @property
    def transposed(self) -> bool:
        return self.layout == "vm"

    def weight_mv(self) -> torch.Tensor:
        """The weight as the reference's (M, V) tensor (a view, no copy)."""
        return self.weight.t() if self.transposed else self.weight

    def reset_parameters(self) -> None:
        """``nn.Linear``'s initialisation (kaiming-uniform weight, fan-in uniform bias)."""
        with torch.no_grad():
            w = torch.empty(self.out_features, self.in_features, dtype=self.weight.dtype,
                            device=self.weight.device)
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
            self.weight.copy_(w.t() if self.transposed else w)
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight_mv(), self.bias)

    def train(self, mode: bool = True):
        if not mode:
            self._grad_buffer = None  # evaluation keeps no gradient memory
        return super().train(mode)

    def _gradient_buffer(self) -> torch.Tensor | None:
        """Memory for this step's weight gradient: the previous step's, when nothing holds it.

        A fresh (V, M) gradient every step costs page faults (about 40 ms for 197 MB on the
        measured CPU). The trainer's ``zero_grad(set_to_none=True)`` drops ``weight.grad``; the
        layer keeps the storage and writes the next gradient into it, as a new tensor that
        autograd adopts as ``weight.grad``. Reused only when the weight has no gradient (no
        accumulation) and no other tensor holds the storage (nobody kept the last gradient);
        otherwise a fresh buffer is made. Same values either way.
        """
        weight = self.weight
        if weight.grad is not None:
            return None  # accumulating: autograd adds a fresh gradient to the existing one
        buffer = self._grad_buffer
        if (buffer is None or buffer.shape != weight.shape or buffer.dtype != weight.dtype
                or buffer.device != weight.device or _storage_users(buffer) != 1):
            if _storage_users(weight) is None:
                return None  # cannot check who holds a buffer: never reuse one
            buffer = torch.empty_like(weight, memory_format=torch.contiguous_format)
            self._grad_buffer = buffer
        return buffer.view_as(buffer)

    def prototypes(self, table: torch.Tensor) -> torch.Tensor:
        """(V, D) frozen table -> (M, D) = ``nn.Linear(V, M)(table.T).T``."""
        weight, bias = self.weight, self.bias
        device = table.device.type
        if torch.is_autocast_enabled(device):
            dtype = torch.get_autocast_dtype(device)
            table = self._table_as(table, dtype)
            with torch.autocast(device, enabled=False):
                return _Mapping.apply(weight.to(dtype), bias.to(dtype), table, self.transposed)
        return _Mapping.apply(weight, bias, self._table_as(table, weight.dtype), self.transposed,
                              self)

    def _table_as(self, table: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The frozen table in ``dtype``; a converted copy is kept while the table is unchanged."""
        if table.dtype == dtype or table.requires_grad:
            return table.to(dtype)
        stamp = Stamp([table], dtype)
        if self._table_cache is None or stamp.stale(self._table_cache[0]):
            self._table_cache = (stamp, table.detach().to(dtype))
        return self._table_cache[1]

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"layout={self.layout}")


def _weight_to_reference(module: MappingLayer, state: dict, prefix: str, local_metadata) -> None:
    key = prefix + "weight"
    if module.transposed and key in state:
        state[key] = state[key].detach().t()  # (M, V) view of the stored (V, M) weight


def _weight_from_reference(module: MappingLayer, state: dict, prefix: str, local_metadata,
                           strict, missing_keys, unexpected_keys, error_msgs) -> None:
    key = prefix + "weight"
    if not module.transposed or key not in state:
        return
    weight = state[key]
    if tuple(weight.shape) == (module.out_features, module.in_features):
        state[key] = weight.t()  # copied into the stored (V, M) layout by load_state_dict
