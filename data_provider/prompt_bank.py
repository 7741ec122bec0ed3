"""Dataset descriptions for Time-LLM's prompt (``--prompt_domain 1``).

One text file per dataset family in ``dataset/prompt_bank/``; :func:`load_description` maps a
dataset name (``--data``) to its file and returns the text as one stripped paragraph.
:func:`user_description` reads the user's own (``--content TEXT`` or ``--content_file PATH``),
which takes the bank's place for any dataset, ``custom`` included.
"""
from __future__ import annotations

import os

from data_provider.datasets import DATASETS
from utils.errors import ConfigError, DataError

# --data name -> file stem in the prompt bank (the ``prompt`` column of the dataset table)
PROMPT_FILES: dict[str, str] = {name: info.prompt for name, info in DATASETS.items() if info.prompt}

DEFAULT_ROOT = "dataset/prompt_bank"
OWN_DESCRIPTION = "give your own with --content \"...\" or --content_file PATH"


def one_paragraph(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space, stripped."""
    return " ".join(text.split())


def description_path(data_name: str, root: str = DEFAULT_ROOT) -> str:
    """Path of the description file of ``data_name``; a name without one raises ConfigError
    listing the names that have one."""
    if data_name not in PROMPT_FILES:
        raise ConfigError(f"no prompt-bank description for --data '{data_name}' (the bank has "
                          f"{', '.join(sorted(PROMPT_FILES))}); {OWN_DESCRIPTION}")
    return os.path.join(root, PROMPT_FILES[data_name] + ".txt")


def read_description(path: str, missing_hint: str) -> str:
    """The text of the description file ``path`` as one paragraph.

    Raises DataError when the file is missing (the message ends with ``missing_hint``), is not
    UTF-8 text, or is empty.
    """
    if not os.path.isfile(path):
        raise DataError(f"prompt description {path} not found; {missing_hint}")
    try:
        with open(path, encoding="utf-8") as fh:
            text = one_paragraph(fh.read())
    except UnicodeDecodeError:
        raise DataError(f"prompt description {path} is not UTF-8 text") from None
    if not text:
        raise DataError(f"prompt description {path} is empty")
    return text


def load_description(data_name: str, root: str = DEFAULT_ROOT) -> str:
    """The description text of ``data_name`` (ETTh1..ETTm2 share ETT.txt), whitespace-stripped.

    Raises DataError when the file is missing or empty.
    """
    return read_description(description_path(data_name, root),
                            "it ships with the repository (dataset/prompt_bank/) or set "
                            "--prompt_domain 0")


def user_description(content: str | None, content_file: str | None) -> str | None:
    """The description given by ``--content TEXT`` or ``--content_file PATH`` as one paragraph;
    None when neither is given.

    Both flags at once or an empty text is a ConfigError; a missing or empty file a DataError.
    """
    if content is not None and content_file is not None:
        raise ConfigError("--content and --content_file both give the dataset description; "
                          "pass only one")
    if content_file is not None:
        return read_description(content_file, "check --content_file")
    if content is None:
        return None
    text = one_paragraph(content)
    if not text:
        raise ConfigError(f"--content is empty; {OWN_DESCRIPTION}, or drop it to use the "
                          "prompt bank's")
    return text
