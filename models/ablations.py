"""Time-LLM ablations (``--ablation``): which parts of the model a run keeps.

Each entry says what sits where the frozen LLM was (``llm``), whether the prompt is prepended
(``prompt``) and whether patches are reprogrammed onto text prototypes (``reprogramming``).
``models/TimeLLM.py`` builds the model from these fields; adding an ablation is adding a row.
Each one changes one part of Time-LLM and keeps the rest; ``docs/ABLATIONS.md`` gives their
sources and how they differ from the ablations of Tan et al. (NeurIPS 2024), which also drop
the prompt and the reprogramming.
"""
from __future__ import annotations

from dataclasses import dataclass

from utils.errors import unknown_name

LLM_KINDS = ("pretrained", "random", "attention_layer", "self_attention", "none")
BACKBONE_KINDS = ("pretrained", "random")  # the kinds that run the (frozen) backbone


@dataclass(frozen=True)
class Ablation:
    name: str
    llm: str            # one of LLM_KINDS
    prompt: bool
    reprogramming: bool
    summary: str

    @property
    def uses_backbone(self) -> bool:
        """Whether the backbone runs where the LLM sits (pretrained or random weights)."""
        return self.llm in BACKBONE_KINDS


ABLATIONS: dict[str, Ablation] = {a.name: a for a in (
    Ablation("none", "pretrained", True, True, "the full model"),
    Ablation("no_llm", "none", False, True,
             "no LLM: the first d_ff channels of the reprogrammed patches go straight to the head"),
    Ablation("attention_layer", "attention_layer", True, True,
             "one randomly initialised, trainable Transformer encoder layer of width llm_dim "
             "replaces the LLM (Tan et al.'s LLM2Trsf)"),
    Ablation("llm2attn", "self_attention", True, True,
             "one randomly initialised, trainable multi-head self-attention layer of width llm_dim "
             "and a final LayerNorm (no feed-forward or residual) replaces the LLM (Tan et al.'s LLM2Attn)"),
    Ablation("random_llm", "random", True, True,
             "the backbone's architecture with random (seeded) weights, frozen"),
    Ablation("no_prompt", "pretrained", False, True, "no prompt prefix"),
    Ablation("no_reprogramming", "pretrained", True, False,
             "patch embeddings projected to llm_dim by a Linear; no prototypes, no mapping layer"),
)}


def get_ablation(name: str | None) -> Ablation:
    """The ablation registered as ``name`` (None means 'none'); ConfigError listing names if unknown."""
    key = name or "none"
    if key not in ABLATIONS:
        raise unknown_name("ablation", key, ABLATIONS)
    return ABLATIONS[key]
