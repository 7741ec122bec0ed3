"""Time-LLM's prompt on the fast path: the reference's text and token ids, batched and cached.

:func:`prompt_statistics` computes every series' statistics at once, :func:`build_prompts` the
text from them (byte for byte :func:`layers.prompt.reference_prompts`' text), and
:class:`TokenizerCache` the token ids, tokenising only strings it has not seen recently.
:class:`FastPromptIds` chains the three behind :class:`layers.prompt.PromptIds`' interface.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from layers.fast.transfer import to_device, with_host_copy
from layers.prompt import END_MARKER, START_MARKER, TOP_K_LAGS, PromptIds


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
    """One prompt per series, the reference's text exactly (docs/REFERENCE.md 3.3).

    ``stats`` is the output of :func:`prompt_statistics`. They reach the host in one transfer
    (one wait for a GPU per batch, not one per statistic): as float64, which holds every float32
    or bfloat16 value and every lag exactly, so the text is the same as from each tensor's own
    ``tolist()``.
    """
    table = torch.cat([torch.stack([stats["min"], stats["max"], stats["median"], stats["trend"]],
                                   dim=1).double(), stats["lags"].double()], dim=1)
    host = table.cpu().numpy()                      # (B*N, 4 + top_k), the one transfer
    mins, maxs, medians = host[:, 0].tolist(), host[:, 1].tolist(), host[:, 2].tolist()
    upward = (host[:, 3] > 0).tolist()
    lags = host[:, 4:].astype("int64").tolist()
    head = (f"{START_MARKER}Dataset description: {description}"
            f"Task description: forecast the next {pred_len} steps given the previous "
            f"{seq_len} steps information; Input statistics: ")
    return [
        f"{head}min value {lo}, max value {hi}, median value {med}, "
        f"the trend of input is {'upward' if up else 'downward'}, "
        f"top 5 lags are : {lag}{END_MARKER}"
        for lo, hi, med, up, lag in zip(mins, maxs, medians, upward, lags)
    ]


class TokenizerCache:
    """Batch tokenisation with an LRU of the token ids of each prompt string.

    ``cache(prompts)`` equals ``tokenizer(prompts, return_tensors="pt", padding=True,
    truncation=True, max_length=max_length).input_ids`` (padded on the tokenizer's padding side
    with its pad token) but tokenises only strings it has not seen recently.
    """

    def __init__(self, tokenizer, max_length: int = 2048, maxsize: int = 32768):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.maxsize = maxsize
        self._ids: OrderedDict[str, torch.Tensor] = OrderedDict()

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        missing = list(dict.fromkeys(p for p in prompts if p not in self._ids))
        if missing:
            encoded = self.tokenizer(missing, padding=False, truncation=True,
                                     max_length=self.max_length).input_ids
            for text, ids in zip(missing, encoded):
                self._ids[text] = torch.tensor(ids, dtype=torch.long)
        rows = []
        for text in prompts:
            self._ids.move_to_end(text)
            rows.append(self._ids[text])
        while len(self._ids) > self.maxsize:
            self._ids.popitem(last=False)
        return nn.utils.rnn.pad_sequence(rows, batch_first=True,
                                         padding_value=self.tokenizer.pad_token_id,
                                         padding_side=self.tokenizer.padding_side)


class FastPromptIds(PromptIds):
    """:class:`layers.prompt.PromptIds` from batched statistics and cached tokenisation: the
    same ids, (B*N, T, 1) -> (B*N, S), on the series' device, carrying their host copy
    (:mod:`layers.fast.transfer`) for the prompt cache."""

    def __init__(self, tokenizer, description: str, pred_len: int, seq_len: int,
                 top_k: int = TOP_K_LAGS):
        super().__init__(tokenizer, description, pred_len, seq_len, top_k)
        self.tokens = TokenizerCache(tokenizer, max_length=self.max_length)

    def __call__(self, series: torch.Tensor) -> torch.Tensor:
        prompts = build_prompts(self.description, self.pred_len, self.seq_len,
                                prompt_statistics(series, self.top_k))
        ids = self.tokens(prompts)
        return with_host_copy(to_device(ids, series.device), ids)
