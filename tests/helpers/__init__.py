"""Shared test helpers, one subject a module; test modules import them from here and never from
one another (``tests/test_imports.py`` checks). Fixtures are defined once, in ``tests/conftest.py``.

- ``project``: the repository root and the project's ``.py`` files.
- ``args``: argument Namespaces exactly as ``run_main.py``'s parser builds them.
- ``runs``: ``run_main.py`` run in a child process, and the command lines of small runs.
- ``mirror``: the real mirrored datasets (``dataset/`` after the fetch step, or the mirror).
- ``data_files``: small files in the real datasets' layouts.
- ``scripts``: what a run script launches, parsed (cached: scripts are pure).
- ``tiny_backbones``: tiny random Hugging Face backbones with real tokenizers.
- ``timellm``: Time-LLM configurations and input batches.
- ``fast_vs_plain``: a fast-path model beside its plain twin, outputs and gradients compared.
- ``authors``: the authors' forward of a baseline on our weights, in a child process.
- ``model_checks``: the checks every registered model goes through (``check_model``).
"""
