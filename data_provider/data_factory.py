"""Dataset registry and ``data_provider(args, flag) -> (dataset, loader)``.

Loader policy (``flag``: train / val / test):

======= ============= ======= ===============================================================
flag    batch size    shuffle drop_last
======= ============= ======= ===============================================================
train   batch_size    yes     yes (long-term, as the reference); no for M4 (as the reference)
val     eval_batch    no      no; yes with ``--test_drop_last 1``
test    eval_batch    no      no, every test sample is scored; yes with ``--test_drop_last 1``
                              (the reference's behaviour, which drops up to batch - 1 samples)
======= ============= ======= ===============================================================

Zero-shot: for ``flag == 'test'`` with ``--test_data`` set, the test set is built from
``--test_data`` / ``--test_root_path`` / ``--test_data_path`` with its own scaler fitted on its
own training rows. Paths left unset fall back to the training ones, except that for a known
benchmark (``ETTh2``, ``Weather``, ...) different from ``--data`` they default to its standard
file beside the training folder (``--test_data ETTh2`` after ETTh1 reads
``dataset/ETT-small/ETTh2.csv``).
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import DataLoader

from data_provider.data_loader import (
    SPLITS,
    Dataset_Custom,
    Dataset_ETT_hour,
    Dataset_ETT_minute,
    Dataset_M4,
    file_channels,
)
from data_provider.datasets import DATASETS, canonical_location, dataset_info
from data_provider.long_data import Dataset_Long
from utils.errors import DataError, unknown_name

# DatasetInfo.loader -> Dataset class
LOADERS: dict[str, type] = {
    "ett_hour": Dataset_ETT_hour,
    "ett_minute": Dataset_ETT_minute,
    "custom": Dataset_Custom,
    "m4": Dataset_M4,
    "long": Dataset_Long,
}

# DatasetInfo.loader -> the loader's own options, from the flags
LOADER_OPTIONS = {
    "long": lambda args: {"id_col": args.id_col, "time_col": args.time_col,
                          "value_col": args.value_col, "test_rows": args.test_rows},
}

# --data name -> Dataset class (the reference's name for the registry)
data_dict: dict[str, type] = {name: LOADERS[info.loader] for name, info in DATASETS.items()}


def get_dataset_class(name: str):
    """Registry lookup; an unknown name raises ConfigError listing the valid names."""
    return LOADERS[dataset_info(name).loader]


def model_widths(args) -> dict[str, int]:
    """``--enc_in``, ``--dec_in`` and ``--c_out`` of the data ``args`` names.

    C, the channels the loader reads: 1 for features S, else the dataset table's ``channels``
    for a benchmark (1 for ``long``: every window holds one series) and the CSV header's columns
    but ``date`` for ``custom`` (the header only is read). Features M: (C, C, C); S: (1, 1, 1); MS: (C, C, 1), every channel in and the
    target (the last channel) out.
    """
    info = dataset_info(args.data)
    if args.features == "S":
        n = 1
    elif info.channels is not None:
        n = info.channels
    else:
        n = file_channels(os.path.join(args.root_path, args.data_path), args.features,
                          args.target, args.data)
    return {"enc_in": n, "dec_in": n, "c_out": 1 if args.features == "MS" else n}


def collate_arrays(batch):
    """Stack a list of samples (tuples of numpy arrays) into a tuple of tensors, one copy each."""
    return tuple(torch.from_numpy(np.stack(field)) for field in zip(*batch))


def _data_location(args, flag: str) -> tuple[str, str, str]:
    """(dataset name, root_path, data_path) for this split, applying the zero-shot options."""
    test_data = args.test_data
    if flag != "test" or not test_data:
        return args.data, args.root_path, args.data_path
    root, path = args.test_root_path, args.test_data_path
    if test_data != args.data and (root is None or path is None):
        canon = canonical_location(test_data)
        if canon is not None:
            folder, file = canon
            parent = os.path.dirname(os.path.normpath(args.root_path))
            root = root if root is not None else os.path.join(parent, folder)
            path = path if path is not None else file
    return test_data, root if root is not None else args.root_path, path if path is not None else args.data_path


def build_dataset(args, flag: str):
    """Construct the dataset of ``flag`` from ``args`` (see the module docstring)."""
    if flag not in SPLITS:
        raise unknown_name("split", flag, SPLITS)
    name, root_path, data_path = _data_location(args, flag)
    loader = dataset_info(name).loader
    cls = LOADERS[loader]
    options = LOADER_OPTIONS[loader](args) if loader in LOADER_OPTIONS else {}
    ci = args.channel_independence
    return cls(
        root_path=root_path,
        data_path=data_path,
        flag=flag,
        size=[args.seq_len, args.label_len, args.pred_len],
        features=args.features,
        target=args.target,
        timeenc=0 if args.embed != "timeF" else 1,
        freq=args.freq,
        percent=args.percent,
        seasonal_patterns=args.seasonal_patterns,
        channel_independence=0 if ci == 0 else 1,
        m4_val_from_test=args.m4_val_from_test,
        data_name=name,
        date_unit=args.date_unit,
        **options,
    )


def data_provider(args, flag: str):
    """Build the dataset and its DataLoader for ``flag`` in train / val / test.

    Returns:
        (dataset, loader); batches are tuples of float32 tensors in the dataset's item layout.
    """
    data_set = build_dataset(args, flag)
    is_m4 = isinstance(data_set, Dataset_M4)
    if flag == "train":
        batch_size, shuffle, drop_last = args.batch_size, True, not is_m4
    else:
        batch_size, shuffle = args.eval_batch_size, False
        drop_last = bool(args.test_drop_last) and not is_m4
    loader = DataLoader(data_set, batch_size=batch_size, shuffle=shuffle,
                        num_workers=args.num_workers, drop_last=drop_last,
                        collate_fn=collate_arrays, pin_memory=torch.cuda.is_available())
    if len(loader) == 0:
        raise DataError(f"{data_set.data_name}: the {flag} split has "
                        f"{len(data_set)} samples, fewer than one batch of {batch_size} "
                        f"(drop_last); reduce the batch size, --seq_len or --pred_len")
    return data_set, loader
