"""Shared fixtures, defined here once (test modules never import a fixture): the real mirrored
datasets under dataset/, args from the real parser, tiny random backbones, and one intra-op thread
for the modules of tiny models. The helpers themselves live in ``tests/helpers/``."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.register_assert_rewrite("tests.helpers")  # their asserts explain a failure like a test's

from tests.helpers.args import make_args  # noqa: E402 (after the rewrite hook)
from tests.helpers.mirror import MIRROR_DATASETS, mirror_dir  # noqa: E402
from tests.helpers.project import ROOT  # noqa: E402
from tests.helpers.tiny_backbones import FAMILY_OF, TINY, build_tiny  # noqa: E402


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``dataset/`` with ETTh1, ILI, Exchange and M4 Hourly installed from the mirror
    (``$TIMELLM_MIRROR`` or ``../shared/datasets``) by the project's own setup step."""
    from data_provider.fetch import fetch

    mirror = mirror_dir()
    if not (mirror / "SHA256SUMS").is_file():
        pytest.skip(f"dataset mirror not found at {mirror}; set TIMELLM_MIRROR")
    fetch(list(MIRROR_DATASETS), mirror=mirror, dest=ROOT / "dataset", quiet=True)
    return ROOT / "dataset"


@pytest.fixture
def args_from():
    """``args_from('--data', 'ETTh1', ...)`` -> the Namespace ``run_main.py`` would build."""
    return make_args


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> dict[str, str]:
    """{'LLAMA': folder, 'GPT2': folder, 'BERT': folder, 'GPT2_dropout': folder}, built once
    (the architectures of the registry's shortcut names; ``tiny_zoo`` has them all)."""
    root = tmp_path_factory.mktemp("tiny_backbones")
    dirs = {name: build_tiny(family, root / family) for name, family in FAMILY_OF.items()}
    dirs["GPT2_dropout"] = build_tiny("gpt2", root / "gpt2_dropout", dropout=0.1)
    return dirs


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory) -> dict[str, str]:
    """{model_type: folder} for every architecture of ``TINY``, built once."""
    root = tmp_path_factory.mktemp("tiny_zoo")
    return {family: build_tiny(family, root / family) for family in TINY}


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
