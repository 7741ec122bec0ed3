"""What the benchmark commands share: flags declared by their defaults, timing, the machine's
description, markdown tables, child processes that answer in JSON, and a run script's recipe.

Every command (``python -m bench.<name>``) builds on this module and, for Time-LLM,
``bench.timellm_parts``; no command imports another (``tests/test_bench.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from exp import results
from exp.config import build_config
from run_main import build_parser
from utils.cpu import reuse_freed_memory
from utils.flags import Flag, add_flags
from utils.launches import script_launches

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- flags
def add_plain_flags(p: argparse.ArgumentParser, **defaults) -> None:
    """One ``--name`` flag per keyword, without help text, typed by its default (``seq_len=512``:
    an int flag), in the keywords' order (through ``utils.flags``)."""
    add_flags(p, [Flag(name, type(default), default, "") for name, default in defaults.items()])


# ----------------------------------------------------------------------------- timing
def _no_sync() -> None:
    pass


def timed(fn: Callable[[], object], sync: Callable[[], None] = _no_sync) -> tuple[float, float, object]:
    """``fn()``'s wall-clock and process CPU seconds, and its result; ``sync`` (a device's
    synchronise) runs before and after, so queued work is counted where it was issued."""
    sync()
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    sync()
    return time.perf_counter() - w0, time.process_time() - c0, result


def timed_steps(step: Callable[[object], object], inputs: Iterable, warmup: int = 0,
                sync: Callable[[], None] = _no_sync) -> list[float]:
    """Wall-clock seconds of ``step(item)`` for every item of ``inputs`` after the first
    ``warmup`` (untimed warm-up steps); each item is produced outside the timer."""
    times = []
    for i, item in enumerate(inputs):
        wall, _, _ = timed(lambda: step(item), sync)
        if i >= warmup:
            times.append(wall)
    return times


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """The shortest of ``repeats`` calls of ``fn`` after one untimed call: a peak (on a shared
    machine a median would count other tenants' load)."""
    return min(timed_steps(lambda _: fn(), range(repeats + 1), warmup=1))


def median(values) -> float:
    """The median of the values that are not None; NaN if none is left."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


# ----------------------------------------------------------------------------- the machine
def cpu_model() -> str:
    """The CPU's model name, "unknown" when the machine does not say (exp.results.cpu_model)."""
    return results.cpu_model() or "unknown"


def cpu_pressure() -> str:
    """The first line of ``/proc/pressure/cpu`` (how much other work waits for the CPUs)."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


def malloc_no_mmap() -> str:
    """Make glibc keep freed memory for reuse (``utils.cpu.reuse_freed_memory``, what
    ``run_main.py --reuse_memory 1`` does); returns what was done, for a header."""
    if reuse_freed_memory():
        return "mallopt(M_MMAP_MAX=0, M_TRIM_THRESHOLD=1 GiB)"
    return "mallopt unavailable (not glibc)"


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- tables
def md_row(cells: Iterable) -> str:
    """One markdown table row of ``cells`` (each printed with ``str``)."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def md_header(columns: Iterable[str]) -> list[str]:
    """A markdown table's header row and its separator."""
    columns = list(columns)
    return [md_row(columns), "|" + "---|" * len(columns)]


# ----------------------------------------------------------------------------- child processes
class ChildFailed(subprocess.CalledProcessError):
    """A child process exited with an error or printed no JSON line (``stderr``: its errors)."""


def child_env(threads: int, **extra: str) -> dict[str, str]:
    """This process's environment for a child that runs on ``threads`` threads (OpenMP's
    ``OMP_NUM_THREADS``), with ``extra`` variables set."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), **extra)


def child_json(cmd: list[str], cwd: str | os.PathLike | None = None,
               env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` and return the last line of its output that is a JSON object (a measuring
    child prints one); raises :class:`ChildFailed` when it fails or prints none."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise ChildFailed(proc.returncode, cmd, proc.stdout, proc.stderr)
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- recipes
def script_recipe(script: str, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    """The ``run_main.py`` arguments of the one run ``script`` launches at horizon 96 (or its
    M4 pattern), recorded from the script (``utils.launches``); ``env`` sets its launch
    variables, ``extra`` is passed on to it."""
    env = env or {}
    launches = script_launches(REPO / script, {"PRED_LENS": "96", **env}, tuple(extra))
    runs = [launch.run_args for launch in launches if launch.run_args]
    if len(runs) != 1:
        raise RuntimeError(f"{script} with PRED_LENS=96 {env} launched {len(runs)} runs, expected 1")
    return runs[0]


def anchored(argv: list[str]) -> list[str]:
    """``argv`` with a relative ``--root_path`` (the scripts' ``./dataset/...``) made absolute
    under the repository, so that a recipe runs from any working directory."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg == "--root_path" and not Path(out[i + 1]).is_absolute():
            out[i + 1] = str(REPO / out[i + 1])
    return out


def recipe_config(argv: list[str]):
    """The validated run configuration (``exp.config.build_config``) of a recipe's arguments."""
    return build_config(build_parser().parse_args(anchored(argv)))
