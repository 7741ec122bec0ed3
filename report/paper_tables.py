"""Paper-table report: gather every ``metrics.json`` under one or more results folders into markdown.

    python -m report RESULTS_DIR [RESULTS_DIR ...] --out report.md [--plots DIR]

Tables per task, each beside the published figures of ``docs/published.csv``:

- long-term: one table per model x dataset x configuration, rows = the four horizons and their
  average (only when all four are present); runs whose arguments differ only in the seed (the
  ``--itr`` repetitions, ``_<ii>`` at the end of the setting, or the same setting in several
  folders) give mean ± sample std;
- few-shot (``args.percent < 100``) and zero-shot (``args.test_data`` set and different from
  ``args.data``) the same way;
- M4: the seasonal patterns of one configuration combined into the paper's groups (Yearly,
  Quarterly, Monthly, Others = Weekly + Daily + Hourly, Average) with count-weighted sMAPE and
  MASE and OWA from the group aggregates, exactly as ``data_provider.m4_scoring.m4_scores``.

Every table lists the settings that differ from the published configuration
(``report.published.paper_config``) and marks missing horizons or patterns with '—'. With
``--plots`` (default: ``<report>_plots`` beside ``--out``) one PNG per dataset shows the MSE per
horizon of our runs against the published ones. A folder without any ``metrics.json`` is a
one-line error (``UserError``; exit status 2 through ``report.cli``).
"""
from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from report.published import (
    M4_GROUP_ORDER,
    Published,
    config_differences,
    horizons_of,
    load_published,
    lookup,
    paper_config,
    published_model_name,
)
from utils.errors import UserError

DASH = "—"
KIND_TITLES = {"long_term": "Long-term forecasting", "few_shot": "Few-shot forecasting",
               "zero_shot": "Zero-shot forecasting", "m4": "Short-term forecasting (M4)"}
KIND_ORDER = ("long_term", "few_shot", "zero_shot", "m4")
# Bookkeeping flags: never part of what makes two runs "the same experiment".
IGNORED_ARGS = {"seed", "results_dir", "checkpoints", "overwrite", "resume", "num_workers", "itr",
                "is_training", "model_comment", "root_path", "data_path", "test_root_path",
                "test_data_path", "llm_path", "deepspeed_config"}
# Flags the paper's scripts change from one horizon to the next: one table holds all of them.
PER_HORIZON_ARGS = {"pred_len", "label_len", "model_id", "learning_rate", "lradj", "d_model", "d_ff",
                    "batch_size", "eval_batch_size", "train_epochs", "patience", "pct_start"}
M4_PATTERN_ARGS = {"seasonal_patterns", "seq_len", "label_len", "pred_len", "model_id"}
M4_GROUP_MEMBERS = {"Yearly": ("Yearly",), "Quarterly": ("Quarterly",), "Monthly": ("Monthly",),
                    "Others": ("Weekly", "Daily", "Hourly"),
                    "Average": ("Yearly", "Quarterly", "Monthly", "Weekly", "Daily", "Hourly")}


# ----------------------------------------------------------------------------- runs

@dataclass
class Run:
    """One results folder: ``<results_dir>/<setting>/metrics.json``."""

    path: Path
    setting: str
    args: dict
    metrics: dict
    info: dict

    @property
    def kind(self) -> str:
        a = self.args
        if "m4" in self.metrics or a.get("task_name") == "short_term_forecast":
            return "m4"
        if a.get("test_data") and a.get("test_data") != a.get("data"):
            return "zero_shot"
        if int(a.get("percent", 100) or 100) < 100:
            return "few_shot"
        return "long_term"

    @property
    def dataset(self) -> str:
        a = self.args
        if self.kind == "zero_shot":
            return f"{a.get('data')}->{a.get('test_data')}"
        return str(a.get("data"))

    @property
    def seed(self):
        return self.args.get("seed")

    @property
    def num_processes(self) -> int:
        return int(self.info.get("num_processes") or 1)

    def key_args(self, drop: set[str]) -> str:
        keep = {k: v for k, v in self.args.items() if k not in IGNORED_ARGS and k not in drop}
        return json.dumps(keep, sort_keys=True, default=str)


def find_metrics(folder: Path) -> list[Path]:
    """Every metrics.json in ``folder`` (itself a run folder, or a results folder of run folders)."""
    if not folder.exists():
        raise UserError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder (give a results folder such as ./results)")
    found = sorted(folder.rglob("metrics.json"))
    if not found:
        raise UserError(f"{folder}: no metrics.json found (expected <results_dir>/<setting>/metrics.json)")
    return found


def load_run(path: Path) -> Run | None:
    """A Run from a metrics.json, or None (with a warning) when it is unreadable or incomplete."""
    try:
        data = json.loads(path.read_text())
        args, metrics = data["args"], data["metrics"]
        if not isinstance(args, dict) or not isinstance(metrics, dict):
            raise KeyError("args/metrics")
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"warning: skipping {path}: unreadable metrics.json ({e})", file=sys.stderr)
        return None
    if "m4" not in metrics and not {"mse", "mae"} <= set(metrics):
        print(f"warning: skipping {path}: no mse/mae or m4 metrics", file=sys.stderr)
        return None
    info = {k: v for k, v in data.items() if k not in ("args", "metrics", "history")}
    return Run(path.parent, data.get("setting") or path.parent.name, args, metrics, info)


def collect_runs(folders: list[str | Path]) -> list[Run]:
    runs = []
    for folder in folders:
        for p in find_metrics(Path(folder)):
            r = load_run(p)
            if r is not None:
                runs.append(r)
    if not runs:
        raise UserError(f"no readable metrics.json in {', '.join(map(str, folders))}")
    return runs


# ----------------------------------------------------------------------------- statistics

@dataclass
class Stat:
    """Mean and sample standard deviation over seeds."""

    values: list[float]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if self.n > 1 else None

    def fmt(self, digits: int = 4) -> str:
        s = f"{self.mean:.{digits}f}"
        return s if self.std is None else f"{s} ± {self.std:.{digits}f}"


def fmt_pub(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


# ----------------------------------------------------------------------------- long-term style tables

@dataclass
class Cell:
    """The runs of one experiment (one horizon, one configuration), over seeds."""

    runs: list[Run]

    @property
    def seeds(self) -> tuple:
        return tuple(sorted(str(r.seed) for r in self.runs))

    def stat(self, metric: str) -> Stat:
        return Stat([float(r.metrics[metric]) for r in self.runs])


@dataclass
class Table:
    kind: str
    model: str
    dataset: str
    percent: int
    runs: list[Run] = field(default_factory=list)

    def cells(self) -> dict[int, list[Cell]]:
        """horizon -> experiments (more than one when configurations differ at that horizon)."""
        by_h: dict[int, dict[str, list[Run]]] = {}
        for r in self.runs:
            by_h.setdefault(int(r.args["pred_len"]), {}).setdefault(r.key_args(set()), []).append(r)
        return {h: [Cell(v) for v in groups.values()] for h, groups in sorted(by_h.items())}

    @property
    def base_dataset(self) -> str:
        return self.dataset.split("->")[0]

    @property
    def test_dataset(self) -> str:
        return self.dataset.split("->")[-1]

    def title(self) -> str:
        a = self.runs[0].args
        bits = []
        if self.model == "TimeLLM":
            bits.append(_llm_label(a))
        bits += [f"seq_len {a.get('seq_len')}", f"features {a.get('features')}"]
        if self.kind == "few_shot":
            bits.insert(0, f"{self.percent}% of the training split")
        name = self.dataset.replace("->", " → ")
        return f"{self.model} on {name} ({', '.join(bits)})"


def _llm_label(args: dict) -> str:
    n = args.get("llm_layers")
    return f"{args.get('llm_model')}, {n} layer{'' if n == 1 else 's'}"


def group_tables(runs: list[Run], kind: str) -> list[Table]:
    tables: dict[str, Table] = {}
    for r in runs:
        if r.kind != kind:
            continue
        key = json.dumps([r.args.get("model"), r.dataset, int(r.args.get("percent", 100) or 100),
                          r.key_args(PER_HORIZON_ARGS)])
        if key not in tables:
            tables[key] = Table(kind, str(r.args.get("model")), r.dataset, int(r.args.get("percent", 100) or 100))
        tables[key].runs.append(r)
    return sorted(tables.values(), key=lambda t: (t.dataset, t.model, t.percent, t.title()))


def _published_for(table: Table, pub: list[Published]) -> tuple[str, list[Published]]:
    name = published_model_name(table.model, table.runs[0].args.get("seq_len"))
    return name, lookup(pub, table.kind, name, table.dataset, table.percent if table.kind == "few_shot" else 100)


def _average(cells: dict[int, list[Cell]], horizons: tuple[int, ...], metric: str) -> Stat | None:
    """Mean over the four horizons; over seeds as well when every horizon has the same seeds."""
    if any(len(cells.get(h, [])) != 1 for h in horizons):
        return None
    chosen = [cells[h][0] for h in horizons]
    seeds = {c.seeds for c in chosen}
    if len(seeds) == 1 and all(len(set(c.seeds)) == len(c.seeds) for c in chosen):
        per_seed = []
        for i in range(len(chosen[0].runs)):
            vals = []
            for c in chosen:
                by_seed = {str(r.seed): r for r in c.runs}
                vals.append(float(by_seed[chosen[0].seeds[i]].metrics[metric]))
            per_seed.append(statistics.fmean(vals))
        return Stat(per_seed)
    return Stat([statistics.fmean(c.stat(metric).mean for c in chosen)])


def differences_note(runs: list[Run], kind: str) -> list[str]:
    """Bullet lines: each setting that differs from the published configuration."""
    found: dict[str, dict[str, list]] = {}
    unknown = False
    for r in runs:
        a = r.args
        cfg = paper_config(kind, str(a.get("model")), str(a.get("data")),
                           int(a["pred_len"]) if a.get("pred_len") is not None and kind != "m4" else None,
                           a.get("seq_len"), int(a.get("percent", 100) or 100))
        if cfg is None:
            unknown = True
            continue
        where = a.get("seasonal_patterns") if kind == "m4" else a.get("pred_len")
        for k, (ours, want) in config_differences(a, r.num_processes, cfg).items():
            found.setdefault(k, {}).setdefault(f"{ours} (paper {want})", []).append(where)
    everywhere = {str(r.args.get("seasonal_patterns") if kind == "m4" else r.args.get("pred_len")) for r in runs}
    lines = []
    for k in sorted(found):
        parts = []
        for text, where in found[k].items():
            share = "" if len(where) == len(runs) else f" in {len(where)} of the {len(runs)} runs"
            where = set(map(str, where))
            at = "" if where == everywhere else " at " + ", ".join(sorted(where, key=lambda s: (len(s), s)))
            parts.append(text + at + share)
        lines.append(f"- {k}: " + "; ".join(parts))
    if "features" in found:
        lines.append("- the published figures use the multivariate benchmark (features M, every channel); "
                     "runs with other features are a different benchmark: not comparable number for number")
    if unknown:
        lines.append("- (no published configuration on file for some runs: not compared)")
    return lines


def render_table(table: Table, pub: list[Published]) -> list[str]:
    horizons = horizons_of(table.base_dataset if table.kind != "zero_shot" else table.test_dataset)
    cells = table.cells()
    pub_name, pub_rows = _published_for(table, pub)
    by_h = {r.horizon: r for r in pub_rows}
    out = [f"#### {table.title()}", "",
           f"| horizon | MSE | MAE | runs | published MSE | published MAE |",
           "|---|---|---|---|---|---|"]
    extra = sorted(h for h in cells if h not in horizons)
    for h in list(horizons) + extra:
        p = by_h.get(str(h))
        pm, pa = fmt_pub(p.values.get("mse") if p else None), fmt_pub(p.values.get("mae") if p else None)
        group = cells.get(h, [])
        if not group:
            out.append(f"| {h} | {DASH} | {DASH} | 0 | {pm} | {pa} |")
        for i, c in enumerate(group):
            label = f"{h}" if len(group) == 1 else f"{h} ({chr(97 + i)})"
            out.append(f"| {label} | {c.stat('mse').fmt()} | {c.stat('mae').fmt()} | {len(c.runs)} | {pm} | {pa} |")
    avg_mse, avg_mae = _average(cells, horizons, "mse"), _average(cells, horizons, "mae")
    p = by_h.get("avg")
    out.append(f"| **avg** | {avg_mse.fmt() if avg_mse else DASH} | {avg_mae.fmt() if avg_mae else DASH} | "
               f"{avg_mse.n if avg_mse and avg_mse.n > 1 else ''} | {fmt_pub(p.values.get('mse') if p else None)} | "
               f"{fmt_pub(p.values.get('mae') if p else None)} |")
    out.append("")
    notes = []
    missing = [str(h) for h in horizons if h not in cells]
    if missing:
        notes.append(f"- missing horizons: {', '.join(missing)} (the average needs all four)")
    multi = [h for h, g in cells.items() if len(g) > 1]
    if multi:
        notes.append(f"- several configurations at horizon {', '.join(map(str, multi))}: rows (a), (b), ... "
                     "differ in a per-horizon setting (see the runs list); no average")
    seeds = {len(c.runs) for g in cells.values() for c in g}
    if seeds and max(seeds) > 1:
        notes.append("- ± is the sample standard deviation over seeds (runs that differ only in the seed)")
    sources = sorted({r.source for r in pub_rows})
    notes.append(f"- published ({pub_name}): " + ("; ".join(sources) if sources else "none on file"))
    diffs = differences_note(table.runs, table.kind)
    if diffs:
        notes.append("- settings that differ from the published configuration:")
        notes += ["  " + d for d in diffs]
    elif sources:
        notes.append("- settings: as the published configuration (compared fields)")
    return out + notes + [""]


# ----------------------------------------------------------------------------- M4

def m4_groups(runs: list[Run]) -> tuple[dict[str, dict], dict[str, dict], dict[str, int]]:
    """(per pattern entries averaged over seeds, group entries, seeds per pattern).

    Group sMAPE / MASE / Naive2 figures are count-weighted means of the patterns (the mean over
    all series of the group); OWA is computed from the group aggregates.
    """
    per_pattern: dict[str, list[dict]] = {}
    for r in runs:
        pattern = str(r.args.get("seasonal_patterns"))
        entry = r.metrics.get("m4", {}).get(pattern)
        if entry:
            per_pattern.setdefault(pattern, []).append(entry)
    patterns = {}
    for p, entries in per_pattern.items():
        e = {k: statistics.fmean(float(x[k]) for x in entries) for k in ("smape", "mase", "owa")}
        e["smape_stat"] = Stat([float(x["smape"]) for x in entries])
        e["mase_stat"] = Stat([float(x["mase"]) for x in entries])
        e["owa_stat"] = Stat([float(x["owa"]) for x in entries])
        for k in ("naive2_smape", "naive2_mase", "count"):
            e[k] = float(entries[0][k])
        patterns[p] = e
    groups = {}
    for g, members in M4_GROUP_MEMBERS.items():
        if not all(m in patterns for m in members):
            continue
        n = sum(patterns[m]["count"] for m in members)
        agg = {k: sum(patterns[m][k] * patterns[m]["count"] for m in members) / n
               for k in ("smape", "mase", "naive2_smape", "naive2_mase")}
        agg["owa"] = (agg["smape"] / agg["naive2_smape"] + agg["mase"] / agg["naive2_mase"]) / 2
        agg["count"] = n
        groups[g] = agg
    return patterns, groups, {p: len(v) for p, v in per_pattern.items()}


def render_m4(runs: list[Run], pub: list[Published]) -> list[str]:
    model = str(runs[0].args.get("model"))
    a = runs[0].args
    title = f"{model} on M4" + (f" ({_llm_label(a)})" if model == "TimeLLM" else "")
    patterns, groups, seeds = m4_groups(runs)
    pub_rows = {r.horizon: r for r in lookup(pub, "m4", model, "m4")}
    out = [f"#### {title}", "",
           "| group | sMAPE | MASE | OWA | published sMAPE | published MASE | published OWA |",
           "|---|---|---|---|---|---|---|"]

    def pub_cols(name):
        p = pub_rows.get(name)
        return " | ".join(fmt_pub(p.values.get(k) if p else None) for k in ("smape", "mase", "owa"))

    for g in M4_GROUP_ORDER:
        if g in groups and g in ("Yearly", "Quarterly", "Monthly"):
            e = patterns[g]
            ours = f"{e['smape_stat'].fmt(3)} | {e['mase_stat'].fmt(3)} | {e['owa_stat'].fmt(3)}"
        elif g in groups:
            e = groups[g]
            ours = f"{e['smape']:.3f} | {e['mase']:.3f} | {e['owa']:.3f}"
        else:
            ours = f"{DASH} | {DASH} | {DASH}"
        out.append(f"| {g} | {ours} | {pub_cols(g)} |")
        if g == "Others":
            for m in M4_GROUP_MEMBERS["Others"]:
                if m in patterns:
                    e = patterns[m]
                    out.append(f"| &nbsp;&nbsp;{m} (part of Others) | {e['smape_stat'].fmt(3)} | "
                               f"{e['mase_stat'].fmt(3)} | {e['owa_stat'].fmt(3)} | {DASH} | {DASH} | {DASH} |")
    out.append("")
    notes = []
    for g in M4_GROUP_ORDER:
        if g not in groups:
            miss = [m for m in M4_GROUP_MEMBERS[g] if m not in patterns]
            notes.append(f"- {g}: missing pattern(s) {', '.join(miss)}")
    naive = [f"{p} sMAPE {e['naive2_smape']:.3f}, MASE {e['naive2_mase']:.3f}" for p, e in patterns.items()]
    if naive:
        notes.append("- Naive2 on the same series (OWA 1 by definition): " + "; ".join(naive))
    if seeds and max(seeds.values()) > 1:
        notes.append("- ± is the sample standard deviation over seeds; group rows use the seed means")
    notes.append("- groups: count-weighted sMAPE/MASE over the patterns' series, OWA from the group aggregates "
                 "(Naive2 from each run's metrics)")
    srcs = sorted({r.source for r in pub_rows.values()})
    notes.append("- published: " + ("; ".join(srcs) if srcs else "none on file"))
    diffs = differences_note(runs, "m4")
    if diffs:
        notes.append("- settings that differ from the published configuration:")
        notes += ["  " + d for d in diffs]
    return out + notes + [""]


def group_m4(runs: list[Run]) -> list[list[Run]]:
    groups: dict[str, list[Run]] = {}
    for r in runs:
        if r.kind == "m4":
            groups.setdefault(r.key_args(M4_PATTERN_ARGS), []).append(r)
    return list(groups.values())


# ----------------------------------------------------------------------------- plots

def draw_plots(tables: list[Table], pub: list[Published], folder: Path) -> list[Path]:
    """One PNG per dataset: MSE per horizon, our runs (solid) against the published ones (dashed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    by_ds: dict[str, list[Table]] = {}
    for t in tables:
        if t.kind in ("long_term", "few_shot"):
            by_ds.setdefault(t.dataset, []).append(t)
    written = []
    for ds, ts in sorted(by_ds.items()):
        horizons = horizons_of(ds)
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        xs = list(range(len(horizons)))
        for t in ts:
            cells = t.cells()
            pts = [(i, c[0].stat("mse")) for i, h in enumerate(horizons) if len(c := cells.get(h, [])) >= 1]
            if pts:
                a = t.runs[0].args
                label = f"ours: {t.model}" + (f" {t.percent}%" if t.kind == "few_shot" else "") + \
                    (f" ({a.get('llm_model')} x{a.get('llm_layers')}" if t.model == "TimeLLM" else " (") + \
                    f", L={a.get('seq_len')}, {a.get('features')})"
                ax.errorbar([p[0] for p in pts], [p[1].mean for p in pts],
                            yerr=[p[1].std or 0.0 for p in pts], marker="o", capsize=3, label=label)
        shown = set()
        for r in pub:
            if r.dataset != ds or r.task not in ("long_term", "few_shot") or (r.task, r.model, r.percent) in shown:
                continue
            shown.add((r.task, r.model, r.percent))
            rows = {p.horizon: p for p in lookup(pub, r.task, r.model, ds, r.percent)}
            pts = [(i, rows[str(h)].values["mse"]) for i, h in enumerate(horizons)
                   if str(h) in rows and "mse" in rows[str(h)].values]
            if pts:
                label = f"published: {r.model}" + (f" {r.percent}%" if r.task == "few_shot" else "")
                ax.plot([p[0] for p in pts], [p[1] for p in pts], ls="--", marker="x", label=label)
        ax.set_xticks(xs)
        ax.set_xticklabels([str(h) for h in horizons])
        ax.set_xlabel("prediction length")
        ax.set_ylabel("MSE (scaled data)")
        ax.set_title(f"{ds}: MSE per horizon")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"{ds}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


# ----------------------------------------------------------------------------- report

def runs_section(runs: list[Run]) -> list[str]:
    out = ["## Runs", "", "| kind | setting | seed | test metric | test samples | wall (min) | trainable params |"
           " best epoch | llm | processes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (KIND_ORDER.index(r.kind), r.setting)):
        if r.kind == "m4":
            p = r.args.get("seasonal_patterns")
            e = r.metrics.get("m4", {}).get(p, {})
            metric = f"{p} sMAPE {e.get('smape', float('nan')):.3f}"
        else:
            metric = f"MSE {r.metrics['mse']:.4f} / MAE {r.metrics['mae']:.4f}"
        wall = r.info.get("wall_seconds")
        llm = f"{r.args.get('llm_model')} x{r.args.get('llm_layers')}" if r.args.get("model") == "TimeLLM" else ""
        params = r.info.get("trainable_parameters")
        out.append(f"| {r.kind} | `{r.setting}` | {r.seed} | {metric} | {r.metrics.get('n_samples', '')} | "
                   f"{'' if wall is None else f'{wall / 60:.1f}'} | {'' if params is None else f'{params:,}'} | "
                   f"{r.info.get('best_epoch') or ''} | {llm} | {r.num_processes} |")
    return out + [""]


def not_run_section(tables: list[Table], m4_runs: list[list[Run]], pub: list[Published]) -> list[str]:
    have = {(t.kind, published_model_name(t.model, t.runs[0].args.get("seq_len")), t.dataset,
             t.percent if t.kind == "few_shot" else 100) for t in tables}
    have |= {("m4", str(g[0].args.get("model")), "m4", 100) for g in m4_runs}
    missing: dict[tuple, list[Published]] = {}
    for r in pub:
        key = (r.task, r.model, r.dataset, r.percent)
        if key not in have:
            missing.setdefault(key, []).append(r)
    if not missing:
        return []
    out = ["## Published tables without runs here", "",
           "| task | model | dataset | published | source |", "|---|---|---|---|---|"]
    for (task, model, ds, pct), rows in sorted(missing.items()):
        pick = next((r for r in rows if r.horizon in ("avg", "Average")), rows[0])
        vals = ", ".join(f"{k} {v:.3f}" for k, v in pick.values.items())
        label = ds + (f" ({pct}%)" if task == "few_shot" else "")
        out.append(f"| {task} | {model} | {label} | {pick.horizon}: {vals} | {pick.source} |")
    return out + [""]


def build_report(folders: list[str | Path], plots: str | Path | None = None,
                 published: str | Path | None = None, plot_link_base: Path | None = None) -> str:
    """The markdown report for every run under ``folders`` (PNG files written when ``plots``)."""
    runs = collect_runs(folders)
    pub = load_published(published)
    lines = ["# Results against the published figures", "",
             f"{len(runs)} run(s) from {', '.join(str(f) for f in folders)}. Long-term metrics are MSE / MAE "
             "on the scaled data (the benchmark convention); '—' marks a missing run or figure.", ""]
    all_tables: list[Table] = []
    for kind in ("long_term", "few_shot", "zero_shot"):
        tables = group_tables(runs, kind)
        if not tables:
            continue
        all_tables += tables
        lines += [f"## {KIND_TITLES[kind]}", ""]
        for t in tables:
            lines += render_table(t, pub)
    m4_runs = group_m4(runs)
    if m4_runs:
        lines += [f"## {KIND_TITLES['m4']}", ""]
        for g in m4_runs:
            lines += render_m4(g, pub)
    if plots is not None:
        written = draw_plots(all_tables, pub, Path(plots))
        if written:
            lines += ["## Plots", ""]
            for p in written:
                rel = p
                if plot_link_base is not None:
                    try:
                        rel = p.resolve().relative_to(plot_link_base.resolve())
                    except ValueError:
                        rel = p
                lines.append(f"![{p.stem}]({rel.as_posix()})")
            lines.append("")
    lines += not_run_section(all_tables, m4_runs, pub)
    lines += runs_section(runs)
    return "\n".join(lines)
