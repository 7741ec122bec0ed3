"""What the CPU offers that changes how a run should compute."""
from __future__ import annotations

import ctypes
import functools
from pathlib import Path

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The feature flags of the first CPU in /proc/cpuinfo (empty where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16() -> bool:
    """Whether the CPU computes bf16 products in hardware (AVX512-BF16 or AMX); without them
    PyTorch emulates bf16 on the CPU and autocast is usually slower than fp32."""
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def reuse_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse; returns whether it took (False off glibc).

    By default glibc maps every block above its mmap threshold (at most 32 MB) afresh and unmaps
    it when freed, so each new large tensor pays page faults on first touch, every step. A
    Time-LLM training step allocates many: the reprogramming's (heads, windows x patches,
    prototypes) scores and dropout mask (~0.7 GB each at the campaign's batch), the backbone's
    activations. With no mmap for large blocks and no trimming of the heap, freed memory is
    reused instead. A process setting that changes no number (bench/README.md has the timings).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return (libc.mallopt(_M_MMAP_MAX, 0) == 1
                and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1)
    except (OSError, AttributeError):
        return False
