"""Time-LLM's prompt: input statistics and prompt text (REFERENCE.md 3.2 and 3.3).

Pure functions, no LLM needed. The statistics are computed for the whole batch at once; the
text uses the full-precision Python ``repr`` of each float32 statistic, exactly like the
reference, so the same input gives byte-for-byte the reference's prompt.
"""
from __future__ import annotations

import torch

DEFAULT_DESCRIPTION = ("The Electricity Transformer Temperature (ETT) is a crucial indicator in "
                       "the electric power long-term deployment.")
TOP_K_LAGS = 5
START_MARKER = "<|start_prompt|>"
END_MARKER = "<|<end_prompt>|>"  # sic: the reference's closing marker


def autocorrelation_lags(x: torch.Tensor, top_k: int = TOP_K_LAGS) -> torch.Tensor:
    """Top-k lags of the FFT autocorrelation, as the reference's ``calcute_lags``.

    x: (B, T, C) -> (B, top_k) int64. The correlation is irfft(F * conj(F)) along time with
    irfft's default length (T for even T, T - 1 for odd T, as in the reference), averaged over
    the C channels; lag 0 is always among the top k.
    """
    spectrum = torch.fft.rfft(x.permute(0, 2, 1).contiguous(), dim=-1)
    corr = torch.fft.irfft(spectrum * torch.conj(spectrum), dim=-1)
    return torch.topk(torch.mean(corr, dim=1), top_k, dim=-1).indices


@torch.no_grad()
def prompt_statistics(x: torch.Tensor, top_k: int = TOP_K_LAGS) -> dict[str, torch.Tensor]:
    """Statistics of each normalised series for its prompt.

    x: (B*N, T, 1). Returns tensors with leading dim B*N: ``min``, ``max``, ``median`` (the lower
    median, as ``torch.median``) and ``trend`` (sum of first differences) of shape (B*N,), and
    ``lags`` (B*N, top_k).
    """
    if x.ndim != 3 or x.shape[-1] != 1:
        raise ValueError(f"prompt_statistics expects (B*N, T, 1), got {tuple(x.shape)}")
    return {
        "min": torch.min(x, dim=1).values[:, 0],
        "max": torch.max(x, dim=1).values[:, 0],
        "median": torch.median(x, dim=1).values[:, 0],
        "trend": x.diff(dim=1).sum(dim=1)[:, 0],
        "lags": autocorrelation_lags(x, top_k),
    }


def build_prompts(description: str, pred_len: int, seq_len: int,
                  stats: dict[str, torch.Tensor]) -> list[str]:
    """One prompt per series, the reference's text exactly (REFERENCE.md 3.3).

    ``stats`` is the output of :func:`prompt_statistics`.
    """
    mins = stats["min"].tolist()
    maxs = stats["max"].tolist()
    medians = stats["median"].tolist()
    upward = (stats["trend"] > 0).tolist()
    lags = stats["lags"].tolist()
    head = (f"{START_MARKER}Dataset description: {description}"
            f"Task description: forecast the next {pred_len} steps given the previous "
            f"{seq_len} steps information; Input statistics: ")
    return [
        f"{head}min value {lo}, max value {hi}, median value {med}, "
        f"the trend of input is {'upward' if up else 'downward'}, "
        f"top 5 lags are : {lag}{END_MARKER}"
        for lo, hi, med, up, lag in zip(mins, maxs, medians, upward, lags)
    ]


def reference_prompts(x: torch.Tensor, description: str, pred_len: int, seq_len: int,
                      top_k: int = TOP_K_LAGS) -> list[str]:
    """The reference's own prompt code, transcribed (the plain path, ``--fast_path 0``).

    x: (B*N, T, 1). Same text as ``build_prompts(..., prompt_statistics(x))``, built the way the
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


def resolve_description(configs) -> str:
    """The prompt's dataset description for a run.

    ``configs.prompt_domain`` 1: the prompt bank's text for ``configs.data``; otherwise the
    reference's default (the ETT sentence, used for every dataset).
    """
    if int(getattr(configs, "prompt_domain", 0) or 0):
        from data_provider.prompt_bank import load_description  # lazy: data code stays optional
        return load_description(configs.data)
    return DEFAULT_DESCRIPTION
