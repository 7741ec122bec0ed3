"""Process settings a run applies on a CPU: the allocator keeps freed memory (--reuse_memory)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exp import exp_main
from exp.config import COST_ONLY_FLAGS, build_config
from tests.helpers.args import parser_args

REPO = Path(__file__).resolve().parents[1]

# A child process allocates, fills and frees a 320 MB tensor, then counts the page faults that
# filling a 256 MB one costs: glibc's default maps the block afresh (a fault per 4 KB page, ~65k),
# the setting reuses the freed memory (next to none).
_CHILD = textwrap.dedent("""
    import resource, sys, torch
    from utils.cpu import reuse_freed_memory
    took = reuse_freed_memory() if sys.argv[1] == "1" else None
    a = torch.ones(80 * 1024 * 1024); del a  # larger: the second fits in what it frees
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    b = torch.ones(64 * 1024 * 1024)
    print(took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux's")
def test_reuse_freed_memory_spares_the_page_faults_of_a_new_large_tensor():
    def child(on: int) -> list[str]:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(on)], capture_output=True,
                             text=True, check=True, cwd=str(REPO))
        return out.stdout.split()
    took, faults = child(1)
    _, default_faults = child(0)
    assert took == "True" and int(default_faults) > 30_000 and int(faults) < 3_000


def test_start_run_applies_the_setting_only_when_asked(monkeypatch):
    calls = []
    monkeypatch.setattr(exp_main, "reuse_freed_memory", lambda: calls.append(1) or True)
    for flag in (1, 0):
        exp_main.start_run(build_config(parser_args(model="DLinear", reuse_memory=flag)))
    assert calls == [1]
    assert "reuse_memory" in COST_ONLY_FLAGS  # a resumed run may switch it: it changes no number
