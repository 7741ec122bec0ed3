"""What a run script launches, parsed with ``run_main.py``'s parser. Launches are recorded by stub
commands (``utils.launches``) and cached: scripts are pure, so each runs once per session."""
from __future__ import annotations

import functools
from argparse import Namespace
from pathlib import Path

from run_main import build_parser
from tests.helpers.project import ROOT
from utils.launches import Launch, script_launches


def launches(script: Path, env: dict | None = None, extra_args: tuple[str, ...] = ()) -> list[Launch]:
    """Each launch of ``script`` with the launch variables ``env`` and ``extra_args`` passed on."""
    return list(_launches(Path(script), tuple(sorted((env or {}).items())), tuple(extra_args)))


@functools.lru_cache(maxsize=None)
def _launches(script: Path, env_items: tuple, extra_args: tuple) -> tuple[Launch, ...]:
    return tuple(script_launches(script, dict(env_items), extra_args))


def parsed(script: Path, env: dict | None = None, extra_args: tuple[str, ...] = ()
           ) -> list[tuple[list[str], Namespace]]:
    """Per launch of ``script``: the command with its own arguments (``['accelerate', 'launch',
    ...]``) and the ``run_main.py`` arguments as its parser reads them."""
    parser = build_parser()
    return [([launch.command, *launch.launcher_args], parser.parse_args(launch.run_args))
            for launch in launches(script, env, extra_args)]


def model_scripts(model: str) -> list[Path]:
    """Every run script of the registered model ``model``: ``scripts/**/<model>_*.sh``."""
    return sorted((ROOT / "scripts").rglob(f"{model}_*.sh"))
