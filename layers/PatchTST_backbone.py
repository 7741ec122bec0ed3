"""PatchTST backbone (Nie et al., ICLR 2023), supervised variant.

Per channel: RevIN, replication padding of ``stride`` steps at the end, patches of
``patch_len`` every ``stride`` steps, a linear patch projection W_P, a learnable positional
table W_pos, dropout, a Transformer encoder (BatchNorm, residual attention), and a flatten head
to the horizon; RevIN is undone on the output. Channels share all weights (channel
independence) except for ``individual`` heads. Module names follow the authors' code so their
checkpoints load.
"""
from __future__ import annotations

import torch
from torch import nn

from layers.StandardNorm import Normalize
from utils.errors import unknown_name


class Transpose(nn.Module):
    """``x.transpose(*dims)`` as a module (to wrap BatchNorm1d over the feature axis)."""

    def __init__(self, *dims: int, contiguous: bool = False):
        super().__init__()
        self.dims = dims
        self.contiguous = contiguous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(*self.dims)
        return x.contiguous() if self.contiguous else x


def get_activation_fn(activation: str) -> nn.Module:
    """``relu`` | ``gelu`` -> the module; anything else is an error."""
    if activation.lower() == "relu":
        return nn.ReLU()
    if activation.lower() == "gelu":
        return nn.GELU()
    raise unknown_name("activation", activation, ["relu", "gelu"])


def positional_encoding(pe: str, learn_pe: bool, q_len: int, d_model: int) -> nn.Parameter:
    """PatchTST's positional table (q_len, d_model). Only the authors' default ``zeros`` type
    (uniform(-0.02, 0.02), despite the name) and ``None`` (uniform, frozen) are provided."""
    if pe is None:
        W_pos = torch.empty(q_len, d_model)
        nn.init.uniform_(W_pos, -0.02, 0.02)
        learn_pe = False
    elif pe == "zeros":
        W_pos = torch.empty(q_len, d_model)
        nn.init.uniform_(W_pos, -0.02, 0.02)
    else:
        raise ValueError(f"positional encoding {pe!r} is not implemented (use 'zeros')")
    return nn.Parameter(W_pos, requires_grad=learn_pe)


class _ScaledDotProductAttention(nn.Module):
    """softmax(Q K^T * scale [+ previous layer's scores]) V with dropout on the weights.

    q (bs, H, q_len, d_k), k (bs, H, d_k, seq_len) (already transposed), v (bs, H, seq_len, d_v)
    -> (output (bs, H, q_len, d_v), weights (bs, H, q_len, seq_len)[, pre-softmax scores]).
    ``scale`` = head_dim ** -0.5 is a parameter that trains only with ``lsa`` (as the authors).
    """

    def __init__(self, d_model: int, n_heads: int, attn_dropout: float = 0.0,
                 res_attention: bool = False, lsa: bool = False):
        super().__init__()
        self.attn_dropout = nn.Dropout(attn_dropout)
        self.res_attention = res_attention
        head_dim = d_model // n_heads
        self.scale = nn.Parameter(torch.tensor(head_dim ** -0.5), requires_grad=lsa)
        self.lsa = lsa

    def forward(self, q, k, v, prev=None, key_padding_mask=None, attn_mask=None):
        attn_scores = torch.matmul(q, k) * self.scale
        if prev is not None:
            attn_scores = attn_scores + prev
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                attn_scores = attn_scores.masked_fill(attn_mask, float("-inf"))
            else:
                attn_scores = attn_scores + attn_mask
        if key_padding_mask is not None:
            attn_scores = attn_scores.masked_fill(key_padding_mask.unsqueeze(1).unsqueeze(2), float("-inf"))
        attn_weights = self.attn_dropout(torch.softmax(attn_scores, dim=-1))
        output = torch.matmul(attn_weights, v)
        if self.res_attention:
            return output, attn_weights, attn_scores
        return output, attn_weights


class _MultiheadAttention(nn.Module):
    """Multi-head attention with optional residual attention (scores carried between layers).

    Q (bs, q_len, d_model), K/V (bs, seq_len, d_model) -> (bs, q_len, d_model), weights[, scores].
    """

    def __init__(self, d_model: int, n_heads: int, d_k: int | None = None, d_v: int | None = None,
                 res_attention: bool = False, attn_dropout: float = 0.0, proj_dropout: float = 0.0,
                 qkv_bias: bool = True, lsa: bool = False):
        super().__init__()
        d_k = d_model // n_heads if d_k is None else d_k
        d_v = d_model // n_heads if d_v is None else d_v
        self.n_heads, self.d_k, self.d_v = n_heads, d_k, d_v
        self.W_Q = nn.Linear(d_model, d_k * n_heads, bias=qkv_bias)
        self.W_K = nn.Linear(d_model, d_k * n_heads, bias=qkv_bias)
        self.W_V = nn.Linear(d_model, d_v * n_heads, bias=qkv_bias)
        self.res_attention = res_attention
        self.sdp_attn = _ScaledDotProductAttention(d_model, n_heads, attn_dropout=attn_dropout,
                                                   res_attention=res_attention, lsa=lsa)
        self.to_out = nn.Sequential(nn.Linear(n_heads * d_v, d_model), nn.Dropout(proj_dropout))

    def forward(self, Q, K=None, V=None, prev=None, key_padding_mask=None, attn_mask=None):
        bs = Q.size(0)
        K = Q if K is None else K
        V = Q if V is None else V
        q_s = self.W_Q(Q).view(bs, -1, self.n_heads, self.d_k).transpose(1, 2)
        k_s = self.W_K(K).view(bs, -1, self.n_heads, self.d_k).permute(0, 2, 3, 1)
        v_s = self.W_V(V).view(bs, -1, self.n_heads, self.d_v).transpose(1, 2)
        if self.res_attention:
            output, attn_weights, attn_scores = self.sdp_attn(
                q_s, k_s, v_s, prev=prev, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        else:
            output, attn_weights = self.sdp_attn(
                q_s, k_s, v_s, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        output = output.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * self.d_v)
        output = self.to_out(output)
        if self.res_attention:
            return output, attn_weights, attn_scores
        return output, attn_weights


def _norm_layer(norm: str, d_model: int) -> nn.Module:
    if "batch" in norm.lower():
        return nn.Sequential(Transpose(1, 2), nn.BatchNorm1d(d_model), Transpose(1, 2))
    return nn.LayerNorm(d_model)


class TSTEncoderLayer(nn.Module):
    """Attention and FFN sub-layers, each with dropout + residual + norm (post-norm by default).

    forward: src (bs, q_len, d_model)[, prev scores] -> src[, scores].
    """

    def __init__(self, q_len: int, d_model: int, n_heads: int, d_k: int | None = None,
                 d_v: int | None = None, d_ff: int = 256, store_attn: bool = False,
                 norm: str = "BatchNorm", attn_dropout: float = 0.0, dropout: float = 0.0,
                 bias: bool = True, activation: str = "gelu", res_attention: bool = False,
                 pre_norm: bool = False):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        d_k = d_model // n_heads if d_k is None else d_k
        d_v = d_model // n_heads if d_v is None else d_v
        self.res_attention = res_attention
        self.self_attn = _MultiheadAttention(d_model, n_heads, d_k, d_v, attn_dropout=attn_dropout,
                                             proj_dropout=dropout, res_attention=res_attention)
        self.dropout_attn = nn.Dropout(dropout)
        self.norm_attn = _norm_layer(norm, d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff, bias=bias), get_activation_fn(activation),
                                nn.Dropout(dropout), nn.Linear(d_ff, d_model, bias=bias))
        self.dropout_ffn = nn.Dropout(dropout)
        self.norm_ffn = _norm_layer(norm, d_model)
        self.pre_norm = pre_norm
        self.store_attn = store_attn

    def forward(self, src, prev=None, key_padding_mask=None, attn_mask=None):
        if self.pre_norm:
            src = self.norm_attn(src)
        if self.res_attention:
            src2, attn, scores = self.self_attn(src, src, src, prev, key_padding_mask=key_padding_mask,
                                                attn_mask=attn_mask)
        else:
            src2, attn = self.self_attn(src, src, src, key_padding_mask=key_padding_mask,
                                        attn_mask=attn_mask)
        if self.store_attn:
            self.attn = attn
        src = src + self.dropout_attn(src2)
        if not self.pre_norm:
            src = self.norm_attn(src)
        if self.pre_norm:
            src = self.norm_ffn(src)
        src = src + self.dropout_ffn(self.ff(src))
        if not self.pre_norm:
            src = self.norm_ffn(src)
        if self.res_attention:
            return src, scores
        return src


class TSTEncoder(nn.Module):
    """``n_layers`` :class:`TSTEncoderLayer`; with residual attention each layer adds the previous
    layer's pre-softmax scores. forward: (bs, q_len, d_model) -> (bs, q_len, d_model)."""

    def __init__(self, q_len: int, d_model: int, n_heads: int, d_k=None, d_v=None, d_ff=None,
                 norm: str = "BatchNorm", attn_dropout: float = 0.0, dropout: float = 0.0,
                 activation: str = "gelu", res_attention: bool = False, n_layers: int = 1,
                 pre_norm: bool = False, store_attn: bool = False):
        super().__init__()
        self.layers = nn.ModuleList([
            TSTEncoderLayer(q_len, d_model, n_heads=n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff, norm=norm,
                            attn_dropout=attn_dropout, dropout=dropout, activation=activation,
                            res_attention=res_attention, pre_norm=pre_norm, store_attn=store_attn)
            for _ in range(n_layers)])
        self.res_attention = res_attention

    def forward(self, src, key_padding_mask=None, attn_mask=None):
        output = src
        scores = None
        for mod in self.layers:
            if self.res_attention:
                output, scores = mod(output, prev=scores, key_padding_mask=key_padding_mask,
                                     attn_mask=attn_mask)
            else:
                output = mod(output, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        return output


class TSTiEncoder(nn.Module):
    """Channel-independent patch encoder.

    forward: x (bs, nvars, patch_len, patch_num) -> (bs, nvars, d_model, patch_num).
    """

    def __init__(self, c_in: int, patch_num: int, patch_len: int, n_layers: int = 3,
                 d_model: int = 128, n_heads: int = 16, d_k=None, d_v=None, d_ff: int = 256,
                 norm: str = "BatchNorm", attn_dropout: float = 0.0, dropout: float = 0.0,
                 act: str = "gelu", store_attn: bool = False, res_attention: bool = True,
                 pre_norm: bool = False, pe: str = "zeros", learn_pe: bool = True):
        super().__init__()
        self.patch_num = patch_num
        self.patch_len = patch_len
        q_len = patch_num
        self.W_P = nn.Linear(patch_len, d_model)
        self.seq_len = q_len
        self.W_pos = positional_encoding(pe, learn_pe, q_len, d_model)
        self.dropout = nn.Dropout(dropout)
        self.encoder = TSTEncoder(q_len, d_model, n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff, norm=norm,
                                  attn_dropout=attn_dropout, dropout=dropout, pre_norm=pre_norm,
                                  activation=act, res_attention=res_attention, n_layers=n_layers,
                                  store_attn=store_attn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_vars = x.shape[1]
        x = self.W_P(x.permute(0, 1, 3, 2))                                  # bs, nvars, P, d_model
        u = x.reshape(x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        u = self.dropout(u + self.W_pos)
        z = self.encoder(u)                                                  # bs*nvars, P, d_model
        z = z.reshape(-1, n_vars, z.shape[-2], z.shape[-1])
        return z.permute(0, 1, 3, 2)


class Flatten_Head(nn.Module):
    """Flatten (d_model, patch_num) per channel, Linear to the horizon, dropout; one Linear per
    channel when ``individual``. forward: (bs, nvars, d_model, patch_num) -> (bs, nvars, target_window).
    """

    def __init__(self, individual: bool, n_vars: int, nf: int, target_window: int,
                 head_dropout: float = 0.0):
        super().__init__()
        self.individual = individual
        self.n_vars = n_vars
        if individual:
            self.linears = nn.ModuleList()
            self.dropouts = nn.ModuleList()
            self.flattens = nn.ModuleList()
            for _ in range(n_vars):
                self.flattens.append(nn.Flatten(start_dim=-2))
                self.linears.append(nn.Linear(nf, target_window))
                self.dropouts.append(nn.Dropout(head_dropout))
        else:
            self.flatten = nn.Flatten(start_dim=-2)
            self.linear = nn.Linear(nf, target_window)
            self.dropout = nn.Dropout(head_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.individual:
            outs = [self.dropouts[i](self.linears[i](self.flattens[i](x[:, i, :, :])))
                    for i in range(self.n_vars)]
            return torch.stack(outs, dim=1)
        return self.dropout(self.linear(self.flatten(x)))


class PatchTST_backbone(nn.Module):
    """RevIN -> patching -> :class:`TSTiEncoder` -> :class:`Flatten_Head` -> RevIN^-1.

    forward: z (bs, nvars, context_window) -> (bs, nvars, target_window).
    patch_num = int((context_window - patch_len) / stride + 1), plus one with
    ``padding_patch='end'`` (42 for L=336, 64 for L=512, with patch 16 / stride 8).
    ``pretrain_head`` builds the self-supervised head (dropout ``fc_dropout`` + Conv1d); the
    supervised model does not use it.
    """

    def __init__(self, c_in: int, context_window: int, target_window: int, patch_len: int,
                 stride: int, n_layers: int = 3, d_model: int = 128, n_heads: int = 16,
                 d_k=None, d_v=None, d_ff: int = 256, norm: str = "BatchNorm",
                 attn_dropout: float = 0.0, dropout: float = 0.0, act: str = "gelu",
                 res_attention: bool = True, pre_norm: bool = False, store_attn: bool = False,
                 pe: str = "zeros", learn_pe: bool = True, fc_dropout: float = 0.0,
                 head_dropout: float = 0.0, padding_patch: str | None = None,
                 pretrain_head: bool = False, head_type: str = "flatten", individual: bool = False,
                 revin: bool = True, affine: bool = True, subtract_last: bool = False):
        super().__init__()
        self.revin = revin
        if revin:
            self.revin_layer = Normalize(c_in, affine=affine, subtract_last=subtract_last)
        self.patch_len = patch_len
        self.stride = stride
        self.padding_patch = padding_patch
        patch_num = int((context_window - patch_len) / stride + 1)
        if padding_patch == "end":
            self.padding_patch_layer = nn.ReplicationPad1d((0, stride))
            patch_num += 1
        self.patch_num = patch_num
        self.backbone = TSTiEncoder(c_in, patch_num=patch_num, patch_len=patch_len, n_layers=n_layers,
                                    d_model=d_model, n_heads=n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff,
                                    norm=norm, attn_dropout=attn_dropout, dropout=dropout, act=act,
                                    res_attention=res_attention, pre_norm=pre_norm,
                                    store_attn=store_attn, pe=pe, learn_pe=learn_pe)
        self.head_nf = d_model * patch_num
        self.n_vars = c_in
        self.pretrain_head = pretrain_head
        self.head_type = head_type
        self.individual = individual
        if pretrain_head:
            self.head = nn.Sequential(nn.Dropout(fc_dropout), nn.Conv1d(self.head_nf, c_in, 1))
        elif head_type == "flatten":
            self.head = Flatten_Head(individual, c_in, self.head_nf, target_window,
                                     head_dropout=head_dropout)
        else:
            raise ValueError(f"head_type {head_type!r} is not implemented (use 'flatten')")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.revin:
            z = self.revin_layer(z.permute(0, 2, 1), "norm").permute(0, 2, 1)
        if self.padding_patch == "end":
            z = self.padding_patch_layer(z)
        z = z.unfold(dimension=-1, size=self.patch_len, step=self.stride)    # bs, nvars, P, patch_len
        z = z.permute(0, 1, 3, 2)                                            # bs, nvars, patch_len, P
        z = self.backbone(z)                                                 # bs, nvars, d_model, P
        z = self.head(z)                                                     # bs, nvars, target_window
        if self.revin:
            z = self.revin_layer(z.permute(0, 2, 1), "denorm").permute(0, 2, 1)
        return z
