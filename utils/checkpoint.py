"""Checkpoints that hold only what training changed, written atomically.

A Time-LLM checkpoint stores the trainable weights (and buffers outside the frozen backbone)
plus the run's configuration and the backbone's identity, so a LLaMA-7B run does not write
13 GB per save. Loading refuses a checkpoint whose backbone or tensor shapes do not match the
model it is loaded into, with a one-line message.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from utils.errors import UserError


def _atomic_write(path: str | os.PathLike, mode: str, write) -> None:
    """Write through ``write(file)`` to a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically (temporary file + rename)."""
    _atomic_write(path, "wb", lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | os.PathLike) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + rename)."""
    _atomic_write(path, "w", lambda f: f.write(text))


def frozen_keys(model: nn.Module) -> set[str]:
    """State-dict keys of parameters that do not require grad (the frozen backbone)."""
    frozen = {name for name, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}
    return {k for k in model.state_dict(keep_vars=True) if k in frozen}


def trainable_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict without frozen parameters, detached and on the CPU."""
    skip = frozen_keys(model)
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k not in skip}


def backbone_identity(model: nn.Module) -> dict | None:
    """The model's ``backbone_identity`` dict (Time-LLM), or None for models without a backbone."""
    return getattr(model, "backbone_identity", None)


def make_checkpoint(model: nn.Module, config: dict, **extra: Any) -> dict:
    """Checkpoint payload: trainable weights, config, backbone identity, extras."""
    return {"state_dict": trainable_state_dict(model), "config": config,
            "backbone": backbone_identity(model), **extra}


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`atomic_save`; a missing or unreadable file is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path} (train first with --is_training 1, "
                        "or point --checkpoints at the folder that holds it)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise UserError(f"cannot read checkpoint {path}: {type(e).__name__}: {e}") from e


def apply_checkpoint(model: nn.Module, ckpt: dict, source: str = "checkpoint") -> None:
    """Load a checkpoint's weights into ``model`` after checking that it fits.

    The backbone identity must match; the checkpoint must provide every trainable tensor with
    the right shape and nothing the model does not have. Frozen backbone weights may be absent.
    """
    want, have = backbone_identity(model), ckpt.get("backbone")
    if want is not None and have is not None and want != have:
        diff = {k: (have.get(k), want.get(k)) for k in set(want) | set(have) if want.get(k) != have.get(k)}
        detail = ", ".join(f"{k}: checkpoint {a!r} vs run {b!r}" for k, (a, b) in sorted(diff.items()))
        raise UserError(f"{source} was trained with another backbone ({detail}); "
                        "rerun with the backbone flags it was trained with")
    state = ckpt["state_dict"]
    own = model.state_dict()
    frozen = frozen_keys(model)
    unexpected = sorted(set(state) - set(own))
    missing = sorted(set(own) - set(state) - frozen)
    shape = sorted(k for k in set(state) & set(own) if tuple(state[k].shape) != tuple(own[k].shape))
    if unexpected or missing or shape:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unknown tensors (e.g. {unexpected[0]})")
        if shape:
            k = shape[0]
            parts.append(f"{len(shape)} shape mismatches (e.g. {k}: checkpoint "
                         f"{tuple(state[k].shape)} vs model {tuple(own[k].shape)})")
        raise UserError(f"{source} does not match this model: {'; '.join(parts)}; "
                        "use the model flags it was trained with")
    model.load_state_dict(state, strict=False)


def save_adapter(peft_model, folder: str | os.PathLike) -> None:
    """``peft_model.save_pretrained`` into ``folder``, replacing an older save only once complete."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model.save_pretrained(str(tmp))
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
