"""The root group that imports a command's module only when that command runs.

The group holds a table, name -> (``"module:attribute"``, one-line help): `smartbcc --help`, the list of
commands and shell completion of their names come from the table alone; only the command named on the
command line (or completed into) is imported. The attribute names a click command, or a sequence of them
(``RECORD_GROUPS``) among which the one of that name is taken.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping, NamedTuple, Sequence

import click
from click.shell_completion import CompletionItem

from gateway.commands.output import SafeGroup


class Entry(NamedTuple):
    where: str        # "gateway.commands.companies:company"
    help: str         # the command's one-line help, as `--help` lists it


def load(name: str, where: str) -> click.Command:
    """The click command ``name`` that ``where`` (``"module:attribute"``) names."""
    module_name, _, attribute = where.partition(":")
    found: Any = getattr(importlib.import_module(module_name), attribute)
    if isinstance(found, click.Command):
        return found
    commands: Sequence[click.Command] = found
    return next(command for command in commands if command.name == name)


class LazyGroup(SafeGroup):
    """A group whose commands are listed by :class:`Entry` and imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, Entry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load(cmd_name, self.lazy[cmd_name].where), cmd_name)
        return self.commands.get(cmd_name)

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str | None:
        """The one-line help of ``name``; None for a hidden command. Imports nothing that is not loaded."""
        if name in self.lazy and name not in self.commands:
            # click's own shortening, on a stand-in command carrying the table's help
            return click.Command(name, help=self.lazy[name].help).get_short_help_str(limit)
        command = self.get_command(ctx, name)
        return None if command is None or command.hidden else command.get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, help) for name in names if (help := self._short_help(ctx, name, limit)) is not None]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (and their help) from the table, then the group's own options."""
        results = [CompletionItem(name, help=help) for name in self.list_commands(ctx)
                   if name.startswith(incomplete) and (help := self._short_help(ctx, name, 45)) is not None]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                              list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as error:
            # click suggests among the commands loaded so far; suggest among all of them
            raise click.exceptions.NoSuchCommand(error.command_name, possibilities=self.list_commands(ctx),
                                                 ctx=ctx) from None
