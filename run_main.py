"""Command-line entry point: parse the flags and hand them to ``exp.exp_main.run``, which builds
the one validated run configuration (``exp/config.py``) and trains.

Flag names and meanings follow the Time-LLM reference (``run_main.py``) so its scripts read
the same here; flags nothing reads were dropped. Each flag is declared once, with its type,
default and help: the shared ones as fields of ``exp.config.RunConfig``, a model's own with the
model (``models/<Model>.py``). Every user-caused error ends as one line on stderr and exit
status 2.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from exp import config
from exp.exp_main import run
from utils.errors import exit_status


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, made from the flags' one declaration: ``exp.config.RunConfig``'s
    fields and each model's own (also used by tests to check every script line parses)."""
    return config.build_parser("Time-LLM and baselines: train, evaluate, reproduce")


def main(argv: list[str] | None = None) -> int:
    """Parse, then run (the configuration is built and checked from the flags, seeds are set per
    repetition); turn user errors into one line and exit status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return exit_status(lambda: run(args))
    except KeyboardInterrupt:
        again = argv if "--resume" in argv else [*argv, "--resume"]
        print(f"interrupted: the run keeps its last saved epoch; continue it with: "
              f"python run_main.py {shlex.join(again)}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
