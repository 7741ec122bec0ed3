"""Each flag declared once (issue 27): the command line is made from typed declarations, the shared
ones on ``exp.config.RunConfig`` and a model's own with the model, gathered through the registry.

``tests/golden/run_main_flags.json`` records every flag of ``run_main.py`` as the hand-written
parser had it before the declarations moved (names, defaults, types, choices, help); the parser
made now must match it. A deliberate change of a flag rewrites the record with
``python -c "import tests.test_flags as t; t.write_golden()"`` and shows in the diff.
"""
from __future__ import annotations

import ast
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import models
from exp import config
from run_main import build_parser
from utils.flags import Flag, add_flags, flag, flags_of, merge

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "run_main_flags.json"


def parser_spec(parser) -> dict[str, dict]:
    """dest -> what the command line does with the flag (everything ``--help`` shows and more)."""
    return {a.dest: {"flags": a.option_strings, "action": type(a).__name__,
                     "type": getattr(a.type, "__name__", None), "default": a.default,
                     "choices": list(a.choices) if a.choices else None, "nargs": a.nargs, "help": a.help}
            for a in parser._actions if a.dest != "help"}


def write_golden() -> None:
    """Record the current parser (one flag a line, for readable diffs)."""
    lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(parser_spec(build_parser()).items())]
    GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def test_the_command_line_is_the_recorded_one():
    now, recorded = parser_spec(build_parser()), json.loads(GOLDEN.read_text())
    assert sorted(now) == sorted(recorded)
    changed = {k: (recorded[k], now[k]) for k in now if now[k] != recorded[k]}
    assert not changed


def _add_argument_calls(path: Path) -> int:
    tree = ast.parse(path.read_text())
    return sum(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr == "add_argument" for n in ast.walk(tree))


def test_no_hand_kept_flag_list():
    """run_main.py and exp/ declare no flag by hand: utils/flags.add_flags is the one add_argument."""
    files = [ROOT / "run_main.py", *sorted((ROOT / "exp").glob("*.py"))]
    assert {str(p.relative_to(ROOT)): _add_argument_calls(p) for p in files if _add_argument_calls(p)} == {}


def test_model_flags_live_with_their_model_and_read_as_attributes(tmp_path):
    owners = dict(models.model_flags())
    assert [f.name for f in owners["TimesNet"]] == ["top_k", "num_kernels"]
    assert [f.name for f in owners["NBEATS"]] == ["layers", "layer_size", "stacks"]
    assert "layers" not in [f.name for f in owners["NHITS"]]  # shared with N-BEATS: listed once
    assert not {f.name for fs in owners.values() for f in fs} & {f.name for f in flags_of(config.RunConfig)}
    args = build_parser().parse_args(["--model", "TimesNet", "--data", "ETTh1", "--top_k", "3",
                                      "--n_blocks", "2", "2", "--results_dir", str(tmp_path / "r"),
                                      "--checkpoints", str(tmp_path / "c")])
    cfg = config.build_config(args)
    assert (cfg.top_k, cfg.n_blocks, cfg.model_flags["top_k"]) == (3, [2, 2], 3)
    assert list(cfg.as_dict()) == list(config.flag_names())
    assert cfg.to_namespace().top_k == 3 and cfg.as_dict()["n_blocks"] == [2, 2]
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg and again.top_k == 3
    assert cfg.repetition(1).top_k == 3
    with pytest.raises(AttributeError, match="no flag 'not_a_flag'"):
        cfg.not_a_flag


def test_lists_are_fresh_for_each_parser():
    a = build_parser().parse_args([])
    a.n_blocks.append(9)
    assert build_parser().parse_args([]).n_blocks == [1, 1, 1]


@dataclass(frozen=True)
class _Kinds:
    count: int = flag(3, "an int")
    rate: float = flag(0.5, "a float")
    name: str | None = flag(None, "text or nothing", choices=("a", "b"))
    sizes: list[int] = flag([1, 2], "one or more")
    on: bool = flag(False, "a switch")


def test_annotations_make_the_parsing():
    import argparse
    p = argparse.ArgumentParser()
    add_flags(p, flags_of(_Kinds))
    assert vars(p.parse_args([])) == {"count": 3, "rate": 0.5, "name": None, "sizes": [1, 2], "on": False}
    got = p.parse_args(["--count", "4", "--rate", "1e-3", "--name", "b", "--sizes", "5", "6", "7", "--on"])
    assert vars(got) == {"count": 4, "rate": 1e-3, "name": "b", "sizes": [5, 6, 7], "on": True}
    with pytest.raises(SystemExit):
        p.parse_args(["--name", "c"])


def test_two_different_declarations_of_a_name_are_refused():
    same = Flag("width", int, 4, "w")
    assert merge([("A", [same]), ("B", [same, Flag("depth", int, 2, "d")])]) == \
        [("A", [same]), ("B", [Flag("depth", int, 2, "d")])]
    with pytest.raises(TypeError, match="--width is declared differently by A and B"):
        merge([("A", [same]), ("B", [Flag("width", int, 8, "w")])])


def test_a_new_model_brings_its_flags_through_the_registry(tmp_path, monkeypatch):
    """Adding a model with a flag of its own: a model file and a registry entry, nothing else."""
    (tmp_path / "toy_model.py").write_text(
        "from dataclasses import dataclass\n"
        "from torch import nn\n"
        "from utils.flags import flag\n\n\n"
        "@dataclass(frozen=True)\n"
        "class ToyFlags:\n"
        "    toy_width: int = flag(7, 'Toy: its width')\n\n\n"
        "class Model(nn.Module):\n"
        "    flags = ToyFlags\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(models.MODEL_REGISTRY, "Toy", "toy_model")
    config.flag_names.cache_clear()
    try:
        parser = build_parser()
        assert parser.parse_args(["--toy_width", "9"]).toy_width == 9
        assert "Toy (--model Toy)" in [g.title for g in parser._action_groups]
        assert config.flag_names()[-1] == "toy_width"
    finally:
        config.flag_names.cache_clear()
        sys.modules.pop("toy_model", None)
