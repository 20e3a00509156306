"""The command table of `smartbcc` (gateway.cli.COMMANDS): what it lists exists, `--help` and shell
completion import nothing heavy, and completion works for commands, subcommands and options."""

from __future__ import annotations

import subprocess
import sys

import click
from click.shell_completion import ShellComplete

from gateway.cli import COMMANDS, cli
from gateway.commands.lazy import load

# what a command that only starts, or only prints help, must not import: the database layer, the web
# app, the SMTP server and the libraries behind them
HEAVY = ("sqlalchemy", "alembic", "aiosqlite", "asyncpg", "gateway.store", "gateway.services", "gateway.web",
         "gateway.server", "aiosmtpd", "email_validator", "dns", "argon2", "cryptography", "jinja2", "starlette",
         "nh3", "imapclient")

_PROBE = """
import sys
from click.testing import CliRunner
from gateway.cli import cli
def heavy():
    return " ".join(sorted(m for m in sys.modules if m.split(".")[0] in {roots} or m.startswith({prefixes})))
{work}
print(heavy())
from gateway.services import companies     # what running `company list` imports: the probe sees it
print(heavy())
"""


def test_help_and_completion_import_nothing_heavy():
    """In a fresh interpreter (this one's sys.modules holds what the other tests imported): `--help`, a
    group's and a command's `--help`, and completing command and subcommand names."""
    work = """
runner = CliRunner()
for args in (["--help"], ["company", "--help"], ["messages", "list", "--help"], ["deal", "--help"]):
    out = runner.invoke(cli, args)
    assert out.exit_code == 0 and "Usage:" in out.stdout, (args, out.stdout, out.exception)
for words in ("", "company"):
    out = runner.invoke(cli, [], env={"_SMARTBCC_COMPLETE": "bash_complete", "COMP_WORDS": f"smartbcc {words} ",
                                      "COMP_CWORD": str(len(words.split()) + 1)}, prog_name="smartbcc")
    assert out.exit_code == 0 and "plain," in out.stdout, (words, out.stdout)
"""
    roots = {name for name in HEAVY if "." not in name}
    prefixes = tuple(name for name in HEAVY if "." in name)
    probe = _PROBE.format(work=work, roots=roots, prefixes=prefixes)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after_help, after_a_service = done.stdout.splitlines()
    assert after_help == ""
    assert "sqlalchemy" in after_a_service.split()     # the check can fail


def test_the_table_lists_exactly_the_commands_there_are():
    """Each entry names a click command of that name whose own one-line help is the table's; loading all
    of them finds no other command (the record and document groups come from sequences)."""
    loaded: dict[str, click.Command] = {}
    for name, entry in COMMANDS.items():
        command = load(name, entry.where)
        assert isinstance(command, click.Command) and command.name == name, (name, entry.where)
        assert command.get_short_help_str(limit=1000) == entry.help, name
        loaded[name] = command
    sequences = {entry.where for entry in COMMANDS.values()}
    for where in sequences:
        module, _, attribute = where.partition(":")
        found = getattr(sys.modules[module], attribute)
        for command in [found] if isinstance(found, click.Command) else found:
            assert loaded.get(command.name) is command, f"{command.name} ({where}) is not in gateway.cli.COMMANDS"
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    assert all(cli.get_command(ctx, name) is loaded[name] for name in COMMANDS)


def _complete(args: list[str], incomplete: str) -> list[str]:
    completion = ShellComplete(cli, {}, "smartbcc", "_SMARTBCC_COMPLETE")
    return [item.value for item in completion.get_completions(args, incomplete)]


def test_shell_completion_of_commands_subcommands_and_options():
    assert _complete([], "me") == ["messages"]
    assert {"company", "deal", "init", "user"} <= set(_complete([], ""))
    assert _complete(["--data-dir", "/tmp/x"], "rec") == ["recipients", "record", "record-email"]
    assert _complete(["company"], "s") == ["set", "set-domain", "show"]
    assert _complete(["messages", "list"], "--l") == ["--lead", "--limit"]
    assert _complete(["user", "set-role", "ada@acme.example"], "") == ["member", "admin"]
    assert _complete([], "--data") == ["--data-dir", "--database-url"]


def test_a_mistyped_command_is_answered_with_the_nearest_names():
    out = click.testing.CliRunner().invoke(cli, ["compny", "list"])
    assert out.exit_code == 2 and "No such command 'compny'. Did you mean 'company'?" in out.stderr
