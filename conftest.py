"""Repository-wide pytest options: ``--slow`` also runs tests marked ``slow``; tests marked
``gpu`` run only where CUDA is available (``bench/gpu_check.sh`` runs them on a GPU machine)."""
import pytest
import torch


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        no_gpu = pytest.mark.skip(reason="needs a CUDA device (run bench/gpu_check.sh on one)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(no_gpu)
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow end-to-end test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
