"""Shared fixtures: the real mirrored datasets under dataset/, args from the real parser, and one
intra-op thread for the modules of tiny models."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.data_fixtures import MIRROR_DATASETS, REPO, make_args, mirror_dir


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``dataset/`` with ETTh1, ILI, Exchange and M4 Hourly installed from the mirror
    (``$TIMELLM_MIRROR`` or ``../shared/datasets``) by the project's own setup step."""
    from data_provider.fetch import fetch

    mirror = mirror_dir()
    if not (mirror / "SHA256SUMS").is_file():
        pytest.skip(f"dataset mirror not found at {mirror}; set TIMELLM_MIRROR")
    fetch(list(MIRROR_DATASETS), mirror=mirror, dest=REPO / "dataset", quiet=True)
    return REPO / "dataset"


@pytest.fixture
def args_from():
    """``args_from('--data', 'ETTh1', ...)`` -> the Namespace ``run_main.py`` would build."""
    return make_args


@pytest.fixture
def one_thread(request):
    """Tiny models run fastest on one thread (and do not fight other jobs for the two cores);
    tests marked ``slow`` (real backbones) keep every thread. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
