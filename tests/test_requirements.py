"""The torch floor in requirements.txt is the newest feature the code calls (issue 17: it
allowed 2.4, but SDPA's ``enable_gqa`` and ``pad_sequence(padding_side=)`` arrived in 2.5, so an
allowed torch failed with a TypeError on the first forward).

``FEATURES`` lists what the code calls beyond long-standing torch, each with the release that
added it (from PyTorch's release notes) and a probe of the installed torch."""
from __future__ import annotations

import inspect
import re

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from tests.helpers.project import ROOT


def _sdpa_gqa() -> bool:
    q, kv = torch.zeros(1, 4, 2, 8), torch.zeros(1, 2, 2, 8)
    return F.scaled_dot_product_attention(q, kv, kv, enable_gqa=True).shape == q.shape


def _autocast_queries() -> bool:
    return torch.is_autocast_enabled("cpu") in (True, False) and torch.get_autocast_dtype("cpu") is not None


def _causal_bias() -> bool:
    from torch.nn.attention.bias import causal_lower_right
    return causal_lower_right(2, 3) is not None


# feature -> (first torch release with it, where the code uses it, probe)
FEATURES = {
    "F.scaled_dot_product_attention(enable_gqa=)": ((2, 5), "layers/fast/llama_lean.py", _sdpa_gqa),
    "pad_sequence(padding_side=)": (
        (2, 5), "layers/fast/prompt.py",
        lambda: "padding_side" in inspect.signature(pad_sequence).parameters),
    "F.rms_norm": ((2, 4), "layers/fast/llama_lean.py", lambda: callable(getattr(F, "rms_norm", None))),
    "torch.is_autocast_enabled(device) / get_autocast_dtype": (
        (2, 4), "layers/fast/stamp.py, layers/fast/mapping.py", _autocast_queries),
    "torch.nn.attention.bias.causal_lower_right": ((2, 2), "layers/fast/llama_lean.py", _causal_bias),
}


def _floor() -> tuple[int, int]:
    text = (ROOT / "requirements.txt").read_text()
    match = re.search(r"^torch>=(\d+)\.(\d+)", text, flags=re.M)
    assert match, "requirements.txt names no torch floor"
    return int(match.group(1)), int(match.group(2))


def test_floor_is_the_newest_feature_used():
    newest = max(version for version, _, _ in FEATURES.values())
    assert _floor() == newest, f"requirements.txt allows torch {_floor()}, the code needs {newest}"


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_installed_torch_has_the_feature(name):
    version, where, probe = FEATURES[name]
    assert probe(), f"torch {torch.__version__} lacks {name} (used in {where}; torch >= {version})"
    installed = tuple(int(p) for p in re.findall(r"\d+", torch.__version__)[:2])
    assert installed >= _floor()


def test_features_are_still_used():
    """Each listed feature is still called where it says (drop a row when the code stops)."""
    needles = {"F.scaled_dot_product_attention(enable_gqa=)": "enable_gqa",
               "pad_sequence(padding_side=)": "padding_side=",
               "F.rms_norm": "F.rms_norm",
               "torch.is_autocast_enabled(device) / get_autocast_dtype": "get_autocast_dtype",
               "torch.nn.attention.bias.causal_lower_right": "causal_lower_right"}
    for name, (_, where, _) in FEATURES.items():
        files = [ROOT / f.strip() for f in where.split(",")]
        assert any(needles[name] in f.read_text() for f in files), name
