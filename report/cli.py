"""``python -m report``: the results table's commands and the paper-table report.

    python -m report [render]                                 # docs/RESULTS.md + the README block
    python -m report collect SRC [SRC ...] --table NAME      # copy finished runs into docs/results
    python -m report check                                    # every runs.csv row against its run
    python -m report pick LABEL=RUN [LABEL=RUN ...]           # the label whose run validates best
    python -m report RESULTS_DIR [...] --out report.md [--plots DIR]   # any results folders

A user error (``UserError``, a bad file) is one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from report.paper_tables import build_report
from report.render import readme_block, render, replace_block
from report.results_table import RESULTS, check, collect
from report.selection import pick
from utils.checkpoint import atomic_write_text
from utils.errors import UserError, exit_status

PROG = "python -m report"
COMMANDS = ("render", "collect", "check", "pick")


def build_parser() -> argparse.ArgumentParser:
    """The paper-table report over results folders."""
    p = argparse.ArgumentParser(prog=PROG,
                                description="Gather metrics.json files into paper-style markdown tables.")
    p.add_argument("results", nargs="+", help="results folders (run_main.py --results_dir)")
    p.add_argument("--out", default=None, help="markdown file to write (default: print)")
    p.add_argument("--plots", default=None,
                   help="folder for one PNG per dataset "
                        "(default: <out>_plots beside --out; none without --out)")
    p.add_argument("--published", default=None, help="published-figures CSV (default docs/published.csv)")
    return p


def build_results_parser() -> argparse.ArgumentParser:
    """``render | collect | check | pick`` over the project's results table."""
    p = argparse.ArgumentParser(prog=PROG, description="the project's results tables (docs/results/runs.csv, m4.csv)")
    p.add_argument("command", nargs="?", default="render", choices=list(COMMANDS))
    p.add_argument("sources", nargs="*", help="collect: folders holding finished runs' metrics.json; "
                                              "pick: LABEL=RUN_FOLDER candidates")
    p.add_argument("--table", default=None, help="collect: the table the runs belong to (e.g. fewshot10)")
    p.add_argument("--commit", default=None, help="collect: commit of runs whose metrics.json has none")
    p.add_argument("--dest", default=str(RESULTS), help="results data folder (default docs/results)")
    return p


def collect_command(a: argparse.Namespace, dest: Path) -> int:
    if not a.sources or not a.table:
        raise UserError("collect needs the runs' folders and --table NAME (e.g. --table fewshot10)")
    for kind, row in collect([Path(s) for s in a.sources], a.table, dest, a.commit):
        print(f"collected {kind.summary(row)}")
    return render_command(a, dest)


def check_command(a: argparse.Namespace, dest: Path) -> int:
    problems = check(dest)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        return 2
    print(f"{dest}: every row of runs.csv and m4.csv matches its run's metrics.json")
    return 0


def render_command(a: argparse.Namespace, dest: Path) -> int:
    """Write RESULTS.md beside ``dest`` and the results block of the README two folders up."""
    atomic_write_text(render(dest) + "\n", dest.parent / "RESULTS.md")
    readme = dest.parents[1] / "README.md"
    written = [str(dest.parent / "RESULTS.md")]
    if readme.exists():
        atomic_write_text(replace_block(readme.read_text(), readme_block(dest)), readme)
        written.append(f"the results block of {readme}")
    print("wrote " + " and ".join(written))
    return 0


def pick_command(a: argparse.Namespace, dest: Path) -> int:
    """Print the label whose run has the lowest best validation loss (stdout), each candidate's
    figure on stderr."""
    bad = [s for s in a.sources if "=" not in s]
    if bad:
        raise UserError(f"pick takes LABEL=RUN_FOLDER candidates, got {bad[0]!r}")
    chosen, scores = pick(dict(s.split("=", 1) for s in a.sources))
    for label, score in scores.items():
        print(f"{label}: best validation loss {score:.6f}{'  <- chosen' if label == chosen else ''}",
              file=sys.stderr)
    print(chosen)
    return 0


RESULTS_COMMANDS = {"collect": collect_command, "check": check_command, "render": render_command,
                    "pick": pick_command}


def results_main(argv: list[str]) -> int:
    """``python -m report [collect SRC... --table T | check | render]`` over docs/results."""
    a = build_results_parser().parse_args(argv)
    return exit_status(lambda: RESULTS_COMMANDS[a.command](a, Path(a.dest)), catch=(ValueError,))


def report_main(argv: list[str]) -> int:
    """``python -m report RESULTS_DIR ... [--out FILE] [--plots DIR]``: the paper-table report."""
    args = build_parser().parse_args(argv)

    def report() -> None:
        out = Path(args.out) if args.out else None
        plots = Path(args.plots) if args.plots else (out.with_name(out.stem + "_plots") if out else None)
        if args.published and not Path(args.published).is_file():
            raise UserError(f"{args.published}: published-figures file not found")
        text = build_report(args.results, plots, args.published, out.parent if out else None)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
            print(f"report: {out}" + (f" (plots in {plots})" if plots else ""))
        else:
            print(text)

    return exit_status(report)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in COMMANDS:
        return results_main(argv)
    return report_main(argv)
