"""Command-line flags declared once, as typed dataclass fields (as transformers' ``HfArgumentParser``
builds its parser from dataclasses).

A flag is a field whose metadata holds its default, help and choices::

    @dataclass(frozen=True)
    class TimesNetFlags:
        top_k: int = flag(5, "TimesNet: periods per TimesBlock")

The field's annotation is the flag's type: ``int``, ``float``, ``str`` (also ``X | None``: the
default may be None), ``list[int]`` (one or more values) and ``bool`` (a switch, off by default).
:func:`flags_of` reads a class's flags, in field order; :func:`add_flags` puts them on an
``argparse`` parser. ``exp.config.RunConfig`` declares the shared flags this way, and a model its
own (the model class's ``flags`` attribute, gathered through the model registry).
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, NamedTuple

_KEY = "flag"


class Flag(NamedTuple):
    """One flag: ``--<name>`` parsed as ``type`` (``nargs="+"`` for lists; a ``bool`` is a
    ``store_true`` switch), ``default`` when left out."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None
    many: bool = False


def flag(default: Any, help: str, choices: tuple | list | None = None) -> Any:
    """A dataclass field declaring a flag (its type is the field's annotation). The field keeps no
    dataclass default: the parser supplies it, so a configuration is always built from every flag."""
    return dataclasses.field(metadata={_KEY: (default, help, tuple(choices) if choices else None)})


def _parse_type(hint: Any) -> tuple[type, bool]:
    """``(element type, many)`` of an annotation: ``int`` -> (int, False), ``str | None`` ->
    (str, False), ``list[int]`` -> (int, True)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    return hint, False


def flags_of(cls: type) -> list[Flag]:
    """The flags a dataclass declares with :func:`flag`, in field order (other fields skipped)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if _KEY in f.metadata:
            default, help_, choices = f.metadata[_KEY]
            kind, many = _parse_type(hints[f.name])
            out.append(Flag(f.name, kind, default, help_, choices, many))
    return out


def add_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, flags: list[Flag]) -> None:
    """``--name`` on ``parser`` for each flag."""
    for f in flags:
        if f.type is bool:
            parser.add_argument(f"--{f.name}", action="store_true", help=f.help)
            continue
        default = list(f.default) if f.many else f.default  # a fresh list each parser
        kwargs: dict[str, Any] = {"default": default, "help": f.help}
        if f.type is not str:
            kwargs["type"] = f.type
        if f.choices:
            kwargs["choices"] = list(f.choices)
        if f.many:
            kwargs["nargs"] = "+"
        parser.add_argument(f"--{f.name}", **kwargs)


def merge(declared: list[tuple[str, list[Flag]]]) -> list[tuple[str, list[Flag]]]:
    """``[(owner, flags)]`` with each flag kept at its first owner: a flag two owners share (N-BEATS
    and N-HiTS: ``--layers``) is declared once and listed once. Two different declarations of one
    name are a programming error."""
    seen: dict[str, tuple[str, Flag]] = {}
    out = []
    for owner, flags in declared:
        mine = []
        for f in flags:
            if f.name in seen:
                if seen[f.name][1] != f:
                    raise TypeError(f"--{f.name} is declared differently by {seen[f.name][0]} "
                                    f"and {owner}")
                continue
            seen[f.name] = (owner, f)
            mine.append(f)
        if mine:
            out.append((owner, mine))
    return out
