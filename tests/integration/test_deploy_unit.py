"""deploy/smartbcc.service: systemd accepts it, and its system-call filter lets the gateway's processes do
what they do, the parsing process lowering its priority included (a denied call kills the process).

The filter is worked out as systemd does (systemd.exec(5), "System Call Filtering": the first
SystemCallFilter= line decides allow- or deny-listing, later ones add to or take from its set; groups
are expanded by `systemd-analyze syscall-filter`), then a large message is parsed through the
gateway's parsing pool under strace and every system call it made must be allowed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "smartbcc.service"
# systemd.exec(5): allowed whatever the filter says
IMPLICIT = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn", "clock_gettime",
            "clock_getres", "clock_nanosleep", "gettimeofday", "nanosleep", "time"}
# what the parsing process does to itself: lower its priority (nice = getpriority + setpriority),
# cap its resources, ask for a signal when its parent dies
PARSING_PROCESS = {"getpriority", "setpriority", "setrlimit", "prlimit64", "prctl"}

needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed (apt-get install systemd)")


def unit_settings(section_name: str, name: str) -> list[str]:
    """Every value of ``name=`` in the unit's ``section_name`` section, in order."""
    values, section = [], ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == section_name and line.startswith(f"{name}="):
            values.append(line.split("=", 1)[1].strip())
    return values


def syscall_groups() -> dict[str, list[str]]:
    """systemd's own system-call groups: ``@name`` -> its members (calls and nested groups)."""
    listing = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True,
                             text=True, check=True).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in listing.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.startswith("    ") and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    calls: set[str] = set()
    for name in names:
        name = name.split(":", 1)[0]                # a deny-listed name may carry ":ERRNO"
        calls |= expand(groups[name], groups) if name.startswith("@") else {name}
    return calls


def allowed_calls() -> tuple[set[str], set[str]]:
    """(allowed, denied): the filter of the unit's SystemCallFilter= lines, merged as systemd merges them.

    In allow-list mode ``denied`` is empty (everything not allowed is refused); in deny-list mode
    ``allowed`` is empty (everything not denied is allowed)."""
    groups = syscall_groups()
    mode: str | None = None
    chosen: set[str] = set()
    for value in unit_settings("[Service]", "SystemCallFilter"):
        if not value:
            mode, chosen = None, set()
            continue
        deny = value.startswith("~")
        calls = expand(value.lstrip("~").split(), groups)
        if mode is None:
            mode = "deny" if deny else "allow"
        if (mode == "allow") != deny:
            chosen |= calls
        else:
            chosen -= calls
    if mode == "allow":
        return chosen | IMPLICIT, set()
    return set(), chosen - IMPLICIT


def refused(calls: set[str]) -> set[str]:
    allowed, denied = allowed_calls()
    return calls - allowed if allowed else calls & denied


@needs_systemd
def test_systemd_accepts_the_unit(tmp_path):
    program = tmp_path / "smartbcc"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / "smartbcc.service"
    unit.write_text(UNIT.read_text().replace("/opt/smartbcc/bin/smartbcc", str(program)))
    checked = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == "" and checked.stdout == "", checked


@needs_systemd
def test_the_filter_lets_the_parsing_process_lower_its_priority_and_cap_itself():
    assert refused(PARSING_PROCESS) == set()
    assert refused({"reboot", "mount", "init_module", "settimeofday", "sched_setscheduler"}) == {
        "reboot", "mount", "init_module", "settimeofday", "sched_setscheduler"}     # the rest stays shut


PARSE = """
import asyncio, sys
from gateway.handlers.parsing_pool import Parser
parser = Parser("bcc.example.net")
raw = (b"From: Ada <ada@acme.example>\\r\\nTo: bob@customer.example\\r\\nSubject: large\\r\\n\\r\\n"
       + b"a line of a long message body\\r\\n" * 10_000)
parsed = asyncio.run(parser.parse(raw))
parser.close()
assert not parser._broken and parsed.subject == "large", "parsed in a thread, not in the parsing process"
"""


@needs_systemd
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_every_call_of_a_parse_in_the_parsing_process_is_allowed(tmp_path):
    trace = tmp_path / "trace"
    done = subprocess.run(["strace", "-f", "-qq", "-o", str(trace), sys.executable, "-c", PARSE], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    made = set(re.findall(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)\(", trace.read_text(), re.M))
    assert "setpriority" in made                     # the parsing process lowered its priority
    assert refused(made) == set()


def install_steps() -> list[str]:
    """The commands of deploy/GUIDE.md's install block, comments left out, in order."""
    guide = (ROOT / "deploy" / "GUIDE.md").read_text()
    block = re.search(r"^```sh\n(.*?)^```$", guide, re.M | re.S)
    assert block, "deploy/GUIDE.md has no ```sh install block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_install_steps_make_each_thing_before_it_is_used():
    steps = install_steps()

    def first(pattern: str) -> int:
        found = [n for n, line in enumerate(steps) if re.search(pattern, line)]
        assert found, pattern
        return found[0]
    user = first(r"^useradd .*\bsmartbcc$")
    settings_folder, data_folder = first(r"^install -d .*-g smartbcc /etc/smartbcc$"), \
        first(r"^install -d .*-o smartbcc -g smartbcc /var/lib/smartbcc$")
    assert user < settings_folder and user < data_folder       # owners exist before folders are given to them
    assert "-m 0750" in steps[settings_folder] and "-m 0750" in steps[data_folder]
    settings = first(r"/etc/smartbcc/smartbcc\.toml$")
    assert settings_folder < settings and "-m 0640" in steps[settings] and "-o root -g smartbcc" in steps[settings]
    program = first(r"pip install")
    init = first(r"^runuser -u smartbcc -- /opt/smartbcc/bin/smartbcc --config /etc/smartbcc/smartbcc\.toml init$")
    assert max(data_folder, settings, program) < init
    unit = first(r"/etc/systemd/system/smartbcc\.service$")
    assert init < unit < first(r"^systemctl daemon-reload$") < first(r"^systemctl enable --now smartbcc$")
    documentation = unit_settings("[Unit]", "Documentation")
    assert documentation == ["file:///opt/smartbcc/deploy/GUIDE.md"]
    assert any(line.endswith("/opt/smartbcc/deploy/GUIDE.md") for line in steps)   # where the unit points

