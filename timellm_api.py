"""A small Python API for notebooks over the command line's trainer: ``Forecaster``.

    from timellm_api import Forecaster
    f = Forecaster(model="DLinear", data="ETTh1", pred_len=96, train_epochs=1)
    f.fit()                # trains, as run_main.py does
    metrics = f.test()     # the test metrics (metrics.json's), results folder written
    table = f.predict()    # the pred_len steps after the data file's last row, a DataFrame
    table = f.predict(df)  # ... after the last row of your own table (the file's layout)

Nothing here trains, tests or forecasts by itself. The keywords are the flags of
``run_main.build_parser()`` (``pred_len=96`` is ``--pred_len 96``), turned into the same argument
list and parsed by that parser, then resolved and validated by :func:`exp.config.build_config`:
defaults, derived values and checks are the command line's. ``fit`` / ``test`` / ``predict`` call
the trainer's own steps (:func:`exp.exp_main.start_repetition`, ``Trainer.train``,
``Trainer.test``, ``Trainer.forecast``, the code behind ``--do_predict 1``), so the API gives the
command line's numbers. A user's mistake raises a :class:`~utils.errors.UserError` subclass with
the one-line message the command line would print.
"""
from __future__ import annotations

import argparse
import copy
import difflib
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from exp.config import RunConfig, build_config, flag_names, setting_string
from exp.exp_main import Trainer, checkpoint_folder, start_repetition, start_run
from run_main import build_parser
from utils.checkpoint import load_checkpoint
from utils.errors import ConfigError, UserError

__all__ = ["Forecaster", "config_from_argv", "flags_to_argv"]


def _unknown(name: str, prefix: str = "") -> ConfigError:
    """The error for a keyword / flag that run_main.py does not have, with the closest ones."""
    close = difflib.get_close_matches(name, flag_names(), n=3, cutoff=0.6)
    hint = ("did you mean " + ", ".join(prefix + c for c in close) + "?") if close \
        else "see python run_main.py -h for the flags"
    what = (f"unknown flag '{prefix}{name}' of run_main.py" if prefix
            else f"unknown keyword '{name}' (keywords are run_main.py's flags)")
    return ConfigError(f"{what}; {hint}")


def _switches(parser: argparse.ArgumentParser) -> set[str]:
    """Flags that take no value (``--use_amp``, ``--overwrite``, ``--resume``)."""
    return {a.dest for a in parser._actions if a.nargs == 0 and a.dest in flag_names()}


def flags_to_argv(flags: dict[str, Any]) -> list[str]:
    """Keywords named like the flags -> run_main.py's argument list.

    ``None`` leaves a flag at its default (``enc_in=None``: from the data); a switch
    (``overwrite``) is given when true; a bool for a numeric flag is 1 / 0; a list or tuple
    gives the flag's several values (``n_pool_kernel_size=[2, 2, 1]``). An unknown keyword is
    a ConfigError naming the closest flags.
    """
    switches = _switches(build_parser())
    argv: list[str] = []
    for name, value in flags.items():
        if name not in flag_names():
            raise _unknown(name)
        if value is None:
            continue
        if name in switches:
            if value not in (True, False, 0, 1):
                raise ConfigError(f"{name} is a switch: pass True or False, got {value!r}")
            argv += [f"--{name}"] if value else []
            continue
        if isinstance(value, (list, tuple)):  # a flag of several values (N-HiTS's per-stack lists)
            argv += [f"--{name}", *(str(v) for v in value)]
            continue
        # one --flag=value item: a value that starts with "-" stays a value
        argv.append(f"--{name}={int(value) if isinstance(value, bool) else value}")
    return argv


def config_from_argv(argv: Sequence[str]) -> RunConfig:
    """run_main.py's argument list -> the validated :class:`RunConfig`, as the command line
    builds it; a value of the wrong type, a choice not offered or an unknown flag is one
    ConfigError (the parser would print usage and exit)."""
    parser = build_parser()
    parser.exit_on_error = False
    try:
        args, rest = parser.parse_known_args([str(a) for a in argv])
    except argparse.ArgumentError as e:
        raise ConfigError(str(e)) from None
    if rest:
        first = next((a for a in rest if a.startswith("--")), None)
        if first is not None:
            raise _unknown(first[2:].split("=", 1)[0], prefix="--")
        raise ConfigError(f"unexpected argument(s): {' '.join(rest)}")
    return build_config(args)


def saved_flags(saved: dict[str, Any]) -> dict[str, Any]:
    """The flags a checkpoint's ``config`` (a RunConfig's values) rebuilds its run from.

    The resolved description text is passed as ``content`` (its file may have moved); flags the
    checkpoint lacks (written before they existed) keep their defaults.
    """
    flags = {k: v for k, v in saved.items() if k in flag_names()}
    if flags.get("content") is not None:
        flags["content_file"] = None
    return flags


class Forecaster:
    """One run of ``run_main.py`` driven from Python: build it, ``fit()``, ``test()``, ``predict()``.

    Build it from keywords named like the flags (``Forecaster(model="DLinear", data="ETTh1",
    pred_len=96)``), from an argument list (:meth:`from_argv`), from a :class:`RunConfig`
    (:meth:`from_config`) or from a trained run's checkpoint (:meth:`from_checkpoint`). With
    ``is_training=0`` (as ``--is_training 0``) it tests and forecasts with the saved checkpoint
    its flags point at. One repetition: ``itr`` must be 1 (make one Forecaster per seed).
    """

    def __init__(self, **flags: Any):
        self._setup(config_from_argv(flags_to_argv(flags)))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> Forecaster:
        """From run_main.py's argument list (``["--model", "DLinear", ...]``)."""
        return cls.from_config(config_from_argv(argv))

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Forecaster:
        """From a configuration :func:`exp.config.build_config` made."""
        obj = cls.__new__(cls)
        obj._setup(cfg)
        return obj

    @classmethod
    def from_checkpoint(cls, path: str | Path, **overrides: Any) -> Forecaster:
        """A trained run, from its checkpoint folder (``<checkpoints>/<setting>-<model_comment>``)
        or the ``checkpoint.pt`` in it: the flags it was trained with, ``is_training=0``, then
        ``overrides`` (e.g. ``root_path=`` where the data now lives, ``results_dir=``)."""
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        ckpt = load_checkpoint(folder / "checkpoint.pt")
        if not isinstance(ckpt.get("config"), dict):
            raise UserError(f"{folder / 'checkpoint.pt'} holds no run configuration (not written by "
                            "this project's trainer)")
        for name in overrides:
            if name not in flag_names():
                raise _unknown(name)
        flags = {**saved_flags(ckpt["config"]), "is_training": 0, "itr": 1, "overwrite": False,
                 "resume": False, "checkpoints": str(folder.parent), **overrides}
        forecaster = cls.from_argv(flags_to_argv(flags))
        expected = forecaster.checkpoint.parent
        if expected.resolve() != folder.resolve():
            raise ConfigError(f"{folder} is not the checkpoint folder of the run it holds "
                              f"({expected.name}); give the folder its trainer wrote, unrenamed")
        return forecaster

    def _setup(self, cfg: RunConfig) -> None:
        if cfg.itr != 1:
            raise ConfigError(f"itr={cfg.itr}: a Forecaster runs one repetition; make one per seed "
                              "(seed=...) or use run_main.py --itr")
        self.config, self._accelerator = start_run(cfg)
        self._trainer: Trainer | None = None
        self._metrics: dict | None = None

    # ------------------------------------------------------------------ what a run has
    @property
    def setting(self) -> str:
        """The run's setting string: the name of its results folder."""
        return setting_string(self.config, 0)

    @property
    def results_folder(self) -> Path:
        """Where :meth:`test` writes metrics.json, the arrays and the plots."""
        return Path(self.config.results_dir) / self.setting

    @property
    def checkpoint(self) -> Path:
        """The best weights' file (written by :meth:`fit`, read by :meth:`test` and :meth:`predict`)."""
        train_setting = setting_string(self.config, 0, zero_shot_suffix=False)
        return checkpoint_folder(self.config, train_setting) / "checkpoint.pt"

    @property
    def history(self) -> list[dict]:
        """Per-epoch losses, learning rate and time of the last :meth:`fit` (empty before)."""
        return list(self._trainer.history) if self._trainer is not None else []

    def __repr__(self) -> str:
        c = self.config
        state = ("tested" if self._metrics is not None else "uses its saved checkpoint"
                 if not c.is_training else "fitted" if self._trainer is not None else "not fitted")
        return f"Forecaster({c.model} on {c.data}, seq_len {c.seq_len}, pred_len {c.pred_len}; {state})"

    # ------------------------------------------------------------------ the run's steps
    def fit(self) -> Forecaster:
        """Train as ``run_main.py`` does (seeded, early stopping, best checkpoint kept); returns self."""
        if not self.config.is_training:
            raise ConfigError("this Forecaster was built with is_training=0 and uses the saved "
                              "checkpoint; build it with is_training=1 to train")
        trainer = start_repetition(self.config, 0, self._accelerator)
        with trainer.folders_lock():
            trainer.results.check_free()  # before training, as the command line
            trainer.train()
        self._trainer, self._metrics = trainer, None
        return self

    def _ready(self) -> Trainer:
        """The trained run: the one :meth:`fit` made, or (``is_training=0``) the saved checkpoint's."""
        if self._trainer is None:
            if self.config.is_training:
                raise UserError("nothing trained yet: call fit() first, or load a trained run with "
                                "Forecaster.from_checkpoint(folder) (or is_training=0 and its flags)")
            self._trainer = start_repetition(self.config, 0, self._accelerator)
        return self._trainer

    def test(self) -> dict[str, Any]:
        """Score the test split with the best weights and write the results folder, as
        ``run_main.py``; the metrics (those of metrics.json). Runs once; later calls return them."""
        if self._metrics is None:
            trainer = self._ready()
            with trainer.folders_lock():
                trainer.results.check_free()
                self._metrics = trainer.test()
        return copy.deepcopy(self._metrics)

    def predict(self, df: pd.DataFrame | None = None) -> pd.DataFrame:
        """The ``pred_len`` steps after the last row of the data file (``df=None``: the table
        ``--do_predict 1`` writes as forecast.csv), or after the last row of ``df``: a DataFrame in
        the data file's layout (a ``date`` column or index, then the run's columns; its last
        ``seq_len`` rows are the input, scaled with the training scaler). Returns ``date`` then one
        column per forecast channel, in original units. Nothing is written.

        Dates are read as from the data file (``parse_dates`` in data_provider/data_loader.py):
        text with UTC offsets (also changing at a daylight-saving switch) and zone-aware
        datetimes as instants, numbers as epoch times in the run's ``date_unit``; the returned
        dates are in the zone of ``df``'s last row (UTC for numbers), naive for naive dates. A
        leading ``Unnamed: 0`` column of 0, 1, 2, ... (a CSV saved with its index) is dropped with
        a notice on stderr."""
        return self._ready().forecast(df)
