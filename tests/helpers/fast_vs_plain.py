"""A fast-path Time-LLM beside its plain twin (same seed, same weights): outputs and the
gradients of every trainable parameter, compared."""
from __future__ import annotations

import torch

from layers.fast.mapping import MappingLayer
from models.TimeLLM import Model
from tests.helpers.timellm import tiny_configs


def fast_and_plain(tiny_dirs, name="LLAMA", seed=0, **overrides) -> list[Model]:
    """[the ``--fast_path 1`` model, the ``--fast_path 0`` one], built from the same seed on the
    tiny backbone ``tiny_dirs[name]``."""
    models = []
    for fast in (1, 0):
        torch.manual_seed(seed)
        models.append(Model(tiny_configs(name, tiny_dirs[name], fast_path=fast, **overrides)))
    return models


def trainable_grads(model) -> dict[str, torch.Tensor]:
    """Trainable gradients by parameter name, in the reference's (state_dict) layout."""
    out = {}
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if p.requires_grad:
                g = p.grad
                if isinstance(module, MappingLayer) and name == "weight" and module.transposed:
                    g = g.t()
                out[f"{module_name}.{name}"] = g.clone()
    return out


def forward_backward(model, x, seed=0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(output, trainable gradients) of one forward and backward pass on ``x``."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)  # the same dropout masks on both paths
    y = model(x, None, None, None)
    (y.square().mean() + y.mean()).backward()
    return y.detach(), trainable_grads(model)


def assert_grads_close(g1, g0):
    """``g1`` equals ``g0`` (the 13 trainable tensors of Time-LLM) to 1e-5 relative."""
    assert set(g1) == set(g0) and len(g0) == 13
    scale = max(g.abs().max().item() for g in g0.values())
    for n in g0:
        # 1e-5 relative to the tensor's largest gradient; a gradient that is zero in exact
        # arithmetic (the key projection's bias: softmax ignores a shift shared by all keys) is
        # rounding noise on both paths, measured against 1% of the largest gradient instead
        error = (g1[n] - g0[n]).abs().max().item()
        assert error <= 1e-5 * max(g0[n].abs().max().item(), 1e-2 * scale), (n, error)


def assert_training_agrees(a, b, optimisers, batches) -> None:
    """A training step of ``a`` and of ``b`` (same weights) on each batch in turn, dropout on with
    the same masks: outputs equal to 1e-5 and gradients by :func:`assert_grads_close`; then each
    optimiser of ``optimisers`` steps, so the next batch also checks the updated weights."""
    for i, x in enumerate(batches):
        a.train(), b.train()
        y1, g1 = forward_backward(a, x, seed=i)
        y0, g0 = forward_backward(b, x, seed=i)
        assert torch.allclose(y1, y0, atol=1e-5, rtol=1e-5), (i, (y1 - y0).abs().max())
        assert_grads_close(g1, g0)
        for opt in optimisers:
            opt.step()
