"""Time-LLM's prompt: input statistics, prompt text and token ids (docs/REFERENCE.md 3.2 and 3.3).

The reference's computation (the plain path): :func:`reference_prompts` builds the text one
series at a time; :class:`PromptIds` tokenises it with one tokenizer call per batch. The text
uses the full-precision Python ``repr`` of each float32 statistic, exactly like the reference.
The fast path computes the same text and ids batched and cached (``layers.fast.prompt``).
"""
from __future__ import annotations

import sys

import torch

from data_provider.prompt_bank import load_description

DEFAULT_DESCRIPTION = ("The Electricity Transformer Temperature (ETT) is a crucial indicator in "
                       "the electric power long-term deployment.")
TOP_K_LAGS = 5
START_MARKER = "<|start_prompt|>"
END_MARKER = "<|<end_prompt>|>"  # sic: the reference's closing marker


def reference_prompts(x: torch.Tensor, description: str, pred_len: int, seq_len: int,
                      top_k: int = TOP_K_LAGS) -> list[str]:
    """The reference's own prompt code, transcribed (the plain path, ``--fast_path 0``).

    x: (B*N, T, 1). Same text as ``layers.fast.prompt.build_prompts``, built the way the
    reference builds it: statistics as (B*N, 1) tensors, then one Python iteration per series that
    converts each statistic separately (``str(t[b].tolist()[0])``) and compares the trend tensor.
    """
    min_values = torch.min(x, dim=1)[0]
    max_values = torch.max(x, dim=1)[0]
    medians = torch.median(x, dim=1).values
    q_fft = torch.fft.rfft(x.permute(0, 2, 1).contiguous(), dim=-1)  # the reference's calcute_lags
    k_fft = torch.fft.rfft(x.permute(0, 2, 1).contiguous(), dim=-1)
    corr = torch.fft.irfft(q_fft * torch.conj(k_fft), dim=-1)
    lags = torch.topk(torch.mean(corr, dim=1), top_k, dim=-1)[1]
    trends = x.diff(dim=1).sum(dim=1)
    prompts = []
    for b in range(x.shape[0]):
        min_values_str = str(min_values[b].tolist()[0])
        max_values_str = str(max_values[b].tolist()[0])
        median_values_str = str(medians[b].tolist()[0])
        lags_values_str = str(lags[b].tolist())
        prompts.append(
            f"{START_MARKER}Dataset description: {description}"
            f"Task description: forecast the next {str(pred_len)} steps given the previous "
            f"{str(seq_len)} steps information; "
            "Input statistics: "
            f"min value {min_values_str}, "
            f"max value {max_values_str}, "
            f"median value {median_values_str}, "
            f"the trend of input is {'upward' if trends[b] > 0 else 'downward'}, "
            f"top 5 lags are : {lags_values_str}{END_MARKER}"
        )
    return prompts


class PromptIds:
    """Token ids of each series' prompt, computed the reference's way.

    ``prompt_ids(series)``: series (B*N, T, 1) -> (B*N, S) int64 on the series' device, the
    :func:`reference_prompts` text through one tokenizer call per batch, padded on the
    tokenizer's padding side (read at each call) with its pad token, truncated to ``max_length``.
    """

    max_length = 2048

    def __init__(self, tokenizer, description: str, pred_len: int, seq_len: int,
                 top_k: int = TOP_K_LAGS):
        self.tokenizer = tokenizer
        self.description, self.pred_len, self.seq_len, self.top_k = (description, pred_len,
                                                                       seq_len, top_k)

    def __call__(self, series: torch.Tensor) -> torch.Tensor:
        prompts = reference_prompts(series, self.description, self.pred_len, self.seq_len,
                                    self.top_k)
        return self.tokenizer(prompts, return_tensors="pt", padding=True, truncation=True,
                              max_length=self.max_length).input_ids.to(series.device)


STATISTICS_MARGIN = 16  # tokens kept free for statistics longer than the probe's


def fit_description(tokenizer, description: str, pred_len: int, seq_len: int,
                    max_length: int = PromptIds.max_length) -> str:
    """``description``, cut so that the whole prompt fits ``max_length`` tokens with its input
    statistics (the reference truncates the prompt's end: a long description would silently drop
    the statistics). A description that fits is returned unchanged; a cut one is said once on
    stderr (its tokens, what is kept). The statistics' length is probed on a series whose values
    print long (float32 reprs of 8+ digits), plus :data:`STATISTICS_MARGIN` tokens."""
    if not description:
        return description
    probe = torch.linspace(-1234.5678, 9876.5432, seq_len).reshape(1, seq_len, 1)
    frame = reference_prompts(probe, "", pred_len, seq_len)[0]
    budget = max_length - len(tokenizer(frame).input_ids) - STATISTICS_MARGIN
    ids = tokenizer(description, add_special_tokens=False).input_ids
    if len(ids) <= budget:
        return description
    kept = tokenizer.decode(ids[:max(budget, 0)])
    print(f"notice: the prompt description is {len(ids)} tokens; with the input statistics the prompt "
          f"would pass its {max_length}-token limit and lose them, so the description is cut to its "
          f"first {max(budget, 0)} tokens (the statistics are kept)", file=sys.stderr)
    return kept


def resolve_description(configs) -> str:
    """The prompt's dataset description for a run.

    ``configs.prompt_domain`` 1: the user's own text (``configs.content``, which
    ``exp.config.build_config`` fills from ``--content`` or ``--content_file``) or else the prompt
    bank's text for ``configs.data``; otherwise the reference's default (the ETT sentence, used
    for every dataset).
    """
    if configs.prompt_domain:
        return getattr(configs, "content", None) or load_description(configs.data)
    return DEFAULT_DESCRIPTION
