"""Dataset descriptions for Time-LLM's prompt (``--prompt_domain 1``).

One text file per dataset family in ``dataset/prompt_bank/``; :func:`load_description` maps a
dataset name (``--data``) to its file and returns the text as one stripped paragraph.
"""
from __future__ import annotations

import os

from data_provider.datasets import DATASETS
from utils.errors import DataError, unknown_name

# --data name -> file stem in the prompt bank (the ``prompt`` column of the dataset table)
PROMPT_FILES: dict[str, str] = {name: info.prompt for name, info in DATASETS.items() if info.prompt}

DEFAULT_ROOT = "dataset/prompt_bank"


def description_path(data_name: str, root: str = DEFAULT_ROOT) -> str:
    """Path of the description file of ``data_name``; unknown names raise ConfigError."""
    if data_name not in PROMPT_FILES:
        raise unknown_name("dataset for the prompt bank", data_name, PROMPT_FILES)
    return os.path.join(root, PROMPT_FILES[data_name] + ".txt")


def load_description(data_name: str, root: str = DEFAULT_ROOT) -> str:
    """The description text of ``data_name`` (ETTh1..ETTm2 share ETT.txt), whitespace-stripped.

    Raises DataError when the file is missing or empty.
    """
    path = description_path(data_name, root)
    if not os.path.isfile(path):
        raise DataError(f"prompt description {path} not found; it ships with the repository "
                        "(dataset/prompt_bank/) or set --prompt_domain 0")
    with open(path, encoding="utf-8") as fh:
        text = " ".join(fh.read().split())
    if not text:
        raise DataError(f"prompt description {path} is empty")
    return text
