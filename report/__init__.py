"""Results reporting: the published figures, the project's results table and its rendering.

Above ``exp`` in the import order (it may import ``exp``, ``models`` and everything below;
nothing in the training code imports it). Modules:

- ``published``: ``docs/published.csv`` and the paper configurations runs are compared with;
- ``paper_tables``: any results folders -> paper-style markdown tables (and plots);
- ``results_table``: ``docs/results/runs.csv``: ``collect`` finished runs, ``check`` every row;
- ``stats``: intervals over seeds, the Diebold-Mariano test, the wording rule (better / worse
  only where an interval excludes zero);
- ``comparisons``: every ablation and baseline against the full Time-LLM, paired by seed;
- ``render``: ``docs/RESULTS.md`` and the README's results block from runs.csv;
- ``cli``: ``python -m report [render | collect | check | RESULTS_DIR ...]``.
"""
