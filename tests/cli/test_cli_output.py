"""Every command prints through gateway.commands.output, where mail-derived text is made safe for a terminal."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.commands
from gateway.commands.output import printable

CLI = Path(gateway.commands.__file__).parent
# The one place that writes bytes as they are: `messages export` into a file or a pipe (never a terminal).
RAW_WRITERS = {("messages.py", "export")}


def _direct_prints(path: Path) -> list[tuple[str, int]]:
    found = []
    tree = ast.parse(path.read_text())
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if (path.name, function.name) in RAW_WRITERS:
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name in {"print", "click.echo", "click.secho", "sys.stdout.write", "sys.stderr.write"}:
                found.append((function.name, node.lineno))
    return found


def test_no_command_prints_around_the_escaping_printers():
    offenders = {path.name: prints for path in sorted(CLI.glob("*.py")) if path.name != "output.py"
                 if (prints := _direct_prints(path))}
    assert offenders == {}, "print with gateway.commands.output.echo/table/lines instead"


def test_printable_escapes_what_a_terminal_acts_on():
    assert printable("a\x1b[2Jb\x07\x7f\x85\x9b\u202etxt.exe\u2066\u2069\u200e\u200f\u061c\u2028") == (
        "a\\x1b[2Jb\\x07\\x7f\\x85\\x9b\\u202etxt.exe\\u2066\\u2069\\u200e\\u200f\\u061c\\u2028")
    assert printable("one\ttwo\nthree\r") == "one\\x09two\\x0athree\\x0d"
    assert printable("one\ttwo\r\nthree\rfour\n", multiline=True) == "one\ttwo\nthree\\x0dfour\n"
    assert printable("caf\u00e9 \u65e5\u672c \U0001f600") == "caf\u00e9 \u65e5\u672c \U0001f600"
