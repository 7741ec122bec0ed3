"""The run configuration: every flag declared once (type, default, help), the command line built
from it (:func:`build_parser`), and the flags resolved and validated once.

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
import functools
import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from data_provider.data_factory import model_widths
from data_provider.prompt_bank import user_description
from exp.tasks import task_class
from exp.tracking import check_tracker
from layers.backbones import DEFAULT_BACKBONE, backbone_name
from models import get_model_class, model_attr, model_flags
from utils.errors import ConfigError, unknown_name
from utils.flags import add_flags, flag, flags_of
from utils.losses import get_loss
from utils.lr_schedule import LR_MODES, resolve_quirk_name

AT_LEAST_ONE = ("batch_size", "eval_batch_size", "train_epochs", "seq_len", "pred_len", "grad_accum")
WIDTHS = ("enc_in", "dec_in", "c_out")  # left unset (None): derived from the data


@dataclass(frozen=True)
class RunConfig:
    """One run's flags, after resolution, each declared once here: its type (the annotation),
    default, help and choices (:func:`utils.flags.flag`); :func:`build_parser` makes the command
    line from them. A model's own flags (N-HiTS's stacks, PatchTST's RevIN, ...) are declared with
    the model and held in ``model_flags``; they read as attributes all the same (``cfg.top_k``).

    The parser holds the defaults; :func:`build_config` requires every field.
    """

    # basic config
    task_name: str = flag("long_term_forecast", "long_term_forecast | short_term_forecast")
    is_training: int = flag(1, "1: train then test; 0: test a saved checkpoint")
    do_predict: int = flag(0, "1: also forecast pred_len steps past the end of the data file "
                              "(forecast.csv)", choices=(0, 1))
    model_id: str = flag("test", "free-form run id, part of the setting string")
    model_comment: str = flag("none", "prefix appended to the setting string")
    model: str = flag("TimeLLM", "model name (see models/__init__.py)")
    seed: int = flag(2021, "random seed")
    # data loader
    data: str = flag("ETTh1", "dataset name (see data_provider/data_factory.py)")
    root_path: str = flag("./dataset/ETT-small/", "folder of the data file")
    data_path: str = flag("ETTh1.csv", "data file name")
    features: str = flag("M", "M: multivariate -> multivariate, S: univariate -> univariate, MS: "
                              "multivariate -> univariate", choices=("M", "S", "MS"))
    target: str = flag("OT", "target column for S / MS")
    freq: str = flag("h", "time-feature frequency: s, t, h, d, b, w, m (or 15min, ...)")
    embed: str = flag("timeF", "time features: timeF (normalised) | fixed | learned (integers)")
    checkpoints: str = flag("./checkpoints/", "where checkpoints are written (never deleted)")
    percent: int = flag(100, "few-shot: percentage of the training split to use")
    seasonal_patterns: str = flag("Monthly", "M4 subset: Yearly ... Hourly")
    test_drop_last: int = flag(0, "1: drop the last incomplete test batch like the reference (loses "
                                  "test samples)")
    # resolved: 0 or 1, never -1
    channel_independence: int = flag(
        -1, "1: one channel per sample, 0: all channels per sample, -1: the model's default")
    m4_val_from_test: int = flag(0, "M4: 1 validates on the test set like the reference (peeks); 0 "
                                    "holds out the last H points")
    test_data: str | None = flag(None, "zero-shot: dataset name to test on (default: --data)")
    test_root_path: str | None = flag(None, "zero-shot: folder of the test data file")
    test_data_path: str | None = flag(None, "zero-shot: test data file name")
    id_col: str = flag("unique_id", "--data long: the column of series ids")
    time_col: str = flag("ds", "--data long: the column of dates")
    value_col: str = flag("y", "--data long: the column of values")
    test_rows: int = flag(0, "--data long: the last N rows of every series are its test part and the "
                             "N before them its validation part (0: the 70/10/20 split of custom data)")
    date_unit: str = flag("s", "numbers in the date column are Unix epoch times in this unit (s: "
                               "seconds, ms, us, ns); forecasts give them back as UTC dates",
                               choices=("s", "ms", "us", "ns"))
    # forecasting task
    seq_len: int = flag(96, "input length")
    label_len: int = flag(48, "decoder start-token length")
    pred_len: int = flag(96, "forecast horizon")
    # model define
    # resolved from the data when not given (never None)
    enc_in: int = flag(None, "encoder input size (channels); default: the data's, from its columns "
                             "and --features")
    dec_in: int = flag(None, "decoder input size; default: as --enc_in")
    c_out: int = flag(None, "output size; default: as --enc_in (1 with --features MS)")
    d_model: int = flag(16, "model width")
    n_heads: int = flag(8, "attention heads")
    e_layers: int = flag(2, "encoder layers")
    d_layers: int = flag(1, "decoder layers")
    d_ff: int = flag(32, "feed-forward width (Time-LLM: kept LLM channels)")
    moving_avg: int = flag(25, "moving-average window of series decomposition")
    factor: int = flag(1, "attention factor (Autoformer / Informer)")
    dropout: float = flag(0.1, "dropout")
    activation: str = flag("gelu", "activation")
    patch_len: int = flag(16, "patch length")
    stride: int = flag(8, "patch stride")
    individual: int = flag(0, "DLinear / PatchTST: one head per channel")
    # Time-LLM
    prompt_domain: int = flag(0, "1: use a dataset description in the prompt (--content, "
                                 "--content_file, else the prompt bank's)")
    # resolved: the description text (--content or --content_file)
    content: str | None = flag(None, "the dataset description for --prompt_domain 1 (any --data)")
    content_file: str | None = flag(
        None, "a text file holding the dataset description for --prompt_domain 1")
    llm_model: str = flag(None, "backbone: auto (the architecture of --llm_path's config; the default "
                                "with --llm_path) | SmolLM2 (the default without) | MiniLM | LLAMA | "
                                "GPT2 | BERT")
    llm_path: str | None = flag(None, "hub id or local folder of any Hugging Face language model "
                                      "(docs/BACKBONES.md)")
    llm_dim: int | None = flag(None, "LLM hidden size; derived from the backbone's config (an "
                                     "explicit value must agree)")
    llm_layers: int = flag(6, "keep the first k layers of the backbone")
    num_tokens: int = flag(1000, "number of text prototypes")
    prompt_cache: int = flag(1, "1: exact prompt KV cache for causal backbones; 0: plain forward")
    prompt_store_mb: int = flag(8192, "at most this many MB of evaluation batches' prompt keys/values "
                                      "kept between passes (exact: the validation batches are the "
                                      "same every epoch and the backbone is frozen, so later passes "
                                      "skip their prompt pass; ETTh1's validation split at L=512 with "
                                      "SmolLM2 x 2 holds ~6.2 GB); 0: none")
    # "auto" until run() resolves it (exp.precision.backbone_dtype)
    dtype: str = flag("auto", "dtype of the frozen backbone's weights (trainable layers stay "
                              "float32); auto: the mixed-precision format under bf16/fp16, else "
                              "float32", choices=("auto", "float32", "bfloat16", "float16"))
    fast_path: int = flag(1, "1: every exact speed-up (prompt KV cache, cached tokenisation and "
                             "prototypes, SDPA, fused mapping layer); 0: the reference's plain "
                             "computation, for comparisons")
    mapping_vocab: int = flag(0, "NOT exact, opt-in: map only the K lowest token ids to prototypes "
                                 "(0: full vocabulary)")
    ablation: str = flag("none", "none | no_llm | attention_layer | llm2attn | random_llm | no_prompt "
                                 "| no_reprogramming (docs/ABLATIONS.md)")
    # adapters (peft)
    peft: str = flag("none", "none | lora: LoRA adapters on the backbone (peft)")
    lora_r: int = flag(8, "LoRA rank")
    lora_alpha: float = flag(16, "LoRA scaling alpha")
    lora_dropout: float = flag(0.05, "LoRA dropout")
    lora_target_modules: str | None = flag(
        None, "comma-separated module names (default per architecture: LLaMA q_proj,v_proj; GPT-2 "
        "c_attn; BERT query,value)")
    # optimization
    num_workers: int = flag(0, "data loader workers")
    itr: int = flag(1, "experiment repetitions (seed + i)")
    train_epochs: int = flag(10, "epochs")
    batch_size: int = flag(32, "training batch size per process")
    eval_batch_size: int = flag(8, "evaluation batch size per process")
    patience: int = flag(10, "early-stopping patience")
    test_every_epoch: int = flag(1, "1: score the test split every epoch for the log, like the "
                                    "reference (the final test then reuses the best epoch's pass); 0: "
                                    "only the final test", choices=(0, 1))
    save_state_every: float = flag(0.0, "seconds between saves of the resume state (weights, "
                                        "optimiser, RNGs: --resume); 0: after every epoch; the last "
                                        "epoch's is always saved. For runs of many short epochs (the "
                                        "M4 recipes' one-step epochs), where the save costs more than "
                                        "the epoch")
    learning_rate: float = flag(0.0001, "learning rate")
    des: str = flag("test", "experiment description, part of the setting string")
    loss: str = flag("MSE", "MSE | MAE | SMAPE (M4)")
    lradj: str = flag("type1", "type1 | type2 | type3 | PEMS | constant | TST | COS")
    pct_start: float = flag(0.2, "OneCycle warm-up fraction")
    # resolved: on, off or first_epoch, never auto
    lr_quirk: str = flag("auto", "OneCycle lr/25 start of epoch-wise schedules: on = Time-LLM "
                                 "reference (carried on), first_epoch = PatchTST authors' trainer "
                                 "(epoch 1 only), auto = on for TimeLLM only",
                                 choices=("auto", "on", "off", "first_epoch"))
    optimizer: str = flag("adam", "adam | adamw | sgd | rmsprop")
    weight_decay: float = flag(0.0, "weight decay")
    momentum: float = flag(0.9, "SGD / RMSprop momentum")
    adam_beta1: float = flag(0.9, "Adam / AdamW beta1")
    adam_beta2: float = flag(0.999, "Adam / AdamW beta2")
    grad_accum: int = flag(1, "gradient accumulation steps (through Accelerate)")
    # resolved by start_run: processes x batch_size x grad_accum
    global_batch: int = flag(0, "windows averaged in one optimiser step: processes x --batch_size x "
                                "--grad_accum. When given, the per-process batch becomes global_batch "
                                "/ (processes x grad_accum), which must divide it (the Time-LLM "
                                "paper: 8 GPUs x 24 = 192); 0: --batch_size as given. metrics.json "
                                "records the global batch either way")
    max_grad_norm: float = flag(0.0, "clip the gradient norm (0: no clipping)")
    use_amp: bool = flag(False, "mixed precision (bf16 on CPU, fp16 with loss scaling on GPU)")
    mixed_precision: str | None = flag(
        None, "explicit mixed precision (overrides --use_amp)", choices=("no", "fp16", "bf16"))
    tf32: int = flag(0, "1: TensorFloat-32 for fp32 matrix products and cuDNN on GPUs that have it "
                        "(not exact); 0: IEEE fp32", choices=(0, 1))
    reuse_memory: int = flag(1, "1: the C allocator keeps freed memory for reuse instead of mapping "
                                "every large tensor afresh (glibc; a process setting that changes no "
                                "number: a CPU training step ~1.5x faster, bench/README.md); 0: the "
                                "allocator's defaults", choices=(0, 1))
    use_deepspeed: int = flag(0, "1: DeepSpeed ZeRO-2 from --deepspeed_config")
    deepspeed_config: str = flag("ds_config_zero2.json", "DeepSpeed config file")
    results_dir: str = flag("./results", "where metrics, forecasts and plots go")
    report_to: str = flag("none", "none | tensorboard: per-step loss and lr, per-epoch losses and the "
                                  "test metrics, through Accelerate's trackers, in "
                                  "<results_dir>/<setting>/tensorboard/")
    overwrite: bool = flag(False, "allow replacing an existing results folder")
    resume: bool = flag(False, "continue an interrupted run from its last state")
    # every registered model's own flags (models.model_flags), read as attributes
    model_flags: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """A model's own flag: ``cfg.top_k`` is ``cfg.model_flags["top_k"]``."""
        own = self.__dict__.get("model_flags", {})  # not self.model_flags: unpickling calls this
        if name in own:
            return own[name]
        raise AttributeError(f"RunConfig has no flag {name!r}")

    def as_dict(self) -> dict[str, Any]:
        """Flag name -> value in the parser's order (metrics.json ``args``, checkpoints' ``config``)."""
        return {**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "model_flags"},
                **self.model_flags}

    def to_namespace(self) -> argparse.Namespace:
        """The same values as an ``argparse.Namespace`` (a copy: changing it changes nothing here)."""
        return argparse.Namespace(**self.as_dict())

    def repetition(self, ii: int) -> RunConfig:
        """The configuration of repetition ``ii`` of ``--itr``: seed ``seed + ii``."""
        return replace(self, seed=self.seed + ii)


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The command line of every flag: :class:`RunConfig`'s, then each model's own in a group of
    its name (gathered through the model registry)."""
    p = argparse.ArgumentParser(description=description)
    add_flags(p, flags_of(RunConfig))
    for name, flags in model_flags():
        add_flags(p.add_argument_group(f"{name} (--model {name})"), flags)
    return p


@functools.cache
def flag_names() -> tuple[str, ...]:
    """Every flag's name: :class:`RunConfig`'s, then the models' own."""
    return (*(f.name for f in flags_of(RunConfig)),
            *(f.name for _, flags in model_flags() for f in flags))


def flag_values(args) -> dict[str, Any]:
    """``vars(args)`` after checking that it holds exactly the configuration's flags."""
    given = dict(vars(args))
    missing, extra = set(flag_names()) - set(given), set(given) - set(flag_names())
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
    own = set(flag_names()) - {f.name for f in fields(RunConfig)}  # the models' own (cached)
    cfg = RunConfig(**{k: v for k, v in values.items() if k not in own},
                    model_flags={k: v for k, v in values.items() if k in own})
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
