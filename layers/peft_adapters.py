"""LoRA adapters on the frozen backbone, built with the ``peft`` library (``--peft lora``).

Only the adapter weights train; the backbone's base weights stay frozen and unchanged. Target
modules default per architecture (LLaMA ``q_proj,v_proj``; GPT-2 ``c_attn``; BERT
``query,value``; any other: the first of those sets, GPT-NeoX's ``query_key_value`` or Phi-3's
``qkv_proj`` that its linear layers have); a name that is not a linear layer of the backbone
is refused with one line that lists the valid names.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from utils.errors import ConfigError, unknown_name

DEFAULT_TARGETS: dict[str, tuple[str, ...]] = {
    "llama": ("q_proj", "v_proj"),
    "gpt2": ("c_attn",),
    "bert": ("query", "value"),
}
# the attention projections of architectures without an entry above, tried in this order
FALLBACK_TARGETS: tuple[tuple[str, ...], ...] = (
    ("q_proj", "v_proj"), ("query", "value"), ("c_attn",), ("query_key_value",), ("qkv_proj",))
PEFT_METHODS = ("none", "lora")


def linear_module_names(model: nn.Module) -> list[str]:
    """Leaf names of the layers LoRA can adapt (Linear, and GPT-2's Conv1D), sorted."""
    names = set()
    for full, module in model.named_modules():
        if isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D":
            names.add(full.rsplit(".", 1)[-1])
    return sorted(names)


def resolve_targets(model: nn.Module, family: str, requested: str | Iterable[str] | None) -> list[str]:
    """The target module names: the family's defaults, or the requested ones after checking them."""
    valid = linear_module_names(model)
    if requested is None or requested == "":
        if family in DEFAULT_TARGETS:
            return list(DEFAULT_TARGETS[family])
        for names in FALLBACK_TARGETS:
            if set(names) <= set(valid):
                return list(names)
        raise ConfigError(f"no default LoRA targets for a {family} backbone; pass "
                          f"--lora_target_modules from: {', '.join(valid)}")
    names = [n.strip() for n in (requested.split(",") if isinstance(requested, str) else requested)
             if n.strip()]
    bad = [n for n in names if n not in valid]
    if bad:
        raise ConfigError(f"--lora_target_modules {','.join(bad)} not in this {family} backbone; "
                          f"valid: {', '.join(valid)}")
    return names


def apply_peft(model: nn.Module, family: str, configs) -> nn.Module:
    """Wrap ``model`` with the adapters ``configs.peft`` asks for (or return it unchanged).

    Returns a ``peft.PeftModel`` whose forward takes the same keyword arguments as the backbone
    and whose ``save_pretrained`` writes the adapter in peft's format.
    """
    method = configs.peft or "none"
    if method not in PEFT_METHODS:
        raise unknown_name("peft method", method, PEFT_METHODS)
    if method == "none":
        return model
    from peft import LoraConfig, get_peft_model  # optional: only --peft lora needs it

    targets = resolve_targets(model, family, configs.lora_target_modules)
    config = LoraConfig(r=int(configs.lora_r), lora_alpha=float(configs.lora_alpha),
                        lora_dropout=float(configs.lora_dropout), target_modules=targets,
                        bias="none", fan_in_fan_out=_transposed(model, targets))
    wrapped = get_peft_model(model, config)
    for name, p in wrapped.named_parameters():
        p.requires_grad_("lora_" in name)
    return wrapped


def _transposed(model: nn.Module, targets: list[str]) -> bool:
    """Whether the targets store their weight as (in, out) (GPT-2's ``Conv1D``): peft's
    ``fan_in_fan_out``."""
    return any(type(m).__name__ == "Conv1D" for n, m in model.named_modules()
               if n.rsplit(".", 1)[-1] in targets)


def peft_identity(configs, model: nn.Module) -> dict:
    """What a checkpoint must match to load: the adapter method, rank and target modules."""
    config = model.peft_config["default"]
    return {"method": configs.peft, "r": int(config.r), "alpha": float(config.lora_alpha),
            "targets": sorted(config.target_modules)}


def has_trainable(model: nn.Module) -> bool:
    """Whether any parameter of ``model`` trains (adapters on the backbone)."""
    return any(p.requires_grad for p in model.parameters())


def base_weight_checksum(model: nn.Module) -> float:
    """A checksum over the frozen (non-adapter) weights: unchanged by training with adapters."""
    with torch.no_grad():
        return float(sum(p.double().abs().sum() for n, p in model.named_parameters() if "lora_" not in n))
