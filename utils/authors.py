"""Where the authors' code is found, and how their modules are imported beside ours.

The equality tests (``tests/helpers/authors.py``) and the speed comparison (``bench/bench_vs_authors.py``)
run a baseline's original code. It is never committed: each repository is cloned under
``$TIMELLM_AUTHORS`` (default ``/tmp/authors``) as ``<root>/<folder>/``, e.g. ``git clone
https://github.com/thuml/Time-Series-Library /tmp/authors/Time-Series-Library``.

Their top-level packages (``layers``, ``utils``, ``models``) share names with ours, so their code
runs in a child process with only their folder on the path; that child cannot import this module,
so ``STAND_INS`` is Python source it runs first.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV = "TIMELLM_AUTHORS"
DEFAULT = "/tmp/authors"

# Source for a child process: ``install_stand_ins(names)`` puts an empty module in sys.modules for
# each name (packages their shared files import at the top for other models, e.g.
# ``reformer_pytorch``), whose attributes are empty classes; module dunders stay absent, since
# ``inspect`` reads ``__file__``.
STAND_INS = r"""
import sys as _sys, types as _types
def _stand_in(attr):
    if attr.startswith("__"):
        raise AttributeError(attr)
    return type(attr, (), {})
def install_stand_ins(names):
    for name in names:
        stub = _types.ModuleType(name)
        stub.__getattr__ = _stand_in
        _sys.modules[name] = stub
"""


def authors_root() -> Path:
    """The folder holding the authors' clones: ``$TIMELLM_AUTHORS`` or ``/tmp/authors``."""
    return Path(os.environ.get(ENV, DEFAULT))


def missing_message(repo: Path) -> str:
    """The one line said when a clone is absent."""
    return f"the authors' code is not at {repo}; clone it there or set {ENV}"
