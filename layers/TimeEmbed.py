"""Input embeddings of the Transformer baselines (Informer, Autoformer).

Maths as in the Informer / Autoformer / Time-Series-Library lineage:

- value: :class:`layers.Embed.TokenEmbedding` (circular Conv1d, kernel 3, no bias);
- position: fixed sinusoidal table (a buffer, never trained);
- time: ``--embed timeF`` -> a bias-free Linear over the normalised calendar features;
  ``--embed fixed`` -> sums of frozen sinusoidal tables indexed by integer month / day /
  weekday / hour (/ minute for minute data); ``--embed learned`` -> the same with trainable
  ``nn.Embedding`` tables.

``DataEmbedding`` = value + time + position (Informer); ``DataEmbedding_wo_pos`` = value + time
(Autoformer). Both are followed by dropout. ``DataEmbedding_inverted`` (iTransformer) embeds each
variate's whole window as one token, the calendar features becoming extra tokens. ``x_mark=None`` (short-term forecasting, where the
trainer has no calendar) drops the time term.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from layers.Embed import TokenEmbedding
from utils.errors import unknown_name
from utils.timefeatures import n_time_features, normalize_freq


def _sinusoid_table(n_positions: int, d_model: int) -> torch.Tensor:
    """(n_positions, d_model) table: sin on even columns, cos on odd ones (Vaswani et al.)."""
    table = torch.zeros(n_positions, d_model, dtype=torch.float32)
    position = torch.arange(0, n_positions, dtype=torch.float32).unsqueeze(1)
    div_term = (torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model)).exp()
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term)[:, : d_model // 2]
    return table


class PositionalEmbedding(nn.Module):
    """Fixed sinusoidal positions. forward: x (B, L, *) -> (1, L, d_model)."""

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        self.register_buffer("pe", _sinusoid_table(max_len, d_model).unsqueeze(0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pe[:, : x.size(1)]


class FixedEmbedding(nn.Module):
    """A frozen sinusoidal lookup table. forward: integer x (B, L) -> (B, L, d_model)."""

    def __init__(self, c_in: int, d_model: int):
        super().__init__()
        self.emb = nn.Embedding(c_in, d_model)
        self.emb.weight = nn.Parameter(_sinusoid_table(c_in, d_model), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.emb(x).detach()


class TemporalEmbedding(nn.Module):
    """Sum of per-field embeddings of integer calendar marks.

    forward: x_mark (B, L, F) with columns [month, day, weekday, hour(, minute // 15)] (floats
    holding integers, as the data loader gives them) -> (B, L, d_model). The minute table exists
    only for minute data (``freq`` t / min), as in the reference.
    """

    def __init__(self, d_model: int, embed_type: str = "fixed", freq: str = "h"):
        super().__init__()
        minute_size, hour_size, weekday_size, day_size, month_size = 4, 24, 7, 32, 13
        embed = FixedEmbedding if embed_type == "fixed" else nn.Embedding
        if normalize_freq(freq) == "t":
            self.minute_embed = embed(minute_size, d_model)
        self.hour_embed = embed(hour_size, d_model)
        self.weekday_embed = embed(weekday_size, d_model)
        self.day_embed = embed(day_size, d_model)
        self.month_embed = embed(month_size, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.long()
        minute_x = self.minute_embed(x[:, :, 4]) if hasattr(self, "minute_embed") else 0.0
        hour_x = self.hour_embed(x[:, :, 3])
        weekday_x = self.weekday_embed(x[:, :, 2])
        day_x = self.day_embed(x[:, :, 1])
        month_x = self.month_embed(x[:, :, 0])
        return hour_x + weekday_x + day_x + month_x + minute_x


class TimeFeatureEmbedding(nn.Module):
    """Bias-free Linear over the ``timeF`` features. forward: (B, L, F) -> (B, L, d_model),
    F = ``n_time_features(freq)`` (4 for h, 5 for t)."""

    def __init__(self, d_model: int, freq: str = "h"):
        super().__init__()
        self.embed = nn.Linear(n_time_features(freq), d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


def temporal_embedding(d_model: int, embed_type: str, freq: str) -> nn.Module:
    """``timeF`` -> :class:`TimeFeatureEmbedding`; ``fixed`` / ``learned`` -> :class:`TemporalEmbedding`."""
    if embed_type == "timeF":
        return TimeFeatureEmbedding(d_model, freq=freq)
    if embed_type in ("fixed", "learned"):
        return TemporalEmbedding(d_model, embed_type=embed_type, freq=freq)
    raise unknown_name("--embed", embed_type, ["timeF", "fixed", "learned"])


class DataEmbedding(nn.Module):
    """Value + temporal + positional embedding, then dropout (Informer).

    forward: x (B, L, c_in), x_mark (B, L, F) or None -> (B, L, d_model).
    """

    def __init__(self, c_in: int, d_model: int, embed_type: str = "fixed", freq: str = "h",
                 dropout: float = 0.1):
        super().__init__()
        self.value_embedding = TokenEmbedding(c_in, d_model)
        self.position_embedding = PositionalEmbedding(d_model)
        self.temporal_embedding = temporal_embedding(d_model, embed_type, freq)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor, x_mark: torch.Tensor | None) -> torch.Tensor:
        out = self.value_embedding(x) + self.position_embedding(x)
        if x_mark is not None:
            out = out + self.temporal_embedding(x_mark)
        return self.dropout(out)


class DataEmbedding_wo_pos(nn.Module):
    """Value + temporal embedding without positions, then dropout (Autoformer).

    forward: x (B, L, c_in), x_mark (B, L, F) or None -> (B, L, d_model).
    """

    def __init__(self, c_in: int, d_model: int, embed_type: str = "fixed", freq: str = "h",
                 dropout: float = 0.1):
        super().__init__()
        self.value_embedding = TokenEmbedding(c_in, d_model)
        self.temporal_embedding = temporal_embedding(d_model, embed_type, freq)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor, x_mark: torch.Tensor | None) -> torch.Tensor:
        out = self.value_embedding(x)
        if x_mark is not None:
            out = out + self.temporal_embedding(x_mark)
        return self.dropout(out)


class DataEmbedding_inverted(nn.Module):
    """iTransformer's inverted embedding: one token per variate, ``Linear(seq_len -> d_model)``
    over its whole window, then dropout.

    forward: x (B, L, N), x_mark (B, L, F) or None -> (B, N + F, d_model) (B, N, d_model without
    marks): each calendar feature (``--embed timeF``) is a token of its own, after the N variates.
    """

    def __init__(self, seq_len: int, d_model: int, dropout: float = 0.1):
        super().__init__()
        self.value_embedding = nn.Linear(seq_len, d_model)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor, x_mark: torch.Tensor | None) -> torch.Tensor:
        tokens = x if x_mark is None else torch.cat([x, x_mark], dim=-1)   # B, L, N (+F)
        return self.dropout(self.value_embedding(tokens.transpose(1, 2)))
