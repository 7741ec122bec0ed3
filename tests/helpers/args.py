"""Argument Namespaces exactly as ``run_main.py``'s parser builds them."""
from __future__ import annotations

from argparse import Namespace

from run_main import build_parser


def make_args(*argv: str) -> Namespace:
    """An args Namespace exactly as ``run_main.py`` builds it from ``argv``."""
    return build_parser().parse_args([str(a) for a in argv])


def parser_args(**overrides) -> Namespace:
    """Every flag at the parser's default (as ``run_main.py`` builds them), then ``overrides``."""
    return Namespace(**{**vars(make_args()), **overrides})
