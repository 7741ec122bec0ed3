"""The run configuration: every flag of ``run_main.build_parser()``, resolved and validated once.

:func:`build_config` turns the parsed flags into a frozen :class:`RunConfig`:

- derived values are filled in here and nowhere else: the task's own settings (M4 sets
  ``seq_len``, ``label_len``, ``pred_len`` from the pattern), ``--channel_independence -1``
  becomes the model's data view, ``--lr_quirk auto`` becomes ``on`` / ``off`` from the model;
  ``--enc_in`` / ``--dec_in`` / ``--c_out`` left unset come from the data
  (:func:`data_provider.data_factory.model_widths`: the dataset table, or the header of a
  ``custom`` CSV); ``content`` becomes the text of ``--content`` or ``--content_file``;
- every check that needs no data runs once, before anything is built, and fails with a
  one-line :class:`~utils.errors.ConfigError`: registry names (model, task, lradj, loss,
  report_to), sizes of at least 1, a positive learning rate, the model's own checks (its
  ``check_config``, e.g. N-HiTS's per-stack lists), ``--test_rows`` (``--data long``
  only, at least ``pred_len``), writable output folders, the
  DeepSpeed config file, one description flag at most. A given ``--enc_in`` is checked against
  the channels the loader reads (:meth:`exp.tasks.LongTermTask.check_data`).

The fields are the reference's flag names, so models, data loaders and the optimiser read a
configuration as ``configs.<flag>``, exactly as they read the parser's namespace. Nothing
changes a configuration once built; a repetition of ``--itr`` is a new one
(:meth:`RunConfig.repetition`).
"""
from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from data_provider.data_factory import model_widths
from data_provider.prompt_bank import user_description
from exp.tasks import task_class
from exp.tracking import check_tracker
from layers.backbones import DEFAULT_BACKBONE, backbone_name
from models import get_model_class, model_attr
from utils.errors import ConfigError, unknown_name
from utils.losses import get_loss
from utils.lr_schedule import LR_MODES, resolve_quirk_name

AT_LEAST_ONE = ("batch_size", "eval_batch_size", "train_epochs", "seq_len", "pred_len", "grad_accum")
WIDTHS = ("enc_in", "dec_in", "c_out")  # left unset (None): derived from the data


@dataclass(frozen=True)
class RunConfig:
    """One run's flags (see ``run_main.build_parser()`` for their meaning), after resolution.

    The parser holds the defaults; :func:`build_config` requires every field.
    """

    # basic config
    task_name: str
    is_training: int
    do_predict: int                # 1: forecast past the end of the data file (exp/predict.py)
    model_id: str
    model_comment: str
    model: str
    seed: int
    # data loader
    data: str
    root_path: str
    data_path: str
    features: str
    target: str
    freq: str
    embed: str
    checkpoints: str
    percent: int
    seasonal_patterns: str
    test_drop_last: int
    channel_independence: int      # resolved: 0 or 1, never -1
    m4_val_from_test: int
    test_data: str | None
    test_root_path: str | None
    test_data_path: str | None
    id_col: str                    # --data long: series id, date and value columns
    time_col: str
    value_col: str
    test_rows: int                 # --data long: test rows per series (0: 70/10/20)
    date_unit: str                 # numbers in the date column: epoch times in s, ms, us or ns
    # forecasting task
    seq_len: int
    label_len: int
    pred_len: int
    # model define
    enc_in: int                    # resolved from the data when not given (never None)
    dec_in: int
    c_out: int
    d_model: int
    n_heads: int
    e_layers: int
    d_layers: int
    d_ff: int
    moving_avg: int
    factor: int
    distil: int
    informer_variant: str
    dropout: float
    activation: str
    patch_len: int
    stride: int
    individual: int
    fc_dropout: float
    head_dropout: float
    padding_patch: str
    revin: int
    affine: int
    subtract_last: int
    use_norm: int                  # iTransformer
    stacks: int                    # N-BEATS
    layers: int
    layer_size: int
    n_pool_kernel_size: list[int]  # N-HiTS: one value per stack
    n_freq_downsample: list[int]
    n_blocks: list[int]
    pooling_mode: str
    interpolation_mode: str
    top_k: int                     # TimesNet
    num_kernels: int
    # Time-LLM
    prompt_domain: int
    content: str | None            # resolved: the description text (--content or --content_file)
    content_file: str | None
    llm_model: str
    llm_path: str | None
    llm_dim: int | None
    llm_layers: int
    num_tokens: int
    prompt_cache: int
    prompt_store_mb: int
    dtype: str                     # "auto" until run() resolves it (exp.precision.backbone_dtype)
    fast_path: int
    mapping_vocab: int
    ablation: str
    # adapters (peft)
    peft: str
    lora_r: int
    lora_alpha: float
    lora_dropout: float
    lora_target_modules: str | None
    # optimization
    num_workers: int
    itr: int
    train_epochs: int
    batch_size: int
    eval_batch_size: int
    patience: int
    test_every_epoch: int
    save_state_every: float
    learning_rate: float
    des: str
    loss: str
    lradj: str
    pct_start: float
    lr_quirk: str                  # resolved: on, off or first_epoch, never auto
    optimizer: str
    weight_decay: float
    momentum: float
    adam_beta1: float
    adam_beta2: float
    grad_accum: int
    global_batch: int              # resolved by start_run: processes x batch_size x grad_accum
    max_grad_norm: float
    use_amp: bool
    mixed_precision: str | None
    tf32: int
    reuse_memory: int
    use_deepspeed: int
    deepspeed_config: str
    results_dir: str
    report_to: str
    overwrite: bool
    resume: bool

    def as_dict(self) -> dict[str, Any]:
        """Flag name -> value in the parser's order (metrics.json ``args``, checkpoints' ``config``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_namespace(self) -> argparse.Namespace:
        """The same values as an ``argparse.Namespace`` (a copy: changing it changes nothing here)."""
        return argparse.Namespace(**self.as_dict())

    def repetition(self, ii: int) -> RunConfig:
        """The configuration of repetition ``ii`` of ``--itr``: seed ``seed + ii``."""
        return replace(self, seed=self.seed + ii)


FLAGS: tuple[str, ...] = tuple(f.name for f in fields(RunConfig))


def flag_values(args) -> dict[str, Any]:
    """``vars(args)`` after checking that it holds exactly the configuration's flags."""
    given = dict(vars(args))
    missing, extra = set(FLAGS) - set(given), set(given) - set(FLAGS)
    if missing or extra:  # the parser and RunConfig disagree: a programming error, not a user's
        raise TypeError(f"flags and RunConfig differ: missing {sorted(missing)}, "
                        f"unknown {sorted(extra)}")
    return given


def derived_values(args) -> dict[str, Any]:
    """The flag values that depend on the task, the model and the data (see the module
    docstring)."""
    get_model_class(args.model)  # an unknown model fails first, listing the valid names
    values = dict(task_class(args.task_name).settings(args))
    if args.channel_independence == -1:
        values["channel_independence"] = int(model_attr(args.model, "channel_independent", False))
    values["lr_quirk"] = resolve_quirk_name(args.lr_quirk,
                                            model_attr(args.model, "reference_lr_quirk", False))
    unset = [flag for flag in WIDTHS if getattr(args, flag) is None]
    if unset:  # reads the CSV header of --data custom
        widths = model_widths(args)
        values.update({flag: widths[flag] for flag in unset})
    values["content"] = user_description(args.content, args.content_file)
    default = model_attr(args.model, "default_backbone", DEFAULT_BACKBONE)
    values["llm_model"] = backbone_name(args.llm_model, args.llm_path, default)
    if values["content"] is not None and not args.prompt_domain:
        raise ConfigError("--content / --content_file give the description used with "
                          "--prompt_domain 1; add --prompt_domain 1")
    return values


def check_writable(folder: str, flag: str) -> None:
    """Fail before any training when ``folder`` cannot be created or written (not after it)."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ConfigError(f"{flag} {folder} is not writable ({e.strerror or e}); "
                          f"choose a folder you can write to") from None


def validate(cfg: RunConfig) -> None:
    """Every check that needs no data; each failure is a one-line ConfigError."""
    if cfg.lradj not in LR_MODES:
        raise unknown_name("lradj", cfg.lradj, LR_MODES)
    get_loss(cfg.loss)
    for name in AT_LEAST_ONE:
        value = getattr(cfg, name)
        if value < 1:
            raise ConfigError(f"--{name} must be at least 1, got {value}")
    if cfg.test_rows:
        if cfg.data != "long":
            raise ConfigError(f"--test_rows is for --data long (a long table of series), not --data {cfg.data}")
        if not cfg.pred_len <= cfg.test_rows:
            raise ConfigError(f"--test_rows {cfg.test_rows} must be at least --pred_len {cfg.pred_len} "
                              "(the test part of every series needs one window)")
    if cfg.global_batch < 0:
        raise ConfigError(f"--global_batch must be 0 (use --batch_size) or positive, got {cfg.global_batch}")
    if not cfg.learning_rate > 0:  # also NaN
        raise ConfigError(f"--learning_rate must be positive, got {cfg.learning_rate}")
    check_writable(cfg.results_dir, "--results_dir")
    if cfg.is_training:
        check_writable(cfg.checkpoints, "--checkpoints")
    check_tracker(cfg.report_to)
    model_attr(cfg.model, "check_config", lambda c: None)(cfg)  # the model's own flag checks
    if cfg.use_deepspeed and not Path(cfg.deepspeed_config).is_file():
        raise ConfigError(f"DeepSpeed config not found: {cfg.deepspeed_config}")


def build_config(args) -> RunConfig:
    """The validated configuration of the parsed flags ``args`` (left unchanged)."""
    values = flag_values(args)
    values.update(derived_values(args))
    cfg = RunConfig(**values)
    validate(cfg)
    return cfg


# Flags a resumed run may change: they change what a run costs or where its output goes, never a
# figure (evaluation batch: the same windows, scored alike; the folders: found by the setting).
# Every other flag is the run's identity (:func:`identity_differences`).
COST_ONLY_FLAGS = ("eval_batch_size", "test_every_epoch", "save_state_every", "num_workers", "itr",
                   "results_dir", "checkpoints", "report_to", "overwrite", "resume", "do_predict",
                   "is_training", "content_file", "reuse_memory", "prompt_store_mb")  # content_file: its text (content) is compared


def identity_differences(saved: dict, cfg: RunConfig) -> dict[str, tuple]:
    """``{flag: (saved value, value now)}`` for every flag of the run's identity (all but
    :data:`COST_ONLY_FLAGS`) that differs between a saved state's configuration and ``cfg``.
    Flags a saved state lacks (states older than the flag) are not compared."""
    now = cfg.as_dict()
    return {k: (saved[k], now[k]) for k in now
            if k not in COST_ONLY_FLAGS and k in saved and saved[k] != now[k]}


def with_global_batch(cfg: RunConfig, processes: int) -> RunConfig:
    """``cfg`` with the global batch resolved for ``processes`` processes: ``--global_batch G``
    sets the per-process batch to ``G / (processes x grad_accum)``; without it the global batch is
    ``processes x batch_size x grad_accum``. Either way ``global_batch`` then holds the windows
    averaged in one optimiser step."""
    share = processes * cfg.grad_accum
    if not cfg.global_batch:
        return replace(cfg, global_batch=share * cfg.batch_size)
    if cfg.global_batch % share:
        raise ConfigError(f"--global_batch {cfg.global_batch} is not a multiple of {processes} "
                          f"process(es) x --grad_accum {cfg.grad_accum}; choose a global batch they "
                          f"divide or change --grad_accum / the number of processes")
    return replace(cfg, batch_size=cfg.global_batch // share)


def setting_string(args, ii: int, zero_shot_suffix: bool = True) -> str:
    """The reference's run name, plus ``_p<percent>`` for few-shot runs and ``_to_<test_data>``
    for zero-shot results (``args``: a RunConfig or the parser's namespace).

    Checkpoints use the name without the suffix: the trained model does not depend on where it
    is tested, so a zero-shot test can reuse a finished training run's checkpoint.
    """
    s = (f"{args.task_name}_{args.model_id}_{args.model}_{args.data}_ft{args.features}"
         f"_sl{args.seq_len}_ll{args.label_len}_pl{args.pred_len}_dm{args.d_model}_nh{args.n_heads}"
         f"_el{args.e_layers}_dl{args.d_layers}_df{args.d_ff}_fc{args.factor}_eb{args.embed}"
         f"_{args.des}_{ii}")
    if args.percent < 100:  # few-shot runs must not share a folder with the full run
        s += f"_p{args.percent}"
    s += model_attr(args.model, "setting_suffix", lambda a: "")(args)  # e.g. a model variant
    if zero_shot_suffix and args.test_data and args.test_data != args.data:
        s += f"_to_{args.test_data}"
    return s
