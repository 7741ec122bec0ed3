"""One table of dataset facts: where each benchmark's files live, their shape, their sources.

Every other module reads these facts from here: the loader registry (``data_factory``), the
setup command (``fetch``), the prompt bank, the M4 loading and scoring, the tests and, through
the command line below, the run scripts::

    python -m data_provider.datasets ETTh1 folder file channels freq
    ETT-small
    ETTh1.csv
    7
    h

prints the requested fields of one dataset, one per line (a tuple as space-separated values,
None as an empty line). This module imports nothing heavy, so bash can call it cheaply.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, fields

from utils.errors import exit_status, unknown_name

ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{}"
# The Autoformer / Time-Series-Library bundle, as linked from the thuml/Time-Series-Library README.
TSLIB_URL = "https://huggingface.co/datasets/thuml/Time-Series-Library/resolve/main/{}"
M4_URL = "https://raw.githubusercontent.com/Mcompetitions/M4-methods/master/Dataset/{}"

LONG_HORIZONS = (96, 192, 336, 720)
ILI_HORIZONS = (24, 36, 48, 60)


@dataclass(frozen=True)
class SourceFile:
    """One file of a dataset.

    path: location relative to ``dataset/`` (and inside a mirror).
    url: official download URL; None for files only a mirror provides.
    sha256: expected digest of the official file where it is known (checked after a download);
        a mirror's own ``SHA256SUMS`` always takes precedence for mirrored copies.
    optional: copied when the mirror has it, otherwise skipped without error.
    """

    path: str
    url: str | None
    sha256: str | None = None
    optional: bool = False


# ----------------------------------------------------------------------------- M4

@dataclass(frozen=True)
class M4Pattern:
    """One M4 frequency: forecast horizon H, seasonality m (for MASE / Naive2; the
    "frequency" of the M4 code) and the history size (training cut points lie in the last
    ``int(history_size * H)`` points). Digests are those of the official train / test files
    where known."""

    name: str
    horizon: int
    seasonality: int
    history_size: float
    train_sha256: str | None = None
    test_sha256: str | None = None

    @property
    def train_file(self) -> str:
        return f"{self.name}-train.csv"

    @property
    def test_file(self) -> str:
        return f"{self.name}-test.csv"

    @property
    def naive2_file(self) -> str:
        """The official Naive2 forecasts (``id,F1..FH``)."""
        return f"submission-Naive2-{self.name}.csv"

    @property
    def sources(self) -> tuple[SourceFile, ...]:
        """The pattern's files under ``dataset/m4/``."""
        return (
            SourceFile(f"m4/{self.train_file}", M4_URL.format(f"Train/{self.train_file}"),
                       self.train_sha256),
            SourceFile(f"m4/{self.test_file}", M4_URL.format(f"Test/{self.test_file}"),
                       self.test_sha256),
            # official Naive2 forecasts (inside a .rar upstream): only a mirror provides them as CSV
            SourceFile(f"m4/{self.naive2_file}", None, optional=True),
        )


M4_PATTERNS: dict[str, M4Pattern] = {
    p.name: p for p in (
        M4Pattern("Yearly", 6, 1, 1.5),
        M4Pattern("Quarterly", 8, 4, 1.5),
        M4Pattern("Monthly", 18, 12, 1.5),
        M4Pattern("Weekly", 13, 1, 10),
        M4Pattern("Daily", 14, 1, 10),
        M4Pattern("Hourly", 48, 24, 10,
                  "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f",
                  "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42"),
    )
}

# The M4 groups the scores are reported for (a group is the series of its patterns together).
M4_GROUPS: dict[str, tuple[str, ...]] = {
    "Yearly": ("Yearly",),
    "Quarterly": ("Quarterly",),
    "Monthly": ("Monthly",),
    "Others": ("Weekly", "Daily", "Hourly"),
    "Average": tuple(M4_PATTERNS),
}


def m4_pattern(name: str) -> M4Pattern:
    """Look up a seasonal pattern by name; unknown names raise ConfigError listing the valid ones."""
    if name not in M4_PATTERNS:
        raise unknown_name("M4 seasonal pattern", str(name), M4_PATTERNS)
    return M4_PATTERNS[name]


def canonical_pattern(pattern: str) -> str:
    """'hourly' -> 'Hourly'; an unknown name raises ConfigError listing the valid ones."""
    for name in M4_PATTERNS:
        if name.lower() == str(pattern).lower():
            return name
    raise unknown_name("M4 seasonal pattern", str(pattern), M4_PATTERNS)


# ----------------------------------------------------------------------------- datasets

@dataclass(frozen=True)
class DatasetInfo:
    """The facts of one ``--data`` name.

    loader: key of the Dataset class in ``data_factory.LOADERS``.
    folder, file: the data file under ``dataset/`` (None for ``m4``, whose files are per
        pattern, and for ``custom`` and ``long``, which read whatever --root_path / --data_path
        name).
    channels: columns besides ``date`` (``--enc_in`` with ``--features M``); 1 for ``long``,
        whose windows each hold one series.
    freq: the ``--freq`` the reproduction scripts pass (calendar features for ``--embed timeF``).
    horizons: the ``--pred_len`` values of the benchmark (M4: one per pattern, in the M4 table).
    prompt: file stem in ``dataset/prompt_bank/`` (``--prompt_domain 1``), or None.
    target: the target column for ``--features S`` / ``MS``.
    sources: the files to install (``python -m data_provider.fetch``).
    """

    name: str
    loader: str
    folder: str | None = None
    file: str | None = None
    channels: int | None = None
    freq: str | None = None
    horizons: tuple[int, ...] = ()
    prompt: str | None = None
    target: str = "OT"
    sources: tuple[SourceFile, ...] = ()

    @property
    def path(self) -> str | None:
        """``folder/file`` relative to ``dataset/``, or None."""
        return f"{self.folder}/{self.file}" if self.folder and self.file else None


def _ett(name: str, loader: str, freq: str, sha256: str | None = None) -> DatasetInfo:
    return DatasetInfo(name, loader, "ETT-small", f"{name}.csv", 7, freq, LONG_HORIZONS, "ETT",
                       sources=(SourceFile(f"ETT-small/{name}.csv", ETT_URL.format(f"{name}.csv"),
                                           sha256),))


def _tslib(name: str, folder: str, file: str, channels: int, freq: str,
           horizons: tuple[int, ...] = LONG_HORIZONS) -> DatasetInfo:
    path = f"{folder}/{file}"
    return DatasetInfo(name, "custom", folder, file, channels, freq, horizons, name,
                       sources=(SourceFile(path, TSLIB_URL.format(path)),))


# Digests are given only where the official file is known to match the project's mirror
# (ETTh1, M4 Hourly); other downloads are accepted and their digest printed.
DATASETS: dict[str, DatasetInfo] = {
    info.name: info for info in (
        _ett("ETTh1", "ett_hour", "h", "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"),
        _ett("ETTh2", "ett_hour", "h"),
        _ett("ETTm1", "ett_minute", "t"),
        _ett("ETTm2", "ett_minute", "t"),
        _tslib("Weather", "weather", "weather.csv", 21, "t"),
        _tslib("ECL", "electricity", "electricity.csv", 321, "h"),
        _tslib("Traffic", "traffic", "traffic.csv", 862, "h"),
        _tslib("ILI", "illness", "national_illness.csv", 7, "h", ILI_HORIZONS),
        _tslib("Exchange", "exchange_rate", "exchange_rate.csv", 8, "h"),
        DatasetInfo("custom", "custom"),
        # many univariate series in one long table (data_provider/long_data.py): one channel
        DatasetInfo("long", "long", channels=1),
        DatasetInfo("m4", "m4", "m4", channels=1, prompt="m4",
                    sources=tuple(f for p in M4_PATTERNS.values() for f in p.sources)),
    )
}


def dataset_info(name: str) -> DatasetInfo:
    """The facts of ``--data name``; an unknown name raises ConfigError listing the valid ones."""
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    return DATASETS[name]


def canonical_location(name: str) -> tuple[str, str] | None:
    """(folder, file name) of a long-term dataset under ``dataset/``, e.g. ('ETT-small', 'ETTh2.csv');
    None for M4, ``custom`` or unknown names."""
    info = DATASETS.get(name)
    if info is None or info.file is None:
        return None
    return info.folder, info.file


# ----------------------------------------------------------------------------- command line

FIELDS = (*(f.name for f in fields(DatasetInfo)), "path")


def format_field(info: DatasetInfo, field: str) -> str:
    """One field of ``info`` as one line: tuples space-separated (sources by path), None empty."""
    if field not in FIELDS:
        raise unknown_name("dataset field", field, FIELDS)
    value = getattr(info, field)
    if value is None:
        return ""
    if field == "sources":
        return " ".join(f.path for f in value)
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return str(value)


def main(argv: list[str] | None = None) -> int:
    """``python -m data_provider.datasets NAME FIELD...``: print the fields, one per line."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(f"usage: python -m data_provider.datasets NAME FIELD...\n"
              f"  NAME: {', '.join(DATASETS)}\n  FIELD: {', '.join(FIELDS)}", file=sys.stderr)
        return 2
    def show() -> None:
        info = dataset_info(argv[0])
        print("\n".join(format_field(info, field) for field in argv[1:]))

    return exit_status(show)


if __name__ == "__main__":
    sys.exit(main())
