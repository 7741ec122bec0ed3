"""Test-size configurations and batches for the models trained from scratch (the baselines)."""
from __future__ import annotations

from argparse import Namespace

import torch

from run_main import build_parser


def small_configs(model: str, **over) -> Namespace:
    """Parser defaults shrunk to test size (values overridable)."""
    base = dict(model=model, seq_len=48, label_len=24, pred_len=24, enc_in=7, dec_in=7, c_out=7,
                d_model=16, d_ff=32, n_heads=4, e_layers=2, d_layers=1, factor=3, dropout=0.0,
                patch_len=8, stride=4, moving_avg=25, embed="timeF", freq="h")
    base.update(over)
    args = build_parser().parse_args([])
    for k, v in base.items():
        setattr(args, k, v)
    return args


def make_batch(cfg, B: int = 4, embed: str = "timeF", seed: int = 0):
    """(x_enc, x_mark_enc, x_dec, x_mark_dec, y) for one multivariate batch, from its own
    generator (the global seed is untouched)."""
    g = torch.Generator().manual_seed(seed)
    L, LL, H, C = cfg.seq_len, cfg.label_len, cfg.pred_len, cfg.enc_in
    series = torch.randn(B, L + H, C, generator=g)
    x_enc, y = series[:, :L], series[:, L:, : cfg.c_out]
    x_dec = torch.cat([series[:, L - LL: L], torch.zeros(B, H, C)], dim=1)

    def marks(n):
        if embed == "timeF":
            return torch.rand(B, n, 4, generator=g) - 0.5
        cols = [torch.randint(1, 13, (B, n, 1), generator=g), torch.randint(1, 32, (B, n, 1), generator=g),
                torch.randint(0, 7, (B, n, 1), generator=g), torch.randint(0, 24, (B, n, 1), generator=g)]
        if cfg.freq == "t":
            cols.append(torch.randint(0, 4, (B, n, 1), generator=g))
        return torch.cat(cols, dim=-1).float()

    return x_enc, marks(L), x_dec, marks(LL + H), y
