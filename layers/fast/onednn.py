"""fp32 linear layers of the frozen backbone through oneDNN on the CPU (fast path only).

PyTorch's CPU ``F.linear`` calls MKL's sgemm. On the measured AMD EPYC (Zen 4) VM MKL reaches
~185 GFLOP/s on the backbone's shapes, while oneDNN (bundled with every x86 PyTorch build, and not
restricted to Intel code paths) reaches ~205-215 GFLOP/s on the same products (``bench/README.md``).
Both compute the same fp32 dot products; only the summation order inside a dot product differs,
so results agree to float rounding (~1e-6 relative).

The ops are oneDNN's linear primitive as ``torch.compile`` emits it for CPU linears
(``torch.ops.mkldnn._linear_pointwise``), with its fused epilogues where no gradient is recorded
(evaluation, and the no-grad prompt pass): a SiLU after the gate projection, the product with
the gate inside the up projection, and the residual addition inside the output and down
projections, which saves a pass over every (tokens, 1536) and (tokens, 576) tensor.

- :func:`linear` is ``module(x)``; with a gradient to record (the patch part in training) the
  input's gradient is the ordinary ``grad @ weight`` (the weights are frozen there).
- :func:`linear_add` is ``residual + module(x)``; :func:`gated_mlp` is ``residual +
  down(silu(gate(x)) * up(x))`` (LLaMA's MLP).

Each uses oneDNN only where it is exact and faster: fp32 CPU tensors, autocast off, a plain
``nn.Linear`` with no weight that trains under the current grad mode; anything else, any PyTorch
build without the ops, and a caller passing ``enabled=False`` (the lean runner's ``onednn``
option: benchmarks, A/B) computes the same expression with ordinary PyTorch ops.
:func:`available` probes the ops once against ``F.linear``.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from layers.fast.stamp import Stamp


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """Whether this build runs oneDNN's fp32 linear and its fused epilogues, agreeing with PyTorch."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        g = torch.Generator().manual_seed(0)
        x = torch.randn(5, 7, 24, generator=g)
        w = torch.randn(16, 24, generator=g) / 5
        b = torch.randn(16, generator=g)
        other = torch.randn(5, 7, 16, generator=g)
        expected = F.linear(x, w, b)
        checks = [(_onednn(x, w, b), expected),
                  (_onednn(x, w, b, "swish"), F.silu(expected)),
                  (_onednn_binary(x, other, w, b, "mul"), expected * other),
                  (_onednn_binary(x, other, w, b, "add"), expected + other)]
        return all(torch.allclose(got, want, rtol=1e-5, atol=1e-5) for got, want in checks)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
            post: str = "none") -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, post, [], "")


def _onednn_binary(x: torch.Tensor, other: torch.Tensor, weight: torch.Tensor,
                   bias: torch.Tensor | None, op: str) -> torch.Tensor:
    """``linear(x) <op> other`` in one primitive (op: "add" or "mul"; other has the output's shape)."""
    return torch.ops.mkldnn._linear_pointwise.binary(x, other.contiguous(), weight, bias, op)


class WeightPacks:
    """oneDNN's blocked copies of frozen linear weights, made once per weight, up to a byte budget.

    ``packs(module)`` is the tensor to hand to the op: the packed copy (the same values in the
    layout oneDNN's kernel reads, ~4% faster per product on the measured CPU, bit-identical
    results) or, beyond ``budget`` bytes of packed copies, the weight itself. A copy is remade
    when its weight changes (its :class:`~layers.fast.stamp.Stamp`).
    """

    def __init__(self, budget: int = 512 * 2**20):
        self.budget = budget
        self._packs: dict[tuple, tuple[Stamp, torch.Tensor, int]] = {}  # stamp, packed, bytes
        self._bytes = 0

    def __getstate__(self) -> dict:
        """Copies and pickles carry no packed tensor (oneDNN's opaque layout has no storage to
        save): the packs are a cache, remade on first use."""
        return {"budget": self.budget, "_packs": {}, "_bytes": 0}

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed copies (those of the weights they copy)."""
        return self._bytes

    def __call__(self, module: nn.Linear, transposed: bool = False) -> torch.Tensor:
        """The weight (out, in) for the op, packed when possible; ``transposed``: its transpose
        (in, out), which a backward pass multiplies the incoming gradient with."""
        weight = module.weight
        stamp = Stamp([weight])
        key = (id(module), transposed)
        entry = self._packs.get(key)
        if entry is not None and not stamp.stale(entry[0]):
            return entry[1]
        if entry is not None:  # stale: its weight changed
            del self._packs[key]
            self._bytes -= entry[2]
        size = weight.numel() * weight.element_size()
        plain = weight.detach().t().contiguous() if transposed else weight.detach()
        if self._bytes + size > self.budget:
            return plain
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(plain)
        except (AttributeError, RuntimeError):
            return plain
        self._packs[key] = (stamp, packed, size)
        self._bytes += size
        return packed


def _weight(module: nn.Linear, packs: WeightPacks | None) -> torch.Tensor:
    return packs(module) if packs is not None else module.weight


class _FrozenLinear(torch.autograd.Function):
    """oneDNN forward; backward gives the input's gradient only (weight and bias are frozen),
    ``grad @ weight``, also through oneDNN (with the transposed weight, packed when possible)."""

    @staticmethod
    def forward(ctx, x, module, packs):
        ctx.module, ctx.packs = module, packs
        return _onednn(x, _weight(module, packs), module.bias)

    @staticmethod
    def backward(ctx, grad):
        module, packs = ctx.module, ctx.packs
        if packs is None:
            return grad.matmul(module.weight), None, None
        return _onednn(grad.contiguous(), packs(module, transposed=True), None), None, None


def eligible(x: torch.Tensor, *modules: nn.Module, enabled: bool = True) -> bool:
    """Whether oneDNN may compute ``modules`` on ``x`` under the current grad and autocast modes
    (never when not ``enabled``)."""
    if not enabled or x.device.type != "cpu" or x.dtype != torch.float32:
        return False
    if torch.is_autocast_enabled("cpu"):
        return False
    for module in modules:
        if type(module) is not nn.Linear or module.weight.dtype != torch.float32:
            return False
        if torch.is_grad_enabled() and any(p.requires_grad for p in module.parameters()):
            return False
    return available()


def _records_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def linear(module: nn.Linear, x: torch.Tensor, packs: WeightPacks | None = None,
           enabled: bool = True) -> torch.Tensor:
    """``module(x)`` (x (..., in) -> (..., out)); oneDNN where :func:`eligible`."""
    if not eligible(x, module, enabled=enabled):
        return module(x)
    if _records_grad(x):
        return _FrozenLinear.apply(x, module, packs)
    return _onednn(x, _weight(module, packs), module.bias)


def linear_add(module: nn.Linear, x: torch.Tensor, residual: torch.Tensor,
               packs: WeightPacks | None = None, enabled: bool = True) -> torch.Tensor:
    """``residual + module(x)``; one fused primitive when no gradient is recorded."""
    if (_records_grad(x, residual) or not eligible(x, module, enabled=enabled)
            or residual.dtype != x.dtype):
        return residual + linear(module, x, packs, enabled)
    return _onednn_binary(x, residual, _weight(module, packs), module.bias, "add")


def gated_mlp(mlp: nn.Module, x: torch.Tensor, residual: torch.Tensor,
              packs: WeightPacks | None = None, enabled: bool = True) -> torch.Tensor:
    """``residual + down(act(gate(x)) * up(x))`` (a LLaMA MLP with its ``act_fn``).

    With SiLU and no gradient recorded: three fused primitives (gate + SiLU, up * gate,
    down + residual) instead of three products and three element-wise passes.
    """
    gate, up, down = mlp.gate_proj, mlp.up_proj, mlp.down_proj
    act = mlp.act_fn
    silu = isinstance(act, nn.SiLU) or type(act).__name__ == "SiLUActivation"
    if (_records_grad(x, residual) or not silu or not eligible(x, gate, up, down, enabled=enabled)
            or residual.dtype != x.dtype):
        hidden = act(linear(gate, x, packs, enabled)) * linear(up, x, packs, enabled)
        return residual + linear(down, hidden, packs, enabled)
    gated = _onednn(x, _weight(gate, packs), gate.bias, "swish")
    gated = _onednn_binary(x, gated, _weight(up, packs), up.bias, "mul")
    return _onednn_binary(gated, residual, _weight(down, packs), down.bias, "add")
