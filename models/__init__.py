"""Model registry: name -> module path. Each module defines ``Model(configs)``.

Modules are imported lazily so that running a baseline never imports transformers.
A model class may set these class attributes (defaults in brackets):

- ``channel_independent`` [False]: the data view it expects by default (one channel per sample).
- ``reference_lr_quirk`` [False]: follow the reference's OneCycle lr/25 start (Time-LLM only).
- ``needs_training`` [True]: False for statistical models with nothing to learn (Naive2, ...).
- ``full_history`` [False]: M4 evaluation hands it each series' whole training history.
- ``setting_suffix(args) -> str`` [none]: appended to the run's setting string (a model variant).
- ``check_config(cfg) -> None`` [none]: raises a one-line ConfigError for flags the model cannot
  be built from; run by ``exp.config.validate`` before any data is read (N-HiTS's stack lists).
- ``default_backbone`` [``layers.backbones.DEFAULT_BACKBONE``]: ``--llm_model`` when it is left
  out and no ``--llm_path`` is given (GPT4TS: GPT2, its paper's).
- ``flags`` [none]: a dataclass declaring the model's own flags with ``utils.flags.flag``
  (TimesNet's ``--top_k``, ...); :func:`model_flags` gathers them for the command line and the
  run configuration, so adding a model with flags of its own touches no other file.
"""
from __future__ import annotations

import importlib

from utils.errors import unknown_name
from utils.flags import Flag, flags_of, merge

MODEL_REGISTRY: dict[str, str] = {
    "TimeLLM": "models.TimeLLM",
    "GPT4TS": "models.GPT4TS",
    "DLinear": "models.DLinear",
    "PatchTST": "models.PatchTST",
    "Autoformer": "models.Autoformer",
    "Informer": "models.Informer",
    "Naive2": "models.Naive2",
    "SeasonalNaive": "models.SeasonalNaive",
    "iTransformer": "models.iTransformer",
    "NBEATS": "models.NBEATS",
    "NHITS": "models.NHITS",
    "TimesNet": "models.TimesNet",
}


def get_model_class(name: str):
    """Return the ``Model`` class registered under ``name`` (ConfigError listing names if unknown)."""
    if name not in MODEL_REGISTRY:
        raise unknown_name("model", name, MODEL_REGISTRY)
    return importlib.import_module(MODEL_REGISTRY[name]).Model


def model_attr(name: str, attr: str, default):
    """A registry model's class attribute (see module docstring), or ``default``."""
    return getattr(get_model_class(name), attr, default)


def model_flags() -> list[tuple[str, list[Flag]]]:
    """``[(model name, its own flags)]`` in registry order, each flag listed once (at the first model
    that declares it: N-BEATS and N-HiTS share ``--layers``); models without flags are left out."""
    declared = [(name, model_attr(name, "flags", None)) for name in MODEL_REGISTRY]
    return merge([(name, flags_of(cls)) for name, cls in declared if cls is not None])
