"""What a run script launches, without running anything: the argument lists it hands over.

The scripts in ``scripts/`` are bash (loops over horizons, environment defaults, extra arguments
passed on). Rather than re-implement bash, :func:`script_launches` runs a script with stub
``accelerate`` / ``torchrun`` / ``python`` commands first on ``PATH`` that only record their
arguments; bash itself expands everything. Tests use it to check every line against the parser,
and the benchmarks to run exactly the recipe a script would (one source of truth).

The launcher (``scripts/launch.sh``) asks ``data_provider.datasets`` for dataset facts through
``$FACTS_PYTHON``; it is set here to this interpreter's absolute path, so that the helper call
runs for real and is never recorded as a launch.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
# environment variables the scripts read: cleared unless the caller sets them
LAUNCH_ENV = ("NUM_PROCESSES", "MIXED_PRECISION", "USE_DEEPSPEED", "LLM_MODEL", "LLM_LAYERS", "PERCENT",
              "TEST_DATA", "PATTERNS", "PYTHON", "VARIANT", "PRED_LENS", "RUNS", "STAGES", "ONLY")
LAUNCHERS = ("accelerate", "torchrun", "python", "python3")
_STUB = ("#!/usr/bin/env bash\n"
         "printf '%s\\037' \"$(basename \"$0\")\" >> \"$STUB_OUT\"\n"
         "for a in \"$@\"; do printf '%s\\037' \"$a\"; done >> \"$STUB_OUT\"\n"
         "printf '\\036' >> \"$STUB_OUT\"\n")


class Launch(NamedTuple):
    """One recorded command: ``command`` (e.g. ``accelerate``), the arguments before
    ``run_main.py`` (``launcher_args``, e.g. ``launch --num_processes 1``), and ``run_args``,
    the arguments ``run_main.py`` receives ([] if the command does not run it)."""

    command: str
    launcher_args: list[str]
    run_args: list[str]


def script_launches(script: str | os.PathLike, env: dict[str, str] | None = None,
                    extra_args: tuple[str, ...] | list[str] = (), timeout: float = 60) -> list[Launch]:
    """Run ``script`` (from the repository root) with recording stubs; one :class:`Launch` per
    command it would have started, in order. ``env`` sets launch variables (``PRED_LENS``,
    ``VARIANT``, ...); any of :data:`LAUNCH_ENV` not given is cleared."""
    tmp = Path(tempfile.mkdtemp(prefix="script-launches-"))
    try:
        bindir = tmp / "bin"
        bindir.mkdir()
        for name in LAUNCHERS:
            stub = bindir / name
            stub.write_text(_STUB)
            stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
        out = tmp / "launches"
        run_env = {k: v for k, v in os.environ.items() if k not in LAUNCH_ENV}
        run_env.update({"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "STUB_OUT": str(out),
                        "FACTS_PYTHON": sys.executable,
                        # a results runner writes its run folders here, never into the user's
                        "RUNS": str(tmp / "runs")})
        run_env.update(env or {})
        subprocess.run(["bash", str(script), *extra_args], cwd=ROOT, env=run_env, check=True,
                       timeout=timeout)
        records = out.read_text().split("\x1e")[:-1] if out.exists() else []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    launches = []
    for record in records:
        command, *argv = record.split("\x1f")[:-1]
        if "run_main.py" in argv:
            i = argv.index("run_main.py")
            launches.append(Launch(command, argv[:i], argv[i + 1:]))
        else:
            launches.append(Launch(command, argv, []))
    return launches
