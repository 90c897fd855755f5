"""Command-line settings described once: flag, environment variable, conversion and help.

Every `voicesvc` command (`serve`, `sandbox`, `call`, `watch`) declares its settings as a table of `Option`s.
`add_options` builds the argparse flags and their `--help` lines from the table, and `resolve` reads the
values the user gave: a flag wins over its environment variable; a setting given by neither keeps the
command's default. So no setting can exist without a flag, a variable and a line of documentation.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Option", "OptionError", "add_options", "csv_values", "parse_switch", "resolve"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class OptionError(ValueError):
    """A flag or environment variable holds a value its setting cannot take; the message names it."""


def csv_values(text: str) -> tuple[str, ...]:
    """`"a, b"` → `("a", "b")`; an empty item is refused (an unset shell variable is never "nothing")."""
    parts = tuple(part.strip() for part in text.split(","))
    if not all(parts):
        raise ValueError("holds an empty value")
    return parts


def parse_switch(text: str) -> bool:
    """An on/off environment value: 1/true/yes/on or 0/false/no/off, any case."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("must be one of 1, true, yes, on, 0, false, no, off")


@dataclass(frozen=True)
class Option:
    """One setting of a command.

    `dest` is the key of the value in what `resolve` returns (and the argparse destination). A `repeatable`
    option takes its flag several times and its variable comma-separated; a `switch` is an on/off flag
    without a value whose variable takes `parse_switch` words.
    """

    dest: str
    flag: str
    env: str
    convert: Callable[[str], Any] = str
    group: str = "options"
    help: str = ""
    metavar: str | None = None
    repeatable: bool = False
    switch: bool = False
    secret: bool = False
    """Never shown: no default in `--help`."""

    def from_env(self, text: str) -> Any:
        """The value of the environment variable's text."""
        if self.switch:
            return parse_switch(text)
        return csv_values(text) if self.repeatable else self.convert(text)

    def from_flag(self, raw: Any) -> Any:
        """The value of what argparse collected for the flag."""
        if self.switch:
            return bool(raw)
        if self.repeatable:
            items: list[str] = []
            for value in raw:
                items.extend(csv_values(value))
            return tuple(items)
        if not str(raw).strip():
            # An empty flag is a mistake (an unset shell variable), never a way to unset a setting.
            raise ValueError("must not be empty")
        return self.convert(raw)


def add_options(
    parser: argparse.ArgumentParser,
    options: Iterable[Option],
    defaults: Mapping[str, Any],
    group_titles: Mapping[str, str] | None = None,
) -> None:
    """Add one flag per option to `parser`, grouped, each documenting its variable and default.

    Flags default to None, so `resolve` can tell "not given" from a value and look at the environment.
    """
    groups: dict[str, argparse._ArgumentGroup] = {}
    titles = group_titles or {}
    for opt in options:
        group = groups.get(opt.group)
        if group is None:
            group = groups[opt.group] = parser.add_argument_group(titles.get(opt.group, opt.group))
        default = defaults.get(opt.dest)
        shown = "none" if opt.secret or default in (None, ()) else _shown(default)
        help_text = f"{opt.help} [env {opt.env}; default: {shown}]".replace("%", "%%")
        if opt.switch:
            group.add_argument(opt.flag, dest=opt.dest, default=None, action="store_true", help=help_text)
            continue
        group.add_argument(
            opt.flag,
            dest=opt.dest,
            default=None,
            metavar=opt.metavar,
            action="append" if opt.repeatable else "store",
            help=help_text,
        )


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, tuple):
        return ",".join(str(item) for item in default)
    return str(default)


def resolve(
    options: Iterable[Option], args: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The values given by flag (which wins) or environment variable, keyed by `dest`.

    A setting given by neither is absent: the caller's defaults apply. Raises `OptionError` naming the
    flag or variable whose value cannot be converted.
    """
    values: dict[str, Any] = {}
    for opt in options:
        raw = getattr(args, opt.dest, None)
        if raw is not None and not (opt.switch and raw is False):
            try:
                values[opt.dest] = opt.from_flag(raw)
            except ValueError as exc:
                raise OptionError(f"{opt.flag}: {exc}") from None
            continue
        text = environ.get(opt.env)
        if text is not None and text.strip() != "":
            try:
                values[opt.dest] = opt.from_env(text)
            except ValueError as exc:
                raise OptionError(f"{opt.env}: {exc}") from None
    return values
